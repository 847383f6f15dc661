"""Capture times of every camera: rate, per-sensor offset and jitter, frame drops and dropouts."""
from __future__ import annotations

import numpy as np

from tracker.data.contract import CAMERAS

from .config import SimConfig

MIN_SEPARATION_S = 2e-6  # stamps of different sensors are never identical


def camera_times(name: str, cfg: SimConfig, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """Capture times (s from the scene start) of one camera."""
    cam = cfg.camera(name)
    n = int(np.floor(duration_s * cam.rate_hz)) + 1
    k = np.arange(n)
    jitter = np.clip(rng.standard_normal(n) * cam.jitter_s, -3 * cam.jitter_s, 3 * cam.jitter_s)
    t = cam.offset_s + k / cam.rate_hz + jitter
    keep = (t >= 0) & (t < duration_s)
    drop = cfg.dropout
    if drop.framedrop_prob > 0:
        keep &= rng.random(n) >= drop.framedrop_prob
    if drop.camera == name and drop.duration_s > 0:
        keep &= ~((t >= drop.start_s) & (t < drop.start_s + drop.duration_s))
    return np.sort(t[keep])


def timeline(cfg: SimConfig, duration_s: float, rng: np.random.Generator) -> list[tuple[float, str]]:
    """(time, camera) of every frame of every camera, in time order, no two stamps equal."""
    events = [(float(t), name) for name in CAMERAS for t in camera_times(name, cfg, duration_s, rng)]
    events.sort()
    out = []
    last = -np.inf
    for t, name in events:
        if t - last < MIN_SEPARATION_S:
            t = last + MIN_SEPARATION_S
        out.append((t, name))
        last = t
    return out
