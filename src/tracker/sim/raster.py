"""Ray casting of the scene into per-camera buffers: the ground plane, then each object's parts (vectorised numpy).

Each primitive is intersected only with the pixels inside its projected bounds (:mod:`tracker.sim.view`;
the casting itself is in :mod:`tracker.sim.raycast`); the ground plane and static clutter form a background
that is rendered once per camera when the rig does not move. Buffers hold, per pixel: depth z (m, inf = sky),
surface id, Lambert shading, texture multiplier and the index of the labelled object (-1 = none).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.common.geometry import Transform

from . import shapes
from .raycast import EllipsoidPart, cast_box, cast_ellipsoid, cast_ellipsoids
from .view import View, box_corners

SKY_DEPTH = np.float32(np.inf)
OBJECT_PAD_M = 0.05  # margin around an object's tight box when bounding its pixels


@dataclass
class Buffers:
    depth: np.ndarray  # (H, W) float32 metres along the optical axis
    sid: np.ndarray  # (H, W) int32 surface ids
    shade: np.ndarray  # (H, W) float32 Lambert term of the sun
    tex: np.ndarray  # (H, W) float32 texture multiplier
    obj: np.ndarray  # (H, W) int16 labelled object index, -1 none

    def copy(self) -> "Buffers":
        return Buffers(self.depth.copy(), self.sid.copy(), self.shade.copy(), self.tex.copy(), self.obj.copy())


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
    """Z-buffer one ellipsoid/box (centre ``c``, rotation ``R`` and semi-axes ``a`` in the camera frame) inside
    ``region`` (default: its projected box). ``sil``: optional boolean silhouette of the object (origin
    ``sil_origin`` in the image) to OR hits into."""
    if region is None:
        region = view.bbox(box_corners(c, R, a))
        if region is None:
            return
    cast = cast_ellipsoid if kind == shapes.ELLIPSOID else cast_box
    cast(b, view, c, R, a, sid, obj, light_cam, tex_freq, region, sil, sil_origin)


@dataclass
class ObjectRaster:
    index: int
    region: tuple | None  # (v0, v1, u0, u1) in the image
    silhouette_px: int


def raster_object(b: Buffers, view: View, T_cam_world: Transform, posed, index: int, light_cam: np.ndarray,
                  tex_freq: np.ndarray, min_px: float = 0.0) -> ObjectRaster:
    """Z-buffer all parts of a posed object one by one; returns its image region and unoccluded silhouette
    size."""
    R_c = T_cam_world.R @ posed.R
    t_c = T_cam_world.apply(posed.t)
    body = posed.body
    size = body.size
    box_c = t_c + R_c @ np.array([0, 0, size[2] / 2])
    region = view.bbox(box_corners(box_c, R_c, size / 2 + OBJECT_PAD_M))
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


def _regions(view: View, T_cam_world: Transform, posed_list: list):
    """Camera-frame rotation of each object and, for each object, its padded box's pixel region followed by
    the regions and centres of its parts (ellipsoids: cut to the exact bounds of their projected outline)."""
    Rcs, cens, rads, rots, kinds = [], [], [], [], []
    for posed in posed_list:
        R_c = T_cam_world.R @ posed.R
        t_c = T_cam_world.apply(posed.t)
        size = posed.body.size
        Rcs.append(R_c)
        cc = t_c + posed.centers @ R_c.T
        cens.append(t_c + R_c @ np.array([0, 0, size[2] / 2]))
        cens.extend(cc)
        rads.append(size / 2 + OBJECT_PAD_M)
        rads.extend(posed.body.radii)
        rots.extend([R_c] * (len(cc) + 1))
        kinds.append(-1)
        kinds.extend(posed.body.kinds.tolist())
    cens_a = np.array(cens)
    rots_a, rads_a = np.array(rots), np.array(rads)
    regions = view.bboxes(cens_a, rots_a, rads_a)
    tight = view.ellipsoid_bboxes(cens_a, rots_a, rads_a)
    if tight is not None:
        tv0, tv1, tu0, tu1 = (x.tolist() for x in tight)
        for i, r in enumerate(regions):
            if r is not None and kinds[i] == shapes.ELLIPSOID and r != (0, view.h, 0, view.w) \
                    and np.isfinite(tv0[i]) and np.isfinite(tu0[i]):
                regions[i] = (max(r[0], int(tv0[i])), min(r[1], int(tv1[i])), max(r[2], int(tu0[i])),
                              min(r[3], int(tu1[i])))
    return Rcs, regions, cens_a


def raster_objects(b: Buffers, view: View, T_cam_world: Transform, posed_list, indices, light_cam: np.ndarray,
                   tex_freq: np.ndarray, silhouettes: bool = True, shading: bool = True) -> list[ObjectRaster]:
    """Z-buffer many posed objects (like :func:`raster_object` for each). Box parts are cast one by one; all
    ellipsoid parts of all objects are cast together (:func:`~tracker.sim.raycast.cast_ellipsoids`).
    ``silhouettes``: count each object's unoccluded silhouette; ``shading``: fill ``shade`` and ``obj`` of
    ellipsoid parts (not needed by the thermal and depth images)."""
    posed_list = list(posed_list)
    indices = list(indices)
    if not posed_list:
        return []
    Rcs, regions, cens_a = _regions(view, T_cam_world, posed_list)
    out, sils, parts = [], [], []
    pos = 0
    for posed, index, R_c in zip(posed_list, indices, Rcs):
        cnt = len(posed.centers) + 1
        region, part_regions, centers_c = regions[pos], regions[pos + 1:pos + cnt], cens_a[pos + 1:pos + cnt]
        pos += cnt
        out.append(ObjectRaster(index, region, 0))
        sils.append(None if region is None or not silhouettes else
                    np.zeros((region[1] - region[0], region[3] - region[2]), bool))
        if region is None:
            continue
        body = posed.body
        v0, v1, u0, u1 = region
        Lc = R_c.T @ light_cam
        for k, pr in enumerate(part_regions):
            if pr is None:
                continue
            pr = (max(pr[0], v0), min(pr[1], v1), max(pr[2], u0), min(pr[3], u1))
            if pr[0] >= pr[1] or pr[2] >= pr[3]:
                continue
            sid = int(body.surfaces[k])
            if int(body.kinds[k]) != shapes.ELLIPSOID:
                cast_box(b, view, centers_c[k], R_c, body.radii[k], sid, index, light_cam, float(tex_freq[sid]),
                         pr, sils[-1], (v0, u0))
                continue
            parts.append(EllipsoidPart(len(out) - 1, pr, centers_c[k], R_c, body.radii[k], sid, index, Lc))
    if parts:
        origins = [None if o.region is None else (o.region[0], o.region[2]) for o in out]
        cast_ellipsoids(b, view, parts, tex_freq, sils if silhouettes else None, origins, shading)
    if silhouettes:
        out = [ObjectRaster(o.index, o.region, int(s.sum()) if s is not None else 0) for o, s in zip(out, sils)]
    return out
