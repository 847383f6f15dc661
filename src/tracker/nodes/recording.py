"""A recording session in this process, for harnesses that drive the node suite (tracker.tools.replay).

The ROS side of a replay: an rclpy context (initialised here unless one is already active), one node carrying a
:class:`~tracker.nodes.recorder.Recorder` that writes the tracker's outputs into a bag, spinning, and the graph
queries that tell when the tracker node is up. Everything else about a replay (processes, statistics) is ROS-free
and lives in the tool.
"""
from __future__ import annotations

from pathlib import Path

import rclpy

from .recorder import Recorder, RecorderConfig


def context_active() -> bool:
    """Whether rclpy is initialised in this process (settings read at init, e.g. Fast DDS profiles, are fixed)."""
    return rclpy.ok()


class RecordingSession:
    """``with RecordingSession(out_bag, cfg) as s: s.spin(0.05) ...``: records until closed."""

    def __init__(self, out_bag: str | Path, cfg: RecorderConfig, node_name: str = "replay_recorder"):
        self._own_init = not rclpy.ok()
        if self._own_init:
            rclpy.init()
        self.node = rclpy.create_node(node_name)
        self.recorder = Recorder(self.node, out_bag, cfg)

    def spin(self, timeout_s: float) -> None:
        """Handle pending messages, waiting at most ``timeout_s`` for one."""
        rclpy.spin_once(self.node, timeout_sec=timeout_s)

    def publishers(self, topic: str) -> int:
        return self.node.count_publishers(topic)

    def subscribers(self, topic: str) -> int:
        return self.node.count_subscribers(topic)

    def close(self) -> None:
        """Close the bag, destroy the node, shut rclpy down if this session initialised it."""
        self.recorder.close()
        self.node.destroy_node()
        if self._own_init and rclpy.ok():
            rclpy.shutdown()

    def __enter__(self) -> "RecordingSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
