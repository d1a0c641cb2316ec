"""Checkpoints of the official repositories load as the suite's encoder, or are refused clearly.

The checkpoints are built from the official key lists in ``tests/data/official_checkpoint_keys/``
(name, shape, dtype of every tensor the official models save): random tensors of those shapes,
except the graph ``A``, which is the real one (ST-GCN spatial; 2s-AGCN for SkeleMixCLR+,
methods.md §1.2). The reference is the suite's own STGCN given the same tensors by hand, so a
name that maps wrongly, or a tensor silently left at its random init (methods.md §6), shows up
as different features.
"""

from __future__ import annotations

import ast
import json
import re
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from datasets.graph import build_graph
from methods import load_encoder
from methods.checkpoint import load_checkpoint
from methods.encoders.features import encoder_fingerprint
from methods.encoders.stgcn import STGCN
from methods.official import CHECKPOINT_FORMATS, detect_format, official_backbone
from protocols import linear

KEYS = Path(__file__).parent / "data" / "official_checkpoint_keys"
#: key list → (graph of its encoders, layout name)
OFFICIAL = {
    "skeletonclr": ("stgcn_spatial", "moco-pretrain"),
    "aimclr": ("stgcn_spatial", "moco-pretrain"),
    "skelemixclr_plus": ("agcn", "moco-pretrain"),
    "crossclr_3views": ("stgcn_spatial", "crossclr-3views-pretrain"),
}
X = torch.randn(2, 3, 50, 25, 2, generator=torch.Generator().manual_seed(1))


def key_list(name: str) -> list[tuple[str, tuple[int, ...], torch.dtype]]:
    rows = []
    for line in (KEYS / f"{name}.txt").read_text().splitlines():
        key, shape, dtype = line.split("\t")
        rows.append((key, tuple(ast.literal_eval(shape)), getattr(torch, dtype)))
    return rows


def fake_tensor(key: str, shape: tuple[int, ...], dtype: torch.dtype, graph: str, g: torch.Generator) -> torch.Tensor:
    """A tensor of the listed shape, with values that keep a 10-block forward pass finite."""
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "A":
        return torch.from_numpy(build_graph(graph))
    if dtype != torch.float32:
        return torch.randint(0, 1000, shape, generator=g, dtype=dtype)
    if leaf == "running_var":
        return 0.5 + torch.rand(shape, generator=g)
    if "edge_importance" in key or (leaf == "weight" and len(shape) == 1):  # importance, BN scale: around 1
        return 1.0 + 0.1 * torch.randn(shape, generator=g)
    return 0.1 * torch.randn(shape, generator=g)


def official_state(name: str, queue_size: int | None = None, seed: int = 0) -> OrderedDict:
    """An official checkpoint as torchlight saves it, optionally with another queue size."""
    graph = OFFICIAL[name][0]
    g = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, shape, dtype in key_list(name):
        if queue_size and re.fullmatch(r"queue(_motion|_bone)?", key):
            shape = (shape[0], queue_size)
        state[key] = fake_tensor(key, shape, dtype, graph, g)
    return state


def save(state: dict, path: Path) -> Path:
    torch.save(state, path)
    return path


def by_hand(state: dict, prefix: str, graph: str) -> STGCN:
    """The suite's STGCN given the official tensors under ``prefix``, copied name by name."""
    encoder = STGCN(graph=graph)
    own = encoder.state_dict()
    encoder.load_state_dict({k: state[prefix + re.sub(r"^blocks\.", "st_gcn_networks.", k)] for k in own})
    return encoder.eval()


def assert_same_encoder(loaded: torch.nn.Module, reference: STGCN, features: bool = True) -> None:
    """Same tensors (every one: none left at a random init) and, with ``features``, the same (N, 256)
    features in eval mode (a forward pass costs about a second on a busy 2-core machine)."""
    assert not loaded.training
    assert loaded.state_dict().keys() == reference.state_dict().keys()
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, reference.state_dict()[key]), key
    if not features:
        return
    with torch.no_grad():
        out, ref = loaded(X), reference(X)
    assert out.shape == (2, 256) and out.dtype == torch.float32
    assert torch.isfinite(out).all() and out.std() > 0
    torch.testing.assert_close(out, ref)


# ------------------------------------------------------------------ pure mapping, no files
@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_mapping_gives_the_suite_keys_and_the_same_tensors(name):
    graph, layout = OFFICIAL[name]
    state = official_state(name, queue_size=128)
    assert detect_format(state).name == layout
    found = official_backbone(state)
    assert (found.checkpoint_format.name, found.graph, found.hidden_channels, found.prefix) == (layout, graph, 16, "encoder_q.")
    own = STGCN(graph=graph).state_dict()
    assert set(found.state) == set(own)
    for key, value in found.state.items():
        assert value is state["encoder_q." + re.sub(r"^blocks\.", "st_gcn_networks.", key)]
        assert tuple(value.shape) == tuple(own[key].shape)


# ------------------------------------------------------------------ official files through load_encoder
@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_official_pretraining_checkpoint_gives_the_same_features(name, tmp_path):
    graph, layout = OFFICIAL[name]
    state = official_state(name)
    path = save(state, tmp_path / f"{name}.pt")
    loaded = load_checkpoint(path)
    assert loaded.checkpoint_format == layout and loaded.meta == {}
    assert loaded.encoder.graph == graph
    assert_same_encoder(loaded.encoder, by_hand(state, "encoder_q.", graph))


@pytest.mark.parametrize("stream,prefix", [(None, "encoder_q."), ("joint", "encoder_q."),
                                           ("motion", "encoder_q_motion."), ("bone", "encoder_q_bone.")])
def test_crossclr_returns_the_encoder_of_the_stream(stream, prefix, tmp_path):
    state = official_state("crossclr_3views", queue_size=256)
    path = save(state, tmp_path / "crossclr.pt")
    assert_same_encoder(load_encoder(path, stream=stream), by_hand(state, prefix, "stgcn_spatial"), features=False)


def test_single_stream_checkpoint_ignores_stream(tmp_path):
    """A SkeletonCLR file does not say which stream it learnt; the one query encoder is returned."""
    state = official_state("skeletonclr", queue_size=256)
    path = save(state, tmp_path / "skeletonclr.pt")
    assert_same_encoder(load_encoder(path, stream="motion"), by_hand(state, "encoder_q.", "stgcn_spatial"),
                        features=False)


def test_queue_size_does_not_matter(tmp_path):
    state = official_state("skeletonclr", queue_size=1024)
    assert state["queue"].shape == (128, 1024)
    loaded = load_encoder(save(state, tmp_path / "q.pt"))
    assert_same_encoder(loaded, by_hand(state, "encoder_q.", "stgcn_spatial"), features=False)


def linear_eval_states(name: str) -> dict[str, tuple[dict, str]]:
    """The evaluation-time layouts of a pretraining state: (state, prefix of the backbone)."""
    state = official_state(name, queue_size=128)
    q = {k: v for k, v in state.items() if k.startswith("encoder_q.") and ".fc." not in k}
    classifier = {"fc.weight": torch.randn(60, 256), "fc.bias": torch.zeros(60)}
    return {
        # net.st_gcn.Model: backbone keys without a prefix, plus the linear classifier
        "bare": ({**{k[len("encoder_q."):]: v for k, v in q.items()}, **classifier}, ""),
        # the method wrapper built with pretrain=False: encoder_q only, its fc the classifier
        "wrapper": ({**q, **{f"encoder_q.{k}": v for k, v in classifier.items()}}, "encoder_q."),
        # torch.save of a DataParallel model, without torchlight's prefix removal
        "module": ({f"module.{k}": v for k, v in state.items()}, "module.encoder_q."),
    }


@pytest.mark.parametrize("name,kind", [("skeletonclr", "bare"), ("skelemixclr_plus", "bare"),
                                       ("aimclr", "wrapper"), ("crossclr_3views", "module")])
def test_linear_eval_and_prefixed_checkpoints_load(name, kind, tmp_path):
    state, prefix = linear_eval_states(name)[kind]
    loaded = load_checkpoint(save(state, tmp_path / "eval.pt"))
    assert loaded.checkpoint_format == {"bare": "st-gcn", "wrapper": "moco-eval", "module": OFFICIAL[name][1]}[kind]
    assert_same_encoder(loaded.encoder, by_hand(state, prefix, OFFICIAL[name][0]))


def test_hidden_width_is_read_from_the_first_graph_convolution(tmp_path):
    """A wider or narrower ST-GCN (hidden 8: first gcn conv (24, 3, 1, 1)) still maps to (N, 256)."""
    torch.manual_seed(0)
    narrow = STGCN(hidden_channels=8).eval()
    backbone = {re.sub(r"^blocks\.", "st_gcn_networks.", k): v for k, v in narrow.state_dict().items()}
    state = {**{f"encoder_{s}.{k}": v for s in "qk" for k, v in backbone.items()},
             "queue": torch.zeros(128, 64), "queue_ptr": torch.zeros(1, dtype=torch.long)}
    assert official_backbone(state).hidden_channels == 8
    loaded = load_encoder(save(state, tmp_path / "narrow.pt"))
    assert_same_encoder(loaded, narrow)


def test_crossclr_linear_eval_layout_picks_the_stream(tmp_path):
    state = {k: v for k, v in official_state("crossclr_3views", queue_size=128).items()
             if k.split(".")[0] in ("encoder_q", "encoder_q_motion", "encoder_q_bone") and ".fc." not in k}
    loaded = load_checkpoint(save(state, tmp_path / "eval.pt"), stream="bone")
    assert loaded.checkpoint_format == "crossclr-3views-eval"
    assert_same_encoder(loaded.encoder, by_hand(state, "encoder_q_bone.", "stgcn_spatial"), features=False)


def test_suite_training_file_of_crossclr_picks_the_stream(tmp_path):
    """The suite's CrosSCLR keeps the official names (encoder_q_motion, ...) in its training file."""
    torch.manual_seed(0)
    encoders = {s: STGCN().eval() for s in ("", "_motion", "_bone")}
    model = {f"encoder_q{s}.{k}": v for s, e in encoders.items() for k, v in e.state_dict().items()}
    path = save({"format": "skelebench-training", "encoder": "stgcn", "encoder_kwargs": {}, "model": model,
                 "meta": {"epoch": 3}}, tmp_path / "last.pt")
    for stream, suffix in ((None, ""), ("motion", "_motion"), ("bone", "_bone")):
        loaded = load_checkpoint(path, stream=stream)
        assert loaded.meta == {"epoch": 3} and loaded.checkpoint_format == "skelebench-training"
        assert_same_encoder(loaded.encoder, encoders[suffix], features=False)


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize("key,shape,expected", [
    ("encoder_q.st_gcn_networks.4.tcn.2.weight", (32, 32, 5, 1), (32, 32, 9, 1)),
    ("encoder_q.st_gcn_networks.0.gcn.conv.weight", (48, 6, 1, 1), (48, 3, 1, 1)),  # 6 input channels
    ("encoder_q.st_gcn_networks.9.tcn.2.weight", (512, 512, 9, 1), (256, 256, 9, 1)),
])
def test_wrong_shape_is_refused_naming_the_tensor(key, shape, expected, tmp_path):
    state = official_state("skeletonclr", queue_size=128)
    state[key] = torch.zeros(shape)
    with pytest.raises(ValueError, match="does not fit the encoder") as err:
        load_encoder(save(state, tmp_path / "bad.pt"))
    assert f"{key} has shape {shape}, the encoder expects {expected}" in str(err.value)
    assert "SkeletonCLR, AimCLR, SkeleMixCLR or SkeleMixCLR+ pretraining" in str(err.value)


def test_missing_tensor_is_refused_not_left_random(tmp_path):
    """methods.md §6: the official prefix matching keeps a random tensor where a name is missing."""
    state = official_state("aimclr", queue_size=128)
    del state["encoder_q.st_gcn_networks.3.tcn.2.weight"]
    with pytest.raises(ValueError, match=r"1 missing keys \(e.g. \['encoder_q.st_gcn_networks.3.tcn.2.weight'\]\)"):
        load_encoder(save(state, tmp_path / "missing.pt"))


@pytest.mark.parametrize("graph", [torch.full((3, 25, 25), 0.04), torch.from_numpy(build_graph("agcn")).transpose(1, 2),
                                   torch.rand(3, 18, 18)])
def test_unknown_graph_is_refused(graph, tmp_path):
    state = official_state("skeletonclr", queue_size=128)
    state["encoder_q.A"] = graph.contiguous()
    with pytest.raises(ValueError, match="none of the graphs SkeleBench knows: stgcn_spatial, agcn") as err:
        load_encoder(save(state, tmp_path / "graph.pt"))
    assert "encoder_q.A" in str(err.value)


def test_each_graph_is_detected_from_A():
    state = official_state("skeletonclr", queue_size=128)
    state["encoder_q.A"] = torch.from_numpy(build_graph("agcn"))
    assert official_backbone(state).graph == "agcn"


@pytest.mark.parametrize("state", [
    {"weight": torch.zeros(3)},
    {"state_dict": {"encoder_q.A": torch.zeros(3)}, "epoch": 3},
    {**official_state("skeletonclr", queue_size=128), "predictor.weight": torch.zeros(2)},
    {},
], ids=["foreign", "wrapped", "extra-module", "empty"])
def test_unknown_layout_is_refused_listing_what_is_accepted(state, tmp_path):
    with pytest.raises(ValueError, match="not in a layout SkeleBench knows") as err:
        load_encoder(save(state, tmp_path / "unknown.pt"))
    message = str(err.value)
    assert "skelebench-encoder" in message and all(layout.saved_by in message for layout in CHECKPOINT_FORMATS)


def test_unknown_stream_and_format_are_refused(tmp_path):
    path = save(official_state("crossclr_3views", queue_size=128), tmp_path / "c.pt")
    with pytest.raises(ValueError, match="unknown stream 'rgb'"):
        load_encoder(path, stream="rgb")
    with pytest.raises(ValueError, match="has format 'skelebench-v9'"):
        load_encoder(save({"format": "skelebench-v9"}, tmp_path / "future.pt"))


def test_missing_and_foreign_files_keep_their_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_encoder(tmp_path / "nope.pt")
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="could not be read as a torch file"):
        load_encoder(tmp_path / "junk.pt")


# ------------------------------------------------------------------ the protocol CLI
def test_linear_protocol_evaluates_an_official_checkpoint(tiny_root, tmp_path, capsys):
    state = official_state("crossclr_3views", queue_size=256)
    path = save(state, tmp_path / "crossclr.pt")
    args = ["--method", "skeletonclr", "--checkpoint", str(path), "--data-root", str(tiny_root), "--epochs", "5",
            "--results-dir", str(tmp_path / "records"), "--json"]
    assert linear.main(args + ["--stream", "motion"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["checkpoint"]["source"] == "checkpoint" and record["checkpoint"]["path"] == str(path)
    assert record["stream"] == "motion" and record["preset"] is None and record["epochs"] is None
    # --stream reached the loader: the record names the motion encoder's weights
    motion = by_hand(state, "encoder_q_motion.", "stgcn_spatial")
    assert record["checkpoint"]["sha256"] == encoder_fingerprint(motion)
    assert 0 <= record["metrics"]["top1"] <= 100


def test_skelemixclr_v1_queue_labels_are_accepted(tmp_path):
    """SkeleMixCLR v1 keeps its queue's GT labels in a buffer (``queue_label``); it is not encoder state."""
    state = official_state("skelemixclr_plus", queue_size=128)
    state["queue_label"] = torch.zeros(128)
    loaded = load_encoder(save(state, tmp_path / "v1.pt"))
    assert_same_encoder(loaded, by_hand(state, "encoder_q.", "agcn"), features=False)
