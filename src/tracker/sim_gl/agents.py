"""Motion of world B's dynamic objects: sampled trajectories (position, heading, gait phase, pose) on a time
grid, interpolated at any time. People walk/run with a random turning rate, stop now and then, and turn back
at the area border; vehicles drive along lanes and re-enter from the other side; others stay in place.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STEP_S = 0.05
TURN_STD_RAD_S = 0.45  # std of the random turning rate of people (rad/s)
TURN_CORR_S = 2.0  # correlation time of the turning rate
STOP_RATE_HZ = 0.05  # walkers stop this often
STOP_S = (1.0, 4.0)  # and stand this long
MAX_STEP_M = 3.0  # a larger step between grid samples is a wrap-around


@dataclass
class Track:
    """Sampled motion: t (n,), xy (n, 2), yaw (n,), distance travelled (n,), moving (n,) bool."""
    t: np.ndarray
    xy: np.ndarray
    yaw: np.ndarray
    dist: np.ndarray
    moving: np.ndarray

    def at(self, t: float) -> tuple[np.ndarray, float, float, bool]:
        """(xy, yaw, distance, moving) at time ``t`` (linear interpolation; clamped to the grid)."""
        f = float(np.clip(t / STEP_S, 0, len(self.t) - 1.000001))
        k = int(f)
        a = f - k
        step = self.xy[k + 1] - self.xy[k]
        if np.abs(step).max() > MAX_STEP_M:  # a wrap-around: no interpolation across the area
            step = np.zeros(2)
        xy = self.xy[k] + a * step
        dy = np.angle(np.exp(1j * (self.yaw[k + 1] - self.yaw[k])))
        return xy, float(self.yaw[k] + a * dy), float((1 - a) * self.dist[k] + a * self.dist[k + 1]), \
            bool(self.moving[k])


def _grid(duration_s: float) -> np.ndarray:
    return np.arange(int(np.ceil(duration_s / STEP_S)) + 2) * STEP_S


def still(xy, yaw: float, duration_s: float) -> Track:
    t = _grid(duration_s)
    n = len(t)
    return Track(t, np.tile(np.asarray(xy, float), (n, 1)), np.full(n, yaw), np.zeros(n), np.zeros(n, bool))


def wander(rng: np.random.Generator, start, speed: float, bounds: tuple, duration_s: float,
           stops: bool = True) -> Track:
    """A person's walk: Ornstein-Uhlenbeck turning rate, turning back towards the centre outside ``bounds``
    (x0, x1, y0, y1), random stops."""
    t = _grid(duration_s)
    n = len(t)
    xy = np.zeros((n, 2))
    yaw = np.zeros(n)
    moving = np.ones(n, bool)
    xy[0], yaw[0] = start, rng.uniform(-np.pi, np.pi)
    rate, stop_left = 0.0, 0.0
    a = np.exp(-STEP_S / TURN_CORR_S)
    x0, x1, y0, y1 = bounds
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    for k in range(1, n):
        rate = a * rate + np.sqrt(1 - a * a) * TURN_STD_RAD_S * rng.standard_normal()
        h = yaw[k - 1] + rate * STEP_S
        p = xy[k - 1]
        if not (x0 <= p[0] <= x1 and y0 <= p[1] <= y1):
            to_c = np.arctan2(*(centre - p)[::-1])
            h += 0.5 * np.angle(np.exp(1j * (to_c - h)))
        if stops and stop_left <= 0 and rng.random() < STOP_RATE_HZ * STEP_S:
            stop_left = rng.uniform(*STOP_S)
        moving[k] = stop_left <= 0
        stop_left -= STEP_S
        yaw[k] = h
        xy[k] = p + (speed * STEP_S if moving[k] else 0.0) * np.array([np.cos(h), np.sin(h)])
    dist = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(xy, axis=0), axis=1))])
    return Track(t, xy, yaw, dist, moving)


def lane(x: float, y_start: float, direction: int, speed: float, y_half: float, duration_s: float) -> Track:
    """Driving along the lane at forward distance ``x`` in direction +-y, re-entering after ``2 y_half``."""
    t = _grid(duration_s)
    y = y_start + direction * speed * t
    y = (y + y_half) % (2 * y_half) - y_half
    yaw = np.full(len(t), np.pi / 2 if direction > 0 else -np.pi / 2)
    return Track(t, np.stack([np.full(len(t), x), y], 1), yaw, speed * t, np.ones(len(t), bool))
