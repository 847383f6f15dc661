"""The tracker node's ``inputs:`` YAML section: how each camera's images arrive (image_transport's transports).

    inputs:
      color: {transport: compressed}        # sensor_msgs/CompressedImage on /camera/color/image_raw/compressed
      depth: {transport: compressedDepth}   # on /camera/depth/image_raw/compressedDepth

ROS-free (only names and choices); tracker.nodes.inputs turns it into subscriptions and decoding.
"""
from __future__ import annotations

from dataclasses import dataclass

from tracker.common.config import param

#: image_transport transport names; the compressed ones are subscribed on ``<image topic>/<transport>``
TRANSPORTS = ("raw", "compressed", "compressedDepth")
DEPTH_ONLY_TRANSPORTS = ("compressedDepth",)


@dataclass(frozen=True)
class InputTransport:
    """One camera's image transport."""

    transport: str = param("raw", choices=TRANSPORTS,
                           doc="raw: sensor_msgs/Image on topics.<camera>_image; compressed: "
                               "sensor_msgs/CompressedImage (JPEG/PNG; mono16 thermal and depth need PNG) on "
                               "<image topic>/compressed; compressedDepth (depth only): "
                               "compressed_depth_image_transport's PNG on <image topic>/compressedDepth")
    topic: str = param("", doc="topic of the compressed images; empty: <image topic>/<transport> as "
                               "image_transport names it (the image topic after remapping)")

    def validate(self) -> None:
        if self.topic and self.transport == "raw":
            raise ValueError(f"topic {self.topic!r}: only a compressed transport takes a topic (raw images are "
                             "on topics.<camera>_image)")
        if " " in self.topic:
            raise ValueError(f"topic {self.topic!r} is not a valid topic name")


@dataclass(frozen=True)
class InputsSection:
    """Per camera (color, thermal, depth), how its images arrive; camera_info is always raw."""

    color: InputTransport = param(default_factory=InputTransport, doc="RGB images")
    thermal: InputTransport = param(default_factory=InputTransport, doc="thermal images (mono16 needs PNG)")
    depth: InputTransport = param(default_factory=InputTransport, doc="depth images")

    def validate(self) -> None:
        for cam in ("color", "thermal"):
            t = self.of(cam).transport
            if t in DEPTH_ONLY_TRANSPORTS:
                raise ValueError(f"{cam}.transport: {t} is for depth images only; use compressed")

    def of(self, camera: str) -> InputTransport:
        return getattr(self, camera)
