"""Articulated-enough bodies: people and vehicles as ellipsoids and boxes, and the surface (material) table.

An object's parts live in its local frame (x forward, y left, z up, origin on the ground at its centre).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ELLIPSOID, BOX = 0, 1
SKY, GROUND = 0, 1  # reserved surface ids

# thermal classes of surfaces (temperatures are assigned by tracker.sim.thermal_model)
TH_SKY, TH_GROUND, TH_SKIN, TH_CLOTH, TH_ENGINE, TH_WHEEL, TH_BODY, TH_GLASS, TH_STRUCTURE, TH_PARKED = range(10)


@dataclass
class SurfaceTable:
    """Per-surface properties, indexed by surface id (built once per world)."""
    albedo: list  # (3,) each
    thermal_class: list
    thermal_offset_k: list  # per-surface offset (randomised per object)
    coupling_jitter: list
    reflective: list
    texture_freq: list  # cycles per metre of stripes (0 = plain)

    @staticmethod
    def new() -> "SurfaceTable":
        t = SurfaceTable([], [], [], [], [], [])
        t.add((0.6, 0.7, 0.9), TH_SKY)
        t.add((0.35, 0.34, 0.32), TH_GROUND)
        return t

    def add(self, albedo, thermal_class, offset_k=0.0, coupling=0.0, reflective=False, texture_freq=0.0) -> int:
        self.albedo.append(np.asarray(albedo, dtype=np.float32))
        self.thermal_class.append(thermal_class)
        self.thermal_offset_k.append(float(offset_k))
        self.coupling_jitter.append(float(coupling))
        self.reflective.append(bool(reflective))
        self.texture_freq.append(float(texture_freq))
        return len(self.albedo) - 1

    def arrays(self):
        return (np.stack(self.albedo).astype(np.float32), np.asarray(self.thermal_class, np.int32),
                np.asarray(self.thermal_offset_k, np.float32), np.asarray(self.coupling_jitter, np.float32),
                np.asarray(self.reflective, bool), np.asarray(self.texture_freq, np.float32))


@dataclass(frozen=True)
class Body:
    """Parts of one object in its local frame (rest pose), with the object's tight box size (l, w, h)."""
    kinds: np.ndarray  # (P,) ELLIPSOID/BOX
    centers: np.ndarray  # (P, 3)
    radii: np.ndarray  # (P, 3) semi-axes or half extents
    surfaces: np.ndarray  # (P,) surface ids
    size: np.ndarray  # (3,) l, w, h
    leg_parts: tuple = ()  # indices of parts that swing when walking (sign +1/-1 alternating)
    arm_parts: tuple = ()


SKIN_TONES = ((0.87, 0.72, 0.62), (0.76, 0.57, 0.45), (0.55, 0.38, 0.28), (0.36, 0.24, 0.18), (0.93, 0.8, 0.7))


def _colour(rng) -> tuple:
    if rng.random() < 0.35:  # greys/black/white
        g = rng.uniform(0.05, 0.9)
        return (g, g, g)
    c = rng.uniform(0.05, 0.85, 3)
    return tuple(c)


def person_body(rng, surfaces: SurfaceTable, height_m: float, coupling_jitter: float) -> Body:
    s = height_m / 1.75
    skin = surfaces.add(SKIN_TONES[rng.integers(len(SKIN_TONES))], TH_SKIN, coupling=coupling_jitter)
    hair = surfaces.add(np.array(_colour(rng)) * 0.3, TH_CLOTH, coupling=coupling_jitter)
    shirt = surfaces.add(_colour(rng), TH_CLOTH, coupling=coupling_jitter,
                         texture_freq=float(rng.choice([0.0, 0.0, 6.0, 10.0])))
    trousers = surfaces.add(_colour(rng), TH_CLOTH, coupling=coupling_jitter - 0.03)
    sleeve = shirt if rng.random() < 0.6 else skin
    girth = rng.uniform(0.9, 1.15)
    parts = [  # kind, centre, radii, surface
        (ELLIPSOID, (0.0, 0.0, 1.63 * s), (0.095 * s, 0.085 * s, 0.115 * s), skin),  # head
        (ELLIPSOID, (-0.02, 0.0, 1.70 * s), (0.09 * s, 0.085 * s, 0.06 * s), hair),  # hair cap
        (ELLIPSOID, (0.0, 0.0, 1.22 * s), (0.12 * s * girth, 0.2 * s * girth, 0.3 * s), shirt),  # torso
        (ELLIPSOID, (0.0, 0.1 * s, 0.46 * s), (0.085 * s, 0.085 * s, 0.46 * s), trousers),  # legs
        (ELLIPSOID, (0.0, -0.1 * s, 0.46 * s), (0.085 * s, 0.085 * s, 0.46 * s), trousers),
        (ELLIPSOID, (0.0, 0.25 * s * girth, 1.17 * s), (0.05 * s, 0.05 * s, 0.3 * s), sleeve),  # arms
        (ELLIPSOID, (0.0, -0.25 * s * girth, 1.17 * s), (0.05 * s, 0.05 * s, 0.3 * s), sleeve),
    ]
    return _body(parts, size=(0.34 * s, 0.62 * s * girth, 1.75 * s), legs=(3, 4), arms=(5, 6))


def vehicle_body(rng, surfaces: SurfaceTable, moving: bool) -> Body:
    L, W = rng.uniform(3.9, 4.9), rng.uniform(1.7, 1.95)
    H = rng.uniform(1.4, 1.75)
    paint = _colour(rng)
    body_th = TH_BODY if moving else TH_PARKED
    body = surfaces.add(paint, body_th)
    hood = surfaces.add(paint, TH_ENGINE if moving else TH_PARKED)
    glass = surfaces.add((0.08, 0.09, 0.1), TH_GLASS, reflective=True)
    tyre = surfaces.add((0.04, 0.04, 0.04), TH_WHEEL if moving else TH_PARKED)
    r = 0.32
    parts = [
        (BOX, (-0.15 * L, 0.0, r + 0.38), (0.35 * L, W / 2, 0.38), body),  # rear body
        (BOX, (0.35 * L, 0.0, r + 0.33), (0.15 * L, W / 2, 0.33), hood),  # engine bay
        (BOX, (-0.08 * L, 0.0, (r + 0.76 + H) / 2), (0.24 * L, W / 2 - 0.08, (H - r - 0.76) / 2), glass),
        (ELLIPSOID, (0.32 * L, W / 2 - 0.12, r), (r, 0.12, r), tyre),
        (ELLIPSOID, (0.32 * L, -W / 2 + 0.12, r), (r, 0.12, r), tyre),
        (ELLIPSOID, (-0.32 * L, W / 2 - 0.12, r), (r, 0.12, r), tyre),
        (ELLIPSOID, (-0.32 * L, -W / 2 + 0.12, r), (r, 0.12, r), tyre),
    ]
    return _body(parts, size=(L, W, H))


def pole_body(surfaces: SurfaceTable, rng) -> Body:
    h = rng.uniform(3.0, 6.0)
    sid = surfaces.add((0.45, 0.45, 0.47), TH_STRUCTURE)
    return _body([(BOX, (0, 0, h / 2), (0.07, 0.07, h / 2), sid)], size=(0.14, 0.14, h))


def wall_body(surfaces: SurfaceTable, rng) -> Body:
    L, h = rng.uniform(4.0, 12.0), rng.uniform(1.0, 3.0)
    sid = surfaces.add(rng.uniform(0.35, 0.8, 3) * np.array([1.0, 0.9, 0.8]), TH_STRUCTURE, texture_freq=2.0)
    return _body([(BOX, (0, 0, h / 2), (L / 2, 0.12, h / 2), sid)], size=(L, 0.24, h))


def _body(parts, size, legs=(), arms=()) -> Body:
    return Body(np.array([p[0] for p in parts], np.int32), np.array([p[1] for p in parts], np.float64),
                np.array([p[2] for p in parts], np.float64), np.array([p[3] for p in parts], np.int32),
                np.asarray(size, np.float64), tuple(legs), tuple(arms))


def posed_centers(body: Body, phase: float, amplitude: float) -> np.ndarray:
    """Part centres with legs and arms swung by the walking phase (rad) and amplitude (m)."""
    c = body.centers
    if not body.leg_parts or amplitude == 0.0:
        return c
    c = c.copy()
    sw = amplitude * np.sin(phase)
    for k, i in enumerate(body.leg_parts):
        c[i, 0] += sw if k == 0 else -sw
    for k, i in enumerate(body.arm_parts):
        c[i, 0] += -0.6 * sw if k == 0 else 0.6 * sw
    return c
