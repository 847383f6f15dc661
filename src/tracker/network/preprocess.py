"""Preprocessing shared by training and inference: letterbox to the network input, RGB /255, robust thermal
normalisation, depth as (inverse depth, valid mask). Images must already be registered to the RGB camera.

Thermal: per-frame percentiles (p_lo, p_hi) of the valid pixels, ``(t - p_lo) / max(p_hi - p_lo, min_range)``
clipped to [-1, 2]. The same formula serves radiometric mono16 (kelvin, min_range 4 K) and AGC mono8
(counts, min_range 20), and it does not depend on the absolute scene temperature (day, night, crossover).
A model with ``thermal_channels: 2`` gets a second thermal channel that keeps temperature: for radiometric
mono16, ``(kelvin - median kelvin) / relative_scale`` clipped to ``relative_clip`` (median of the same sparse
sample as the percentiles; a person ~18 K warmer than the median -> 1.8 at 10 K); for AGC mono8 (no
temperature) it is all zeros. A 1-channel model gets exactly the first channel.
Depth: ``d_ref / d`` (inverse depth, d_ref = 1 m) of readings in [d_min, d_max], 0 where there is none, and a
second channel that is 1 where a reading exists.

The settings are :class:`NormalisationConfig`; tracker-export writes them into the model's metadata JSON
(:meth:`NormalisationConfig.to_meta`) and inference reads them back from there (:meth:`~.from_meta`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import cv2
import numpy as np

from tracker.common.config import from_mapping, param
from tracker.data.contract import THERMAL_COUNTS_PER_KELVIN

THERMAL_FAMILIES = ("mono16", "mono8")
#: the thermal input's channels (a model has the first ``thermal_channels`` of them)
THERMAL_LAYOUT = ("percentile-normalised", "relative kelvin (t - median) / scale_k")


@dataclass(frozen=True)
class NormalisationConfig:
    thermal_percentiles: tuple[float, float] = param((2.0, 98.0), unit="%", ge=0.0, le=100.0,
                                                     doc="per-frame (low, high) percentiles of the valid pixels")
    thermal_min_range_mono16: float = param(4.0, unit="K", gt=0.0, doc="smallest p_hi - p_lo of mono16 (kelvin)")
    thermal_min_range_mono8: float = param(20.0, unit="counts", gt=0.0, doc="smallest p_hi - p_lo of AGC mono8")
    thermal_clip: tuple[float, float] = param((-1.0, 2.0), unit="1", doc="normalised thermal is clipped to this")
    thermal_sample_step: int = param(7, unit="px", ge=1, doc="percentiles from every n-th valid pixel (speed)")
    thermal_min_samples: int = param(16, unit="px", ge=1,
                                     doc="fewer sampled valid pixels: the thermal input is all zeros")
    thermal_channels: int = param(1, ge=1, le=2, doc="thermal input channels: 1 = percentile-normalised; 2 = and "
                                  "kelvin relative to the frame median (the model config's thermal_channels)")
    thermal_relative_scale_k: float = param(10.0, unit="K", gt=0.0,
                                            doc="relative channel = (kelvin - frame median kelvin) / this")
    thermal_relative_clip: tuple[float, float] = param((-2.0, 4.0), unit="1",
                                                       doc="the relative channel is clipped to this")
    depth_ref_m: float = param(1.0, unit="m", gt=0.0, doc="d_ref of the inverse depth d_ref / d")
    depth_min_m: float = param(0.3, unit="m", gt=0.0, doc="depth readings below this are no reading")
    depth_max_m: float = param(80.0, unit="m", gt=0.0, doc="depth readings above this are no reading")

    def validate(self) -> None:
        lo, hi = self.thermal_percentiles
        if not lo < hi:
            raise ValueError(f"thermal_percentiles {self.thermal_percentiles}: low must be below high")
        for name in ("thermal_clip", "thermal_relative_clip"):
            if not getattr(self, name)[0] < getattr(self, name)[1]:
                raise ValueError(f"{name} {getattr(self, name)}: low must be below high")
        if not self.depth_min_m < self.depth_max_m:
            raise ValueError("depth_min_m must be below depth_max_m")

    def min_range(self, family: str) -> float:
        return self.thermal_min_range_mono16 if family == "mono16" else self.thermal_min_range_mono8

    def to_meta(self) -> dict:
        """The ``normalisation`` section of the model metadata JSON."""
        return {
            "letterbox": "resize keeping aspect ratio into the top-left corner, zero padding",
            "rgb": "RGB order, /255",
            "thermal": {"method": "per-frame percentiles of valid pixels",
                        "percentiles": list(self.thermal_percentiles),
                        "min_range": {"mono16": self.thermal_min_range_mono16, "mono8": self.thermal_min_range_mono8},
                        "clip": list(self.thermal_clip), "mono16": f"counts/{THERMAL_COUNTS_PER_KELVIN:g} = kelvin",
                        "invalid": 0.0, "sample_step": self.thermal_sample_step,
                        "min_samples": self.thermal_min_samples, **self._thermal_layout()},
            "depth": {"channels": ["inverse depth d_ref/d", "valid mask"], "d_ref_m": self.depth_ref_m,
                      "valid_range_m": [self.depth_min_m, self.depth_max_m], "nan": 0.0},
            "modality": "availability flags (rgb, thermal, depth); a missing modality's input is zeros"}

    def _thermal_layout(self) -> dict:
        layout = {"channels": self.thermal_channels, "layout": list(THERMAL_LAYOUT[:self.thermal_channels])}
        if self.thermal_channels > 1:
            layout["relative"] = {
                "method": "(kelvin - median kelvin of the sampled valid pixels) / scale_k, clipped",
                "scale_k": self.thermal_relative_scale_k, "clip": list(self.thermal_relative_clip),
                "mono8": "zeros (AGC counts carry no temperature)", "invalid": 0.0}
        return layout

    @staticmethod
    def from_meta(norm: Mapping[str, Any], where: str = "metadata.normalisation") -> "NormalisationConfig":
        """Read the metadata's ``normalisation`` section (keys a model's metadata lacks keep their defaults:
        ``sample_step``, ``min_samples`` and ``channels`` (1) postdate the shipped model). Raises ConfigError."""
        th, dp = dict(norm.get("thermal", {})), dict(norm.get("depth", {}))
        rng, rel = dict(th.get("min_range", {})), dict(th.get("relative", {}))
        picked = {"thermal_percentiles": th.get("percentiles"), "thermal_min_range_mono16": rng.get("mono16"),
                  "thermal_min_range_mono8": rng.get("mono8"), "thermal_clip": th.get("clip"),
                  "thermal_sample_step": th.get("sample_step"), "thermal_min_samples": th.get("min_samples"),
                  "thermal_channels": th.get("channels"), "thermal_relative_scale_k": rel.get("scale_k"),
                  "thermal_relative_clip": rel.get("clip"), "depth_ref_m": dp.get("d_ref_m")}
        if "valid_range_m" in dp:
            picked["depth_min_m"], picked["depth_max_m"] = dp["valid_range_m"]
        return from_mapping(NormalisationConfig, {k: v for k, v in picked.items() if v is not None}, where=where)


DEFAULT_NORMALISATION = NormalisationConfig()
# the defaults under their historical names (tracker-export builds the metadata from them)
THERMAL_PERCENTILES = DEFAULT_NORMALISATION.thermal_percentiles
THERMAL_MIN_RANGE = {f: DEFAULT_NORMALISATION.min_range(f) for f in THERMAL_FAMILIES}  # kelvin / counts
DEPTH_MIN_M, DEPTH_MAX_M = DEFAULT_NORMALISATION.depth_min_m, DEFAULT_NORMALISATION.depth_max_m
DEPTH_REF_M = DEFAULT_NORMALISATION.depth_ref_m


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


def thermal_family(encoding: str | None) -> str:
    """``mono16`` (radiometric, 16UC1 too; the default when unknown) or ``mono8`` (AGC, any other encoding)."""
    enc = (encoding or "mono16").lower()
    return "mono16" if enc in ("mono16", "16uc1") else "mono8"


def thermal_values(thermal: np.ndarray, encoding: str | None) -> tuple[np.ndarray, str]:
    """Raw thermal -> float32 values (kelvin for mono16, counts for mono8) and the encoding family."""
    fam = thermal_family(encoding)
    t = np.asarray(thermal, np.float32)
    return (t / THERMAL_COUNTS_PER_KELVIN if fam == "mono16" else t), fam


def thermal_sample(values: np.ndarray, valid: np.ndarray, norm: NormalisationConfig) -> np.ndarray | None:
    """The sparse sample of valid pixels the per-frame statistics come from; None when there are too few."""
    sample = values[valid][::norm.thermal_sample_step]
    return sample if sample.size >= norm.thermal_min_samples else None


def normalise_thermal(values: np.ndarray, family: str, valid: np.ndarray | None = None,
                      percentiles: tuple[float, float] | None = None,
                      norm: NormalisationConfig = DEFAULT_NORMALISATION) -> np.ndarray:
    """Robustly normalised thermal; ``percentiles`` overrides ``norm.thermal_percentiles`` (augmentation)."""
    v = values
    if valid is None:
        valid = v > 0
    sample = thermal_sample(v, valid, norm)
    if sample is None:
        return np.zeros_like(v, dtype=np.float32)
    lo, hi = np.percentile(sample, percentiles if percentiles is not None else norm.thermal_percentiles)
    rng = max(float(hi - lo), norm.min_range(family))
    out = np.clip((v - lo) / rng, *norm.thermal_clip).astype(np.float32)
    out[~valid] = 0.0
    return out


def relative_thermal(values: np.ndarray, family: str, valid: np.ndarray | None = None,
                     norm: NormalisationConfig = DEFAULT_NORMALISATION, gain: float = 1.0) -> np.ndarray:
    """The temperature-keeping channel: ``(kelvin - median) * gain / scale_k`` clipped, 0 where not valid; all
    zeros for mono8 (AGC) or too few valid pixels. ``gain``: a counts-per-kelvin error (augmentation)."""
    if valid is None:
        valid = values > 0
    sample = thermal_sample(values, valid, norm) if family == "mono16" else None
    if sample is None:
        return np.zeros_like(values, dtype=np.float32)
    scale = norm.thermal_relative_scale_k / gain
    out = np.clip((values - np.median(sample)) / scale, *norm.thermal_relative_clip).astype(np.float32)
    out[~valid] = 0.0
    return out


def encode_thermal(thermal: np.ndarray, encoding: str | None, norm: NormalisationConfig = DEFAULT_NORMALISATION,
                   percentiles: tuple[float, float] | None = None, relative_gain: float = 1.0) -> np.ndarray:
    """(norm.thermal_channels, H, W) float32: the percentile-normalised channel [and the relative channel]."""
    vals, fam = thermal_values(thermal, encoding)
    valid = np.asarray(thermal) > 0
    chans = [normalise_thermal(vals, fam, valid, percentiles, norm)]
    if norm.thermal_channels > 1:
        chans.append(relative_thermal(vals, fam, valid, norm, relative_gain))
    return np.stack(chans)


def encode_depth(depth_m: np.ndarray, norm: NormalisationConfig = DEFAULT_NORMALISATION) -> np.ndarray:
    """(2, H, W) float32: inverse depth (0 where none) and valid mask."""
    d = np.asarray(depth_m, np.float32)
    valid = np.isfinite(d) & (d >= norm.depth_min_m) & (d <= norm.depth_max_m)
    inv = np.zeros_like(d)
    inv[valid] = norm.depth_ref_m / d[valid]
    return np.stack([inv, valid.astype(np.float32)])


def rgb_tensor(rgb_u8: np.ndarray) -> np.ndarray:
    return (np.asarray(rgb_u8, np.float32) / 255.0).transpose(2, 0, 1)
