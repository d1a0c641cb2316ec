"""The benchmark table is the one place a benchmark id is defined; what others derive from it."""

from __future__ import annotations

from datasets import REAL, SYNTHETIC
from datasets.benchmarks import BENCHMARKS, CPU_SIZED, DATASET_TITLES, REPORTED_COLUMNS
from datasets.nwucla import BENCHMARK as NWUCLA
from datasets.prepare import LAYOUT_BENCHMARKS
from datasets.utdmhad import BENCHMARK as UTDMHAD


def test_every_id_is_defined_once_and_has_a_dataset_title() -> None:
    ids = [b.id for b in BENCHMARKS]
    assert len(ids) == len(set(ids))
    assert all(b.dataset in DATASET_TITLES for b in BENCHMARKS)
    assert set(REAL) | set(SYNTHETIC) == set(ids) and not set(REAL) & set(SYNTHETIC)


def test_what_the_other_modules_name_is_in_the_table() -> None:
    known = {b.id for b in BENCHMARKS}
    assert {NWUCLA, UTDMHAD} <= known and set(CPU_SIZED) == {NWUCLA, UTDMHAD}
    assert {i for ids in LAYOUT_BENCHMARKS.values() for i in ids} <= known
    assert REPORTED_COLUMNS[:2] == ("ntu60-xsub", "ntu60-xview") and REPORTED_COLUMNS[-1] == NWUCLA
