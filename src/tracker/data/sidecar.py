"""The calibration sidecar written beside a simulated bag (``<bag>.calibration.yaml``): the camera entries and
plain-YAML conversion every renderer shares, so tools read one format (docs/data-contract.md)."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from tracker.common.geometry import CameraModel, Transform

from .contract import CAMERAS


def camera_entries(cameras: Mapping[str, CameraModel], extrinsics: Mapping[str, Transform],
                   rates_hz: Mapping[str, float], encodings: Mapping[str, str]) -> dict:
    """{camera: frame_id, size, rate, encoding, K, D and T_color_camera} for every contract camera."""
    out = {}
    for n in CAMERAS:
        m, T = cameras[n], extrinsics[n]
        out[n] = {"frame_id": m.frame_id, "width": m.width, "height": m.height,
                  "rate_hz": rates_hz[n], "encoding": encodings[n],
                  "K": np.asarray(m.K).tolist(), "distortion_model": m.distortion_model,
                  "D": np.asarray(m.D).tolist(),
                  "T_color_camera": {"translation": T.t.tolist(), "quaternion_xyzw": list(T.quat()),
                                     "matrix": T.matrix().tolist()}}
    return out


def plain(x: Any) -> Any:
    """Tuples to lists, recursively, so the YAML has no Python tags."""
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    return x
