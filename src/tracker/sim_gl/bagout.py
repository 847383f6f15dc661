"""Writing world B's frames as a contract bag: the only module of tracker.sim_gl that uses the bag writer
(``tracker.data.writer.BagWriter``), so that a change of the writer's API is adapted here alone."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from tracker.data.contract import CAMERAS, Topics
from tracker.data.writer import BagWriter, Det2D, Det3D


def write_bag(path: Path, world, frames: Iterable, storage: str = "mcap", topics: Topics = Topics()) -> Path:
    """Write /tf_static, then every frame's image + camera_info and the colour frames' ground truth."""
    cams = world.cameras
    frame_ids = {n: cams[n].frame_id for n in CAMERAS}
    with BagWriter(path, storage=storage) as w:
        w.write_tf_static(world.stamp(0.0), {frame_ids[n]: (frame_ids["color"], world.extrinsics[n])
                                             for n in CAMERAS if n != "color"}, topic=topics.tf_static)
        for f in frames:
            w.latency_ns = int(round(world.cfg.camera(f.camera).latency_s * 1e9))
            w.write_camera_info(topics.info(f.camera), f.stamp, cams[f.camera])
            w.write_image(topics.image(f.camera), f.stamp, frame_ids[f.camera], f.image, f.encoding)
            if f.gt is not None:
                w.write_detections_3d(topics.gt_tracks, f.stamp, frame_ids["color"],
                                      [Det3D(o.id, o.cls, o.center3d, o.size3d, o.quat) for o in f.gt])
                w.write_detections_2d(topics.gt_tracks_2d, f.stamp, frame_ids["color"],
                                      [Det2D(o.id, o.cls, o.box2d, o.visibility) for o in f.gt])
    return path
