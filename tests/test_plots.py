"""The leaderboard's figures say what they show: the pretraining run's held-out KNN monitor
travels into the record (and a broken one is refused), the curve plot draws only measured
points and says how often they were measured, robustness states n, the reproduced-vs-reported
scatter renders from a checks frame, a real benchmark's probes figure carries its references,
and every PNG is byte-identical for the same input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from leaderboard import plots
from leaderboard.frame import records_frame
from methods import get_method
from methods.base import build_backbone
from methods.checkpoint import atomic_save, encoder_checkpoint
from protocols import knn
from protocols.common import run_curve
from results import record_problems, write_record
from results.curves import MONITOR_METRIC, monitor_curve

PNG = b"\x89PNG\r\n\x1a\n"
#: A 10-epoch run monitored every 5 epochs, as methods.pretrain writes its history.
HISTORY = [{"epoch": e, "loss": 5.0 - e / 10, "lr": 0.1, **({"knn_top1": 20.0 + e, "knn20_top1": 21.0} if e % 5 == 0
                                                              else {})} for e in range(1, 11)]
CURVE = {"metric": MONITOR_METRIC, "every": 5, "epochs": [5, 10], "top1": [25.0, 30.0]}


def record(**over) -> dict:
    r = {"method": "skeletonclr", "dataset": "nwucla-xview", "split": "xview", "stream": "joint", "protocol": "linear",
         "preset": "cpu", "epochs": 10, "seed": 0, "pretrain_seed": 0, "frames": 50, "preprocessing": "official",
         "metrics": {"top1": 70.0, "top5": 95.0}, "commit": "abc", "wall_s": 1.0, "device": "cpu", "synthetic": False,
         "checkpoint": {"source": "pretrained", "path": "<cache>/runs/a/encoder.pt", "sha256": "s"},
         "data": {"fingerprint": "f" * 64}, "created": "2026-12-06T10:00:00Z", "bn_statistics": "training",
         "protocol_config": {"probe": "official"}, "_path": "/x/a.json"}
    r.update(over)
    return r


# --------------------------------------------------------------------------- the record field
def test_the_monitor_curve_is_the_measured_epochs_of_the_history():
    assert monitor_curve(HISTORY) == CURVE
    assert monitor_curve(HISTORY, last_epoch=7) == {**CURVE, "epochs": [5], "top1": [25.0]}  # a snapshot at epoch 7
    assert monitor_curve(HISTORY[:4]) is None  # no monitor point yet: no curve
    every_epoch = [{"epoch": e, "knn_top1": 10.0 * e} for e in (1, 2, 3)]
    assert monitor_curve(every_epoch)["every"] == 1
    irregular = [{"epoch": e, "knn_top1": 10.0} for e in (2, 5)]  # resumed with another period
    assert monitor_curve(irregular)["every"] is None
    assert monitor_curve([{"epoch": 5, "knn_top1": math.nan}]) is None  # never a point the record would refuse


def test_run_curve_reads_the_run_json_beside_the_checkpoint_of_the_same_run(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"method": "skeletonclr", "seed": 0, "history": HISTORY}))
    assert run_curve(tmp_path / "encoder.pt", {"method": "skeletonclr", "seed": 0}) == CURVE
    assert run_curve(tmp_path / "encoder.pt", {"method": "skeletonclr", "seed": 1}) is None  # another run's file
    assert run_curve(tmp_path / "elsewhere" / "encoder.pt", {}) is None


def epoch_10_encoder(tmp_path: Path, run_json: dict) -> Path:
    """An untrained SkeletonCLR encoder saved as epoch 10 of a run folder whose run.json is ``run_json``."""
    run = tmp_path / "run"
    run.mkdir()
    config = get_method("skeletonclr").default_config
    meta = {"stream": "joint", "method": "skeletonclr", "seed": 0, "epoch": 10}
    (run / "run.json").write_text(json.dumps(run_json))
    return atomic_save(encoder_checkpoint(build_backbone(config), "stgcn", config.encoder_kwargs(), meta),
                       run / "encoder.pt")


def test_a_protocol_record_carries_the_pretraining_runs_monitor_curve(tiny_root, tmp_path, capsys):
    """Hand-checkable: a checkpoint whose run folder's run.json monitored epochs 5 and 10 at 25
    and 30 gives a KNN record whose ``pretraining_curve`` is exactly those points."""
    path = epoch_10_encoder(tmp_path, {"method": "skeletonclr", "seed": 0, "history": HISTORY})
    code = knn.main(["--method", "skeletonclr", "--checkpoint", str(path), "--data-root", str(tiny_root),
                     "--results-dir", str(tmp_path / "records"), "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    rec = json.loads(out[-1])
    assert rec["pretraining_curve"] == CURVE
    written = json.loads(next((tmp_path / "records").glob("*.json")).read_text())
    assert written["pretraining_curve"] == CURVE


def test_run_warning_is_the_final_encoders_only(tmp_path):
    from protocols.common import run_warning

    run = {"method": "skeletonclr", "seed": 0, "epochs": 10, "history": HISTORY, "warning": "may have collapsed"}
    (tmp_path / "run.json").write_text(json.dumps(run))
    assert run_warning(tmp_path / "encoder.pt", {"method": "skeletonclr", "seed": 0, "epoch": 10}) == "may have collapsed"
    assert run_warning(tmp_path / "encoder.pt", {"method": "skeletonclr", "seed": 0, "epoch": 5}) is None  # a snapshot
    assert run_warning(tmp_path / "encoder.pt", {"method": "skeletonclr", "seed": 1, "epoch": 10}) is None
    (tmp_path / "run.json").write_text(json.dumps({**run, "warning": None}))
    assert run_warning(tmp_path / "encoder.pt", {"method": "skeletonclr", "seed": 0, "epoch": 10}) is None


def test_an_evaluation_of_an_encoder_whose_pretraining_warned_says_so_and_keeps_it(tiny_root, tmp_path, capsys):
    path = epoch_10_encoder(tmp_path, {"method": "skeletonclr", "seed": 0, "epochs": 10, "history": HISTORY,
                                       "warning": "the encoder may have collapsed"})
    assert knn.main(["--method", "skeletonclr", "--checkpoint", str(path), "--data-root", str(tiny_root),
                     "--results-dir", str(tmp_path / "records")]) == 0
    err = capsys.readouterr().err
    assert "warning: this encoder's pretraining ended with a warning, kept in the record: the encoder may have collapsed" in err
    written = json.loads(next((tmp_path / "records").glob("*.json")).read_text())
    assert written["pretraining_warning"] == "the encoder may have collapsed"


@pytest.mark.parametrize("curve, problem", [
    ({**CURVE, "top1": [25.0, math.nan]}, "pretraining_curve.top1[1] NaN is not an accuracy in [0, 100]"),
    ({**CURVE, "top1": [25.0]}, "pretraining_curve has 2 epochs but 1 top1 values"),
    ({**CURVE, "epochs": [10, 5]}, "pretraining_curve.epochs do not rise strictly"),
    ({**CURVE, "every": 0}, "pretraining_curve.every 0 is not a whole number >= 1 (or null)"),
    ([25.0, 30.0], "pretraining_curve is a JSON list, not an object"),
])
def test_the_record_checker_refuses_a_curve_nobody_measured(curve, problem, tmp_path):
    assert record_problems(record(pretraining_curve=CURVE)) == []
    assert problem in record_problems(record(pretraining_curve=curve))
    with pytest.raises(ValueError, match="pretraining_curve"):
        write_record({k: v for k, v in record(pretraining_curve=curve).items() if k != "_path"}, tmp_path)
    assert not list(tmp_path.glob("*.json"))


# ------------------------------------------------------------------------------ the curve plot
ZOO = [{"_name": "skeletonclr-synthetic-xsub-joint", "method": "skeletonclr", "dataset": "synthetic-xsub",
        "generator_version": 3, "preset": {"name": "quick"}, "epochs": 2,
        "curve": [{"epoch": 0, "top1": 20.0}, {"epoch": 2, "top1": 25.0}],
        "loss_history": [{"epoch": 1, "loss": 4.0, "knn_top1": 21.0}, {"epoch": 2, "loss": 3.0, "knn_top1": 22.0}]}]


def test_curves_keep_each_measured_point_once_per_run():
    linear, knn_rec = record(), record(protocol="knn", _path="/x/b.json")  # two protocols, one pretraining run
    curves = plots.curves_frame(ZOO, [{**linear, "pretraining_curve": CURVE}, {**knn_rec, "pretraining_curve": CURVE},
                                      record()])
    real = curves[curves.benchmark == "NW-UCLA xview (real)"]
    assert list(zip(real.curve, real.run, real.epoch, real.top1)) == [("KNN monitor", 0, 5, 25.0),
                                                                     ("KNN monitor", 0, 10, 30.0)]
    assert set(real.series) == {"SkeletonCLR · cpu 10 ep"}
    zoo = curves[curves.benchmark == "synthetic-xsub (v3, not NTU)"]
    assert sorted(zip(zoo.curve, zoo.epoch, zoo.top1)) == [("KNN monitor", 1, 21.0), ("KNN monitor", 2, 22.0),
                                                           ("linear probe", 0, 20.0), ("linear probe", 2, 25.0)]
    caption = plots.curves_caption(curves)
    assert "NW-UCLA xview (real): held-out KNN monitor every 5 epochs" in caption
    assert ("synthetic-xsub (v3, not NTU): held-out KNN monitor every epoch; linear probe at epoch 0 and the last "
            "epoch only") in caption
    assert "after every pretraining epoch" not in caption


def test_the_curve_plot_renders_the_same_bytes_twice():
    curves = plots.curves_frame(ZOO, [{**record(), "pretraining_curve": CURVE}])
    first, second = plots.plot_curves(curves), plots.plot_curves(curves)
    assert first.png.startswith(PNG) and first.png == second.png
    assert first.name == "plot-pretraining-curves.png"
    assert plots.plot_curves(plots.curves_frame([], [record()])) is None  # nothing measured: no figure


# ----------------------------------------------------------------------------------- robustness
def robustness_records(seeds: tuple[int, ...]) -> pd.DataFrame:
    recs = [record(dataset="synthetic-xsub", split="xsub", synthetic=True, data={"generator_version": 3}, seed=s,
                   protocol="robustness", _path=f"/x/r{s}.json", created=f"2026-12-06T10:00:0{s}Z",
                   metrics={"top1": 30.0 + s, "top5": 60.0, "robustness": {"gaussian_noise": {"4": 25.0 + s}}})
            for s in seeds]
    return plots.robustness_frame(records_frame(recs))


def test_robustness_says_one_run_or_n_and_starts_at_zero():
    one = plots.plot_robustness(robustness_records((0,)), {"gaussian_noise": "σ of additive noise, cm"})
    assert "Each line is one run (n=1" in one.caption and "mean ± sd over seeds" not in one.caption
    stats = plots.robustness_series(robustness_records((0, 1, 2)))
    assert stats.n.tolist() == [3, 3] and stats["mean"].tolist() == [31.0, 26.0]
    three = plots.plot_robustness(robustness_records((0, 1, 2)), {})
    assert "n ≥ 2; n is in the legend" in three.caption and three.png.startswith(PNG)
    assert plots.runs_text(1) == "one run" and plots.runs_text(3) == "n=3, mean ± sd"


# ------------------------------------------------------------------------- real-data figures
def test_reproduced_vs_reported_renders_from_a_checks_frame():
    checks = pd.DataFrame([
        {"protocol": "linear", "setting": "", "variant": "AimCLR (released model)", "stream": "J", "benchmark": "NTU60",
         "split": "xsub", "reported": 74.34, "tolerance": 1.0, "reproduced": 74.1, "sd": None, "n": 1},
        {"protocol": "linear", "setting": "", "variant": "SkeletonCLR (released model)", "stream": "J",
         "benchmark": "NTU60", "split": "xview", "reported": 79.9, "tolerance": 1.0, "reproduced": 78.2, "sd": 0.4,
         "n": 3}])
    p = plots.plot_reproduced_vs_reported(checks)
    assert p.name == "plot-reproduced-vs-reported.png" and p.png.startswith(PNG)
    assert p.png == plots.plot_reproduced_vs_reported(checks).png
    assert plots.plot_reproduced_vs_reported(checks.iloc[0:0]) is None  # no pair: no figure


def test_a_real_benchmarks_probes_figure_has_its_references_and_n():
    trained = dict(checkpoint={"source": "pretrained", "path": "p", "sha256": "t"})
    untrained = dict(checkpoint={"source": "random", "path": None, "sha256": "r"}, preset=None, epochs=0,
                     pretrain_seed=None, bn_statistics="precise")
    recs = [record(_path="/x/1.json", **trained),
            record(_path="/x/2.json", protocol_config={"probe": "standardised"}, metrics={"top1": 76.0}, **trained),
            record(_path="/x/3.json", protocol="knn", protocol_config={"features": "backbone"}, metrics={"top1": 64.0},
                   **trained)]
    recs += [record(_path=f"/x/r{s}.json", seed=s, metrics={"top1": 38.0 + 2 * s}, **untrained) for s in (0, 1, 2)]
    recs.append(record(_path="/x/sup.json", protocol="finetune", metrics={"top1": 67.0},
                       **{**untrained, "bn_statistics": "trained"}))
    df = records_frame(recs)
    probes = plots.probes_frame(df, "nwucla-xview")
    assert probes.probe.tolist() == ["official probe", "standardised probe", "KNN 1-NN"]
    assert probes["mean"].tolist() == [70.0, 76.0, 64.0] and probes.n.tolist() == [1, 1, 1]
    assert probes.untrained.iloc[0] == pytest.approx(40.0) and probes.untrained_n.iloc[0] == 3
    assert math.isnan(probes.untrained.iloc[1])  # no untrained run under the standardised probe: no tick
    sup = plots.supervised_levels(df, "nwucla-xview")
    assert sup.label.tolist() == ["supervised ST-GCN (one run)"] and sup["mean"].tolist() == [67.0]
    assert sup.schedule.tolist() == [""]  # the official schedule, no augmentation: nothing to say
    p = plots.plot_real_probes(probes, sup, "nwucla-xview")
    assert p.name == "plot-real-nwucla-xview.png" and p.png.startswith(PNG)
    assert p.caption.startswith("NW-UCLA xview (real data, reproduced by the suite)")
    assert plots.plot_real_probes(plots.probes_frame(df.iloc[0:0], "nwucla-xview"), sup, "nwucla-xview") is None


def test_one_benchmark_prepared_into_other_bytes_is_a_bar_and_a_line_of_its_own():
    """The same download prepared on another CPU can differ in the last bits of its arrays (so in
    its fingerprint): its runs are a bar named by its data, never a second bar of the same name
    (which the figure could not draw), and records naming the official processor ("frame") and
    records from before the manifest named any are one preparation."""
    untrained = dict(checkpoint={"source": "random", "path": None, "sha256": "r"}, preset=None, epochs=0,
                     pretrain_seed=None, bn_statistics="precise")
    other = {"fingerprint": "e" * 64, "normalisation": "frame"}
    recs = [record(_path="/x/1.json"), record(_path="/x/2.json", pretrain_seed=1, metrics={"top1": 72.0}),
            record(_path="/x/3.json", pretrain_seed=2, metrics={"top1": 50.0}, data=other)]
    recs += [record(_path=f"/x/s{s}.json", protocol="finetune", metrics={"top1": 67.0 + s}, data=data,
                    **{**untrained, "bn_statistics": "trained"}) for s, data in ((0, {"fingerprint": "f" * 64}), (1, other))]
    df = records_frame(recs)
    probes = plots.probes_frame(df, "nwucla-xview")
    assert probes.bar.tolist() == ["SkeletonCLR\ncpu 10 ep, data eeeeeeee", "SkeletonCLR\ncpu 10 ep, data ffffffff"]
    assert probes["mean"].tolist() == [50.0, 71.0] and probes.n.tolist() == [1, 2]
    sup = plots.supervised_levels(df, "nwucla-xview")
    assert sup.label.tolist() == ["supervised ST-GCN, data eeeeeeee (one run)", "supervised ST-GCN, data ffffffff (one run)"]
    assert plots.plot_real_probes(probes, sup, "nwucla-xview").png.startswith(PNG)


def test_a_real_benchmarks_group_names_fit_under_their_bars():
    """Neighbouring group names ran into each other on the NW-UCLA figure: each tick line is now
    wrapped to what a group's width holds, measured with the figure's font."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    font = FontProperties(family=plots.RC["font.family"], size=plots.RC["font.size"])
    names = ["SkeleMixCLR+ t=0.07 · Transformer-large\ncpu 50 ep, precise BN, clip-normalised data",
             "CrosSCLR no shared head\ncpu 50 ep, data e107bddc", "AimCLR\nquick 300 ep, precise BN, data 6001c4e8"]
    for name in names:
        lines = plots.tick_label(name).splitlines()
        widths = [TextToPath().get_text_width_height_descent(line, font, ismath=False)[0] / 72 for line in lines]
        assert max(widths) < 0.8 * plots.GROUP_INCHES, (name, widths)
    assert len(plots.tick_label(names[0]).splitlines()) > 2  # each of its two lines was wider than a group
    assert plots.tick_label("SkeletonCLR\ncpu 50 ep") == "SkeletonCLR\ncpu 50 ep"


def test_labels_stay_short():
    assert plots.method_name("crossclr", "[shared_head=False]") == "CrosSCLR no shared head"
    assert plots.method_name("skelemixclr", "[temperature=0.07]") == "SkeleMixCLR+ t=0.07"
    assert plots.recipe_short("quick", 8) == "quick 8 ep" and plots.recipe_short("–", None) == "own file"
    long = "SkeleMixCLR+ t=0.07 · J · quick 300 ep · precise BN"
    assert len(plots.clip(long)) == plots.LABEL_MAX and plots.clip(long).endswith("…")
    assert all(len(line) <= plots.LABEL_MAX for line in plots.wrap("probability a two-person sample is swapped")
               .splitlines())


def test_a_transformer_run_is_a_bar_and_a_series_of_its_own_with_its_own_untrained_tick():
    """The same method on two encoders: two bars, two seeds rows, two robustness series, each with
    its own encoder untrained (the transformer's: any method's random-init transformer) and, for the
    supervised line, the network by name."""
    trained = dict(checkpoint={"source": "pretrained", "path": "p", "sha256": "t"})
    untrained = dict(checkpoint={"source": "random", "path": None, "sha256": "r"}, preset=None, epochs=0,
                     pretrain_seed=None, bn_statistics="precise")
    recs = [record(_path="/x/1.json", **trained),
            record(_path="/x/2.json", encoder="transformer", metrics={"top1": 60.0}, **trained)]
    recs += [record(_path=f"/x/r{s}.json", seed=s, metrics={"top1": 38.0 + 2 * s}, **untrained) for s in (0, 1, 2)]
    recs.append(record(_path="/x/t.json", method="aimclr", encoder="transformer", metrics={"top1": 25.0}, **untrained))
    recs.append(record(_path="/x/sup.json", protocol="finetune", encoder="transformer", metrics={"top1": 55.0},
                       **{**untrained, "bn_statistics": "trained"}))
    df = records_frame(recs)
    probes = plots.probes_frame(df, "nwucla-xview")
    assert probes.bar.tolist() == ["SkeletonCLR\ncpu 10 ep", "SkeletonCLR · Transformer\ncpu 10 ep"]
    assert probes["mean"].tolist() == [70.0, 60.0] and probes.untrained.tolist() == [40.0, 25.0]
    assert probes.untrained_n.tolist() == [3, 1]
    assert plots.supervised_levels(df, "nwucla-xview").label.tolist() == ["supervised Transformer (one run)"]
    seeds = plots.seeds_frame(df)  # the supervised transformer is no ST-GCN ceiling
    assert seeds.recipe.tolist() == ["J · cpu 10 ep", "Transformer · J · cpu 10 ep"]
    assert seeds.random_init.tolist() == [40.0, 25.0] and seeds.supervised.fillna(-1).tolist() == [-1, 55.0]
    assert plots.network_name("skelemixclr") == "AGCN" and plots.network_name("skelemixclr", "transformer") == \
        "Transformer"
    rob = [record(_path=f"/x/b{i}.json", protocol="robustness", encoder=enc, checkpoint={"source": "pretrained",
                  "path": "p", "sha256": str(i)}, metrics={"top1": 30.0, "top5": 60.0,
                                                           "robustness": {"gaussian_noise": {"4": 20.0 + i}}})
           for i, enc in enumerate(("stgcn", "transformer"))]
    assert sorted(set(plots.robustness_frame(records_frame(rob)).recipe)) == [
        "SkeletonCLR · J · cpu 10 ep", "SkeletonCLR · Transformer · J · cpu 10 ep"]
    curve = {**record(encoder="transformer"), "pretraining_curve": CURVE}
    assert set(plots.curves_frame([], [curve, {**record(), "pretraining_curve": CURVE}]).series) == {
        "SkeletonCLR · cpu 10 ep", "SkeletonCLR · Transformer · cpu 10 ep"}


def test_the_supervised_line_says_its_augmentation_and_a_schedule_longer_than_the_official():
    """Two supervised runs that differ in their training clips' augmentation and length are two
    lines, and the caption says how each was trained."""
    untrained = dict(checkpoint={"source": "random", "path": None, "sha256": "r"}, preset=None, epochs=0,
                     pretrain_seed=None, bn_statistics="trained")
    short = {"epochs": 60, "official_epochs": 110, "batch_size": 16, "official_batch_size": 128, "augment": "none"}
    long = {**short, "epochs": 120, "augment": "rotate"}
    recs = [record(_path="/x/a.json", protocol="finetune", metrics={"top1": 79.0}, protocol_config=short, **untrained),
            record(_path="/x/b.json", protocol="finetune", metrics={"top1": 86.0}, protocol_config=long, **untrained)]
    sup = plots.supervised_levels(records_frame(recs), "nwucla-xview").sort_values("mean")
    assert sup.schedule.tolist() == ["60 of 110 epochs, batch 16",
                                     "rotate augmentation, 120 epochs against the official 110, batch 16"]
    assert "rotate augmentation, 120 epochs against the official 110" in plots.supervised_text(sup)
    legend = [entry.replace("\n", " ") for entry in plots.supervised_legend(sup)]
    assert legend == ["supervised ST-GCN (one run): 60 of 110 epochs, batch 16",  # one label, two lines: each says
                      "supervised ST-GCN (one run): rotate augmentation, 120 epochs against the official 110, batch 16"]
    assert plots.supervised_legend(sup.iloc[:1]) == ["supervised ST-GCN (one run)"]  # alone, its label is enough
