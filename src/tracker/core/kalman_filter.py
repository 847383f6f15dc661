"""Batched linear Kalman filter for constant-velocity states (numpy; knows nothing of tracks or boxes).

State of each of n filters: ``x = [p (d), v (d)]``, covariance ``P (2d, 2d)``; measurement ``z = p + noise``
(H = [I 0]). All functions take stacked arrays ``x (n, 2d)``, ``P (n, 2d, 2d)`` and return new arrays.
Process noise is continuous white acceleration with per-filter, per-axis spectral density ``q (n, d)``
(variance of acceleration per second). dt = 0 returns the inputs unchanged. Updates use the Joseph form and
re-symmetrise, so covariances stay symmetric positive semi-definite over long runs.
"""
from __future__ import annotations

import numpy as np


def symmetrize(P: np.ndarray) -> np.ndarray:
    return 0.5 * (P + np.swapaxes(P, -1, -2))


def inv_small(S: np.ndarray) -> np.ndarray:
    """Inverse of a stack of small symmetric positive-definite matrices (n, d, d): closed form for d <= 3
    (numpy's batched LAPACK inverse costs ~1.5 us per matrix, which dominates the tracker at 100 objects)."""
    d = S.shape[-1]
    if d == 1:
        return 1.0 / S
    if d == 2:
        a, b, c, e = S[:, 0, 0], S[:, 0, 1], S[:, 1, 0], S[:, 1, 1]
        det = a * e - b * c
        return np.stack([np.stack([e, -b], -1), np.stack([-c, a], -1)], -2) / det[:, None, None]
    if d == 3:  # adjugate of the symmetric matrix [[a, b, c], [b, e, f], [c, f, i]]
        a, b, c, e, f, i = S[:, 0, 0], S[:, 0, 1], S[:, 0, 2], S[:, 1, 1], S[:, 1, 2], S[:, 2, 2]
        A, B, C = e * i - f * f, c * f - b * i, b * f - c * e
        E, F, I = a * i - c * c, b * c - a * f, a * e - b * b
        out = np.array([[A, B, C], [B, E, F], [C, F, I]]).transpose(2, 0, 1)
        return out / (a * A + b * B + c * C)[:, None, None]
    return np.linalg.inv(S)


def transition(dt: float, d: int) -> np.ndarray:
    F = np.eye(2 * d)
    F[:d, d:] = dt * np.eye(d)
    return F


def process_noise(dt: float, q: np.ndarray) -> np.ndarray:
    """(n, 2d, 2d) discretised white-acceleration noise for per-axis densities q (n, d)."""
    n, d = q.shape
    Q = np.zeros((n, 2 * d, 2 * d))
    i = np.arange(d)
    Q[:, i, i] = q * (dt ** 3 / 3.0)
    Q[:, i, i + d] = Q[:, i + d, i] = q * (dt ** 2 / 2.0)
    Q[:, i + d, i + d] = q * dt
    return Q


def predict(x: np.ndarray, P: np.ndarray, dt: float, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Propagate by dt seconds (dt >= 0)."""
    if dt < 0:
        raise ValueError(f"negative prediction interval {dt} s")
    if dt == 0 or len(x) == 0:
        return x.copy(), P.copy()
    d = x.shape[1] // 2
    F = transition(dt, d)
    return x @ F.T, symmetrize(F @ P @ F.T + process_noise(dt, q))


def transform_linear(x: np.ndarray, P: np.ndarray, A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x' = A x + b, P' = A P A^T for one (2d, 2d) A shared by all filters (e.g. a change of frame)."""
    return x @ A.T + b, symmetrize(A @ P @ A.T)


def innovation(x: np.ndarray, P: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predicted measurement (n, d) and its covariance S = H P H^T + R (n, d, d)."""
    d = R.shape[-1]
    return x[:, :d], P[:, :d, :d] + R


def update(x: np.ndarray, P: np.ndarray, z: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correct n filters with measurements z (n, d) of noise R (n, d, d) (Joseph form)."""
    if len(x) == 0:
        return x.copy(), P.copy()
    n, d2 = x.shape
    d = z.shape[1]
    S = P[:, :d, :d] + R
    PHt = P[:, :, :d]
    K = PHt @ inv_small(S)
    x = x + np.einsum("nij,nj->ni", K, z - x[:, :d])
    IKH = np.broadcast_to(np.eye(d2), (n, d2, d2)).copy()
    IKH[:, :, :d] -= K
    P = IKH @ P @ np.swapaxes(IKH, 1, 2) + K @ R @ np.swapaxes(K, 1, 2)
    return x, symmetrize(P)


def mahalanobis_sq(diff: np.ndarray, S_inv: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distance of residuals diff (k, d) under inverse covariances S_inv (k, d, d)."""
    return np.einsum("ki,kij,kj->k", diff, S_inv, diff)
