"""Camera views for ray casting: per-pixel rays (z = 1, undistorted) and the pixel bounds of projected boxes
and ellipsoids, which limit each primitive to the pixels it can cover."""
from __future__ import annotations

import numpy as np

from tracker.common.geometry import CameraModel

NEAR_M = 0.05  # nearest hit along a ray; a primitive with a corner closer than this covers the whole image
# signs of the 8 corners of a box relative to its centre, in units of its half extents
BOX_SIGNS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=np.float64)


class View:
    """Pixel rays of one camera (z = 1 normalised, undistorted), computed once."""

    def __init__(self, model: CameraModel):
        self.model = model
        rays = model.pixel_rays().astype(np.float32)
        self.rx = np.ascontiguousarray(rays[..., 0])
        self.ry = np.ascontiguousarray(rays[..., 1])
        self.h, self.w = model.height, model.width
        self._pinhole = not model.has_distortion
        self._fx, self._fy, self._cx, self._cy = model.fx, model.fy, model.cx, model.cy
        # per-pixel quadratic features of the ray (rx², rx·ry, ry², rx, ry, 1): an ellipsoid's ray equation
        # coefficients are one small matrix product of these
        rx, ry = self.rx, self.ry
        self.features = np.stack([rx * rx, rx * ry, ry * ry, rx, ry, np.ones_like(rx)], -1)
        self.flat_index = np.arange(self.h * self.w, dtype=np.int32).reshape(self.h, self.w)

    def ellipsoid_bboxes(self, centers: np.ndarray, R: np.ndarray, radii: np.ndarray, pad: int = 1):
        """Tight pixel bounds (v0, v1, u0, u1 arrays, unclipped) of the projected ellipsoids (centres (P, 3),
        rotations (P, 3, 3), semi-axes (P, 3)) from their dual conic K (A⁻¹ - c cᵀ) Kᵀ, for a pinhole camera and
        ellipsoids in front of it; None otherwise (no distortion-free bounds)."""
        if not self._pinhole:
            return None
        M = np.einsum("nij,nj,nkj->nik", R, radii * radii, R) - centers[:, :, None] * centers[:, None, :]
        fx, fy, cx, cy = self._fx, self._fy, self._cx, self._cy
        m00, m11, m22, m02, m12 = M[:, 0, 0], M[:, 1, 1], M[:, 2, 2], M[:, 0, 2], M[:, 1, 2]
        c11 = fx * fx * m00 + 2 * fx * cx * m02 + cx * cx * m22
        c13 = fx * m02 + cx * m22
        c22 = fy * fy * m11 + 2 * fy * cy * m12 + cy * cy * m22
        c23 = fy * m12 + cy * m22
        with np.errstate(invalid="ignore", divide="ignore"):
            du = np.sqrt(c13 * c13 - c11 * m22) / np.abs(m22)
            dv = np.sqrt(c23 * c23 - c22 * m22) / np.abs(m22)
            uc, vc = c13 / m22, c23 / m22
        return (np.floor(vc - dv) - pad, np.ceil(vc + dv) + pad + 1, np.floor(uc - du) - pad,
                np.ceil(uc + du) + pad + 1)

    def bboxes(self, centers: np.ndarray, R: np.ndarray, radii: np.ndarray, pad: int = 1) -> list:
        """Pixel regions of many boxes (centres (P, 3), rotation R (3, 3) or (P, 3, 3), half extents (P, 3)); like
        :meth:`bbox` for each."""
        offs = BOX_SIGNS[None] * radii[:, None, :]
        corners = centers[:, None, :] + (offs @ R.T if R.ndim == 2 else offs @ np.transpose(R, (0, 2, 1)))
        z = corners[..., 2]
        behind = z <= NEAR_M
        all_behind, any_behind = behind.all(1), behind.any(1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if self._pinhole:
                zz = np.where(behind, 1.0, z)
                u = self._fx * corners[..., 0] / zz + self._cx
                v = self._fy * corners[..., 1] / zz + self._cy
            else:
                uv, _ = self.model.project(np.where(behind[..., None], [0.0, 0.0, 1.0], corners).reshape(-1, 3))
                uv = uv.reshape(len(centers), 8, 2)
                u, v = uv[..., 0], uv[..., 1]
            u0 = np.floor(u.min(1)) - pad
            v0 = np.floor(v.min(1)) - pad
            u1 = np.ceil(u.max(1)) + pad + 1
            v1 = np.ceil(v.max(1)) + pad + 1
        u0 = np.clip(u0, 0, self.w)
        v0 = np.clip(v0, 0, self.h)
        u1 = np.clip(u1, 0, self.w)
        v1 = np.clip(v1, 0, self.h)
        out = []
        for k, (a, b, c, d) in enumerate(zip(v0.tolist(), v1.tolist(), u0.tolist(), u1.tolist())):
            if all_behind[k]:
                out.append(None)
            elif any_behind[k]:
                out.append((0, self.h, 0, self.w))
            elif c >= d or a >= b:
                out.append(None)
            else:
                out.append((int(a), int(b), int(c), int(d)))
        return out

    def bbox(self, corners_cam: np.ndarray, pad: int = 1):
        """Pixel region (v0, v1, u0, u1) covering 3D points in the camera frame, or None if not visible."""
        z = corners_cam[:, 2]
        if np.all(z <= NEAR_M):
            return None
        if np.any(z <= NEAR_M):
            return 0, self.h, 0, self.w
        if self._pinhole:
            u = self._fx * corners_cam[:, 0] / z + self._cx
            v = self._fy * corners_cam[:, 1] / z + self._cy
        else:
            uv, _ = self.model.project(corners_cam)
            u, v = uv[:, 0], uv[:, 1]
        u0, v0 = int(np.floor(u.min())) - pad, int(np.floor(v.min())) - pad
        u1, v1 = int(np.ceil(u.max())) + pad + 1, int(np.ceil(v.max())) + pad + 1
        u0, v0, u1, v1 = max(u0, 0), max(v0, 0), min(u1, self.w), min(v1, self.h)
        if u0 >= u1 or v0 >= v1:
            return None
        return v0, v1, u0, u1


def box_corners(c: np.ndarray, R: np.ndarray, a: np.ndarray) -> np.ndarray:
    """The 8 corners (8, 3) of the box with centre ``c``, rotation ``R`` and half extents ``a``."""
    return c + (BOX_SIGNS * a) @ R.T
