"""Raw ``.skeleton`` parsing throughput on generated files of real size (100–300 frames).

Run: ``python -m pytest tests/bench_ntu_parse.py --benchmark-only`` (it is marked slow).
The figure to report is ``files_per_s`` in the benchmark's extra info; the NTU-120 estimate
divides the 114,480 files of the full download by it (one core; ``--workers`` scales it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datasets.ntu import read_ntu_sample

NUM_FILES = 24
NTU120_FILES = 114_480


def real_looking_file(rng: np.random.Generator, frames: int, bodies: int) -> str:
    """A file laid out like the Kinect SDK writes it, with 7-significant-digit values."""
    out = [str(frames)]
    for _ in range(frames):
        out.append(str(bodies))
        for b in range(bodies):
            out.append(f"{72057594037931101 + b} 0 1 1 1 1 0 0.02764709 0.05745083 2")
            out.append("25")
            xyz = rng.normal(size=(25, 3)) * 0.3 + np.array([0.0, 0.0, 3.2])
            depth = rng.uniform(100, 400, size=(25, 2))
            color = rng.uniform(300, 1500, size=(25, 2))
            orient = rng.normal(size=(25, 4)) * 0.5
            for j in range(25):
                vals = [*xyz[j], *depth[j], *color[j], *orient[j]]
                out.append(" ".join(f"{v:.7g}" for v in vals) + " 2")
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def skeleton_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("ntu_bench")
    paths = []
    for k in range(NUM_FILES):
        frames = int(rng.integers(100, 301))
        bodies = 2 if k % 4 == 0 else 1  # about a sixth of NTU's classes are two-person actions
        p = root / f"S001C001P001R001A{k + 1:03d}.skeleton"
        p.write_text(real_looking_file(rng, frames, bodies))
        paths.append(p)
    return paths


@pytest.mark.slow
@pytest.mark.benchmark(group="ntu-parse")
def test_parse_throughput(benchmark, skeleton_files: list[Path]) -> None:
    def parse_all() -> int:
        return sum(read_ntu_sample(p).shape[1] for p in skeleton_files)

    frames = benchmark(parse_all)
    assert frames > 100 * NUM_FILES
    files_per_s = NUM_FILES / benchmark.stats.stats.mean
    benchmark.extra_info["files_per_s"] = round(files_per_s, 1)
    benchmark.extra_info["mean_frames_per_file"] = round(frames / NUM_FILES, 1)
    benchmark.extra_info["ntu120_minutes_one_core"] = round(NTU120_FILES / files_per_s / 60, 1)
    print(
        f"\n{files_per_s:.1f} files/s on one core; the {NTU120_FILES:,} NTU-120 files would take "
        f"{NTU120_FILES / files_per_s / 60:.1f} min on one core"
    )
