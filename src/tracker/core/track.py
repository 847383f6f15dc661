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

    _COLUMNS = ("ids", "state", "class_id", "score", "hits", "born", "last_seen", "det_index", "modalities")

    def keep(self, mask: np.ndarray) -> None:
        """Drop the rows where mask is False."""
        if mask.all():
            return
        for name in self._COLUMNS:
            setattr(self, name, getattr(self, name)[mask])
        self.motion = self.motion.take(mask)
        self.memory.keep(mask)

    def append(self, ids: np.ndarray, state: TrackState, class_id: np.ndarray, score: np.ndarray,
               stamp: float, det_index: np.ndarray, modalities: frozenset, motion: MotionState,
               embeddings: np.ndarray | None, has_embedding: np.ndarray) -> None:
        k = len(ids)
        mods = np.empty(k, object)
        mods[:] = [modalities] * k
        new = {"ids": ids, "state": np.full(k, int(state), np.int8), "class_id": class_id, "score": score,
               "hits": np.ones(k, np.int64), "born": np.full(k, stamp), "last_seen": np.full(k, stamp),
               "det_index": det_index, "modalities": mods}
        for name in self._COLUMNS:
            setattr(self, name, np.concatenate([getattr(self, name), new[name]]))
        self.motion = self.motion.concat(motion)
        self.memory.append(embeddings, has_embedding)
