"""simulate(): render a scenario into a contract bag (+ calibration sidecar); ground_truth_sequence(): GT only.

A rig that moves (ego-motion or shake) also gets /tf: ``rig.odom_frame`` (the world frame: z up, ground at z = 0,
origin under the colour camera's start) -> colour optical frame, stamped with every camera frame's stamp and
written at it (bag time = stamp, ahead of the image). Ground truth stays in the colour optical frame of its frame
(docs/data-contract.md); map it through /tf for truth in odom."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import yaml

from tracker.common.config import to_mapping
from tracker.data.contract import CAMERAS, Topics
from tracker.data.sidecar import camera_entries, plain
from tracker.data.writer import BagWriter, Det2D, Det3D

from .config import SimConfig, load_sim_config
from .engine import Renderer, Scenario
from .groundtruth import GTFrame
from .parallel import prestart
from .presets import apply_presets, parse_preset_names

PROGRESS_MIN_FRAMES = 300  # show a progress bar for runs with more frames than this


def build_config(preset_names, config: SimConfig | None = None) -> SimConfig:
    return apply_presets(config if config is not None else load_sim_config(), preset_names)


def bag_name(preset_names, seed: int, randomize: bool) -> str:
    names = parse_preset_names(preset_names) or ["default"]
    return f"sim_{'-'.join(names)}_s{seed}{'_rand' if randomize else ''}"


def sidecar(scenario: Scenario, preset_names, randomize: bool) -> dict:
    cfg = scenario.cfg
    cams = camera_entries(scenario.cameras, scenario.extrinsics, {n: cfg.camera(n).rate_hz for n in CAMERAS},
                          {n: cfg.camera(n).encoding for n in CAMERAS})
    return {"parent_frame": scenario.cameras["color"].frame_id, "cameras": cams,
            "presets": parse_preset_names(preset_names), "seed": scenario.seed, "randomize": bool(randomize),
            "duration_s": scenario.duration_s, "config": plain(to_mapping(scenario.cfg))}


def simulate(preset_names: str | Iterable[str] | None = None, duration_s: float = 10.0, seed: int = 0,
             randomize: bool = False, out_dir: str | Path = ".", storage: str = "mcap", *,
             config: SimConfig | None = None, name: str | None = None, progress: bool | None = None,
             topics: Topics = Topics(), render_mode: str = "processes") -> Path:
    """Render ``duration_s`` seconds into ``out_dir/<name>`` (a rosbag2 directory) and write the calibration
    sidecar ``out_dir/<name>.calibration.yaml``. Returns the bag path. Same arguments -> same messages."""
    if render_mode == "processes":
        prestart()  # the workers' server starts while the scenario is built
    cfg = build_config(preset_names, config)
    sc = Scenario(cfg, duration_s, seed, randomize)
    renderer = Renderer(sc)
    out = Path(out_dir)
    path = out / (name or bag_name(preset_names, seed, randomize))
    if progress is None:
        progress = len(sc.events) > PROGRESS_MIN_FRAMES
    frames = {n: sc.cameras[n].frame_id for n in CAMERAS}
    with BagWriter(path, storage=storage) as w:
        t0 = sc.stamp(0.0)
        w.write_tf_static(t0, {frames[n]: (frames["color"], sc.extrinsics[n]) for n in CAMERAS if n != "color"},
                          topic=topics.tf_static)
        frames_it = renderer.render_events(sc.events, mode=render_mode)
        if progress:
            from tqdm import tqdm
            frames_it = tqdm(frames_it, total=len(sc.events), desc=f"simulating {path.name}", unit="frame")
        odom = sc.cfg.rig.odom_frame if not sc.rig.static else ""
        for f in frames_it:
            cam = f.camera
            if odom:  # odom -> colour optical frame at every frame of every camera, received at its stamp
                w.latency_ns = 0
                w.write_tf(f.stamp, {frames["color"]: (odom, sc.T_world_cam("color", f.t_rel))}, topic=topics.tf)
            w.latency_ns = int(round(sc.cfg.camera(cam).latency_s * 1e9))
            w.write_camera_info(topics.info(cam), f.stamp, sc.cameras[cam])
            w.write_image(topics.image(cam), f.stamp, frames[cam], f.image, f.encoding)
            if f.gt is not None:
                w.write_detections_3d(topics.gt_tracks, f.stamp, frames["color"],
                                      [Det3D(o.id, o.cls, o.center3d, o.size3d, o.quat) for o in f.gt])
                w.write_detections_2d(topics.gt_tracks_2d, f.stamp, frames["color"],
                                      [Det2D(o.id, o.cls, o.box2d, o.visibility) for o in f.gt])
    path.with_name(path.name + ".calibration.yaml").write_text(
        yaml.safe_dump(sidecar(sc, preset_names, randomize), sort_keys=False))
    return path


def ground_truth_sequence(preset_names: str | Iterable[str] | None = None, duration_s: float = 10.0,
                          seed: int = 0, randomize: bool = False, config: SimConfig | None = None
                          ) -> list[GTFrame]:
    """The GT of the colour frames that :func:`simulate` would render, without rendering (visibility is
    estimated from box overlaps rather than pixels)."""
    sc = Scenario(build_config(preset_names, config), duration_s, seed, randomize)
    return [GTFrame(sc.stamp(t), sc.gt_objects(t)) for t, cam in sc.events if cam == "color"]
