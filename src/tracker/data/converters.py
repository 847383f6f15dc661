"""Public datasets -> contract bags: VT-MOT (visible + infrared) and MOTChallenge (RGB) folders.

Images are re-encoded as rgb8 (visible) and mono8 (infrared, non-radiometric); GT goes to
/ground_truth/tracks_2d (3D GT and depth are absent; rows, classes and visibility as read by
tracker.data.motchallenge). Cameras get a nominal pinhole model (``hfov_deg``) since these datasets carry no
calibration; the infrared camera is declared co-located with the visible one.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from tracker.common.geometry import CameraModel, Transform

from .contract import DEFAULT_FRAMES, Topics
from .motchallenge import MotRow, bag_class, read_rows, read_seqinfo
from .writer import BagWriter, Det2D

NOMINAL_HFOV_DEG = 60.0
#: VT-MOT gt class ids -> contract classes (others are dropped; flag 0 rows too). MOTChallenge classes: the
#: table in tracker.data.motchallenge (MOT_CLASSES, bag_class)
VTMOT_CLASSES = {1: "person", 2: "vehicle"}
INFRARED_OFFSET_S = 0.001  # stamps of different sensors are never identical
DEFAULT_RATE_HZ = 30.0  # frame rate when a sequence does not give one
DEFAULT_START_S = 1_600_000_000.0  # header stamp of the first frame
#: ``progress(n)``: called with 1 after each frame (RGB and/or infrared of one frame number) written
Progress = Callable[[int], None]


def frame_files(folder: Path) -> dict[int, Path]:
    """{frame number: image} of the numbered .jpg/.png images in ``folder`` (0000001.jpg -> 1)."""
    out = {}
    for p in sorted(folder.glob("*")):
        if p.suffix.lower() in (".jpg", ".jpeg", ".png") and p.stem.isdigit():
            out[int(p.stem)] = p
    return out


def _vtmot_class(row: MotRow) -> str | None:
    return None if row.zero_marked else VTMOT_CLASSES.get(row.cls)


def _read_gt(seq: Path, class_of: Callable[[MotRow], str | None]) -> dict[int, list[Det2D]]:
    """{frame: [Det2D]} of ``seq/gt/gt.txt`` (absent: no GT); rows whose ``class_of`` is None are dropped."""
    gt_file = seq / "gt" / "gt.txt"
    out: dict[int, list[Det2D]] = {}
    for r in read_rows(gt_file) if gt_file.is_file() else []:
        name = class_of(r)
        if name is not None:
            out.setdefault(r.frame, []).append(Det2D(str(r.id), name, r.box, r.visibility))
    return out


def _write_sequence(out_bag: Path, rgb_frames: dict, ir_frames: dict, gt: dict, rate_hz: float,
                    storage: str, start_s: float, topics: Topics, progress: Progress | None = None) -> Path:
    fr_color, fr_thermal = DEFAULT_FRAMES["color"], DEFAULT_FRAMES["thermal"]
    cams = {}
    with BagWriter(out_bag, storage=storage) as w:
        if rgb_frames and ir_frames:
            w.write_tf_static(start_s, {fr_thermal: (fr_color, Transform.identity())}, topic=topics.tf_static)
        for k in sorted(set(rgb_frames) | set(ir_frames)):
            t = start_s + (k - 1) / rate_hz
            if k in rgb_frames:
                bgr = _imread(rgb_frames[k], cv2.IMREAD_COLOR)
                cam = cams.setdefault("color", CameraModel.from_fov(bgr.shape[1], bgr.shape[0], NOMINAL_HFOV_DEG,
                                                                   fr_color))
                w.write_camera_info(topics.color_info, t, cam)
                w.write_image(topics.color_image, t, fr_color, np.ascontiguousarray(bgr[..., ::-1]), "rgb8")
                w.write_detections_2d(topics.gt_tracks_2d, t, fr_color, gt.get(k, []))
            if k in ir_frames:
                ir = _imread(ir_frames[k], cv2.IMREAD_GRAYSCALE)
                cam = cams.setdefault("thermal", CameraModel.from_fov(ir.shape[1], ir.shape[0], NOMINAL_HFOV_DEG,
                                                                     fr_thermal))
                ti = t + INFRARED_OFFSET_S
                w.write_camera_info(topics.thermal_info, ti, cam)
                w.write_image(topics.thermal_image, ti, fr_thermal, ir, "mono8")
            if progress is not None:
                progress(1)
    return out_bag


def convert_vtmot_sequence(seq_dir: str | Path, out_bag: str | Path, rate_hz: float = DEFAULT_RATE_HZ,
                           storage: str = "mcap", start_s: float = DEFAULT_START_S,
                           topics: Topics = Topics(), progress: Progress | None = None) -> Path:
    """One VT-MOT sequence folder (``visible/``, ``infrared/`` with 0000001.jpg..., and ``gt/gt.txt``) -> a
    contract bag."""
    seq = Path(seq_dir)
    rgb, ir = frame_files(seq / "visible"), frame_files(seq / "infrared")
    if not rgb and not ir:
        raise ValueError(f"{seq}: no visible/ or infrared/ images")
    return _write_sequence(Path(out_bag), rgb, ir, _read_gt(seq, _vtmot_class), rate_hz, storage, start_s, topics,
                           progress)


def convert_vtmot(root: str | Path, out_dir: str | Path, split: str = "train", storage: str = "mcap",
                  rate_hz: float = DEFAULT_RATE_HZ, progress: Progress | None = None) -> list[Path]:
    """All sequences of ``root/images/<split>/<seq>`` -> ``out_dir/<seq>`` bags."""
    base = Path(root) / "images" / split
    if not base.is_dir():
        raise ValueError(f"not a VT-MOT folder: {base} missing")
    return [convert_vtmot_sequence(s, Path(out_dir) / s.name, rate_hz, storage, progress=progress)
            for s in sorted(p for p in base.iterdir() if p.is_dir())]


def convert_motchallenge_sequence(seq_dir: str | Path, out_bag: str | Path, storage: str = "mcap",
                                  start_s: float = DEFAULT_START_S, topics: Topics = Topics(),
                                  progress: Progress | None = None) -> Path:
    """A MOTChallenge sequence (``img1/``, ``gt/gt.txt``, ``seqinfo.ini``) -> a contract bag (RGB + 2D GT).
    Classes: tracker.data.motchallenge (pedestrian -> person, car -> vehicle, flag 1 rows; distractors kept as
    ignore regions under their TrackEval name; other classes dropped)."""
    seq = Path(seq_dir)
    info = read_seqinfo(seq / "seqinfo.ini") if (seq / "seqinfo.ini").is_file() else {}
    rate = float(info.get("framerate", DEFAULT_RATE_HZ))
    rgb = frame_files(seq / info.get("imdir", "img1"))
    if not rgb:
        raise ValueError(f"{seq}: no images in {info.get('imdir', 'img1')}/")
    return _write_sequence(Path(out_bag), rgb, {}, _read_gt(seq, bag_class), rate, storage, start_s, topics,
                           progress)


def _imread(path, flags: int) -> np.ndarray:
    img = cv2.imread(str(path), flags)
    if img is None:
        raise ValueError(f"cannot read image {path}")
    return img
