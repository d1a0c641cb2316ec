"""The benchmark table: every benchmark id the suite knows, once, with what the other modules
decide from it (real or generated, small enough for the CPU recipe, a column of the leaderboard's
real tables) and the title of its dataset. Plain data, importing nothing of the suite, so any
layer may read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: ``id`` is ``<dataset>-<split>`` as every command names it."""

    id: str
    synthetic: bool = False
    cpu_sized: bool = False  # real and small: the default recipe is ``cpu``, the KNN monitor on
    reported_column: bool = False  # a column of the leaderboard's real tables, in this order
    #: (dataset, format) of ``python -m datasets.prepare`` for a benchmark of a layout reader
    #: (:mod:`datasets.clipset`); NTU's and PKU-MMD's own readers name theirs by split
    prepared_from: tuple[str, str] | None = None

    @property
    def dataset(self) -> str:
        """The dataset family, the part before the first ``-`` (``ntu60-2d-xsub`` → ``ntu60``)."""
        return self.id.split("-", 1)[0]


#: Every benchmark, in the order the commands list them.
BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("synthetic-xsub", synthetic=True),
    Benchmark("synthetic-xview", synthetic=True),
    Benchmark("ntu60-xsub", reported_column=True),
    Benchmark("ntu60-xview", reported_column=True),
    Benchmark("ntu120-xsub", reported_column=True),
    Benchmark("ntu120-xset", reported_column=True),
    Benchmark("pku1-xsub", reported_column=True),
    Benchmark("pku1-xview"),
    Benchmark("pku2-xsub", reported_column=True),
    Benchmark("pku2-xview"),
    Benchmark("nwucla-xview", cpu_sized=True, reported_column=True, prepared_from=("nwucla", "nwucla")),
    Benchmark("ntu60-2d-xsub", prepared_from=("ntu60", "pyskl2d")),
    Benchmark("ntu60-2d-xview", prepared_from=("ntu60", "pyskl2d")),
    Benchmark("ntu120-2d-xsub", prepared_from=("ntu120", "pyskl2d")),
    Benchmark("ntu120-2d-xset", prepared_from=("ntu120", "pyskl2d")),
    Benchmark("kinetics-skeleton", prepared_from=("kinetics", "kinetics")),
    Benchmark("utdmhad-xsub", cpu_sized=True, prepared_from=("utdmhad", "utdmhad")),
)

#: The title of each dataset family, as tables and messages print it.
DATASET_TITLES: dict[str, str] = {"synthetic": "synthetic", "ntu60": "NTU-60", "ntu120": "NTU-120",
                                  "pku1": "PKU-MMD I", "pku2": "PKU-MMD II", "nwucla": "NW-UCLA",
                                  "kinetics": "Kinetics-skeleton", "utdmhad": "UTD-MHAD"}

SYNTHETIC: tuple[str, ...] = tuple(b.id for b in BENCHMARKS if b.synthetic)
#: What every command runs on when no ``--dataset`` is given: the embedded data's first benchmark.
DEFAULT_DATASET: str = SYNTHETIC[0]
REAL: tuple[str, ...] = tuple(b.id for b in BENCHMARKS if not b.synthetic)
#: Real benchmarks small enough to pretrain on a CPU, whose default recipe is ``cpu``.
CPU_SIZED: tuple[str, ...] = tuple(b.id for b in BENCHMARKS if b.cpu_sized)
#: The real tables' benchmark columns, in order (others present in the records follow, sorted).
REPORTED_COLUMNS: tuple[str, ...] = tuple(b.id for b in BENCHMARKS if b.reported_column)


def prepared_by(dataset: str, fmt: str) -> tuple[str, ...]:
    """The benchmarks ``python -m datasets.prepare DATASET --format FMT`` writes from one layout
    reader's clips, in table order (NW-UCLA's reader: ``("nwucla-xview",)``)."""
    return tuple(b.id for b in BENCHMARKS if b.prepared_from == (dataset, fmt))
