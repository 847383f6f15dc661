"""Registration: bring thermal and depth images into the RGB camera (its pixels, its optical frame).

Depth is forward-projected: every valid depth pixel is back-projected with the depth intrinsics, moved into
the RGB frame with ``T_color_depth`` and projected with the RGB intrinsics; where several land on one pixel
the nearest wins (z-buffer), and one-pixel cracks left by the splat are closed with a small min-filter.

Thermal is backward-warped: every RGB pixel is lifted to 3D at its registered depth (or, where depth is
missing, at a configured assumed distance), moved into the thermal frame with ``T_thermal_color`` and
projected with the thermal intrinsics; the thermal image is sampled there bilinearly. Parallax between the
cameras is then exact where depth exists and small elsewhere (a few cm baseline at metres of range).

Lens distortion (camera_info's distortion_model and D: plumb_bob, rational_polynomial, equidistant) enters in
two places, both through tracker.common.geometry.CameraModel: the per-pixel rays of the camera whose pixels are
lifted to 3D (depth's, and RGB's for thermal) are undistorted once per calibration (``pixel_rays``), and the
projection into the other camera applies its distortion (``project_xyz``).

Intrinsics come from camera_info, extrinsics from /tf_static (``T_color_<camera>``); config only supplies
fallbacks and thresholds.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping

import cv2
import numpy as np

from tracker.common.config import param
from tracker.common.geometry import CameraModel, Transform


@dataclass(frozen=True)
class RegistrationConfig:
    assumed_distance_m: float = param(20.0, unit="m", gt=0.0,
                                      doc="distance at which thermal pixels without depth are registered (the "
                                          "plane the default model was trained on; most people stand beyond "
                                          "the depth cameras' range: docs/box-quality.md)")
    use_depth_for_thermal: bool = param(False, doc="warp thermal with per-pixel registered depth when present; "
                                        "false: a cached plane at assumed_distance_m (~2.5 vs ~4 ms/frame on a "
                                        "2-core CPU; parallax ~3 px at 4 m for a 4.5 cm baseline; tracking on "
                                        "the seed-7 tuning bags HOTA 36.6 plane vs 36.2 warp)")
    min_depth_m: float = param(0.1, unit="m", ge=0.0, doc="depth readings below this are treated as no data")
    max_depth_m: float = param(60.0, unit="m", gt=0.0, doc="depth readings above this are treated as no data")
    hole_fill_px: int = param(1, unit="px", ge=0, le=5,
                              doc="radius of the min-filter that closes splatting cracks in registered depth")

    def validate(self) -> None:
        if self.max_depth_m <= self.min_depth_m:
            raise ValueError(f"max_depth_m ({self.max_depth_m} m) must exceed min_depth_m ({self.min_depth_m} m)")


def registration_mismatch(trained: Mapping | None, running: RegistrationConfig) -> str:
    """What differs between the registration a model was trained with (``trained``: its metadata's
    training.registration; None: unknown) and the one the node runs, as one line; "" when nothing differs. The
    network sees thermal as registered: a model trained on one thermal plane and run on another sees people
    shifted by the parallax difference."""
    if not trained:
        return ""
    diffs = [f"{k} {trained[k]} (trained) vs {v} (node)" for k, v in asdict(running).items()
             if k in trained and trained[k] != v]
    if not diffs:
        return ""
    return ("the model was trained on frames registered otherwise than this node registers them: " + "; ".join(diffs)
            + ". Set registration to the trained values, or fine-tune with tracker-train --node-config on this "
            "node's YAML")


def _same_camera(a: CameraModel, b: CameraModel, T: Transform) -> bool:
    return (a.width == b.width and a.height == b.height and np.allclose(a.K, b.K)
            and a.distortion_model == b.distortion_model and np.allclose(np.asarray(a.D), np.asarray(b.D))
            and np.allclose(T.R, np.eye(3))
            and np.allclose(T.t, 0.0))


def _ray_directions(cam: CameraModel, T_target_cam: Transform
                    ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """For every pixel of ``cam``, its undistorted ray (x/z, y/z, 1) rotated into the target frame, as three
    float32 (H, W) arrays, and the translation: pixel at depth z -> z * direction + t in the target frame."""
    rays = cam.pixel_rays()
    d = np.concatenate([rays, np.ones(rays.shape[:2] + (1,))], axis=-1) @ T_target_cam.R.T
    return (tuple(np.ascontiguousarray(d[..., i], dtype=np.float32) for i in range(3)),
            np.asarray(T_target_cam.t, dtype=np.float32))


class Registrar:
    """Registers thermal and depth images to the RGB camera; built once per set of camera models."""

    def __init__(self, cameras: Mapping[str, CameraModel], extrinsics: Mapping[str, Transform],
                 config: RegistrationConfig | None = None):
        if "color" not in cameras:
            raise ValueError("registration needs the RGB ('color') camera_info")
        self.config = config or RegistrationConfig()
        self.color = cameras["color"]
        self.thermal = cameras.get("thermal")
        self.depth = cameras.get("depth")
        self.T_color_thermal = extrinsics.get("thermal", Transform.identity())
        self.T_color_depth = extrinsics.get("depth", Transform.identity())
        self._depth_aligned = self.depth is not None and _same_camera(self.color, self.depth, self.T_color_depth)
        self._thermal_aligned = (self.thermal is not None
                                 and _same_camera(self.color, self.thermal, self.T_color_thermal))
        # per pixel, the direction (per metre of depth) of its ray in the target frame: a point at depth z is
        # z * direction + t, three float32 multiply-adds per pixel instead of a transform of an (N, 3) array
        self._depth_dirs = (_ray_directions(self.depth, self.T_color_depth)
                            if self.depth is not None and not self._depth_aligned else None)
        self._thermal_dirs = (_ray_directions(self.color, self.T_color_thermal.inverse())
                              if self.thermal is not None and not self._thermal_aligned else None)
        self._plane_maps: tuple[np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ depth
    def depth_to_rgb(self, depth_m: np.ndarray) -> np.ndarray:
        """Depth image (metres, NaN = no data) of the depth camera → float32 depth at RGB resolution."""
        if self.depth is None:
            raise ValueError("no depth camera_info: cannot register depth")
        d = np.asarray(depth_m, dtype=np.float32)
        if d.shape != (self.depth.height, self.depth.width):
            raise ValueError(f"depth image is {d.shape[1]}x{d.shape[0]} but its camera_info says "
                             f"{self.depth.width}x{self.depth.height}")
        cfg = self.config
        valid = np.isfinite(d) & (d >= cfg.min_depth_m) & (d <= cfg.max_depth_m)
        if self._depth_aligned:
            return np.where(valid, d, np.float32(np.nan)).astype(np.float32)
        sel = valid.reshape(-1)
        z = d.reshape(-1)[sel]
        (dx, dy, dz), t = self._depth_dirs
        x, y, zc = (a.reshape(-1)[sel] * z + ti for a, ti in zip((dx, dy, dz), t))
        uf, vf, front = self.color.project_xyz(x, y, zc)
        u = np.rint(uf).astype(np.int64)
        v = np.rint(vf).astype(np.int64)
        W, H = self.color.width, self.color.height
        keep = front & (u >= 0) & (u < W) & (v >= 0) & (v < H)
        idx = v[keep] * W + u[keep]
        out = np.full(H * W, np.inf, dtype=np.float32)
        np.minimum.at(out, idx, zc[keep])   # z-buffer: nearest wins
        out = out.reshape(H, W)
        if cfg.hole_fill_px > 0:
            k = 2 * cfg.hole_fill_px + 1
            filled = cv2.erode(out, np.ones((k, k), np.uint8))
            holes = ~np.isfinite(out)
            out[holes] = filled[holes]
        out[~(out <= cfg.max_depth_m)] = np.nan   # inf / float-max from empty neighbourhoods = no data
        return out

    # ---------------------------------------------------------------- thermal
    def _thermal_maps(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """remap() maps: where each RGB pixel, lifted to depth ``z`` (H, W), lands in the thermal image."""
        (dx, dy, dz), t = self._thermal_dirs
        mx, my, front = self.thermal.project_xyz(dx * z + t[0], dy * z + t[1], dz * z + t[2])
        mx[~front] = -1.0
        my[~front] = -1.0
        return mx, my

    def thermal_to_rgb(self, thermal: np.ndarray, depth_rgb: np.ndarray | None = None) -> np.ndarray:
        """Thermal image (its own camera) → the same dtype at RGB resolution, aligned with the RGB pixels."""
        if self.thermal is None:
            raise ValueError("no thermal camera_info: cannot register thermal")
        t = np.asarray(thermal)
        if t.shape[:2] != (self.thermal.height, self.thermal.width):
            raise ValueError(f"thermal image is {t.shape[1]}x{t.shape[0]} but its camera_info says "
                             f"{self.thermal.width}x{self.thermal.height}")
        if self._thermal_aligned:
            return t.copy()
        if depth_rgb is not None and self.config.use_depth_for_thermal:
            z = np.where(np.isfinite(depth_rgb), depth_rgb, self.config.assumed_distance_m).astype(np.float32)
            mx, my = self._thermal_maps(z)
        else:
            if self._plane_maps is None:
                z = np.full((self.color.height, self.color.width), self.config.assumed_distance_m, np.float32)
                self._plane_maps = self._thermal_maps(z)
            mx, my = self._plane_maps
        src = t.astype(np.float32) if t.dtype not in (np.uint8, np.uint16, np.float32) else t
        out = cv2.remap(src, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return out.astype(t.dtype, copy=False)
