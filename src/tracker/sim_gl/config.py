"""World B configuration: frozen dataclasses with units and ranges, and the condition presets.

Independent of ``tracker.sim`` (world A): only the contract (camera names, frame ids, encodings) is shared.
Per-scene randomisation (``RandomConfig``) is always on: the seed picks the world, materials, light and rig.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from tracker.common.config import from_mapping, load_yaml, param, parse_names


@dataclass(frozen=True)
class GLCamera:
    width: int = param(640, unit="px", gt=0, doc="image width")
    height: int = param(480, unit="px", gt=0, doc="image height")
    hfov_deg: float = param(69.0, unit="deg", gt=5, lt=170, doc="horizontal field of view")
    rate_hz: float = param(30.0, unit="Hz", gt=0, le=240, doc="frame rate")
    offset_s: float = param(0.0, unit="s", ge=-0.5, le=0.5, doc="stamp offset from the rig clock")
    jitter_s: float = param(0.0008, unit="s", ge=0, le=0.05, doc="std of stamp jitter")
    latency_s: float = param(0.01, unit="s", ge=0, le=1, doc="bag receive time minus header stamp")
    position: tuple[float, ...] = param((0.0, 0.0, 0.0), unit="m", doc="position in the colour optical frame")
    encoding: str = param("rgb8", choices=("rgb8", "mono16", "mono8", "16UC1", "32FC1"), doc="wire encoding")
    frame_id: str = param("", doc="optical frame id ('' = contract default)")


def _thermal_cam() -> GLCamera:
    return GLCamera(640, 512, 50.0, 30.0, 0.0033, 0.0008, 0.012, (0.045, 0.0, 0.0), "mono16")


def _depth_cam() -> GLCamera:
    return GLCamera(640, 480, 75.0, 30.0, 0.0071, 0.0008, 0.015, (-0.03, 0.005, 0.0), "16UC1")


@dataclass(frozen=True)
class GLRig:
    height_m: tuple[float, ...] = param((1.6, 3.5), unit="m", doc="colour camera height range (per scene)")
    pitch_deg: tuple[float, ...] = param((3.0, 14.0), unit="deg", doc="downward tilt range (per scene)")
    yaw_deg: tuple[float, ...] = param((-15.0, 15.0), unit="deg", doc="heading range (per scene)")


@dataclass(frozen=True)
class GLWorld:
    n_people: tuple[int, ...] = param((4, 10), unit="1", doc="people range (walking, standing, ...)")
    n_vehicles: tuple[int, ...] = param((1, 3), unit="1", doc="moving vehicles range (cars, vans, trucks, bikes)")
    n_parked: tuple[int, ...] = param((1, 3), unit="1", doc="parked vehicles range (labelled)")
    n_buildings: tuple[int, ...] = param((2, 5), unit="1", doc="buildings range")
    n_clutter: tuple[int, ...] = param((8, 18), unit="1", doc="poles, lamps, benches, bins, trees, fences range")
    n_negatives: tuple[int, ...] = param((2, 5), unit="1", doc="hard negatives range (mannequins, bollards, dogs)")
    child_fraction: float = param(0.15, unit="1", ge=0, le=1, doc="fraction of people that are children")
    x_range_m: tuple[float, ...] = param((4.0, 30.0), unit="m", doc="forward extent of the area")
    y_half_m: float = param(12.0, unit="m", gt=1, doc="lateral half width of the area")
    lanes_x_m: tuple[float, ...] = param((18.0, 24.0), unit="m", doc="forward distance of the traffic lanes")
    walk_speed_mps: tuple[float, ...] = param((0.6, 1.8), unit="m/s", doc="walking speed range")
    run_speed_mps: tuple[float, ...] = param((2.5, 4.5), unit="m/s", doc="running speed range")
    vehicle_speed_mps: tuple[float, ...] = param((3.0, 11.0), unit="m/s", doc="vehicle speed range")


@dataclass(frozen=True)
class GLLight:
    sun_level: tuple[float, ...] = param((0.5, 1.0), unit="1", doc="directional sun irradiance range")
    ambient_level: tuple[float, ...] = param((0.25, 0.45), unit="1", doc="ambient (sky) irradiance range")
    sun_elevation_deg: tuple[float, ...] = param((15.0, 65.0), unit="deg", doc="sun elevation range")
    n_lamps: int = param(0, unit="1", ge=0, le=8, doc="street lamps lit (point lights; night)")
    lamp_power: float = param(6.0, unit="1", ge=0, doc="lamp intensity at 1 m")
    colour_temp_shift: float = param(0.12, unit="1", ge=0, le=0.5, doc="illuminant tint range (+-)")
    white_balance_error: float = param(0.05, unit="1", ge=0, le=0.5, doc="residual white balance error (+-)")
    target_mean: float = param(0.4, unit="1", gt=0, lt=1, doc="auto-exposure target mean")
    max_gain: float = param(2.0, unit="1", gt=0, doc="auto-exposure limit (full scale per unit radiance)")
    read_noise: float = param(1.5, unit="DN", ge=0, doc="read noise std (8-bit DN)")
    shot_noise: float = param(0.5, unit="DN/sqrt(DN)", ge=0, doc="shot noise factor")
    vignetting: float = param(0.25, unit="1", ge=0, le=1, doc="RGB corner fall-off")
    gamma: float = param(2.2, unit="1", gt=0, doc="display gamma")
    shadow_map_px: int = param(1024, unit="px", ge=0, le=4096, doc="sun shadow map size (0 = no shadows)")
    sky_rgb: tuple[float, ...] = param((0.62, 0.72, 0.9), unit="1", doc="sky radiance")
    cache_static: bool = param(True, doc="rasterise the static scene once per camera and re-shade only where "
                                         "moving objects' shadows can fall (the rig is static)")
    shadow_tile_px: int = param(16, unit="px", ge=1, le=512, doc="tile of the moving-shadow re-shading grid")
    shadow_margin_tiles: int = param(2, unit="tiles", ge=0, le=64,
                                     doc="re-shaded margin around the moving shadows (shadow-map filtering)")


@dataclass(frozen=True)
class GLThermal:
    ambient_c: tuple[float, ...] = param((5.0, 28.0), unit="degC", ge=-40, le=60, doc="air temperature range")
    ground_offset_k: tuple[float, ...] = param((-2.0, 10.0), unit="K", doc="ground minus air range")
    sky_c: float = param(-20.0, unit="degC", doc="apparent sky temperature")
    body_core_c: float = param(37.0, unit="degC", doc="human core temperature")
    skin_coupling: tuple[float, ...] = param((0.8, 0.9), unit="1", doc="skin: fraction from air to core")
    cloth_coupling: tuple[float, ...] = param((0.55, 0.75), unit="1", doc="clothing surface coupling")
    solar_heating_k: float = param(14.0, unit="K", ge=0, le=60, doc="dark surface in full sun above its base")
    engine_k: float = param(35.0, unit="K", ge=0, doc="running engine/exhaust above air")
    lamp_k: float = param(45.0, unit="K", ge=0, doc="lit lamp head above air")
    animal_k: float = param(8.0, unit="K", ge=0, doc="animal fur below skin temperature")
    noise_k: float = param(0.05, unit="K", ge=0, doc="temporal noise (NETD)")
    column_fpn_k: float = param(0.12, unit="K", ge=0, doc="column fixed-pattern std")
    pixel_fpn_k: float = param(0.15, unit="K", ge=0, doc="pixel fixed-pattern std")
    vignetting_k: float = param(0.6, unit="K", doc="corner offset (lens/housing narcissus)")
    blur_sigma_px: float = param(0.8, unit="px", ge=0, doc="optics blur")
    agc_percentiles: tuple[float, ...] = param((1.0, 99.0), unit="%", doc="mono8 AGC stretch percentiles")


@dataclass(frozen=True)
class GLDepth:
    min_range_m: float = param(0.3, unit="m", gt=0, doc="minimum range")
    max_range_m: float = param(15.0, unit="m", gt=0, doc="maximum range (beyond: no data)")
    noise_base_m: float = param(0.003, unit="m", ge=0, doc="range-independent noise std")
    noise_quadratic: float = param(0.002, unit="1/m", ge=0, doc="stereo-like noise std = base + k z^2")
    dark_albedo: float = param(0.04, unit="1", ge=0, le=1, doc="surfaces darker than this return nothing")
    edge_jump_m: float = param(0.3, unit="m", gt=0, doc="depth step that makes an edge hole")
    speckle_holes: float = param(0.01, unit="1", ge=0, le=1, doc="fraction of random missing pixels")


@dataclass(frozen=True)
class GLAtmosphere:
    rgb_extinction: float = param(0.0, unit="1/m", ge=0, doc="smoke/fog extinction for visible light")
    depth_extinction: float = param(0.0, unit="1/m", ge=0, doc="depth dropout rate per metre")
    thermal_extinction: float = param(0.0, unit="1/m", ge=0, doc="LWIR extinction")
    smoke_rgb: tuple[float, ...] = param((0.68, 0.68, 0.66), unit="1", doc="smoke colour (lit by ambient)")
    smoke_c: float = param(24.0, unit="degC", doc="smoke temperature")


@dataclass(frozen=True)
class GLDropout:
    """One camera stops publishing for a while (a sensor outage: the node must keep tracking on the others)."""
    camera: str = param("", choices=("", "color", "thermal", "depth"), doc="the camera that stops; '' = none")
    start_s: float = param(3.0, unit="s", ge=0, doc="outage start, from the scene start")
    duration_s: float = param(4.0, unit="s", ge=0, doc="outage length")


@dataclass(frozen=True)
class GLCameraRandom:
    """Per-scene draws of the RGB camera's intrinsics (off by default: every scene then has ``color``'s)."""

    color_sizes_px: tuple[int, ...] = param((), unit="px", ge=16,
                                            doc="RGB image sizes to choose from per scene, as flat width, height "
                                                "pairs (e.g. [640, 480, 1280, 720]); empty = color.width/height")
    color_hfov_deg: tuple[float, ...] = param((), unit="deg", gt=5, lt=170,
                                              doc="RGB horizontal field-of-view range drawn per scene "
                                                  "([low, high]); empty = color.hfov_deg")

    def validate(self) -> None:
        if len(self.color_sizes_px) % 2:
            raise ValueError(f"camera_random.color_sizes_px needs width, height pairs, got {list(self.color_sizes_px)}")
        if self.color_hfov_deg and len(self.color_hfov_deg) != 2:
            raise ValueError(f"camera_random.color_hfov_deg needs [low, high], got {list(self.color_hfov_deg)}")

    def __post_init__(self):
        self.validate()

    def draw(self, color: GLCamera, rng) -> GLCamera:
        """``color`` with this scene's size and field of view (no random draw for what is not randomised)."""
        if self.color_sizes_px:
            k = int(rng.integers(len(self.color_sizes_px) // 2))
            color = replace(color, width=self.color_sizes_px[2 * k], height=self.color_sizes_px[2 * k + 1])
        if self.color_hfov_deg:
            color = replace(color, hfov_deg=float(rng.uniform(*self.color_hfov_deg)))
        return color


@dataclass(frozen=True)
class GLSimConfig:
    color: GLCamera = field(default_factory=GLCamera)
    thermal: GLCamera = field(default_factory=_thermal_cam)
    depth: GLCamera = field(default_factory=_depth_cam)
    rig: GLRig = field(default_factory=GLRig)
    world: GLWorld = field(default_factory=GLWorld)
    light: GLLight = field(default_factory=GLLight)
    thermal_scene: GLThermal = field(default_factory=GLThermal)
    depth_sensor: GLDepth = field(default_factory=GLDepth)
    atmosphere: GLAtmosphere = field(default_factory=GLAtmosphere)
    dropout: GLDropout = field(default_factory=GLDropout)
    camera_random: GLCameraRandom = field(default_factory=GLCameraRandom)
    start_time_s: float = param(1_700_000_000.0, unit="s", ge=0, doc="header stamp of the scene start")
    gt_margin_px: float = param(40.0, unit="px", ge=0, doc="GT includes objects this close to the view")
    near_m: float = param(0.4, unit="m", gt=0, doc="objects closer than this are not labelled")
    far_m: float = param(400.0, unit="m", gt=1, doc="far clipping plane")

    def camera(self, name: str) -> GLCamera:
        return getattr(self, name)


def with_overrides(cfg: GLSimConfig, overrides: Mapping[str, Any], where: str = "sim_gl") -> GLSimConfig:
    """A new config with the nested ``overrides`` applied (validated)."""
    return from_mapping(GLSimConfig, overrides, where=where, base=cfg)


def load_config(path=None) -> GLSimConfig:
    """Built-in defaults, or the ``sim_gl`` section of a YAML file merged over them."""
    if path is None:
        return GLSimConfig()
    return with_overrides(GLSimConfig(), load_yaml(path).get("sim_gl", {}) or {}, where=f"{path}: sim_gl")


PRESETS: Mapping[str, tuple[str, Mapping[str, Any]]] = MappingProxyType({
    "day": ("Day: sun 15-65 deg, shadows, air 5-28 C, sun-heated ground and walls.", {}),
    "night": ("Night: no sun, dim sky, 3-6 street lamps, noisy high-gain RGB; air 0-15 C, cold ground.",
              {"light": {"sun_level": (0.0, 0.0), "ambient_level": (0.004, 0.012), "n_lamps": 5,
                         "read_noise": 3.0, "shadow_map_px": 0, "sky_rgb": (0.03, 0.035, 0.06)},
               "thermal_scene": {"ambient_c": (0.0, 15.0), "ground_offset_k": (-3.0, 0.0), "sky_c": -30.0}}),
    "smoke": ("Smoke: RGB extinction 0.15/m, depth 0.2/m, thermal 0.01/m.",
              {"atmosphere": {"rgb_extinction": 0.15, "depth_extinction": 0.2, "thermal_extinction": 0.01}}),
    "crowd": ("Busy scene: 16-24 people, 2-4 vehicles.",
              {"world": {"n_people": (16, 24), "n_vehicles": (2, 4)}}),
    "crossover": ("Thermal crossover: air and ground near body-surface temperature (31-35 C).",
                  {"thermal_scene": {"ambient_c": (31.0, 35.0), "ground_offset_k": (-1.0, 1.0), "sky_c": 10.0}}),
    "dropout": ("The thermal camera stops publishing from 3 s for 4 s (dropout.camera/start_s/duration_s).",
                {"dropout": {"camera": "thermal", "start_s": 3.0, "duration_s": 4.0}}),
})


def parse_presets(names: str | Iterable[str] | None) -> list[str]:
    return parse_names(names, PRESETS, "preset")


def apply_presets(cfg: GLSimConfig, names) -> GLSimConfig:
    for n in parse_presets(names):
        cfg = with_overrides(cfg, PRESETS[n][1], where=f"preset {n}")
    return cfg


def describe_presets() -> str:
    return "\n".join(f"{n:10s} {d}" for n, (d, _) in PRESETS.items())
