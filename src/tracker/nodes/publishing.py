"""The tracker node's outputs: one publisher per output topic, and one FrameResult published on all of them.

Every message of a frame carries the source RGB image's stamp; /tracker/tracks is published first (the lockstep
player waits for it). The debug image shows each camera's state as it was for this frame.
"""
from __future__ import annotations

from typing import Mapping

from sensor_msgs.msg import Image

from tracker.data.contract import OUTPUT_TYPES
from tracker.pipeline.health import MODALITY_OK, MODALITY_SILENT, Availability, ModalityStatus

from . import conversions as conv
from . import qos as qosmod
from .config import NodeConfig
from .debug_image import draw


def frame_status(status: Mapping[str, ModalityStatus], missing: frozenset) -> dict[str, ModalityStatus]:
    """The inputs' status for one frame: an input left out of this set is silent for it, an input present in
    it is not (even if it went silent since)."""
    out = {}
    for cam, st in status.items():
        if cam in missing:
            out[cam] = MODALITY_SILENT
        elif st.state is Availability.SILENT:
            out[cam] = MODALITY_OK
        else:
            out[cam] = st
    return out


class OutputPublisher:
    """Lifecycle publishers of every enabled output, plus /diagnostics (a plain publisher: it reports while
    inactive too). Built on configure, destroyed on cleanup."""

    def __init__(self, node, cfg: NodeConfig, class_names: tuple[str, ...]):
        self._node = node
        self._cfg = cfg
        self._class_names = tuple(class_names)
        enabled = {"markers": cfg.node.markers, "debug_image": cfg.node.debug_image}
        out_qos = qosmod.profile(cfg.qos.outputs)
        topics = cfg.topics.outputs()
        self._pubs = {key: node.create_lifecycle_publisher(conv.msg_class(typ), topics[key], out_qos)
                      for key, typ in OUTPUT_TYPES.items() if key != "diagnostics" and enabled.get(key, True)}
        self._diagnostics = node.create_publisher(conv.msg_class(OUTPUT_TYPES["diagnostics"]), topics["diagnostics"],
                                                  qosmod.profile(cfg.qos.outputs))
        self._enabled: dict[str, bool] = {}  # runtime switches (ROS parameters) of the optional outputs
        self.frames = 0

    def created(self, key: str) -> bool:
        """Whether the output ``key`` has a publisher (optional ones only when enabled at configure)."""
        return key in self._pubs

    def set_enabled(self, key: str, on: bool) -> None:
        """Switch an optional output (markers, debug_image) created at configure on or off at runtime."""
        self._enabled[key] = on

    def publish(self, res, rgb_msg: Image, rgb, status: Mapping[str, ModalityStatus],
                latency_ms: float | None) -> None:
        """All outputs of one processed frame (``res``: tracker.pipeline.processor.FrameResult)."""
        stamp = rgb_msg.header.stamp
        cam_frame = rgb_msg.header.frame_id or res.frame_id
        out_frame = res.frame_id or cam_frame
        ptracks = res.published(self._cfg.processor.output)
        p = self._pubs
        quat = res.output.quat() if res.output is not None else (0.0, 0.0, 0.0, 1.0)  # RGB optical axes in out_frame
        p["tracks"].publish(conv.tracks_3d_msg(ptracks, res.sizes, stamp, out_frame, quat))
        p["tracks_2d"].publish(conv.tracks_2d_msg(ptracks, stamp, cam_frame))
        p["track_array"].publish(conv.track_array_msg(res.tracks, res.sizes, stamp, out_frame))
        p["detections_2d"].publish(conv.detections_2d_msg(res.detections, self._class_names, stamp, cam_frame))
        if "markers" in p and self._enabled.get("markers", True):
            p["markers"].publish(conv.markers_msg(ptracks, res.sizes, stamp, out_frame, self._cfg.markers))
        self.frames += 1
        if "debug_image" in p and self._enabled.get("debug_image", True) \
                and self.frames % self._cfg.node.debug_every_n == 0:
            img = draw(rgb, ptracks, res.detections, status, res.stamp, latency_ms)
            p["debug_image"].publish(conv.array_to_image(img, "rgb8", stamp, cam_frame))

    def publish_diagnostics(self, statuses) -> None:
        node = self._node
        msg = conv.diagnostics_msg(statuses, node.get_clock().now().to_msg(), node.get_name(),
                                   node.get_fully_qualified_name())
        self._diagnostics.publish(msg)

    def destroy(self) -> None:
        for p in self._pubs.values():
            self._node.destroy_lifecycle_publisher(p)
        self._node.destroy_publisher(self._diagnostics)
        self._pubs = {}
