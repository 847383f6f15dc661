"""Robust camera-motion fits for image-based motion compensation (:mod:`tracker.pipeline.cmc`), numpy.

The fits take matched features of two frames and estimate ``T_curr_prev`` (a point of the previous camera frame
in the current one: ``p_curr = R @ p_prev + t``) with an inlier mask; the caller inverts it to the core's
``T_prev_curr``. Angles and residuals are in normalised image units (radians ~ pixels / focal length).

- :func:`ransac_rotation`: rotation only, from unit bearing vectors ``b_curr ~ R b_prev``. RANSAC on minimal
  samples of two correspondences (two bearings fix a rotation; each hypothesis by the TRIAD construction), all
  hypotheses evaluated at once; the best consensus set is refitted twice by Kabsch (the SVD of
  ``sum b_curr b_prev^T``, the least-squares rotation). The residual is the chord between ``R b_prev`` and
  ``b_curr`` (~ their angle).
- :func:`ransac_translation`: t given R, from the previous frame's 3D points (depth at the tracked features)
  and their current coordinates: linear in t once R is fixed, RANSAC on pairs of points.
- :func:`fit_motion`: both; with depth, a joint Gauss-Newton refinement of R and t (see there).
"""
from __future__ import annotations

import numpy as np

#: two bearings closer than this (sine of their angle) do not fix a rotation: the hypothesis is dropped
_MIN_CROSS = 1e-3
#: Tikhonov damping of the translation normal equations (normalised units^2: negligible against real data)
_TRANSLATION_DAMPING = 1e-12
#: rounds of (Gauss-Newton on the inliers, inliers re-selected) and Gauss-Newton steps per round in fit_motion
_ROUNDS, _GAUSS_NEWTON_STEPS = 2, 4


def kabsch(a: np.ndarray, b: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Rotations R minimising sum w |b - R a|^2 for point sets a, b of shape (..., n, 3) -> (..., 3, 3)."""
    if w is not None:
        b = b * w[..., None]
    H = np.swapaxes(b, -1, -2) @ a  # sum_i b_i a_i^T
    U, _, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(U @ Vt))
    d = np.where(d == 0, 1.0, d)
    D = np.zeros(H.shape)
    D[..., 0, 0] = D[..., 1, 1] = 1.0
    D[..., 2, 2] = d
    return U @ D @ Vt


def rotation_angle(R: np.ndarray) -> float:
    """Angle of a rotation matrix, radians."""
    return float(np.arccos(np.clip((np.trace(R) - 1.0) / 2.0, -1.0, 1.0)))


def _triad(a1: np.ndarray, a2: np.ndarray, b1: np.ndarray, b2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotations (k, 3, 3) taking the pairs of unit vectors a1, a2 (k, 3) onto b1, b2 (the TRIAD method: a1 onto
    b1 exactly, the plane of a1, a2 onto that of b1, b2), and a mask of the well-conditioned pairs."""
    def frame(u, v):
        w = np.cross(u, v)
        norm = np.linalg.norm(w, axis=1, keepdims=True)
        w = w / np.maximum(norm, _MIN_CROSS)
        return np.stack([u, w, np.cross(u, w)], axis=2), norm[:, 0] > _MIN_CROSS

    Fa, ok_a = frame(a1, a2)
    Fb, ok_b = frame(b1, b2)
    return Fb @ np.swapaxes(Fa, 1, 2), ok_a & ok_b


def _residuals(R: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|R a - b| for (k, 3, 3) rotations and (n, 3) unit vectors -> (k, n); the chord ~ the angle in radians.
    b . R a = vec(R) . vec(b a^T): one (k, 9) x (9, n) product."""
    outer = (b[:, :, None] * a[:, None, :]).reshape(len(a), 9)
    dots = R.reshape(-1, 9) @ outer.T
    return np.sqrt(np.maximum(2.0 - 2.0 * dots, 0.0))


def ransac_rotation(a: np.ndarray, b: np.ndarray, threshold_rad: float, iterations: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Rotation R with ``b ~ R a`` for (n, 3) unit bearings (n >= 2), and its inlier mask (n,)."""
    n = len(a)
    i = rng.integers(0, n, iterations)
    j = (i + rng.integers(1, n, iterations)) % n  # a second, different correspondence
    hyp, ok = _triad(a[i], a[j], b[i], b[j])
    inl = (_residuals(hyp, a, b) < threshold_rad) & ok[:, None]
    best = inl[int(np.argmax(inl.sum(axis=1)))]
    R = hyp[int(np.argmax(inl.sum(axis=1)))]
    for _ in range(2):  # refit on the consensus set, re-select
        if best.sum() < 2:
            break
        R = kabsch(a[best], b[best])
        best = _residuals(R[None], a, b)[0] < threshold_rad
    return R, best


def _translation_system(R: np.ndarray, p0: np.ndarray, n1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linearised projection of ``q + t`` (q = R p0) onto the normalised current coordinates n1 = (x, y):
    residual = A t + b per point, A (m, 2, 3), b (m, 2), in normalised units (pixels / focal length)."""
    q = p0 @ R.T
    x, y, z = n1[:, 0], n1[:, 1], q[:, 2]
    one, zero = np.ones_like(x), np.zeros_like(x)
    A = np.stack([np.stack([one, zero, -x], 1), np.stack([zero, one, -y], 1)], 1) / z[:, None, None]
    b = np.stack([q[:, 0] - x * z, q[:, 1] - y * z], 1) / z[:, None]
    return A, b


def _solve_translation(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least-squares t of A t + b = 0 for stacked systems A (..., r, 3), b (..., r)."""
    AtA = np.swapaxes(A, -1, -2) @ A + _TRANSLATION_DAMPING * np.eye(3)
    return np.linalg.solve(AtA, -(np.swapaxes(A, -1, -2) @ b[..., None]))[..., 0]


def ransac_translation(R: np.ndarray, p0: np.ndarray, n1: np.ndarray, threshold_rad: float, iterations: int,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Translation t of ``p_curr = R p0 + t`` given the rotation, from (m, 3) previous-frame points (depth at the
    features) and their (m, 2) undistorted normalised current coordinates; RANSAC on pairs of points (four
    equations for three unknowns), refitted on the consensus set. Returns t and the inlier mask (m,)."""
    A, b = _translation_system(R, p0, n1)
    m = len(p0)
    i = rng.integers(0, m, iterations)
    j = (i + rng.integers(1, m, iterations)) % m
    hyp = _solve_translation(np.concatenate([A[i], A[j]], 1), np.concatenate([b[i], b[j]], 1))  # (k, 3)
    res = np.linalg.norm(np.einsum("mrc,kc->kmr", A, hyp) + b[None], axis=2)
    best = res[int(np.argmax((res < threshold_rad).sum(1)))] < threshold_rad
    t = hyp[int(np.argmax((res < threshold_rad).sum(1)))]
    for _ in range(2):
        if best.sum() < 2:
            break
        t = _solve_translation(A[best].reshape(-1, 3), b[best].reshape(-1))
        best = np.linalg.norm(A @ t + b, axis=1) < threshold_rad
    return t, best


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _skew(v: np.ndarray) -> np.ndarray:
    """(n, 3) vectors -> (n, 3, 3) cross-product matrices."""
    z = np.zeros(len(v))
    return np.stack([np.stack([z, -v[:, 2], v[:, 1]], 1), np.stack([v[:, 2], z, -v[:, 0]], 1),
                     np.stack([-v[:, 1], v[:, 0], z], 1)], 1)


def _so3_exp(w: np.ndarray) -> np.ndarray:
    th = float(np.linalg.norm(w))
    K = _skew(w[None])[0]
    if th < 1e-12:
        return np.eye(3) + K
    return np.eye(3) + np.sin(th) / th * K + (1 - np.cos(th)) / th ** 2 * (K @ K)


def motion_residuals(R: np.ndarray, t: np.ndarray, h0: np.ndarray, rho: np.ndarray, n1: np.ndarray) -> np.ndarray:
    """(n,) reprojection error (normalised units) of features at homogeneous previous coordinates h0 = (x, y, 1)
    with inverse depth rho (0 = far: rotation only) seen at n1: the current point is R h0 + rho t (up to scale)."""
    q = h0 @ R.T + rho[:, None] * t
    return np.linalg.norm(q[:, :2] / q[:, 2:3] - n1, axis=1)


def refine_motion(R: np.ndarray, t: np.ndarray, h0: np.ndarray, rho: np.ndarray, n1: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gauss-Newton on (rotation, translation) of all given features at once (those without depth fix only the
    rotation); returns R, t and the 3x3 covariance of t (residual variance times the inverse information)."""
    for _ in range(_GAUSS_NEWTON_STEPS):
        Rh = h0 @ R.T
        q = Rh + rho[:, None] * t
        iz = 1.0 / q[:, 2]
        Jp = np.zeros((len(q), 2, 3))  # d projection / d q
        Jp[:, 0, 0] = Jp[:, 1, 1] = iz
        Jp[:, 0, 2], Jp[:, 1, 2] = -q[:, 0] * iz * iz, -q[:, 1] * iz * iz
        J = np.concatenate([Jp @ -_skew(Rh), Jp * rho[:, None, None]], axis=2).reshape(-1, 6)
        r = (q[:, :2] * iz[:, None] - n1).reshape(-1)
        H = J.T @ J + _TRANSLATION_DAMPING * np.eye(6)
        dx = -np.linalg.solve(H, J.T @ r)
        R, t = _so3_exp(dx[:3]) @ R, t + dx[3:]
    r = motion_residuals(R, t, h0, rho, n1)
    var = float(np.sum(r * r)) / max(2 * len(r) - 6, 1)
    return R, t, var * np.linalg.inv(H)[3:, 3:]


def fit_motion(n0: np.ndarray, n1: np.ndarray, z0: np.ndarray | None, threshold_rad: float, iterations: int,
               min_depth_points: int, max_translation_std: float, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """``p_curr = R p_prev + t`` from (n, 2) undistorted normalised coordinates of the same features in the
    previous (n0) and current (n1) frame and the previous frame's depth at them (z0, NaN = none; or None).
    Returns R, t and the inliers (n,); t is None (rotation only) without depth, with fewer than
    ``min_depth_points`` inliers with depth, or when the translation is not observable (its standard deviation
    above ``max_translation_std``, metres: a lateral shift of centimetres at metres of range looks like a pan).

    Rotation from all bearings by RANSAC; with depth, a starting translation given that rotation, then
    Gauss-Newton on R and t of all inliers together (features without depth fix the rotation, those with depth
    both), inliers re-selected between rounds."""
    b0 = _unit(np.concatenate([n0, np.ones((len(n0), 1))], axis=1))
    b1 = _unit(np.concatenate([n1, np.ones((len(n1), 1))], axis=1))
    R_rot, inl_rot = ransac_rotation(b0, b1, threshold_rad, iterations, rng)
    has = np.zeros(len(n0), bool) if z0 is None else np.isfinite(z0)
    if has.sum() < min_depth_points:
        return R_rot, None, inl_rot
    h0 = np.concatenate([n0, np.ones((len(n0), 1))], axis=1)
    rho = np.where(has, 1.0 / np.where(has, z0, 1.0), 0.0)
    t, _ = ransac_translation(R_rot, h0[has] / rho[has, None], n1[has], threshold_rad, iterations, rng)
    R, inl = R_rot, motion_residuals(R_rot, t, h0, rho, n1) < threshold_rad
    cov = None
    for _ in range(_ROUNDS):
        if (inl & has).sum() < min_depth_points:
            return R_rot, None, inl_rot
        R, t, cov = refine_motion(R, t, h0[inl], rho[inl], n1[inl])
        inl = motion_residuals(R, t, h0, rho, n1) < threshold_rad
    if (inl & has).sum() < min_depth_points or np.sqrt(np.linalg.eigvalsh(cov)[-1]) > max_translation_std:
        return R_rot, None, inl_rot
    return R, t, inl
