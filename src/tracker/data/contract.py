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
#: what readers (BagReader, the tracker node) decode per camera: the contract's encodings plus tolerated aliases
#: (mono8 colour is replicated to 3 channels; 16UC1 thermal is read as raw counts; mono16 depth as millimetres)
ACCEPTED_ENCODINGS = {"color": COLOR_ENCODINGS + ("mono8",), "thermal": THERMAL_ENCODINGS + ("16UC1",),
                      "depth": DEPTH_ENCODINGS + ("mono16",)}

#: valid depth readings in metres: a depth pixel outside [DEPTH_MIN_M, DEPTH_MAX_M] is "no data" (16UC1
#: saturates at 65.535 m). Consumers (registration, depth3d, network input encoding) take their defaults from here.
DEPTH_MIN_M = 0.1
DEPTH_MAX_M = 60.0

DEFAULT_FRAMES = {
    "color": "camera_color_optical_frame",
    "thermal": "camera_thermal_optical_frame",
    "depth": "camera_depth_optical_frame",
}


#: topics that are absolute in every namespace (ROS conventions: one /tf and /tf_static tree and one
#: /diagnostics aggregator per robot graph); the tracker node's other names are relative to its namespace
#: (tracker.nodes.config.node_topic), so a node in namespace robot1 reads /robot1/camera/... and writes
#: /robot1/tracker/..., and in the root namespace the names below.
GLOBAL_TOPICS = ("/tf", "/tf_static", "/diagnostics")


@dataclass(frozen=True)
class Topics:
    """Topic names of a contract bag, fully qualified as in a bag recorded in the root namespace; every name can
    be overridden. The one source of the input topic names (the node's ``topics:`` defaults are these made
    relative, the runner's remap arguments and the player take them from here)."""

    color_image: str = "/camera/color/image_raw"
    color_info: str = "/camera/color/camera_info"
    thermal_image: str = "/camera/thermal/image_raw"
    thermal_info: str = "/camera/thermal/camera_info"
    depth_image: str = "/camera/depth/image_raw"
    depth_info: str = "/camera/depth/camera_info"
    tf_static: str = "/tf_static"
    tf: str = "/tf"  # time-stamped transforms: the simulator's odom -> colour optical frame of a moving rig
    gt_tracks: str = "/ground_truth/tracks"
    gt_tracks_2d: str = "/ground_truth/tracks_2d"

    def image(self, camera: str) -> str:
        """Image topic of a camera in :data:`CAMERAS`."""
        return getattr(self, f"{_check_camera(camera)}_image")

    def info(self, camera: str) -> str:
        """camera_info topic of a camera in :data:`CAMERAS`."""
        return getattr(self, f"{_check_camera(camera)}_info")

    def inputs(self) -> dict[str, str]:
        """{field name: topic} of the sensor inputs (image and camera_info of every camera), in CAMERAS order."""
        return {f"{c}_{kind}": getattr(self, f"{c}_{kind}") for c in CAMERAS for kind in ("image", "info")}


@dataclass(frozen=True)
class OutputTopics:
    """Topic names the tracker node publishes, fully qualified for a node in the root namespace (what the
    recorder records and tracker-eval reads back; the node's own defaults are these made relative)."""

    tracks: str = "/tracker/tracks"
    tracks_2d: str = "/tracker/tracks_2d"
    track_array: str = "/tracker/track_array"
    detections_2d: str = "/tracker/detections_2d"
    markers: str = "/tracker/markers"
    debug_image: str = "/tracker/debug_image"
    diagnostics: str = "/diagnostics"

    def types(self) -> dict[str, str]:
        """{topic: message type} of every output."""
        return {getattr(self, k): t for k, t in OUTPUT_TYPES.items()}


# message types (rosbag2 / rosidl names)
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
TF_MESSAGE = "tf2_msgs/msg/TFMessage"
DETECTION_3D_ARRAY = "vision_msgs/msg/Detection3DArray"
DETECTION_2D_ARRAY = "vision_msgs/msg/Detection2DArray"

#: message type of each OutputTopics field
OUTPUT_TYPES = {
    "tracks": DETECTION_3D_ARRAY,
    "tracks_2d": DETECTION_2D_ARRAY,
    "track_array": "tracker_msgs/msg/TrackArray",
    "detections_2d": DETECTION_2D_ARRAY,
    "markers": "visualization_msgs/msg/MarkerArray",
    "debug_image": IMAGE,
    "diagnostics": "diagnostic_msgs/msg/DiagnosticArray",
}


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
