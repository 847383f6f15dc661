"""Image formation of world B from the rasteriser's float targets: RGB (smoke, white balance, vignetting,
auto-exposure with a gain cap, read/shot noise, gamma), thermal (emissivity-weighted apparent temperature
from the shader, LWIR smoke, optics blur, column + pixel fixed-pattern noise, vignetting offset, NETD noise;
radiometric mono16 at 0.01 K/count or AGC mono8), depth (stereo-like noise growing with z^2, holes on
glass, dark surfaces, depth edges, out of range, in smoke, random speckles).
"""
from __future__ import annotations

import cv2
import numpy as np

from tracker.data.contract import DEPTH_MAX_M, kelvin_to_counts
from tracker.data.encodings import metres_to_depth

from .config import GLAtmosphere, GLDepth, GLLight, GLThermal
from .materials import KELVIN_0C

SKY_BRIGHTNESS = 1.4  # sky radiance relative to the ambient irradiance
EDGE_KERNEL = np.ones((3, 3), np.uint8)
MONO8_MAX = 255.0
GAMMA_LUT_LEVELS = 4096  # linear levels of the gamma look-up table (16 per 8-bit step)


class NoiseBank:
    """Pre-drawn noise (standard normal or uniform [0, 1)) of which each frame takes a window at a random
    offset: ~20x cheaper than fresh draws, deterministic per seed, and the shift decorrelates frames."""

    PAD = 64

    def __init__(self, rng: np.random.Generator, h: int, w: int, channels: int = 1, uniform: bool = False):
        shape = (h + self.PAD, w + self.PAD) + ((channels,) if channels > 1 else ())
        self.rng, self.h, self.w = rng, h, w
        self.bank = rng.random(shape, dtype=np.float32) if uniform else rng.standard_normal(shape, dtype=np.float32)

    def draw(self) -> np.ndarray:
        dv, du = self.rng.integers(0, self.PAD + 1, 2)
        return self.bank[dv:dv + self.h, du:du + self.w]


def radial2(h: int, w: int) -> np.ndarray:
    """Squared distance from the image centre, 1 at the corners (float32)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((x - (w - 1) / 2) / (w / 2)) ** 2 + ((y - (h - 1) / 2) / (h / 2)) ** 2
    return (r2 / 2).astype(np.float32)


def _transmission(z: np.ndarray, extinction: float) -> np.ndarray:
    """Fraction of a surface's signal through the smoke (sky = infinitely far)."""
    return np.where(z > 0, np.exp(-extinction * z), 0.0).astype(np.float32)


class RGBSensor:
    def __init__(self, cfg: GLLight, atm: GLAtmosphere, lighting, h: int, w: int, rng: np.random.Generator):
        self.cfg, self.atm, self.rng = cfg, atm, rng
        self.noise = NoiseBank(rng, h, w, 3)
        lin = np.linspace(0, 1, GAMMA_LUT_LEVELS)
        self.gamma_lut = np.rint(MONO8_MAX * lin ** (1 / cfg.gamma)).astype(np.uint8)
        tint = lighting.sun_rgb / max(float(lighting.sun_rgb.mean()), 1e-6) if lighting.sun_rgb.max() > 0 \
            else np.ones(3)
        err = 1 + rng.uniform(-cfg.white_balance_error, cfg.white_balance_error, 3)
        self.wb = (err / tint).astype(np.float32)
        self.gain_map = (1 - cfg.vignetting * radial2(h, w))[..., None] * self.wb
        self.sky = (lighting.ambient_rgb * SKY_BRIGHTNESS).astype(np.float32)
        self.smoke = (np.asarray(atm.smoke_rgb) * lighting.ambient_rgb).astype(np.float32)

    def image(self, col: np.ndarray) -> np.ndarray:
        rad, z = col[..., :3].copy(), col[..., 3]
        rad[z <= 0] = self.sky
        if self.atm.rgb_extinction > 0:
            f = _transmission(z, self.atm.rgb_extinction)[..., None]
            rad = rad * f + self.smoke * (1 - f)
        rad *= self.gain_map
        mean = max(float(rad.mean()), 1e-6)
        exposure = min(self.cfg.target_mean ** self.cfg.gamma / mean, self.cfg.max_gain)
        dn = rad
        dn *= np.float32(exposure * MONO8_MAX)
        sigma = np.maximum(dn, 0)  # in place from here on: the same float32 arithmetic, fewer temporaries
        sigma *= self.cfg.shot_noise ** 2
        sigma += self.cfg.read_noise ** 2
        np.sqrt(sigma, out=sigma)
        sigma *= self.noise.draw()
        dn += sigma
        np.clip(dn, 0, MONO8_MAX, out=dn)
        dn *= np.float32((GAMMA_LUT_LEVELS - 1) / MONO8_MAX)
        return self.gamma_lut.take(dn.astype(np.uint16))


class ThermalSensor:
    def __init__(self, cfg: GLThermal, atm: GLAtmosphere, h: int, w: int, rng: np.random.Generator,
                 encoding: str):
        self.cfg, self.atm, self.rng, self.encoding = cfg, atm, rng, encoding
        self.noise = NoiseBank(rng, h, w)
        self.fpn = (rng.standard_normal((1, w)) * cfg.column_fpn_k + rng.standard_normal((h, w)) * cfg.pixel_fpn_k
                    + cfg.vignetting_k * radial2(h, w)).astype(np.float32)
        self.sky_k = np.float32(cfg.sky_c + KELVIN_0C)
        self.smoke_k = np.float32(atm.smoke_c + KELVIN_0C)

    def kelvin(self, col: np.ndarray, aux: np.ndarray) -> np.ndarray:
        """Scene temperature seen by the camera before sensor noise (K)."""
        z = col[..., 3]
        k = np.where(z > 0, aux[..., 0], self.sky_k).astype(np.float32)
        if self.atm.thermal_extinction > 0:
            f = _transmission(z, self.atm.thermal_extinction)
            k = k * f + self.smoke_k * (1 - f)
        if self.cfg.blur_sigma_px > 0:
            k = cv2.GaussianBlur(k, (0, 0), self.cfg.blur_sigma_px)
        return k

    def image(self, col: np.ndarray, aux: np.ndarray) -> np.ndarray:
        k = self.kelvin(col, aux) + self.fpn + self.noise.draw() * np.float32(self.cfg.noise_k)
        if self.encoding == "mono8":
            lo, hi = np.percentile(k, self.cfg.agc_percentiles)
            return np.rint(np.clip((k - lo) / max(hi - lo, 1e-3), 0, 1) * MONO8_MAX).astype(np.uint8)
        return kelvin_to_counts(k)


class DepthSensor:
    def __init__(self, cfg: GLDepth, atm: GLAtmosphere, h: int, w: int, rng: np.random.Generator, encoding: str):
        self.cfg, self.atm, self.rng, self.encoding = cfg, atm, rng, encoding
        self.noise, self.holes = NoiseBank(rng, h, w), NoiseBank(rng, h, w, uniform=True)

    def metres(self, col: np.ndarray, aux: np.ndarray) -> np.ndarray:
        c = self.cfg
        z = col[..., 3].astype(np.float32)
        hole = (z < c.min_range_m) | (z > min(c.max_range_m, DEPTH_MAX_M)) | (aux[..., 2] > 0.5) \
            | (aux[..., 3] < c.dark_albedo)
        zmax, zmin = cv2.dilate(z, EDGE_KERNEL), cv2.erode(z, EDGE_KERNEL)
        hole |= (zmax - zmin) > c.edge_jump_m
        u = self.holes.draw()
        hole |= u < c.speckle_holes
        if self.atm.depth_extinction > 0:  # the speckle draw's complement: independent of it where both are rare
            hole |= (1 - u) > _transmission(z, self.atm.depth_extinction)
        sigma = np.float32(c.noise_base_m) + np.float32(c.noise_quadratic) * z * z
        out = z + sigma * self.noise.draw()
        out[hole] = np.nan
        return out

    def image(self, col: np.ndarray, aux: np.ndarray) -> np.ndarray:
        return metres_to_depth(self.metres(col, aux), self.encoding)
