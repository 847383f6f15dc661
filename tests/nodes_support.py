"""Test doubles for the node tests (never used by the product): detectors that need no model.

OracleDetector returns the ground-truth boxes of the bag frame whose RGB image it is given (looked up by a
hash of the pixels), so node/DDS tests check plumbing, sync, 3D and ids independently of the network."""
from __future__ import annotations

import hashlib
import os
import random

import numpy as np

from tracker.core.types import Detections
from tracker.network.info import DetectorInfo

CLASS_INDEX = {"person": 0, "vehicle": 1}


def _describe(name: str, class_names: tuple[str, ...] = tuple(CLASS_INDEX)) -> DetectorInfo:
    return DetectorInfo(backend=name, device="cpu (test double)", model_path="", class_names=class_names,
                        input_width=0, input_height=0, stride=1, modalities=("rgb",), version_hash="")


class _Closable:
    """The detector contract's ``close()``: records that the node released it."""

    closed = False

    def close(self) -> None:
        self.closed = True


def domain_env(tmp_path=None) -> dict:
    env = dict(os.environ, ROS_DOMAIN_ID=str(random.randint(1, 200)))
    if tmp_path is not None:
        env["ROS_LOG_DIR"] = str(tmp_path)
    return env


def image_key(rgb: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(rgb).data, digest_size=12).hexdigest()


class FixedDetector(_Closable):
    """Always the same boxes (class 0, score 0.9); ``class_names``: what its describe() says the model has."""

    def __init__(self, boxes, class_names: tuple[str, ...] = tuple(CLASS_INDEX)):
        self.class_names = tuple(class_names)
        self.boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
        self.calls = []

    def detect(self, rgb, thermal, thermal_encoding, depth):
        self.calls.append((rgb.shape, None if thermal is None else thermal.shape, thermal_encoding,
                           None if depth is None else depth.shape))
        n = len(self.boxes)
        return Detections(self.boxes, np.full(n, 0.9), np.zeros(n, np.int64))

    def describe(self) -> DetectorInfo:
        return _describe("fixed boxes", self.class_names)


class OracleDetector(_Closable):
    """Ground-truth boxes (visibility >= min_visibility) of the frame with this RGB image."""

    def __init__(self, bag_path, min_visibility: float = 0.3):
        from tracker.data.reader import BagReader
        self.table = {}
        with BagReader(bag_path) as r:
            for s in r.samples():
                boxes = [g.box for g in s.gt2d if g.visibility >= min_visibility]
                cls = [CLASS_INDEX.get(g.cls, 0) for g in s.gt2d if g.visibility >= min_visibility]
                self.table[image_key(s.rgb)] = (np.asarray(boxes, float).reshape(-1, 4), np.asarray(cls, np.int64))
        self.misses = 0

    def detect(self, rgb, thermal, thermal_encoding, depth):
        hit = self.table.get(image_key(rgb))
        if hit is None:
            self.misses += 1
            return Detections.empty()
        boxes, cls = hit
        return Detections(boxes, np.full(len(boxes), 0.9), cls)

    def describe(self) -> DetectorInfo:
        return _describe("ground-truth oracle")


def oracle_factory(bag_path):
    det = OracleDetector(bag_path)
    return lambda cfg, model: det


def make_short_bag(path, duration_s: float = 2.0, seed: int = 3, overrides: dict | None = None):
    """A small deterministic contract bag (3 people, 15 Hz) for DDS tests; ``overrides``: more SimConfig keys
    (nested mappings, merged into the camera sections)."""
    from tracker.sim.config import SimConfig, with_overrides
    from tracker.sim.simulate import simulate
    base = {"world": {"n_people": 3, "n_crossing_pairs": 0, "n_vehicles": 0, "n_parked": 0,
                      "x_range_m": (4.0, 12.0), "y_half_m": 4.0},
            "color": {"rate_hz": 15.0}, "thermal": {"rate_hz": 15.0}, "depth": {"rate_hz": 15.0}}
    for key, value in (overrides or {}).items():
        base[key] = {**base.get(key, {}), **value}
    cfg = with_overrides(SimConfig(), base, where="test")
    return simulate("day", duration_s, seed, False, path.parent, "mcap", config=cfg, name=path.name,
                    progress=False)


def bag_messages(bag_path, ground_truth: bool = False) -> list:
    """[(topic, rclpy message)] of a contract bag in bag order (what the player publishes, decoded)."""
    from pathlib import Path

    from rclpy.serialization import deserialize_message
    from rosbags.rosbag2 import Reader

    from tracker.nodes.conversions import msg_class
    out = []
    with Reader(Path(bag_path)) as reader:
        for conn, _, raw in reader.messages():
            if conn.topic.startswith("/ground_truth") and not ground_truth:
                continue
            out.append((conn.topic, deserialize_message(bytes(raw), msg_class(conn.msgtype))))
    return out


def close_nodes(ex, ctx, *nodes) -> None:
    """Take ``nodes`` off the executor, destroy them and shut the test's rclpy context down."""
    import rclpy
    for n in nodes:
        ex.remove_node(n)
        n.destroy_node()
    rclpy.shutdown(context=ctx)
