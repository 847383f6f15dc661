"""Condition presets: named, documented override mappings of :class:`~tracker.sim.config.SimConfig`.

Presets compose left to right (``night,dropout``): each one only sets the keys it is about. They are data
(immutable mappings); ``tracker-sim --list-presets`` prints the descriptions.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from tracker.common.config import parse_names

from .config import SimConfig, with_overrides


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    overrides: Mapping[str, Any]


def _p(name: str, description: str, **overrides) -> Preset:
    return Preset(name, description, MappingProxyType(overrides))


PRESETS: Mapping[str, Preset] = MappingProxyType({p.name: p for p in (
    _p("day", "Overcast-to-sunny day: well lit RGB, warm ground (air 20 C, ground +6 K), people 32-35 C."),
    _p("night", "Night: RGB almost dark (illumination 0.4 % of day, exposure gain capped, noisy); thermal fine "
                "(air 12 C, ground 2 K below air, cold sky); depth unaffected (active sensor).",
       lighting={"light_level": 0.004, "sun_fraction": 0.0, "max_gain": 6.0, "read_noise": 3.0,
                 "exposure_s": 0.03, "sky_rgb": (0.05, 0.05, 0.08)},
       thermal_scene={"ambient_c": 12.0, "ground_offset_k": -2.0, "sky_c": -25.0}),
    _p("smoke", "Smoke: RGB contrast and depth returns fall with distance (extinction 0.18/m and 0.25/m), "
                "thermal (LWIR) barely attenuated (0.01/m).",
       atmosphere={"rgb_extinction": 0.18, "depth_extinction": 0.25, "thermal_extinction": 0.01}),
    _p("crossover", "Thermal crossover: air and ground at body-surface temperature (33 C), so person/background "
                    "thermal contrast collapses; RGB and depth as by day.",
       thermal_scene={"ambient_c": 33.0, "ground_offset_k": 0.0, "sky_c": 20.0, "structure_delta_k": 0.0,
                      "parked_delta_k": 0.0}),
    _p("glare", "Low sun in the colour camera's view: a saturated bloom and veiling glare in RGB, saturated "
                "depth around the sun; thermal unaffected.",
       glare={"strength": 3.0}, lighting={"sun_elevation_deg": 8.0, "sun_azimuth_deg": 10.0}),
    _p("dropout", "The thermal camera stops publishing from 3 s for 4 s (set dropout.camera/start_s/duration_s "
                  "in a config for others).",
       dropout={"camera": "thermal", "start_s": 3.0, "duration_s": 4.0}),
    _p("framedrop", "Every camera loses 8 % of its frames at random.", dropout={"framedrop_prob": 0.08}),
    _p("shake", "Handheld/vehicle camera: 0.4 deg camera shake and slow forward ego-motion (0.8 m/s).",
       rig={"jitter_deg": 0.4, "ego_speed_mps": 0.8}),
    _p("crowd", "Busy scene: 20 people, 60 % in groups, 3 crossing pairs, 3 vehicles.",
       world={"n_people": 20, "group_fraction": 0.6, "n_crossing_pairs": 3, "n_vehicles": 3}),
)})


def parse_preset_names(names: str | Iterable[str] | None) -> list[str]:
    return parse_names(names, PRESETS, "preset")


def apply_presets(cfg: SimConfig, names: str | Iterable[str] | None) -> SimConfig:
    """``cfg`` with the presets applied left to right."""
    for n in parse_preset_names(names):
        cfg = with_overrides(cfg, PRESETS[n].overrides, where=f"preset {n}")
    return cfg


def describe_presets() -> str:
    return "\n".join(f"{p.name:10s} {p.description}" for p in PRESETS.values())
