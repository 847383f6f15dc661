"""World B's camera rig (static per scene): camera models, extrinsics to the colour camera, the colour
camera's world pose, and the capture timeline of every camera (own rate, offset, jitter)."""
from __future__ import annotations

import numpy as np

from tracker.common.geometry import CameraModel, Transform
from tracker.data.contract import CAMERAS, DEFAULT_FRAMES

from .config import GLCamera, GLSimConfig
from .mesh import rot_x, rot_z

#: optical frame (x right, y down, z forward) of a camera looking along world +x with z up
R_WORLD_OPTICAL = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
MIN_SEPARATION_S = 2e-6  # stamps of different sensors are never identical
JITTER_CLIP = 3.0  # jitter is clipped at this many standard deviations


def camera_model(name: str, cam: GLCamera) -> CameraModel:
    return CameraModel.from_fov(cam.width, cam.height, cam.hfov_deg, cam.frame_id or DEFAULT_FRAMES[name])


def camera_models(cfg: GLSimConfig) -> dict[str, CameraModel]:
    return {n: camera_model(n, cfg.camera(n)) for n in CAMERAS}


def extrinsics(cfg: GLSimConfig) -> dict[str, Transform]:
    """T_color_<camera> (translation only: the cameras are mounted parallel)."""
    return {n: Transform(np.eye(3), np.asarray(cfg.camera(n).position, float)) for n in CAMERAS}


def colour_pose(height_m: float, pitch_deg: float, yaw_deg: float) -> Transform:
    """T_world_color of a camera at ``height_m`` looking along world +x rotated by yaw, pitched down."""
    R = rot_z(np.deg2rad(yaw_deg)) @ R_WORLD_OPTICAL @ rot_x(-np.deg2rad(pitch_deg))
    return Transform(R, np.array([0.0, 0.0, height_m]))


def timeline(cfg: GLSimConfig, duration_s: float, rng: np.random.Generator) -> list[tuple[float, str]]:
    """(time, camera) of every frame of every camera in time order, no two stamps equal; the frames of
    ``cfg.dropout.camera`` inside its outage are not there."""
    events, drop = [], cfg.dropout
    for name in CAMERAS:
        cam = cfg.camera(name)
        n = int(np.floor(duration_s * cam.rate_hz)) + 1
        lim = JITTER_CLIP * cam.jitter_s
        t = cam.offset_s + np.arange(n) / cam.rate_hz + np.clip(rng.standard_normal(n) * cam.jitter_s, -lim, lim)
        keep = (t >= 0) & (t < duration_s)
        if name == drop.camera:
            keep &= (t < drop.start_s) | (t >= drop.start_s + drop.duration_s)
        events += [(float(x), name) for x in np.sort(t[keep])]
    events.sort()
    out, last = [], -np.inf
    for t, name in events:
        t = max(t, last + MIN_SEPARATION_S)
        out.append((t, name))
        last = t
    return out
