"""``leaderboard/reported.csv``: one row per claim, every number sourced, tolerances where checked."""

from __future__ import annotations

import pandas as pd
import pytest

from leaderboard.reported import CLAIM_KEY, REPORTED, check_claim, parse_sources, read_reported, source_counts


@pytest.fixture(scope="module")
def reported() -> pd.DataFrame:
    return read_reported()


def test_the_shipped_table_passes_its_own_rules(reported):
    assert len(reported) > 0 and not reported.duplicated(list(CLAIM_KEY)).any()


def test_every_number_has_a_source_and_the_authors_come_first(reported):
    for row in reported.itertuples():
        sources = parse_sources(row.sources)
        assert sources and row.value == sources[0].value
        kinds = [s.primary for s in sources]
        assert kinds == sorted(kinds, reverse=True), row.variant


def test_disagreeing_sources_keep_both_values(reported):
    isc = reported[(reported.variant == "ISC") & (reported.benchmark == "NTU60") & (reported.split == "xview")].iloc[0]
    assert isc.conflict == "yes" and [s.value for s in parse_sources(isc.sources)] == [85.2, 85.2, 78.6]
    assert isc.value == 85.2  # the authors' own README image comes first
    one_claim = reported[(reported.variant == "SkeletonCLR") & (reported.protocol == "linear")
                         & (reported.benchmark == "NTU60") & (reported.split == "xsub")]
    assert len(one_claim) == 1  # once, with its three sources (two READMEs and the list that quotes them)
    assert [s.kind for s in parse_sources(one_claim.iloc[0].sources)] == ["readme", "readme", "secondary"]


def test_checkable_claims_carry_their_tolerance_and_why(reported):
    checked = reported[reported.reproduce != ""]
    assert (checked.tolerance > 0).all() and checked.tolerance_reason.str.len().min() > 40
    assert set(checked.reproduce) == {"released-checkpoint", "paper-preset"}
    fused = checked[checked.stream.str.contains("+", regex=False)]
    assert set(fused.record_metric) == {"top1"} and set(checked[~checked.index.isin(fused.index)].record_metric) == \
        {"best_top1"}
    released = checked[checked.reproduce == "released-checkpoint"]
    assert set(released.suite_method) == {"aimclr", "skelemixclr"}
    assert reported[reported.reproduce == ""].tolerance.isna().all()


def test_suite_methods_exist():
    from methods import available

    assert set(read_reported().suite_method) - {""} <= set(available())


def test_counts_per_method_and_protocol(reported):
    counts = source_counts(reported)
    assert counts.claims.sum() == len(reported)
    sm = counts.set_index(["method", "protocol"])
    assert (sm.loc[("SkeleMixCLR", "linear")].claims, sm.loc[("SkeleMixCLR", "linear")].with_primary) == (8, 8)
    assert (sm.with_primary <= sm.claims).all()


GOOD = {"method": "X", "variant": "X", "suite_method": "skeletonclr", "protocol": "linear", "setting": "",
        "benchmark": "NTU60", "split": "xsub", "stream": "J", "backbone": "", "frames": "50", "metric": "top1_acc",
        "value": "68.3", "conflict": "", "sources": "readme 68.3: README a/b@1 | secondary 68.3: list c/d@2",
        "reproduce": "paper-preset", "record_metric": "best_top1", "tolerance": "2.0", "tolerance_reason": "because"}


@pytest.mark.parametrize("change,problem", [
    ({"sources": "68.3 from somewhere"}, "is not 'KIND VALUE: REFERENCE'"),
    ({"sources": "secondary 68.3: list | readme 68.3: README"}, "secondary source is listed before a primary"),
    ({"value": "68.4"}, "is not the first source's"),
    ({"sources": "readme 68.3: README | secondary 68.9: list"}, "conflict is '' but the sources disagree"),
    ({"conflict": "yes"}, "but the sources agree"),
    ({"tolerance": ""}, "needs a positive tolerance"),
    ({"reproduce": "", "record_metric": ""}, "a tolerance without a way to reproduce"),
    ({"tolerance_reason": " "}, "no tolerance_reason"),
    ({"benchmark": "NTU-60"}, "benchmark 'NTU-60'"),
    ({"stream": "J+X"}, "stream 'J+X'"),
])
def test_a_broken_row_is_refused(change, problem):
    assert check_claim(GOOD) == []
    assert any(problem in p for p in check_claim({**GOOD, **change}))


def test_a_claim_twice_is_refused(tmp_path):
    text = REPORTED.read_text().splitlines()
    path = tmp_path / "r.csv"
    path.write_text("\n".join(text + [text[1]]) + "\n")
    with pytest.raises(ValueError, match="the same claim twice"):
        read_reported(path)


def test_an_nwucla_claim_names_the_suites_cross_view_benchmark():
    from leaderboard.reported import dataset_of

    assert check_claim({**GOOD, "benchmark": "NW-UCLA", "split": "xview"}) == []
    assert dataset_of("NW-UCLA", "xview") == "nwucla-xview"


# ------------------------------------------------------------------------------- methods.csv
def test_every_method_has_its_paper_row_and_every_link_is_https(reported):
    from leaderboard.ranking import read_methods
    from methods import available

    papers = read_methods(reported=reported)  # raises on any problem of the shipped file
    assert set(reported.method) | set(available()) <= set(papers)
    for paper in set(papers.values()):
        assert all(u.startswith("https://") for u in (paper.paper_url, paper.code_url) if u), paper
    # SkeletonCLR and CrosSCLR are one paper; SkeleMixCLR and SkeleMixCLR+ (two registry names) too
    assert papers["SkeletonCLR"].title == papers["CrosSCLR"].title and papers["crossclr"].venue == "CVPR"
    assert papers["skelemixclr"] is papers["skelemixclr-v1"] is papers["SkeleMixCLR"]
    assert papers["aimclr"].code_url == "https://github.com/Levigty/AimCLR"
    # where each row's facts were read, in words a reader can follow (a README, an arXiv page), not ours
    import csv

    from leaderboard.ranking import METHODS_CSV

    with open(METHODS_CSV, newline="", encoding="utf-8") as f:
        sources = [row["facts_from"] for row in csv.DictReader(f)]
    assert all(s.strip() and "issue" not in s.lower() and "research/" not in s for s in sources), sources


GOOD_METHOD = {"method": "X", "registry": "skeletonclr", "authors": "", "paper_title": "T", "venue": "CVPR",
               "year": "2021", "paper_url": "https://arxiv.org/abs/1", "code_url": "https://github.com/a/b",
               "facts_from": "somewhere"}


@pytest.mark.parametrize("change,problem", [
    ({"paper_url": "http://arxiv.org/abs/1"}, "does not start with https://"),
    ({"code_url": "github.com/a/b"}, "does not start with https://"),
    ({"year": "CVPR21"}, "is not a year"),
    ({"registry": "nosuch"}, "registry name 'nosuch' is not a method of the suite"),
    ({"registry": ""}, "the suite's method 'skeletonclr' has no row"),
    ({"method": "Y"}, "reported.csv's method 'X' has no row"),
    ({"facts_from": " "}, "facts_from is empty"),
])
def test_a_broken_methods_row_is_refused(change, problem):
    from leaderboard.ranking import method_problems

    assert method_problems([GOOD_METHOD], {"X"}, {"skeletonclr"}) == []
    assert any(problem in p for p in method_problems([{**GOOD_METHOD, **change}], {"X"}, {"skeletonclr"}))
    assert "method 'X' twice" in " ".join(method_problems([GOOD_METHOD, {**GOOD_METHOD, "registry": ""}], {"X"},
                                                          {"skeletonclr"}))
