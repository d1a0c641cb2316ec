"""The pretraining trainer: what every method's pretext task shares, in small parts.

* :mod:`.config` — one typed, validated :class:`TrainConfig` of a run and the recipe it resolves
  to (preset, method options);
* :mod:`.folder` — the run folder: its name, reuse, refusal, restart, disk room, exported encoders;
* :mod:`.monitor` — what the user sees while it runs: the held-out KNN monitor, the collapse
  warning, the run's log file;
* :mod:`.loop` — the epoch and step loop with its state save and bit-identical resume, data-parallel
  under ``torchrun``.

A method file holds only its model and loss (:class:`methods.base.MoCoMethod`);
``python -m methods.pretrain`` is a thin command line over :func:`train`.
"""

from methods.train.config import TrainConfig
from methods.train.loop import train

__all__ = ["TrainConfig", "train"]
