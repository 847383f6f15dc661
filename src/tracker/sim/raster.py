"""Ray casting of ellipsoids, boxes and the ground plane into per-camera buffers (vectorised numpy).

Each primitive is intersected only with the pixels inside its projected bounding box; the ground plane and
static clutter form a background that is rendered once per camera when the rig does not move.
Buffers hold, per pixel: depth z (m, inf = sky), surface id, Lambert shading, texture multiplier and the
index of the labelled object (-1 = none).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.common.geometry import CameraModel, Transform

from . import shapes

NEAR_M = 0.05
SKY_DEPTH = np.float32(np.inf)


@dataclass
class Buffers:
    depth: np.ndarray  # (H, W) float32 metres along the optical axis
    sid: np.ndarray  # (H, W) int32 surface ids
    shade: np.ndarray  # (H, W) float32 Lambert term of the sun
    tex: np.ndarray  # (H, W) float32 texture multiplier
    obj: np.ndarray  # (H, W) int16 labelled object index, -1 none

    def copy(self) -> "Buffers":
        return Buffers(self.depth.copy(), self.sid.copy(), self.shade.copy(), self.tex.copy(), self.obj.copy())


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


_SIGNS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=np.float64)


def box_corners(c: np.ndarray, R: np.ndarray, a: np.ndarray) -> np.ndarray:
    return c + (_SIGNS * a) @ R.T


def empty_buffers(h: int, w: int) -> Buffers:
    return Buffers(np.full((h, w), SKY_DEPTH, np.float32), np.full((h, w), shapes.SKY, np.int32),
                   np.zeros((h, w), np.float32), np.ones((h, w), np.float32), np.full((h, w), -1, np.int16))


def ground(view: View, T_world_cam: Transform, light_cam: np.ndarray, max_range_m: float = 300.0) -> Buffers:
    """Buffers with only sky and the textured ground plane z = 0."""
    b = empty_buffers(view.h, view.w)
    R = T_world_cam.R.astype(np.float32)
    o = T_world_cam.t
    dz = R[2, 0] * view.rx + R[2, 1] * view.ry + R[2, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(dz < -1e-6, -o[2] / dz, np.inf).astype(np.float32)
    hit = t < max_range_m
    b.depth[hit] = t[hit]
    b.sid[hit] = shapes.GROUND
    x = o[0] + t * (R[0, 0] * view.rx + R[0, 1] * view.ry + R[0, 2])
    y = o[1] + t * (R[1, 0] * view.rx + R[1, 1] * view.ry + R[1, 2])
    b.shade[hit] = max(0.0, float(T_world_cam.R[2] @ light_cam))  # n = world up, in camera frame = R^T e_z
    tex = ground_texture(x, y)
    b.tex[hit] = tex[hit]
    return b


def ground_texture(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Paving/asphalt-like variation and lane markings on the ground (multiplier around 1)."""
    with np.errstate(invalid="ignore"):
        v = 1.0 + 0.08 * np.sin(1.7 * x + 0.6 * y) * np.sin(2.3 * y - 0.4 * x) \
            + 0.05 * np.sin(7.1 * x + 3.3 * y) + 0.06 * np.sign(np.sin(0.9 * x)) * (np.abs(y) > 12)
        markings = (np.abs(np.mod(x, 5.0) - 2.5) < 0.08) & (np.mod(y, 4.0) < 2.0) & (np.abs(y) < 12)
    return np.where(markings, 2.2, v).astype(np.float32)


def raster_part(b: Buffers, view: View, kind: int, c: np.ndarray, R: np.ndarray, a: np.ndarray, sid: int,
                obj: int, light_cam: np.ndarray, tex_freq: float, region=None, sil: np.ndarray | None = None,
                sil_origin=(0, 0)) -> None:
    """Z-buffer one ellipsoid/box (centre ``c``, rotation ``R`` and semi-axes ``a`` in the camera frame).
    ``sil``: optional boolean silhouette of the object (origin ``sil_origin`` in the image) to OR hits into."""
    if region is None:
        region = view.bbox(box_corners(c, R, a))
        if region is None:
            return
    v0, v1, u0, u1 = region
    rx = view.rx[v0:v1, u0:u1]
    ry = view.ry[v0:v1, u0:u1]
    Rt = R.T.astype(np.float32)
    o = (-(R.T @ c)).astype(np.float32)  # camera origin in the part frame
    dx = Rt[0, 0] * rx + Rt[0, 1] * ry + Rt[0, 2]
    dy = Rt[1, 0] * rx + Rt[1, 1] * ry + Rt[1, 2]
    dz = Rt[2, 0] * rx + Rt[2, 1] * ry + Rt[2, 2]
    af = a.astype(np.float32)
    if kind == shapes.ELLIPSOID:
        ox, oy, oz = o / af
        dx, dy, dz = dx / af[0], dy / af[1], dz / af[2]
        A = dx * dx + dy * dy + dz * dz
        B = ox * dx + oy * dy + oz * dz
        C = ox * ox + oy * oy + oz * oz - 1.0
        disc = B * B - A * C
        hit = disc >= 0
        t = (-B - np.sqrt(np.maximum(disc, 0))) / A
        hit &= t > NEAR_M
        nx, ny, nz = (ox + t * dx) / af[0], (oy + t * dy) / af[1], (oz + t * dz) / af[2]
        zloc = (oz + t * dz) * af[2]
    else:
        eps = np.float32(1e-9)
        ts = []
        for d, ok, ak in ((dx, o[0], af[0]), (dy, o[1], af[1]), (dz, o[2], af[2])):
            inv = 1.0 / np.where(np.abs(d) < eps, eps, d)
            t1, t2 = (-ak - ok) * inv, (ak - ok) * inv
            ts.append((np.minimum(t1, t2), np.maximum(t1, t2)))
        tn = np.stack([ts[0][0], ts[1][0], ts[2][0]])
        tmin = tn.max(0)
        tmax = np.minimum(np.minimum(ts[0][1], ts[1][1]), ts[2][1])
        hit = (tmax >= tmin) & (tmin > NEAR_M)
        t = tmin
        axis = tn.argmax(0)
        nx = np.where(axis == 0, -np.sign(dx), 0).astype(np.float32)
        ny = np.where(axis == 1, -np.sign(dy), 0).astype(np.float32)
        nz = np.where(axis == 2, -np.sign(dz), 0).astype(np.float32)
        zloc = o[2] + t * dz
    if sil is not None:
        sil[v0 - sil_origin[0]:v1 - sil_origin[0], u0 - sil_origin[1]:u1 - sil_origin[1]] |= hit
    depth = b.depth[v0:v1, u0:u1]
    m = hit & (t < depth)
    if not m.any():
        return
    # Lambert term: normal to the camera frame, dotted with the light direction (camera frame)
    Lp = (R.T @ light_cam).astype(np.float32)
    ndotl = nx * Lp[0] + ny * Lp[1] + nz * Lp[2]
    norm = np.sqrt(nx * nx + ny * ny + nz * nz) + 1e-9
    shade = np.maximum(ndotl / norm, 0)
    depth[m] = t[m]
    b.sid[v0:v1, u0:u1][m] = sid
    b.obj[v0:v1, u0:u1][m] = obj
    b.shade[v0:v1, u0:u1][m] = shade[m]
    if tex_freq > 0:
        b.tex[v0:v1, u0:u1][m] = (1.0 - 0.35 * (np.sin(2 * np.pi * tex_freq * zloc) > 0))[m]
    else:
        b.tex[v0:v1, u0:u1][m] = 1.0


@dataclass
class ObjectRaster:
    index: int
    region: tuple | None  # (v0, v1, u0, u1) in the image
    silhouette_px: int


def raster_object(b: Buffers, view: View, T_cam_world: Transform, posed, index: int, light_cam: np.ndarray,
                  tex_freq: np.ndarray, min_px: float = 0.0) -> ObjectRaster:
    """Z-buffer all parts of a posed object; returns its image region and unoccluded silhouette size."""
    R_c = T_cam_world.R @ posed.R
    t_c = T_cam_world.apply(posed.t)
    body = posed.body
    size = body.size
    box_c = t_c + R_c @ np.array([0, 0, size[2] / 2])
    region = view.bbox(box_corners(box_c, R_c, size / 2 + 0.05))
    if region is None:
        return ObjectRaster(index, None, 0)
    v0, v1, u0, u1 = region
    sil = np.zeros((v1 - v0, u1 - u0), bool)
    centers_c = t_c + posed.centers @ R_c.T
    for k in range(len(body.kinds)):
        a = body.radii[k]
        part_region = view.bbox(box_corners(centers_c[k], R_c, a))
        if part_region is None:
            continue
        pv0, pv1, pu0, pu1 = part_region
        part_region = (max(pv0, v0), min(pv1, v1), max(pu0, u0), min(pu1, u1))
        if part_region[0] >= part_region[1] or part_region[2] >= part_region[3]:
            continue
        sid = int(body.surfaces[k])
        raster_part(b, view, int(body.kinds[k]), centers_c[k], R_c, a, sid, index, light_cam,
                    float(tex_freq[sid]), part_region, sil, (v0, u0))
    return ObjectRaster(index, region, int(sil.sum()))
