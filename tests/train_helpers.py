"""Shared helpers for the training tests: tiny bags made once per test process (a simulated one with its
sidecar, one converted from a VT-MOT folder, one without ground truth), a tiny training config and a config
file with the tiny model for the command line."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import yaml

from network_helpers import TINY

ROOT = Path(__file__).resolve().parents[1]
_DIR: dict = {}
#: a few steps of batch 2 on 64x64 crops: a training step of the tiny model takes well under a second
TINY_TRAINING = {"steps": 4, "clips_per_batch": 1, "frames_per_clip": 2, "window": 4, "crop_width": 64,
                 "crop_height": 64, "warmup_steps": 1, "log_every": 1, "checkpoint_every": 2, "eval_every": 0}


def _root() -> Path:
    if "root" not in _DIR:
        _DIR["root"] = Path(tempfile.mkdtemp(prefix="tracker-train-test-"))
    return _DIR["root"]


def sim_bag() -> Path:
    """A 0.3 s simulated night bag (seed 5) with its calibration sidecar (condition 'night')."""
    if "sim" not in _DIR:
        from tracker.sim.simulate import simulate
        _DIR["sim"] = simulate("night", 0.3, 5, randomize=True, out_dir=_root() / "sim", progress=False)
    return _DIR["sim"]


def vtmot_bag() -> Path:
    """A 4-frame VT-MOT sequence (visible + infrared + gt.txt) converted by tracker.data.converters."""
    if "vtmot" not in _DIR:
        import cv2

        from tracker.data.converters import convert_vtmot_sequence
        seq = _root() / "vtmot" / "seqA"
        g = np.random.default_rng(0)
        for sub, shape in (("visible", (96, 128, 3)), ("infrared", (96, 128))):
            (seq / sub).mkdir(parents=True)
            for k in range(1, 5):
                cv2.imwrite(str(seq / sub / f"{k:07d}.jpg"), g.integers(0, 255, shape).astype(np.uint8))
        (seq / "gt").mkdir()
        (seq / "gt" / "gt.txt").write_text("".join(f"{k},1,{20 + 2 * k},30,16,40,1,1,1\n{k},2,70,40,40,24,1,2,1\n"
                                                   for k in range(1, 5)))
        _DIR["vtmot"] = convert_vtmot_sequence(seq, _root() / "bags" / "vtmot_seqA")
    return _DIR["vtmot"]


def no_gt_bag() -> Path:
    """Two RGB frames with camera_info and nothing else: no ground truth."""
    if "nogt" not in _DIR:
        from tracker.common.geometry import CameraModel
        from tracker.data.contract import DEFAULT_FRAMES, Topics
        from tracker.data.writer import BagWriter
        t, frame = Topics(), DEFAULT_FRAMES["color"]
        path = _root() / "bags" / "recording_no_gt"
        with BagWriter(path) as w:
            for k in range(2):
                w.write_camera_info(t.color_info, 1.0 + k / 30, CameraModel.from_fov(64, 48, 60.0, frame))
                w.write_image(t.color_image, 1.0 + k / 30, frame, np.zeros((48, 64, 3), np.uint8), "rgb8")
        _DIR["nogt"] = path
    return _DIR["nogt"]


def tiny_config_file(tmp_path: Path, **training) -> Path:
    """config/network.yaml with a ``tiny`` model (network_helpers.TINY), TINY_TRAINING and no simulator
    bags to render."""
    data = yaml.safe_load((ROOT / "config" / "network.yaml").read_text())
    data["models"]["tiny"] = dict(TINY)
    data["model"] = "tiny"
    data["training"] = {**data["training"], **TINY_TRAINING, **training}
    data["data"].update(root=str(tmp_path / "netdata"), train_stride=1, val_stride=1)
    data["cache"] = {"dir": str(_root() / "cache")}
    p = tmp_path / "network.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def weights(path: Path) -> dict:
    import torch
    return torch.load(path, map_location="cpu", weights_only=False)["state_dict"]
