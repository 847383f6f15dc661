"""Static scene content and hard negatives, as parts in a local frame (x forward, z up, origin on the ground).

Buildings with windows and doors, fences, poles, street lamps, benches, bins, trees, bushes; hard negatives:
human-sized bollards and posts, mannequins (a person's shape at air temperature), dogs (warm, not people),
warm machinery (a generator with a hot exhaust).
"""
from __future__ import annotations

import numpy as np

from .materials import Palette, random_colour
from .mesh import Part, affine, segment
from .people import BodyShape, pose_parts, random_body

WALL_TEX = ("brick", "noise", "plain", "checks")


def building(rng, pal: Palette, size) -> list[Part]:
    """A box building (length x depth x height) with rows of windows and a door on its front (+x) face."""
    L, D, H = size
    wall = pal.add("wall", random_colour(rng, 0.35, (0.25, 0.8)), "air", "stone",
                   WALL_TEX[rng.integers(len(WALL_TEX))], rng.uniform(2, 6), solar=1.0)
    glass = pal.add("window", [0.06, 0.08, 0.1], "air", "glass", reflective=True, solar=0.2)
    frame = pal.add("frame", random_colour(rng, 0.2, (0.1, 0.9)), "air", "paint")
    parts = [Part("box", affine([0, 0, H / 2], [D / 2, L / 2, H / 2]), wall)]
    floors = max(1, int(H // 3.0))
    cols = max(1, int(L // 2.5))
    lit = pal.add("lit window", [0.9, 0.8, 0.55], "air", "glass", emissive=1.2, solar=0.0)
    for f in range(floors):
        for c in range(cols):
            y = -L / 2 + (c + 0.5) * L / cols
            if f == 0 and c == cols // 2:
                parts.append(Part("box", affine([D / 2 + 0.02, y, 1.05], [0.03, 0.5, 1.05]), frame))  # door
                continue
            mat = lit if rng.random() < 0.15 else glass
            parts.append(Part("box", affine([D / 2 + 0.02, y, f * 3.0 + 1.6], [0.03, 0.55, 0.7]), mat))
    return parts


def fence(rng, pal: Palette, length: float) -> list[Part]:
    mat = pal.add("fence", random_colour(rng, 0.3, (0.2, 0.7)), "air", rng.choice(["metal", "paint"]))
    h = rng.uniform(1.0, 1.9)
    n = max(2, int(length / 2.0) + 1)
    parts = [Part("box", affine([0, y, h / 2], [0.04, 0.04, h / 2]), mat) for y in np.linspace(-length / 2,
                                                                                              length / 2, n)]
    for z in (0.25 * h, 0.9 * h):
        parts.append(Part("box", affine([0, 0, z], [0.02, length / 2, 0.03]), mat))
    return parts


def pole(rng, pal: Palette) -> list[Part]:
    h = rng.uniform(2.5, 6.0)
    mat = pal.add("pole", random_colour(rng, 0.2, (0.2, 0.6)), "air", "metal", solar=0.6)
    return [Part(*segment([0, 0, 0], [0, 0, h], rng.uniform(0.05, 0.12)), mat)]


def street_lamp(rng, pal: Palette, lit: bool) -> tuple[list[Part], np.ndarray]:
    """(parts, light position) of a lamp post; a lit head glows in RGB and is hot in thermal."""
    h = rng.uniform(4.0, 6.0)
    mat = pal.add("lamp post", [0.25, 0.27, 0.3], "air", "metal")
    head = pal.add("lamp head", [0.95, 0.9, 0.7], "lamp" if lit else "air", "glass", emissive=4.0 if lit else 0.0)
    parts = [Part(*segment([0, 0, 0], [0, 0, h], 0.08, 0.05), mat),
             Part(*segment([0, 0, h], [0.8, 0, h], 0.04), mat),
             Part("box", affine([0.8, 0, h - 0.08], [0.25, 0.12, 0.06]), head)]
    return parts, np.array([0.8, 0.0, h - 0.2])


def bench(rng, pal: Palette) -> list[Part]:
    wood = pal.add("bench", random_colour(rng, 0.5, (0.2, 0.6)), "air", "paint", "stripes", 12.0)
    metal = pal.add("bench legs", [0.2, 0.2, 0.22], "air", "metal")
    L = rng.uniform(1.4, 2.0)
    parts = [Part("box", affine([0, 0, 0.45], [0.22, L / 2, 0.03]), wood),
             Part("box", affine([-0.22, 0, 0.75], [0.03, L / 2, 0.2]), wood)]
    for y in (-L / 2 + 0.1, L / 2 - 0.1):
        parts.append(Part("box", affine([0, y, 0.22], [0.2, 0.03, 0.22]), metal))
    return parts


def bin_(rng, pal: Palette) -> list[Part]:
    mat = pal.add("bin", random_colour(rng, 0.7, (0.1, 0.6)), "air", "paint", solar=1.0)
    h = rng.uniform(0.8, 1.1)
    return [Part(*segment([0, 0, 0], [0, 0, h], rng.uniform(0.25, 0.35), 0.3), mat)]


def tree(rng, pal: Palette) -> list[Part]:
    bark = pal.add("bark", [0.3, 0.22, 0.15], "air", "foliage", "noise", 30.0)
    leaf = pal.add("leaves", [0.15 + 0.15 * rng.random(), 0.3 + 0.2 * rng.random(), 0.1], "air", "foliage",
                   "grass", 8.0, offset_k=-1.0, solar=0.3)
    h = rng.uniform(3.0, 7.0)
    parts = [Part(*segment([0, 0, 0], [0, 0, 0.65 * h], 0.12 * h / 5, 0.08 * h / 5), bark)]
    for _ in range(rng.integers(3, 6)):
        c = np.array([rng.normal(0, 0.5), rng.normal(0, 0.5), h * rng.uniform(0.65, 0.95)])
        parts.append(Part("sphere", affine(c, rng.uniform(0.6, 1.3, 3) * h / 5), leaf))
    return parts


def bush(rng, pal: Palette) -> list[Part]:
    leaf = pal.add("bush", [0.12, 0.3 + 0.2 * rng.random(), 0.08], "air", "foliage", "grass", 10.0, solar=0.3)
    return [Part("sphere", affine([rng.normal(0, 0.4), rng.normal(0, 0.4), 0.4], rng.uniform(0.4, 0.9, 3)), leaf)
            for _ in range(rng.integers(2, 5))]


def bollard(rng, pal: Palette) -> list[Part]:
    """A human-sized post with a round top (hard negative for shape)."""
    mat = pal.add("bollard", random_colour(rng, 0.6, (0.1, 0.8)), "air", "paint", solar=1.0)
    h = rng.uniform(1.4, 1.9)
    r = rng.uniform(0.12, 0.25)
    return [Part(*segment([0, 0, 0], [0, 0, h], r, 0.8 * r), mat),
            Part("sphere", affine([0, 0, h], [0.9 * r, 0.9 * r, 0.9 * r]), mat)]


def mannequin(rng, pal: Palette) -> list[Part]:
    """A person-shaped figure in one plastic colour at air temperature (hard negative)."""
    shell = pal.add("mannequin", random_colour(rng, 0.3, (0.4, 0.9)), "air", "paint", solar=0.8)
    body = random_body(rng, pal, child=False)
    plain = BodyShape(body.height, body.girth, False, shell, shell, shell, shell, shell, True, "trousers",
                      "none", shell)
    return pose_parts(plain, ("stand", "wave")[rng.integers(2)], rng.uniform(0, 6.3))


def dog(rng, pal: Palette) -> list[Part]:
    """A quadruped at fur temperature: warm, person-like in thermal, not a person (hard negative)."""
    fur = pal.add("fur", random_colour(rng, 0.4, (0.1, 0.7)), "animal", "fur", "noise", 25.0, solar=0.2)
    s = rng.uniform(0.6, 1.3)
    L, h = 0.7 * s, 0.45 * s
    parts = [Part("sphere", affine([0, 0, h + 0.1 * s], [L / 2, 0.13 * s, 0.14 * s]), fur),
             Part("sphere", affine([L / 2 + 0.08 * s, 0, h + 0.25 * s], [0.13 * s, 0.09 * s, 0.1 * s]), fur)]
    for x in (-0.3 * L, 0.3 * L):
        for y in (-0.08 * s, 0.08 * s):
            parts.append(Part(*segment([x, y, h], [x, y, 0], 0.04 * s), fur))
    return parts


def generator(rng, pal: Palette) -> list[Part]:
    """A running generator/compressor: a warm box with a hot exhaust (warm non-human object)."""
    case = pal.add("generator", random_colour(rng, 0.7, (0.2, 0.7)), "engine", "paint", offset_k=-15.0)
    pipe = pal.add("exhaust", [0.2, 0.2, 0.2], "engine", "metal", offset_k=40.0)
    return [Part("box", affine([0, 0, 0.45], [0.5, 0.35, 0.45]), case),
            Part(*segment([-0.3, 0, 0.9], [-0.3, 0, 1.4], 0.05), pipe)]


CLUTTER = {"pole": pole, "bench": bench, "bin": bin_, "tree": tree, "bush": bush}
NEGATIVES = {"bollard": bollard, "mannequin": mannequin, "dog": dog, "generator": generator}
