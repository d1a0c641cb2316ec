"""A hostile user's trial of the command line: bad inputs and faults, one command at a time, on tiny
data this script writes itself, each outcome sorted as a user sees it.

    python scripts/hostile_trial.py [--repo CHECKOUT] [--only SUBSTRING] [--out trial.md]

Every case runs ``python -m ...`` in ``--repo`` (default: this checkout) as a separate process and
is classed by what came back:

* ``clean error`` — exit 2, one ``error:`` line that names what the case says it must name, and
  nothing written where nothing should be;
* ``warning`` — the run went on and said ``warning:`` naming the file (cases that ask for one);
* ``ok`` — a good input that must succeed did, and its result is right;
* ``unclear error`` — refused, but the message misses what it must name, or exit code is not 2;
* ``traceback`` — Python's traceback reached the user;
* ``silent wrong`` — exit 0 where the input is bad, or a result that is wrong;
* ``hang`` — no answer within the case's time limit.

Cases that need a read-only or a full file system mount a small tmpfs (root only; skipped
otherwise). Written for issue 24; the trial that filed it had 104 cases, which are not in the
repository, so this is the list rebuilt from the issue's text and the classes of input it names.
The checkout is copied first (without .git and the cache), so it is never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
UCLA_ACTIONS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)


@dataclass
class Outcome:
    code: int | None
    out: str
    err: str
    seconds: float


@dataclass
class Case:
    name: str
    argv: list[str]
    #: "refuse": a clean one-line error; "warn": runs and warns; "ok": runs and is right
    expect: str = "refuse"
    #: words the message must contain (case-insensitive), e.g. the file's name
    names: tuple[str, ...] = ()
    setup: Callable[[Path], None] | None = None
    #: a check after the run: returns a problem (the result is wrong) or None
    check: Callable[[Path, Outcome], str | None] | None = None
    timeout: float = 240.0
    needs_root: bool = False
    cleanup: Callable[[], None] | None = None  # undoes what setup changed in the trial's copy


class Trial:
    def __init__(self, repo: Path, work: Path) -> None:
        self.repo, self.work = repo, work
        self.env = {**os.environ, "SKELEBENCH_CACHE": str(work / "cache"), "SKELEBENCH_RESULTS": str(work / "records"),
                    "PYTHONWARNINGS": "default", "OMP_NUM_THREADS": "2"}
        self.tiny = work / "tiny"
        self.version = self.py("from datasets import synthetic; print(synthetic.GENERATOR_VERSION)").strip()

    def py(self, code: str) -> str:
        done = subprocess.run([sys.executable, "-c", code], cwd=self.repo, env=self.env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"setup failed: {done.stderr[-2000:]}")
        return done.stdout

    def run(self, argv: list[str], timeout: float) -> Outcome:
        start = time.monotonic()
        try:
            done = subprocess.run([sys.executable, *argv], cwd=self.repo, env=self.env, capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
            return Outcome(done.returncode, done.stdout, done.stderr, time.monotonic() - start)
        except subprocess.TimeoutExpired as exc:
            def text(b: bytes | str | None) -> str:
                return b.decode(errors="replace") if isinstance(b, bytes) else (b or "")
            return Outcome(None, text(exc.stdout), text(exc.stderr), time.monotonic() - start)

    # ---- data the cases damage ------------------------------------------------------------------
    def tiny_benchmark(self, root: Path, frames: int = 50, classes: int = 24) -> Path:
        name = f"synthetic-xsub-f{frames}-v{self.version}"
        if not (self.tiny / f"c{classes}" / name).is_dir():
            self.py(f"from datasets import synthetic; synthetic.build_benchmark('xsub', {frames}, "
                    f"{str(self.tiny / f'c{classes}' / name)!r}, subjects=4, classes={classes})")
        shutil.copytree(self.tiny / f"c{classes}" / name, root / name)
        return root / name


def ucla_json(folder: Path, clips: int, seed: int, nan: bool = False) -> None:
    """NW-UCLA in the CTR-GCN release's layout: ``all_sqe/aAA_sSS_eEE_vVV.json``, a standing
    Kinect v1 body in metres that moves a little; ``clips`` per view."""
    import numpy as np

    rng = np.random.default_rng(seed)
    (folder / "all_sqe").mkdir(parents=True, exist_ok=True)
    for i in range(clips):
        for view in (1, 2, 3):
            action = UCLA_ACTIONS[i % len(UCLA_ACTIONS)]
            t = int(rng.integers(20, 40))
            base = np.stack([rng.uniform(-0.2, 0.2, 20), np.linspace(0.7, -0.8, 20), rng.uniform(2.5, 3.0, 20)], 1)
            clip = base[None] + 0.05 * np.sin(np.linspace(0, 4, t))[:, None, None] * rng.normal(size=(1, 20, 3))
            if nan and i == 0 and view == 1:
                clip[3, 4, 1] = np.nan
            name = f"a{action:02d}_s{1 + i % 10:02d}_e{i // 10:02d}_v{view:02d}"
            obj = {"file_name": name, "skeletons": clip.round(6).tolist(), "label": UCLA_ACTIONS.index(action) + 1}
            (folder / "all_sqe" / f"{name}.json").write_text(json.dumps(obj))


def ntu_skeleton(path: Path, frames: int = 30, bad_value: str | None = None) -> None:
    """One raw NTU ``.skeleton`` file: one tracked body, 25 joints (12 values each)."""
    lines = [str(frames)]
    for f in range(frames):
        lines += ["1", "72057594037931101 0 1 1 1 1 0 0.02 0.05 2", "25"]
        for j in range(25):
            x, y, z = 0.02 * j, 0.8 - 0.06 * j + 0.001 * f, 3.2
            line = f"{x:.5f} {y:.5f} {z:.5f} 250.1 200.2 900.3 500.4 0.1 0.2 0.9 0.1 2"
            if bad_value and f == 5 and j == 3:
                line = f"{bad_value} " + line.split(" ", 2)[2]
            lines.append(line)
    path.write_text("\n".join(lines) + "\n")


def ntu_folder(folder: Path, bad: str | None = None, fifo: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for p in (1, 2):
        for a in (1, 2):
            name = f"S001C001P{p:03d}R001A{a:03d}.skeleton"
            ntu_skeleton(folder / name, bad_value=bad if (p, a) == (1, 1) else None)
    if fifo:
        os.mkfifo(folder / "S001C002P001R001A001.skeleton")


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} \
        if folder.is_dir() else {}


def mount_tmpfs(where: Path, options: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True).returncode == 0


def classify(case: Case, outcome: Outcome, problem: str | None) -> tuple[str, str]:
    """(class, the line the user saw) of one case's outcome."""
    lines = [line for line in outcome.err.splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    if outcome.code is None:
        return "hang", f"no answer in {outcome.seconds:.0f} s"
    if "Traceback (most recent call last)" in outcome.err:
        return "traceback", last
    if case.expect == "ok":
        if outcome.code != 0:
            return "unclear error", last
        return ("silent wrong", problem) if problem else ("ok", (outcome.out.strip().splitlines() or [""])[-1])
    if case.expect == "warn" and outcome.code == 0:
        warned = [line for line in lines if "warning" in line.lower()]
        if problem:
            return "silent wrong", problem
        if warned and all(n.lower() in " ".join(warned).lower() for n in case.names):
            return "warning", warned[0]
        return "silent wrong", "exit 0 without a warning naming " + ", ".join(case.names)
    if outcome.code == 0:
        return "silent wrong", problem or "exit 0"
    if case.expect == "warn":  # refused what it should have used, with a word
        return "unclear error", f"exit {outcome.code}: {last}"
    errors = [line for line in lines if line.startswith("error:") or ": error:" in line]
    named = all(n.lower() in last.lower() for n in case.names)
    if problem:
        return "silent wrong", problem
    if outcome.code == 2 and errors and named:
        return "clean error", last
    return "unclear error", f"exit {outcome.code}: {last}"


def cases(t: Trial) -> list[Case]:
    w = t.work
    rec = str(w / "rec")
    lin = ["-m", "protocols.linear", "--method", "skeletonclr", "--checkpoint", "random", "--epochs", "1",
           "--results-dir", rec]

    def no_record(_: Path, __: Outcome) -> str | None:
        left = [p.name for p in (w / "rec").glob("*")] if (w / "rec").is_dir() else []
        return f"left {left} in the results folder" if left else None

    def data(damage: Callable[[Path], None] | None = None) -> Callable[[Path], None]:
        def make(root: Path) -> None:
            folder = t.tiny_benchmark(root)
            if damage:
                damage(folder)
        return make

    def reseal(folder: Path, file: str) -> None:
        import hashlib
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["sha256"][file] = hashlib.sha256((folder / file).read_bytes()).hexdigest()
        (folder / "manifest.json").write_text(json.dumps(manifest))

    def np_edit(edit: Callable, file: str = "train_data.npy", seal: bool = True) -> Callable[[Path], None]:
        def damage(folder: Path) -> None:
            import numpy as np
            stat = (folder / file).stat()
            arr = np.load(folder / file)
            np.save(folder / file, edit(arr))
            if seal:
                reseal(folder, file)
            else:
                os.utime(folder / file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        return damage

    def warm_then(edit: Callable) -> Callable[[Path], None]:
        """Verify once (caching the verification), then replace the content under the same size and mtime."""
        def make(root: Path) -> None:
            folder = t.tiny_benchmark(root)
            t.run(lin + ["--data-root", str(root), "--results-dir", str(w / "warm")], 600)
            np_edit(edit, seal=False)(folder)
        return make

    root = str(w / "data")
    out: list[Case] = []
    add = out.append

    # --- datasets.prepare ---
    add(Case("prepare: --input does not exist", ["-m", "datasets.prepare", "nwucla", "--input", str(w / "nope"),
                                                "--out", str(w / "p1")], names=("nope",)))
    add(Case("prepare: --input is an empty folder", ["-m", "datasets.prepare", "nwucla", "--input", str(w / "empty"),
                                                    "--out", str(w / "p2")],
             setup=lambda _: (w / "empty").mkdir()))
    add(Case("prepare: --out is a file", ["-m", "datasets.prepare", "nwucla", "--input", str(w / "ucla"),
                                          "--out", str(w / "afile")], names=("afile",),
             setup=lambda _: (ucla_json(w / "ucla", 4, 0), (w / "afile").write_text("x"))))
    add(Case("prepare: unknown dataset", ["-m", "datasets.prepare", "ntu99", "--input", str(w), "--out", str(w / "p")]))
    add(Case("prepare: --frames 49", ["-m", "datasets.prepare", "nwucla", "--input", str(w), "--out", str(w / "p"),
                                      "--frames", "49"]))
    add(Case("prepare: NW-UCLA clip with NaN", ["-m", "datasets.prepare", "nwucla", "--input", str(w / "ucla-nan"),
                                               "--out", str(w / "p3")], names=("v01.json",),
             setup=lambda _: ucla_json(w / "ucla-nan", 4, 0, nan=True)))
    add(Case("prepare: NW-UCLA truncated JSON", ["-m", "datasets.prepare", "nwucla", "--input", str(w / "ucla-cut"),
                                                "--out", str(w / "p4")], names=("a01_s01_e00_v01.json",),
             setup=lambda _: (ucla_json(w / "ucla-cut", 4, 0),
                              (w / "ucla-cut/all_sqe/a01_s01_e00_v01.json").write_text('{"skeletons": [[1'))))
    add(Case("prepare: NTU .skeleton with 'nan inf' in a joint line",
             ["-m", "datasets.prepare", "ntu60", "--format", "raw", "--input", str(w / "ntu-nan"),
              "--out", str(w / "p5")], names=("S001C001P001R001A001",),
             setup=lambda _: ntu_folder(w / "ntu-nan", bad="nan inf")))
    add(Case("prepare: NTU .skeleton with '1e999' (inf) in a joint line",
             ["-m", "datasets.prepare", "ntu60", "--format", "raw", "--input", str(w / "ntu-inf"),
              "--out", str(w / "p6")], names=("S001C001P001R001A001",),
             setup=lambda _: ntu_folder(w / "ntu-inf", bad="1e999 0.1")))
    add(Case("prepare: a FIFO named *.skeleton in the NTU folder",
             ["-m", "datasets.prepare", "ntu60", "--format", "raw", "--input", str(w / "ntu-fifo"),
              "--out", str(w / "p7")], expect="warn", names=("S001C002P001R001A001",),
             setup=lambda _: ntu_folder(w / "ntu-fifo", fifo=True), timeout=120))
    add(Case("prepare: NTU .skeleton truncated mid-frame",
             ["-m", "datasets.prepare", "ntu60", "--format", "raw", "--input", str(w / "ntu-cut"),
              "--out", str(w / "p8")], names=("S001C001P001R001A001",),
             setup=lambda _: (ntu_folder(w / "ntu-cut"),
                              (w / "ntu-cut/S001C001P001R001A001.skeleton").write_text("30\n1\n7 0 1 1 1 1 0 0 0 2\n25\n0.1"))))

    def utd_semantics(_: Path, __: Outcome) -> str | None:
        code = textwrap.dedent(f"""
            import numpy as np
            from datasets.store import load_split
            from datasets.layouts import get_layout
            names = get_layout('kinect20').joint_names
            x = load_split({str(w / 'p9' / 'utdmhad-xsub')!r}, 'train').data[0, :, :20, :, 0]
            head = x[:, :, names.index('head')].mean(1)
            feet = [x[:, :, i].mean(1) for i, n in enumerate(names) if 'foot' in n]
            print(float(min(head[1] - f[1] for f in feet)))
        """)
        gap = float(t.py(code))
        return None if gap > 1.0 else f"head only {gap:.2f} m above the feet after preparation"

    def utd_clip(_: Path) -> None:
        import numpy as np
        from scipy.io import savemat
        # a standing body in UTD-MHAD's own order (head, shoulder centre, spine, hip centre, left arm
        # shoulder-elbow-wrist-hand, right arm, left leg hip-knee-ankle-foot, right leg), metres
        y = [0.75, 0.5, 0.2, 0.0, 0.5, 0.25, 0.0, -0.1, 0.5, 0.25, 0.0, -0.1, -0.05, -0.45, -0.85, -0.9,
             -0.05, -0.45, -0.85, -0.9]
        x = [0, 0, 0, 0, -0.2, -0.25, -0.25, -0.25, 0.2, 0.25, 0.25, 0.25, -0.1, -0.1, -0.1, -0.1, 0.1, 0.1, 0.1, 0.1]
        body = np.stack([x, y, np.full(20, 2.8)], 1)
        folder = w / "utd"
        folder.mkdir()
        for s in (1, 2):
            clip = body[:, :, None] + 0.01 * np.random.default_rng(s).normal(size=(20, 3, 30))
            savemat(folder / f"a1_s{s}_t1_skeleton.mat", {"d_skel": clip})
    add(Case("prepare: UTD-MHAD joint semantics (head above the feet)",
             ["-m", "datasets.prepare", "utdmhad", "--input", str(w / "utd"), "--out", str(w / "p9")], expect="ok",
             setup=utd_clip, check=utd_semantics))

    # --- protocols on a prepared benchmark ---
    add(Case("linear: unknown method", lin[:3] + ["nosuch"] + lin[4:] + ["--data-root", root], names=("nosuch",),
             setup=data()))
    add(Case("linear: unknown dataset", lin + ["--dataset", "nosuch-xsub", "--data-root", root], names=("nosuch",),
             setup=data()))
    add(Case("linear: --data-root does not exist", lin + ["--dataset", "nwucla-xview", "--data-root", str(w / "nope")],
             names=("nope",)))
    add(Case("linear: --seed 99999999999999999999999", lin + ["--data-root", root, "--seed", "99999999999999999999999"],
             names=("--seed",), setup=data()))
    add(Case("linear: --seed -1", lin + ["--data-root", root, "--seed", "-1"], names=("--seed",), setup=data()))
    add(Case("linear: --epochs 0", lin + ["--data-root", root, "--epochs", "0"], names=("--epochs",), setup=data()))
    add(Case("linear: --device cuda without a GPU", lin + ["--data-root", root, "--device", "cuda"], names=("cuda",),
             setup=data()))
    add(Case("linear: --device nonsense", lin + ["--data-root", root, "--device", "tpu9"], names=("tpu9",),
             setup=data()))
    ck = [*lin[:4], "--epochs", "1", "--results-dir", rec, "--data-root", root]
    add(Case("linear: --checkpoint missing", ck + ["--checkpoint", str(w / "gone.pt")], names=("gone.pt",),
             setup=data()))
    add(Case("linear: --checkpoint is a folder", ck + ["--checkpoint", str(w / "adir")], names=("adir", "folder"),
             setup=lambda r: (data()(r), (w / "adir").mkdir())))
    add(Case("linear: --checkpoint is a FIFO", ck + ["--checkpoint", str(w / "fifo.pt")], names=("fifo.pt",),
             setup=lambda r: (data()(r), os.mkfifo(w / "fifo.pt")), timeout=120))
    add(Case("linear: --checkpoint is an empty file", ck + ["--checkpoint", str(w / "empty.pt")], names=("empty.pt",),
             setup=lambda r: (data()(r), (w / "empty.pt").write_bytes(b""))))
    add(Case("linear: --checkpoint is garbage", ck + ["--checkpoint", str(w / "junk.pt")], names=("junk.pt",),
             setup=lambda r: (data()(r), (w / "junk.pt").write_bytes(os.urandom(4096)))))
    add(Case("linear: zero-byte train_data.npy", lin + ["--data-root", root], names=("train_data.npy",),
             setup=data(lambda f: (f / "train_data.npy").write_bytes(b"")), check=no_record))
    add(Case("linear: truncated manifest.json", lin + ["--data-root", root], names=("manifest.json",),
             setup=data(lambda f: (f / "manifest.json").write_text((f / "manifest.json").read_text()[:40])),
             check=no_record))
    add(Case("linear: manifest.json is a JSON list", lin + ["--data-root", root], names=("manifest.json",),
             setup=data(lambda f: (f / "manifest.json").write_text("[]")), check=no_record))
    add(Case("linear: missing val_label.pkl", lin + ["--data-root", root], names=("val_label.pkl",),
             setup=data(lambda f: (f / "val_label.pkl").unlink()), check=no_record))
    add(Case("linear: NaN in train_data.npy (checksum left)", lin + ["--data-root", root], names=("train_data.npy",),
             setup=data(np_edit(lambda a: (a.__setitem__((7, 0, 3, 5, 0), float("nan")), a)[1], seal=False)),
             check=no_record))
    add(Case("linear: NaN in train_data.npy, manifest re-hashed", lin + ["--data-root", root],
             names=("train_data.npy",),
             setup=data(np_edit(lambda a: (a.__setitem__((7, 0, 3, 5, 0), float("nan")), a)[1])),
             check=no_record))
    add(Case("linear: 40-frame arrays in a 50-frame benchmark, re-hashed", lin + ["--data-root", root],
             names=("train_data.npy",), setup=data(np_edit(lambda a: a[:, :, :40].copy())), check=no_record))
    add(Case("linear: int64 train_data.npy, re-hashed", lin + ["--data-root", root], names=("train_data.npy",),
             setup=data(np_edit(lambda a: a.astype("int64"))), check=no_record))
    add(Case("linear: labels out of range, re-hashed", lin + ["--data-root", root], names=("train_label.pkl",),
             setup=data(lambda f: (_relabel(f), reseal(f, "train_label.pkl"))), check=no_record))
    add(Case("linear: all-NaN content under the same size and mtime after a verified run", lin + ["--data-root", root],
             names=("train_data.npy",), setup=warm_then(lambda a: a * float("nan")), check=no_record, timeout=600))
    add(Case("linear: --results-dir under a regular file", lin[:-2] + ["--results-dir", str(w / "afile2" / "rec"),
                                                                     "--data-root", root],
             names=("afile2",), setup=lambda r: (data()(r), (w / "afile2").write_text("x"))))
    add(Case("linear: --results-dir on a read-only file system", lin[:-2] + ["--results-dir", str(w / "ro"),
                                                                          "--data-root", root],
             names=("ro",), needs_root=True,
             setup=lambda r: (data()(r), mount_tmpfs(w / "ro", "ro,size=1m") or _skip())))
    add(Case("linear: --results-dir on a full file system", lin[:-2] + ["--results-dir", str(w / "full"),
                                                                     "--data-root", root],
             names=("full",), needs_root=True,
             check=lambda _, __: (f"left {sorted(os.listdir(w / 'full'))}" if any(
                 p for p in os.listdir(w / "full") if p != "fill") else None),
             setup=lambda r: (data()(r), mount_tmpfs(w / "full", "size=64k") or _skip(), _fill(w / "full"))))
    add(Case("knn: --k 0", ["-m", "protocols.knn", "--method", "skeletonclr", "--checkpoint", "random",
                            "--data-root", root, "--results-dir", rec, "--k", "0"], names=("--k",), setup=data()))
    add(Case("semi: --fraction 2", ["-m", "protocols.semi", "--method", "skeletonclr", "--checkpoint", "random",
                                    "--data-root", root, "--results-dir", rec, "--fraction", "2"],
             names=("--fraction",), setup=data()))

    # --- methods.pretrain ---
    pre = ["-m", "methods.pretrain", "--method", "skeletonclr", "--dataset", "nwucla-xview", "--data-root",
           str(w / "u"), "--epochs", "1", "--out", str(w / "run")]
    prep = ["-m", "datasets.prepare", "nwucla", "--input", str(w / "ucla-part"), "--out", str(w / "u")]

    def reprepared(_: Path) -> None:
        ucla_json(w / "ucla-part", 17, 1)
        assert t.run(prep, 300).code == 0
        assert t.run(pre, 600).code == 0
        shutil.rmtree(w / "u")
        ucla_json(w / "ucla-part", 20, 2)  # the rest of the download arrives; prepared again into the same --out
        assert t.run(prep, 300).code == 0
    add(Case("pretrain: a finished run reused after the data were re-prepared", pre, names=("run",),
             setup=reprepared, timeout=600))

    def two_roots(_: Path) -> None:
        for seed, name in ((1, "ua"), (2, "ub")):
            ucla_json(w / f"{name}-in", 64 + seed, seed)
            assert t.run(["-m", "datasets.prepare", "nwucla", "--input", str(w / f"{name}-in"),
                          "--out", str(w / name)], 300).code == 0
        first = t.run(["-m", "protocols.linear", "--method", "skeletonclr", "--dataset", "nwucla-xview",
                       "--data-root", str(w / "ua"), "--epochs", "1", "--results-dir", rec, "--json"], 900)
        assert first.code == 0, first.err[-2000:]

    def other_checkpoint(_: Path, outcome: Outcome) -> str | None:
        recs = [json.loads(p.read_text()) for p in sorted((w / "rec").glob("*.json"))]
        if len(recs) != 2:
            return f"{len(recs)} records"
        a, b = (r["checkpoint"]["sha256"] for r in recs)
        return "the second data reused the first data's pretrained encoder" if a == b else None
    add(Case("linear: implicit pretraining, then other data (--data-root B)",
             ["-m", "protocols.linear", "--method", "skeletonclr", "--dataset", "nwucla-xview", "--data-root",
              str(w / "ub"), "--epochs", "1", "--results-dir", rec], expect="ok", setup=two_roots,
             check=other_checkpoint, timeout=900))
    add(Case("pretrain: --resume on an empty folder", ["-m", "methods.pretrain", "--method", "skeletonclr",
                                                       "--data-root", root, "--epochs", "1", "--out",
                                                       str(w / "emptyrun"), "--resume"],
             names=("emptyrun",), setup=lambda r: (data()(r), (w / "emptyrun").mkdir())))
    add(Case("pretrain: --epochs 0", ["-m", "methods.pretrain", "--method", "skeletonclr", "--data-root", root,
                                      "--epochs", "0", "--out", str(w / "r0")], names=("--epochs",), setup=data()))
    add(Case("pretrain: unknown preset", ["-m", "methods.pretrain", "--method", "skeletonclr", "--data-root", root,
                                          "--preset", "nosuch", "--out", str(w / "r1")], names=("nosuch",),
             setup=data()))
    add(Case("pretrain: unknown --option", ["-m", "methods.pretrain", "--method", "skeletonclr", "--data-root", root,
                                            "--epochs", "1", "--option", "bogus=1", "--out", str(w / "r2")],
             names=("bogus",), setup=data()))
    add(Case("pretrain: --out is a file", ["-m", "methods.pretrain", "--method", "skeletonclr", "--data-root", root,
                                           "--epochs", "1", "--out", str(w / "afile3")], names=("afile3",),
             setup=lambda r: (data()(r), (w / "afile3").write_text("x"))))

    # a real second pretraining beside a first: the first started in the background
    def side_by_side(_: Path) -> None:
        data()(w / "data")
        first = subprocess.Popen([sys.executable, "-m", "methods.pretrain", "--method", "skeletonclr", "--data-root",
                                  root, "--epochs", "3", "--out", str(w / "both")], cwd=t.repo, env=t.env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        (w / "holder.pid").write_text(str(first.pid))
        deadline = time.monotonic() + 120
        while not (w / "both").is_dir() and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)
    add(Case("pretrain: a second process into the same --out", ["-m", "methods.pretrain", "--method", "skeletonclr",
                                                               "--data-root", root, "--epochs", "3", "--out",
                                                               str(w / "both")],
             names=("pid",), setup=side_by_side, timeout=600))
    add(Case("pretrain: a second process resuming the same --out", ["-m", "methods.pretrain", "--method",
                                                                    "skeletonclr", "--data-root", root, "--epochs",
                                                                    "3", "--out", str(w / "both"), "--resume"],
             names=("pid",), setup=side_by_side, timeout=600))
    add(Case("pretrain: full cache disk", ["-m", "methods.pretrain", "--method", "skeletonclr", "--data-root", root,
                                           "--epochs", "1", "--out", str(w / "fullrun" / "run")],
             names=("fullrun",), needs_root=True,
             setup=lambda r: (data()(r), mount_tmpfs(w / "fullrun", "size=512k") or _skip())))

    # --- leaderboard ---
    lb_out = w / "lb"

    def records_copy(edit: Callable[[Path], None] | None = None) -> Callable[[Path], None]:
        def make(_: Path) -> None:
            shutil.copytree(t.repo / "results" / "records", w / "records-copy",
                            ignore=shutil.ignore_patterns("*.npz"))
            shutil.copytree(t.repo / "leaderboard", lb_out, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
            (w / "lb-before.json").write_text(json.dumps({k: v.hex() for k, v in files_of(lb_out).items()}))
            if edit:
                edit(w / "records-copy")
        return make

    def unchanged(_: Path, __: Outcome) -> str | None:
        before = {k: bytes.fromhex(v) for k, v in json.loads((w / "lb-before.json").read_text()).items()}
        after = files_of(lb_out)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        return f"changed {changed[:4]}" if changed else None

    def counted_once(_: Path, outcome: Outcome) -> str | None:
        hits = [line for line in outcome.err.splitlines() if "bad.json" in line]
        return None if len(hits) == 1 else f"{len(hits)} lines name bad.json"

    def bad_record(value: object, key: str = "top1") -> Callable[[Path], None]:
        def edit(folder: Path) -> None:
            src = sorted(p for p in folder.glob("*.json") if "-linear-" in p.name)[-1]
            rec = json.loads(src.read_text())
            if key == "metrics":
                rec.pop("metrics")
            elif key == "method":
                rec["method"] = value
            else:
                rec["metrics"][key] = value
            (folder / "bad.json").write_text(json.dumps(rec))
        return edit
    lb = ["-m", "leaderboard", "--out", str(lb_out)]
    add(Case("leaderboard: --records typo", lb + ["--records", str(w / "records-copy" / "typo")],
             names=("typo",), setup=records_copy(), check=unchanged))
    add(Case("leaderboard: --records an empty folder", lb + ["--records", str(w / "emptyrec")], names=("emptyrec",),
             setup=lambda r: (records_copy()(r), (w / "emptyrec").mkdir()), check=unchanged))
    add(Case("leaderboard: --records a file", lb + ["--records", str(w / "afile4")], names=("afile4",),
             setup=lambda r: (records_copy()(r), (w / "afile4").write_text("{}")), check=unchanged))
    for label, value, key in (("top1 250", 250, "top1"), ("top1 '99.5' (a string)", "99.5", "top1"),
                              ("top1 inf", float("inf"), "top1"), ("top1 NaN", float("nan"), "top1"),
                              ("top1 'abc'", "abc", "top1"), ("no metrics", None, "metrics"),
                              ("method 123", 123, "method"), ("top5 -3", -3, "top5")):
        add(Case(f"leaderboard: a record with {label}", lb + ["--records", str(w / "records-copy")], expect="warn",
                 names=("bad.json",), setup=records_copy(bad_record(value, key)), check=counted_once))
    add(Case("leaderboard: a record holding a JSON list", lb + ["--records", str(w / "records-copy")], expect="warn",
             names=("bad.json",), setup=records_copy(lambda f: (f / "bad.json").write_text("[1, 2]")),
             check=counted_once))
    add(Case("leaderboard: a record that is not JSON", lb + ["--records", str(w / "records-copy")],
             names=("bad.json",), setup=records_copy(lambda f: (f / "bad.json").write_text('{"method": ')),
             check=unchanged))

    reported = t.repo / "leaderboard" / "reported.csv"

    def cut_reported(_: Path) -> None:
        records_copy()(_)
        shutil.copy2(reported, w / "reported.csv")
        reported.write_text(reported.read_text() + '\nskeletonclr,"ntu60-xsub,linear\n')
    add(Case("leaderboard: reported.csv with an unterminated quote", lb + ["--records", str(w / "records-copy")],
             names=("reported.csv",), setup=cut_reported, check=unchanged,
             cleanup=lambda: shutil.copy2(w / "reported.csv", reported)))
    return out


def _relabel(folder: Path) -> None:
    import pickle

    import numpy as np
    names, labels = pickle.loads((folder / "train_label.pkl").read_bytes())
    labels = list(np.asarray(labels) + 1000)
    (folder / "train_label.pkl").write_bytes(pickle.dumps((names, [int(x) for x in labels])))


def _fill(folder: Path) -> None:
    with open(folder / "fill", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass


class Skip(Exception):
    pass


def _skip() -> None:
    raise Skip("cannot mount a tmpfs here (needs root)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", type=Path, default=HERE, help="checkout to try (default: this one)")
    ap.add_argument("--only", help="run the cases whose name contains this")
    ap.add_argument("--out", type=Path, help="write the table as markdown here too")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="trial-") as tmp:
        repo = Path(tmp) / "repo"  # a copy: cases damage files of the checkout (reported.csv)
        shutil.copytree(args.repo.resolve(), repo, ignore=shutil.ignore_patterns(".git", ".cache", "__pycache__"))
        base = Trial(repo, Path(tmp) / "base")
        (Path(tmp) / "base").mkdir()
        for i, case in enumerate(cases(base)):
            if args.only and args.only not in case.name:
                continue
            work = Path(tmp) / f"case{i:03d}"
            work.mkdir()
            trial = Trial.__new__(Trial)
            trial.repo, trial.work, trial.version, trial.tiny = base.repo, work, base.version, base.tiny
            trial.env = {**base.env, "SKELEBENCH_CACHE": str(work / "cache"),
                         "SKELEBENCH_RESULTS": str(work / "records")}
            case = next(c for j, c in enumerate(cases(trial)) if j == i)
            try:
                if case.setup:
                    case.setup(work / "data")
                outcome = trial.run(case.argv, case.timeout)
                problem = case.check(work, outcome) if case.check else None
                kind, said = classify(case, outcome, problem)
            except Skip as why:
                kind, said, outcome = "skipped", str(why), Outcome(None, "", "", 0.0)
            except Exception as err:  # noqa: BLE001 - a case's own setup failing is reported, not fatal
                kind, said, outcome = "setup failed", repr(err)[:300], Outcome(None, "", "", 0.0)
            finally:
                if case.cleanup:
                    case.cleanup()
                pid = work / "holder.pid"
                if pid.is_file():
                    try:
                        os.kill(int(pid.read_text()), 9)
                    except ProcessLookupError:
                        pass
                for mount in ("ro", "full", "fullrun"):
                    if os.path.ismount(work / mount):
                        subprocess.run(["umount", str(work / mount)], capture_output=True)
            rows.append((case.name, kind, said.replace("|", "\\|")[:220], outcome.code, outcome.seconds))
            print(f"{kind:14s} {case.name}  [{outcome.code}, {outcome.seconds:.0f}s]\n{'':15s}{said[:200]}", flush=True)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[1]] = counts.get(row[1], 0) + 1
    table = ["| case | outcome | what the user saw | exit | s |", "|---|---|---|---|---|"]
    table += [f"| {n} | {k} | {s} | {c} | {sec:.0f} |" for n, k, s, c, sec in rows]
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"\n{len(rows)} cases: {summary}")
    if args.out:
        args.out.write_text("\n".join(table) + f"\n\n{len(rows)} cases: {summary}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
