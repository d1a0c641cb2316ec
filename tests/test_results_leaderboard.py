"""Result records and the generated leaderboard built from them."""

import json

import pytest

from leaderboard.build import build
from leaderboard.frame import OFFICIAL_LAYOUTS, aggregate, recipes, records_frame
from leaderboard.tables import cell_text, synthetic_tables
from results import read_records, summary_line, write_record


def record(**over):
    r = {"method": "skeletonclr", "dataset": "synthetic-xsub", "split": "xsub", "stream": "joint",
         "protocol": "linear", "preset": "quick", "epochs": 36, "seed": 0, "frames": 50,
         "metrics": {"top1": 61.5, "top5": 90.0, "best_top1": 62.0, "best_epoch": 95},
         "preprocessing": "official", "commit": "abc", "wall_s": 12.0, "device": "cpu", "synthetic": True,
         "checkpoint": {"source": "zoo", "path": None, "sha256": "x"}, "created": "2026-11-25T10:00:00Z",
         "data": {"fingerprint": "f" * 64, "generator_version": 2}, "command": "python -m protocols.linear"}
    r.update(over)
    return r


RANDOM = {"source": "random", "path": None, "sha256": "y"}


def test_write_record_validates_and_never_overwrites(tmp_path):
    a = write_record(record(), tmp_path)
    b = write_record(record(), tmp_path)
    assert a != b and json.loads(a.read_text())["metrics"]["top1"] == 61.5
    assert not list(tmp_path.glob(".*"))
    bad = record()
    del bad["device"]
    with pytest.raises(ValueError, match="device"):
        write_record(bad, tmp_path)


def test_malformed_record_named(tmp_path):
    (tmp_path / "x.json").write_text("{")
    with pytest.raises(ValueError, match="x.json"):
        read_records(tmp_path)


def test_summary_line():
    line = summary_line(record())
    assert line == ("linear skeletonclr synthetic-xsub joint: top1 61.50 (best 62.00 @ 95) top5 90.00 | "
                    "checkpoint zoo | 12s on cpu [synthetic data]")
    assert summary_line(record(variant={"temperature": 0.07})).startswith("linear skeletonclr [temperature=0.07] synthetic")


def test_official_layouts_are_the_loaders():
    from methods.official import CHECKPOINT_FORMATS

    assert OFFICIAL_LAYOUTS == tuple(layout.name for layout in CHECKPOINT_FORMATS)


def _rows(recs):
    """{table title: {row label: {column: text}}} of the synthetic tables."""
    out = {}
    for _, tables in synthetic_tables(records_frame(read_records(recs))):
        for t in tables:
            out[t.title] = {" · ".join(r.labels): {c: cell_text(x) for c, x in r.cells.items()} for r in t.rows}
    return out


def test_leaderboard_front_tables_from_records(tmp_path):
    recs = tmp_path / "records"
    write_record(record(), recs)
    write_record(record(checkpoint=RANDOM, preset=None, epochs=0, metrics={"top1": 40.0, "top5": 80.0}), recs)
    write_record(record(dataset="ntu60-xsub", synthetic=False, metrics={"top1": 67.1, "top5": 90.0}), recs)
    write_record(record(variant={"temperature": 0.2, "shared_head": False}, metrics={"top1": 50.0, "top5": 80.0},
                        checkpoint={"source": "checkpoint", "path": None, "sha256": "z"}), recs)
    rows = _rows(recs)["Linear evaluation — synthetic v2"]
    assert rows["SkeletonCLR · joint · ST-GCN · quick preset, 36 ep · training · –"] == {"synthetic-xsub": "61.50 (n=1), Δinit +21.50"}
    assert rows["SkeletonCLR · joint · ST-GCN · random init · precise · –"] == {"synthetic-xsub": "40.00 (n=1)"}
    # a variant is its own row, compared with the same random init, never averaged into the default
    assert rows["SkeletonCLR [shared_head=False, temperature=0.2] · joint · ST-GCN · quick preset, 36 ep · training · –"] == \
        {"synthetic-xsub": "50.00 (n=1), Δinit +10.00"}
    text = build(recs, tmp_path / "lb").read_text()
    syn = text.split("## Embedded synthetic data")[1]
    assert "ntu60" not in syn  # a real-data record never lands in the synthetic tables
    assert (tmp_path / "lb" / "index.html").is_file() and (tmp_path / "lb" / "records.csv").is_file()
    # real data: the quick-preset run is no reproduction of the paper claim: a ↳ row under it, Δ shown, not tested
    assert ("| ↳ SkeletonCLR | SkeletonCLR: quick preset, 36 ep, top1 (no best_top1 recorded) | J | ST-GCN | ST-GCN(h16) | 50 | "
            "67.10 (n=1) Δ −1.20 · |") in text


def test_mean_and_sd_over_seeds_by_hand(tmp_path):
    recs = tmp_path / "records"
    write_record(record(checkpoint=RANDOM, preset=None, epochs=0, metrics={"top1": 60.0, "top5": 90.0}), recs)
    for seed, top1 in ((0, 70.0), (1, 58.0), (2, 64.0)):
        write_record(record(pretrain_seed=seed, checkpoint={"source": "checkpoint", "path": None, "sha256": f"s{seed}"},
                            metrics={"top1": top1, "top5": 90.0}), recs)
    # the same seeds with precise BN are another recipe, never averaged in
    write_record(record(pretrain_seed=0, bn_statistics="precise", metrics={"top1": 75.0, "top5": 90.0}), recs)
    rows = _rows(recs)["Linear evaluation — synthetic v2"]
    # mean 64, sd sqrt((6² + 6² + 0²) / 2) = 6, Δinit 64 − 60, 2 of 3 runs above 60
    assert rows["SkeletonCLR · joint · ST-GCN · quick preset, 36 ep · training · –"]["synthetic-xsub"] == \
        "64.00 ± 6.00 (n=3), Δinit +4.00 (2/3 above)"
    assert rows["SkeletonCLR · joint · ST-GCN · quick preset, 36 ep · precise · –"]["synthetic-xsub"] == \
        "75.00 (n=1), Δinit +15.00"


def test_a_rerun_of_the_same_run_counts_once_the_newest(tmp_path):
    recs = tmp_path / "records"
    write_record(record(pretrain_seed=1, metrics={"top1": 55.0, "top5": 90.0}), recs)
    write_record(record(pretrain_seed=1, metrics={"top1": 56.0, "top5": 90.0}, created="2026-11-25T11:00:00Z"), recs)
    df = records_frame(read_records(recs))
    assert df.top1.tolist() == [56.0]


def test_records_on_other_data_never_mix(tmp_path):
    recs = tmp_path / "records"
    write_record(record(metrics={"top1": 61.5, "top5": 90.0}), recs)
    # newer, same recipe, but another generator version: another section
    write_record(record(data={"fingerprint": "b" * 64, "generator_version": 3}, metrics={"top1": 5.5, "top5": 20.0},
                        created="2026-11-25T11:00:00Z"), recs)
    # same generator version, other files (edited or re-generated data): a row of its own, data named
    write_record(record(data={"fingerprint": "c" * 64, "generator_version": 2}, metrics={"top1": 33.0, "top5": 20.0},
                        checkpoint={"source": "zoo", "path": None, "sha256": "other"}), recs)
    # from before records named their data
    write_record(record(data=None, metrics={"top1": 44.0, "top5": 20.0}), recs)
    rows = _rows(recs)
    assert set(rows) == {"Linear evaluation — synthetic v3", "Linear evaluation — synthetic v2",
                         "Linear evaluation — synthetic, unversioned"}
    assert list(rows["Linear evaluation — synthetic v3"].values()) == [{"synthetic-xsub": "5.50 (n=1)"}]
    v2 = rows["Linear evaluation — synthetic v2"]
    assert v2["SkeletonCLR · joint · ST-GCN · quick preset, 36 ep · training · data ffffffff"] == {"synthetic-xsub": "61.50 (n=1)"}
    assert v2["SkeletonCLR · joint · ST-GCN · quick preset, 36 ep · training · data cccccccc"] == {"synthetic-xsub": "33.00 (n=1)"}
    text = build(recs, tmp_path / "lb").read_text()
    assert text.index("generator version 3") < text.index("generator version 2") < text.index("generator version unknown")


def test_a_row_on_clip_normalised_data_says_so_also_for_records_older_than_the_word(tmp_path):
    recs = tmp_path / "records"
    write_record(record(metrics={"top1": 61.5, "top5": 90.0}), recs)
    clip = {"fingerprint": "d" * 64, "generator_version": 2}
    write_record(record(data={**clip, "normalisation": "clip"}, pretrain_seed=0, metrics={"top1": 70.0, "top5": 90.0}),
                 recs)
    # made on the same files before records named the normalisation: labelled from its sibling
    write_record(record(data=clip, pretrain_seed=1, metrics={"top1": 72.0, "top5": 90.0}), recs)
    v2 = _rows(recs)["Linear evaluation — synthetic v2"]
    assert v2["SkeletonCLR · joint · ST-GCN · quick preset, 36 ep · training · data dddddddd, clip-normalised data"] == \
        {"synthetic-xsub": "71.00 ± 1.41 (n=2)"}
    assert v2["SkeletonCLR · joint · ST-GCN · quick preset, 36 ep · training · data ffffffff"] == {"synthetic-xsub": "61.50 (n=1)"}


def test_one_table_per_protocol_with_the_supervised_reference(tmp_path):
    recs = tmp_path / "records"
    write_record(record(), recs)
    write_record(record(protocol="knn", metrics={"top1": 50.0, "top5": 70.0, "knn_top1": {"20": 52.5}},
                        protocol_config={"features": "backbone"}), recs)
    for fraction, top1 in ((0.01, 20.0), (0.1, 40.0)):
        write_record(record(protocol="semi", metrics={"top1": top1, "top5": 60.0},
                            protocol_config={"fraction": fraction}), recs)
    write_record(record(protocol="finetune", checkpoint=RANDOM, metrics={"top1": 90.0, "top5": 99.0}), recs)
    rows = _rows(recs)
    assert {"Linear evaluation — synthetic v2", "KNN (frozen features) — synthetic v2", "Semi-supervised — synthetic v2",
            "Fine-tune — synthetic v2"} == set(rows)
    supervised = "SkeletonCLR · joint · ST-GCN · supervised (finetune from random init) · precise · –"
    for title in rows:  # the supervised network is a row of its own protocol family only, not under frozen features
        if title.startswith(("Semi-supervised", "Fine-tune")):
            assert rows[title][supervised] == {"synthetic-xsub": "90.00 (n=1)"}
        else:
            assert supervised not in rows[title]
    semi = rows["Semi-supervised — synthetic v2"]
    assert semi["SkeletonCLR · joint · ST-GCN · quick preset, 36 ep · training · 1%"] == {"synthetic-xsub": "20.00 (n=1)"}
    assert semi["SkeletonCLR · joint · ST-GCN · quick preset, 36 ep · training · 10%"] == {"synthetic-xsub": "40.00 (n=1)"}


def test_a_probe_variant_is_its_own_recipe(tmp_path):
    recs = tmp_path / "records"
    write_record(record(protocol_config={"probe": "official"}), recs)
    write_record(record(protocol_config={"probe": "standardised"}, metrics={"top1": 90.0, "top5": 99.0}), recs)
    rows = _rows(recs)["Linear evaluation — synthetic v2"]
    assert rows["SkeletonCLR · joint · ST-GCN · quick preset, 36 ep · training · –"] == {"synthetic-xsub": "61.50 (n=1)"}
    assert rows["SkeletonCLR · joint · ST-GCN · quick preset, 36 ep · training · standardised probe"] == \
        {"synthetic-xsub": "90.00 (n=1)"}


def test_aggregate_by_hand():
    a = aggregate([70.0, None, 58.0, 64.0], ["a", "b", "c", "d"])
    assert (a.mean, a.sd, a.n, a.records) == (64.0, pytest.approx(6.0), 3, ("a", "c", "d"))
    assert aggregate([None], ["a"]) is None and aggregate([1.0], ["a"]).sd is None


def test_recipes_keep_key_types_of_empty_epochs(tmp_path):
    recs = tmp_path / "records"
    write_record(record(epochs=None, preset=None, checkpoint={"source": "checkpoint", "path": None, "sha256": "q",
                                                              "layout": "moco-pretrain"}), recs)
    df = records_frame(read_records(recs))
    assert df.evidence.tolist() == ["released-checkpoint"]
    assert str(recipes(df).epochs.dtype) == "Int64"


def test_reference_line_names_the_random_init_and_supervised_runs_on_the_same_data():
    from results import reference_line

    def rec(protocol, source, top1, created, fp="a", stream="joint", method="skeletonclr", epochs=None):
        return {"protocol": protocol, "method": method, "stream": stream, "checkpoint": {"source": source},
                "data": {"fingerprint": fp}, "metrics": {"top1": top1}, "created": created,
                "protocol_config": {"epochs": epochs}}
    zoo = {**rec("linear", "zoo", 40.0, "9"), "dataset": "synthetic-xsub"}
    records = [rec("linear", "random", 20.0, "1"), rec("linear", "random", 21.0, "2"),
               rec("linear", "random", 90.0, "3", fp="b"), rec("linear", "random", 80.0, "4", stream="bone"),
               rec("linear", "random", 70.0, "5", method="aimclr"), rec("knn", "random", 60.0, "6"),
               rec("finetune", "random", 75.5, "7", epochs=10), rec("finetune", "zoo", 99.0, "8"), zoo]
    assert reference_line(zoo, records) == "references on these data: random init 21.00, supervised 75.50 (10 epochs)"
    assert reference_line(records[0], records) == "references on these data: supervised 75.50 (10 epochs)"
    # a reference not run yet: the command that computes it, on the record's benchmark and stream
    assert reference_line(zoo, [zoo]) == (
        "references on these data: random init not run (`python -m protocols.linear --method skeletonclr "
        "--checkpoint random`), supervised not run (`python -m protocols.finetune --method skeletonclr "
        "--checkpoint random`)")
    bone = {**rec("knn", "zoo", 40.0, "9", stream="bone"), "dataset": "ntu60-xsub"}
    assert "(`python -m protocols.knn --method skeletonclr --stream bone --dataset ntu60-xsub --checkpoint random`)" \
        in reference_line(bone, [bone])


def test_reference_line_averages_init_seeds_of_the_same_probe():
    from results import reference_line

    def rec(source, top1, created, seed, probe="official"):
        return {"protocol": "linear", "method": "skelemixclr", "stream": "joint", "checkpoint": {"source": source},
                "data": {"fingerprint": "a"}, "metrics": {"top1": top1}, "created": created, "seed": seed,
                "protocol_config": {"probe": probe}, "dataset": "synthetic-xsub"}
    zoo = rec("zoo", 20.97, "9", 0)
    records = [rec("random", 10.0, "1", 0), rec("random", 21.47, "2", 0), rec("random", 29.50, "3", 1),
               rec("random", 23.83, "4", 2), rec("random", 25.50, "5", 2, probe="standardised"), zoo]
    # seed 0 re-run supersedes its older record; the standardised probe's run is another instrument
    assert reference_line(zoo, records).startswith("references on these data: random init 24.93 ± 4.13 (3 init seeds)")
    assert "random init 25.50, " in reference_line(rec("zoo", 36.7, "9", 0, probe="standardised"), records)


def test_protocol_setting_separates_what_makes_runs_incomparable():
    from leaderboard.frame import protocol_setting

    def knn(**cfg):
        return protocol_setting({"protocol": "knn", "protocol_config": {"features": "backbone", "t": 0.1, **cfg}})

    assert knn() == "backbone" and knn(ks=[5]) == "backbone"  # k only picks which figures exist
    assert knn(t=0.07) == "backbone, t=0.07" and knn(augmented_bank=True) == "backbone, augmented bank"
    assert protocol_setting({"protocol": "semi", "protocol_config": {"fraction": 0.01}}) == "1%"
    assert protocol_setting({"protocol": "linear", "protocol_config": {"probe": "standardised"}}) == "standardised probe"
    assert protocol_setting({"protocol": "linear", "protocol_config": {"probe": "official"}}) == ""
    assert protocol_setting({"protocol": "finetune", "protocol_config": {"augment": "none"}}) == ""
    assert protocol_setting({"protocol": "finetune", "protocol_config": {"augment": "normal"}}) == "normal augmentation"
    from leaderboard.frame import bn_statistics, schedule
    supervised = {"protocol": "finetune", "checkpoint": {"source": "random"}, "protocol_config": {"bn_mode": "train"}}
    assert bn_statistics(supervised) == "trained"  # training set them: neither re-estimated nor a checkpoint's
    assert bn_statistics({"protocol": "linear", "checkpoint": {"source": "random"}}) == "precise"
    official = {"epochs": 110, "official_epochs": 110, "batch_size": 128, "official_batch_size": 128}
    assert schedule({"protocol_config": official}) == ""
    assert schedule({"protocol_config": {**official, "epochs": 60, "batch_size": 16}}) == "60 of 110 epochs, batch 16"
    assert schedule({"protocol_config": {**official, "epochs": 120, "batch_size": 16}}) == "120 epochs against the official 110, batch 16"
    transfer = {"source": "ntu120-xsub", "eval": "linear", "overlap": 0}
    assert protocol_setting({"protocol": "transfer", "protocol_config": transfer}) == "from ntu120-xsub (linear)"
    assert (protocol_setting({"protocol": "transfer", "protocol_config": {**transfer, "overlap_dropped": 5392}})
            == "from ntu120-xsub (linear), 5392 pretrained test clips dropped")  # X-View*: another test set


def test_reference_line_takes_the_untrained_encoder_of_a_method_with_the_same_network():
    from protocols.common import same_encoder
    from results import reference_line

    assert set(same_encoder("aimclr")) == {"skeletonclr", "aimclr", "crossclr"}
    assert "skelemixclr" in same_encoder("skelemixclr") and "skeletonclr" not in same_encoder("skelemixclr")
    base = {"stream": "joint", "data": {"fingerprint": "a"}, "protocol_config": {"epochs": 10}}
    aim = {**base, "protocol": "linear", "method": "aimclr", "checkpoint": {"source": "zoo"},
           "metrics": {"top1": 30.0}, "created": "9", "dataset": "synthetic-xsub"}
    floor = {**base, "protocol": "linear", "method": "skeletonclr", "checkpoint": {"source": "random"},
             "metrics": {"top1": 23.73}, "created": "1"}
    ceiling = {**base, "protocol": "finetune", "method": "skeletonclr", "checkpoint": {"source": "random"},
               "metrics": {"top1": 28.0}, "created": "2"}
    assert reference_line(aim, [floor, ceiling, aim], same_encoder("aimclr")) == (
        "references on these data: random init 23.73 (run as skeletonclr), supervised 28.00 (10 epochs, run as "
        "skeletonclr)")
    assert "random init not run" in reference_line(aim, [floor, ceiling, aim])


def test_a_transformer_recipe_is_its_own_row_compared_with_the_transformer_untrained(tmp_path):
    """The same method on ST-GCN and on the transformer is two recipes; each Δinit is against its
    own encoder untrained: the transformer's floor is any method's random-init transformer (here
    AimCLR's, 30), never SkeletonCLR's own random-init ST-GCN (40). Records without the field are ST-GCN."""
    recs = tmp_path / "records"
    write_record(record(), recs)  # no encoder field: the method's default, ST-GCN
    write_record(record(checkpoint=RANDOM, preset=None, epochs=0, metrics={"top1": 40.0, "top5": 80.0}), recs)
    write_record(record(encoder="transformer", checkpoint={"source": "zoo", "path": None, "sha256": "t"},
                        metrics={"top1": 55.0, "top5": 80.0}), recs)
    write_record(record(method="aimclr", encoder="transformer", checkpoint=RANDOM, preset=None, epochs=0,
                        metrics={"top1": 30.0, "top5": 70.0}), recs)
    df = records_frame(read_records(recs))
    assert sorted(zip(df.method, df.encoder, df.network, df.top1)) == [
        ("aimclr", "transformer", "Transformer", 30.0), ("skeletonclr", "stgcn", "ST-GCN(h16)", 40.0),
        ("skeletonclr", "stgcn", "ST-GCN(h16)", 61.5), ("skeletonclr", "transformer", "Transformer", 55.0)]
    rows = _rows(recs)["Linear evaluation — synthetic v2"]
    assert rows["SkeletonCLR · joint · ST-GCN · quick preset, 36 ep · training · –"] == \
        {"synthetic-xsub": "61.50 (n=1), Δinit +21.50"}
    assert rows["SkeletonCLR · joint · Transformer · quick preset, 36 ep · training · –"] == \
        {"synthetic-xsub": "55.00 (n=1), Δinit +25.00"}
    assert rows["AimCLR · joint · Transformer · random init · precise · –"] == {"synthetic-xsub": "30.00 (n=1)"}
    assert list(rows)[0].startswith("SkeletonCLR · joint · ST-GCN")  # ST-GCN's rows first
    build(recs, tmp_path / "lb")
    import pandas as pd

    csv = pd.read_csv(tmp_path / "lb" / "records.csv")
    assert list(csv.columns[:7]) == ["record", "data_group", "dataset", "data", "method", "encoder", "variant"]
    assert list(zip(csv.method, csv.encoder)) == [("skeletonclr", "stgcn"), ("skeletonclr", "stgcn"),
                                                  ("skeletonclr", "transformer"), ("aimclr", "transformer")]


def test_a_transformer_random_init_is_no_st_gcn_floor_and_two_encoders_are_two_runs(tmp_path):
    recs = tmp_path / "records"
    write_record(record(method="aimclr", metrics={"top1": 45.0, "top5": 80.0}), recs)
    write_record(record(encoder="transformer", checkpoint=RANDOM, preset=None, epochs=0,
                        metrics={"top1": 30.0, "top5": 70.0}), recs)
    rows = _rows(recs)["Linear evaluation — synthetic v2"]
    assert rows["AimCLR · joint · ST-GCN · quick preset, 36 ep · training · –"] == {"synthetic-xsub": "45.00 (n=1)"}
    # the same run key but for the encoder: two runs, neither supersedes the other
    write_record(record(encoder="transformer", metrics={"top1": 50.0, "top5": 80.0}, created="2026-11-25T11:00:00Z"),
                 recs)
    write_record(record(metrics={"top1": 60.0, "top5": 80.0}, created="2026-11-25T12:00:00Z"), recs)
    df = records_frame(read_records(recs))
    assert sorted(zip(df.method, df.encoder, df.top1)) == [("aimclr", "stgcn", 45.0), ("skeletonclr", "stgcn", 60.0),
                                                          ("skeletonclr", "transformer", 30.0),
                                                          ("skeletonclr", "transformer", 50.0)]


def test_the_registry_names_encoders_and_which_methods_share_an_untrained_one():
    from leaderboard.frame import backbone_encoder, network
    from leaderboard.registry import encoder_titles, same_encoder
    from results import record_encoder

    assert encoder_titles() == {"stgcn": "ST-GCN", "transformer": "Transformer", "transformer-large": "Transformer-L"}
    # ST-GCN: the same graph and widths; the transformer reads no method field, so every method shares it
    assert same_encoder("aimclr") == ["aimclr", "crossclr", "skeletonclr"]
    assert "skeletonclr" not in same_encoder("skelemixclr", "stgcn")
    assert same_encoder("skelemixclr", "transformer") == ["aimclr", "crossclr", "skelemixclr", "skelemixclr-v1",
                                                          "skeletonclr"]
    assert same_encoder("aimclr", "no-such-encoder") == ["aimclr"] and same_encoder("no-such-method") == []
    assert network("skeletonclr") == "ST-GCN(h16)" and network("skelemixclr") == "ST-GCN(h16), 2s-AGCN graph"
    assert network("skelemixclr", {"hidden_channels": 32}, "transformer") == "Transformer"
    assert network("aimclr", None, "transformer-large") == "Transformer-L"
    assert record_encoder({"method": "aimclr"}) == "stgcn"
    assert record_encoder({"method": "aimclr", "encoder": "transformer"}) == "transformer"
    assert [backbone_encoder(b) for b in ("ST-GCN(h16)", "ST-GCN, 2s-AGCN graph", "Transformer-L", "Transformer",
                                          "BiGRU", "ST-GCN++", "–", None)] == [
        "stgcn", "stgcn", "transformer-large", "transformer", "", "", "", ""]
