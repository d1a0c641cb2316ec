"""The augmentations of :mod:`datasets.augment`, batched on the device (issue 15 item 2).

The loader path draws each view per sample in NumPy inside loader workers; on a GPU that puts
the CPU in the way of a step that takes milliseconds. Here a whole ``(N, C, T, V, M)`` batch is
augmented with torch operations where it already is, every sample with its own draws from the
same distributions as the per-sample functions: the temporal crop's start, the shear's six
entries, the extreme chain's coins, axis, angles and σ. The per-sample parameters are drawn
first and then applied by pure functions of them (``*_at``), so each application is tested
against the NumPy function given the same parameters, and the draws by their statistics
(tests/test_augment_batch.py): the two paths share distributions, not random streams.

Randomness comes from an explicit :class:`torch.Generator` that pretraining seeds from
(seed, epoch, step, rank): a view is a function of its position in the run, so a resumed run
draws what the uninterrupted one would, with no generator state to save.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from datasets.augment import (
    BLUR_KERNEL_SIZE,
    BLUR_SIGMA_RANGE,
    NOISE_STD,
    ROTATION_MAIN_DEGREES,
    ROTATION_OTHER_DEGREES,
    SHEAR_AMPLITUDE,
    TEMPORAL_PADDING_RATIO,
    ExtremeView,
    NormalView,
    identity_view,
    normal_view,
)

BatchView = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def _uniform(n: int, low: float, high: float, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=gen, device=device, dtype=torch.float64) * (high - low) + low


def _coins(n: int, p: float, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=gen, device=device, dtype=torch.float64) < p


# ------------------------------------------------------------------------------ crop and shear


def crop_indices(frames: int, starts: torch.Tensor, padding_ratio: int = TEMPORAL_PADDING_RATIO) -> torch.Tensor:
    """``(N, T)`` source frames of :func:`datasets.augment.temporal_crop` for each sample's window
    start: the reflection-padded sequence (``pad`` first frames reversed, the clip, the ``pad`` last
    frames reversed) read from ``start`` on."""
    pad = frames // padding_ratio
    p = starts.view(-1, 1) + torch.arange(frames, device=starts.device) - pad  # position in the clip
    return torch.where(p < 0, -1 - p, torch.where(p >= frames, 2 * frames - 1 - p, p))


def temporal_crop_at(x: torch.Tensor, starts: torch.Tensor, padding_ratio: int = TEMPORAL_PADDING_RATIO) -> torch.Tensor:
    """Each sample's reflection-padded window from its ``start`` (:func:`crop_indices`)."""
    n, c, t, v, m = x.shape
    idx = crop_indices(t, starts, padding_ratio).view(n, 1, t, 1, 1).expand(n, c, t, v, m)
    return x.gather(2, idx)


def temporal_crop(x: torch.Tensor, gen: torch.Generator, padding_ratio: int = TEMPORAL_PADDING_RATIO) -> torch.Tensor:
    """Batched :func:`datasets.augment.temporal_crop`: start ~ U{0, …, 2·pad} per sample."""
    pad = x.shape[2] // padding_ratio
    if pad == 0:
        return x
    starts = torch.randint(0, 2 * pad + 1, (x.shape[0],), generator=gen, device=x.device)
    return temporal_crop_at(x, starts, padding_ratio)


def linear_map_at(r: torch.Tensor, x: torch.Tensor, coords: int | None = None) -> torch.Tensor:
    """``x' = R_n·x`` for every joint of every frame and person of sample n (``r``: (N, 3, 3));
    with ``coords`` only the leading channels, by R's top-left block (:func:`datasets.augment.linear_map`)."""
    k = x.shape[1] if coords is None else coords
    mapped = torch.einsum("nij,njtvm->nitvm", r[:, :k, :k].to(x.dtype), x[:, :k])
    return mapped if k == x.shape[1] else torch.cat([mapped, x[:, k:]], dim=1)


def shear_matrices(n: int, gen: torch.Generator, device: torch.device, amplitude: float = SHEAR_AMPLITUDE) -> torch.Tensor:
    """``(N, 3, 3)``: identity diagonal, six independent U(−a, a) off-diagonal entries each."""
    r = torch.eye(3, dtype=torch.float64, device=device).repeat(n, 1, 1)
    off = ~torch.eye(3, dtype=torch.bool, device=device)
    r[:, off] = _uniform(n * 6, -amplitude, amplitude, gen, device).view(n, 6)
    return r


def shear(x: torch.Tensor, gen: torch.Generator, amplitude: float = SHEAR_AMPLITUDE, coords: int | None = None) -> torch.Tensor:
    """Batched :func:`datasets.augment.shear`: one shear matrix per sample."""
    return linear_map_at(shear_matrices(x.shape[0], gen, x.device, amplitude), x, coords)


# ------------------------------------------------------------------ AimCLR's extreme augmentation


def rotation_matrices(angles_degrees: torch.Tensor) -> torch.Tensor:
    """``(N, 3, 3)`` = Rz·Ry·Rx of each row of ``angles_degrees`` (N, 3), with the official sign
    convention of :func:`datasets.augment.axis_rotation`."""
    a = torch.deg2rad(angles_degrees.to(torch.float64))
    c, s = torch.cos(a), torch.sin(a)
    one, zero = torch.ones_like(c[:, 0]), torch.zeros_like(c[:, 0])
    rx = torch.stack([one, zero, zero, zero, c[:, 0], s[:, 0], zero, -s[:, 0], c[:, 0]], 1).view(-1, 3, 3)
    ry = torch.stack([c[:, 1], zero, -s[:, 1], zero, one, zero, s[:, 1], zero, c[:, 1]], 1).view(-1, 3, 3)
    rz = torch.stack([c[:, 2], s[:, 2], zero, -s[:, 2], c[:, 2], zero, zero, zero, one], 1).view(-1, 3, 3)
    return rz @ ry @ rx


def rotation_angles(n: int, gen: torch.Generator, device: torch.device, main_degrees: float = ROTATION_MAIN_DEGREES,
                    other_degrees: float = ROTATION_OTHER_DEGREES) -> torch.Tensor:
    """``(N, 3)`` degrees about (x, y, z): U(0, 30) about a uniformly drawn main axis, U(0, 1) about
    the other two (:func:`datasets.augment.rotation_angles`)."""
    main = torch.randint(0, 3, (n,), generator=gen, device=device)
    u = torch.rand(n, 3, generator=gen, device=device, dtype=torch.float64)
    is_main = torch.arange(3, device=device) == main.view(-1, 1)
    return u * torch.where(is_main, main_degrees, other_degrees)


#: The random camera of CTR-GCN's NW-UCLA training feeder (``feeders/feeder_ucla.py``): a turn
#: about x and one about y, each drawn in ±60°. Its draw of a scale in [0.5, 1.5] is left out: the
#: feeder's per-clip min-max scaling that follows undoes it.
CAMERA_DEGREES = 60.0


def camera_angles(n: int, gen: torch.Generator, device: torch.device, degrees: float = CAMERA_DEGREES) -> torch.Tensor:
    """``(N, 3)`` degrees about (x, y, z): U(−d, d) about x and y, none about z."""
    u = torch.rand(n, 2, generator=gen, device=device, dtype=torch.float64)
    return F.pad((2 * u - 1) * degrees, (0, 1))


@dataclass(frozen=True)
class BatchedCameraRotation:
    """Each sample seen from a random camera (:func:`camera_angles`, about the prepared origin).
    Supervised training's augmentation for cross-view benchmarks, where the test camera is one the
    training clips never saw; it has no per-sample counterpart in :mod:`datasets.augment`, since no
    contrastive method's official pipeline uses it. Every channel must be a 3D coordinate."""

    degrees: float = CAMERA_DEGREES

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return linear_map_at(rotation_matrices(camera_angles(x.shape[0], gen, x.device, self.degrees)), x)


def spatial_flip_at(x: torch.Tensor, flip: torch.Tensor, permutation: tuple[int, ...]) -> torch.Tensor:
    """The joint relabelling of :func:`datasets.augment.spatial_flip` on the samples where ``flip``."""
    flipped = x[:, :, :, list(permutation)]
    return torch.where(flip.view(-1, 1, 1, 1, 1), flipped, x)


def gaussian_kernels(sigmas: torch.Tensor, size: int = BLUR_KERNEL_SIZE, normalise: bool = False) -> torch.Tensor:
    """``(N, size)`` kernels ``exp(−k²/(2σ²))``, un-normalised unless ``normalise`` (the official
    gain, :func:`datasets.augment.gaussian_kernel`)."""
    k = torch.arange(size, device=sigmas.device, dtype=torch.float64) - size // 2
    w = torch.exp(-(k**2) / (2.0 * sigmas.to(torch.float64).view(-1, 1) ** 2))
    return w / w.sum(1, keepdim=True) if normalise else w


def blur_at(x: torch.Tensor, kernels: torch.Tensor, blur: torch.Tensor, coords: int | None = None) -> torch.Tensor:
    """Each sample's zero-padded temporal convolution with its own kernel where ``blur``
    (:func:`datasets.augment.blur_along_time`); a 2D layout's score channels are kept."""
    c = x.shape[1]
    k = c if coords is None else coords
    radius = kernels.shape[1] // 2
    windows = F.pad(x[:, :k], (0, 0, 0, 0, radius, radius)).unfold(2, kernels.shape[1], 1)  # (N, k, T, V, M, size)
    blurred = torch.einsum("nctvms,ns->nctvm", windows, kernels.to(x.dtype))
    if k < c:
        blurred = torch.cat([blurred, x[:, k:]], dim=1)
    return torch.where(blur.view(-1, 1, 1, 1, 1), blurred, x)


def axis_mask_at(x: torch.Tensor, masked: torch.Tensor, axes: torch.Tensor) -> torch.Tensor:
    """Zero channel ``axes[n]`` of every sample n where ``masked`` (:func:`datasets.augment.axis_mask`)."""
    hit = (torch.arange(x.shape[1], device=x.device) == axes.view(-1, 1)) & masked.view(-1, 1)
    return x.masked_fill(hit.view(*hit.shape, 1, 1, 1), 0.0)


def temporal_flip_at(x: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """Reverse time on the samples where ``flip``."""
    return torch.where(flip.view(-1, 1, 1, 1, 1), x.flip(2), x)


def extreme_step(x: torch.Tensor, step: str, gen: torch.Generator, view: ExtremeView, coords: int | None) -> torch.Tensor:
    """One digit of the extreme chain on the batch, each sample drawing as the per-sample step does
    (probabilities and ranges of :mod:`datasets.augment`)."""
    n, dev = x.shape[0], x.device
    if step == "1":
        return spatial_flip_at(x, _coins(n, 0.5, gen, dev), view.mirror)
    if step == "2":
        return linear_map_at(rotation_matrices(rotation_angles(n, gen, dev)), x, coords)
    if step == "3":
        k = x.shape[1] if coords is None else coords
        noise = torch.randn(x[:, :k].shape, generator=gen, device=dev, dtype=x.dtype) * NOISE_STD
        noise = noise * _coins(n, 0.5, gen, dev).to(x.dtype).view(-1, 1, 1, 1, 1)
        return x + (noise if k == x.shape[1] else torch.cat([noise, torch.zeros_like(x[:, k:])], dim=1))
    if step == "4":
        sigmas = _uniform(n, *BLUR_SIGMA_RANGE, gen, dev)
        return blur_at(x, gaussian_kernels(sigmas, normalise=view.normalise_blur), _coins(n, 0.5, gen, dev), coords)
    if step == "5":
        axes = torch.randint(0, 3 if coords is None else coords, (n,), generator=gen, device=dev)
        return axis_mask_at(x, _coins(n, 0.5, gen, dev), axes)
    if step == "6":
        return temporal_flip_at(x, _coins(n, 0.5, gen, dev))
    raise ValueError(f"unknown extreme step {step!r}")


# ----------------------------------------------------------------------- the views, batched


@dataclass(frozen=True)
class BatchedNormalView:
    """Temporal crop, then shear (on ``coords`` channels when given), per sample of a batch."""

    coords: int | None = None

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return shear(temporal_crop(x, gen), gen, coords=self.coords)


@dataclass(frozen=True)
class BatchedExtremeView:
    """:class:`datasets.augment.ExtremeView` on a batch: crop, shear, then its chain in order."""

    view: ExtremeView

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        coords = None if self.view.coords == x.shape[1] else self.view.coords
        x = BatchedNormalView(coords)(x, gen)
        for step in self.view.chain:
            x = extreme_step(x, step, gen, self.view, coords)
        return x


def batched_identity(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return x


def batched(view: Callable) -> BatchView:
    """The batched counterpart of a per-sample view function of :mod:`datasets.augment`."""
    if view is normal_view:
        return BatchedNormalView()
    if isinstance(view, NormalView):
        return BatchedNormalView(view.coords)
    if isinstance(view, ExtremeView):
        return BatchedExtremeView(view)
    if view is identity_view:
        return batched_identity
    raise ValueError(f"no batched form of the view {view!r}; run with --augment loader")


def view_generator(seed: int, epoch: int, step: int, rank: int, device: torch.device) -> torch.Generator:
    """The generator of one step's batched views: a function of the step's position in the run."""
    key = ((seed * 1_000_003 + epoch) * 1_000_033 + step) * 101 + rank
    return torch.Generator(device=device).manual_seed(key % (2**63 - 1))
