"""A pretraining run's options, typed and checked once, and the recipe they resolve to."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from datasets.benchmarks import CPU_SIZED, DEFAULT_DATASET, SYNTHETIC
from datasets.skeleton import STREAMS
from methods import get_method
from methods.base import MoCoMethod, Preset
from methods.encoders import encoder_class
from methods.encoders.dropout import MASKS
from methods.presets import for_encoder

#: Where the augmented views are drawn (:mod:`datasets.augment_batch`).
AUGMENT = ("loader", "device")
#: Numerics of a pretraining step: fp32, or the encoders under bf16 autocast (losses in fp32).
PRECISIONS = ("fp32", "bf16")
#: Epochs between two online KNN monitors on the small real benchmarks (their held-out curves).
MONITOR_EVERY = 5


@dataclass(frozen=True)
class TrainConfig:
    """Everything one pretraining run is asked to do; refused at construction when it cannot be
    right, so a mistyped option fails before the data are loaded, from Python as from the shell.

    ``resume`` from code (the protocols) means "continue if interrupted"; ``require_run`` (the
    user's ``--resume``) refuses a folder with nothing to continue. ``max_steps`` caps the steps
    per epoch (tests only). ``knn_every`` None: every epoch on the embedded data, every
    :data:`MONITOR_EVERY` on the small real benchmarks, off elsewhere (:meth:`monitor_every`).
    ``dropout_masks`` and ``augment`` None: a new run's default, a resumed run's own.
    """

    method: str
    dataset: str = DEFAULT_DATASET
    preset: str | None = None
    epochs: int | None = None
    out: Path | None = None
    resume: bool = False
    seed: int = 0
    data_root: Path | None = None
    stream: str = "joint"
    device: torch.device | None = None
    snapshot_every: int = 0
    workers: int | None = None
    max_steps: int | None = None
    options: dict = field(default_factory=dict)
    save_every: int = 0
    restart: bool = False
    knn_every: int | None = None
    sync_bn: bool = False
    precision: str = "fp32"
    recompute: bool = False
    dropout_masks: str | None = None
    augment: str | None = None
    compile_encoders: bool = False
    require_run: bool = False
    #: A registered encoder in place of the method's own (``--encoder``; None: the method's, ST-GCN).
    encoder: str | None = None

    def __post_init__(self) -> None:
        method_cls = get_method(self.method)  # an unknown method: its ValueError names the known ones
        if self.stream not in STREAMS:
            raise ValueError(f"unknown stream {self.stream!r}; choose one of {', '.join(STREAMS)}")
        if method_cls.streams and self.stream not in method_cls.streams:
            raise ValueError(f"method {method_cls.name} trains the streams {', '.join(method_cls.streams)}, "
                             f"not {self.stream!r}")
        for value, allowed, what in ((self.dropout_masks, MASKS, "dropout masks"), (self.augment, AUGMENT, "--augment"),
                                     (self.precision, PRECISIONS, "precision")):
            if value is not None and value not in allowed:
                raise ValueError(f"unknown {what} {value!r}; choose {', '.join(allowed)}")
        if self.save_every < 0 or self.snapshot_every < 0 or (self.workers or 0) < 0:
            raise ValueError("--save-every, --snapshot-every and --workers must not be negative")
        if self.encoder is not None:
            encoder_class(self.encoder)  # an unknown encoder: its ValueError names the registered ones
            if self.encoder == method_cls.default_config.encoder:  # asked for by name: the same run, the same folder
                object.__setattr__(self, "encoder", None)
        self.recipe()  # an unknown preset or fewer than one epoch, refused by the one check of both
        if self.out is not None and Path(self.out).exists() and not Path(self.out).is_dir():
            raise ValueError(f"--out {self.out} is a file, not a folder; pass a run folder (it is created when missing)")
        object.__setattr__(self, "options", dict(self.options or {}))

    @property
    def method_cls(self) -> type[MoCoMethod]:
        return get_method(self.method)

    @property
    def own_stream(self) -> str:
        """The stream the run is named and checked by: a multi-stream method's first, else the asked one."""
        streams = self.method_cls.streams
        return streams[0] if streams else self.stream

    @property
    def encoder_name(self) -> str:
        """The encoder the run trains: ``encoder``, else the method's own."""
        return self.encoder or self.method_cls.default_config.encoder

    def recipe(self) -> Preset:
        """The preset the run trains with: the asked one (or the dataset's default), ``epochs`` applied,
        as the encoder trains it."""
        return resolve_preset(self.method_cls, self.preset or default_preset(self.dataset), self.epochs,
                              self.encoder_name)

    def monitor_every(self) -> int:
        """Epochs between two KNN monitors (0: off)."""
        if self.knn_every is not None:
            return self.knn_every
        return 1 if self.dataset in SYNTHETIC else MONITOR_EVERY if self.dataset in CPU_SIZED else 0


def default_preset(dataset: str) -> str:
    """``quick`` on the embedded data and ``cpu`` on the small real benchmarks, where a paper
    schedule cannot finish on a CPU; ``paper`` elsewhere."""
    if dataset in SYNTHETIC:
        return "quick"
    return "cpu" if dataset in CPU_SIZED else "paper"


def resolve_preset(method_cls: type[MoCoMethod], preset: str, epochs: int | None, encoder: str | None = None) -> Preset:
    """A method's preset by name, with ``epochs`` in place of its own when given, as ``encoder``
    (default: the method's own) trains it (:func:`methods.presets.for_encoder`)."""
    try:
        p = method_cls.presets[preset]
    except KeyError:
        raise ValueError(f"method {method_cls.name} has no preset {preset!r}; choose {', '.join(method_cls.presets)}") from None
    if epochs is not None:
        if epochs < 1:
            raise ValueError(f"--epochs must be at least 1, got {epochs}")
        p = replace(p, epochs=epochs)
    return for_encoder(p, encoder or method_cls.default_config.encoder)


def parse_options(pairs: list[str] | None) -> dict:
    """``["normalise_blur=true", "mixes=1"]`` → ``{"normalise_blur": True, "mixes": 1}``: method options
    (``MethodConfig.extra``) from the command line; values are JSON where they parse, else strings."""
    options = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option takes KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def option_kind(value: object) -> str:
    """What kind of value a method option is, as an error names it: a bool is not a number, an int
    and a float are both numbers, a tuple is a list."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    return "a list" if isinstance(value, (list, tuple)) else f"a {type(value).__name__}"


def method_config_overrides(method_cls: type[MoCoMethod], stream: str, options: dict | None,
                            encoder: str | None = None) -> dict:
    """Config overrides for a run: the stream, the encoder when given, and ``options`` merged into
    the method's defaults; an option the method does not have is refused (a typo must not train
    the default silently)."""
    overrides: dict = {"stream": stream, **({"encoder": encoder} if encoder else {})}
    if options:
        defaults = method_cls.default_config.extra
        unknown = sorted(set(options) - set(defaults))
        if unknown:
            known = ", ".join(defaults) or "none"
            raise ValueError(f"method {method_cls.name} has no option {', '.join(unknown)}; its options: {known}")
        # a value whose default is a string stays one (AimCLR's chain "123456" must not become an int)
        typed = {k: str(v) if isinstance(defaults[k], str) else v for k, v in options.items()}
        for key, value in typed.items():
            want = option_kind(defaults[key])
            if option_kind(value) != want:
                raise ValueError(f"method {method_cls.name}'s option {key} takes {want} (default "
                                 f"{json.dumps(defaults[key])}), got {value!r}; values are JSON: true/false, "
                                 "numbers (Infinity for ∞), [lists]")
            if type(defaults[key]) is int and isinstance(value, float) and not value.is_integer():
                raise ValueError(f"method {method_cls.name}'s option {key} takes a whole number, got {value!r}")
        overrides["extra"] = {**defaults, **typed}
    return overrides
