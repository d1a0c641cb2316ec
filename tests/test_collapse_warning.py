"""The warning a finished pretraining prints when its held-out monitor and its loss both say the
encoder did not learn (hand-made histories; the real curves it was drawn from are in the NW-UCLA
records' ``pretraining_curve``)."""

from __future__ import annotations

from methods.train.monitor import collapse_warning


def history(monitor: dict[int, float], losses: list[float]) -> list[dict]:
    return [{"epoch": e, "loss": loss, **({"knn_top1": monitor[e]} if e in monitor else {})}
            for e, loss in enumerate(losses, 1)]


def test_a_collapsed_run_is_named_with_its_numbers() -> None:
    # AimCLR seed 1 on NW-UCLA: monitor 40.67 -> 40.19, loss 9.30 -> 13.23
    warning = collapse_warning(history({5: 40.67, 10: 43.54, 15: 40.19}, [9.30] + [11.0] * 13 + [13.23]))
    assert warning is not None
    assert "40.7 at epoch 5, 40.2 at epoch 15" in warning and "9.30 to 13.23" in warning
    assert "--checkpoint random" in warning


def test_runs_that_learned_are_left_alone() -> None:
    # the monitor rose (SkeletonCLR seed 0: 26.8 -> 47.4, even with a loss that ends higher)
    assert collapse_warning(history({5: 26.79, 10: 47.37}, [4.24] + [4.0] * 8 + [4.3])) is None
    # the loss fell while the monitor stayed flat (the synthetic data's KNN monitor)
    assert collapse_warning(history({1: 23.0, 2: 22.9}, [5.0, 4.8])) is None
    # exactly MONITOR_RISE points up counts as a rise
    assert collapse_warning(history({1: 30.0, 2: 32.0}, [5.0, 7.0])) is None
    # a flat, noisy monitor with a loss a little up (AimCLR seed 2: 45.45 -> 43.54, loss 9.33 -> 10.57)
    assert collapse_warning(history({5: 45.45, 10: 43.54}, [9.33] + [10.0] * 8 + [10.57])) is None
    # the same loss 26 % up is the signature
    assert collapse_warning(history({5: 45.45, 10: 43.54}, [9.33] + [10.0] * 8 + [11.76])) is not None


def test_an_unmonitored_or_one_point_run_says_nothing() -> None:
    assert collapse_warning(history({}, [5.0, 9.0])) is None
    assert collapse_warning(history({2: 30.0}, [5.0, 9.0])) is None
    assert collapse_warning([]) is None
