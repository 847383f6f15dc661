"""Simulator configuration: frozen dataclasses with units and ranges (defaults mirror config/sim.yaml).

Presets (:mod:`tracker.sim.presets`) are nested mappings of overrides applied with :func:`with_overrides`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from tracker.common.config import from_mapping, load_yaml, param
from tracker.data.contract import COLOR_ENCODINGS, DEFAULT_FRAMES, DEPTH_ENCODINGS, THERMAL_ENCODINGS


def check_lengths(obj, **lengths: int) -> None:
    """Fixed-length tuple fields (declared variadic, checked here)."""
    for name, n in lengths.items():
        v = getattr(obj, name)
        if len(v) != n:
            raise ValueError(f"{name} needs {n} values, got {len(v)}: {v!r}")
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, tuple) and len(v) == 2 and f.name.endswith(("range_m", "_mps", "_m", "_s", "scale",
                                                                      "people")) and v[0] > v[1]:
            raise ValueError(f"{f.name}: range {v!r} has min > max")


@dataclass(frozen=True)
class CameraConfig:
    width: int = param(640, unit="px", gt=0, doc="image width")
    height: int = param(480, unit="px", gt=0, doc="image height")
    hfov_deg: float = param(69.0, unit="deg", gt=5, lt=170, doc="horizontal field of view")
    rate_hz: float = param(30.0, unit="Hz", gt=0, le=240, doc="frame rate")
    offset_s: float = param(0.0, unit="s", ge=-0.5, le=0.5, doc="stamp offset from the rig clock")
    jitter_s: float = param(0.0008, unit="s", ge=0, le=0.05, doc="std of stamp jitter")
    latency_s: float = param(0.01, unit="s", ge=0, le=1, doc="bag receive time minus header stamp")
    position: tuple[float, ...] = param((0.0, 0.0, 0.0), unit="m",
                                                 doc="position in the colour optical frame")
    rpy_deg: tuple[float, ...] = param((0.0, 0.0, 0.0), unit="deg",
                                                doc="roll/pitch/yaw about the colour optical x/y/z axes")
    encoding: str = param("rgb8", choices=COLOR_ENCODINGS + THERMAL_ENCODINGS + DEPTH_ENCODINGS,
                          doc="image encoding on the wire")
    frame_id: str = param("", doc="optical frame id")
    principal_offset_px: tuple[float, ...] = param((0.0, 0.0), unit="px", doc="principal point minus image centre")

    def validate(self) -> None:
        check_lengths(self, position=3, rpy_deg=3, principal_offset_px=2)


def _thermal_cam():
    return CameraConfig(640, 512, 50.0, 30.0, 0.0033, 0.0008, 0.012, (0.045, 0.0, 0.0), (0.0, 0.0, 0.0),
                        "mono16", DEFAULT_FRAMES["thermal"])


def _depth_cam():
    return CameraConfig(640, 480, 75.0, 30.0, 0.0071, 0.0008, 0.015, (-0.03, 0.005, 0.0), (0.0, 0.0, 0.0),
                        "16UC1", DEFAULT_FRAMES["depth"])


@dataclass(frozen=True)
class RigConfig:
    height_m: float = param(2.2, unit="m", gt=0.2, le=30, doc="height of the colour camera above ground")
    pitch_deg: float = param(8.0, unit="deg", ge=-30, le=60, doc="downward tilt")
    yaw_deg: float = param(0.0, unit="deg", ge=-180, le=180, doc="heading of the rig in the world")
    ego_speed_mps: float = param(0.0, unit="m/s", ge=0, le=20, doc="forward ego-motion speed")
    ego_yaw_rate_dps: float = param(0.0, unit="deg/s", ge=-90, le=90, doc="ego yaw rate")
    jitter_deg: float = param(0.0, unit="deg", ge=0, le=5, doc="std of camera shake (AR(1) per axis)")
    jitter_corr_s: float = param(0.2, unit="s", gt=0, doc="correlation time of the camera shake")
    odom_frame: str = param("odom", doc="a rig that moves (ego-motion or shake) has its colour optical frame's pose "
                                        "on /tf with this parent: the world frame (z up, ground at z = 0, origin "
                                        "under the colour camera's start position); '' = no /tf")


@dataclass(frozen=True)
class WorldConfig:
    n_people: int = param(8, unit="1", ge=0, le=60, doc="walking people")
    group_fraction: float = param(0.4, unit="1", ge=0, le=1, doc="fraction of people walking in groups")
    n_crossing_pairs: int = param(1, unit="1", ge=0, le=10, doc="pairs of people crossing in front of the camera")
    n_standing: int = param(0, unit="1", ge=0, le=20,
                            doc="people standing still for the whole scene (in addition to n_people)")
    n_vehicles: int = param(2, unit="1", ge=0, le=20, doc="moving vehicles")
    n_parked: int = param(2, unit="1", ge=0, le=20, doc="parked vehicles (static clutter, labelled)")
    n_poles: int = param(4, unit="1", ge=0, le=50, doc="poles")
    n_walls: int = param(2, unit="1", ge=0, le=20, doc="walls")
    x_range_m: tuple[float, ...] = param((3.0, 30.0), unit="m", doc="forward extent of the walking area")
    y_half_m: float = param(14.0, unit="m", gt=1, doc="lateral half width of the walking area")
    person_speed_mps: tuple[float, ...] = param((0.5, 2.0), unit="m/s", doc="walking speed range")
    person_height_m: tuple[float, ...] = param((1.5, 1.95), unit="m", doc="body height range")
    stop_rate_hz: float = param(0.05, unit="1/s", ge=0, doc="rate of stopping events per person")
    stop_duration_s: tuple[float, ...] = param((1.0, 4.0), unit="s", doc="duration of a stop")
    turn_rate_std_dps: float = param(25.0, unit="deg/s", ge=0, doc="std of the random turning rate")
    vehicle_speed_mps: tuple[float, ...] = param((4.0, 11.0), unit="m/s", doc="vehicle speed range")
    vehicle_lanes_x_m: tuple[float, ...] = param((16.0, 20.0, 26.0), unit="m",
                                                  doc="forward distance of the lateral traffic lanes")
    step_s: float = param(0.05, unit="s", gt=0, le=0.5, doc="kinematics integration step")

    def validate(self) -> None:
        check_lengths(self, x_range_m=2, person_speed_mps=2, person_height_m=2, stop_duration_s=2,
                      vehicle_speed_mps=2)


@dataclass(frozen=True)
class LightingConfig:
    light_level: float = param(1.0, unit="1", gt=0, le=10, doc="scene illumination (1 = overcast day)")
    sun_fraction: float = param(0.6, unit="1", ge=0, le=1, doc="directional part of the illumination")
    sun_azimuth_deg: float = param(140.0, unit="deg", doc="sun azimuth in the world")
    sun_elevation_deg: float = param(40.0, unit="deg", ge=0, le=90, doc="sun elevation")
    sky_rgb: tuple[float, ...] = param((0.62, 0.72, 0.88), unit="1", doc="sky albedo")
    target_mean: float = param(0.42, unit="1", gt=0, lt=1, doc="auto-exposure target mean intensity")
    max_gain: float = param(4.0, unit="1", gt=0, doc="auto-exposure gain limit")
    read_noise: float = param(2.0, unit="DN", ge=0, doc="read noise std (8-bit DN)")
    shot_noise: float = param(0.6, unit="DN/sqrt(DN)", ge=0, doc="shot noise factor")
    exposure_s: float = param(0.008, unit="s", ge=0, le=0.1, doc="exposure time (motion blur)")
    gamma: float = param(2.2, unit="1", gt=0, doc="display gamma")

    def validate(self) -> None:
        check_lengths(self, sky_rgb=3)


@dataclass(frozen=True)
class ThermalConfig:
    ambient_c: float = param(20.0, unit="degC", ge=-40, le=60, doc="air temperature")
    ground_offset_k: float = param(6.0, unit="K", ge=-20, le=40, doc="ground minus air (sun heating)")
    sky_c: float = param(-15.0, unit="degC", ge=-80, le=40, doc="apparent sky temperature")
    body_core_c: float = param(37.0, unit="degC", doc="human core temperature")
    skin_coupling: float = param(0.86, unit="1", ge=0, le=1, doc="skin: fraction of the way from air to core")
    cloth_coupling: float = param(0.72, unit="1", ge=0, le=1, doc="clothing surface coupling")
    engine_delta_k: float = param(28.0, unit="K", ge=0, le=120, doc="hood of a running engine above air")
    wheel_delta_k: float = param(9.0, unit="K", ge=0, le=60, doc="wheels of a moving vehicle above air")
    parked_delta_k: float = param(2.0, unit="K", ge=-10, le=60, doc="parked vehicle above air")
    structure_delta_k: float = param(1.5, unit="K", ge=-20, le=30, doc="walls and poles above air")
    texture_k: float = param(0.8, unit="K", ge=0, doc="spatial temperature variation of surfaces")
    noise_k: float = param(0.06, unit="K", ge=0, doc="temporal noise (NETD)")
    nonuniformity_k: float = param(0.25, unit="K", ge=0, doc="fixed-pattern offset std (columns + pixels)")
    blur_sigma_px: float = param(0.9, unit="px", ge=0, doc="optics blur")


@dataclass(frozen=True)
class DepthConfig:
    min_range_m: float = param(0.3, unit="m", gt=0, doc="minimum range")
    max_range_m: float = param(12.0, unit="m", gt=0, doc="maximum range (beyond: no data)")
    noise_base_m: float = param(0.002, unit="m", ge=0, doc="range-independent noise std")
    noise_quadratic: float = param(0.0015, unit="1/m", ge=0, doc="noise std = base + k z^2")
    dark_albedo: float = param(0.06, unit="1", ge=0, le=1, doc="surfaces darker than this return nothing")
    edge_jump_m: float = param(0.25, unit="m", gt=0, doc="depth step that makes an edge hole")
    edge_width_px: int = param(1, unit="px", ge=0, le=10, doc="half width of holes at depth edges")
    speckle_holes: float = param(0.01, unit="1", ge=0, le=1, doc="fraction of random missing pixels")


@dataclass(frozen=True)
class AtmosphereConfig:
    rgb_extinction: float = param(0.0, unit="1/m", ge=0, doc="smoke/fog extinction for visible light")
    depth_extinction: float = param(0.0, unit="1/m", ge=0, doc="depth dropout rate per metre")
    thermal_extinction: float = param(0.0, unit="1/m", ge=0, doc="LWIR extinction")
    smoke_rgb: tuple[float, ...] = param((0.7, 0.7, 0.68), unit="1", doc="smoke colour")
    smoke_c: float = param(25.0, unit="degC", doc="smoke temperature")

    def validate(self) -> None:
        check_lengths(self, smoke_rgb=3)


@dataclass(frozen=True)
class GlareConfig:
    strength: float = param(0.0, unit="1", ge=0, le=20, doc="sun glare intensity in the colour image")
    u: float = param(0.8, unit="1", ge=-0.5, le=1.5, doc="glare centre, fraction of width")
    v: float = param(0.12, unit="1", ge=-0.5, le=1.5, doc="glare centre, fraction of height")
    radius: float = param(0.25, unit="1", gt=0, doc="glare radius, fraction of width")
    depth_hole_radius: float = param(0.08, unit="1", ge=0, doc="depth saturation radius, fraction of width")


@dataclass(frozen=True)
class DropoutConfig:
    camera: str = param("", choices=("", "color", "thermal", "depth"), doc="camera that stops ('' = none)")
    start_s: float = param(3.0, unit="s", ge=0, doc="when it stops (from the start)")
    duration_s: float = param(4.0, unit="s", ge=0, doc="how long it stays silent")
    framedrop_prob: float = param(0.0, unit="1", ge=0, lt=1, doc="probability that any frame is lost")


@dataclass(frozen=True)
class RandomizeConfig:
    """Ranges sampled when ``randomize`` is on (uniform, symmetric around the configured value)."""
    focal_rel: float = param(0.12, unit="1", ge=0, lt=0.5, doc="relative change of the focal length")
    principal_px: float = param(12.0, unit="px", ge=0, doc="principal point shift")
    extrinsic_m: float = param(0.03, unit="m", ge=0, doc="camera position change")
    extrinsic_deg: float = param(1.5, unit="deg", ge=0, doc="camera rotation change")
    rig_height_m: float = param(1.0, unit="m", ge=0, doc="rig height change")
    rig_pitch_deg: float = param(6.0, unit="deg", ge=0, doc="rig pitch change")
    noise_scale: tuple[float, ...] = param((0.5, 2.5), unit="1", doc="noise multiplier range")
    temperature_k: float = param(6.0, unit="K", ge=0, doc="air temperature change")
    coupling: float = param(0.06, unit="1", ge=0, doc="skin/cloth coupling change")
    offset_s: float = param(0.01, unit="s", ge=0, doc="stamp offset change")
    jitter_scale: tuple[float, ...] = param((0.5, 4.0), unit="1", doc="stamp jitter multiplier range")
    rate_choices_hz: tuple[float, ...] = param((15.0, 25.0, 30.0), unit="Hz", doc="frame rates to pick from")
    rate_change_prob: float = param(0.3, unit="1", ge=0, le=1, doc="probability that a camera changes rate")
    light_scale: tuple[float, ...] = param((0.5, 1.8), unit="1", doc="illumination multiplier range")
    people: tuple[int, ...] = param((3, 14), unit="1", doc="number of people range")

    def validate(self) -> None:
        check_lengths(self, noise_scale=2, jitter_scale=2, light_scale=2, people=2)


@dataclass(frozen=True)
class SimConfig:
    color: CameraConfig = field(default_factory=lambda: CameraConfig(frame_id=DEFAULT_FRAMES["color"]))
    thermal: CameraConfig = field(default_factory=_thermal_cam)
    depth: CameraConfig = field(default_factory=_depth_cam)
    rig: RigConfig = field(default_factory=RigConfig)
    world: WorldConfig = field(default_factory=WorldConfig)
    lighting: LightingConfig = field(default_factory=LightingConfig)
    thermal_scene: ThermalConfig = field(default_factory=ThermalConfig)
    depth_sensor: DepthConfig = field(default_factory=DepthConfig)
    atmosphere: AtmosphereConfig = field(default_factory=AtmosphereConfig)
    glare: GlareConfig = field(default_factory=GlareConfig)
    dropout: DropoutConfig = field(default_factory=DropoutConfig)
    randomize: RandomizeConfig = field(default_factory=RandomizeConfig)
    start_time_s: float = param(1_700_000_000.0, unit="s", ge=0, doc="header stamp of the scene start")
    gt_margin_px: float = param(40.0, unit="px", ge=0, doc="3D GT includes objects this close to the view")
    near_m: float = param(0.4, unit="m", gt=0, doc="objects closer than this are not labelled")

    def camera(self, name: str) -> CameraConfig:
        return getattr(self, name)


def with_overrides(cfg: SimConfig, overrides: Mapping[str, Any], where: str = "sim") -> SimConfig:
    """A new config with the nested ``overrides`` applied (validated like the YAML)."""
    return from_mapping(SimConfig, overrides, where=where, base=cfg)


def default_config_path() -> Path:
    return Path(__file__).resolve().parents[3] / "config" / "sim.yaml"


def load_sim_config(path: str | Path | None = None) -> SimConfig:
    """SimConfig from the ``sim`` section of a YAML file, merged over the built-in defaults (so a file may
    set only some keys); default file config/sim.yaml, built-in defaults if it is not there."""
    p = Path(path) if path is not None else default_config_path()
    if path is None and not p.is_file():
        return SimConfig()
    data = load_yaml(p)
    return with_overrides(SimConfig(), data.get("sim", {}) or {}, where=f"{p.name}: sim")


def replace(obj, **kw):
    return dataclasses.replace(obj, **kw)
