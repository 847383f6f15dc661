"""A rosbags typestore with the ROS 2 standard messages plus our interface packages registered.

The standard types (sensor_msgs, std_msgs, geometry_msgs, tf2_msgs) come from rosbags' newest ROS 2 store;
vision_msgs (4.x layout), tf2_msgs and tracker_msgs are registered from the .msg text in ``msg/<pkg>/msg``
so that bags written here carry the same definitions as a ROS 2 install.
"""
from __future__ import annotations

from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg
from rosbags.typesys import get_typestore as _rosbags_typestore

MSG_PACKAGES = ("vision_msgs", "tf2_msgs", "tracker_msgs")


def _store_name() -> Stores:
    for name in ("ROS2_KILTED", "ROS2_JAZZY", "ROS2_HUMBLE"):
        if hasattr(Stores, name):
            return getattr(Stores, name)
    return Stores.LATEST


def msg_root() -> Path:
    """The ``msg`` folder of the repository (or of the installed share/tracker: tracker.common.paths)."""
    from tracker.common.paths import data_root
    cand = data_root() / "msg"
    if (cand / "vision_msgs" / "msg").is_dir():
        return cand
    raise FileNotFoundError(f"message definitions not found: expected {cand}/vision_msgs/msg/*.msg")


def get_typestore():
    """A fresh typestore (ROS 2 standard types + vision_msgs, tf2_msgs, tracker_msgs)."""
    store = _rosbags_typestore(_store_name())
    root = msg_root()
    types = {}
    for pkg in MSG_PACKAGES:
        for f in sorted((root / pkg / "msg").glob("*.msg")):
            types.update(get_types_from_msg(f.read_text(), f"{pkg}/msg/{f.stem}"))
    store.register(types)
    return store
