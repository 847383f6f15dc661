"""The network's input arrays from registered images: the one path training and inference share.

    lb = Letterbox.fit(w, h, input_width, input_height)
    rgb, thermal, depth = letterbox_images(lb, rgb, thermal, depth)     # registered, RGB resolution -> input size
    arrays = encode_inputs(rgb, thermal, thermal_encoding, depth, norm) # (C, H, W) float32 + modality flags

``Detector.preprocess`` runs both steps per frame; the training dataset (``tracker.network.dataset``) runs
``letterbox_images`` once when it caches a bag (thermal kept as raw counts, depth in metres) and
``encode_inputs`` per sample, after its augmentation. A modality that is None is all zeros with flag 0.
Thermal has ``norm.thermal_channels`` channels (preprocess.encode_thermal): the model's metadata says how many.
"""
from __future__ import annotations

import numpy as np

from .preprocess import DEFAULT_NORMALISATION, Letterbox, NormalisationConfig, encode_depth, encode_thermal, rgb_tensor


def letterbox_images(lb: Letterbox, rgb=None, thermal=None, depth=None):
    """(rgb uint8 (H, W, 3), thermal raw counts in its own dtype (H, W), depth metres float32 (H, W), NaN = no
    reading) at the network input size; None stays None. Padding: 0 for RGB and thermal (0 = no thermal
    reading), NaN for depth."""
    return (lb.apply(np.asarray(rgb, np.uint8)) if rgb is not None else None,
            lb.apply(np.asarray(thermal)) if thermal is not None else None,
            lb.apply(np.asarray(depth, np.float32), nearest=True, fill=np.nan) if depth is not None else None)


def encode_inputs(rgb=None, thermal=None, thermal_encoding: str | None = "mono16", depth=None,
                  norm: NormalisationConfig = DEFAULT_NORMALISATION, thermal_percentiles=None,
                  shape: tuple[int, int] | None = None, thermal_relative_gain: float = 1.0) -> dict:
    """Letterboxed images -> {"rgb" (3,H,W), "thermal" (C,H,W), "depth" (2,H,W), "modality" (3,)} float32,
    C = ``norm.thermal_channels``. Thermal pixels with raw value 0 (outside the thermal view, letterbox padding)
    are not valid: they are 0 and take no part in the percentiles and median; ``thermal_percentiles`` overrides
    the config's, ``thermal_relative_gain`` scales the relative channel's kelvin differences (augmentation).
    ``shape`` (H, W) is only needed when every image is None (all-zero inputs)."""
    present = [a for a in (rgb, thermal, depth) if a is not None]
    if not present and shape is None:
        raise ValueError("the network needs at least one of rgb, thermal, depth")
    h, w = present[0].shape[:2] if present else shape
    out = {"rgb": np.zeros((3, h, w), np.float32), "thermal": np.zeros((norm.thermal_channels, h, w), np.float32),
           "depth": np.zeros((2, h, w), np.float32), "modality": np.zeros(3, np.float32)}
    if rgb is not None:
        out["rgb"] = rgb_tensor(rgb)
        out["modality"][0] = 1
    if thermal is not None:
        out["thermal"] = encode_thermal(thermal, thermal_encoding, norm, thermal_percentiles, thermal_relative_gain)
        out["modality"][1] = 1
    if depth is not None:
        out["depth"] = encode_depth(depth, norm)
        out["modality"][2] = 1
    return out
