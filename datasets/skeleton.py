"""NTU RGB+D skeleton conventions shared by every dataset, method and protocol.

Array layout everywhere in the suite: ``(N, C=3, T, V=25, M=2)`` float32 — batch, xyz,
frames, joints, persons (methods.md §1.3: two person slots are always kept, an absent person
is all zeros). Joint indices here are 0-based; the research notes and papers use 1-based.
"""

from __future__ import annotations

import numpy as np
import torch

NUM_JOINTS = 25
NUM_PERSONS = 2
NUM_CHANNELS = 3

#: NTU joint names in file order (data.md §1).
JOINT_NAMES: tuple[str, ...] = (
    "spine_base", "spine_mid", "neck", "head",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
    "spine_shoulder", "left_hand_tip", "left_thumb", "right_hand_tip", "right_thumb",
)

#: Centre joint of the ST-GCN graph and of the preprocessing (spine shoulder, 1-based 21).
CENTER_JOINT = 20

#: Skeleton edges, 1-based (child, parent) as in the official graph (methods.md §1.2).
EDGES_1BASED: tuple[tuple[int, int], ...] = (
    (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9),
    (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18),
    (20, 19), (22, 23), (23, 8), (24, 25), (25, 12),
)
EDGES: tuple[tuple[int, int], ...] = tuple((i - 1, j - 1) for i, j in EDGES_1BASED)

#: Bone pairs of the bone stream, 1-based (joint, parent) incl. the (21, 21) self pair that
#: makes bone 21 zero; 25 bones, not 24 (methods.md §2.1).
BONE_PAIRS_1BASED: tuple[tuple[int, int], ...] = EDGES_1BASED[:20] + ((21, 21),) + EDGES_1BASED[20:]
BONE_PARENT: tuple[int, ...] = tuple(parent - 1 for _, parent in BONE_PAIRS_1BASED)

#: Left/right joint permutation used by AimCLR's spatial flip (methods.md §2.3): a joint
#: re-indexing only, no coordinate is negated.
FLIP_PERMUTATION: tuple[int, ...] = (
    0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 16, 17, 18, 19, 12, 13, 14, 15, 20, 23, 24, 21, 22,
)

#: The five semantic body parts of SkeleMix, 0-based, with the official code's names (its
#: left/right names are swapped relative to NTU's joint names, which is harmless; methods.md §2.4).
BODY_PARTS: dict[str, tuple[int, ...]] = {
    "trunk": (3, 2, 20, 1, 0),
    "left_hand": (8, 9, 10, 11, 23, 24),
    "right_hand": (4, 5, 6, 7, 21, 22),
    "left_leg": (16, 17, 18, 19),
    "right_leg": (12, 13, 14, 15),
}

STREAMS = ("joint", "motion", "bone")


def motion_stream(x: torch.Tensor) -> torch.Tensor:
    """Frame difference ``x[t+1] - x[t]`` with the last frame set to zero (methods.md §4)."""
    m = torch.zeros_like(x)
    m[:, :, :-1] = x[:, :, 1:] - x[:, :, :-1]
    return m


def bone_parents(layout=None, num_joints: int | None = None) -> tuple[int, ...]:
    """The bone stream's parent of every joint: ``layout``'s (a :class:`datasets.layouts.Layout` or
    its name), or, when it is None, that of the one layout with ``num_joints`` joints (the four
    layouts have 25, 20, 17 and 18), NTU's :data:`BONE_PARENT` when that is None too.

    Choosing by the joint count lets the places that see only a batch (feature extraction, BN
    re-estimation, the supervised loop) take the bone stream of the data they are given; a layout
    that shared its joint count with another would have to be named."""
    from datasets.layouts import LAYOUTS, get_layout  # layouts import this module's constants

    if layout is None and num_joints is not None and num_joints != NUM_JOINTS:
        found = [lay for lay in LAYOUTS.values() if lay.num_joints == num_joints]
        if len(found) != 1:
            raise ValueError(f"no single skeleton layout has {num_joints} joints "
                             f"({', '.join(f'{n}: {lay.num_joints}' for n, lay in LAYOUTS.items())}); name the layout")
        layout = found[0]
    return BONE_PARENT if layout is None else get_layout(layout).bone_parent


def bone_stream(x: torch.Tensor, layout=None) -> torch.Tensor:
    """``x[v] - x[parent(v)]`` over the layout's bone pairs (:func:`bone_parents`); the centre's own
    bone is zero — for NTU the 25 pairs with bone 21 (spine shoulder) zero (methods.md §2.1)."""
    return x - x[:, :, :, list(bone_parents(layout, x.shape[3]))]


def to_stream(x: torch.Tensor, stream: str, layout=None) -> torch.Tensor:
    """Joint, motion or bone stream of an ``(N, C, T, V, M)`` batch, computed after augmentation
    as the official code does (methods.md §2.1). ``layout`` gives the bone pairs (default: the
    layout of the batch's joint count, :func:`bone_parents`).

    With a score channel (2D layouts) the motion and bone streams difference the score like the
    coordinates, with no special case (a stated choice: none of the four methods' papers defines a
    2D bone stream)."""
    if stream == "joint":
        return x
    if stream == "motion":
        return motion_stream(x)
    if stream == "bone":
        return bone_stream(x, layout)
    raise ValueError(f"unknown stream {stream!r}; choose one of {', '.join(STREAMS)}")


def check_layout(array: np.ndarray | torch.Tensor, what: str = "skeleton array", layout=None) -> None:
    """Raise a ValueError naming the expected shape if ``array`` does not hold ``layout``
    (a :class:`datasets.layouts.Layout` or its name; default NTU's 25 joints, (N, 3, T, 25, 2))."""
    from datasets.layouts import get_layout, layout_of_shape  # layouts import this module's constants

    lay = get_layout(layout)
    shape = tuple(array.shape)
    if len(shape) == 5 and (shape[1], shape[3], shape[4]) == (lay.num_channels, lay.num_joints, lay.num_persons):
        return
    other = layout_of_shape(shape)
    hint = f"; it looks like layout {other.name!r}" if other is not None and other.name != lay.name else ""
    raise ValueError(
        f"{what} has shape {shape}; layout {lay.name!r} expects {lay.shape_text()} = (samples, "
        f"{'/'.join(lay.channels)}, frames, {lay.num_joints} joints, persons){hint}"
    )
