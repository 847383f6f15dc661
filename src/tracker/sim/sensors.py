"""Image formation of the three cameras from ray-cast buffers: RGB, thermal (radiometric) and depth."""
from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import cv2
import numpy as np

from tracker.data.contract import DEPTH_MM_PER_METRE, THERMAL_COUNTS_PER_KELVIN
from tracker.data.encodings import metres_to_depth

from . import shapes
from .config import AtmosphereConfig, DepthConfig, GlareConfig, LightingConfig, ThermalConfig
from .raster import Buffers

KELVIN = 273.15
BANK_PAD = 64
LINEAR_CODES = 4095  # 12-bit linear intensity before the gamma curve


class NoiseBank:
    """A Gaussian field larger than the image; each frame takes a randomly shifted window of it, so per-pixel
    noise is fresh every frame without drawing H*W normals per frame."""

    def __init__(self, rng: np.random.Generator, h: int, w: int, channels: int = 1):
        shape = (h + BANK_PAD, w + BANK_PAD) + ((channels,) if channels > 1 else ())
        self.field = rng.standard_normal(shape, dtype=np.float32)
        # the mirrored field, stored so that drawn windows always have positive strides (cv2-compatible)
        self.mirrored = np.ascontiguousarray(self.field[:, ::-1])
        self.h, self.w = h, w

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        dy, dx = rng.integers(0, BANK_PAD + 1, 2)
        if rng.random() < 0.5:  # = field[dy:dy + h, dx:dx + w][:, ::-1]
            x0 = BANK_PAD - dx
            return self.mirrored[dy:dy + self.h, x0:x0 + self.w]
        return self.field[dy:dy + self.h, dx:dx + self.w]


def sun_direction_world(light: LightingConfig) -> np.ndarray:
    az, el = np.deg2rad(light.sun_azimuth_deg), np.deg2rad(light.sun_elevation_deg)
    return np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])


def attenuation(depth: np.ndarray, extinction: float) -> np.ndarray | None:
    if extinction <= 0:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(-extinction * np.minimum(depth, 1e4)).astype(np.float32)


@dataclass(frozen=True)
class SurfaceArrays:
    albedo: np.ndarray
    kelvin: np.ndarray
    reflective: np.ndarray
    tex_freq: np.ndarray
    dark: np.ndarray  # bool per surface: too dark for the depth sensor


def surface_arrays(table: shapes.SurfaceTable, th: ThermalConfig, depth: DepthConfig) -> SurfaceArrays:
    albedo, cls, offset, coupling, reflective, tex_freq = table.arrays()
    amb = th.ambient_c
    core = th.body_core_c
    by_class = {
        shapes.TH_SKY: np.full_like(offset, th.sky_c),
        shapes.TH_GROUND: np.full_like(offset, amb + th.ground_offset_k),
        shapes.TH_SKIN: amb + np.clip(th.skin_coupling + coupling, 0, 1) * (core - amb),
        shapes.TH_CLOTH: amb + np.clip(th.cloth_coupling + coupling, 0, 1) * (core - amb),
        shapes.TH_ENGINE: np.full_like(offset, amb + th.engine_delta_k),
        shapes.TH_WHEEL: np.full_like(offset, amb + th.wheel_delta_k),
        shapes.TH_BODY: np.full_like(offset, amb + 0.25 * th.engine_delta_k / 4 + th.parked_delta_k),
        shapes.TH_GLASS: np.full_like(offset, 0.6 * amb + 0.4 * th.sky_c),
        shapes.TH_STRUCTURE: np.full_like(offset, amb + th.structure_delta_k),
        shapes.TH_PARKED: np.full_like(offset, amb + th.parked_delta_k),
    }
    celsius = np.zeros_like(offset)
    for c, v in by_class.items():
        celsius = np.where(cls == c, v, celsius)
    kelvin = (celsius + offset + KELVIN).astype(np.float32)
    dark = albedo.mean(1) < depth.dark_albedo
    return SurfaceArrays(albedo, kelvin, reflective, tex_freq, dark | reflective)


def rgb_linear(b: Buffers, s: SurfaceArrays, light: LightingConfig, atm: AtmosphereConfig) -> np.ndarray:
    """Linear RGB (HxWx3 float32, before motion blur, glare, exposure and noise) of the buffers (or of a
    window of them: every term is per pixel)."""
    irr = b.shade * np.float32(light.light_level * light.sun_fraction * 2.0)
    irr += np.float32(light.light_level * (1 - light.sun_fraction))
    irr *= b.tex
    sky_rgb = np.asarray(light.sky_rgb, np.float32) * np.float32(light.light_level)
    ambient = np.float32(light.light_level * (1 - light.sun_fraction))
    albedo = s.albedo
    sky_in_table = ambient > 0  # sky pixels have shade 0 and tex 1, so irr = ambient there
    if sky_in_table:
        albedo = albedo.copy()
        albedo[shapes.SKY] = sky_rgb / ambient
    img = cv2.multiply(albedo[b.sid], cv2.merge([irr, irr, irr]))
    if not sky_in_table:
        img[b.sid == shapes.SKY] = sky_rgb
    e = attenuation(b.depth, atm.rgb_extinction)
    if e is not None:
        img = img * e[..., None] + (1 - e)[..., None] * (np.asarray(atm.smoke_rgb, np.float32) * light.light_level)
    return img


def render_rgb(b: Buffers, s: SurfaceArrays, light: LightingConfig, atm: AtmosphereConfig, glare: GlareConfig,
               bank: NoiseBank, rng: np.random.Generator, noise_scale: float = 1.0,
               blur: list | None = None, linear: np.ndarray | None = None) -> np.ndarray:
    """HxWx3 uint8 RGB. ``blur``: [(region, (dx, dy) px)] motion of objects during the exposure. ``linear``:
    the :func:`rgb_linear` image of ``b`` if the caller has it (used and modified in place)."""
    img = rgb_linear(b, s, light, atm) if linear is None else linear
    for region, (dx, dy) in blur or ():
        _motion_blur(img, region, dx, dy)
    if glare.strength > 0:
        h, w = b.depth.shape
        yy, xx = np.ogrid[:h, :w]
        r2 = ((xx - glare.u * w) ** 2 + (yy - glare.v * h) ** 2) / (glare.radius * w) ** 2
        g = glare.strength * light.light_level * (np.exp(-r2).astype(np.float32) + 0.08)
        img += g[..., None]
    mean = float(img[::8, ::8].mean()) + 1e-6
    gain = min(light.target_mean / mean, light.max_gain)
    # noise in the linear 12-bit domain (read noise + shot noise of the frame's mean signal), then the gamma
    # curve through a lookup table straight to 8 bits
    scale = gain * LINEAR_CODES
    read = light.read_noise * (LINEAR_CODES / 255.0) * max(1.0, gain) ** 0.5
    shot = light.shot_noise * np.sqrt(mean * scale) * (LINEAR_CODES / 255.0) ** 0.5
    img = cv2.addWeighted(img, float(scale), bank.draw(rng), float(noise_scale * (read + shot)), 0.0)
    np.clip(img, 0, LINEAR_CODES, out=img)
    lin = np.arange(LINEAR_CODES + 1, dtype=np.float32) / LINEAR_CODES
    lut = np.clip(255.0 * np.power(lin, 1.0 / light.gamma) + 0.5, 0, 255).astype(np.uint8)
    return lut.take(img.astype(np.uint16))


def _motion_blur(img: np.ndarray, region, dx: float, dy: float) -> None:
    n = int(np.ceil(max(abs(dx), abs(dy))))
    if n < 2:
        return
    v0, v1, u0, u1 = region
    h, w = img.shape[:2]
    v0, v1, u0, u1 = max(v0 - n, 0), min(v1 + n, h), max(u0 - n, 0), min(u1 + n, w)
    k = np.zeros((2 * n + 1, 2 * n + 1), np.float32)
    for i in range(n + 1):
        f = i / n - 0.5
        k[int(round(n + f * dy)), int(round(n + f * dx))] = 1.0
    k /= k.sum()
    img[v0:v1, u0:u1] = cv2.filter2D(img[v0:v1, u0:u1], -1, k, borderType=cv2.BORDER_REFLECT)


def thermal_fixed_pattern(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Unit-std fixed-pattern offsets (columns + pixels + a smooth vignette) of a microbolometer."""
    cols = rng.standard_normal(w).astype(np.float32)[None, :] * 0.7
    pix = rng.standard_normal((h, w)).astype(np.float32) * 0.5
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    vig = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) * 2.0 * rng.choice([-1.0, 1.0])
    return cols + pix + vig


def thermal_base(b: Buffers, s: SurfaceArrays, th: ThermalConfig, atm: AtmosphereConfig) -> np.ndarray:
    """Scene temperature (kelvin, float32) per pixel before optics blur and sensor noise (per-pixel terms only,
    so it can be computed on a window of the buffers)."""
    k = s.kelvin[b.sid]
    if th.texture_k > 0:
        k += th.texture_k * np.clip((b.tex - 1.0) * 4.0, -1.5, 1.5)
    e = attenuation(b.depth, atm.thermal_extinction)
    if e is not None:
        k = k * e + (1 - e) * np.float32(atm.smoke_c + KELVIN)
    return k


def render_thermal(b: Buffers, s: SurfaceArrays, th: ThermalConfig, atm: AtmosphereConfig, bank: NoiseBank,
                   fpn: np.ndarray, rng: np.random.Generator, encoding: str, noise_scale: float = 1.0,
                   base: np.ndarray | None = None) -> np.ndarray:
    """mono16 counts (kelvin * 100) or mono8 (AGC). ``base``: the :func:`thermal_base` image of ``b`` if the
    caller has it (modified in place)."""
    k = thermal_base(b, s, th, atm) if base is None else base
    if th.blur_sigma_px > 0:
        k = cv2.GaussianBlur(k, (0, 0), th.blur_sigma_px)
    k = cv2.scaleAdd(fpn, float(th.nonuniformity_k * noise_scale), k)
    k = cv2.scaleAdd(bank.draw(rng), float(th.noise_k * noise_scale), k)
    if encoding == "mono16":  # = kelvin_to_counts(k), in float32 (0.01 K steps are far above its resolution)
        c = np.multiply(k, np.float32(THERMAL_COUNTS_PER_KELVIN), out=k)
        np.rint(c, out=c)
        np.clip(c, 0, 65535, out=c)
        return c.astype(np.uint16)
    lo, hi = np.percentile(k[::4, ::4], (1, 99))
    return np.clip((k - lo) * (255.0 / max(hi - lo, 0.5)), 0, 255).astype(np.uint8)


def depth_base(b: Buffers, s: SurfaceArrays, cfg: DepthConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z with 0 for none, noise sigma, holes that do not depend on the frame's random draws: none, out of
    range, dark/reflective surface, depth edges) of the buffers. The edge test looks ``edge_width_px`` pixels
    around each pixel: on a window of the buffers, only its part that far from the window's border is exact."""
    z = b.depth
    finite = np.isfinite(z)
    zf = np.where(finite, z, 0).astype(np.float32)
    sigma = np.float32(cfg.noise_base_m) + np.float32(cfg.noise_quadratic) * zf * zf
    hole = ~finite | (zf < cfg.min_range_m) | (zf > cfg.max_range_m) | s.dark[b.sid]
    if cfg.edge_width_px > 0:
        ksz = 2 * cfg.edge_width_px + 1
        kern = np.ones((ksz, ksz), np.uint8)
        zc = np.minimum(zf, cfg.max_range_m * 2)
        zc[~finite] = cfg.max_range_m * 2
        hole |= (cv2.dilate(zc, kern) - cv2.erode(zc, kern)) > cfg.edge_jump_m
    return zf, sigma, hole


def render_depth(b: Buffers, s: SurfaceArrays, cfg: DepthConfig, atm: AtmosphereConfig, glare: GlareConfig,
                 bank: NoiseBank, bank2: NoiseBank, rng: np.random.Generator, encoding: str,
                 noise_scale: float = 1.0, base: tuple | None = None) -> np.ndarray:
    """16UC1 millimetres (0 = none) or 32FC1 metres (NaN = none). ``base``: the :func:`depth_base` of ``b`` if
    the caller has it."""
    zf, sigma, hole = depth_base(b, s, cfg) if base is None else base
    noisy = bank.draw(rng) * (sigma if noise_scale == 1.0 else noise_scale * sigma)
    noisy += zf
    hole = hole.copy()
    u = bank2.draw(rng)
    if cfg.speckle_holes > 0:
        hole |= u > NormalDist().inv_cdf(1 - cfg.speckle_holes)
    if atm.depth_extinction > 0:
        from scipy.special import ndtr
        keep = np.exp(-atm.depth_extinction * zf)
        hole |= ndtr(-u) > keep  # independent of the speckle test's tail
        noisy += (1 - keep) * 0.05 * zf * bank.draw(rng)
    if glare.strength > 0 and glare.depth_hole_radius > 0:
        h, w = zf.shape
        yy, xx = np.ogrid[:h, :w]
        hole |= ((xx - glare.u * w) ** 2 + (yy - glare.v * h) ** 2) < (glare.depth_hole_radius * w) ** 2
    if encoding == "16UC1":  # = metres_to_depth with the holes as 0, without the NaN round trip
        mm = np.multiply(noisy, np.float32(DEPTH_MM_PER_METRE), out=noisy)
        np.rint(mm, out=mm)
        mm[hole] = 0
        np.clip(mm, 0, 65535, out=mm)
        return mm.astype(np.uint16)
    noisy[hole] = np.nan
    return metres_to_depth(noisy, encoding)
