"""Skeleton layouts threaded through everything that is not a reader (issue 14, items 1 and 4).

Hand-derived facts about the layouts' graphs, bone pairs, mirror permutations and body parts; the
preprocessing, augmentations, SkeleMix and corruptions on Kinect v1 and COCO-17 data; checkpoints
that refuse data of another layout; and every method pretrained one step and evaluated with the
linear and KNN protocols on a tiny ``kinect20`` and a tiny ``coco17`` benchmark made by the
synthetic generator (``datasets.synthetic.build_benchmark(..., layout=...)``).
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from datasets import synthetic
from datasets.augment import make_extreme_view, make_normal_view, normal_view, spatial_flip
from datasets.corruptions import gaussian_noise, limb_occlusion
from datasets.graph import agcn, build_graph, stgcn_spatial
from datasets.layouts import COCO17, KINECT20, LAYOUTS, NTU25
from datasets.preprocess import preprocess_sample, valid_length
from datasets.skelemix import random_joint_bounds, sample_region
from datasets.skeleton import JOINT_NAMES, bone_stream, to_stream
from datasets.store import benchmark_layout
from methods import get_method
from methods.base import build_backbone
from methods.checkpoint import atomic_save, encoder_checkpoint, load_checkpoint
from methods.pretrain import pretrain
from methods.zoo import zoo_entry
from protocols import knn, linear

# ------------------------------------------------------------------------- layouts as data


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_mirror_is_an_involution_swapping_left_and_right_names(name):
    lay = LAYOUTS[name]
    perm = np.array(lay.mirror)
    np.testing.assert_array_equal(perm[perm], np.arange(lay.num_joints))
    swapped = 0
    for joint, image in enumerate(lay.mirror):
        a, b = lay.joint_names[joint], lay.joint_names[image]
        if a.startswith("left_"):
            assert b == "right_" + a[len("left_"):]
            swapped += 1
        elif a.startswith("right_"):
            assert b == "left_" + a[len("right_"):]
            swapped += 1
        else:
            assert image == joint  # a midline joint stays where it is
    assert swapped >= 8  # every layout has both arms and both legs


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_edges_form_a_tree_rooted_at_the_centre_and_parts_cover_every_joint(name):
    lay = LAYOUTS[name]
    assert len(lay.edges) == lay.num_joints - 1
    assert lay.bone_parent[lay.center] == lay.center
    for v in range(lay.num_joints):  # following the parents reaches the centre
        seen, u = set(), v
        while u != lay.center:
            assert u not in seen
            seen.add(u)
            u = lay.bone_parent[u]
    assert sorted(j for part in lay.body_parts.values() for j in part) == list(range(lay.num_joints))


# ------------------------------------------------------------------------------- graphs

def test_ntu_graphs_are_the_default_bit_for_bit():
    for name in ("stgcn_spatial", "agcn"):
        np.testing.assert_array_equal(build_graph(name, "ntu25"), build_graph(name))
        np.testing.assert_array_equal(build_graph(name, NTU25), build_graph(name, None))


def test_kinect20_spatial_graph_by_hand():
    """Centre: the shoulder centre (index 2), neighbours spine 1, head 3, shoulders 4 and 8. An entry
    [k, j, i] is 1 / (degree of i + 1); the partition compares the hop distances of j and i to the
    centre, with every distance beyond one hop infinite (the degenerate max_hop 1, methods.md §1.2):
    a pair of joints both beyond one hop compares inf == inf and lands in the "root" part of a[1]."""
    a = stgcn_spatial(layout="kinect20")
    assert a.shape == (3, 20, 20)
    np.testing.assert_allclose(np.diag(a[0]), [1 / 4, 1 / 3, 1 / 5, 1 / 2, 1 / 3, 1 / 3, 1 / 3, 1 / 2,
                                               1 / 3, 1 / 3, 1 / 3, 1 / 2, 1 / 3, 1 / 3, 1 / 3, 1 / 2,
                                               1 / 3, 1 / 3, 1 / 3, 1 / 2], rtol=1e-6)
    assert a[1, 3, 2] == pytest.approx(1 / 5)  # shoulder centre -> head: away from the centre, "close"
    assert a[2, 2, 3] == pytest.approx(1 / 2)  # head -> shoulder centre: towards it, "further"
    assert a[1, 0, 1] == pytest.approx(1 / 3)  # spine -> hip centre (2 hops = inf > 1)
    assert a[2, 1, 0] == pytest.approx(1 / 4)  # hip centre (inf) -> spine (1)
    assert a[1, 5, 6] == pytest.approx(1 / 3) and a[2, 5, 6] == 0  # wrist -> elbow: both inf, "root"
    assert int((a[0] != 0).sum()) == 20  # a[0]: the self-links only
    assert a[:, 3, 0].sum() == 0  # head and hip centre are not linked
    np.testing.assert_allclose(a.sum(axis=(0, 1)), np.ones(20), atol=1e-6)  # column-stochastic


def test_coco17_graphs_by_hand():
    """Centre: the nose (0), whose neighbours are both eyes and both shoulders (pyskl's coco edges)."""
    a = stgcn_spatial(layout="coco17")
    assert a.shape == (3, 17, 17)
    assert a[0, 0, 0] == pytest.approx(1 / 5)
    assert a[1, 1, 0] == pytest.approx(1 / 5)  # nose -> left eye: away from the centre
    assert a[2, 0, 1] == pytest.approx(1 / 3)  # left eye (nose, left ear) -> nose
    assert a[2, 0, 5] == pytest.approx(1 / 4)  # left shoulder (nose, elbow, hip) -> nose
    assert a[1, 13, 15] == pytest.approx(1 / 2)  # left ankle -> left knee, both beyond one hop
    g = agcn("coco17")
    np.testing.assert_array_equal(g[0], np.eye(17))
    assert g[1, 0, 1] == 1.0 and g[1, 5, 7] == 1.0  # inward: child -> parent, one parent per child
    assert g[2, 1, 0] == pytest.approx(1 / 4)  # outward: the nose sends to four children
    assert g[2, 7, 5] == pytest.approx(1 / 2) and g[2, 11, 5] == pytest.approx(1 / 2)  # shoulder -> elbow, hip
    assert int((g[1] != 0).sum()) == 16


# ------------------------------------------------------------------- layout-dependent pieces

def test_bone_stream_of_each_layout():
    x = torch.randn(2, 3, 4, 20, 1)
    b = bone_stream(x, "kinect20")
    assert torch.all(b[:, :, :, KINECT20.center] == 0)
    torch.testing.assert_close(b[:, :, :, 3], x[:, :, :, 3] - x[:, :, :, 2])  # head - shoulder centre
    torch.testing.assert_close(b[:, :, :, 0], x[:, :, :, 0] - x[:, :, :, 1])  # hip centre - spine
    torch.testing.assert_close(to_stream(x, "bone"), b)  # 20 joints: Kinect v1 without naming it
    y = torch.randn(2, 3, 4, 17, 2)
    torch.testing.assert_close(to_stream(y, "bone", COCO17)[:, :, :, 9], y[:, :, :, 9] - y[:, :, :, 7])
    z = torch.randn(1, 3, 2, 25, 2)
    torch.testing.assert_close(to_stream(z, "bone", "ntu25"), bone_stream(z))
    with pytest.raises(ValueError, match="no single skeleton layout has 13 joints"):
        bone_stream(torch.zeros(1, 3, 2, 13, 1))


def test_preprocessing_of_kinect20_and_coco17():
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(3, 30, 20, 1)).astype(np.float32)
    raw[:, :, 8] = raw[:, :, 4] + np.array([0.3, 0.1, 0.2], np.float32)[:, None, None]  # a body turned about y
    raw[:, 20:] = 0  # the body is lost after frame 20
    out = preprocess_sample(raw, 16, layout="kinect20")
    assert out.shape == (3, 16, 20, 1) and valid_length(raw, "kinect20") == 20
    np.testing.assert_allclose(out[:, :, KINECT20.center], 0, atol=1e-6)  # centred on the shoulder centre
    shoulders = out[:, :, 8] - out[:, :, 4]
    np.testing.assert_allclose(shoulders[2], 0, atol=1e-3)  # rotated about y onto the shoulders (the 1e-4 eps)
    np.testing.assert_allclose(shoulders[0], np.hypot(0.3, 0.2), atol=1e-3)
    coco = np.abs(rng.normal(100, 30, size=(3, 30, 17, 2))).astype(np.float32)
    coco[2] = rng.uniform(0.2, 1, size=(30, 17, 2))
    coco[:, :, 0, 0] = 0  # the nose is never detected: the clip keeps its length
    assert valid_length(coco, "coco17") == 30 and valid_length(coco) == 0
    out = preprocess_sample(coco, 30, layout="coco17")
    np.testing.assert_allclose(out[:2, :, 0, 1], 0, atol=1e-4)  # x, y centred on person 1's nose
    np.testing.assert_array_equal(out[2], coco[2])  # the score is kept (equal lengths: a copy)
    np.testing.assert_allclose(out[:2, :, 5, 1], coco[:2, :, 5, 1] - coco[:2, :, 0, 1], atol=1e-4)  # no rotation


def test_flip_and_2d_augmentations_keep_the_score():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 12, 17, 2)).astype(np.float32)
    flipped = spatial_flip(x, np.random.default_rng(0), p=1.0, permutation=COCO17.mirror)
    np.testing.assert_array_equal(flipped[:, :, 5], x[:, :, 6])  # left shoulder <- right shoulder
    np.testing.assert_array_equal(flipped[:, :, 0], x[:, :, 0])  # the nose stays
    assert make_normal_view("kinect20") is normal_view and make_normal_view() is normal_view
    normal = make_normal_view("coco17")
    extreme = make_extreme_view(layout="coco17")
    for view in (normal, extreme):
        for seed in range(6):
            out = view(x, np.random.default_rng(seed))
            assert out.shape == x.shape and out.dtype == np.float32
            # crop and flip move whole joints and frames, scores included; nothing changes a score's value
            assert set(np.unique(out[2])) <= set(np.unique(x[2])) | {0.0}
    # the 2D shear is the 3D shear of the plane z = 0, projected back: the same draws, the top-left block
    three = np.concatenate([x[:2], np.zeros_like(x[:1])])
    np.testing.assert_allclose(normal(x, np.random.default_rng(3))[:2], normal_view(three, np.random.default_rng(3))[:2],
                               rtol=1e-5, atol=1e-5)


def test_skelemix_regions_on_kinect20_are_whole_body_parts():
    parts = [set(p) for p in KINECT20.body_parts.values()]
    rng = np.random.default_rng(0)
    for _ in range(50):
        region = sample_region(8, 64, rng, (2, 3), (7, 11), layout="kinect20")
        joints = set(region.joints)
        chosen = [p for p in parts if p <= joints]
        assert 2 <= len(chosen) <= 3 and set().union(*chosen) == joints  # only whole parts
        assert region.mask(64, 20).shape == (16, 20)
    assert random_joint_bounds(25) == (10, 15) and random_joint_bounds(20) == (8, 12)
    for _ in range(20):
        region = sample_region(8, 64, rng, spatial_mode="random", layout="kinect20")
        assert 8 <= len(region.joints) <= 12 and max(region.joints) < 20
    with pytest.raises(ValueError, match="up to 6 whole body parts, but layout 'coco17' has 5"):
        sample_region(8, 64, rng, (2, 6), layout="coco17")


def test_corruptions_on_other_layouts():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3, 10, 17, 2)).astype(np.float32)
    noisy = gaussian_noise(x, 4, np.random.default_rng(0), layout="coco17")
    np.testing.assert_array_equal(noisy[:, 2], x[:, 2])  # the score is not jittered
    assert not np.array_equal(noisy[:, :2], x[:, :2])
    hidden = limb_occlusion(x, 5, np.random.default_rng(0), layout="coco17")
    assert not hidden.any()  # the five parts cover all 17 joints
    one = limb_occlusion(x, 1, np.random.default_rng(0), layout="coco17")
    zeroed = {j for j in range(17) if not one[0, :, :, j].any()}
    assert zeroed in [set(p) for p in COCO17.body_parts.values()]
    with pytest.raises(ValueError, match="layout 'ntu25' expects"):
        gaussian_noise(x, 1, rng)  # the NTU default refuses COCO-17 data


def test_synthetic_conversions_follow_the_joint_names():
    kinect_from_ntu = {"hip_center": "spine_base", "spine": "spine_mid", "shoulder_center": "spine_shoulder"}
    for name, ntu in zip(KINECT20.joint_names, synthetic.NTU_OF_KINECT20):
        assert JOINT_NAMES[ntu] == kinect_from_ntu.get(name, name)
    for name, ntu in zip(COCO17.joint_names[5:], synthetic.NTU_OF_COCO17_BODY):
        assert JOINT_NAMES[ntu] == name
    raw = synthetic.to_camera(synthetic.generate_performance(
        0, synthetic.make_subject(np.random.default_rng(1)), synthetic.make_subject(np.random.default_rng(2)),
        np.random.default_rng(3)), 2, np.random.default_rng(4))
    kinect, coco = synthetic.to_kinect20(raw), synthetic.to_coco17(raw)
    assert kinect.shape == (3, raw.shape[1], 20, 1) and coco.shape == (3, raw.shape[1], 17, 2)
    tracked = coco[2, :, :, 0] == 1
    assert tracked.mean() > 0.9 and not coco[:, :, :, 1].any()  # one performer: slot 1 stays empty
    u, v = coco[0, :, :, 0][tracked], coco[1, :, :, 0][tracked]
    assert np.all((u > 0) & (u < 640) & (v > 0) & (v < 480))  # inside the 640 x 480 image
    left_eye, right_eye = coco[0, :, 1, 0][tracked[:, 1]], coco[0, :, 2, 0][tracked[:, 2]]
    assert np.abs(left_eye - right_eye).min() > 0  # eyes on either side of the head


def test_methods_refuse_a_layout_without_their_defining_piece(monkeypatch):
    """The four layouts have every piece; a layout without left/right joints or with a single body
    part is refused by AimCLR (its flip) and SkeleMixCLR (its body-part mix) by name."""
    plain = replace(KINECT20, name="plain20", mirror=tuple(range(20)), body_parts={"all": tuple(range(20))})
    monkeypatch.setitem(LAYOUTS, "plain20", plain)
    for method, message in (("aimclr", "AimCLR's spatial flip needs left/right joints; layout 'plain20'"),
                            ("skelemixclr", "up to 3 whole body parts, but layout 'plain20' has 1")):
        cls = get_method(method)
        with pytest.raises(ValueError, match=message):
            cls(replace(cls.default_config, layout="plain20"), queue_size=64)
    for name in ("ntu25", "kinect20", "coco17", "openpose18"):  # every real layout passes both checks
        for method in ("aimclr", "skelemixclr"):
            cls = get_method(method)
            cls(replace(cls.default_config, layout=name), queue_size=64)


# ------------------------------------------------------------------------ checkpoints

def _ntu_encoder_file(tmp_path, drop_layout: bool = False):
    config = get_method("skeletonclr").default_config
    kwargs = config.encoder_kwargs()
    if drop_layout:  # as every file written before layouts existed
        kwargs.pop("layout")
    return atomic_save(encoder_checkpoint(build_backbone(config), "stgcn", kwargs, {"stream": "joint"}),
                       tmp_path / f"ntu{int(drop_layout)}.pt")


def test_the_zoo_serves_ntu25_data_only():
    assert zoo_entry("skeletonclr", "synthetic-xsub", "joint") is not None
    assert zoo_entry("skeletonclr", "synthetic-xsub", "joint", "kinect20") is None


@pytest.mark.parametrize("drop_layout", [False, True])
def test_an_ntu25_checkpoint_refuses_kinect20_data_naming_both(tmp_path, drop_layout):
    path = _ntu_encoder_file(tmp_path, drop_layout)
    loaded = load_checkpoint(path, layout="ntu25")
    assert loaded.skeleton == "ntu25" and loaded.encoder.A.shape == (3, 25, 25)
    with pytest.raises(ValueError, match=r"skeleton layout 'ntu25' \(25 joints.*layout 'kinect20' \(20 joints"):
        load_checkpoint(path, layout="kinect20")


# --------------------------------------------------------------- tiny benchmarks end to end

#: 4 subjects x 4 classes x 3 cameras: 36 training clips (xsub: performers 1, 2, 4) and 12 test clips.
TINY = {"subjects": 4, "classes": 4}
#: Pretraining batch of these runs: the quick preset's 32 would not leave a tiny set cheap, and the
#: layout plumbing does not depend on it (the queue of 1024 stays a multiple).
TINY_BATCH = 8


@pytest.fixture(scope="module", params=["kinect20", "coco17"])
def layout_root(request, tmp_path_factory):
    """A data root whose ``synthetic-xsub`` folders (50 and 64 frames) hold a tiny benchmark of one
    layout, made by the synthetic generator's conversion (``build_benchmark(..., layout=...)``)."""
    root = tmp_path_factory.mktemp(f"tiny-{request.param}")
    for frames in (50, 64):
        folder = root / f"synthetic-xsub-f{frames}-v{synthetic.GENERATOR_VERSION}"
        synthetic.build_benchmark("xsub", frames, folder, layout=request.param, **TINY)
        assert benchmark_layout(folder).name == request.param
    return request.param, root


def _run(main, argv, capsys) -> tuple[int, dict | None, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    return code, (json.loads(lines[-1]) if code == 0 else None), err


@pytest.mark.parametrize("method", ["skeletonclr", "crossclr", "aimclr", "skelemixclr"])
def test_every_method_pretrains_and_is_evaluated_on_another_layout(method, layout_root, tmp_path, capsys,
                                                                  monkeypatch):
    """One pretraining step, then the linear protocol (the standardised probe: the official SGD probe
    needs a batch of 128 training clips, and the probe does not see the layout) and the KNN protocol."""
    layout, root = layout_root
    method_cls = get_method(method)
    monkeypatch.setitem(method_cls.presets, "quick", replace(method_cls.presets["quick"], batch_size=TINY_BATCH))
    out = tmp_path / "run"
    final = pretrain(method, "synthetic-xsub", "quick", epochs=1, out=out, data_root=root, max_steps=1, knn_every=0)
    saved = torch.load(final, weights_only=True)
    assert saved["encoder_kwargs"]["layout"] == layout and saved["meta"]["layout"] == layout
    common = ["--method", method, "--checkpoint", str(out / "last.pt"), "--data-root", str(root),
              "--results-dir", str(tmp_path / "records"), "--json"]
    for main, extra in ((linear.main, ["--probe", "standardised"]), (knn.main, [])):
        code, record, err = _run(main, common + extra, capsys)
        assert code == 0, err
        assert record["layout"] == layout and 0 <= record["metrics"]["top1"] <= 100


def test_protocols_refuse_an_ntu25_checkpoint_and_build_a_random_encoder_for_the_data(layout_root, tmp_path,
                                                                                        capsys):
    layout, root = layout_root
    path = _ntu_encoder_file(tmp_path)
    code, _, err = _run(knn.main, ["--method", "skeletonclr", "--checkpoint", str(path), "--data-root", str(root),
                                   "--results-dir", str(tmp_path)], capsys)
    assert code == 2 and "'ntu25'" in err and f"'{layout}'" in err and len(err.strip().splitlines()) == 1
    code, record, err = _run(knn.main, ["--method", "skeletonclr", "--checkpoint", "random", "--data-root", str(root),
                                        "--results-dir", str(tmp_path), "--json"], capsys)
    assert code == 0, err
    assert record["layout"] == layout
