"""Official benchmark split rules of NTU RGB+D 60/120 and PKU-MMD I/II, and the sample lists.

Every rule here is the one the official data scripts apply (data.md §1, §6; methods.md §4):

* NTU-60 cross-subject: the 20 training performers of ST-GCN's ``ntu_gendata.py``;
  cross-view: cameras 2 and 3 train, camera 1 tests.
* NTU-120 cross-subject: those 20 plus 33 more (53 of 106), as CTR-GCN and pyskl list them;
  cross-setup: even setup IDs train, odd ones test.
* PKU-MMD I/II: the official split files, line 2 = training video IDs, line 4 = test IDs, as
  AimCLR's ``pku_part*_gendata.py`` reads them; a clip whose video is not on line 2 is a
  test clip there, and so here.

The NTU sample-name lists (available samples and missing skeletons) ship in
``datasets/resources/ntu/``; the missing-skeleton reader accepts both the official files with
their 3-line header and the header-less copies of the code bases.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

RESOURCES = Path(__file__).resolve().parent / "resources"

NTU_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")
_NTU_LINE = re.compile(r"^S\d{3}C\d{3}P\d{3}R\d{3}A\d{3}$")

NTU60_XSUB_TRAIN_SUBJECTS: frozenset[int] = frozenset(
    {1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38}
)
NTU120_XSUB_TRAIN_SUBJECTS: frozenset[int] = NTU60_XSUB_TRAIN_SUBJECTS | frozenset(
    {
        45,
        46,
        47,
        49,
        50,
        52,
        53,
        54,
        55,
        56,
        57,
        58,
        59,
        70,
        74,
        78,
        80,
        81,
        82,
        83,
        84,
        85,
        86,
        89,
        91,
        92,
        93,
        94,
        95,
        97,
        98,
        100,
        103,
    }
)
NTU_XVIEW_TRAIN_CAMERAS: frozenset[int] = frozenset({2, 3})

#: Benchmarks per dataset, in the order ``prepare`` writes them.
BENCHMARKS: dict[str, tuple[str, ...]] = {
    "ntu60": ("xsub", "xview"),
    "ntu120": ("xsub", "xset"),
    "pku1": ("xsub", "xview"),
    "pku2": ("xsub", "xview"),
}
NUM_CLASSES: dict[str, int] = {"ntu60": 60, "ntu120": 120, "pku1": 51, "pku2": 51}

#: Human-readable split rules, copied into every manifest.
SPLIT_RULES: dict[tuple[str, str], str] = {
    ("ntu60", "xsub"): "NTU-60 cross-subject: performers "
    + ",".join(map(str, sorted(NTU60_XSUB_TRAIN_SUBJECTS)))
    + " train, the other 20 test",
    ("ntu60", "xview"): "NTU-60 cross-view: cameras 2,3 train, camera 1 tests",
    ("ntu120", "xsub"): "NTU-120 cross-subject: performers "
    + ",".join(map(str, sorted(NTU120_XSUB_TRAIN_SUBJECTS)))
    + " train, the other 53 test",
    ("ntu120", "xset"): "NTU-120 cross-setup: even setup IDs train, odd test",
    ("pku1", "xsub"): "PKU-MMD I cross-subject: videos on line 2 of cross-subject.txt train, the rest test",
    ("pku1", "xview"): "PKU-MMD I cross-view: videos on line 2 of cross-view.txt train, the rest test",
    ("pku2", "xsub"): "PKU-MMD II cross-subject: videos on line 2 of cross_subject_v2.txt train, the rest test",
    ("pku2", "xview"): "PKU-MMD II cross-view: videos on line 2 of cross_view_v2.txt train, the rest test",
}


@dataclass(frozen=True)
class NTUName:
    """The fields of an NTU sample name ``SsssCcccPpppRrrrAaaa`` (data.md §1)."""

    setup: int
    camera: int
    performer: int
    replication: int
    action: int

    @property
    def label(self) -> int:
        """0-based class index, ``A - 1`` as every gendata script writes it."""
        return self.action - 1


def sample_stem(name: str) -> str:
    """``S001C001P001R001A001.skeleton`` or a path → ``S001C001P001R001A001``."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.removesuffix(".skeleton")


def parse_ntu_name(name: str) -> NTUName:
    """Parse an NTU sample name (with or without ``.skeleton``, or a path to one)."""
    stem = sample_stem(name)
    m = NTU_NAME.fullmatch(stem)
    if m is None:
        raise ValueError(f"{name!r} is not an NTU sample name of the form SsssCcccPpppRrrrAaaa")
    return NTUName(*(int(g) for g in m.groups()))


def ntu_is_train(name: str | NTUName, dataset: str, benchmark: str) -> bool:
    """Whether an NTU sample belongs to the training part of ``dataset``/``benchmark``."""
    n = parse_ntu_name(name) if isinstance(name, str) else name
    if (dataset, benchmark) == ("ntu60", "xsub"):
        return n.performer in NTU60_XSUB_TRAIN_SUBJECTS
    if (dataset, benchmark) == ("ntu60", "xview"):
        return n.camera in NTU_XVIEW_TRAIN_CAMERAS
    if (dataset, benchmark) == ("ntu120", "xsub"):
        return n.performer in NTU120_XSUB_TRAIN_SUBJECTS
    if (dataset, benchmark) == ("ntu120", "xset"):
        return n.setup % 2 == 0
    raise ValueError(f"no NTU split rule for {dataset}/{benchmark}")


def ntu_in_dataset(name: str | NTUName, dataset: str) -> bool:
    """NTU-60 is setups S001–S017 with actions A001–A060; NTU-120 is S001–S032, A001–A120."""
    n = parse_ntu_name(name) if isinstance(name, str) else name
    if dataset == "ntu60":
        return 1 <= n.setup <= 17 and 1 <= n.action <= 60
    if dataset == "ntu120":
        return 1 <= n.setup <= 32 and 1 <= n.action <= 120
    raise ValueError(f"{dataset!r} is not an NTU dataset")


def split_ntu(names: Iterable[str], dataset: str, benchmark: str) -> tuple[list[str], list[str]]:
    """Partition sample names into (train, val), keeping their order."""
    train: list[str] = []
    val: list[str] = []
    for name in names:
        (train if ntu_is_train(name, dataset, benchmark) else val).append(name)
    return train, val


def read_sample_list(path: Path | str) -> list[str]:
    """Read a list of NTU sample names, one a line, in file order.

    Accepts the official missing-skeleton files (3 header lines: a sentence, a sentence, a blank
    line; data.md §1) and the header-less copies of CrosSCLR, pyskl and CTR-GCN alike, by
    keeping only lines that are a bare sample name (an optional ``.skeleton`` suffix is removed).
    Blank lines, CRLF line ends and a missing final newline are fine; a ``.gz`` file is read
    through gzip (the shipped lists are compressed: they are the repository's largest text).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8", errors="replace")
    except FileNotFoundError:
        raise FileNotFoundError(f"sample list {path} does not exist") from None
    names = []
    for line in text.splitlines():
        stem = sample_stem(line.strip())
        if _NTU_LINE.match(stem):
            names.append(stem)
    return names


@cache
def available_samples(dataset: str) -> tuple[str, ...]:
    """Every sample of ``dataset`` that has a skeleton, sorted (the shipped CTR-GCN list)."""
    if dataset not in ("ntu60", "ntu120"):
        raise ValueError(f"no sample list for {dataset!r}")
    return tuple(read_sample_list(RESOURCES / "ntu" / f"{dataset}_available_samples.txt.gz"))


@cache
def missing_skeletons(dataset: str) -> frozenset[str]:
    """The 302 (NTU-60) or 535 (NTU-120) samples whose skeletons are missing."""
    if dataset not in ("ntu60", "ntu120"):
        raise ValueError(f"no missing-skeleton list for {dataset!r}")
    return frozenset(read_sample_list(RESOURCES / "ntu" / f"{dataset}_missing_skeletons.txt"))


def expected_split_sizes(dataset: str, benchmark: str) -> tuple[int, int]:
    """(train, val) sizes of the full dataset under the official rule."""
    train, val = split_ntu(available_samples(dataset), dataset, benchmark)
    return len(train), len(val)


# --------------------------------------------------------------------------- PKU-MMD

_PKU1_VIDEO = re.compile(r"^\d{4}-[LMR]$")
_PKU2_VIDEO = re.compile(r"^A\d{2}N\d{2}-[LMR]$")


def read_pku_split(path: Path | str) -> tuple[list[str], list[str]]:
    """Read an official PKU-MMD split file → (training video IDs, test video IDs).

    Line 1 and 3 are headers; line 2 and 4 hold comma-separated IDs such as ``0002-L`` or
    ``A01N01-L`` (data.md §6). Whitespace and empty items are ignored, as AimCLR does.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        raise FileNotFoundError(f"PKU-MMD split file {path} does not exist") from None
    if len(lines) < 4:
        raise ValueError(
            f"{path}:{len(lines) + 1}: a PKU-MMD split file needs 4 lines (header, training IDs, "
            f"header, test IDs); it has {len(lines)}"
        )

    def ids(lineno: int) -> list[str]:
        items = [s.strip() for s in lines[lineno - 1].split(",")]
        items = [s for s in items if s]
        for s in items:
            if not (_PKU1_VIDEO.match(s) or _PKU2_VIDEO.match(s)):
                raise ValueError(f"{path}:{lineno}: {s!r} is not a PKU-MMD video ID like 0002-L or A01N01-L")
        return items

    train, test = ids(2), ids(4)
    both = sorted(set(train) & set(test))
    if both:
        raise ValueError(f"{path}: video {both[0]} is listed for both training and test")
    return train, test


def performer(name: str) -> int:
    """The performer of an NTU (``S001C002P003…``), NW-UCLA (``a01_s03_e00_v01``) or UTD-MHAD
    (``a1_s3_t2_skeleton``) sample name; ValueError for a name that carries none."""
    from datasets.nwucla import parse_clip_name  # the readers' name grammars, imported where they are used
    from datasets.utdmhad import NAME as UTDMHAD_NAME

    try:
        return parse_ntu_name(name).performer
    except ValueError:
        clip = parse_clip_name(Path(name).stem)
        if clip is not None:
            return clip.subject
        utd = UTDMHAD_NAME.match(Path(name).stem)
        if utd is None:
            raise
        return int(utd.group(2))


def monitor_holdout(names: Sequence[str], every: int = 5) -> np.ndarray:
    """Which training samples the online KNN monitor queries (a boolean mask); the rest is its bank.

    A pretraining recipe chosen by a number measured on the test split has seen the test split
    (issue 12): the monitor must never read it. It holds out every ``every``-th performer of the
    training split (sorted ids), so queries and bank share no person, as the cross-subject test
    does; NTU, NW-UCLA and UTD-MHAD names carry the performer, others (PKU-MMD videos) fall back to every
    ``every``-th sample.
    The labels of the held-out part are used only to score the monitor.
    """
    by_sample = np.arange(len(names)) % every == every - 1
    try:
        people = np.array([performer(n) for n in names])
    except ValueError:
        return by_sample
    ids = np.unique(people)
    if len(ids) < 2:
        return by_sample
    held = ids[every - 1 :: every] if len(ids) >= every else ids[-1:]
    return np.isin(people, held)
