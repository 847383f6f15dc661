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
        offs = _SIGNS[None] * radii[:, None, :]
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
    if kind == shapes.ELLIPSOID:
        _raster_ellipsoid(b, view, c, R, a, sid, obj, light_cam, tex_freq, region, sil, sil_origin)
        return
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


def _raster_ellipsoid(b: Buffers, view: View, c: np.ndarray, R: np.ndarray, a: np.ndarray, sid: int, obj: int,
                      light_cam: np.ndarray, tex_freq: float, region, sil, sil_origin) -> None:
    """Ellipsoid ray casting with the per-pixel work reduced to one feature product and a few ops on the
    hit pixels. In the part frame scaled by 1/a the ray is t·m(r) - g with m = M r, M = diag(1/a) Rᵀ,
    g = M c; the hit is the near root of A t² - 2 B t + C = 0 with A = |m|², B = g·m, C = |g|² - 1."""
    v0, v1, u0, u1 = region
    inv_a = 1.0 / a
    M = R.T * inv_a[:, None]
    g = M @ c
    Q = M.T @ M
    w = M.T @ g
    # columns: A = quadratic form of (rx, ry, 1); B = w0 rx + w1 ry + w2 (features rx², rx·ry, ry², rx, ry, 1)
    coef = np.array([[Q[0, 0], 0.0], [2 * Q[0, 1], 0.0], [Q[1, 1], 0.0], [2 * Q[0, 2], w[0]],
                     [2 * Q[1, 2], w[1]], [Q[2, 2], w[2]]], np.float32)
    AB = view.features[v0:v1, u0:u1] @ coef
    A = AB[..., 0]
    B = AB[..., 1]
    C = np.float32(g @ g - 1.0)
    disc = B * B
    disc -= A * C
    hit = disc >= 0
    np.sqrt(disc, out=disc, where=hit)
    t = B - disc
    t /= A
    hit &= t > NEAR_M
    if sil is not None:
        sil[v0 - sil_origin[0]:v1 - sil_origin[0], u0 - sil_origin[1]:u1 - sil_origin[1]] |= hit
    depth = b.depth[v0:v1, u0:u1]
    m = hit
    m &= t < depth
    if not m.any():
        return
    tm = t[m]
    rxm = view.rx[v0:v1, u0:u1][m]
    rym = view.ry[v0:v1, u0:u1][m]
    # scaled local hit point s = t m - g; normal (local) ∝ s / a; light in the part frame
    Mf = M.astype(np.float32)
    gf = g.astype(np.float32)
    s0 = tm * (Mf[0, 0] * rxm + Mf[0, 1] * rym + Mf[0, 2]) - gf[0]
    s1 = tm * (Mf[1, 0] * rxm + Mf[1, 1] * rym + Mf[1, 2]) - gf[1]
    s2 = tm * (Mf[2, 0] * rxm + Mf[2, 1] * rym + Mf[2, 2]) - gf[2]
    Lp = (R.T @ light_cam) * inv_a
    ndotl = s0 * np.float32(Lp[0]) + s1 * np.float32(Lp[1]) + s2 * np.float32(Lp[2])
    ia = inv_a.astype(np.float32)
    norm = np.sqrt((s0 * ia[0]) ** 2 + (s1 * ia[1]) ** 2 + (s2 * ia[2]) ** 2) + np.float32(1e-9)
    shade = np.maximum(ndotl / norm, 0)
    depth[m] = tm
    b.sid[v0:v1, u0:u1][m] = sid
    b.obj[v0:v1, u0:u1][m] = obj
    b.shade[v0:v1, u0:u1][m] = shade
    if tex_freq > 0:
        zloc = s2 * np.float32(a[2])
        b.tex[v0:v1, u0:u1][m] = 1.0 - 0.35 * (np.sin(np.float32(2 * np.pi * tex_freq) * zloc) > 0)
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
    for k, part_region in enumerate(view.bboxes(centers_c, R_c, body.radii)):
        a = body.radii[k]
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


def raster_objects(b: Buffers, view: View, T_cam_world: Transform, posed_list, indices, light_cam: np.ndarray,
                   tex_freq: np.ndarray, silhouettes: bool = True, shading: bool = True) -> list[ObjectRaster]:
    """Z-buffer many posed objects (like :func:`raster_object` for each). Box parts are cast one by one; all
    ellipsoid parts of all objects are cast together on one flat list of their pixels (the per-part numpy
    call overhead, not the pixel count, dominates for the typical few hundred pixels per part).
    ``silhouettes``: count each object's unoccluded silhouette; ``shading``: fill ``shade`` and ``obj`` of
    ellipsoid parts (not needed by the thermal and depth images)."""
    posed_list = list(posed_list)
    indices = list(indices)
    if not posed_list:
        return []
    # pixel regions of every object's padded box and of all parts, in one go
    Rcs, tcs, cens, rads, rots, counts, kinds = [], [], [], [], [], [], []
    for posed in posed_list:
        R_c = T_cam_world.R @ posed.R
        t_c = T_cam_world.apply(posed.t)
        size = posed.body.size
        Rcs.append(R_c)
        tcs.append(t_c)
        cc = t_c + posed.centers @ R_c.T
        cens.append(t_c + R_c @ np.array([0, 0, size[2] / 2]))
        cens.extend(cc)
        rads.append(size / 2 + 0.05)
        rads.extend(posed.body.radii)
        rots.extend([R_c] * (len(cc) + 1))
        counts.append(len(cc) + 1)
        kinds.append(-1)
        kinds.extend(posed.body.kinds.tolist())
    cens_a = np.array(cens)
    rots_a, rads_a = np.array(rots), np.array(rads)
    regions = view.bboxes(cens_a, rots_a, rads_a)
    tight = view.ellipsoid_bboxes(cens_a, rots_a, rads_a)
    if tight is not None:  # ellipsoid parts: intersect with the exact bounds of their projected outline
        tv0, tv1, tu0, tu1 = (x.tolist() for x in tight)
        for i, r in enumerate(regions):
            if r is not None and kinds[i] == shapes.ELLIPSOID and r != (0, view.h, 0, view.w) \
                    and np.isfinite(tv0[i]) and np.isfinite(tu0[i]):
                regions[i] = (max(r[0], int(tv0[i])), min(r[1], int(tv1[i])), max(r[2], int(tu0[i])),
                              min(r[3], int(tu1[i])))
    out, sils, parts = [], [], []
    pos = 0
    for posed, index, R_c, cnt in zip(posed_list, indices, Rcs, counts):
        region = regions[pos]
        part_regions = regions[pos + 1:pos + cnt]
        centers_c = cens_a[pos + 1:pos + cnt]
        pos += cnt
        out.append(ObjectRaster(index, region, 0))
        if region is None:
            sils.append(None)
            continue
        body = posed.body
        v0, v1, u0, u1 = region
        sil = np.zeros((v1 - v0, u1 - u0), bool) if silhouettes else None
        sils.append(sil)
        Lc = R_c.T @ light_cam
        for k, pr in enumerate(part_regions):
            if pr is None:
                continue
            pr = (max(pr[0], v0), min(pr[1], v1), max(pr[2], u0), min(pr[3], u1))
            if pr[0] >= pr[1] or pr[2] >= pr[3]:
                continue
            sid = int(body.surfaces[k])
            if int(body.kinds[k]) != shapes.ELLIPSOID:
                raster_part(b, view, int(body.kinds[k]), centers_c[k], R_c, body.radii[k], sid, index, light_cam,
                            float(tex_freq[sid]), pr, sil, (v0, u0))
                continue
            parts.append((len(out) - 1, pr, centers_c[k], R_c, body.radii[k], sid, index, Lc))
    if parts:
        _raster_ellipsoids(b, view, parts, tex_freq, sils if silhouettes else None, out, shading)
    if silhouettes:
        out = [ObjectRaster(o.index, o.region, int(s.sum()) if s is not None else 0) for o, s in zip(out, sils)]
    return out


def _raster_ellipsoids(b: Buffers, view: View, parts: list, tex_freq: np.ndarray, sils: list | None, out: list,
                       shading: bool = True) -> None:
    H, W = view.h, view.w
    n = len(parts)
    # per-part coefficients, all parts at once
    Rs = np.array([p[3] for p in parts])
    cs = np.array([p[2] for p in parts])
    radii = np.array([p[4] for p in parts])
    inv_a = 1.0 / radii
    M = np.transpose(Rs, (0, 2, 1)) * inv_a[:, :, None]  # diag(1/a) Rᵀ
    g = np.einsum("nij,nj->ni", M, cs)
    Q = np.einsum("nki,nkj->nij", M, M)
    w = np.einsum("nki,nk->ni", M, g)
    zero = np.zeros(n)
    coef = np.stack([np.stack([Q[:, 0, 0], zero], 1), np.stack([2 * Q[:, 0, 1], zero], 1),
                     np.stack([Q[:, 1, 1], zero], 1), np.stack([2 * Q[:, 0, 2], w[:, 0]], 1),
                     np.stack([2 * Q[:, 1, 2], w[:, 1]], 1), np.stack([Q[:, 2, 2], w[:, 2]], 1)], 1).astype(np.float32)
    Cs = np.einsum("ni,ni->n", g, g) - 1.0
    Lps = np.array([p[7] for p in parts]) * inv_a
    sids = np.array([p[5] for p in parts], np.int32)
    objs = np.array([p[6] for p in parts], np.int16)
    tfs = tex_freq[sids]
    a2s = radii[:, 2]
    ias = inv_a
    Ms, gs = M, g
    flat_idx = view.flat_index
    feats = view.features
    ABs, pix, sizes = [], [], []
    for k, (_, (v0, v1, u0, u1), *_) in enumerate(parts):
        ABs.append((feats[v0:v1, u0:u1] @ coef[k]).reshape(-1, 2))
        pix.append(flat_idx[v0:v1, u0:u1].ravel())
        sizes.append((v1 - v0) * (u1 - u0))
    AB = np.concatenate(ABs)
    pix = np.concatenate(pix)
    sizes = np.asarray(sizes)
    pid = np.repeat(np.arange(n, dtype=np.int32), sizes)
    A = AB[:, 0]
    B = AB[:, 1]
    disc = B * B
    disc -= A * np.asarray(Cs, np.float32)[pid]
    hit = disc >= 0
    np.sqrt(disc, out=disc, where=hit)
    t = B - disc
    t /= A
    hit &= t > NEAR_M
    h = np.flatnonzero(hit)
    if h.size == 0:
        return
    pix_h, t_h, pid_h = pix[h], t[h], pid[h]
    # silhouettes: hits of each object (parts are grouped by object, in order)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    part_obj = np.array([p[0] for p in parts])
    bounds = np.searchsorted(h, starts)
    for j in (np.unique(part_obj) if sils is not None else ()):
        ks = np.flatnonzero(part_obj == j)
        lo, hi = bounds[ks[0]], bounds[ks[-1] + 1]
        if hi <= lo:
            continue
        v0, _, u0, _ = out[j].region
        p = pix_h[lo:hi]
        sils[j][p // W - v0, p % W - u0] = True
    depth = b.depth.reshape(-1)
    old = depth[pix_h]
    np.minimum.at(depth, pix_h, t_h)
    win = (t_h == depth[pix_h]) & (t_h < old)
    if not win.any():
        return
    pw, tw, kw = pix_h[win], t_h[win], pid_h[win]
    b.sid.reshape(-1)[pw] = sids[kw]
    tf = np.asarray(tfs, np.float32)
    if not shading and not np.any(tf > 0):
        b.tex.reshape(-1)[pw] = 1.0
        return
    r3 = np.stack([view.rx.reshape(-1)[pw], view.ry.reshape(-1)[pw], np.ones(pw.size, np.float32)], 1)
    if shading:
        m = np.einsum("nij,nj->ni", np.asarray(Ms, np.float32)[kw], r3)
        s = tw[:, None] * m - np.asarray(gs, np.float32)[kw]
        ndotl = np.einsum("ni,ni->n", s, np.asarray(Lps, np.float32)[kw])
        sn = s * np.asarray(ias, np.float32)[kw]
        norm = np.sqrt(np.einsum("ni,ni->n", sn, sn)) + np.float32(1e-9)
        b.obj.reshape(-1)[pw] = objs[kw]
        b.shade.reshape(-1)[pw] = np.maximum(ndotl / norm, 0)
        s2 = s[:, 2]
    else:  # only the local height of the hit (texture stripes)
        s2 = tw * np.einsum("ni,ni->n", np.asarray(Ms[:, 2], np.float32)[kw], r3) - np.asarray(gs[:, 2], np.float32)[kw]
    if np.any(tf > 0):
        f = tf[kw]
        zloc = s2 * np.asarray(a2s, np.float32)[kw]
        b.tex.reshape(-1)[pw] = np.where(f > 0, 1.0 - 0.35 * (np.sin(np.float32(2 * np.pi) * f * zloc) > 0), 1.0)
    else:
        b.tex.reshape(-1)[pw] = 1.0
