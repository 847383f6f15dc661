"""The deterministic demo bag used by the main job: a 10 s day scene at 15 Hz, a few people (two crossing) and a
vehicle."""
from __future__ import annotations

from pathlib import Path

from .config import SimConfig, with_overrides

DEMO_SEED = 7
DEMO_DURATION_S = 10.0
DEMO_OVERRIDES = {"world": {"n_people": 5, "n_crossing_pairs": 1, "group_fraction": 0.4, "n_vehicles": 1,
                            "n_parked": 1, "x_range_m": (3.0, 18.0), "y_half_m": 8.0,
                            "vehicle_lanes_x_m": (14.0,)},
                  "color": {"rate_hz": 15.0}, "thermal": {"rate_hz": 15.0}, "depth": {"rate_hz": 15.0}}


def demo_config() -> SimConfig:
    return with_overrides(SimConfig(), DEMO_OVERRIDES, where="demo")


def ensure_demo_bag(path: str | Path) -> Path:
    """Generate the demo bag at ``path`` (a bag folder) unless it already exists; returns the path."""
    from .simulate import simulate
    p = Path(path)
    if (p / "metadata.yaml").is_file():
        return p
    return simulate("day", DEMO_DURATION_S, DEMO_SEED, False, p.parent, "mcap", config=demo_config(),
                    name=p.name, progress=False)
