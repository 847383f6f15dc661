"""The fixed evaluation set: simulator condition presets x seeds (config/eval_set.yaml), rendered once into
bags (kept between runs: same arguments -> same bags)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tracker.common.config import from_mapping, load_yaml, param, section


@dataclass(frozen=True)
class EvalSetConfig:
    presets: tuple[str, ...] = param(doc="condition preset strings ('night,dropout' composes presets)")
    seeds: tuple[int, ...] = param(doc="simulator seeds; every preset is rendered with every seed")
    duration_s: float = param(20.0, unit="s", gt=0.0, doc="length of each bag")
    storage: str = param("mcap", choices=("mcap", "sqlite3"), doc="rosbag2 storage of the bags")


def load_eval_set(path: str | Path) -> EvalSetConfig:
    return from_mapping(EvalSetConfig, section(load_yaml(path), "eval_set", str(path)), where="eval_set")


def condition_name(preset: str) -> str:
    return "+".join(p.strip() for p in preset.split(",") if p.strip()) or "default"


def generate(cfg: EvalSetConfig, bag_dir: str | Path,
             log: Callable[[str], None] = print) -> list[tuple[Path, str]]:
    """[(bag, condition)] of the set, rendering the bags that do not exist yet in ``bag_dir``."""
    from tracker.sim import simulate
    from tracker.sim.simulate import bag_name
    out = []
    bag_dir = Path(bag_dir)
    for preset in cfg.presets:
        for seed in cfg.seeds:
            path = bag_dir / bag_name(preset, seed, False)
            if not (path / "metadata.yaml").is_file():
                log(f"rendering {path.name} ({cfg.duration_s:g} s)")
                path = simulate(preset, duration_s=cfg.duration_s, seed=seed, out_dir=bag_dir, storage=cfg.storage)
            out.append((path, condition_name(preset)))
    return out
