"""Skeleton augmentations as pure functions of one ``(C, T, V, M)`` sample and a random generator.

The "normal" augmentation of every method is temporal crop then shear (methods.md §2.0).
Randomness always comes from an explicit ``numpy.random.Generator`` so a view is a
deterministic function of (seed, epoch, sample index) — unlike the official loader, whose
worker re-seeding replays the same draws every epoch (methods.md §7.7).

AimCLR's "extreme" augmentation (methods.md §2.3) follows the normal ones below: spatial flip,
rotation, Gaussian noise, Gaussian blur, axis mask, and the optional temporal flip, chained by
:func:`make_extreme_view`.

Other skeleton layouts (:mod:`datasets.layouts`): the spatial flip uses the layout's mirror
permutation. On a 2D layout (channels x, y and a score) every step that changes coordinates acts on
the coordinate channels only and leaves the score as it is: a 3×3 shear or rotation acts on the
skeleton as the plane z = 0, projected back, which is its top-left 2×2 block; noise and blur touch
x and y; the axis mask picks x or y. Steps that move whole joints or frames (crop, flip, temporal
flip) carry the score with its joint. Every draw from the generator is the one the 3D form makes,
so a 2D view is as reproducible as an NTU one. A stated choice: none of the four methods was
published on 2D skeletons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datasets.layouts import Layout, get_layout
from datasets.skeleton import FLIP_PERMUTATION

TEMPORAL_PADDING_RATIO = 6
SHEAR_AMPLITUDE = 0.5


def temporal_crop(x: np.ndarray, rng: np.random.Generator, padding_ratio: int = TEMPORAL_PADDING_RATIO) -> np.ndarray:
    """Random shift with reflection: pad ``T // ratio`` frames at both ends with the first and
    last frames in reverse order (edge frame included), then take a window of the original
    length starting at ``randint(0, 2·pad)`` inclusive."""
    t = x.shape[1]
    pad = t // padding_ratio
    if pad == 0:
        return x
    padded = np.concatenate([x[:, :pad][:, ::-1], x, x[:, -pad:][:, ::-1]], axis=1)
    start = int(rng.integers(0, 2 * pad + 1))
    return padded[:, start : start + t]


def shear_matrix(rng: np.random.Generator, amplitude: float = SHEAR_AMPLITUDE) -> np.ndarray:
    """``[[1,a,b],[c,1,d],[e,f,1]]`` with six independent U(−amplitude, amplitude) entries."""
    r = np.eye(3)
    off = ~np.eye(3, dtype=bool)
    r[off] = rng.uniform(-amplitude, amplitude, 6)
    return r


def linear_map(r: np.ndarray, x: np.ndarray, coords: int | None = None) -> np.ndarray:
    """``x' = R·x`` for every joint of every frame and person. With ``coords`` below the channel
    count (a 2D layout's x, y before its score) only the leading ``coords`` channels are mapped, by
    R's top-left block — the 3×3 map of the plane z = 0, projected back — and the rest are kept."""
    if coords is None or coords == x.shape[0]:
        return np.einsum("ij,jtvm->itvm", r, x)
    out = np.array(x, dtype=np.float64, copy=True)
    out[:coords] = np.einsum("ij,jtvm->itvm", r[:coords, :coords], x[:coords])
    return out


def shear(x: np.ndarray, rng: np.random.Generator, amplitude: float = SHEAR_AMPLITUDE,
          coords: int | None = None) -> np.ndarray:
    """Apply one shear matrix to every joint of every frame and person: ``x' = R·x`` (on the
    coordinate channels only, :func:`linear_map`, when ``coords`` is given)."""
    r = shear_matrix(rng, amplitude)
    return linear_map(r, x, coords)


def normal_view(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The normal augmentation of SkeletonCLR/CrosSCLR/AimCLR/SkeleMixCLR: crop, then shear."""
    return shear(temporal_crop(x, rng), rng).astype(np.float32)


@dataclass(frozen=True)
class NormalView:
    """:func:`normal_view` on a layout with ``coords`` coordinate channels before a score (the
    shear leaves the score alone); a dataclass so loader workers can pickle it."""

    coords: int

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return shear(temporal_crop(x, rng), rng, coords=self.coords).astype(np.float32)


def make_normal_view(layout: str | Layout | None = None):
    """The normal view for ``layout``: :func:`normal_view` itself wherever every channel is a
    coordinate (NTU, Kinect v1), :class:`NormalView` on a 2D layout with a score."""
    lay = get_layout(layout)
    return normal_view if lay.coordinate_channels == lay.num_channels else NormalView(lay.coordinate_channels)


def identity_view(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """No augmentation (the evaluation protocols, methods.md §3.1)."""
    return np.asarray(x, dtype=np.float32)


# ---------------------------------------------------------------- AimCLR's extreme augmentation
# methods.md §2.3. Each function reproduces one step of the official ``_strong_aug`` on a single
# (C, T, V, M) sample; probabilities and ranges are the official defaults.

ROTATION_MAIN_DEGREES = 30.0
ROTATION_OTHER_DEGREES = 1.0
NOISE_STD = 0.01
BLUR_KERNEL_SIZE = 15
BLUR_SIGMA_RANGE = (0.1, 2.0)


def spatial_flip(x: np.ndarray, rng: np.random.Generator, p: float = 0.5,
                 permutation: tuple[int, ...] = FLIP_PERMUTATION) -> np.ndarray:
    """With probability ``p``, swap left and right joints by re-indexing with ``permutation``
    (NTU's :data:`datasets.skeleton.FLIP_PERMUTATION`, or another layout's ``mirror``). No
    coordinate is negated: the official "flip" is a joint relabelling, not a mirror image
    (methods.md §2.3, §7 item 6)."""
    if rng.random() < p:
        return x[:, :, list(permutation)]
    return x


def axis_rotation(axis: int, angle: float) -> np.ndarray:
    """The official 3×3 matrix for ``angle`` radians about ``axis`` (0 = x, 1 = y, 2 = z), acting
    as ``x' = R·x``. Its sign convention is the official one: each is the right-handed rotation
    by −angle, e.g. about x ``[[1, 0, 0], [0, cos, sin], [0, −sin, cos]]``. Angles are drawn in
    [0°, 30°], so the sign sets the direction of the augmentation and is kept."""
    c, s = np.cos(angle), np.sin(angle)
    if axis == 0:
        return np.array([[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]])
    if axis == 1:
        return np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])
    if axis == 2:
        return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    raise ValueError(f"axis must be 0, 1 or 2, not {axis!r}")


def rotation_angles(rng: np.random.Generator, main_degrees: float = ROTATION_MAIN_DEGREES,
                    other_degrees: float = ROTATION_OTHER_DEGREES) -> tuple[int, np.ndarray]:
    """Draw the main axis uniformly from {x, y, z} and the angles in degrees about (x, y, z):
    U(0, 30) about the main axis, U(0, 1) about the other two (methods.md §2.3)."""
    main = int(rng.integers(0, 3))
    angles = np.array([rng.uniform(0.0, main_degrees if a == main else other_degrees) for a in range(3)])
    return main, angles


def rotation_matrix(angles_degrees: np.ndarray) -> np.ndarray:
    """``Rz·Ry·Rx``: the rotations about x, then y, then z applied one after the other, as the
    official code does (methods.md §2.3)."""
    r = np.eye(3)
    for axis in range(3):
        r = axis_rotation(axis, np.radians(angles_degrees[axis])) @ r
    return r


def rotate(x: np.ndarray, rng: np.random.Generator, coords: int | None = None) -> np.ndarray:
    """Rotate every joint of every frame and person by one :func:`rotation_matrix` (always applied;
    on the coordinate channels only, :func:`linear_map`, when ``coords`` is given)."""
    _, angles = rotation_angles(rng)
    return linear_map(rotation_matrix(angles), x, coords)


def gaussian_noise(x: np.ndarray, rng: np.random.Generator, std: float = NOISE_STD, p: float = 0.5,
                   coords: int | None = None) -> np.ndarray:
    """With probability ``p``, add independent N(0, std²) noise to every entry (to the leading
    ``coords`` channels only when given; the same draws either way). ``std`` = 0.01 is a
    standard deviation (the official ``np.random.normal(mean, std)``), not a variance, in the data's
    units (metres for the 3D layouts; the recipe is not rescaled for 2D pixel data)."""
    if rng.random() < p:
        noise = rng.normal(0.0, std, size=x.shape)
        if coords is not None:
            noise[coords:] = 0.0
        return x + noise
    return x


def gaussian_kernel(sigma: float, size: int = BLUR_KERNEL_SIZE, normalise: bool = False) -> np.ndarray:
    """``exp(−k²/(2σ²))`` for k = −size//2 … size//2. The official kernel is **not normalised**:
    its sum runs from ≈1 (σ = 0.1) to ≈5 (σ = 2), so the blur also scales coordinates by that
    gain (methods.md §0 item 6, §7 item 6). ``normalise=True`` divides by the sum (a true low-pass filter)."""
    k = np.arange(size) - size // 2
    w = np.exp(-(k.astype(np.float64) ** 2) / (2.0 * sigma**2))
    return w / w.sum() if normalise else w


def blur_along_time(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve every (channel, joint, person) series with ``kernel`` along T, zero-padded by
    ``len(kernel)//2`` at both ends so T is kept (the official depth-wise conv2d; the kernel is
    symmetric, so correlation and convolution agree)."""
    radius = len(kernel) // 2
    padded = np.pad(x, ((0, 0), (radius, radius), (0, 0), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, len(kernel), axis=1)  # (C, T, V, M, size)
    return windows @ kernel


def gaussian_blur(x: np.ndarray, rng: np.random.Generator, p: float = 0.5, normalise: bool = False,
                  sigma_range: tuple[float, float] = BLUR_SIGMA_RANGE, size: int = BLUR_KERNEL_SIZE,
                  coords: int | None = None) -> np.ndarray:
    """With probability ``p``, :func:`blur_along_time` with a :func:`gaussian_kernel` of
    σ ~ U(0.1, 2). σ is drawn before the coin, as in the official code. By default the kernel is
    un-normalised like the official one; ``normalise=True`` is the corrected blur. With ``coords``
    only the leading channels are blurred (a 2D layout's score is kept)."""
    sigma = rng.uniform(*sigma_range)
    if rng.random() < p:
        kernel = gaussian_kernel(sigma, size, normalise)
        if coords is None or coords == x.shape[0]:
            return blur_along_time(x, kernel)
        out = np.array(x, dtype=np.float64, copy=True)
        out[:coords] = blur_along_time(x[:coords], kernel)
        return out
    return x


def axis_mask(x: np.ndarray, rng: np.random.Generator, p: float = 0.5, coords: int | None = None) -> np.ndarray:
    """With probability ``p``, zero one uniformly chosen coordinate axis (x, y or z; x or y of a 2D
    layout with ``coords`` = 2) for all frames, joints and persons."""
    if rng.random() < p:
        out = np.array(x, copy=True)
        out[int(rng.integers(0, 3 if coords is None else coords))] = 0.0
        return out
    return x


def temporal_flip(x: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """With probability ``p``, reverse time. Not in the default extreme chain (methods.md §2.3)."""
    if rng.random() < p:
        return x[:, ::-1]
    return x


#: The official ``aug_method`` digits (``AIM:feeder/ntu_feeder.py``).
EXTREME_AUGMENTATIONS = {"1": spatial_flip, "2": rotate, "3": gaussian_noise, "4": gaussian_blur, "5": axis_mask,
                         "6": temporal_flip}
#: The official default since commit f12a092 (2022-03-31): flip, rotate, noise, blur, mask.
DEFAULT_EXTREME_CHAIN = "12345"
#: The official option with temporal flip: the code applies it last, after the axis mask.
EXTREME_CHAIN_WITH_TIME_FLIP = "123456"
#: The first release (Dec 2021), which the paper's numbers may stem from: temporal flip after rotation.
FIRST_RELEASE_CHAIN = "126345"


@dataclass(frozen=True)
class ExtremeView:
    """AimCLR's extreme view: temporal crop → shear → the augmentations of ``chain`` in the order
    written (methods.md §2.3). A dataclass rather than a closure so loader workers can pickle it.

    ``chain`` uses the official ``aug_method`` digits (1 spatial flip, 2 rotation, 3 noise, 4 blur,
    5 axis mask, 6 temporal flip). The official code applies the digits it finds in the fixed
    order 1…6, so write them ascending to match it; :data:`FIRST_RELEASE_CHAIN` ('126345')
    reproduces the first release, whose order differed. ``normalise_blur`` corrects the
    un-normalised blur kernel. ``mirror`` is the layout's left/right permutation of the flip and
    ``coords`` its number of coordinate channels (3, or 2 before a score; module docstring).
    """

    chain: str = DEFAULT_EXTREME_CHAIN
    normalise_blur: bool = False
    mirror: tuple[int, ...] = FLIP_PERMUTATION
    coords: int = 3

    def __post_init__(self) -> None:
        unknown = set(self.chain) - set(EXTREME_AUGMENTATIONS)
        if unknown or len(set(self.chain)) != len(self.chain):
            raise ValueError(f"extreme chain {self.chain!r} must use each of the digits 1-6 at most once "
                             "(1 flip, 2 rotate, 3 noise, 4 blur, 5 axis mask, 6 temporal flip)")

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        coords = None if self.coords == x.shape[0] else self.coords
        x = shear(temporal_crop(x, rng), rng, coords=coords)
        for step in self.chain:
            if step == "1":
                x = spatial_flip(x, rng, permutation=self.mirror)
            elif step == "4":
                x = gaussian_blur(x, rng, normalise=self.normalise_blur, coords=coords)
            elif step == "6":
                x = temporal_flip(x, rng)
            else:
                x = EXTREME_AUGMENTATIONS[step](x, rng, coords=coords)
        return np.ascontiguousarray(x, dtype=np.float32)


def make_extreme_view(chain: str = DEFAULT_EXTREME_CHAIN, normalise_blur: bool = False,
                      layout: str | Layout | None = None) -> ExtremeView:
    """An extreme-view function for the feeder. The defaults reproduce the official code
    (methods.md §2.3): chain '12345' without temporal flip, un-normalised blur. Options:
    ``chain=EXTREME_CHAIN_WITH_TIME_FLIP`` or ``FIRST_RELEASE_CHAIN`` adds the temporal flip
    (official option / first release), ``normalise_blur=True`` is the corrected blur. ``layout``
    (default ``ntu25``) gives the flip's mirror permutation and the coordinate channels."""
    lay = get_layout(layout)
    return ExtremeView(chain, normalise_blur, lay.mirror, lay.coordinate_channels)


_OFFICIAL_EXTREME_VIEW = make_extreme_view()


def extreme_view(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The official extreme view (crop, shear, chain '12345', un-normalised blur) as float32."""
    return _OFFICIAL_EXTREME_VIEW(x, rng)
