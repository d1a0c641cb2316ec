"""``python -m leaderboard table``: the plan a user is shown, what counts as done, the resume of an
interrupted pretraining, and how a failed step ends."""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from datasets.integrity import fingerprint
from leaderboard import table
from leaderboard.table import Step, clock, execute, frames_root, plan, prepared
from results import write_record


def argvs(steps: list[Step]) -> list[tuple[str, ...]]:
    return [s.argv for s in steps]


def test_the_plan_prepares_measures_floor_and_ceiling_then_every_seed_then_rebuilds(tmp_path: Path) -> None:
    steps = plan("nwucla", tmp_path / "dl", tmp_path / "data", ["skeletonclr", "skelemixclr"], (0, 1), (0, 1, 2),
                 True, tmp_path / "rec")
    labels = [s.label for s in steps]
    assert labels[:2] == ["prepare nwucla-xview at 50 frames", "prepare nwucla-xview at 64 frames"]
    assert steps[1].argv[-3:] == ("--out", str(tmp_path / "data" / "frames64"), "--frames", "64")[-3:]
    floor = [s for s in steps if s.label.startswith("untrained")]
    # one floor per untrained network: ST-GCN at 50 frames, SkeleMixCLR's 2s-AGCN at 64
    assert len(floor) == 18 and all(("--checkpoint", "random") == s.argv[7:9] for s in floor)
    assert [s.argv[2] for s in floor[::9]] == ["skeletonclr", "skelemixclr"]
    assert table.floor_methods(["skeletonclr", "aimclr", "crossclr"]) == ["skeletonclr"]
    assert [s.argv[0] for s in floor[:3]] == ["protocols.linear", "protocols.linear", "protocols.knn"]
    assert floor[1].argv[-2:] == ("--probe", "standardised")
    sup = next(s for s in steps if s.label.startswith("supervised"))
    assert sup.argv[0] == "protocols.finetune" and "--batch-size" in sup.argv
    pre = [s for s in steps if s.argv[0] == "methods.pretrain"]
    assert [s.label.split(" (")[0] for s in pre] == ["pretrain skeletonclr seed 0", "pretrain skelemixclr seed 0",
                                                    "pretrain skeletonclr seed 1", "pretrain skelemixclr seed 1"]
    mix = pre[1].argv
    assert mix[mix.index("--data-root") + 1] == str(tmp_path / "data" / "frames64")  # SkeleMixCLR reads 64 frames
    # the evaluations name no checkpoint: the default command finds the pretrained run in the cache
    evals = [s for s in steps if s.label.startswith("skeletonclr seed 0")]
    assert len(evals) == 3 and not any("--checkpoint" in s.argv for s in evals)
    assert all(s.argv[-2:] == ("--results-dir", str(tmp_path / "rec")) or "--probe" in s.argv for s in evals)
    assert labels[-1] == "rebuild the leaderboard"
    assert steps[-1].argv == ("leaderboard", "--records", str(tmp_path / "rec"), "--out", str(tmp_path / "rec" /
                                                                                               "leaderboard"))
    assert all(s.estimate_s > 0 for s in steps)
    # a slower method is estimated slower, in proportion to the measured step rates
    assert pre[1].estimate_s / pre[0].estimate_s == pytest.approx(table.EPOCH_S["skelemixclr"] /
                                                                  table.EPOCH_S["skeletonclr"])


def test_the_plan_on_another_encoder_runs_every_step_on_it(tmp_path: Path) -> None:
    steps = plan("nwucla", tmp_path / "dl", tmp_path / "data", ["skeletonclr", "aimclr", "skelemixclr"], (0,), (0,),
                 True, tmp_path / "rec", encoder="transformer")
    runs = [s for s in steps if not s.argv[0].startswith(("datasets", "leaderboard"))]
    assert runs and all(s.argv[s.argv.index("--encoder") + 1] == "transformer" for s in runs)
    # the transformer is the same network for every method: one floor per frame count (50, and 64 for SkeleMixCLR)
    assert table.floor_methods(["skeletonclr", "aimclr", "skelemixclr"], "transformer") == ["skeletonclr",
                                                                                           "skelemixclr"]
    floor = [s.label for s in steps if s.label.startswith("untrained")]
    assert floor[0] == "untrained Transformer, init seed 0: official"
    assert floor[3] == "untrained Transformer at 64 frames, init seed 0: official"
    assert any(s.label == "supervised Transformer from random init" for s in steps)


def test_a_step_is_done_when_its_record_or_its_data_is_there(tmp_path: Path) -> None:
    steps = plan("nwucla", tmp_path / "dl", tmp_path / "data", ["skeletonclr"], (0,), (0,), False, tmp_path / "rec")
    assert not any(s.done() for s in steps)  # nothing prepared yet: no step is done, and asking raises nothing
    # a prepared benchmark at the right frame count, and a record made by a step's very command
    (tmp_path / "data" / "nwucla-xview").mkdir(parents=True)
    manifest = {"frames": 50, "sha256": {"train_data.npy": "0" * 64}}
    (tmp_path / "data" / "nwucla-xview" / "manifest.json").write_text(json.dumps(manifest))
    assert prepared(tmp_path / "data", "nwucla-xview", 50) and not prepared(tmp_path / "data", "nwucla-xview", 64)
    with pytest.raises(ValueError, match=r"nwucla-xview was prepared with --normalise frame, not clip; give another "
                                         r"--data-root or remove that folder"):
        prepared(tmp_path / "data", "nwucla-xview", 50, "clip")
    knn = steps[3]
    assert knn.argv[0] == "protocols.knn"
    shipped = sorted((Path(__file__).parents[1] / "results" / "records").glob("*-finetune-nwucla-xview-joint.json"))
    record = {k: v for k, v in json.loads(shipped[0].read_text()).items() if k not in ("logits",)}
    record["command"] = knn.command  # as the protocol writes it: its paths then named by place (<data-root>)
    record["data"] = {**record["data"], "root": str(tmp_path / "data" / "nwucla-xview")}
    write_record(record, tmp_path / "rec")
    again = plan("nwucla", tmp_path / "dl", tmp_path / "data", ["skeletonclr"], (0,), (0,), False, tmp_path / "rec")
    assert not again[3].done()  # the same command on other data (the shipped record's real NW-UCLA) is not this step
    record["data"]["identity"] = fingerprint(manifest)
    write_record(record, tmp_path / "rec")
    again = plan("nwucla", tmp_path / "dl", tmp_path / "data", ["skeletonclr"], (0,), (0,), False, tmp_path / "rec")
    assert again[0].done() and again[3].done() and not again[1].done() and not again[2].done()
    # --normalise clip prepares with the flag, and will not take the folder prepared the other way for done
    clip = plan("nwucla", tmp_path / "dl", tmp_path / "data", ["skeletonclr"], (0,), (0,), False, tmp_path / "rec",
                normalise="clip")
    assert clip[0].argv[-2:] == ("--normalise", "clip") and "--normalise" not in again[0].argv
    with pytest.raises(ValueError, match="prepared with --normalise frame, not clip"):
        clip[0].done()


def test_a_record_counts_for_a_step_only_when_trained_with_the_recipes_own_options() -> None:
    # CrosSCLR's cpu recipe turned its official quirks off: an older record of the same command is of
    # the official head, another encoder, and its step must run again
    assert table.of_the_recipe({"method": "crossclr", "preset": "cpu",
                                "variant": {"shared_head": False, "stale_keys": False}})
    assert not table.of_the_recipe({"method": "crossclr", "preset": "cpu", "variant": {}})
    assert not table.of_the_recipe({"method": "crossclr", "preset": "cpu", "variant": {"shared_head": False}})
    assert table.of_the_recipe({"method": "crossclr", "preset": "quick", "variant": {}})
    assert table.of_the_recipe({"method": "skelemixclr", "preset": "cpu", "variant": {"temperature": 0.07}})
    assert table.of_the_recipe({"method": "skeletonclr", "preset": None, "variant": None})  # an untrained encoder


def test_frames_root_keeps_50_frames_at_the_data_root() -> None:
    assert frames_root(Path("D"), 50) == Path("D") and frames_root(Path("D"), 64) == Path("D/frames64")
    assert clock(3725.4) == "1:02:05"


def test_execute_skips_done_steps_runs_the_rest_and_logs_an_eta(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'a').write('x'); print('last line')"
    steps = [Step("already done", ("no.such.module",), 5.0, lambda: True),
             Step("writes a marker", ("runpy_probe",), 10.0, lambda: False),
             Step("writes it again", ("runpy_probe",), 10.0, lambda: False)]
    lines: list[str] = []
    probe = tmp_path / "runpy_probe.py"
    probe.write_text(code)
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("PYTHONPATH", str(tmp_path))
            execute(steps, lines.append)
    finally:
        sys.path.remove(str(tmp_path))
    assert marker.read_text() == "xx"  # the done step did not run (its module does not exist)
    assert lines[0].startswith("1 of 3 steps already done; 2 to run")
    assert any("done in" in line and "last line" in line and "ETA" in line for line in lines)


def test_the_eta_scales_each_kind_of_step_by_its_own_measured_ratio() -> None:
    pre = Step("p", ("methods.pretrain",), 100.0, lambda: False)
    ev = Step("e", ("protocols.knn",), 10.0, lambda: False)
    other = Step("o", ("leaderboard",), 30.0, lambda: False)
    # evaluations ran 4x faster than estimated, no pretraining has run yet: only evaluations are rescaled
    assert table.eta([pre, ev, ev, other], {"eval": 5.0}, {"eval": 20.0}) == pytest.approx(100 + 2.5 + 2.5 + 30)
    assert table.eta([pre], {"pretrain": 150.0}, {"pretrain": 100.0}) == pytest.approx(150)


def test_a_failed_step_names_itself_and_says_how_to_go_on(tmp_path: Path) -> None:
    steps = [Step("a step that fails", ("no.such.module.anywhere",), 1.0, lambda: False)]
    with pytest.raises(RuntimeError, match=r"step 1 \(a step that fails\) failed .* run the same table command again"):
        execute(steps, lambda line: None)


def test_the_cli_prints_the_plan_and_refuses_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "dl").mkdir()
    assert table.main(["nwucla", "--input", str(tmp_path / "dl"), "--data-root", str(tmp_path / "data"),
                       "--methods", "skeletonclr", "--seeds", "0", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "pretrain skeletonclr seed 0" in out and "left of" in out and "estimated on 2 CPU cores" in out
    assert table.main(["nwucla", "--input", str(tmp_path / "nothing"), "--data-root", str(tmp_path / "d")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert table.main(["nwucla", "--input", str(tmp_path / "dl"), "--data-root", str(tmp_path / "d"),
                       "--methods", "simclr"]) == 2
    assert "unknown method simclr" in capsys.readouterr().err


def test_the_plan_marks_finished_steps_and_counts_only_what_is_left(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    steps = [Step("already made", ("x",), 600.0, lambda: True), Step("still to run", ("y",), 90.0, lambda: False)]
    monkeypatch.setattr(table, "plan", lambda *args, **kwargs: steps)
    (tmp_path / "dl").mkdir()
    assert table.main(["nwucla", "--input", str(tmp_path / "dl"), "--data-root", str(tmp_path / "d"), "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["1.", "done", "already", "made"]
    assert out[1].split() == ["2.", "0:01:30", "still", "to", "run"]
    assert out[2].split()[:5] == ["0:01:30", "left", "of", "2", "steps"]


def test_the_leaderboard_cli_dispatches_table(capsys: pytest.CaptureFixture) -> None:
    from leaderboard.build import main

    with pytest.raises(SystemExit):
        main(["table", "--help"])
    assert "python -m leaderboard table" in capsys.readouterr().out
    assert shlex.split(Step("x", ("protocols.knn", "--seed", "0"), 1.0, lambda: False).command) == [
        "python", "-m", "protocols.knn", "--seed", "0"]


def test_a_pretraining_steps_collapse_warning_is_read_from_its_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table, "run_folder", lambda method, benchmark, root, seed, encoder=None: tmp_path / f"{method}-s{seed}")
    (tmp_path / "aimclr-s1").mkdir()
    (tmp_path / "aimclr-s1" / "run.json").write_text('{"warning": "the held-out KNN monitor did not rise"}')
    pre = Step("pretrain", ("methods.pretrain", "--method", "aimclr", "--dataset", "nwucla-xview", "--data-root", "d",
                            "--seed", "1"), 1.0, lambda: False)
    assert table.run_warning(pre) == "the held-out KNN monitor did not rise"
    assert table.run_warning(replace(pre, argv=(*pre.argv[:-1], "0"))) is None  # no run.json there
    assert table.run_warning(Step("eval", ("protocols.knn",), 1.0, lambda: False)) is None


def test_the_tables_ceiling_is_the_shipped_ceilings_command(tmp_path):
    """The supervised step runs the recipe chosen on a held-out training view (docs/nwucla.md: batch
    16, the random camera, 120 epochs), so on clip-normalised arrays it makes again the shipped
    NW-UCLA ceiling record, rather than the shorter recipe that record replaced."""
    steps = plan("nwucla", tmp_path / "dl", tmp_path / "data", ["skeletonclr"], (0,), (0,), True, None,
                 normalise="clip")
    sup = next(s for s in steps if s.label.startswith("supervised"))
    shipped = {r["command"]: r for r in (json.loads(p.read_text()) for p in
               (Path(__file__).parents[1] / "results" / "records").glob("*-finetune-nwucla-xview-joint.json"))}
    ceiling = shipped.get(table.recorded_as(sup.argv, tmp_path / "data"))
    assert ceiling is not None, f"no shipped record of {sup.command}"
    assert ceiling["data"]["normalisation"] == "clip" and ceiling["protocol_config"]["augment"] == "rotate"
    assert ceiling["wall_s"] == pytest.approx(table.SUPERVISED_S, rel=0.1)  # the estimate is that run's time
