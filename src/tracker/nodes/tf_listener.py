"""/tf and /tf_static into the processor's transform buffer (tracker.common.tf_buffer): the node's tf2 listener.

tf2_ros is not installable with the pip ROS wheels, so the node listens itself, with the QoS of tf2_ros's
TransformListener: /tf reliable, volatile, keep last 100; /tf_static reliable, transient local (latched). The
callbacks run on the executor thread and only write the buffer (thread-safe); the frame worker reads it. A new
/tf_static edge also calls ``on_static`` (the node re-chains the camera extrinsics).
"""
from __future__ import annotations

from typing import Callable

from tf2_msgs.msg import TFMessage

from tracker.common.tf_buffer import TfBuffer
from tracker.data.messages import tf_transforms

from . import qos as qosmod


class TfListener:
    """Subscriptions to the ``topics.tf`` and ``topics.tf_static`` topics, filling ``buffer``."""

    def __init__(self, buffer: TfBuffer, on_static: Callable[[], None]):
        self.buffer = buffer
        self._on_static = on_static
        self.received = {"tf": 0, "tf_static": 0}

    @staticmethod
    def subscribe(node, topics, on_tf: Callable, on_tf_static: Callable) -> list:
        """The two subscriptions, calling ``on_tf`` / ``on_tf_static`` (the node's callbacks, which hand the
        message to :meth:`on_tf` / :meth:`on_tf_static`); the caller destroys them on deactivate."""
        return [node.create_subscription(TFMessage, topics.tf_static, on_tf_static, qosmod.latched()),
                node.create_subscription(TFMessage, topics.tf, on_tf, qosmod.tf_listener())]

    def on_tf(self, msg) -> None:
        self.received["tf"] += 1
        self.buffer.add_transforms(tf_transforms(msg), static=False)

    def on_tf_static(self, msg) -> None:
        self.received["tf_static"] += 1
        self.buffer.add_transforms(tf_transforms(msg), static=True)
        self._on_static()
