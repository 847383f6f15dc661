"""Detector: registered images in, ``tracker.core.Detections`` out, through any backend.

    det = Detector(create_backend(backend_cfg, "models/embedded.onnx"), DetectorConfig())
    detections = det.detect(rgb, thermal, "mono16", depth)   # any of them may be None

Images must be registered to the RGB camera at RGB resolution (tracker.pipeline.registration). The detector
letterboxes them to the network input, normalises them exactly as in training (tracker.network.preprocess),
sets the modality flags from what is present, runs the backend, takes the NMS-free CenterNet peaks (score
threshold, top-K) and maps the boxes back to RGB pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.common.config import param
from tracker.core.types import Detections

from .decode import decode
from .preprocess import Letterbox, encode_depth, normalise_thermal, rgb_tensor, thermal_values


@dataclass(frozen=True)
class DetectorConfig:
    score_threshold: float = param(0.3, ge=0.0, le=1.0, doc="minimum centre-heatmap score")
    top_k: int = param(100, unit="detections", ge=1, doc="at most this many peaks per frame")
    min_box_px: float = param(2.0, unit="px", ge=0.0, doc="drop boxes narrower or lower than this (RGB px)")


class Detector:
    def __init__(self, backend, config: DetectorConfig | None = None):
        self.backend = backend
        self.config = config or DetectorConfig()
        meta = backend.meta
        self.width, self.height = int(meta["input_width"]), int(meta["input_height"])
        self.class_names = tuple(meta["class_names"])
        self.embedding_dim = int(meta["embedding_dim"])

    def preprocess(self, rgb, thermal, thermal_encoding, depth) -> tuple[dict, Letterbox, tuple[int, int]]:
        present = [a for a in (rgb, thermal, depth) if a is not None]
        if not present:
            raise ValueError("detect() needs at least one of rgb, thermal, depth")
        h, w = present[0].shape[:2]
        for name, a in (("rgb", rgb), ("thermal", thermal), ("depth", depth)):
            if a is not None and a.shape[:2] != (h, w):
                raise ValueError(f"{name} is {a.shape[1]}x{a.shape[0]}, expected {w}x{h}: register thermal and "
                                 "depth to the RGB camera first")
        lb = Letterbox.fit(w, h, self.width, self.height)
        H, W = self.height, self.width
        inp = {"rgb": np.zeros((3, H, W), np.float32), "thermal": np.zeros((1, H, W), np.float32),
               "depth": np.zeros((2, H, W), np.float32), "modality": np.zeros(3, np.float32)}
        if rgb is not None:
            inp["rgb"] = rgb_tensor(lb.apply(np.asarray(rgb, np.uint8)))
            inp["modality"][0] = 1
        if thermal is not None:
            raw = lb.apply(np.asarray(thermal))
            vals, fam = thermal_values(raw, thermal_encoding)
            valid = raw > 0
            valid[lb.new_h:] = False
            valid[:, lb.new_w:] = False
            inp["thermal"] = normalise_thermal(vals, fam, valid)[None]
            inp["modality"][1] = 1
        if depth is not None:
            inp["depth"] = encode_depth(lb.apply(np.asarray(depth, np.float32), nearest=True, fill=np.nan))
            inp["modality"][2] = 1
        return {k: v[None] for k, v in inp.items()}, lb, (w, h)

    def detect(self, rgb=None, thermal=None, thermal_encoding: str | None = "mono16", depth=None) -> Detections:
        inputs, lb, (w, h) = self.preprocess(rgb, thermal, thermal_encoding, depth)
        out = self.backend.infer(inputs)
        d = decode(out, self.config.top_k, self.config.score_threshold)
        boxes = lb.boxes_to_image(d.boxes)
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        keep = ((boxes[:, 2] - boxes[:, 0]) >= self.config.min_box_px) & \
               ((boxes[:, 3] - boxes[:, 1]) >= self.config.min_box_px)
        return Detections(boxes[keep], d.scores[keep], d.classes[keep], embeddings=d.embeddings[keep],
                          positions=None, distances=d.distances[keep])


def load_detector(path: str = "config/network.yaml", section_name: str = "inference") -> Detector:
    """Build backend + detector from the ``inference`` section of config/network.yaml."""
    from tracker.backends import BackendConfig, create_backend
    from tracker.common.config import ConfigError, from_mapping, load_yaml, section

    data = section(load_yaml(path), section_name, path)
    unknown = set(data) - {"model_path", "backend", "detector"}
    if unknown:
        raise ConfigError(f"{section_name}: unknown keys {sorted(unknown)}; valid: backend, detector, model_path")
    if "model_path" not in data:
        raise ConfigError(f"{section_name}.model_path: required key is missing")
    backend = create_backend(from_mapping(BackendConfig, data.get("backend", {}), where=f"{section_name}.backend"),
                             data["model_path"])
    return Detector(backend, from_mapping(DetectorConfig, data.get("detector", {}), where=f"{section_name}.detector"))
