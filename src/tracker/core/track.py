"""The live track table: one row per track, stored column-wise (struct of arrays) so that every stage works
on all tracks at once. Rows stay in birth order, which is id order."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.core.embedding_memory import EmbeddingMemory
from tracker.core.motion import MotionState
from tracker.core.types import TrackState


@dataclass
class TrackTable:
    ids: np.ndarray  # (n,) int64, unique within a tracker run
    state: np.ndarray  # (n,) int8 TrackState
    class_id: np.ndarray  # (n,) int64
    score: np.ndarray  # (n,) score of the last matched detection
    hits: np.ndarray  # (n,) matched detections so far
    born: np.ndarray  # (n,) stamp of birth, s
    last_seen: np.ndarray  # (n,) stamp of the last matched detection, s
    det_index: np.ndarray  # (n,) detection row matched this frame, -1 if none
    modalities: np.ndarray  # (n,) object: frozenset of the last matched frame
    motion: MotionState
    memory: EmbeddingMemory

    @staticmethod
    def empty(memory: EmbeddingMemory) -> "TrackTable":
        return TrackTable(np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int64), np.zeros(0),
                          np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.int64),
                          np.empty(0, object), MotionState.empty(), memory)

    def __len__(self) -> int:
        return len(self.ids)

    def _columns(self) -> list[np.ndarray]:
        """The per-track columns, in field order (motion and memory keep their own rows)."""
        return [self.ids, self.state, self.class_id, self.score, self.hits, self.born, self.last_seen,
                self.det_index, self.modalities]

    def _set_columns(self, cols: list[np.ndarray]) -> None:
        (self.ids, self.state, self.class_id, self.score, self.hits, self.born, self.last_seen, self.det_index,
         self.modalities) = cols

    def keep(self, mask: np.ndarray) -> None:
        """Drop the rows where mask is False."""
        if mask.all():
            return
        self._set_columns([c[mask] for c in self._columns()])
        self.motion = self.motion.take(mask)
        self.memory.keep(mask)

    def append(self, ids: np.ndarray, state: TrackState, class_id: np.ndarray, score: np.ndarray,
               stamp: float, det_index: np.ndarray, modalities: frozenset, motion: MotionState,
               embeddings: np.ndarray | None, has_embedding: np.ndarray) -> None:
        k = len(ids)
        mods = np.empty(k, object)
        mods[:] = [modalities] * k
        new = [ids, np.full(k, int(state), np.int8), class_id, score, np.ones(k, np.int64), np.full(k, stamp),
               np.full(k, stamp), det_index, mods]
        self._set_columns([np.concatenate([c, n]) for c, n in zip(self._columns(), new)])
        self.motion = self.motion.concat(motion)
        self.memory.append(embeddings, has_embedding)
