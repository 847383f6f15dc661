"""Training data: contract bags (:mod:`tracker.network.sources`) -> the compact on-disk cache
(:mod:`tracker.network.cache`) -> augmented training frames and the clip sampler.

A *clip* is one bag. Frames are registered exactly as the tracker node registers them (the ``registration``
section of its config/tracker_node.yaml, :func:`node_registration`) and turned into network inputs by the
functions the Detector uses (tracker.network.inputs), so an un-augmented training input is the inference input
of the same frame. Augmentation (:class:`AugmentConfig`, training only) is the only difference, and it is
randomised.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tracker.common.config import param

from .cache import CACHE_FORMAT, ENC_CODES, FrameCache, cached_inputs  # noqa: F401 - the dataset's public names
from .preprocess import DEFAULT_NORMALISATION, NormalisationConfig
from .sources import BagSpec, bag_specs, ensure_bags, node_registration  # noqa: F401


def _range(default: tuple[float, float], unit: str, doc: str, **bounds):
    return param(default, unit=unit, doc=f"{doc}: drawn uniformly from [low, high]", **bounds)


@dataclass(frozen=True)
class AugmentConfig:
    """Training augmentation (config/network.yaml ``augment``; crop size from ``training``, modalities from
    --modalities). Every draw is from the sampler's seeded generator, in a fixed order."""

    crop_w: int = param(224, unit="px", ge=8, doc="random crop width (training.crop_width)")
    crop_h: int = param(160, unit="px", ge=8, doc="random crop height (training.crop_height)")
    p_drop_rgb: float = param(0.2, ge=0.0, le=1.0, doc="probability of dropping RGB (modality dropout)")
    p_drop_thermal: float = param(0.3, ge=0.0, le=1.0, doc="probability of dropping thermal")
    p_drop_depth: float = param(0.3, ge=0.0, le=1.0, doc="probability of dropping depth")
    thermal_shift_px: int = param(3, unit="px", ge=0, doc="thermal mis-registration: shift in [-n, n] per axis")
    brightness_gain: tuple[float, float] = _range((0.5, 1.5), "1", "RGB contrast gain", ge=0.0)
    brightness_offset: tuple[float, float] = _range((-20.0, 20.0), "RGB counts", "RGB brightness offset")
    gamma: tuple[float, float] = _range((0.7, 1.4), "1", "RGB gamma", gt=0.0)
    p_blur: float = param(0.25, ge=0.0, le=1.0, doc="probability of a Gaussian blur of RGB")
    blur_sigma_px: tuple[float, float] = _range((0.5, 1.5), "px", "blur sigma", gt=0.0)
    noise_sigma_max: float = param(8.0, unit="RGB counts", ge=0.0, doc="RGB Gaussian noise sigma in [0, this]")
    p_depth_scale: float = param(0.5, ge=0.0, le=1.0, doc="probability of scaling the depth by 1 + N(0, sigma)")
    depth_scale_sigma: float = param(0.02, unit="1", ge=0.0, doc="sigma of that depth scale error")
    thermal_low_percentile: tuple[float, float] = _range((0.5, 5.0), "%", "thermal low percentile", ge=0.0,
                                                         le=100.0)
    thermal_high_percentile: tuple[float, float] = _range((95.0, 99.5), "%", "thermal high percentile", ge=0.0,
                                                          le=100.0)
    thermal_gain: tuple[float, float] = _range((0.8, 1.2), "1", "gain on the normalised thermal", ge=0.0)
    thermal_kelvin_gain: tuple[float, float] = _range((0.97, 1.03), "1", "counts-per-kelvin error of the camera: "
                                                      "gain on the relative thermal channel's kelvin differences "
                                                      "(2-channel thermal models only)", gt=0.0)
    p_drop_thermal_relative: float = param(0.3, ge=0.0, le=1.0, doc="probability of zeroing the relative thermal "
                                           "channel, as for an AGC mono8 camera (2-channel thermal models only)")
    p_flip: float = param(0.5, ge=0.0, le=1.0, doc="probability of a horizontal flip")
    p_zoom: float = param(0.0, ge=0.0, le=1.0, doc="probability of a zoom: the crop is taken from a window "
                          "1/zoom the crop's size and resized to the crop, as a camera of another focal length "
                          "sees the scene (depth values unchanged); 0: off, and no draws")
    zoom: tuple[float, float] = _range((0.7, 1.5), "1", "zoom factor (< 1: people smaller; the window is at most "
                                       "the frame)", gt=0.0)
    modalities: tuple[bool, bool, bool] = param((True, True, True), doc="(rgb, thermal, depth) trained with; "
                                                "the RGB-only ablation: (true, false, false)")

    def validate(self) -> None:
        for name in ("brightness_gain", "brightness_offset", "gamma", "blur_sigma_px", "thermal_low_percentile",
                     "thermal_high_percentile", "thermal_gain", "thermal_kelvin_gain", "zoom"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"{name} = {[lo, hi]}: low must not exceed high")
        if self.thermal_low_percentile[1] >= self.thermal_high_percentile[0]:
            raise ValueError("thermal_low_percentile must lie below thermal_high_percentile")


def _photometric(rgb: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """RGB (float32 counts): contrast/brightness, gamma, sometimes blur, noise -> uint8."""
    rgb = rgb * rng.uniform(*cfg.brightness_gain) + rng.uniform(*cfg.brightness_offset)
    rgb = 255.0 * np.clip(rgb / 255.0, 0, 1) ** rng.uniform(*cfg.gamma)
    if rng.random() < cfg.p_blur:
        rgb = cv2.GaussianBlur(rgb, (0, 0), rng.uniform(*cfg.blur_sigma_px))
    return np.clip(rgb + rng.normal(0, rng.uniform(0, cfg.noise_sigma_max), rgb.shape), 0, 255).astype(np.uint8)


def _dropout(avail: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    keep = avail.copy()
    for m, p in enumerate((cfg.p_drop_rgb, cfg.p_drop_thermal, cfg.p_drop_depth)):
        if keep[m] and rng.random() < p:
            keep[m] = False
    return keep if keep.any() else avail.copy()


def _relative_gain(rng: np.random.Generator, cfg: AugmentConfig, norm: NormalisationConfig) -> float:
    """The counts-per-kelvin error of this frame; drawn only for 2-channel thermal (a 1-channel model's draws,
    hence its batches, are what they were before the relative channel existed)."""
    return float(rng.uniform(*cfg.thermal_kelvin_gain)) if norm.thermal_channels > 1 else 1.0


def _window(W: int, H: int, rng: np.random.Generator, cfg: AugmentConfig) -> tuple[int, int, int, int]:
    """(x0, y0, width, height) of the frame window the crop is taken from: the crop's size, or with a zoom
    (probability ``p_zoom``) 1/zoom of it, at most the frame."""
    ww, wh = cfg.crop_w, cfg.crop_h
    if cfg.p_zoom > 0 and rng.random() < cfg.p_zoom:
        z = rng.uniform(*cfg.zoom)
        ww, wh = min(W, max(1, round(cfg.crop_w / z))), min(H, max(1, round(cfg.crop_h / z)))
    return int(rng.integers(0, W - ww + 1)), int(rng.integers(0, H - wh + 1)), ww, wh


def _to_crop(img: np.ndarray, cfg: AugmentConfig, interpolation: int) -> np.ndarray:
    if img.shape[1] == cfg.crop_w and img.shape[0] == cfg.crop_h:
        return img
    return cv2.resize(img, (cfg.crop_w, cfg.crop_h), interpolation=interpolation)


def augment_frame(cache: FrameCache, i: int, rng: np.random.Generator, cfg: AugmentConfig,
                  norm: NormalisationConfig = DEFAULT_NORMALISATION):
    """One augmented training frame: a random crop (sometimes zoomed), flip, photometric jitter, thermal
    mis-registration and normalisation jitter, modality dropout; with ``norm.thermal_channels`` 2 also a
    counts-per-kelvin error and the relative channel's dropout. Returns (inputs dict, objects (M, 8) in crop px)."""
    rgb_u8, th_raw, enc, dep_m, avail = cache.frame(i)
    H, W = rgb_u8.shape[:2]
    x0, y0, ww, wh = _window(W, H, rng, cfg)
    sl = (slice(y0, y0 + wh), slice(x0, x0 + ww))
    rgb = _to_crop(rgb_u8[sl], cfg, cv2.INTER_AREA).astype(np.float32)
    sx, sy = rng.integers(-cfg.thermal_shift_px, cfg.thermal_shift_px + 1, 2)
    th = _to_crop(np.roll(th_raw, (int(sy), int(sx)), axis=(0, 1))[sl], cfg, cv2.INTER_LINEAR)
    dep = _to_crop(dep_m[sl], cfg, cv2.INTER_NEAREST)  # no depth mixed across edges, NaN holes kept
    rgb = _photometric(rgb, rng, cfg)
    if rng.random() < cfg.p_depth_scale:
        dep = dep * np.float32(1.0 + rng.normal(0, cfg.depth_scale_sigma))
    keep = _dropout(avail & np.asarray(cfg.modalities, bool), rng, cfg)
    pct = (rng.uniform(*cfg.thermal_low_percentile), rng.uniform(*cfg.thermal_high_percentile))
    inp = cached_inputs(rgb, th, enc, dep, keep, norm, pct, _relative_gain(rng, cfg, norm))
    if inp["modality"][1]:
        inp["thermal"][0] *= np.float32(rng.uniform(*cfg.thermal_gain))
        if norm.thermal_channels > 1 and rng.random() < cfg.p_drop_thermal_relative:
            inp["thermal"][1] = 0.0
    obj = cache.objects(i).copy()
    obj[:, [0, 2]] = (obj[:, [0, 2]] - x0) * (cfg.crop_w / ww)
    obj[:, [1, 3]] = (obj[:, [1, 3]] - y0) * (cfg.crop_h / wh)
    if rng.random() < cfg.p_flip:
        for k in ("rgb", "thermal", "depth"):
            inp[k] = np.ascontiguousarray(inp[k][:, :, ::-1])
        x1 = cfg.crop_w - obj[:, 2]
        obj[:, 2] = cfg.crop_w - obj[:, 0]
        obj[:, 0] = x1
    return inp, obj


class ClipBatchSampler:
    """Batches of ``clips`` clips x ``frames`` frames from a window of each clip, so identities recur in a
    batch (the positive pairs of the contrastive identity loss)."""

    def __init__(self, cache: FrameCache, clips: int, frames: int, window: int, seed: int):
        self.cache, self.clips, self.frames, self.window = cache, clips, frames, window
        self.rng = np.random.default_rng(seed)
        clip = cache.a["clip"]
        self.by_clip = [np.flatnonzero(clip == c) for c in np.unique(clip)]

    def sample(self, rng: np.random.Generator | None = None) -> list[int]:
        """Frame indices of one batch, drawn from ``rng`` (default: the sampler's own seeded generator)."""
        rng = self.rng if rng is None else rng
        out = []
        for c in rng.choice(len(self.by_clip), self.clips, replace=len(self.by_clip) < self.clips):
            idx = self.by_clip[c]
            start = int(rng.integers(0, max(1, len(idx) - self.window)))
            win = idx[start:start + self.window]
            out += list(rng.choice(win, self.frames, replace=len(win) < self.frames))
        return out
