"""What the suite's command lines share: one-line errors and checked numeric options.

argparse reports a bad option with its whole usage block first (a dozen lines for a protocol);
here the error is one line that names the option and points at ``--help``, and counts that
cannot be right (``--epochs 0``, a negative size) are refused before anything runs.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import NoReturn


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors are one line on stderr, exit status 2."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1."""
    return _int_at_least(text, 1)


def natural_int(text: str) -> int:
    """argparse type: an integer ≥ 0."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
    return value


#: Seeds are 0 to 2**32 - 1: the narrowest range among the generators the suite seeds (NumPy's
#: legacy ``np.random.seed`` and scikit-learn's ``random_state`` take no more; torch takes 64 bits,
#: ``default_rng`` any size). Derived seeds (``seed * 100003 + epoch`` for the epoch order, the
#: device views' key taken modulo 2**63 - 1) stay inside torch's 64 bits from every seed below it.
SEED_LIMIT = 2**32


def seed_int(text: str) -> int:
    """argparse type: a seed, 0 to ``SEED_LIMIT - 1``; a larger one would only fail later, deep in a
    generator ("Overflow when unpacking long long"), after the data were loaded."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"a seed must be 0 to {SEED_LIMIT - 1}, got {value}")
    return value


def seed_list(text: str) -> tuple[int, ...]:
    """argparse type: comma-separated seeds (:func:`seed_int`), e.g. ``0,1,2``, without repeats."""
    seeds = tuple(seed_int(part.strip()) for part in text.split(","))
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"seeds repeat in {text!r}")
    return seeds


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value
