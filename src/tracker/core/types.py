"""Data crossing the tracker core's boundary: one frame of detections in, a list of tracks out."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np


class TrackState(IntEnum):
    """Life cycle: TENTATIVE (born, not yet min_hits) -> CONFIRMED -> LOST (unseen) -> deleted."""

    TENTATIVE = 0
    CONFIRMED = 1
    LOST = 2


def _array(value, shape_tail: tuple, dtype, name: str, n: int | None) -> np.ndarray:
    a = np.asarray(value, dtype=dtype)
    expected_ndim = 1 + len(shape_tail)
    if a.size == 0 and a.ndim != expected_ndim:
        a = a.reshape((0,) + shape_tail)
    if a.ndim != expected_ndim or (shape_tail and a.shape[1:] != shape_tail):
        tail = "".join(f", {s}" for s in shape_tail)
        raise ValueError(f"Detections.{name}: expected shape (N{tail}), got {a.shape}")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"Detections.{name}: {a.shape[0]} rows but boxes has {n}")
    return a


@dataclass(frozen=True)
class Detections:
    """One frame of detections, all in the RGB camera.

    boxes       (N, 4) float, xyxy pixels
    scores      (N,) float in [0, 1]
    classes     (N,) int, index into ``TrackerConfig.class_names``
    embeddings  (N, D) float or None: appearance vectors (any scale; normalised by the tracker)
    positions   (N, 3) float or None: camera-frame (optical: x right, y down, z forward) metres; a NaN row
                means no 3D for that detection (no depth there)
    distances   (N,) float or None: depth-head range in metres along the ray through the box centre; NaN
                where none. The tracker does not read it: tracker.pipeline.depth3d turns it into ``positions``
                (where depth is missing and ``depth3d.use_depth_head`` is on).
    """

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray
    embeddings: np.ndarray | None = None
    positions: np.ndarray | None = None
    distances: np.ndarray | None = None

    def __post_init__(self):
        boxes = _array(self.boxes, (4,), np.float64, "boxes", None)
        n = boxes.shape[0]
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "scores", _array(self.scores, (), np.float64, "scores", n))
        classes = np.asarray(self.classes)
        if classes.size and not np.all(np.equal(np.mod(classes, 1), 0)):
            raise ValueError("Detections.classes: expected integer class indices")
        object.__setattr__(self, "classes", _array(classes, (), np.int64, "classes", n))
        if self.embeddings is not None:
            e = np.asarray(self.embeddings, dtype=np.float32)
            if e.ndim != 2 or e.shape[0] != n:
                raise ValueError(f"Detections.embeddings: expected shape ({n}, D), got {e.shape}")
            object.__setattr__(self, "embeddings", e)
        if self.positions is not None:
            object.__setattr__(self, "positions", _array(self.positions, (3,), np.float64, "positions", n))
        if self.distances is not None:
            object.__setattr__(self, "distances", _array(self.distances, (), np.float64, "distances", n))

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    @staticmethod
    def empty(embedding_dim: int | None = None) -> "Detections":
        """A frame with no detections (call the tracker with it so that tracks age)."""
        emb = None if embedding_dim is None else np.zeros((0, embedding_dim), np.float32)
        return Detections(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64), embeddings=emb)


@dataclass(slots=True)
class Track:
    """One live track as the tracker reports it after a frame (a plain record, rebuilt every frame).

    box: (4,) xyxy pixels (Kalman estimate); position: (3,) camera-frame metres, or None when the track never
    had 3D; velocity: (3,) m/s in the current camera frame (zeros without 3D); covariance: (6, 6) of
    (position, velocity) in m and m/s; age: seconds since birth; time_since_update: seconds since the last
    matched detection; det_index: row of this frame's Detections the track was updated with, -1 if none;
    modalities: the modalities available in the frame of the last update.
    """

    track_id: int
    state: TrackState
    box: np.ndarray
    position: np.ndarray | None
    velocity: np.ndarray
    covariance: np.ndarray
    class_id: int
    class_name: str
    score: float
    age: float
    time_since_update: float
    hits: int
    det_index: int
    modalities: frozenset = field(default_factory=frozenset)

    @property
    def is_confirmed(self) -> bool:
        return self.state == TrackState.CONFIRMED
