"""The ranked tables (papers-with-code style): one per protocol, setting and benchmark group,
ranked by the headline column within each stream group, reference rows pinned and never ranked,
only the current recipe's runs ranked (the others under *other runs*), each row with its paper."""

from __future__ import annotations

import pytest

from leaderboard.build import build
from leaderboard.frame import records_frame
from leaderboard.ranking import Leaderboard, leaderboards, read_methods
from leaderboard.reported import read_reported
from leaderboard.tables import Row, cell_text, real_tables, synthetic_tables
from results import read_records, write_record
from tests.test_leaderboard_output import record as synthetic_record
from tests.test_leaderboard_real import record as real_record

RANDOM = {"source": "random", "path": None, "sha256": "r"}


@pytest.fixture(scope="module")
def reported():
    return read_reported()


@pytest.fixture(scope="module")
def papers(reported):
    return read_methods(reported=reported)


def boards_of(tables, papers) -> dict[str, Leaderboard]:
    return {b.title: b for t in tables if t.ranked for b in leaderboards(t, papers)}


def ranked(board: Leaderboard) -> dict[str, list[tuple[int | None, str, float | None]]]:
    return {g.title: [(r.rank, r.row.meta["name"], r.value) for r in g.rows] for g in board.groups}


def test_real_claims_rank_by_the_headline_within_their_stream_group(reported, papers, tmp_path):
    boards = boards_of(real_tables(reported, records_frame(read_records(tmp_path))), papers)
    ntu = boards["Linear evaluation — NTU-60/120"]
    assert ntu.headline == "ntu60-xsub" and ntu.columns == ["ntu60-xsub", "ntu60-xview", "ntu120-xsub", "ntu120-xset"]
    groups = ranked(ntu)
    assert list(groups) == ["Single stream", "Multi-stream (score fusion of streams)"]
    for rows in groups.values():
        values = [v for _, _, v in rows if v is not None]
        assert values == sorted(values, reverse=True) and rows[0][0] == 1
        assert all(rank is not None for rank, _, v in rows if v is not None)
    assert not any("+" in r.row.meta["stream"] for r in ntu.groups[0].rows)  # 3s rows never rank with one stream
    # PKU-MMD and NW-UCLA are tables of their own, never extra rows of the NTU table
    assert "Linear evaluation — PKU-MMD" in boards and "KNN (frozen features), backbone — NW-UCLA (reproduced by " \
        "the suite)" in boards
    assert all(not c.startswith(("pku", "nwucla")) for c in ntu.columns)
    # every ranked row carries its paper; a reported cell points to its footnote, which lists its sources
    aim = next(r for g in ntu.groups for r in g.rows if r.row.meta["name"] == "AimCLR (released model)"
               and r.row.meta["stream"] == "J")
    assert aim.paper.code_url == "https://github.com/Levigty/AimCLR" and aim.paper.venue == "AAAI"
    cell = aim.row.cells["ntu60-xsub"]
    assert cell_text(cell) == f"74.34 [{cell.source_note}] / –"
    assert dict(ntu.sources)[cell.source_note] == (("readme", "README Levigty/AimCLR@6cd7376 (released models; "
                                                                "README: better than paper)"),)


def test_equal_values_share_a_rank():
    from leaderboard.ranking import rank_rows
    from leaderboard.tables import Cell

    rows = [Row([x], {"c": Cell(reported=v)}) for x, v in (("a", 70.0), ("b", 80.0), ("c", 70.0), ("d", None))]
    rows[3].cells.clear()
    assert [(r.labels[0], rank) for r, rank, _ in rank_rows(rows, "c")] == [("b", 1), ("a", 2), ("c", 2), ("d", None)]


def test_an_official_run_fills_its_claim_and_the_other_recipes_go_under_other_runs(reported, papers, tmp_path):
    recs = tmp_path / "records"
    write_record(real_record(), recs)
    write_record(real_record(bn_statistics="precise", metrics={"top1": 70.0, "top5": 95.0, "best_top1": 71.0}), recs)
    board = boards_of(real_tables(reported, records_frame(read_records(recs))), papers)[
        "Linear evaluation — NTU-60/120"]
    aim = next(r for r in board.groups[0].rows if r.row.meta["name"] == "AimCLR (released model)"
               and r.row.meta["stream"] == "J")
    assert cell_text(aim.row.cells["ntu60-xsub"]).endswith("/ 74.00 (n=1) Δ −0.34 ✓")
    assert [row.labels[1] for row in board.other.rows] == ["AimCLR (released model): precise BN"]
    assert board.other.columns == ["ntu60-xsub"]


def test_synthetic_tables_rank_the_current_recipe_and_pin_the_references(papers, tmp_path):
    recs = tmp_path / "records"
    for seed, top1 in ((0, 30.0), (1, 32.0), (2, 34.0)):  # the current recipe: three seeds at 8 epochs
        write_record(synthetic_record(epochs=8, pretrain_seed=seed, metrics={"top1": top1, "top5": 80.0},
                                      checkpoint={"source": "checkpoint", "path": None, "sha256": f"s{seed}"}), recs)
    write_record(synthetic_record(method="aimclr", epochs=8, metrics={"top1": 40.0, "top5": 80.0}), recs)
    write_record(synthetic_record(method="aimclr", epochs=8, pretrain_seed=1, metrics={"top1": 38.0, "top5": 80.0},
                                  checkpoint={"source": "checkpoint", "path": None, "sha256": "a1"}), recs)
    write_record(synthetic_record(epochs=3, metrics={"top1": 90.0, "top5": 99.0}), recs)  # a 3-epoch diagnostic
    write_record(synthetic_record(protocol_config={"probe": "standardised"}, epochs=8,
                                  metrics={"top1": 50.0, "top5": 90.0}), recs)  # another setting: its own table
    write_record(synthetic_record(checkpoint=RANDOM, preset=None, epochs=None, pretrain_seed=None,
                                  metrics={"top1": 20.0, "top5": 50.0}), recs)
    write_record(synthetic_record(protocol="finetune", checkpoint=RANDOM, metrics={"top1": 95.0, "top5": 99.0}), recs)
    [(_, tables)] = synthetic_tables(records_frame(read_records(recs)))
    boards = boards_of(tables, papers)
    linear = boards["Linear evaluation — synthetic v3"]
    assert ranked(linear) == {"Single stream": [(1, "AimCLR", 39.0), (2, "SkeletonCLR", 32.0)],
                              "Reference rows (not ranked)": [(None, "SkeletonCLR", 20.0)]}
    assert linear.groups[-1].pinned and not linear.groups[0].pinned
    assert [cell_text(r.cells["synthetic-xsub"]) for r in linear.other.rows] == ["90.00 (n=1), Δinit +70.00"]
    assert "Linear evaluation, standardised probe — synthetic v3" in boards
    # the supervised network is a reference of its own protocol family only, never under a frozen-feature protocol
    assert all("supervised" not in r.row.meta.get("evidence", "") for b in boards.values()
               if b.title.startswith(("Linear", "KNN")) for g in b.groups for r in g.rows)
    assert ranked(boards["Fine-tune — synthetic v3"]) == {"Reference rows (not ranked)": [(None, "SkeletonCLR", None)]}


def test_the_markdown_ranks_links_papers_and_pins_references(tmp_path):
    recs = tmp_path / "records"
    write_record(synthetic_record(metrics={"top1": 30.0, "top5": 80.0}), recs)
    write_record(synthetic_record(method="aimclr", metrics={"top1": 40.0, "top5": 80.0}), recs)
    write_record(synthetic_record(checkpoint=RANDOM, preset=None, epochs=None, pretrain_seed=None,
                                  metrics={"top1": 20.0, "top5": 50.0}), recs)
    text = build(recs, tmp_path / "lb").read_text()
    section = text.split("#### Linear evaluation — synthetic v3")[1].split("####")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    assert rows[0] == "| # | method | stream | synthetic xsub ▼ | encoder | weights | BN | paper | code |"
    assert "(▼, descending) within each stream group." in section  # one encoder: no encoder blocks
    assert rows[1].startswith("| **Single stream** |")
    assert rows[2].startswith("| 1 | AimCLR | joint | 40.00 (n=1), Δinit +20.00 | ST-GCN | quick preset, 3 ep | training | "
                              "[Contrastive Learning from Extremely Augmented Skeleton Sequences")
    assert rows[2].endswith("| [Levigty/AimCLR](https://github.com/Levigty/AimCLR) |")
    assert rows[3].startswith("| 2 | SkeletonCLR | joint | 30.00 (n=1), Δinit +10.00 | ST-GCN | quick preset, 3 ep | training | "
                              "[3D Human Action Representation Learning via Cross-View")
    assert rows[4].startswith("| **Reference rows (not ranked)** |")
    assert rows[5] == "| ref. | _SkeletonCLR_ | joint | 20.00 (n=1) | ST-GCN | random init | precise | – | – |"


def test_the_suites_own_runs_name_their_network_and_the_references_are_named_by_it(reported, papers, tmp_path):
    """NW-UCLA has no claim the suite reproduces: its runs are rows of their own, with the network
    the registry gives the method; the untrained and the supervised network are the pinned rows,
    named by the network (no method is involved), the supervised one in the fine-tune table."""
    recs = tmp_path / "records"
    ucla = {"dataset": "nwucla-xview", "split": "xview", "data": {"fingerprint": "e" * 64, "format": "nwucla"},
            "preset": "cpu", "epochs": 50, "pretrain_seed": 0,
            "checkpoint": {"source": "pretrained", "path": None, "sha256": "p", "layout": "skelebench-encoder"}}
    write_record(real_record(**ucla, metrics={"top1": 70.0, "top5": 95.0}), recs)
    write_record(real_record(**{**ucla, "method": "skelemixclr", "frames": 64}, metrics={"top1": 77.0, "top5": 95.0}),
                 recs)
    for seed in (0, 1, 2):
        write_record(real_record(**{**ucla, "method": "skeletonclr", "seed": seed, "preset": None, "epochs": None,
                                    "pretrain_seed": None, "checkpoint": RANDOM, "bn_statistics": "precise"},
                                 metrics={"top1": 40.0 + seed, "top5": 80.0}), recs)
    write_record(real_record(**{**ucla, "method": "skeletonclr", "protocol": "finetune", "preset": None,
                                "epochs": None, "pretrain_seed": None, "checkpoint": RANDOM, "bn_statistics": None,
                                "protocol_config": {"bn_mode": "train", "epochs": 60, "official_epochs": 110}},
                             metrics={"top1": 67.0, "top5": 95.0}), recs)
    boards = boards_of(real_tables(reported, records_frame(read_records(recs))), papers)
    linear = boards["Linear evaluation — NW-UCLA (reproduced by the suite)"]
    rows = {(r.row.meta["name"], tuple(r.row.meta["extra"])) for g in linear.groups for r in g.rows}
    assert ("AimCLR (cpu preset, 50 ep)", ("ST-GCN", "ST-GCN(h16)", "50")) in rows
    assert ("SkeleMixCLR+ (cpu preset, 50 ep)", ("ST-GCN", "ST-GCN(h16), 2s-AGCN graph", "64")) in rows
    assert ranked(linear)["Reference rows (not ranked)"] == [
        (None, "untrained ST-GCN (init seeds 0–2, precise BN)", 41.0)]
    finetune = boards["Fine-tune — NW-UCLA (reproduced by the suite)"]
    assert ranked(finetune) == {"Reference rows (not ranked)": [
        (None, "supervised ST-GCN (from random init, 60 of 110 epochs)", None)]}
    assert finetune.groups[0].pinned and finetune.groups[0].rows[0].row.meta["extra"] == ["ST-GCN", "ST-GCN(h16)", "50"]


def test_seeds_are_said_as_a_range_where_they_run_on():
    from leaderboard.tables import seeds_text

    assert seeds_text([2, 0, 1]) == "init seeds 0–2" and seeds_text([0, 2]) == "init seeds 0, 2"
    assert seeds_text([3]) == "init seed 3" and seeds_text([]) == ""


def test_a_method_whose_other_seeds_have_not_run_is_ranked_and_its_own_diagnostic_is_not():
    from leaderboard.ranking import current_rows

    def recipe_row(name: str, method: str, n: int) -> Row:
        return Row([name], {}, kind="recipe", meta={"method": method, "recipe": ("pretrained", "cpu", 50), "n": n,
                                                     "schedule": "", "mismatch": "", "bn": "training"})

    rows = [recipe_row("SkeletonCLR", "SkeletonCLR", 3), recipe_row("SkeleMixCLR+", "SkeleMixCLR", 1),
            recipe_row("CrosSCLR [shared_head=False]", "CrosSCLR", 1), recipe_row("CrosSCLR", "CrosSCLR", 3)]
    assert [r.labels[0] for r in current_rows(rows)] == ["SkeletonCLR", "SkeleMixCLR+", "CrosSCLR"]


def test_a_cell_counts_the_runs_that_warned_and_the_records_table_says_which():
    from leaderboard.frame import aggregate, record_warning
    from leaderboard.tables import agg_text

    assert record_warning({"warning": "loss at chance"}) == "evaluation: loss at chance"
    assert record_warning({"warning": "a", "pretraining_warning": "b"}) == "evaluation: a; pretraining: b"
    assert record_warning({"pretraining_warning": ""}) == "" and record_warning({}) == ""
    agg = aggregate([64.87, 36.42, 69.83], ["s0", "s1", "s2"], ["", "pretraining: collapsed", ""])
    assert agg.warned == 1 and agg_text(agg) == "57.04 ± 18.03 (n=3, 1 ⚠)"
    assert agg_text(aggregate([70.0, None], ["a", "b"], ["", "evaluation: x"])) == "70.00 (n=1)"  # no value, no count
    assert agg_text(aggregate([70.0], ["a"])) == "70.00 (n=1)"
    from tests.test_leaderboard_output import record

    frame = records_frame([{**record(), "pretraining_warning": "collapsed", "_path": "r1.json"}])
    assert frame.warning.tolist() == ["pretraining: collapsed"]


def test_a_variant_is_read_against_the_recipe_that_sets_options_itself():
    """CrosSCLR's cpu recipe turns both official quirks off: its runs are the method as the recipe
    runs it (no variant), and the runs of the official head before it are its departures."""
    from leaderboard.frame import method_option, recipe_variant
    from results import variant_label

    assert recipe_variant("crossclr", "cpu", {"shared_head": False, "stale_keys": False}) == {}
    official = recipe_variant("crossclr", "cpu", {})
    assert official == {"shared_head": True, "stale_keys": True}
    assert method_option("crossclr", variant_label(official).strip())
    assert recipe_variant("crossclr", "cpu", {"shared_head": False}) == {"stale_keys": True}
    assert recipe_variant("crossclr", "cpu", {"topk": 2, "shared_head": False, "stale_keys": False}) == {"topk": 2}
    assert recipe_variant("crossclr", "quick", {"shared_head": False}) == {"shared_head": False}  # synthetic: official
    assert recipe_variant("skelemixclr", "cpu", {"temperature": 0.07}) == {"temperature": 0.07}
    assert recipe_variant("crossclr", None, None) is None


def test_a_switched_method_option_is_a_diagnostic_and_a_preset_field_is_not():
    from leaderboard.frame import method_option
    from leaderboard.ranking import current_rows

    assert method_option("crossclr", "[shared_head=False]") and method_option("aimclr", "[normalise_blur=True]")
    assert not method_option("skelemixclr", "[temperature=0.07]")  # the quick/cpu preset's own temperature
    assert not method_option("crossclr", "") and not method_option("no-such-method", "[shared_head=False]")
    meta = {"recipe": ("pretrained", "cpu", 50), "n": 1, "schedule": "", "mismatch": "", "bn": "training"}
    rows = [Row(["CrosSCLR"], {}, kind="recipe", meta={**meta, "method": "CrosSCLR", "option": False}),
            Row(["CrosSCLR [shared_head=False]"], {}, kind="recipe", meta={**meta, "method": "CrosSCLR", "option": True})]
    assert [r.labels[0] for r in current_rows(rows)] == ["CrosSCLR"]


def test_each_encoder_is_ranked_apart_st_gcn_first_with_its_own_current_recipe_and_references(papers, tmp_path):
    """The transformer's run (50) beats every ST-GCN run but never ranks against them: each encoder
    is a block of its own (ST-GCN first), with its own current recipe (the transformer's single
    3-epoch run is ranked in its block, the ST-GCN block's is the 8-epoch recipe) and its own
    untrained network pinned after it."""
    recs = tmp_path / "records"
    for seed, top1 in ((0, 30.0), (1, 32.0), (2, 34.0)):
        write_record(synthetic_record(epochs=8, pretrain_seed=seed, metrics={"top1": top1, "top5": 80.0},
                                      checkpoint={"source": "checkpoint", "path": None, "sha256": f"s{seed}"}), recs)
    write_record(synthetic_record(metrics={"top1": 90.0, "top5": 99.0}), recs)  # ST-GCN, 3 epochs: a diagnostic
    write_record(synthetic_record(encoder="transformer", metrics={"top1": 50.0, "top5": 80.0}), recs)
    write_record(synthetic_record(checkpoint=RANDOM, preset=None, epochs=None, pretrain_seed=None,
                                  metrics={"top1": 20.0, "top5": 50.0}), recs)
    write_record(synthetic_record(method="aimclr", encoder="transformer", checkpoint=RANDOM, preset=None, epochs=None,
                                  pretrain_seed=None, metrics={"top1": 25.0, "top5": 50.0}), recs)
    [(_, tables)] = synthetic_tables(records_frame(read_records(recs)))
    linear = boards_of(tables, papers)["Linear evaluation — synthetic v3"]
    assert ranked(linear) == {"ST-GCN — Single stream": [(1, "SkeletonCLR", 32.0)],
                              "ST-GCN — Reference rows (not ranked)": [(None, "SkeletonCLR", 20.0)],
                              "Transformer — Single stream": [(1, "SkeletonCLR", 50.0)],
                              "Transformer — Reference rows (not ranked)": [(None, "AimCLR", 25.0)]}
    assert [g.pinned for g in linear.groups] == [False, True, False, True]
    assert [cell_text(r.cells["synthetic-xsub"]) for r in linear.other.rows] == ["90.00 (n=1), Δinit +70.00"]
    section = build(recs, tmp_path / "lb").read_text().split("#### Linear evaluation — synthetic v3")[1].split("####")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    assert rows[1].startswith("| **ST-GCN — Single stream** |")
    assert "(▼, descending) within each encoder and stream group." in section
    assert "| 1 | SkeletonCLR | joint | 50.00 (n=1), Δinit +25.00 | Transformer | quick preset, 3 ep | training | " \
        in section
    assert "| ref. | _AimCLR_ | joint | 25.00 (n=1) | Transformer | random init | precise | – | – |" in section


def test_the_suites_runs_on_a_real_benchmark_are_ranked_per_encoder_and_named_by_it(reported, papers, tmp_path):
    """On NW-UCLA the transformer's runs are a block after ST-GCN's, its row names the encoder and
    the network (Transformer: no width, no graph), and its pinned floor is the untrained
    transformer, whichever method ran it."""
    recs = tmp_path / "records"
    ucla = {"dataset": "nwucla-xview", "split": "xview", "data": {"fingerprint": "e" * 64, "format": "nwucla"},
            "preset": "cpu", "epochs": 50, "pretrain_seed": 0, "method": "skeletonclr",
            "checkpoint": {"source": "pretrained", "path": None, "sha256": "p", "layout": "skelebench-encoder"}}
    untrained = {**ucla, "preset": None, "epochs": None, "pretrain_seed": None, "checkpoint": RANDOM,
                 "bn_statistics": "precise"}
    write_record(real_record(**ucla, metrics={"top1": 70.0, "top5": 95.0}), recs)
    write_record(real_record(**{**ucla, "encoder": "transformer"}, metrics={"top1": 72.0, "top5": 95.0}), recs)
    write_record(real_record(**{**ucla, "encoder": "transformer", "method": "aimclr",
                                "checkpoint": {**ucla["checkpoint"], "sha256": "q"}},
                             metrics={"top1": 66.0, "top5": 95.0}), recs)
    write_record(real_record(**untrained, metrics={"top1": 40.0, "top5": 80.0}), recs)
    for seed in (0, 1):
        write_record(real_record(**{**untrained, "encoder": "transformer", "method": "crossclr", "seed": seed},
                                 metrics={"top1": 30.0 + seed, "top5": 80.0}), recs)
    linear = boards_of(real_tables(reported, records_frame(read_records(recs))), papers)[
        "Linear evaluation — NW-UCLA (reproduced by the suite)"]
    assert ranked(linear) == {
        "ST-GCN — Single stream": [(1, "SkeletonCLR (cpu preset, 50 ep)", 70.0)],
        "ST-GCN — Reference rows (not ranked)": [(None, "untrained ST-GCN (init seed 0, precise BN)", 40.0)],
        "Transformer — Single stream": [(1, "SkeletonCLR (cpu preset, 50 ep)", 72.0),
                                        (2, "AimCLR (cpu preset, 50 ep)", 66.0)],
        "Transformer — Reference rows (not ranked)": [(None, "untrained Transformer (init seeds 0, 1, precise BN)",
                                                       30.5)]}
    assert linear.extra_columns == ["encoder", "backbone", "frames"]
    assert linear.groups[2].rows[0].row.meta["extra"] == ["Transformer", "Transformer", "50"]
    assert linear.groups[0].rows[0].row.meta["extra"] == ["ST-GCN", "ST-GCN(h16)", "50"]


def test_claims_on_the_papers_backbones_rank_with_st_gcn_and_name_their_encoder(reported, papers, tmp_path):
    """Today's literature tables keep one ranking (no block titles): the claims whose backbone is
    no suite encoder (CMD's BiGRU) rank with the ST-GCN claims, as the papers rank them, and the
    encoder column says which is which."""
    ntu = boards_of(real_tables(reported, records_frame(read_records(tmp_path))), papers)[
        "Linear evaluation — NTU-60/120"]
    assert [g.title for g in ntu.groups] == ["Single stream", "Multi-stream (score fusion of streams)"]
    extra = {r.row.meta["name"]: r.row.meta["extra"] for r in ntu.groups[0].rows}
    assert extra["CMD"] == ["BiGRU", "BiGRU", "–"] and extra["ISC"] == ["–", "–", "–"]
    assert extra["AimCLR (released model)"] == ["ST-GCN", "ST-GCN(h16)", "50"]
