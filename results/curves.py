"""A record's ``pretraining_curve``: the held-out KNN monitor's points of the pretraining run that
made the evaluated encoder, as a pure function of that run's history (``run.json``), so both the
protocols that write records and the leaderboard that draws them read it from the records layer."""

from __future__ import annotations

import math

#: What a record's ``pretraining_curve`` measured (``methods.train.monitor.knn_monitor``).
MONITOR_METRIC = "KNN monitor 1-NN top-1 (%) on held-out training performers"


def monitor_curve(history: list, last_epoch: int | None = None) -> dict | None:
    """The online KNN monitor's points in a pretraining ``history`` (``run.json``), up to
    ``last_epoch`` (a snapshot's: later points measured weights this encoder never had), as the
    record keeps them: ``{"metric", "every", "epochs", "top1"}``. ``every`` is the monitor's period
    in epochs when the points are every N-th epoch from N, else None (a run resumed with another
    period). None without a point: a plot may draw only what was measured."""
    points = [(h["epoch"], float(h["knn_top1"])) for h in history if isinstance(h, dict)
              and isinstance(h.get("epoch"), int) and isinstance(h.get("knn_top1"), (int, float))
              and math.isfinite(h["knn_top1"]) and (last_epoch is None or h["epoch"] <= last_epoch)]
    if not points:
        return None
    epochs = [e for e, _ in points]
    every = epochs[0] if epochs[0] > 0 and epochs == [epochs[0] * (i + 1) for i in range(len(epochs))] else None
    return {"metric": MONITOR_METRIC, "every": every, "epochs": epochs, "top1": [round(t, 4) for _, t in points]}
