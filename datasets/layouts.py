"""Skeleton layouts as data: which joints a skeleton has, how they connect, and what follows from it.

Every layout-dependent piece of the suite — the encoder's graph, the bone stream, AimCLR's spatial
flip, SkeleMix's body parts, the centre joint of the preprocessing — reads it from a
:class:`Layout`, as pyskl builds its graphs from a layout name (anchors.md B1, "Graph
definitions"). ``ntu25`` is assembled from :mod:`datasets.skeleton`'s constants, so every NTU
number stays what it was.

Joint orders and edges, 0-based, (child, parent) with the tree rooted at the centre joint:

* ``ntu25`` — Kinect v2 (NTU RGB+D 60/120, PKU-MMD), data.md §1, methods.md §1.2.
* ``kinect20`` — Kinect v1 / Microsoft SDK ``NUI_SKELETON_POSITION_INDEX`` order (NW-UCLA,
  MSRC-12); the edges are CTR-GCN's ``graph/ucla.py`` (data.md §7). The centre is the shoulder
  centre, the joint that plays NTU's spine-shoulder role (a stated choice: CTR-GCN's feeder
  centres on the spine, joint 2 1-based, instead).
* ``coco17`` — the COCO keypoints of pose estimators (pyskl's ``*_hrnet.pkl``), centre the nose,
  edges as pyskl's ``coco`` graph; channels x, y and the keypoint score.
* ``openpose18`` — ST-GCN's Kinetics-skeleton (OpenPose COCO-18), centre the neck, edges as
  ST-GCN's ``openpose`` graph; channels x, y and the confidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from datasets import skeleton as ntu


@dataclass(frozen=True)
class Layout:
    """One kind of skeleton. Arrays of this layout are ``(N, len(channels), T, num_joints, num_persons)``."""

    name: str
    joint_names: tuple[str, ...]
    #: Tree edges, 0-based ``(child, parent)``, rooted at :attr:`center`.
    edges: tuple[tuple[int, int], ...]
    #: Joint the preprocessing subtracts and the ST-GCN spatial partition measures distances from.
    center: int
    #: ``bone_parent[v]``: the joint whose position is subtracted from joint v in the bone stream
    #: (the centre is its own parent, so its bone is zero, as NTU's bone 21; methods.md §2.1).
    bone_parent: tuple[int, ...]
    #: Left/right joint permutation of a mirrored body (an involution); no coordinate is negated.
    mirror: tuple[int, ...]
    #: SkeleMix's body parts (methods.md §2.4), each a tuple of joints; together they cover every joint.
    body_parts: dict[str, tuple[int, ...]] = field(default_factory=dict)
    #: Channel names: ``("x", "y", "z")`` for 3D sensors, ``("x", "y", "score")`` for 2D estimators.
    channels: tuple[str, ...] = ("x", "y", "z")
    num_persons: int = 2
    #: ``(left, right)`` shoulders for the preprocessing's rotation about y; ``None`` where it does
    #: not apply (2D data has no depth to rotate in).
    shoulders: tuple[int, int] | None = None

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def num_channels(self) -> int:
        return len(self.channels)

    @property
    def coordinate_channels(self) -> int:
        """How many leading channels are coordinates (a trailing score is not centred or mixed)."""
        return sum(c in ("x", "y", "z") for c in self.channels)

    @property
    def is_3d(self) -> bool:
        return "z" in self.channels

    def shape_text(self) -> str:
        return f"(N, {self.num_channels}, T, {self.num_joints}, {self.num_persons})"


def _bone_parents(edges: tuple[tuple[int, int], ...], num_joints: int, center: int) -> tuple[int, ...]:
    parent = dict(edges)
    parent[center] = center
    return tuple(parent[v] for v in range(num_joints))


def _mirror(names: tuple[str, ...]) -> tuple[int, ...]:
    """Swap every ``left_*`` joint with its ``right_*`` namesake."""
    index = {n: i for i, n in enumerate(names)}

    def partner(n: str) -> str:
        if n.startswith("left_"):
            return "right_" + n[5:]
        if n.startswith("right_"):
            return "left_" + n[6:]
        return n

    return tuple(index[partner(n)] for n in names)


NTU25 = Layout(
    name="ntu25",
    joint_names=ntu.JOINT_NAMES,
    edges=ntu.EDGES,
    center=ntu.CENTER_JOINT,
    bone_parent=ntu.BONE_PARENT,
    mirror=ntu.FLIP_PERMUTATION,
    body_parts=dict(ntu.BODY_PARTS),
    shoulders=(4, 8),
)

_KINECT20_NAMES = (
    "hip_center", "spine", "shoulder_center", "head",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
)
_KINECT20_EDGES = tuple((i - 1, j - 1) for i, j in (
    (1, 2), (2, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3), (10, 9), (11, 10), (12, 11),
    (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19),
))
KINECT20 = Layout(
    name="kinect20",
    joint_names=_KINECT20_NAMES,
    edges=_KINECT20_EDGES,
    center=2,
    bone_parent=_bone_parents(_KINECT20_EDGES, 20, 2),
    mirror=_mirror(_KINECT20_NAMES),
    body_parts={"trunk": (0, 1, 2, 3), "left_arm": (4, 5, 6, 7), "right_arm": (8, 9, 10, 11),
                "left_leg": (12, 13, 14, 15), "right_leg": (16, 17, 18, 19)},
    num_persons=1,  # NW-UCLA, MSRC-12 and UTD-MHAD are single-person (CTR-GCN's UCLA feeder: M = 1)
    shoulders=(4, 8),
)

_COCO17_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
_COCO17_EDGES = (
    (1, 0), (2, 0), (3, 1), (4, 2), (5, 0), (6, 0), (7, 5), (8, 6), (9, 7), (10, 8),
    (11, 5), (12, 6), (13, 11), (14, 12), (15, 13), (16, 14),
)
COCO17 = Layout(
    name="coco17",
    joint_names=_COCO17_NAMES,
    edges=_COCO17_EDGES,
    center=0,
    bone_parent=_bone_parents(_COCO17_EDGES, 17, 0),
    mirror=_mirror(_COCO17_NAMES),
    body_parts={"head": (0, 1, 2, 3, 4), "left_arm": (5, 7, 9), "right_arm": (6, 8, 10),
                "left_leg": (11, 13, 15), "right_leg": (12, 14, 16)},
    channels=("x", "y", "score"),
)

_OPENPOSE18_NAMES = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
)
_OPENPOSE18_EDGES = (
    (0, 1), (2, 1), (3, 2), (4, 3), (5, 1), (6, 5), (7, 6), (8, 2), (9, 8), (10, 9),
    (11, 5), (12, 11), (13, 12), (14, 0), (15, 0), (16, 14), (17, 15),
)
OPENPOSE18 = Layout(
    name="openpose18",
    joint_names=_OPENPOSE18_NAMES,
    edges=_OPENPOSE18_EDGES,
    center=1,
    bone_parent=_bone_parents(_OPENPOSE18_EDGES, 18, 1),
    mirror=_mirror(_OPENPOSE18_NAMES),
    body_parts={"head": (0, 1, 14, 15, 16, 17), "right_arm": (2, 3, 4), "left_arm": (5, 6, 7),
                "right_leg": (8, 9, 10), "left_leg": (11, 12, 13)},
    channels=("x", "y", "score"),
)

LAYOUTS: dict[str, Layout] = {lay.name: lay for lay in (NTU25, KINECT20, COCO17, OPENPOSE18)}
DEFAULT_LAYOUT = "ntu25"


def get_layout(name: str | Layout | None) -> Layout:
    """The layout called ``name`` (``None``: NTU's, what every file written before layouts holds)."""
    if isinstance(name, Layout):
        return name
    try:
        return LAYOUTS[name or DEFAULT_LAYOUT]
    except KeyError:
        raise ValueError(f"unknown skeleton layout {name!r}; choose one of {', '.join(LAYOUTS)}") from None


def layout_of_shape(shape: tuple[int, ...]) -> Layout | None:
    """The one layout whose (channels, joints) match an ``(N, C, T, V, M)`` shape, if exactly one does."""
    if len(shape) != 5:
        return None
    found = [lay for lay in LAYOUTS.values() if (lay.num_channels, lay.num_joints) == (shape[1], shape[3])]
    return found[0] if len(found) == 1 else None
