"""Appearance memory of every track: a smoothed embedding for association and a small bank of recent
embeddings for re-identifying lost tracks. Arrays are per tracker instance (nothing shared)."""
from __future__ import annotations

import numpy as np


def normalize(e: np.ndarray) -> np.ndarray:
    """Unit-length rows (float32); zero rows stay zero."""
    e = np.asarray(e, dtype=np.float32)
    n = np.linalg.norm(e, axis=1, keepdims=True)
    return np.divide(e, n, out=np.zeros_like(e), where=n > 0)


class EmbeddingMemory:
    def __init__(self, momentum: float, bank_size: int):
        self.momentum = float(momentum)
        self.bank_size = int(bank_size)
        self.dim: int | None = None
        self._alloc(0, 0)

    def _alloc(self, n: int, d: int) -> None:
        self.smooth = np.zeros((n, d), np.float32)
        self.has = np.zeros(n, bool)
        self.bank = np.zeros((n, self.bank_size, d), np.float32)
        self.bank_valid = np.zeros((n, self.bank_size), bool)
        self.bank_next = np.zeros(n, np.int64)

    def __len__(self) -> int:
        return len(self.has)

    def _ensure_dim(self, d: int) -> None:
        if self.dim is None:
            n = len(self)
            self.dim = d
            self._alloc(n, d)
        elif d != self.dim:
            raise ValueError(f"embedding dimension changed from {self.dim} to {d}")

    def append(self, embeddings: np.ndarray | None, valid: np.ndarray) -> None:
        """Add rows for new tracks; embeddings (k, D) unit vectors (or None), valid (k,) which to store."""
        k = len(valid)
        if embeddings is not None:
            self._ensure_dim(embeddings.shape[1])
        d = self.dim or 0
        new = EmbeddingMemory(self.momentum, self.bank_size)
        new._alloc(k, d)
        self.smooth = np.concatenate([self.smooth, new.smooth])
        self.has = np.concatenate([self.has, new.has])
        self.bank = np.concatenate([self.bank, new.bank])
        self.bank_valid = np.concatenate([self.bank_valid, new.bank_valid])
        self.bank_next = np.concatenate([self.bank_next, new.bank_next])
        if embeddings is not None and k:
            rows = np.arange(len(self) - k, len(self))[valid]
            self._write(rows, embeddings[valid], first=True)

    def keep(self, mask: np.ndarray) -> None:
        if mask.all():
            return
        self.smooth, self.has, self.bank = self.smooth[mask], self.has[mask], self.bank[mask]
        self.bank_valid, self.bank_next = self.bank_valid[mask], self.bank_next[mask]

    def update(self, rows: np.ndarray, embeddings: np.ndarray) -> None:
        """Blend unit embeddings (k, D) into tracks ``rows`` (each row at most once)."""
        if len(rows) == 0:
            return
        self._ensure_dim(embeddings.shape[1])
        self._write(rows, embeddings, first=False)

    def _write(self, rows: np.ndarray, e: np.ndarray, first: bool) -> None:
        old = self.has[rows][:, None] & (not first)
        blended = np.where(old, self.momentum * self.smooth[rows] + (1.0 - self.momentum) * e, e)
        self.smooth[rows] = normalize(blended)
        self.has[rows] = True
        slot = self.bank_next[rows] % self.bank_size
        self.bank[rows, slot] = e
        self.bank_valid[rows, slot] = True
        self.bank_next[rows] += 1

    def bank_distance(self, rows: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
        """(len(rows), k) smallest cosine distance between each track's bank and each embedding; inf where a
        track has no stored embedding."""
        if len(rows) == 0 or len(embeddings) == 0 or self.dim is None:
            return np.full((len(rows), len(embeddings)), np.inf)
        sim = np.einsum("rbd,kd->rbk", self.bank[rows], embeddings)
        sim = np.where(self.bank_valid[rows][:, :, None], sim, -np.inf)
        return (1.0 - sim.max(axis=1)).astype(np.float64)
