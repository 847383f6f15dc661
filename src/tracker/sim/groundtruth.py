"""Ground truth of posed objects in a camera: 3D box in the optical frame, tight amodal 2D box, visibility."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.common.geometry import CameraModel, Transform

from . import shapes


@dataclass(frozen=True)
class GTObject:
    id: str
    cls: str
    box2d: tuple  # x1, y1, x2, y2 amodal, RGB pixels (not clipped to the image)
    visibility: float  # visible fraction of the object's silhouette (occlusion and image border)
    center3d: np.ndarray  # (3,) box centre in the RGB optical frame, metres
    size3d: np.ndarray  # (3,) length (object x), width (object y), height (object z), metres
    quat: tuple  # orientation of the box axes in the RGB optical frame (x, y, z, w)


@dataclass(frozen=True)
class GTFrame:
    stamp: float  # seconds (header stamp of the RGB frame)
    objects: list


def _sphere_points(n: int = 96) -> np.ndarray:
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    th = np.pi * (1 + 5 ** 0.5) * i
    return np.stack([np.cos(th) * np.sin(phi), np.sin(th) * np.sin(phi), np.cos(phi)], 1)


SPHERE = _sphere_points()
CUBE = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=np.float64)


_UNIT_POINTS: dict = {}  # id(body) -> (body, unit points (N, 3), part index (N,)), built once per body


def _unit_points(body) -> tuple[np.ndarray, np.ndarray]:
    hit = _UNIT_POINTS.get(id(body))
    if hit is None or hit[0] is not body:
        units = [SPHERE if body.kinds[k] == shapes.ELLIPSOID else CUBE for k in range(len(body.kinds))]
        idx = np.concatenate([np.full(len(u), k) for k, u in enumerate(units)])
        hit = _UNIT_POINTS[id(body)] = (body, np.concatenate(units), idx)
    return hit[1], hit[2]


def surface_points_cam(posed, T_cam_world: Transform) -> np.ndarray:
    """Points on the surface of every part (ellipsoid samples, box corners) in the camera frame."""
    body = posed.body
    unit, idx = _unit_points(body)
    local = posed.centers[idx] + unit * body.radii[idx]
    world = posed.t + local @ posed.R.T
    return T_cam_world.apply(world)


def box2d(posed, T_cam_world: Transform, cam: CameraModel, near_m: float) -> tuple | None:
    """Tight amodal box of the projected parts; None when the object is behind the camera."""
    p = surface_points_cam(posed, T_cam_world)
    p = p[p[:, 2] > near_m]
    if len(p) == 0:
        return None
    uv, _ = cam.project(p)
    return float(uv[:, 0].min()), float(uv[:, 1].min()), float(uv[:, 0].max()), float(uv[:, 1].max())


def box3d(posed, T_cam_world: Transform) -> tuple[np.ndarray, np.ndarray, tuple]:
    from tracker.common.geometry import matrix_to_quat
    center = T_cam_world.apply(posed.box_center_world())
    return center, posed.body.size.copy(), matrix_to_quat(T_cam_world.R @ posed.R)


def box_occlusion_visibility(boxes: list[tuple], depths: list[float], w: int, h: int, grid: int = 12
                             ) -> list[float]:
    """Render-free visibility: the fraction of each box (on a grid of sample points, inside the image) not
    covered by the 85 % core of a nearer object's box, times its in-image fraction."""
    out = []
    for i, (b, d) in enumerate(zip(boxes, depths)):
        xs = np.linspace(b[0], b[2], grid)
        ys = np.linspace(b[1], b[3], grid)
        X, Y = np.meshgrid(xs, ys)
        inside = (X >= 0) & (X < w) & (Y >= 0) & (Y < h)
        if not inside.any():
            out.append(0.0)
            continue
        covered = np.zeros_like(inside)
        for j, (o, dj) in enumerate(zip(boxes, depths)):
            if j == i or dj >= d:
                continue
            mx, my = 0.075 * (o[2] - o[0]), 0.075 * (o[3] - o[1])
            covered |= (X >= o[0] + mx) & (X <= o[2] - mx) & (Y >= o[1] + my) & (Y <= o[3] - my)
        out.append(float((inside & ~covered).sum() / inside.size))
    return out
