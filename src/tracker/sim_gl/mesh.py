"""Triangle-mesh primitives (unit box, tapered cylinder, sphere, quad) and placing them as parts.

A *part* is (primitive key, 4x4 local transform, material): the transform maps the unit primitive into the
object's frame. :func:`segment` builds the transform of a limb between two joints; :func:`affine` one of a
box or ellipsoid. Vertices of many parts of one primitive are transformed together (:func:`transform_parts`).
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

CYLINDER_SEGMENTS = 10
SPHERE_RINGS = (6, 10)  # latitude rings, longitude segments
TAPERS = (0.5, 0.65, 0.8, 1.0)  # cylinder top/bottom radius ratios available as primitives


class Mesh(NamedTuple):
    v: np.ndarray  # (N, 3) float32 vertex positions
    n: np.ndarray  # (N, 3) float32 unit normals
    f: np.ndarray  # (M, 3) int32 triangle indices


class Part(NamedTuple):
    prim: str  # key of :func:`primitive`
    M: np.ndarray  # (4, 4) unit primitive -> object frame
    mat: int  # material index


def _mesh(v, n, f) -> Mesh:
    return Mesh(np.asarray(v, np.float32), np.asarray(n, np.float32), np.asarray(f, np.int32))


def _box() -> Mesh:
    """Unit cube [-1, 1]^3 with flat normals (24 vertices)."""
    v, n, f = [], [], []
    for axis in range(3):
        for s in (-1.0, 1.0):
            u, w = [a for a in range(3) if a != axis]
            base = len(v)
            for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                p = np.zeros(3)
                p[axis], p[u], p[w] = s, a, b
                v.append(p)
                nn = np.zeros(3)
                nn[axis] = s
                n.append(nn)
            f += [(base, base + 1, base + 2), (base, base + 2, base + 3)]
    return _mesh(v, n, f)


def _cylinder(taper: float, segs: int = CYLINDER_SEGMENTS) -> Mesh:
    """Radius 1 at z = 0 to radius ``taper`` at z = 1, with caps."""
    a = np.linspace(0, 2 * np.pi, segs, endpoint=False)
    c, s = np.cos(a), np.sin(a)
    slope = 1.0 - taper  # outward normal of the side leans up by the radius change
    side_n = np.stack([c, s, np.full(segs, slope)], 1) / np.sqrt(1 + slope ** 2)
    bottom = np.stack([c, s, np.zeros(segs)], 1)
    top = np.stack([c * taper, s * taper, np.ones(segs)], 1)
    v = [bottom, top, bottom, top, [[0, 0, 0]], [[0, 0, 1]]]
    n = [side_n, side_n, np.tile([0, 0, -1.0], (segs, 1)), np.tile([0, 0, 1.0], (segs, 1)), [[0, 0, -1]],
         [[0, 0, 1]]]
    i = np.arange(segs)
    j = (i + 1) % segs
    side = np.concatenate([np.stack([i, j, segs + j], 1), np.stack([i, segs + j, segs + i], 1)])
    cb, ct = 4 * segs, 4 * segs + 1
    caps = np.concatenate([np.stack([np.full(segs, cb), 2 * segs + j, 2 * segs + i], 1),
                           np.stack([np.full(segs, ct), 3 * segs + i, 3 * segs + j], 1)])
    return _mesh(np.concatenate(v), np.concatenate(n), np.concatenate([side, caps]))


def _sphere(rings: int = SPHERE_RINGS[0], segs: int = SPHERE_RINGS[1]) -> Mesh:
    th = np.linspace(0, np.pi, rings + 1)
    ph = np.linspace(0, 2 * np.pi, segs + 1)
    T, P = np.meshgrid(th, ph, indexing="ij")
    v = np.stack([np.sin(T) * np.cos(P), np.sin(T) * np.sin(P), np.cos(T)], -1).reshape(-1, 3)
    f = []
    for r in range(rings):
        for k in range(segs):
            a, b = r * (segs + 1) + k, (r + 1) * (segs + 1) + k
            f += [(a, b, b + 1), (a, b + 1, a + 1)]
    return _mesh(v, v, f)


def _quad() -> Mesh:
    """Unit square [-1, 1]^2 at z = 0, normal +z."""
    return _mesh([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]], [[0, 0, 1]] * 4, [(0, 1, 2), (0, 2, 3)])


@lru_cache(maxsize=None)
def primitive(key: str) -> Mesh:
    """``box``, ``sphere``, ``quad`` or ``cyl<taper>`` (a value of :data:`TAPERS`, e.g. ``cyl0.8``)."""
    if key == "box":
        return _box()
    if key == "sphere":
        return _sphere()
    if key == "quad":
        return _quad()
    if key.startswith("cyl"):
        return _cylinder(float(key[3:]))
    raise KeyError(key)


def cyl_key(taper: float) -> str:
    """Primitive key of the available taper nearest ``taper``."""
    return f"cyl{min(TAPERS, key=lambda t: abs(t - taper))}"


def affine(center, half_size, R=None) -> np.ndarray:
    """Transform of a unit box/sphere to a box/ellipsoid of ``half_size`` at ``center`` (rotated by R)."""
    M = np.eye(4)
    M[:3, :3] = (np.eye(3) if R is None else np.asarray(R)) @ np.diag(half_size)
    M[:3, 3] = center
    return M


def _frame_z(d: np.ndarray) -> np.ndarray:
    """A rotation whose z axis is the unit vector ``d`` (plain float arithmetic: called for every limb)."""
    dx, dy, dz = float(d[0]), float(d[1]), float(d[2])
    if abs(dx) < 0.9:  # x = (1, 0, 0) x d
        x = (0.0, -dz, dy)
    else:  # x = (0, 1, 0) x d
        x = (dz, 0.0, -dx)
    n = (x[0] * x[0] + x[1] * x[1] + x[2] * x[2]) ** 0.5
    x0, x1, x2 = x[0] / n, x[1] / n, x[2] / n
    y = (dy * x2 - dz * x1, dz * x0 - dx * x2, dx * x1 - dy * x0)
    return np.array([[x0, y[0], dx], [x1, y[1], dy], [x2, y[2], dz]])


def segment(a, b, r0: float, r1: float | None = None) -> tuple[str, np.ndarray]:
    """(primitive, transform) of a tapered cylinder from joint ``a`` (radius r0) to ``b`` (radius r1)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = b - a
    L = max(float(np.linalg.norm(d)), 1e-4)
    r1 = r0 if r1 is None else r1
    key = cyl_key(r1 / r0)
    M = np.eye(4)
    M[:3, :3] = _frame_z(d / L) @ np.diag([r0, r0, L])
    M[:3, 3] = a
    return key, M


def rot_z(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def transform_parts(prim: str, Ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and normals (P, N, 3) of primitive ``prim`` placed by the transforms ``Ms`` (P, 4, 4)."""
    m = primitive(prim)
    A = Ms[:, :3, :3]
    v = np.einsum("pij,nj->pni", A, m.v) + Ms[:, None, :3, 3]
    nrm = np.einsum("pij,nj->pni", np.linalg.inv(A).transpose(0, 2, 1), m.n)
    nrm /= np.maximum(np.linalg.norm(nrm, axis=2, keepdims=True), 1e-9)
    return v, nrm
