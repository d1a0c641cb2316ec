"""The trainer's one typed config: a run that cannot be right is refused when it is built, from
Python as from the command line, before any data are loaded."""

from __future__ import annotations

import pytest

from methods.train import TrainConfig
from methods.train.config import MONITOR_EVERY


@pytest.mark.parametrize("fields, message", [
    ({"stream": "velocity"}, "unknown stream 'velocity'"),
    ({"precision": "fp16"}, "unknown precision 'fp16'"),
    ({"augment": "gpu"}, "unknown --augment 'gpu'"),
    ({"dropout_masks": "dice"}, "unknown dropout masks 'dice'"),
    ({"save_every": -1}, "must not be negative"),
    ({"epochs": 0}, "--epochs must be at least 1"),
])
def test_a_config_that_cannot_be_right_is_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig("skeletonclr", **fields)


def test_an_unknown_method_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown method 'simclr'; available: .*skeletonclr"):
        TrainConfig("simclr")


def test_an_out_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / "run"
    path.write_text("")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        TrainConfig("skeletonclr", out=path)


def test_the_recipe_and_the_monitor_follow_the_dataset():
    assert TrainConfig("skeletonclr").recipe().name == "quick"
    assert TrainConfig("skeletonclr", dataset="nwucla-xview").recipe().name == "cpu"
    assert TrainConfig("skeletonclr", dataset="ntu60-xsub", epochs=3).recipe().epochs == 3
    assert TrainConfig("skeletonclr").monitor_every() == 1
    assert TrainConfig("skeletonclr", dataset="nwucla-xview").monitor_every() == MONITOR_EVERY
    assert TrainConfig("skeletonclr", dataset="ntu60-xsub").monitor_every() == 0
    assert TrainConfig("skeletonclr", dataset="ntu60-xsub", knn_every=2).monitor_every() == 2


def test_a_config_is_frozen_and_keeps_its_own_options():
    options = {"normalise_blur": True}
    config = TrainConfig("aimclr", options=options)
    options["normalise_blur"] = False
    assert config.options == {"normalise_blur": True}
    with pytest.raises(AttributeError):
        config.seed = 1


def test_a_state_whose_preset_carried_a_note_still_resumes(tmp_path):
    """Presets are their numbers: states written when a preset also carried prose (``note``) are
    the same recipe and resume; a number that differs is still refused."""
    from dataclasses import asdict

    from methods.presets import quick_preset
    from methods.training_state import check_training_state

    meta = {"method": "skeletonclr", "data_fingerprint": "f" * 64, "dropout_masks": "bits", "augment": "loader",
            "preset": asdict(quick_preset())}
    old = {"meta": {**meta, "preset": {**meta["preset"], "note": "small-data recipe shared by the four methods"}}}
    check_training_state(old, tmp_path / "last.pt", meta)
    other = {"meta": {**meta, "preset": {**meta["preset"], "lr": 0.1}}}
    with pytest.raises(ValueError, match=r"another preset \(lr differ\)"):
        check_training_state(other, tmp_path / "last.pt", meta)


def test_a_state_from_before_recipes_set_options_still_resumes(tmp_path):
    """A recipe's method options live in the run's config (``extra``), which the identity check
    compares; the preset's copy of them is not compared again, so a state written before presets
    carried options (CrosSCLR's ``--option`` run that became its ``cpu`` recipe) resumes."""
    from dataclasses import asdict

    from methods import get_method
    from methods.training_state import check_training_state

    cpu = get_method("crossclr").presets["cpu"]
    before = {k: v for k, v in asdict(cpu).items() if k != "options"}
    meta = {"method": "crossclr", "data_fingerprint": "f" * 64, "dropout_masks": "bits", "augment": "loader",
            "config": {"extra": {"shared_head": False}}, "preset": asdict(cpu)}
    check_training_state({"meta": {**meta, "preset": before}}, tmp_path / "last.pt", meta)
    with pytest.raises(ValueError, match="its config is"):
        check_training_state({"meta": {**meta, "config": {"extra": {"shared_head": True}}}}, tmp_path / "last.pt", meta)


def test_a_finished_run_of_other_recipe_numbers_is_not_reused(tmp_path):
    """A run folder is named by its preset's name and epochs, not its numbers: a finished run made
    before a recipe changed (AimCLR's ``cpu`` at another LR, say) is refused rather than evaluated
    as the new recipe's; the same numbers, read back from ``run.json`` as lists, are reused."""
    import json
    from dataclasses import asdict, replace

    from methods.presets import quick_preset
    from methods.train.folder import check_run_folder

    quick = quick_preset(mining=True)
    final = tmp_path / "encoder.pt"
    final.write_bytes(b"")
    run = {"epochs": quick.epochs, "config": {"encoder": "stgcn"}, "preset": asdict(replace(quick, lr=0.003))}
    (tmp_path / "run.json").write_text(json.dumps(run))
    with pytest.raises(ValueError, match=r"other recipe numbers than the quick preset's now \(lr differ\).*--restart"):
        check_run_folder(tmp_path, final, quick, False)
    (tmp_path / "run.json").write_text(json.dumps({**run, "preset": asdict(quick)}))
    assert check_run_folder(tmp_path, final, quick, False)
    (tmp_path / "run.json").write_text(json.dumps({k: v for k, v in run.items() if k != "preset"}))
    assert check_run_folder(tmp_path, final, quick, False)  # a run that does not say
