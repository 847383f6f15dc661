"""Vehicles as mesh assemblies with wheels, windows and lights: car, van, truck, bicycle.

Vehicle frame: x forward, y left, z up, origin on the ground at the centre of the footprint. A running
vehicle has a warm hood, tyres and a hot exhaust; a parked one sits near air temperature.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .materials import Palette, random_colour
from .mesh import Part, affine, segment

KINDS = ("car", "van", "truck", "bicycle")
KIND_WEIGHTS = (0.5, 0.2, 0.15, 0.15)


@dataclass(frozen=True)
class VehicleMats:
    paint: int
    glass: int
    tyre: int
    metal: int
    hood: int
    exhaust: int
    head: int
    tail: int


def vehicle_materials(rng: np.random.Generator, palette: Palette, running: bool, night: bool) -> VehicleMats:
    paint = random_colour(rng, 0.8, (0.08, 0.9))
    on = 1.0 if night and running else 0.0
    return VehicleMats(
        paint=palette.add("paint", paint, "air", "paint", "noise", 40.0, solar=1.0),
        glass=palette.add("glass", [0.05, 0.07, 0.09], "air", "glass", reflective=True, solar=0.0),
        tyre=palette.add("tyre", [0.04, 0.04, 0.04], "air", "paint", offset_k=8.0 if running else 0.0),
        metal=palette.add("metal", [0.55, 0.56, 0.58], "air", "metal", solar=0.3),
        hood=palette.add("hood", paint, "engine" if running else "air", "paint", "noise", 40.0,
                         offset_k=0.0 if running else 1.0),
        exhaust=palette.add("exhaust", [0.2, 0.2, 0.2], "engine" if running else "air", "metal",
                            offset_k=40.0 if running else 0.0),
        head=palette.add("headlight", [0.9, 0.9, 0.85], "air", "glass", emissive=3.0 * on),
        tail=palette.add("taillight", [0.7, 0.05, 0.05], "air", "glass", emissive=1.5 * on))


def _wheels(xs, half_w: float, r: float, width: float, m: VehicleMats) -> list[Part]:
    out = []
    for x in xs:
        for s in (-1, 1):
            y0, y1 = s * (half_w - width), s * half_w
            out.append(Part(*segment([x, y0, r], [x, y1, r], r), m.tyre))
            out.append(Part(*segment([x, y1, r], [x, y1 + s * 0.01, r], 0.55 * r), m.metal))
    return out


def _lights(L: float, half_w: float, z: float, m: VehicleMats) -> list[Part]:
    out = []
    for s in (-1, 1):
        out.append(Part("box", affine([L / 2, s * (half_w - 0.2), z], [0.02, 0.12, 0.06]), m.head))
        out.append(Part("box", affine([-L / 2, s * (half_w - 0.15), z], [0.02, 0.1, 0.06]), m.tail))
    return out


def car(rng, m: VehicleMats, tall: bool = False) -> list[Part]:
    """A car (``tall``: a van): lower body, cabin with windows, hood, four wheels, lights, exhaust."""
    L = rng.uniform(4.6, 5.4) if tall else rng.uniform(3.8, 4.8)
    W = rng.uniform(1.75, 2.0)
    r = rng.uniform(0.3, 0.36)
    body_top = rng.uniform(0.9, 1.05)
    roof = rng.uniform(2.0, 2.4) if tall else rng.uniform(1.4, 1.55)
    clearance = 0.6 * r
    cab0, cab1 = (-L / 2 + 0.05, L / 2 - 0.9) if tall else (-L / 2 + 0.7, L / 2 - 1.4)
    hw = W / 2
    parts = [Part("box", affine([0, 0, (clearance + body_top) / 2], [L / 2, hw, (body_top - clearance) / 2]),
                  m.paint),
             Part("box", affine([(cab0 + cab1) / 2, 0, (body_top + roof) / 2], [(cab1 - cab0) / 2, 0.94 * hw,
                                                                               (roof - body_top) / 2]), m.paint)]
    zc, hz = (body_top + roof) / 2 + 0.02, 0.35 * (roof - body_top)
    parts.append(Part("box", affine([cab1 + 0.01, 0, zc], [0.02, 0.85 * hw, hz]), m.glass))  # windscreen
    parts.append(Part("box", affine([cab0 - 0.01, 0, zc], [0.02, 0.8 * hw, hz]), m.glass))
    for s in (-1, 1):  # side windows
        parts.append(Part("box", affine([(cab0 + cab1) / 2, s * 0.95 * hw, zc],
                                        [0.42 * (cab1 - cab0), 0.02, hz]), m.glass))
    parts.append(Part("box", affine([(cab1 + L / 2) / 2, 0, body_top + 0.01], [(L / 2 - cab1) / 2, 0.9 * hw, 0.02]),
                      m.hood))
    parts += _wheels([L / 2 - 0.8, -L / 2 + 0.8], hw + 0.02, r, 0.22, m)
    parts += _lights(L, hw, 0.7 * body_top, m)
    parts.append(Part(*segment([-L / 2 + 0.1, -0.5 * hw, 0.25], [-L / 2 - 0.08, -0.5 * hw, 0.25], 0.04), m.exhaust))
    return parts


def truck(rng, m: VehicleMats) -> list[Part]:
    """A box truck: cab with windscreen, cargo box, six wheels."""
    L = rng.uniform(6.5, 9.0)
    W = 2.4
    hw, r = W / 2, 0.5
    cab_l = 2.0
    box_h = rng.uniform(3.2, 3.8)
    x_cab = L / 2 - cab_l / 2
    parts = [Part("box", affine([x_cab, 0, 1.65], [cab_l / 2, hw, 1.1]), m.paint),
             Part("box", affine([-cab_l / 2 - 0.05, 0, (0.9 + box_h) / 2], [(L - cab_l) / 2 - 0.05, hw,
                                                                             (box_h - 0.9) / 2]), m.metal),
             Part("box", affine([L / 2 + 0.01, 0, 2.15], [0.02, 0.85 * hw, 0.45]), m.glass),
             Part("box", affine([x_cab, 0, 2.76], [cab_l / 2, 0.9 * hw, 0.02]), m.hood)]
    for s in (-1, 1):
        parts.append(Part("box", affine([x_cab + 0.2, s * hw, 2.15], [0.5, 0.02, 0.4]), m.glass))
    parts += _wheels([L / 2 - 1.1, -L / 2 + 1.6, -L / 2 + 2.7], hw + 0.02, r, 0.3, m)
    parts += _lights(L, hw, 0.9, m)
    parts.append(Part(*segment([x_cab - 0.9, hw + 0.05, 0.8], [x_cab - 0.9, hw + 0.05, 3.0], 0.06), m.exhaust))
    return parts


def bicycle(rng, m: VehicleMats) -> tuple[list[Part], float, np.ndarray]:
    """A bicycle: two thin wheels, frame tubes, saddle, handlebar. Returns (parts, saddle height, handlebar
    position) so that a rider can be posed on it."""
    r = rng.uniform(0.32, 0.36)
    wb = rng.uniform(1.0, 1.1)
    saddle = np.array([-0.15, 0, 2 * r + 0.22])
    bars = np.array([wb / 2 - 0.12, 0, 2 * r + 0.32])
    crank = np.array([0.0, 0, r])
    rear, front = np.array([-wb / 2, 0, r]), np.array([wb / 2, 0, r])
    parts = []
    for c in (rear, front):
        parts.append(Part(*segment(c - [0, 0.02, 0], c + [0, 0.02, 0], r), m.tyre))
        parts.append(Part(*segment(c - [0, 0.025, 0], c + [0, 0.025, 0], 0.8 * r), m.metal))
    for a, b in ((rear, crank), (crank, saddle), (rear, saddle), (saddle, bars - [0.05, 0, 0.08]),
                 (crank, bars - [0.05, 0, 0.08]), (front, bars)):
        parts.append(Part(*segment(a, b, 0.018), m.paint))
    parts.append(Part("box", affine(saddle + [0, 0, 0.03], [0.12, 0.07, 0.03]), m.tyre))
    parts.append(Part(*segment(bars - [0, 0.28, 0], bars + [0, 0.28, 0], 0.015), m.metal))
    return parts, float(saddle[2]), bars


def vehicle_parts(kind: str, rng, m: VehicleMats):
    """(parts, rider seat height or None) of a vehicle of ``kind``."""
    if kind == "car":
        return car(rng, m), None
    if kind == "van":
        return car(rng, m, tall=True), None
    if kind == "truck":
        return truck(rng, m), None
    if kind == "bicycle":
        parts, seat, _ = bicycle(rng, m)
        return parts, seat
    raise ValueError(f"unknown vehicle kind {kind!r}; valid: {', '.join(KINDS)}")
