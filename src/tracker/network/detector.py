"""Detector: registered images in, ``tracker.core.Detections`` out, through any backend (torch-free).

    det = make_detector({"order": ["onnxruntime"]}, {"score_threshold": 0.3}, "models/embedded.onnx")  # .factory
    detections = det.detect(rgb, thermal, "mono16", depth)   # any of them may be None
    info = det.describe()                                     # backend, device, classes, input size, ...

Images must be registered to the RGB camera at RGB resolution (tracker.pipeline.registration). The detector
letterboxes them to the network input and normalises them with the functions training uses
(tracker.network.inputs), with the input size, stride, normalisation (thermal channels included: a 1-channel
model gets the percentile-normalised channel, a 2-channel one also the relative-kelvin channel) and class names
of the model's metadata JSON; it sets the modality flags from what is present, runs the backend, takes the
NMS-free CenterNet peaks (score threshold, top-K) and maps the boxes back to RGB pixels. When the metadata has a
score calibration (tracker-calibrate, tracker.network.calibration) the scores are estimated precisions and
``score_threshold`` is on that scale (``score_scale: calibrated``; checked against the model on construction).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.backends import ModelError
from tracker.common.config import ConfigError, param
from tracker.core.types import Detections

from .calibration import SCORE_SCALES, CalibrationError, check_score_scale, model_calibration
from .decode import decode
from .info import DetectorInfo
from .inputs import encode_inputs, letterbox_images
from .preprocess import Letterbox, NormalisationConfig

#: metadata keys the detector reads (tracker-export writes them all)
DETECTOR_META = ("input_width", "input_height", "stride", "class_names", "embedding_dim", "modalities",
                 "normalisation", "version_hash")


@dataclass(frozen=True)
class DetectorConfig:
    score_threshold: float = param(0.3, ge=0.0, le=1.0, doc="minimum detection score (on the score_scale)")
    top_k: int = param(100, unit="detections", ge=1, doc="at most this many peaks per frame")
    min_box_px: float = param(2.0, unit="px", ge=0.0, doc="drop boxes narrower or lower than this (RGB px)")
    score_scale: str = param("raw", choices=SCORE_SCALES,
                             doc="scale of every score threshold of the node (this one and tracker.classes.*, "
                                 "tracker.embedding_min_score): raw heatmap scores, or calibrated (estimated "
                                 "precision; the model's metadata must have a calibration). A model whose "
                                 "metadata has a calibration needs calibrated, one without needs raw")


class Detector:
    def __init__(self, backend, config: DetectorConfig | None = None, model_path: str = ""):
        """``backend``: anything with ``meta.data`` (the metadata JSON dict), ``name``, ``device`` and
        ``infer``. Raises ModelError when the metadata lacks what the detector needs."""
        self.backend = backend
        self.config = config or DetectorConfig()
        self.model_path = str(model_path)
        meta = backend.meta.data
        missing = [k for k in DETECTOR_META if k not in meta]
        if missing:
            raise ModelError(f"model metadata lacks {missing} (re-export the model with tracker-export)")
        self.width, self.height = int(meta["input_width"]), int(meta["input_height"])
        self.stride = int(meta["stride"])
        self.class_names = tuple(meta["class_names"])
        self.embedding_dim = int(meta["embedding_dim"])
        self.modalities = tuple(meta.get("training", {}).get("modalities") or meta["modalities"])
        self.version_hash = str(meta["version_hash"])
        self.trained_registration = (meta.get("training") or {}).get("registration")
        try:
            self.normalisation = NormalisationConfig.from_meta(meta["normalisation"])
        except ConfigError as e:
            raise ModelError(f"model metadata: {e}") from e
        thermal_shape = meta.get("inputs", {}).get("thermal")
        if thermal_shape is not None and int(thermal_shape[1]) != self.normalisation.thermal_channels:
            raise ModelError(f"model metadata: input thermal {list(thermal_shape)} has {thermal_shape[1]} channels, "
                             f"normalisation.thermal.channels says {self.normalisation.thermal_channels}")
        try:
            self.calibration = model_calibration(meta)  # None: raw scores, decoded exactly as before
        except CalibrationError as e:
            raise ModelError(f"model metadata: {e}") from e
        check_score_scale(self.config.score_scale, self.calibration)

    def close(self) -> None:
        """Release the backend (engine, session, device buffers); the detector is unusable afterwards."""
        self.backend.close()

    def describe(self) -> DetectorInfo:
        return DetectorInfo(backend=str(self.backend.name), device=str(self.backend.device), model_path=self.model_path,
                            class_names=self.class_names, input_width=self.width, input_height=self.height,
                            stride=self.stride, modalities=self.modalities, version_hash=self.version_hash,
                            scores_calibrated=self.calibration is not None,
                            trained_registration=self.trained_registration)

    def preprocess(self, rgb, thermal, thermal_encoding, depth) -> tuple[dict, Letterbox, tuple[int, int]]:
        """Batched (1, ...) network inputs, the letterbox, and the RGB image size (w, h)."""
        present = [a for a in (rgb, thermal, depth) if a is not None]
        if not present:
            raise ValueError("detect() needs at least one of rgb, thermal, depth")
        h, w = present[0].shape[:2]
        for name, a in (("rgb", rgb), ("thermal", thermal), ("depth", depth)):
            if a is not None and a.shape[:2] != (h, w):
                raise ValueError(f"{name} is {a.shape[1]}x{a.shape[0]}, expected {w}x{h}: register thermal and "
                                 "depth to the RGB camera first")
        lb = Letterbox.fit(w, h, self.width, self.height)
        rgb_l, thermal_l, depth_l = letterbox_images(lb, rgb, thermal, depth)
        inp = encode_inputs(rgb_l, thermal_l, thermal_encoding, depth_l, self.normalisation)
        return {k: v[None] for k, v in inp.items()}, lb, (w, h)

    def detect(self, rgb=None, thermal=None, thermal_encoding: str | None = "mono16", depth=None) -> Detections:
        inputs, lb, (w, h) = self.preprocess(rgb, thermal, thermal_encoding, depth)
        out = self.backend.infer(inputs)
        cal, thr = self.calibration, self.config.score_threshold
        if cal is None:
            d = decode(out, self.config.top_k, thr, stride=self.stride)
        else:  # decoded on raw scores at each class's raw threshold (the inverse map), then calibrated
            d = cal.calibrate_decoded(decode(out, self.config.top_k, float(cal.raw_thresholds(thr).min()),
                                             stride=self.stride), thr)
        boxes = lb.boxes_to_image(d.boxes)
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        keep = ((boxes[:, 2] - boxes[:, 0]) >= self.config.min_box_px) & \
               ((boxes[:, 3] - boxes[:, 1]) >= self.config.min_box_px)
        return Detections(boxes[keep], d.scores[keep], d.classes[keep], embeddings=d.embeddings[keep],
                          positions=None, distances=d.distances[keep])
