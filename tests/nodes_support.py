"""Test doubles for the node tests (never used by the product): detectors that need no model.

OracleDetector returns the ground-truth boxes of the bag frame whose RGB image it is given (looked up by a
hash of the pixels), so node/DDS tests check plumbing, sync, 3D and ids independently of the network."""
from __future__ import annotations

import hashlib
import os
import random

import numpy as np

from tracker.core.types import Detections

CLASS_INDEX = {"person": 0, "vehicle": 1}


def domain_env(tmp_path=None) -> dict:
    env = dict(os.environ, ROS_DOMAIN_ID=str(random.randint(1, 200)))
    if tmp_path is not None:
        env["ROS_LOG_DIR"] = str(tmp_path)
    return env


def image_key(rgb: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(rgb).data, digest_size=12).hexdigest()


class FixedDetector:
    """Always the same boxes (class 0, score 0.9)."""

    def __init__(self, boxes):
        self.boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
        self.calls = []

    def detect(self, rgb, thermal, thermal_encoding, depth):
        self.calls.append((rgb.shape, None if thermal is None else thermal.shape, thermal_encoding,
                           None if depth is None else depth.shape))
        n = len(self.boxes)
        return Detections(self.boxes, np.full(n, 0.9), np.zeros(n, np.int64))


class OracleDetector:
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


def oracle_factory(bag_path):
    det = OracleDetector(bag_path)
    return lambda cfg, model: det


def make_short_bag(path, duration_s: float = 2.0, seed: int = 3):
    """A small deterministic contract bag (3 people, 15 Hz) for DDS tests."""
    from tracker.sim.config import SimConfig, with_overrides
    from tracker.sim.simulate import simulate
    cfg = with_overrides(SimConfig(), {"world": {"n_people": 3, "n_crossing_pairs": 0, "n_vehicles": 0,
                                                 "n_parked": 0, "x_range_m": (4.0, 12.0), "y_half_m": 4.0},
                                       "color": {"rate_hz": 15.0}, "thermal": {"rate_hz": 15.0},
                                       "depth": {"rate_hz": 15.0}}, where="test")
    return simulate("day", duration_s, seed, False, path.parent, "mcap", config=cfg, name=path.name,
                    progress=False)
