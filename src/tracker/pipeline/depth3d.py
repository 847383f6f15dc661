"""3D positions and extents of 2D boxes from registered depth (ROS-free, numpy only).

For each box: the valid depth readings (finite, inside [min_depth_m, max_depth_m]) of the box's central
region (``central_fraction`` of its width and height, where the object dominates over background) are
reduced to one depth by a robust statistic (a low percentile by default: the object is nearer than the
background that leaks into the box; ``percentile: 50`` is the median). The box centre is back-projected at
that depth with the RGB intrinsics. With too few valid readings, the depth head's range along the ray through
the box centre (``Detections.distances``) is used instead; with neither, the row is NaN.

Extents: width and height from the box size at that depth (pinhole), and a per-class depth extent from config.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tracker.common.config import param
from tracker.common.geometry import CameraModel

SOURCE_NONE, SOURCE_DEPTH, SOURCE_HEAD = 0, 1, 2


@dataclass(frozen=True)
class Depth3DConfig:
    central_fraction: float = param(0.5, unit="1", gt=0.0, le=1.0,
                                    doc="fraction of the box width and height (centred) whose depth is used")
    percentile: float = param(30.0, unit="%", ge=0.0, le=100.0,
                              doc="robust statistic of the valid depth in that region (50 = median)")
    min_valid_px: int = param(6, unit="px", ge=1, doc="fewer valid depth readings than this: use the fallback")
    min_valid_fraction: float = param(0.05, unit="1", ge=0.0, le=1.0,
                                      doc="valid fraction of the region below which the fallback is used")
    min_depth_m: float = param(0.2, unit="m", ge=0.0, doc="depth readings below this are no data")
    max_depth_m: float = param(60.0, unit="m", gt=0.0, doc="depth readings above this are no data")
    use_depth_head: bool = param(True, doc="fall back to the network's depth-head distance where depth is missing")
    class_depth_extent_m: dict[str, float] = param(
        default_factory=lambda: {"person": 0.5, "vehicle": 4.0}, unit="m",
        doc="extent along the viewing ray per class name (not observable from one view)")
    default_depth_extent_m: float = param(1.0, unit="m", gt=0.0, doc="depth extent of classes not listed")

    def validate(self) -> None:
        if self.max_depth_m <= self.min_depth_m:
            raise ValueError(f"max_depth_m ({self.max_depth_m} m) must exceed min_depth_m ({self.min_depth_m} m)")
        for k, v in self.class_depth_extent_m.items():
            if not v > 0:
                raise ValueError(f"class_depth_extent_m.{k} = {v} m must be > 0")


@dataclass
class Boxes3D:
    """positions (N, 3) m camera frame (NaN rows = none), sizes (N, 3) m, source (N,) SOURCE_*,
    valid_fraction (N,) of the central region."""

    positions: np.ndarray
    sizes: np.ndarray
    source: np.ndarray
    valid_fraction: np.ndarray = field(default_factory=lambda: np.zeros(0))


def box_depths(boxes: np.ndarray, depth_rgb: np.ndarray, cfg: Depth3DConfig) -> tuple[np.ndarray, np.ndarray,
                                                                                       np.ndarray]:
    """Robust depth (N,) (NaN where too few readings), valid count (N,) and valid fraction (N,) per box."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    n = b.shape[0]
    z = np.full(n, np.nan)
    count = np.zeros(n, dtype=np.int64)
    frac = np.zeros(n)
    if depth_rgb is None or n == 0:
        return z, count, frac
    H, W = depth_rgb.shape[:2]
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    hw = np.abs(b[:, 2] - b[:, 0]) * cfg.central_fraction / 2
    hh = np.abs(b[:, 3] - b[:, 1]) * cfg.central_fraction / 2
    x0 = np.clip(np.floor(cx - hw), 0, W).astype(int)
    x1 = np.clip(np.ceil(cx + hw), 0, W).astype(int)
    y0 = np.clip(np.floor(cy - hh), 0, H).astype(int)
    y1 = np.clip(np.ceil(cy + hh), 0, H).astype(int)
    for i in range(n):
        if x1[i] <= x0[i] or y1[i] <= y0[i]:
            continue
        roi = depth_rgb[y0[i]:y1[i], x0[i]:x1[i]]
        v = roi[np.isfinite(roi) & (roi >= cfg.min_depth_m) & (roi <= cfg.max_depth_m)]
        count[i] = v.size
        frac[i] = v.size / roi.size
        if v.size >= cfg.min_valid_px and frac[i] >= cfg.min_valid_fraction:
            z[i] = float(np.percentile(v, cfg.percentile))
    return z, count, frac


def boxes_to_3d(boxes: np.ndarray, classes_names: list[str], camera: CameraModel | None,
                depth_rgb: np.ndarray | None, distances: np.ndarray | None, cfg: Depth3DConfig) -> Boxes3D:
    """3D centre and extent of each box (see the module docstring)."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    n = b.shape[0]
    pos = np.full((n, 3), np.nan)
    size = np.full((n, 3), np.nan)
    src = np.full(n, SOURCE_NONE, dtype=np.int64)
    if camera is None or n == 0:
        return Boxes3D(pos, size, src, np.zeros(n))
    z, _, frac = box_depths(b, depth_rgb, cfg) if depth_rgb is not None else (np.full(n, np.nan), None,
                                                                              np.zeros(n))
    centres = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1)
    rays = camera.undistort_normalized(centres)  # (n, 2) x/z, y/z
    have = np.isfinite(z)
    src[have] = SOURCE_DEPTH
    if cfg.use_depth_head and distances is not None:
        d = np.asarray(distances, dtype=np.float64).reshape(-1)
        head = ~have & np.isfinite(d) & (d > 0)
        # range along the ray -> z: r = z * sqrt(1 + x^2 + y^2)
        z = np.where(head, d / np.sqrt(1.0 + rays[:, 0] ** 2 + rays[:, 1] ** 2), z)
        src[head] = SOURCE_HEAD
        have = have | head
    pos[have] = np.stack([rays[have, 0] * z[have], rays[have, 1] * z[have], z[have]], axis=1)
    w_m = np.abs(b[:, 2] - b[:, 0]) * z / camera.fx
    h_m = np.abs(b[:, 3] - b[:, 1]) * z / camera.fy
    ext = np.array([cfg.class_depth_extent_m.get(c, cfg.default_depth_extent_m) for c in classes_names])
    size[have] = np.stack([w_m[have], h_m[have], ext[have] if n else ext], axis=1)
    return Boxes3D(pos, size, src, frac)
