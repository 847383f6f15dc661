"""Motion models: how track states are born, predicted (with ego-motion) and corrected. Plus their registry.

Each track carries two independent constant-velocity Kalman filters (``kalman_filter``):
  * box: four independent 1-D filters, one per axis of [cx, cy, w, h], each with state (value, rate) in
    pixels and pixels/s (the axes never couple: process and measurement noise are diagonal), stored as
    ``box_x (n, 4, 2)`` and ``box_P (n, 4, 2, 2)`` so that no 4x4 matrix is ever inverted;
  * position: [x, y, z, vx, vy, vz] in the current camera frame, metres and m/s, present only once the track
    has had a detection with 3D (``has_pos``). Without 3D the tracker runs on the box alone.

Ego-motion ``T_prev_curr`` (the current camera pose in the previous camera frame) is applied after the
dynamics: a static world point ``p_prev`` is at ``T_prev_curr.inverse().apply(p_prev)`` now, so position
and velocity are rotated by R^T and translated by -R^T t (velocity is relative to the world, expressed in
the camera frame). With a camera model, box centres are moved the same way (lifted at the track's depth,
or ``ego_default_depth_m`` without 3D) and box sizes scaled by the depth ratio.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tracker.core import kalman_filter as kf
from tracker.core.boxes import cxcywh_to_xyxy, xyxy_to_cxcywh
from tracker.core.registry import Entry, Registry

if TYPE_CHECKING:
    from tracker.common.geometry import CameraModel, Transform
    from tracker.core.config import TrackerConfig

BOX_DIM = 4
POS_DIM = 3


@dataclass
class MotionState:
    """Stacked filter states of n tracks."""

    box_x: np.ndarray  # (n, 4, 2): per axis (value, rate)
    box_P: np.ndarray  # (n, 4, 2, 2)
    pos_x: np.ndarray  # (n, 6)
    pos_P: np.ndarray  # (n, 6, 6)
    has_pos: np.ndarray  # (n,) bool

    @staticmethod
    def empty() -> "MotionState":
        return MotionState(np.zeros((0, BOX_DIM, 2)), np.zeros((0, BOX_DIM, 2, 2)),
                           np.zeros((0, 2 * POS_DIM)), np.zeros((0, 2 * POS_DIM, 2 * POS_DIM)), np.zeros(0, bool))

    def __len__(self) -> int:
        return len(self.has_pos)

    def take(self, idx: np.ndarray) -> "MotionState":
        return MotionState(self.box_x[idx], self.box_P[idx], self.pos_x[idx], self.pos_P[idx], self.has_pos[idx])

    def concat(self, other: "MotionState") -> "MotionState":
        if len(other) == 0:
            return self
        return MotionState(*(np.concatenate([a, b]) for a, b in zip(
            (self.box_x, self.box_P, self.pos_x, self.pos_P, self.has_pos),
            (other.box_x, other.box_P, other.pos_x, other.pos_P, other.has_pos))))

    def box_cxcywh(self) -> np.ndarray:
        return self.box_x[:, :, 0]

    def boxes_xyxy(self) -> np.ndarray:
        return cxcywh_to_xyxy(self.box_x[:, :, 0])


class ConstantVelocityBox3D:
    """Constant velocity in 3D (when the detections carry it) and in the image (always)."""

    uses_3d = True

    def __init__(self, cfg: "TrackerConfig"):
        self.cfg = cfg
        params = cfg.class_params()
        self._accel_var = np.array([p.accel_std_m_s2 ** 2 for p in params])
        self._box_accel_var = np.array([p.box_accel_std ** 2 for p in params])
        self._init_speed_var = np.array([p.init_speed_std_m_s ** 2 for p in params])

    # -- measurement noise -------------------------------------------------------------------------
    def box_noise(self, heights: np.ndarray) -> np.ndarray:
        """(n,) measurement variance of every box axis, px^2."""
        return (self.cfg.box_meas_std * np.maximum(heights, self.cfg.min_box_size_px)) ** 2

    def position_noise(self, positions: np.ndarray) -> np.ndarray:
        rng = np.linalg.norm(positions, axis=1)
        var = (self.cfg.position_meas_std_m + self.cfg.position_meas_std_per_m * rng) ** 2
        return var[:, None, None] * np.eye(POS_DIM)

    # -- birth -------------------------------------------------------------------------------------
    def initiate(self, boxes: np.ndarray, positions: np.ndarray, class_ids: np.ndarray) -> MotionState:
        """States of new tracks from detections; positions (n, 3) with NaN rows where there is no 3D."""
        n = len(boxes)
        z = xyxy_to_cxcywh(boxes)
        box_x = np.stack([z, np.zeros((n, BOX_DIM))], axis=2)
        box_P = np.zeros((n, BOX_DIM, 2, 2))
        box_P[:, :, 0, 0] = self.box_noise(z[:, 3])[:, None]
        box_P[:, :, 1, 1] = ((self.cfg.box_init_velocity_std * z[:, 3]) ** 2)[:, None]
        has_pos = np.isfinite(positions).all(axis=1) if self.uses_3d else np.zeros(n, bool)
        pos_x = np.zeros((n, 2 * POS_DIM))
        pos_x[has_pos, :POS_DIM] = positions[has_pos]
        pos_P = np.zeros((n, 2 * POS_DIM, 2 * POS_DIM))
        j = np.arange(POS_DIM)
        pos_P[:, j, j] = self.cfg.unknown_position_std_m ** 2
        pos_P[has_pos, :POS_DIM, :POS_DIM] = self.position_noise(positions[has_pos])
        pos_P[:, j + POS_DIM, j + POS_DIM] = self._init_speed_var[class_ids][:, None]
        return MotionState(box_x, box_P, pos_x, pos_P, has_pos)

    # -- predict -----------------------------------------------------------------------------------
    def predict(self, s: MotionState, dt: float, class_ids: np.ndarray,
                ego: "Transform | None" = None, camera: "CameraModel | None" = None) -> MotionState:
        n = len(s)
        h = np.maximum(s.box_x[:, 3, 0], self.cfg.min_box_size_px)
        q_box = np.repeat(self._box_accel_var[class_ids] * h * h, BOX_DIM)[:, None]
        bx, bP = kf.predict(s.box_x.reshape(-1, 2), s.box_P.reshape(-1, 2, 2), dt, q_box)
        box_x, box_P = bx.reshape(n, BOX_DIM, 2), bP.reshape(n, BOX_DIM, 2, 2)
        q_pos = self._accel_var[class_ids][:, None] * np.ones(POS_DIM)
        pos_x, pos_P = kf.predict(s.pos_x, s.pos_P, dt, q_pos)
        if ego is not None and len(s):
            box_x = self._ego_box(box_x, pos_x, s.has_pos, ego, camera)
            A = np.zeros((2 * POS_DIM, 2 * POS_DIM))
            A[:POS_DIM, :POS_DIM] = A[POS_DIM:, POS_DIM:] = ego.R.T
            b = np.concatenate([-ego.R.T @ ego.t, np.zeros(POS_DIM)])
            pos_x, pos_P = kf.transform_linear(pos_x, pos_P, A, b)
        box_x[:, 2:, 0] = np.maximum(box_x[:, 2:, 0], self.cfg.min_box_size_px)
        return MotionState(box_x, box_P, pos_x, pos_P, s.has_pos.copy())

    def _ego_box(self, box_x, pos_x, has_pos, ego, camera) -> np.ndarray:
        if camera is None:
            return box_x
        depth = np.where(has_pos & (pos_x[:, 2] > 0), pos_x[:, 2], self.cfg.ego_default_depth_m)
        p_prev = camera.backproject(box_x[:, :2, 0], depth)
        p_curr = ego.inverse().apply(p_prev)
        uv, front = camera.project(p_curr)
        out = box_x.copy()
        out[front, :2, 0] = uv[front]
        scale = depth[front] / p_curr[front, 2]
        out[front, 2:, 0] *= scale[:, None]
        return out

    # -- update ------------------------------------------------------------------------------------
    def update(self, s: MotionState, rows: np.ndarray, boxes: np.ndarray, positions: np.ndarray,
               class_ids: np.ndarray) -> MotionState:
        """Correct tracks ``rows`` with detection boxes (k, 4) and positions (k, 3, NaN rows = no 3D)."""
        s = MotionState(s.box_x.copy(), s.box_P.copy(), s.pos_x.copy(), s.pos_P.copy(), s.has_pos.copy())
        if len(rows) == 0:
            return s
        z = xyxy_to_cxcywh(boxes)
        k = len(rows)
        R = np.repeat(self.box_noise(z[:, 3]), BOX_DIM)[:, None, None]
        bx, bP = kf.update(s.box_x[rows].reshape(-1, 2), s.box_P[rows].reshape(-1, 2, 2), z.reshape(-1, 1), R)
        s.box_x[rows], s.box_P[rows] = bx.reshape(k, BOX_DIM, 2), bP.reshape(k, BOX_DIM, 2, 2)
        if not self.uses_3d:
            return s
        meas = np.isfinite(positions).all(axis=1)
        upd = meas & s.has_pos[rows]
        r, p = rows[upd], positions[upd]
        s.pos_x[r], s.pos_P[r] = kf.update(s.pos_x[r], s.pos_P[r], p, self.position_noise(p))
        first = meas & ~s.has_pos[rows]  # first 3D for a 2D-only track: start its 3D filter
        if first.any():
            born = self.initiate(boxes[first], positions[first], class_ids[first])
            r = rows[first]
            s.pos_x[r], s.pos_P[r], s.has_pos[r] = born.pos_x, born.pos_P, True
        return s

    # -- gating ------------------------------------------------------------------------------------
    def box_innovation(self, s: MotionState) -> tuple[np.ndarray, np.ndarray]:
        """Predicted box measurement (n, 4) cxcywh and inverse innovation variance per axis (n, 4)."""
        var = s.box_P[:, :, 0, 0] + self.box_noise(s.box_x[:, 3, 0])[:, None]
        return s.box_x[:, :, 0].copy(), 1.0 / var

    def position_innovation(self, s: MotionState) -> tuple[np.ndarray, np.ndarray]:
        """Predicted position (n, 3) and inverse innovation covariance (n, 3, 3)."""
        if not s.has_pos.any():
            return s.pos_x[:, :POS_DIM], np.zeros((len(s), POS_DIM, POS_DIM))
        z, S = kf.innovation(s.pos_x, s.pos_P, self.position_noise(s.pos_x[:, :POS_DIM]))
        return z, kf.inv_small(S)


class ConstantVelocityBox(ConstantVelocityBox3D):
    """Image-only variant: ignores 3D detections (positions are never reported)."""

    uses_3d = False


MOTION_MODELS = Registry("motion model", (
    Entry("cv_box_3d", ConstantVelocityBox3D, frozenset(),
          "constant velocity in 3D when detections carry it, always in the image"),
    Entry("cv_box", ConstantVelocityBox, frozenset(), "constant velocity of the image box only"),
))
