"""Preprocessing shared by training and inference: letterbox to the network input, RGB /255, robust thermal
normalisation, depth as (inverse depth, valid mask). Images must already be registered to the RGB camera.

Thermal: per-frame percentiles (p_lo, p_hi) of the valid pixels, ``(t - p_lo) / max(p_hi - p_lo, min_range)``
clipped to [-1, 2]. The same formula serves radiometric mono16 (kelvin, min_range 4 K) and AGC mono8
(counts, min_range 20), and it does not depend on the absolute scene temperature (day, night, crossover).
Depth: ``d_ref / d`` (inverse depth, d_ref = 1 m) of readings in [d_min, d_max], 0 where there is none, and a
second channel that is 1 where a reading exists.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

THERMAL_PERCENTILES = (2.0, 98.0)
THERMAL_MIN_RANGE = {"mono16": 4.0, "mono8": 20.0}  # kelvin / counts
DEPTH_MIN_M, DEPTH_MAX_M = 0.3, 80.0
DEPTH_REF_M = 1.0


@dataclass(frozen=True)
class Letterbox:
    """Resize by ``scale`` (keeping the aspect ratio) into the top-left of a (height, width) canvas."""

    scale: float
    new_w: int
    new_h: int
    width: int
    height: int

    @staticmethod
    def fit(src_w: int, src_h: int, width: int, height: int) -> "Letterbox":
        s = min(width / src_w, height / src_h)
        return Letterbox(s, min(width, int(round(src_w * s))), min(height, int(round(src_h * s))), width, height)

    def apply(self, img: np.ndarray, nearest: bool = False, fill=0) -> np.ndarray:
        interp = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if self.scale < 1 else cv2.INTER_LINEAR)
        r = cv2.resize(img, (self.new_w, self.new_h), interpolation=interp)
        out = np.full((self.height, self.width) + img.shape[2:], fill, dtype=img.dtype)
        out[: self.new_h, : self.new_w] = r
        return out

    def boxes_to_input(self, boxes: np.ndarray) -> np.ndarray:
        return np.asarray(boxes, np.float32) * self.scale

    def boxes_to_image(self, boxes: np.ndarray) -> np.ndarray:
        return np.asarray(boxes, np.float64) / self.scale


def thermal_values(thermal: np.ndarray, encoding: str | None) -> tuple[np.ndarray, str]:
    """Raw thermal -> float32 values (kelvin for mono16, counts for mono8) and the encoding family."""
    enc = (encoding or "mono16").lower()
    t = np.asarray(thermal, np.float32)
    if enc in ("mono16", "16uc1"):
        return t / 100.0, "mono16"
    return t, "mono8"


def normalise_thermal(values: np.ndarray, family: str, valid: np.ndarray | None = None,
                      percentiles=THERMAL_PERCENTILES, min_range: float | None = None) -> np.ndarray:
    v = values
    if valid is None:
        valid = v > 0
    sample = v[valid][::7]
    if sample.size < 16:
        return np.zeros_like(v, dtype=np.float32)
    lo, hi = np.percentile(sample, percentiles)
    rng = max(float(hi - lo), min_range if min_range is not None else THERMAL_MIN_RANGE[family])
    out = np.clip((v - lo) / rng, -1.0, 2.0).astype(np.float32)
    out[~valid] = 0.0
    return out


def encode_depth(depth_m: np.ndarray) -> np.ndarray:
    """(2, H, W) float32: inverse depth (0 where none) and valid mask."""
    d = np.asarray(depth_m, np.float32)
    valid = np.isfinite(d) & (d >= DEPTH_MIN_M) & (d <= DEPTH_MAX_M)
    inv = np.zeros_like(d)
    inv[valid] = DEPTH_REF_M / d[valid]
    return np.stack([inv, valid.astype(np.float32)])


def rgb_tensor(rgb_u8: np.ndarray) -> np.ndarray:
    return (np.asarray(rgb_u8, np.float32) / 255.0).transpose(2, 0, 1)
