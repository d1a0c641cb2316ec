"""Turn a finished pretraining run into a zoo entry: ``python -m protocols.publish --run DIR``.

Evaluates the run's encoder snapshots with the linear protocol (the curve of linear top-1
against pretraining epochs, epoch 0 being the random-init baseline), then writes the final
backbone and its recorded recipe into ``methods/zoo/`` (temporary files, then renames).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import torch

from datasets import benchmark_folder
from datasets.store import benchmark_layout, load_split, read_manifest
from methods import get_method, load_encoder
from methods.base import build_backbone
from methods.encoders.batchnorm import recalibrate_batchnorm
from methods.encoders.dropout import DEFAULT_MASKS, LEGACY_MASKS
from methods.pretrain import pretrain
from methods.train.folder import encoder_file
from methods.zoo import ZOO_DIR
from protocols.common import num_classes_of
from protocols.golden import write_golden
from protocols.linear import LinearConfig, probe_encoder
from results.provenance import default_device
from utils.cli import ArgumentParser
from utils.files import atomic_write, atomic_write_text


def publish(run: Path, zoo_dir: Path = ZOO_DIR, data_root: Path | None = None, name: str | None = None,
            stream: str | None = None, snapshots: bool = True) -> Path:
    """Evaluate a finished run's encoder of ``stream`` (default: the run's own) and write it into the
    zoo as ``name`` (default: method-dataset-stream); ``snapshots=False`` skips the snapshots (the curve
    then holds the random init and the final epoch only)."""
    run = Path(run)
    info = json.loads((run / "run.json").read_text())
    masks = info.get("dropout_masks", LEGACY_MASKS)  # runs before the field drew torch's
    method, dataset, seed = info["method"], info["dataset"], info["seed"]
    own_stream = info["stream"]
    stream = stream or own_stream
    if stream not in info.get("streams", [own_stream]):
        raise ValueError(f"run {run} trained {', '.join(info.get('streams', [own_stream]))}, not {stream}")
    final_file = run / encoder_file(stream, own_stream)
    frames = get_method(method).default_config.frames
    folder = benchmark_folder(dataset, frames, data_root)
    train, val, manifest = load_split(folder, "train"), load_split(folder, "val"), read_manifest(folder)
    classes = num_classes_of(manifest, train, val)
    device = default_device()

    probe = LinearConfig(epochs=get_method(method).linear_epochs)  # the protocol's schedule (SkeleMixCLR: 150)

    def score(encoder) -> dict:
        metrics = probe_encoder(encoder, folder, train, val, classes, stream, device, probe, seed=seed)[0].metrics
        return {k: metrics[k] for k in ("top1", "top5", "best_top1", "best_epoch")}

    torch.manual_seed(seed)
    layout = benchmark_layout(manifest).name
    config = replace(get_method(method).default_config, layout=layout)
    random_init = recalibrate_batchnorm(build_backbone(config), train, stream, device)
    curve = [{"epoch": 0, **score(random_init)}]
    print(f"epoch   0 (random init, calibrated BN): top1 {curve[0]['top1']:.2f}", file=sys.stderr)
    snapshot = re.compile(re.escape(encoder_file(stream, own_stream, 1)).replace("001", r"(\d{3})") + "$")
    for snap in sorted(run.iterdir()) if snapshots else ():
        match = snapshot.match(snap.name)
        if not match:
            continue
        epoch = int(match.group(1))
        curve.append({"epoch": epoch, **score(load_encoder(snap))})
        print(f"epoch {epoch:3d}: top1 {curve[-1]['top1']:.2f}", file=sys.stderr)
    final = score(load_encoder(final_file))
    if curve[-1]["epoch"] != info["epochs"]:
        curve.append({"epoch": info["epochs"], **final})
    above = [c["epoch"] for c in curve[1:] if c["top1"] > curve[0]["top1"]]
    every = _snapshot_every(curve)
    entry = {
        "method": method, "dataset": dataset, "stream": stream, "seed": seed, "epochs": info["epochs"], "layout": layout,
        "generator_version": manifest.get("generator_version"), "data_fingerprint": info.get("data_fingerprint"),
        "preset": info["preset"], "config": info["config"], "command": info["command"],
        "regenerate": f"python -m methods.pretrain --method {method} --dataset {dataset} --stream {own_stream} "
                      f"--seed {seed} --epochs {info['epochs']}"
                      + (f" --snapshot-every {every}" if every else "")
                      + (f" --augment {info['augment']}" if "augment" in info else ""),  # where its views were drawn
        "wall_s": info["wall_s"], "device": info["device"], "commit": info["commit"], "finished": info["finished"],
        "loss_history": info["history"], "linear": final,
        "dropout_masks": masks,
        "first_steps": {"steps": FIRST_STEPS,
                        "loss": first_steps_loss(method, dataset, seed, own_stream, data_root, dropout_masks=masks)},
        "random_init_linear": curve[0],
        "curve": curve, "first_epoch_above_random_init": above[0] if above else None,
        "beats_random_init": final["top1"] > curve[0]["top1"],
        "note": "synthetic data (datasets/synthetic.py), not NTU RGB+D",
    }
    zoo_dir.mkdir(parents=True, exist_ok=True)
    stem = zoo_dir / (name or f"{method}-{dataset}-{stream}")
    with open(final_file, "rb") as weights:
        atomic_write(stem.with_suffix(".pt"), lambda f: shutil.copyfileobj(weights, f))
    atomic_write_text(stem.with_suffix(".json"), json.dumps(entry, indent=2) + "\n")
    write_golden(stem.with_suffix(".pt"))  # what the default test run compares the entry with
    return stem.with_suffix(".pt")


FIRST_STEPS = 3


def first_steps_loss(method: str, dataset: str, seed: int, stream: str, data_root: Path | None = None,
                     steps: int = FIRST_STEPS, dropout_masks: str = DEFAULT_MASKS) -> float:
    """Mean training loss of the first ``steps`` steps of the recipe's pretraining, run afresh.

    Re-evaluating a shipped checkpoint cannot notice a change to the method (its loss, temperature,
    augmentations or queue): the weights are already trained. The first steps of a new run can:
    the zoo records this number and the tests re-run it (issue 13 item 5)."""
    with tempfile.TemporaryDirectory() as tmp:
        pretrain(method, dataset, "quick", epochs=1, out=Path(tmp) / "run", seed=seed, data_root=data_root,
                 stream=stream, max_steps=steps, knn_every=0, device=torch.device("cpu"), dropout_masks=dropout_masks)
        history = json.loads((Path(tmp) / "run" / "run.json").read_text())["history"]
    return round(float(history[0]["loss"]), 6)


def _snapshot_every(curve: list[dict]) -> int:
    epochs = [c["epoch"] for c in curve[1:]]
    return epochs[0] if epochs else 0


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="python -m protocols.publish", description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, required=True, help="finished run folder (holds run.json, encoder.pt)")
    ap.add_argument("--data-root", type=Path)
    ap.add_argument("--name", help="entry name (default: <method>-<dataset>-<stream>, the one protocols use)")
    ap.add_argument("--stream", help="which of the run's encoders (default: the run's own stream)")
    ap.add_argument("--no-curve", action="store_true", help="evaluate only the final encoder, not the snapshots")
    args = ap.parse_args(argv)
    if not (args.run / "run.json").is_file():
        print(f"error: {args.run} is not a finished run (no run.json); finish or --resume it first", file=sys.stderr)
        return 2
    entry = publish(args.run, data_root=args.data_root, name=args.name, stream=args.stream,
                    snapshots=not args.no_curve)
    print(f"zoo entry: {entry}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
