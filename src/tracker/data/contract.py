"""Names and conventions of a contract bag (the public interface documented in docs/data-contract.md)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CAMERAS = ("color", "thermal", "depth")
CLASS_NAMES = ("person", "vehicle")

#: counts per kelvin of radiometric ``mono16`` thermal images (0.01 K per count)
THERMAL_COUNTS_PER_KELVIN = 100.0
#: millimetres per count of ``16UC1`` depth images
DEPTH_MM_PER_METRE = 1000.0

THERMAL_ENCODINGS = ("mono16", "mono8")
DEPTH_ENCODINGS = ("16UC1", "32FC1")
COLOR_ENCODINGS = ("rgb8", "bgr8")

DEFAULT_FRAMES = {
    "color": "camera_color_optical_frame",
    "thermal": "camera_thermal_optical_frame",
    "depth": "camera_depth_optical_frame",
}


@dataclass(frozen=True)
class Topics:
    """Topic names of a contract bag; every name can be overridden."""

    color_image: str = "/camera/color/image_raw"
    color_info: str = "/camera/color/camera_info"
    thermal_image: str = "/camera/thermal/image_raw"
    thermal_info: str = "/camera/thermal/camera_info"
    depth_image: str = "/camera/depth/image_raw"
    depth_info: str = "/camera/depth/camera_info"
    tf_static: str = "/tf_static"
    gt_tracks: str = "/ground_truth/tracks"
    gt_tracks_2d: str = "/ground_truth/tracks_2d"

    def image(self, camera: str) -> str:
        """Image topic of a camera in :data:`CAMERAS`."""
        return getattr(self, f"{_check_camera(camera)}_image")

    def info(self, camera: str) -> str:
        """camera_info topic of a camera in :data:`CAMERAS`."""
        return getattr(self, f"{_check_camera(camera)}_info")


def _check_camera(camera: str) -> str:
    if camera not in CAMERAS:
        raise ValueError(f"unknown camera {camera!r}; valid: {', '.join(CAMERAS)}")
    return camera


def counts_to_kelvin(counts):
    """Kelvin of radiometric mono16 thermal counts (kelvin = counts / 100)."""
    return np.asarray(counts, dtype=np.float64) / THERMAL_COUNTS_PER_KELVIN


def kelvin_to_counts(kelvin):
    """mono16 thermal counts (uint16, rounded and clipped) of temperatures in kelvin."""
    c = np.rint(np.asarray(kelvin, dtype=np.float64) * THERMAL_COUNTS_PER_KELVIN)
    return np.clip(c, 0, 65535).astype(np.uint16)
