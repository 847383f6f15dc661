"""simulate(): render a world B scene into a contract bag plus its calibration sidecar."""
from __future__ import annotations

from pathlib import Path

import yaml

from tracker.common.config import to_mapping
from tracker.data.contract import CAMERAS, Topics
from tracker.data.sidecar import camera_entries, plain

from .bagout import write_bag
from .config import GLSimConfig, apply_presets, parse_presets
from .engine import World

RENDERER = "sim_gl"  # the sidecar's "renderer" (world A's sidecar has none)


def bag_name(presets, seed: int) -> str:
    return f"simgl_{'-'.join(parse_presets(presets)) or 'default'}_s{seed}"


def sidecar(world: World, presets) -> dict:
    cfg = world.cfg
    cams = camera_entries(world.cameras, world.extrinsics, {n: cfg.camera(n).rate_hz for n in CAMERAS},
                          {n: cfg.camera(n).encoding for n in CAMERAS})
    h, pitch, yaw = world.scene.rig
    return {"renderer": RENDERER, "parent_frame": world.cameras["color"].frame_id, "cameras": cams,
            "presets": parse_presets(presets), "seed": world.seed, "randomize": True,
            "duration_s": world.duration_s, "rig": {"height_m": h, "pitch_deg": pitch, "yaw_deg": yaw},
            "air_c": world.scene.thermal.air_c, "config": yaml.safe_load(yaml.safe_dump(plain(to_mapping(world.cfg))))}


def simulate(presets=None, duration_s: float = 10.0, seed: int = 0, out_dir: str | Path = ".",
             storage: str = "mcap", *, config: GLSimConfig | None = None, name: str | None = None,
             progress: bool = False, topics: Topics = Topics()) -> Path:
    """Render ``duration_s`` seconds of the scene of ``seed`` into ``out_dir/<name>`` (a rosbag2 directory)
    and write ``out_dir/<name>.calibration.yaml``. Returns the bag path. Same arguments -> same messages."""
    cfg = apply_presets(config if config is not None else GLSimConfig(), presets)
    world = World(cfg, duration_s, seed)
    path = Path(out_dir) / (name or bag_name(presets, seed))
    frames = world.frames()
    if progress:
        from tqdm import tqdm
        frames = tqdm(frames, total=len(world.events), desc=f"rendering {path.name}", unit="frame")
    try:
        write_bag(path, world, frames, storage, topics)
    finally:
        world.close()
    path.with_name(path.name + ".calibration.yaml").write_text(
        yaml.safe_dump(sidecar(world, presets), sort_keys=False))
    return path
