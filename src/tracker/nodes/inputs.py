"""Per camera input: the subscription (sensor_msgs/Image or CompressedImage, on the topic image_transport would
use) and the decoding of what arrives on it.

The transport of each camera comes from the ``inputs:`` YAML section (tracker.nodes.input_config). A compressed
input is subscribed on ``<image topic>/<transport>``, where the image topic is resolved first (remapping,
namespace), as image_transport does, so ``--remap color_image:=/my/rgb`` moves ``/my/rgb/compressed`` too.
Decoding (tracker.data.messages.decode_image) tells Image and CompressedImage apart by their fields; a bad
compressed message raises EncodingError like a bad raw image (the frame goes on without that input).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
from sensor_msgs.msg import CompressedImage, Image

from tracker.data.encodings import EncodingError
from tracker.data.messages import decode_image

from .input_config import InputsSection

__all__ = ["EncodingError", "ImageSubscription", "image_subscription", "image_subscriptions", "decode_input",
           "inputs_section"]


@dataclass(frozen=True)
class ImageSubscription:
    """What the node subscribes to for one camera's images."""

    camera: str
    msg_type: type  # sensor_msgs.msg.Image or CompressedImage
    topic: str
    transport: str


def inputs_section(cfg) -> InputsSection:
    """The node config's ``inputs:`` section (every camera raw unless the YAML says otherwise)."""
    return cfg.inputs


def image_subscription(camera: str, image_topic: str, inputs: InputsSection,
                       resolve: Callable[[str], str] = str) -> ImageSubscription:
    """Subscription of ``camera`` whose raw images are on ``image_topic``; ``resolve`` expands a topic name
    (rclpy's ``Node.resolve_topic_name``) before the transport suffix is appended."""
    t = inputs.of(camera)
    if t.transport == "raw":
        return ImageSubscription(camera, Image, image_topic, t.transport)
    topic = t.topic or f"{resolve(image_topic).rstrip('/')}/{t.transport}"
    return ImageSubscription(camera, CompressedImage, topic, t.transport)


def image_subscriptions(cfg, cameras: Iterable[str], resolve: Callable[[str], str] = str
                        ) -> list[ImageSubscription]:
    """One :class:`ImageSubscription` per camera of the node config ``cfg`` (its ``topics`` and ``inputs``)."""
    inputs = inputs_section(cfg)
    return [image_subscription(c, cfg.topics.image(c), inputs, resolve) for c in cameras]


def decode_input(camera: str, msg) -> tuple[np.ndarray, str]:
    """(array, encoding) of an Image or CompressedImage of ``camera`` (tracker.data.messages.decode_image);
    raises EncodingError."""
    return decode_image(msg, camera)
