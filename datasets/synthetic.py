"""The embedded default dataset: synthetic, NTU-like skeleton actions generated on the fly.

Real NTU RGB+D / PKU-MMD need a registration and cannot ship, so every command defaults to
this generator. **Numbers measured on it are synthetic numbers, never NTU numbers**; every
record and table names the dataset ``synthetic-*``.

What it imitates (issue 2 item 3, data.md §1):

* the 25 Kinect v2 joints with adult bone lengths in metres, forward kinematics of articulated
  body-part motions, camera space at 2.5–3.5 m depth seen from three azimuths (−45°, 0°, +45°,
  like NTU's three simultaneous cameras), Gaussian sensor noise and short tracking glitches;
* 40 subjects with their own body proportions, posture, speed and amplitude; 24 classes of
  which 4 are two-person interactions (the second slot is all zeros otherwise);
* NTU file names ``SsssCcccPpppRrrrAaaa`` so NTU's own split rules apply unchanged:
  ``synthetic-xsub`` trains on NTU-60's 20 training subjects, ``synthetic-xview`` on cameras 2
  and 3;
* raw sequences of variable length are run through the official preprocessing
  (:func:`datasets.preprocess.preprocess_sample`: centre on the spine shoulder, linear resize
  to the method's frame count, shoulder y-rotation) and cached as a benchmark folder
  (:mod:`datasets.store`), exactly what the real loaders produce.

Everything is a deterministic function of the seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datasets.preprocess import preprocess_sample
from datasets.progress import progress
from datasets.store import BenchmarkWriter

NUM_SUBJECTS = 40
CAMERAS = (1, 2, 3)
CAMERA_AZIMUTH_DEG = {1: 45.0, 2: 0.0, 3: -45.0}
RAW_FRAMES = 300
DEFAULT_SEED = 0
GENERATOR_VERSION = 2

#: NTU-60 cross-subject training performers (data.md §1); synthetic subjects are 1..40 too.
XSUB_TRAIN_SUBJECTS = frozenset({1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38})
XVIEW_TRAIN_CAMERAS = frozenset({2, 3})

# Kinematic tree for forward kinematics (0-based child -> parent), root = spine base.
_FK_ORDER = (1, 20, 2, 3, 4, 5, 6, 7, 21, 22, 8, 9, 10, 11, 23, 24, 12, 13, 14, 15, 16, 17, 18, 19)
_FK_PARENT = {1: 0, 20: 1, 2: 20, 3: 2, 4: 20, 5: 4, 6: 5, 7: 6, 21: 7, 22: 7, 8: 20, 9: 8, 10: 9, 11: 10,
              23: 11, 24: 11, 12: 0, 13: 12, 14: 13, 15: 14, 16: 0, 17: 16, 18: 17, 19: 18}
# Adult bone lengths in metres for a 1.75 m person.
_BONE_LENGTH = {1: 0.25, 20: 0.22, 2: 0.07, 3: 0.14, 4: 0.17, 5: 0.28, 6: 0.25, 7: 0.08, 21: 0.07, 22: 0.05,
                8: 0.17, 9: 0.28, 10: 0.25, 11: 0.08, 23: 0.07, 24: 0.05, 12: 0.09, 13: 0.42, 14: 0.40,
                15: 0.12, 16: 0.09, 17: 0.42, 18: 0.40, 19: 0.12}

ANGLE_KEYS = ("bend", "side", "twist", "le1", "lp1", "le2", "lp2", "re1", "rp1", "re2", "rp2",
              "lf", "lk", "rf", "rk", "lift", "shift")


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _rot_x(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _rot_y(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rot_z(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def _limb(side: float, elevation: np.ndarray, plane: np.ndarray) -> np.ndarray:
    """Direction of a limb segment in the body frame (x = subject's left, y up, z forward).
    ``elevation`` 0 hangs down, π points up; ``plane`` 0 is sideways, π/2 forward, >π/2 across
    the body."""
    s = np.sin(elevation)
    return np.stack([side * s * np.cos(plane), -np.cos(elevation), s * np.sin(plane)], -1)


def forward_kinematics(angles: dict[str, np.ndarray], lengths: dict[int, float]) -> np.ndarray:
    """Joint positions ``(T, 25, 3)`` in the body frame, feet on the floor (y = 0) unless lifted."""
    t = len(angles["bend"])
    trunk = _rot_x(angles["bend"]) @ _rot_z(angles["side"]) @ _rot_y(angles["twist"])
    up = np.array([0.0, 1.0, 0.0])
    dirs: dict[int, np.ndarray] = {}
    trunk_up = trunk @ up
    for j in (1, 20, 2, 3):
        dirs[j] = trunk_up
    for side, sh, (e1, p1, e2, p2), chain in (
        (1.0, 4, ("le1", "lp1", "le2", "lp2"), (5, 6, 7, 21, 22)),
        (-1.0, 8, ("re1", "rp1", "re2", "rp2"), (9, 10, 11, 23, 24)),
    ):
        dirs[sh] = trunk @ _unit(np.array([side, -0.12, 0.0]))
        upper = np.einsum("tij,tj->ti", trunk, _limb(side, angles[e1], angles[p1]))
        fore = np.einsum("tij,tj->ti", trunk, _limb(side, angles[e2], angles[p2]))
        dirs[chain[0]] = upper
        dirs[chain[1]] = fore
        dirs[chain[2]] = fore
        dirs[chain[3]] = fore
        dirs[chain[4]] = _unit(fore + 0.6 * np.einsum("tij,j->ti", trunk, np.array([0.0, 0.0, 1.0])))
    for side, hip, f, k, chain in ((1.0, 12, "lf", "lk", (13, 14, 15)), (-1.0, 16, "rf", "rk", (17, 18, 19))):
        dirs[hip] = np.broadcast_to(_unit(np.array([side, -0.25, 0.0])), (t, 3))
        dirs[chain[0]] = _limb(side * 0.1, angles[f], np.full(t, math.pi / 2))
        dirs[chain[1]] = _limb(side * 0.1, angles[f] - angles[k], np.full(t, math.pi / 2))
        dirs[chain[2]] = _unit(_limb(0.0, angles[f] - angles[k], np.full(t, math.pi / 2)) * 0.3 + np.array([0, 0, 1.0]))
    pos = np.zeros((t, 25, 3))
    for j in _FK_ORDER:
        pos[:, j] = pos[:, _FK_PARENT[j]] + lengths[j] * dirs[j]
    feet = pos[:, [14, 15, 18, 19], 1].min(axis=1)
    pos[:, :, 1] -= feet[:, None]
    pos[:, :, 1] += angles["lift"][:, None]
    pos[:, :, 2] += angles["shift"][:, None]
    return pos


# --------------------------------------------------------------------------- action library
def _envelope(u: np.ndarray, rise: float = 0.25) -> np.ndarray:
    """Smooth raise-hold-lower envelope over the active phase u ∈ [0, 1]."""
    a = np.clip(u / rise, 0, 1)
    b = np.clip((1 - u) / rise, 0, 1)
    return (a * a * (3 - 2 * a)) * (b * b * (3 - 2 * b))


def _pulse(u: np.ndarray, n: float, sharp: float = 2.0) -> np.ndarray:
    return np.maximum(0.0, np.sin(2 * math.pi * n * u)) ** sharp


Action = Callable[[np.ndarray, dict, "np.random.Generator"], dict[str, np.ndarray]]


def _one_arm(side: str, e1, p1, e2, p2) -> dict[str, np.ndarray]:
    return {f"{side}e1": e1, f"{side}p1": p1, f"{side}e2": e2, f"{side}p2": p2}


def _raise(side: str) -> Action:
    def f(u, s, rng):
        env = _envelope(u) * s["amp"]
        return _one_arm(side, 2.6 * env, 1.1 + 0.0 * u, 2.8 * env, 1.1 + 0.0 * u)
    return f


def _wave(side: str) -> Action:
    def f(u, s, rng):
        env = _envelope(u, 0.2)
        n = s["reps"] + 1
        return _one_arm(side, 2.0 * env * s["amp"], 0.3 + 0 * u, 2.8 * env, 0.2 + env * 0.8 * np.sin(2 * math.pi * n * u))
    return f


def _punch(side: str) -> Action:
    def f(u, s, rng):
        env = _envelope(u, 0.15)
        p = _pulse(u, s["reps"], 3.0)
        return _one_arm(side, env * (1.2 + 0.3 * p) * s["amp"], 1.5 + 0 * u, env * (2.5 - 1.0 * p), 1.5 + 0 * u)
    return f


def _kick(side: str) -> Action:
    def f(u, s, rng):
        env = _envelope(u, 0.1)
        p = _pulse(u, max(1, s["reps"] - 1), 2.0)
        return {f"{side}f": env * 1.3 * p * s["amp"], f"{side}k": env * (1.2 * p * (1 - p) * 2 + 0.2 * p)}
    return f


def _both_up(u, s, rng):
    env = _envelope(u) * s["amp"]
    bounce = 0.15 * np.sin(2 * math.pi * (s["reps"] + 1) * u) * env
    return {**_one_arm("l", 2.7 * env + bounce, 0.3 + 0 * u, 2.9 * env + bounce, 0.3 + 0 * u),
            **_one_arm("r", 2.7 * env + bounce, 0.3 + 0 * u, 2.9 * env + bounce, 0.3 + 0 * u)}


def _clap(u, s, rng):
    env = _envelope(u, 0.15)
    o = 0.35 * np.sin(2 * math.pi * (s["reps"] + 2) * u) * env
    arm = dict(e1=1.2 * env * s["amp"], p1=1.4 + 0 * u, e2=1.6 * env, p2=math.pi / 2 + 0.55 * env + o)
    return {**_one_arm("l", **arm), **_one_arm("r", **arm)}


def _push(u, s, rng):
    env = _envelope(u, 0.15)
    p = _pulse(u, 1, 3.0)
    arm = dict(e1=env * (1.2 + 0.3 * p) * s["amp"], p1=1.5 + 0 * u, e2=env * (2.4 - 0.9 * p), p2=1.6 + 0 * u)
    return {**_one_arm("l", **arm), **_one_arm("r", **arm), "bend": 0.25 * p * env}


def _squat(u, s, rng):
    env = _envelope(u, 0.3) * s["amp"]
    arm = dict(e1=1.4 * env, p1=1.5 + 0 * u, e2=1.5 * env, p2=1.5 + 0 * u)
    return {"lf": 1.3 * env, "lk": 2.2 * env, "rf": 1.3 * env, "rk": 2.2 * env, "bend": 0.4 * env,
            **_one_arm("l", **arm), **_one_arm("r", **arm)}


def _jump(u, s, rng):
    env = _envelope(u, 0.1)
    ph = np.sin(2 * math.pi * s["reps"] * u)
    crouch = 0.5 * np.maximum(0, -ph) * env
    arm = dict(e1=env * (0.4 + 1.6 * np.maximum(0, ph)), p1=1.3 + 0 * u, e2=env * (0.5 + 1.8 * np.maximum(0, ph)), p2=1.3 + 0 * u)
    return {"lift": 0.22 * np.maximum(0, ph) * env * s["amp"], "lf": crouch, "lk": 2 * crouch, "rf": crouch,
            "rk": 2 * crouch, **_one_arm("l", **arm), **_one_arm("r", **arm)}


def _bow(u, s, rng):
    env = _envelope(u, 0.3) * s["amp"]
    return {"bend": 1.0 * env, "le1": 0.9 * env, "re1": 0.9 * env, "lp1": 1.5 + 0 * u, "rp1": 1.5 + 0 * u,
            "le2": 0.9 * env, "re2": 0.9 * env, "lp2": 1.5 + 0 * u, "rp2": 1.5 + 0 * u}


def _side_bend(u, s, rng):
    env = _envelope(u, 0.15)
    arm = dict(e1=2.8 * env, p1=0.2 + 0 * u, e2=2.9 * env, p2=0.2 + 0 * u)
    return {"side": 0.45 * env * np.sin(2 * math.pi * s["reps"] * u) * s["amp"], **_one_arm("l", **arm), **_one_arm("r", **arm)}


def _touch_head(u, s, rng):
    env = _envelope(u, 0.25)
    wig = 0.1 * np.sin(2 * math.pi * 4 * u) * env
    return _one_arm("r", 2.3 * env * s["amp"], 0.6 + 0 * u, 2.5 * env + wig, math.pi - 0.3 + 0 * u)


def _drink(u, s, rng):
    env = _envelope(u, 0.3)
    tilt = 0.15 * np.sin(2 * math.pi * 2 * u) * env
    return {**_one_arm("r", 0.6 * env * s["amp"], 1.5 + 0 * u, 2.6 * env + tilt, 2.0 + 0 * u), "bend": -0.1 * env}


def _phone(u, s, rng):
    env = _envelope(u, 0.25)
    return {**_one_arm("r", 0.9 * env * s["amp"], 0.4 + 0 * u, 2.8 * env, math.pi - 0.2 + 0 * u), "side": -0.08 * env}


def _cross_arms(u, s, rng):
    env = _envelope(u, 0.3)
    arm = dict(e1=0.6 * env * s["amp"], p1=1.3 + 0 * u, e2=1.57 * env, p2=math.pi - 0.3 + 0 * u)
    return {**_one_arm("l", **arm), **_one_arm("r", **arm)}


def _walk(u, s, rng):
    env = _envelope(u, 0.1)
    ph = np.sin(2 * math.pi * (s["reps"] + 1) * u)
    lf, rf = 0.6 * np.maximum(0, ph) * env * s["amp"], 0.6 * np.maximum(0, -ph) * env * s["amp"]
    return {"lf": lf, "lk": 1.3 * lf, "rf": rf, "rk": 1.3 * rf,
            "le1": 0.35 * np.maximum(0, -ph) * env, "re1": 0.35 * np.maximum(0, ph) * env,
            "lp1": 1.5 + 0 * u, "rp1": 1.5 + 0 * u, "lp2": 1.5 + 0 * u, "rp2": 1.5 + 0 * u,
            "le2": 0.5 * np.maximum(0, -ph) * env, "re2": 0.5 * np.maximum(0, ph) * env}


def _throw(u, s, rng):
    env = _envelope(u, 0.15)
    swing = np.clip((u - 0.45) / 0.15, 0, 1)
    swing = swing * swing * (3 - 2 * swing)
    return {**_one_arm("r", 2.2 * env * s["amp"], -0.8 + 2.3 * swing, 2.6 * env, -0.6 + 2.1 * swing),
            "lf": 0.4 * swing * env, "lk": 0.2 * swing * env, "twist": 0.4 * (swing - 0.5) * env}


def _still(u, s, rng):
    return {}


def _handshake(u, s, rng):
    env = _envelope(u, 0.3)
    shake = 0.15 * np.sin(2 * math.pi * 4 * u) * env
    return _one_arm("r", 0.9 * env * s["amp"], 1.3 + 0 * u, 1.4 * env + shake, 1.7 + 0 * u)


def _push_receive(u, s, rng):
    hit = np.clip((u - 0.5) / 0.12, 0, 1)
    return {"bend": -0.35 * hit * _envelope(u, 0.1), "shift": -0.35 * hit,
            **_one_arm("l", 0.5 * hit, 1.5 + 0 * u, 0.9 * hit, 1.5 + 0 * u)}


def _push_give(u, s, rng):
    env = _envelope(u, 0.15)
    p = np.exp(-((u - 0.5) / 0.08) ** 2)
    arm = dict(e1=env * (1.1 + 0.4 * p) * s["amp"], p1=1.5 + 0 * u, e2=env * (2.2 - 0.7 * p), p2=1.6 + 0 * u)
    return {**_one_arm("l", **arm), **_one_arm("r", **arm), "shift": 0.25 * np.clip((u - 0.35) / 0.2, 0, 1)}


def _hug(u, s, rng):
    env = _envelope(u, 0.3)
    arm = dict(e1=1.4 * env, p1=1.2 + 0 * u, e2=1.5 * env, p2=math.pi / 2 + 1.0 * env)
    return {**_one_arm("l", **arm), **_one_arm("r", **arm), "shift": 0.3 * env * s["amp"]}


def _point(u, s, rng):
    env = _envelope(u, 0.2) * s["amp"]
    return _one_arm("r", 1.6 * env, 1.5 + 0 * u, 1.65 * env, 1.5 + 0 * u)


def _idle(u, s, rng):
    return {"twist": 0.05 * np.sin(2 * math.pi * u)}


@dataclass(frozen=True)
class ActionClass:
    name: str
    actor: Action
    partner: Action | None = None  # two-person interaction when set
    duration: int = 70              # typical active frames at 30 fps


CLASSES: tuple[ActionClass, ...] = (
    ActionClass("raise right hand", _raise("r")),
    ActionClass("raise left hand", _raise("l")),
    ActionClass("wave right hand", _wave("r"), duration=90),
    ActionClass("wave left hand", _wave("l"), duration=90),
    ActionClass("cheer up", _both_up, duration=80),
    ActionClass("clapping", _clap, duration=80),
    ActionClass("punch with right hand", _punch("r"), duration=80),
    ActionClass("push with both hands", _push, duration=60),
    ActionClass("kick with right leg", _kick("r"), duration=70),
    ActionClass("kick with left leg", _kick("l"), duration=70),
    ActionClass("squat down", _squat, duration=90),
    ActionClass("jump up", _jump, duration=80),
    ActionClass("bow", _bow, duration=80),
    ActionClass("side bend", _side_bend, duration=100),
    ActionClass("touch head", _touch_head, duration=80),
    ActionClass("drink water", _drink, duration=90),
    ActionClass("make a phone call", _phone, duration=100),
    ActionClass("cross arms", _cross_arms, duration=80),
    ActionClass("walk in place", _walk, duration=100),
    ActionClass("throw", _throw, duration=60),
    ActionClass("handshake", _handshake, _handshake, duration=80),
    ActionClass("push other person", _push_give, _push_receive, duration=70),
    ActionClass("hug", _hug, _hug, duration=90),
    ActionClass("point finger at other", _point, _idle, duration=70),
)
NUM_CLASSES = len(CLASSES)


@dataclass(frozen=True)
class Subject:
    scale: float
    proportions: dict[int, float]
    posture: dict[str, float]
    speed: float
    amplitude: float


def make_subject(rng: np.random.Generator) -> Subject:
    """Body size, proportions, resting posture and movement style of one performer."""
    return Subject(
        scale=float(rng.uniform(0.86, 1.12)),
        proportions={j: float(rng.uniform(0.92, 1.08)) for j in _BONE_LENGTH},
        posture={"bend": rng.normal(0, 0.06), "side": rng.normal(0, 0.03), "le1": abs(rng.normal(0.15, 0.06)),
                 "re1": abs(rng.normal(0.15, 0.06)), "le2": abs(rng.normal(0.2, 0.08)),
                 "re2": abs(rng.normal(0.2, 0.08)), "lp2": rng.normal(1.2, 0.2), "rp2": rng.normal(1.2, 0.2)},
        speed=float(rng.uniform(0.8, 1.25)),
        amplitude=float(rng.uniform(0.85, 1.15)),
    )


def perform(action: Action, subject: Subject, duration: int, rng: np.random.Generator, idle: tuple[int, int]) -> np.ndarray:
    """One body's motion ``(T, 25, 3)`` in its own body frame: idle, the action, idle."""
    t = idle[0] + duration + idle[1]
    u = np.clip((np.arange(t) - idle[0]) / max(duration - 1, 1), 0.0, 1.0)
    style = {"amp": subject.amplitude * rng.uniform(0.85, 1.15), "reps": int(rng.integers(2, 4))}
    angles = {k: np.zeros(t) for k in ANGLE_KEYS}
    for key, value in subject.posture.items():
        angles[key] = angles[key] + value
    for key, value in action(u, style, rng).items():
        angles[key] = angles[key] + value
    sway = np.cumsum(rng.normal(0, 0.004, t))
    angles["twist"] = angles["twist"] + sway
    lengths = {j: _BONE_LENGTH[j] * subject.scale * subject.proportions[j] for j in _BONE_LENGTH}
    return forward_kinematics(angles, lengths)


def _camera_frame(azimuth: float, distance: float, height: float, roll: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotation (world → camera, rows = camera axes) and camera position, looking at the torso,
    the sensor rolled by ``roll`` about its optical axis (a camera that is not level)."""
    pos = np.array([distance * math.sin(azimuth), height, distance * math.cos(azimuth)])
    forward = _unit(np.array([0.0, 1.0, 0.0]) - pos)
    right = _unit(np.cross(forward, np.array([0.0, 1.0, 0.0])))
    up = np.cross(right, forward)
    c, s = math.cos(roll), math.sin(roll)
    right, up = c * right + s * up, -s * right + c * up
    return np.stack([-right, up, forward]), pos


def generate_performance(label: int, subject: Subject, partner: Subject, rng: np.random.Generator) -> np.ndarray:
    """World-space bodies ``(T, 25, 3, M=2)`` of one performance (the partner slot zero for
    single-person classes)."""
    cls = CLASSES[label]
    duration = int(round(cls.duration * rng.uniform(0.8, 1.25) / subject.speed))
    idle = (int(rng.integers(5, 25)), int(rng.integers(5, 25)))
    yaw = rng.normal(0, 0.25)
    bodies = np.zeros((idle[0] + duration + idle[1], 25, 3, 2))
    actor = perform(cls.actor, subject, duration, rng, idle)
    if cls.partner is None:
        bodies[..., 0] = actor @ _rot_y(np.array(yaw)).T
        return bodies
    other = perform(cls.partner, partner, duration, rng, idle)
    gap = rng.uniform(0.45, 0.6)
    # the two face each other along world x, facing the cameras' side at an angle
    face_a, face_b = yaw + math.pi / 2, yaw - math.pi / 2
    bodies[..., 0] = actor @ _rot_y(np.array(face_a)).T + (_rot_y(np.array(yaw)) @ np.array([-gap, 0, 0]))
    bodies[..., 1] = other @ _rot_y(np.array(face_b)).T + (_rot_y(np.array(yaw)) @ np.array([gap, 0, 0]))
    return bodies


def to_camera(bodies: np.ndarray, camera: int, rng: np.random.Generator) -> np.ndarray:
    """Project world bodies into one Kinect's camera space with sensor noise and glitches;
    returns ``(3, T, 25, 2)`` with absent persons all zero."""
    azimuth = math.radians(CAMERA_AZIMUTH_DEG[camera] + rng.normal(0, 4))
    # Camera height and roll vary per recording; the preprocessing's y-rotation removes the
    # azimuth but not these, so they remain as view nuisances (as in NTU's setups).
    rot, pos = _camera_frame(azimuth, rng.uniform(2.5, 3.5), rng.uniform(0.2, 2.0), math.radians(rng.normal(0, 8)))
    out = np.zeros((3,) + bodies.shape[:2] + (2,))
    t = bodies.shape[0]
    sigma = rng.uniform(0.01, 0.03)
    for m in range(2):
        body = bodies[..., m]
        if not body.any():
            continue
        cam = (body - pos) @ rot.T
        cam += rng.normal(0, sigma, cam.shape)
        cam[:, [7, 11, 21, 22, 23, 24]] += rng.normal(0, 2 * sigma, (t, 6, 3))
        if rng.random() < 0.3:
            j, start = int(rng.integers(25)), int(rng.integers(t))
            cam[start : start + int(rng.integers(3, 9)), j] += rng.normal(0, 0.15, 3)
        out[..., m] = cam.transpose(2, 0, 1)
    return out.astype(np.float32)


def sample_name(subject: int, camera: int, label: int, replication: int = 1, setup: int = 1) -> str:
    return f"S{setup:03d}C{camera:03d}P{subject:03d}R{replication:03d}A{label + 1:03d}.skeleton"


def generate(frames: int, seed: int = DEFAULT_SEED, subjects: int = NUM_SUBJECTS,
             desc: str = "generating synthetic data") -> tuple[np.ndarray, list[str], np.ndarray]:
    """All samples preprocessed to ``frames``: ``(N, 3, frames, 25, 2)``, names, labels.

    Each (subject, class) performance is seen by the three cameras at once, as in NTU. The
    default 40 subjects take a minute or two, so progress (``desc``) is shown per subject.
    """
    people = [make_subject(np.random.default_rng([seed, 1, s])) for s in range(subjects + 1)]
    data, names, labels = [], [], []
    for s in progress(range(1, subjects + 1), desc=desc, unit="subject"):
        for label in range(NUM_CLASSES):
            rng = np.random.default_rng([seed, 2, s, label])
            partner = people[(s + int(rng.integers(1, subjects))) % subjects + 1 if subjects > 1 else 0]
            bodies = generate_performance(label, people[s], partner, rng)
            for camera in CAMERAS:
                raw = to_camera(bodies, camera, rng)
                data.append(preprocess_sample(raw, frames))
                names.append(sample_name(s, camera, label))
                labels.append(label)
    return np.stack(data), names, np.asarray(labels)


def split_indices(names: list[str], benchmark: str) -> tuple[np.ndarray, np.ndarray]:
    """Train / val indices of ``synthetic-xsub`` or ``synthetic-xview`` by NTU's rules."""
    subject = np.array([int(n[9:12]) for n in names])
    camera = np.array([int(n[5:8]) for n in names])
    if benchmark == "xsub":
        train = np.isin(subject, sorted(XSUB_TRAIN_SUBJECTS))
    elif benchmark == "xview":
        train = np.isin(camera, sorted(XVIEW_TRAIN_CAMERAS))
    else:
        raise ValueError(f"unknown synthetic benchmark {benchmark!r}; choose xsub or xview")
    return np.nonzero(train)[0], np.nonzero(~train)[0]


def build_benchmark(benchmark: str, frames: int, out: Path, seed: int = DEFAULT_SEED,
                    subjects: int = NUM_SUBJECTS) -> Path:
    """Generate, split and write ``synthetic-<benchmark>`` at ``frames`` into ``out`` atomically
    (fewer ``subjects`` make the tiny benchmarks of the tests)."""
    data, names, labels = generate(frames, seed, subjects, desc=f"generating synthetic-{benchmark} ({frames} frames)")
    train, val = split_indices(names, benchmark)
    writer = BenchmarkWriter(Path(out))
    try:
        for part, idx in (("train", train), ("val", val)):
            writer.write_part(part, data[idx], [names[i] for i in idx], labels[idx])
        return writer.commit({
            "dataset": f"synthetic-{benchmark}",
            "source": "synthetic (datasets/synthetic.py) — not NTU RGB+D data",
            "format": "generated",
            "generator_version": GENERATOR_VERSION,
            "seed": seed,
            "subjects": subjects,
            "split_rule": "NTU-60 xsub training subjects" if benchmark == "xsub" else "NTU-60 xview cameras 2,3 train",
            "body_selection": "generated (actor in slot 0)",
            "frames": frames,
            "preprocessing": "official: centre on joint 21, linear resize, shoulder y-rotation",
            "num_classes": NUM_CLASSES,
            "class_names": [c.name for c in CLASSES],
        })
    except BaseException:
        writer.abort()
        raise
