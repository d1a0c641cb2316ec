"""Progress with ETA wherever the output goes: a live bar in a terminal, dated lines in a pipe or file.

tqdm draws the bar and computes rate and ETA. In a terminal it redraws in place. When stderr is a
pipe or a file (CI, ``nohup``, a notebook cell, ``2> log``), a plain tqdm either prints nothing
(``disable=None``) or floods the file with carriage returns; here it instead writes one complete
line every :data:`LINE_INTERVAL_S` seconds (and at the end), so a log shows where a long step is
and when it will finish.
"""

from __future__ import annotations

import os
import re
import sys
from typing import IO, Any

from tqdm import tqdm

#: Seconds between two progress lines when the output is not a terminal
#: (``$SKELEBENCH_PROGRESS_INTERVAL`` overrides).
LINE_INTERVAL_S = 30.0
#: A progress line in a log: no bar graphics, the counts, elapsed time, ETA, rate and postfix.
LINE_FORMAT = "{desc}: {percentage:3.0f}% {n_fmt}/{total_fmt} [elapsed {elapsed}, ETA {remaining}, {rate_fmt}{postfix}]"


class _Lines:
    """A file wrapper that turns tqdm's in-place redraws into one line per update."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.last = ""

    def write(self, text: str) -> int:
        line = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text).replace("\r", "").strip("\n")  # nested bars move the cursor
        if line.strip() and line != self.last:  # close() redraws the final state once more
            self.stream.write(line + "\n")
            self.last = line
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def progress(iterable: Any = None, total: int | None = None, desc: str = "", unit: str = "it",
             stream: IO[str] | None = None, **kwargs: Any) -> tqdm:
    """A tqdm bar on ``stream`` (stderr by default) that also reports when that is no terminal."""
    stream = stream if stream is not None else sys.stderr
    if is_terminal(stream):
        return tqdm(iterable, total=total, desc=desc, unit=unit, file=stream, dynamic_ncols=True, **kwargs)
    interval = float(os.environ.get("SKELEBENCH_PROGRESS_INTERVAL", LINE_INTERVAL_S))
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=_Lines(stream), mininterval=interval,
                maxinterval=max(interval, 10.0), miniters=1, bar_format=LINE_FORMAT, **kwargs)


def log_line(message: str, stream: IO[str] | None = None) -> None:
    """A line that does not break a live bar (``tqdm.write``) on stderr by default."""
    tqdm.write(message, file=stream if stream is not None else sys.stderr)
