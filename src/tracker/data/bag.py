"""Opening and iterating rosbag2 bags (MCAP or sqlite3) with rosbags and the suite's typestore (ROS-free).

The one bag-reading layer: :class:`tracker.data.reader.BagReader` (contract bags: cameras, samples),
tracker-eval (output bags) and the player (raw republishing) are built on :class:`Bag`. Writing is
:class:`tracker.data.writer.BagWriter` (typed messages, or serialized bytes with ``write_serialized``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from rosbags.rosbag2 import Reader

from .messages import header_stamp_ns, stamp_to_ns
from .typestore import get_typestore

METADATA = "metadata.yaml"
HEADER_TYPE = "std_msgs/msg/Header"


class BagReadError(ValueError):
    """A bag cannot be opened or one of its messages cannot be decoded."""


def bag_dir(path: str | Path) -> Path:
    """The bag directory of ``path`` (a bag directory, or a file inside one); BagReadError when there is none."""
    p = Path(path)
    if p.is_file() and (p.parent / METADATA).is_file():
        p = p.parent
    if not p.exists():
        raise BagReadError(f"bag not found: {p}")
    if not (p / METADATA).is_file():
        raise BagReadError(f"{p} is not a rosbag2 bag directory (no {METADATA})")
    return p


class Closing:
    """Context manager calling ``close()`` on exit (bags and readers built on them)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Bag(Closing):
    """An open rosbag2 bag: connections per topic, raw and decoded messages in bag order. Context manager."""

    def __init__(self, path: str | Path):
        self.path = bag_dir(path)
        try:
            self._reader = Reader(self.path)
            self._reader.open()
        except Exception as e:  # rosbags raises several types for broken bags
            raise BagReadError(f"cannot open bag {self.path}: {e}") from e
        self.typestore = get_typestore()
        self.connections: dict[str, list] = {}
        for c in self._reader.connections:
            self.connections.setdefault(c.topic, []).append(c)

    def close(self) -> None:
        self._reader.close()

    # contents ---------------------------------------------------------------------------------------------
    @property
    def topics_present(self) -> frozenset:
        """Topics with at least one message."""
        return frozenset(t for t, cs in self.connections.items() if any(c.msgcount for c in cs))

    def msgtype(self, topic: str) -> str:
        """Message type of a topic ('pkg/msg/Name')."""
        return self.connections[topic][0].msgtype

    def has_header(self, topic: str) -> bool:
        """Whether the topic's messages start with a std_msgs/Header (what ``header_stamp_ns`` reads)."""
        first_field = self.typestore.fielddefs[self.msgtype(topic)][1][0]
        return first_field[0] == "header" and first_field[1][1] == HEADER_TYPE

    def count(self, topic: str) -> int:
        """Number of messages on a topic."""
        return int(sum(c.msgcount for c in self.connections.get(topic, [])))

    @property
    def message_count(self) -> int:
        return int(self._reader.message_count)

    @property
    def duration_ns(self) -> int:
        """Bag time between the first and the last message (0 for an empty bag)."""
        return max(0, int(self._reader.duration) - 1) if self.message_count else 0

    # messages ---------------------------------------------------------------------------------------------
    def raw(self, topics: Iterable[str] | None = None) -> Iterator[tuple[object, int, bytes]]:
        """(connection, bag time ns, CDR bytes) of the topics' messages (all topics: None), in bag order."""
        topics = list(self.connections) if topics is None else list(topics)
        conns = [c for t in topics for c in self.connections.get(t, [])]
        if not conns:
            return iter(())
        try:
            return self._reader.messages(connections=conns)
        except Exception as e:
            raise BagReadError(f"{self.path}: cannot read messages: {e}") from e

    def decode(self, raw, conn):
        """Deserialise one message of connection ``conn``."""
        try:
            return self.typestore.deserialize_cdr(raw, conn.msgtype)
        except Exception as e:
            raise BagReadError(f"{self.path}: cannot decode {conn.msgtype} on {conn.topic}: {e}") from e

    def decoded(self, topics: Iterable[str] | None = None) -> Iterator[tuple[str, int, int, object]]:
        """(topic, header stamp ns (bag time for messages without header), bag time ns, message), bag order."""
        for conn, t_bag, raw in self.raw(topics):
            msg = self.decode(raw, conn)
            header = getattr(msg, "header", None)
            yield conn.topic, (stamp_to_ns(header.stamp) if header is not None else int(t_bag)), int(t_bag), msg

    def header_stamps(self, topic: str) -> list[int]:
        """Header stamps (ns) of a topic's messages in bag order, read without deserialising the payloads."""
        try:
            return [header_stamp_ns(raw) for _, _, raw in self.raw([topic])]
        except ValueError as e:
            raise BagReadError(f"{self.path}: {topic}: {e}") from e

    def first(self, topic: str):
        """The first decoded message of a topic, or None."""
        for _, _, _, msg in self.decoded([topic]):
            return msg
        return None
