"""The camera rig: camera models, extrinsics to the colour camera, and the colour camera's world pose over time
(ego-motion and shake)."""
from __future__ import annotations

import numpy as np

from tracker.common.geometry import CameraModel, Transform
from tracker.data.contract import CAMERAS, DEFAULT_FRAMES

from .config import CameraConfig, RigConfig, SimConfig

# optical frame (x right, y down, z forward) of a camera looking along world +x with z up
R_WORLD_OPTICAL = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def rot_xyz(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Rotation about x, then y, then z (radians), as R = Rz Ry Rx."""
    cr, sr, cp, sp, cy, sy = np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
    Rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    Ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    Rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    return Rz @ Ry @ Rx


def camera_model(name: str, cam: CameraConfig) -> CameraModel:
    return CameraModel.from_fov(cam.width, cam.height, cam.hfov_deg, cam.frame_id or DEFAULT_FRAMES[name],
                                cx=(cam.width - 1) / 2 + cam.principal_offset_px[0],
                                cy=(cam.height - 1) / 2 + cam.principal_offset_px[1])


def camera_models(cfg: SimConfig) -> dict[str, CameraModel]:
    return {n: camera_model(n, cfg.camera(n)) for n in CAMERAS}


def extrinsic(cam: CameraConfig) -> Transform:
    """T_color_cam of a camera whose position/rpy are given in the colour optical frame."""
    return Transform(rot_xyz(*np.deg2rad(cam.rpy_deg)), np.asarray(cam.position, dtype=np.float64))


def extrinsics(cfg: SimConfig) -> dict[str, Transform]:
    return {n: extrinsic(cfg.camera(n)) if n != "color" else Transform.identity() for n in CAMERAS}


class RigMotion:
    """World pose of the colour optical frame, T_world_color(t), with ego-motion and AR(1) shake."""

    STEP_S = 0.005

    def __init__(self, cfg: RigConfig, duration_s: float, rng: np.random.Generator):
        self.cfg = cfg
        n = int(np.ceil((duration_s + 1.0) / self.STEP_S)) + 2
        self.static = cfg.jitter_deg == 0 and cfg.ego_speed_mps == 0 and cfg.ego_yaw_rate_dps == 0
        if cfg.jitter_deg > 0:
            a = np.exp(-self.STEP_S / cfg.jitter_corr_s)
            e = rng.standard_normal((n, 3)) * np.deg2rad(cfg.jitter_deg) * np.sqrt(1 - a * a)
            j = np.zeros((n, 3))
            j[0] = rng.standard_normal(3) * np.deg2rad(cfg.jitter_deg)
            for k in range(1, n):
                j[k] = a * j[k - 1] + e[k]
            self._jitter = j
        else:
            self._jitter = None
        t = np.arange(n) * self.STEP_S
        yaw = np.deg2rad(cfg.yaw_deg) + np.deg2rad(cfg.ego_yaw_rate_dps) * t
        self._yaw = yaw
        self._xy = np.cumsum(np.stack([np.cos(yaw), np.sin(yaw)], 1) * cfg.ego_speed_mps * self.STEP_S, 0) \
            - np.array([np.cos(yaw[0]), np.sin(yaw[0])]) * cfg.ego_speed_mps * self.STEP_S

    def pose(self, t: float) -> Transform:
        k = int(np.clip(round(t / self.STEP_S), 0, len(self._yaw) - 1))
        R = rot_xyz(0.0, 0.0, self._yaw[k]) @ R_WORLD_OPTICAL @ rot_xyz(-np.deg2rad(self.cfg.pitch_deg), 0, 0)
        if self._jitter is not None:
            R = R @ rot_xyz(*self._jitter[k])
        return Transform(R, np.array([self._xy[k, 0], self._xy[k, 1], self.cfg.height_m]))
