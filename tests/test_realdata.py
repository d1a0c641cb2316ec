"""Regression tests on the shipped real-data records (opt-in: ``pytest -m realdata --data-root=DIR``).

DIR is where ``python -m leaderboard table nwucla`` (or ``python -m datasets.prepare nwucla``)
prepared the public NW-UCLA download; pass a second ``--data-root=DIR/frames64`` for SkeleMixCLR's
64 frames, and the folders prepared with ``--normalise clip`` for the records made on those (each
record runs on the root whose files it was made on, or else on one prepared the same way, and skips,
saying so, when none is given). Each test re-runs one shipped record's own command on the user's copy of the data and
asks for the same top-1 within :data:`TOLERANCE` points: the untrained floor, the supervised
ceiling, and every method's pretraining seed 0 (the pretraining runs first where the cache lacks
it: SkeletonCLR about 10 minutes on 2 CPU cores, SkeleMixCLR about 40). Select with ``-k``, e.g.
``-k skeletonclr-s0``. Without ``--data-root`` every test skips and says what to provide. The
data themselves are never part of the repository.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from datasets.integrity import fingerprint
from datasets.store import read_manifest
from leaderboard.reproduce import find_data_root
from leaderboard.table import of_the_recipe
from results import RECORDS_DIR, read_records
from utils.paths import REPO_ROOT

#: Points of top-1 a re-run may differ from the shipped record (issue 25: "within 3 points").
TOLERANCE = 3.0
BENCHMARK = "nwucla-xview"


def shipped() -> list[dict]:
    """The shipped NW-UCLA records a user can re-run: seed 0 of every method and of the untrained
    encoder (init seed 0), and the supervised ceiling; the newest of each command. A diagnostic that
    evaluated a named checkpoint file (another option's pretraining) needs that file, so it is left out,
    and so is a record made before its recipe set the options it runs with now (CrosSCLR's official
    head under ``cpu``): its command now trains another encoder."""
    newest: dict[str, dict] = {}
    for rec in read_records(RECORDS_DIR):
        argv = shlex.split(rec.get("command", ""))
        named = "--checkpoint" in argv and argv[argv.index("--checkpoint") + 1:][:1] != ["random"]
        if rec.get("dataset") == BENCHMARK and rec.get("seed") == 0 and not named and rec.get("protocol") in (
                "linear", "knn", "finetune") and of_the_recipe(rec):
            newest[rec["command"]] = rec
    return list(newest.values())


#: Clips per split of the CTR-GCN release of NW-UCLA that every shipped record was made on.
RELEASE_COUNTS = {"train": 1020, "val": 464}


#: The preparation (``--normalise``) of each data fingerprint, as the records that name it say.
PREPARATIONS = {(r.get("data") or {}).get("fingerprint"): r["data"]["normalisation"] for r in read_records(RECORDS_DIR)
                if (r.get("data") or {}).get("normalisation")}


def record_id(rec: dict) -> str:
    source = (rec.get("checkpoint") or {}).get("source")
    who = (rec["method"] if source != "random" else "supervised" if rec["protocol"] == "finetune"
           else f"untrained-{rec['method']}")  # the untrained network of that method (ST-GCN on its graph)
    cfg, data = rec.get("protocol_config") or {}, rec.get("data") or {}
    probe = cfg.get("probe", "")
    # a record made before manifests named the preparation shares its files with one made after
    clip = "-clip" if (data.get("normalisation") or PREPARATIONS.get(data.get("fingerprint"))) == "clip" else ""
    who += f"-{rec['encoder']}" if rec.get("encoder") not in (None, "stgcn") else ""
    # fine-tunes of one network on one preparation differ by their schedule and augmentation
    trained = (f"-e{cfg['epochs']}" + (f"-{cfg['augment']}" if cfg.get("augment") not in (None, "none") else "")
               if rec["protocol"] == "finetune" and "epochs" in cfg else "")
    return f"{who}{clip}-s{rec.get('pretrain_seed') or 0}-{rec['protocol']}{trained}{'-' + probe if probe else ''}"


def data_root_for(config: pytest.Config, frames: int, data: dict | None = None) -> Path:
    """The ``--data-root`` holding the benchmark at ``frames`` frames, and, given a record's
    ``data``, the very files it was made on; failing those, files prepared the same way
    (``--normalise frame`` and ``clip`` data of one download differ by far; the same preparation
    made on another CPU differs in the last bits of the per-frame turn: docs/nwucla.md)."""
    roots = config.getoption("--data-root")
    if not roots:
        pytest.skip("realdata needs the prepared NW-UCLA: pass --data-root=DIR (and --data-root=DIR/frames64), the "
                    "--data-root of `python -m leaderboard table nwucla --input DOWNLOAD --data-root DIR`")
    roots = [r for r in roots if find_data_root([r], BENCHMARK, frames) is not None]
    if not roots:
        pytest.skip(f"no --data-root holds {BENCHMARK} at {frames} frames")
    if data is None:
        return Path(roots[0])
    manifests = {r: read_manifest(Path(r) / BENCHMARK) for r in roots}
    same = [r for r, m in manifests.items() if fingerprint(m) == data.get("fingerprint")]
    alike = [r for r, m in manifests.items() if m.get("normalisation", "frame") == (data.get("normalisation") or "frame")]
    if not same + alike:
        pytest.skip(f"no --data-root holds {BENCHMARK} prepared as this record's data were "
                    f"(--normalise {data.get('normalisation') or 'frame'}): prepare the download so into another folder")
    return Path((same + alike)[0])


def with_options(command: str, **values: str) -> list[str]:
    """A recorded command with some options' values replaced (the user's data root, a private
    results folder) and ``python`` as this interpreter."""
    argv = shlex.split(command)
    for option, value in values.items():
        flag = "--" + option.replace("_", "-")
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    return [sys.executable, *argv[1:]]


@pytest.mark.realdata
def test_the_users_download_is_the_data_the_records_were_made_on(request):
    root = data_root_for(request.config, 50)
    manifest = read_manifest(root / BENCHMARK)
    # what no CPU changes: the release's clips per split and its classes (docs/nwucla.md)
    assert (manifest["counts"], manifest["num_classes"]) == (RELEASE_COUNTS, 10), (
        f"{root / BENCHMARK} has {manifest['counts']} clips and {manifest['num_classes']} classes, not the CTR-GCN "
        f"release's {RELEASE_COUNTS} and 10: another release of NW-UCLA, or a partial download")
    ours = fingerprint(manifest)
    theirs = {(r.get("data") or {}).get("fingerprint") for r in shipped()}
    assert theirs, "no shipped NW-UCLA record"
    if ours not in theirs:  # the accuracies below are then the check, within their tolerance
        pytest.skip(f"{root / BENCHMARK} holds other bytes than the records' (fingerprint {ours[:12]} vs "
                    f"{', '.join(sorted(t[:12] for t in theirs if t))}): another CPU's preparation of the same "
                    "download (docs/nwucla.md)")


@pytest.mark.realdata
@pytest.mark.parametrize("rec", shipped(), ids=record_id)
def test_a_shipped_record_is_reproduced_within_3_points(request, tmp_path, rec):
    root = data_root_for(request.config, int(rec["frames"]), rec.get("data") or {})
    cmd = with_options(rec["command"], data_root=str(root), results_dir=str(tmp_path))
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    (again,) = read_records(tmp_path)
    assert abs(again["metrics"]["top1"] - rec["metrics"]["top1"]) <= TOLERANCE, (
        f"{record_id(rec)}: shipped {rec['metrics']['top1']:.2f}, re-run {again['metrics']['top1']:.2f} "
        f"(tolerance {TOLERANCE}); command: {shlex.join(cmd)}")
