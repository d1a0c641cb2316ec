"""The reported numbers: ``leaderboard/reported.csv``, one row per claim.

A claim is one number for one (method, variant, protocol, setting, benchmark, split, stream,
backbone, frames, metric). Every source that states it is listed in the row's ``sources``, the
authors' own (``readme``: their repository README) first, quotations by later papers or lists
(``secondary``) after; a row never holds a number without a source. Sources that disagree keep
their own values (``kind value: ref``) and the row says ``conflict=yes``; the tables flag it.

Each claim the suite can check names how (``reproduce``: ``released-checkpoint``, the authors'
file under the suite's protocol; ``paper-preset``, an own pretraining with the paper recipe),
which record metric stands for it (``record_metric``) and the tolerance of the check with its
reason, so the reproduction tests read their thresholds from here, not from their own code.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
REPORTED = HERE / "reported.csv"

COLUMNS = ("method", "variant", "suite_method", "protocol", "setting", "benchmark", "split", "stream", "backbone",
           "frames", "metric", "value", "conflict", "sources", "reproduce", "record_metric", "tolerance",
           "tolerance_reason")
#: The columns that make a claim: two rows may not share all of them.
CLAIM_KEY = ("method", "variant", "protocol", "setting", "benchmark", "split", "stream", "backbone", "frames", "metric")
#: Source kinds; every kind but ``secondary`` is the authors' own word.
SOURCE_KINDS = ("readme", "paper", "abstract", "code", "secondary")
REPRODUCE = ("", "released-checkpoint", "paper-preset")
RECORD_METRICS = ("", "top1", "best_top1")
#: Reported benchmark names → the suite's dataset prefix.
BENCHMARKS = {"NTU60": "ntu60", "NTU120": "ntu120", "PKU-MMD-I": "pku1", "PKU-MMD-II": "pku2", "NW-UCLA": "nwucla"}
#: Stream codes of the tables → the suite's stream names (fusions join them with ``+``).
STREAMS = {"J": "joint", "M": "motion", "B": "bone"}
SOURCE_SEPARATOR = " | "
_SOURCE = re.compile(rf"^({'|'.join(SOURCE_KINDS)}) (-?\d+(?:\.\d+)?): (.+)$")


@dataclass(frozen=True)
class Source:
    """One source of a claim: its kind, the value it states and where it states it."""

    kind: str
    value: float
    ref: str

    @property
    def primary(self) -> bool:
        return self.kind != "secondary"


def parse_sources(text: str) -> list[Source]:
    """``kind value: ref | kind value: ref …`` → sources, in order; a ValueError for any entry that
    does not have that form (so a number never slips in without a kind and a reference)."""
    out = []
    for entry in text.split(SOURCE_SEPARATOR):
        m = _SOURCE.match(entry.strip())
        if m is None:
            raise ValueError(f"source entry {entry!r} is not 'KIND VALUE: REFERENCE' (KIND one of "
                             f"{', '.join(SOURCE_KINDS)})")
        out.append(Source(m.group(1), float(m.group(2)), m.group(3)))
    return out


def check_claim(row: dict) -> list[str]:
    """What is wrong with one claim row (empty when nothing): a missing source, a secondary source
    before a primary one, a value or conflict flag that disagrees with the sources, an unknown
    ``reproduce``/``record_metric``, a checkable claim without a tolerance and its reason."""
    problems = []
    try:
        sources = parse_sources(row["sources"])
    except ValueError as err:
        return [str(err)]
    kinds = [s.primary for s in sources]
    if kinds != sorted(kinds, reverse=True):
        problems.append("a secondary source is listed before a primary one")
    try:
        value = float(row["value"])
    except ValueError:
        return problems + [f"value {row['value']!r} is not a number"]
    if value != sources[0].value:
        problems.append(f"value {value:g} is not the first source's {sources[0].value:g}")
    conflict = len({s.value for s in sources}) > 1
    if (row["conflict"] == "yes") != conflict:
        problems.append(f"conflict is {row['conflict']!r} but the sources {'disagree' if conflict else 'agree'}")
    if row["conflict"] not in ("", "yes"):
        problems.append(f"conflict must be 'yes' or empty, not {row['conflict']!r}")
    if row["reproduce"] not in REPRODUCE:
        problems.append(f"reproduce {row['reproduce']!r} is not one of {', '.join(map(repr, REPRODUCE))}")
    if row["record_metric"] not in RECORD_METRICS:
        problems.append(f"record_metric {row['record_metric']!r} is not one of {', '.join(map(repr, RECORD_METRICS))}")
    if row["reproduce"]:
        if not row["suite_method"]:
            problems.append("a claim the suite reproduces needs its suite_method")
        if not row["record_metric"]:
            problems.append("a claim the suite reproduces needs the record_metric it is compared with")
        try:
            tolerance = float(row["tolerance"])
        except ValueError:
            tolerance = math.nan
        if not (tolerance > 0):
            problems.append(f"a claim the suite reproduces needs a positive tolerance, not {row['tolerance']!r}")
    elif row["tolerance"]:
        problems.append("a tolerance without a way to reproduce the claim (reproduce is empty)")
    if not row["tolerance_reason"].strip():
        problems.append("no tolerance_reason (say why the tolerance is what it is, or why the claim is not checked)")
    if row["benchmark"] not in BENCHMARKS:
        problems.append(f"benchmark {row['benchmark']!r} is not one of {', '.join(BENCHMARKS)}")
    if row["stream"] and any(code not in STREAMS for code in row["stream"].split("+")):
        problems.append(f"stream {row['stream']!r} is not J, M, B or a '+'-fusion of them")
    return problems


def _csv_error(err: Exception) -> str:
    """pandas' reason in the file's own terms: its "row N" (0 = the header) as ``line N + 1``."""
    text = str(err).strip().replace("Error tokenizing data. C error: ", "")
    return re.sub(r"\brow (\d+)", lambda m: f"line {int(m.group(1)) + 1}", text)


def read_reported(path: Path | str = REPORTED) -> pd.DataFrame:
    """The claims of ``reported.csv`` as strings (``value`` and ``tolerance`` as numbers, the
    value as written in ``value_text``),
    checked: a ValueError naming the line of every row that breaks the rules of
    :func:`check_claim`, or a claim key given twice."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not a readable CSV file ({_csv_error(err)}); mend it: every row needs the "
                         f"header's {len(COLUMNS)} fields and every quote closed") from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path} lacks the columns {', '.join(missing)}")
    problems = []
    for i, row in enumerate(df.to_dict("records")):
        problems += [f"{path} line {i + 2}: {p}" for p in check_claim(row)]
    dup = df[df.duplicated(list(CLAIM_KEY), keep=False)]
    if len(dup):
        lines = ", ".join(str(i + 2) for i in dup.index)
        problems.append(f"{path} lines {lines}: the same claim twice (merge their sources into one row)")
    if problems:
        raise ValueError("; ".join(problems))
    df = df[list(COLUMNS)].copy()
    df["value_text"] = df.value
    df["value"] = df.value.astype(float)
    df["tolerance"] = pd.to_numeric(df.tolerance.replace("", None), errors="coerce")
    return df


def source_counts(reported: pd.DataFrame) -> pd.DataFrame:
    """Claims per method and protocol, and how many of them have a primary source."""
    rows = reported.assign(primary=[any(s.primary for s in parse_sources(t)) for t in reported.sources])
    out = rows.groupby(["method", "protocol"], sort=True).agg(claims=("value", "size"), with_primary=("primary", "sum"))
    return out.reset_index().astype({"with_primary": int})


def dataset_of(benchmark: str, split: str) -> str:
    """``NTU60``, ``xsub`` → ``ntu60-xsub`` (the suite's dataset id)."""
    return f"{BENCHMARKS[benchmark]}-{split}"


def suite_stream(code: str) -> str:
    """``J`` → ``joint``; ``J+M+B`` → ``joint+motion+bone`` (as an ensemble record names it)."""
    return "+".join(STREAMS[c] for c in code.split("+")) if code else ""
