"""The training state of a pretraining run (``last.pt``): what a bit-identical resume needs.

A resumed run must end with the weights an uninterrupted one would have, on the same machine and
thread count. Weights, optimiser and queue are not enough: the step draws from the torch CPU
generator (dropout; CUDA's on a GPU), the method's batch generator (SkeleMix regions, partners),
and the position inside the epoch decides which samples come next. So the state holds every
generator's state and the exact (epoch, step) position with the partial sums of the epoch's logs;
the loader order and the feeder's augmentations are pure functions of (seed, epoch, index) and
need no state of their own (:mod:`datasets.feeder`).

The file is checked before it is trusted: a torn or foreign ``last.pt`` (another method, seed,
dataset, preset or configuration) is refused with what to do, never half-loaded.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from methods.checkpoint import TRAINING_FORMAT, first_line
from methods.encoders.dropout import LEGACY_MASKS

#: The training-state layout this version writes; older states (before bit-identical resume) lack
#: the generators' states and the in-epoch position, so they cannot be resumed exactly.
STATE_VERSION = 2
#: Meta fields that make a run the same run: a state that differs in any is another run's.
IDENTITY = ("method", "dataset", "stream", "frames", "config", "seed", "steps_per_epoch", "data_fingerprint",
            "dropout_masks", "augment")
#: Identity fields added later, with what a state written before them did: the dropout masks'
#: stream (:mod:`methods.encoders.dropout`) and where the views are drawn (:mod:`datasets.augment_batch`).
BEFORE_FIELD = {"dropout_masks": LEGACY_MASKS, "augment": "loader"}
#: Preset fields not compared on resume: ``--resume --epochs N`` extends a finished run; ``note``,
#: prose that states of older versions carried in their preset (a preset is its numbers); and
#: ``options``, the method options a recipe sets, which the run's config (``extra``) holds and
#: :data:`IDENTITY` checks, whether a preset or ``--option`` set them.
EXTENSIBLE = ("epochs", "note", "options")
#: Preset fields added later (the transformer's optimiser, issue 28), with what every state written
#: before them trained with: SGD under step decay, no warm-up.
BEFORE_PRESET = {"optimizer": "sgd", "schedule": "step", "warmup_epochs": 0}


def capture_rng(batch_rng: np.random.Generator | None = None) -> dict[str, Any]:
    """The state of every generator a training step may draw from, in types ``weights_only`` loads
    (``batch_rng``: a method's batch generator, where the step has one)."""
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": _numpy_global_state(),
        "python": random.getstate(),
    }
    if batch_rng is not None:
        state["batch"] = batch_rng.bit_generator.state
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], batch_rng: np.random.Generator | None = None) -> None:
    """Put every generator back where :func:`capture_rng` found it (the batch generator only when
    given: at an epoch boundary the method reseeds it for the next epoch anyway)."""
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), int(pos), int(has_gauss), float(gauss)))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if batch_rng is not None and "batch" in state:
        batch_rng.bit_generator.state = state["batch"]


def _numpy_global_state() -> tuple:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss)


_FRESH = "start afresh with --restart, which moves the old run folder aside (nothing is deleted)"


def load_training_state(path: Path, map_location: torch.device | str = "cpu") -> dict:
    """Load ``last.pt`` and check it is a whole SkeleBench training state of this version.

    Raises ValueError with the reason and the way out (``--restart`` moves the old state aside).
    """
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for torn, truncated or foreign files
        raise ValueError(f"training state {path} is unreadable ({first_line(err)}); {_FRESH}") from None
    fmt = state.get("format") if isinstance(state, dict) else type(state).__name__
    if fmt != TRAINING_FORMAT:
        raise ValueError(f"training state {path} is not a SkeleBench training state (it holds {fmt!r}); {_FRESH}")
    if state.get("state_version") != STATE_VERSION or "rng" not in state:
        raise ValueError(f"training state {path} was written by an older version without the generators' "
                         f"states, so it cannot be resumed exactly; {_FRESH}")
    return state


def recorded_choices(state: dict) -> dict[str, Any]:
    """The run-long choices (:data:`BEFORE_FIELD`) of a loaded state, so a resume continues with them."""
    meta = state.get("meta") or {}
    return {key: meta.get(key, before) for key, before in BEFORE_FIELD.items()}


def check_training_state(state: dict, path: Path, meta: dict) -> None:
    """Refuse a loaded state that is not of the run described by ``meta`` (another method, seed,
    data, configuration or preset), with the way out."""
    have = state.get("meta") or {}
    if have.get("data_fingerprint") != meta.get("data_fingerprint"):
        raise ValueError(other_data(path.parent, "an unfinished run", have.get("data_fingerprint"),
                                    meta.get("data_fingerprint")))
    for key in IDENTITY:
        if have.get(key, BEFORE_FIELD.get(key)) != meta.get(key):
            raise ValueError(f"training state {path} belongs to another run: its {key} is "
                             f"{_short(have.get(key, BEFORE_FIELD.get(key)))}, this run's is {_short(meta.get(key))}; "
                             f"{_FRESH}, or pass another --out")
    diff = preset_differences(have.get("preset"), meta.get("preset"))
    if diff:
        raise ValueError(f"training state {path} was trained with another preset ({', '.join(diff)} differ); {_FRESH}")


def preset_differences(have: dict | None, want: dict | None) -> list[str]:
    """The recipe fields in which a run's recorded preset (``have``) differs from the asked one, as
    dicts (``asdict`` of a preset, or a ``run.json``'s: both are read as JSON, so tuples and lists
    compare alike); :data:`EXTENSIBLE` fields aside, and fields added later read as what older runs
    trained with (:data:`BEFORE_PRESET`)."""
    def numbers(preset: dict | None) -> dict:
        fields = {**BEFORE_PRESET, **json.loads(json.dumps(preset or {}))}
        return {k: v for k, v in fields.items() if k not in EXTENSIBLE}

    a, b = numbers(have), numbers(want)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def other_data(folder: Path, what: str, have: str | None, want: str | None) -> str:
    """The refusal of a run folder whose run was trained on other data than those given: a finished
    encoder would be evaluated (and recorded as pretrained) on data it never saw, and a resumed
    state would mix two datasets in one run."""
    trained = f"data fingerprint {have[:12]}…" if have else "data it does not record"
    return (f"run folder {folder} holds {what} trained on other data ({trained}; the data given have "
            f"{str(want)[:12]}…): refusing to reuse or continue it; pretrain these data into another --out, or "
            f"start afresh in {folder} with --restart (moves the old run aside)")


def recorded_data(folder: Path) -> str | None:
    """The data fingerprint of the run in ``folder``: its ``run.json``'s when finished, else its
    ``last.pt``'s; None when it holds no readable run."""
    folder = Path(folder)
    try:
        return json.loads((folder / "run.json").read_text()).get("data_fingerprint")
    except (OSError, ValueError, AttributeError):
        pass
    try:
        state = torch.load(folder / "last.pt", map_location="cpu", weights_only=True)
        return (state.get("meta") or {}).get("data_fingerprint")
    except Exception:  # missing, torn or foreign: no run to name
        return None


#: The lock file of a run folder: ``fcntl.flock``-ed while a process writes the run, holding its pid.
LOCK_FILE = ".lock"


def lock_holder(folder: Path) -> str | None:
    """The pid of the process holding ``folder``'s lock (``"?"`` when the file does not say), or
    None when the folder is free. Writes nothing: a lock file left by a killed process is free."""
    try:
        fd = os.open(Path(folder) / LOCK_FILE, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:  # no folder, no lock file
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return None
    except BlockingIOError:
        return os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
    finally:
        os.close(fd)  # (also drops the shared lock just taken)


def in_use(folder: Path, pid: str) -> str:
    return (f"run folder {folder} is in use by another process (pid {pid}, holding {Path(folder) / LOCK_FILE}); "
            "wait for it to finish, or pretrain into another --out")


class RunLock:
    """An exclusive ``fcntl.flock`` on ``folder/.lock`` for as long as a process writes a run there,
    so two processes never train into one folder. The kernel drops it when the process dies (no
    stale lock to clean up); the file holds the pid, for the refusal of the second process."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.fd, self.made_folder = Path(folder), None, False

    def acquire(self, tries: int = 5) -> None:
        """Take the lock, or raise ValueError naming the holder's pid. Creates the folder."""
        if not self.folder.exists():
            self.folder.mkdir(parents=True)
            self.made_folder = True
        path = self.folder / LOCK_FILE
        for attempt in range(tries):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # held (or probed by lock_holder this instant: try again briefly)
                pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                if attempt == tries - 1:
                    raise ValueError(in_use(self.folder, pid)) from None
                time.sleep(0.05)
                continue
            if self._current(fd):  # not a file its last holder unlinked after we opened it
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
                self.fd = fd
                return
            os.close(fd)
        raise ValueError(in_use(self.folder, "?"))

    def _current(self, fd: int) -> bool:
        try:
            return os.stat(self.folder / LOCK_FILE).st_ino == os.fstat(fd).st_ino
        except OSError:
            return False

    def release(self) -> None:
        """Remove the lock file (only while it is still ours) and drop the lock; a folder this lock
        created and nothing else filled is removed too, so a refused run leaves nothing behind."""
        if self.fd is None:
            return
        if self._current(self.fd):
            (self.folder / LOCK_FILE).unlink(missing_ok=True)
        os.close(self.fd)
        self.fd = None
        if self.made_folder:
            try:
                self.folder.rmdir()
            except OSError:  # the run wrote into it
                pass


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def move_aside(folder: Path) -> Path | None:
    """Rename a run folder to ``<name>.old-<UTC time>`` (``--restart``); returns the new path."""
    folder = Path(folder)
    if not folder.exists():
        return None
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder.with_name(f"{folder.name}.old-{stamp}")
    folder.rename(target)
    return target
