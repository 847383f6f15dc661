"""Kinematics of people and vehicles: trajectories sampled on a fixed step, interpolated at any time.

People walk at 0.5-2 m/s with a random turning rate, stop now and then, walk in groups, cross in front of
the camera and leave/re-enter the area (they turn back at its border). Vehicles drive along lanes with
smoothly varying speed and re-enter from the other side.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import WorldConfig

STRIDE_M = 1.4  # metres per gait cycle


@dataclass(frozen=True)
class Trajectory:
    t0: float
    dt: float
    xy: np.ndarray  # (N, 2) world metres
    heading: np.ndarray  # (N,) rad, unwrapped
    speed: np.ndarray  # (N,) m/s
    phase: np.ndarray  # (N,) gait phase rad

    def at(self, t: float) -> tuple[np.ndarray, float, float, float]:
        """(xy, heading, speed, phase) at time t (seconds from the scene start), clamped to the ends."""
        f = min(max((t - self.t0) / self.dt, 0.0), len(self.xy) - 1.0)
        i = int(min(np.floor(f), len(self.xy) - 2)) if len(self.xy) > 1 else 0
        a = f - i
        j = min(i + 1, len(self.xy) - 1)
        if np.linalg.norm(self.xy[j] - self.xy[i]) > 5.0:  # wrapped around: no interpolation across the jump
            a = 0.0 if a < 0.5 else 1.0
        lerp = lambda v: (1 - a) * v[i] + a * v[j]  # noqa: E731
        return lerp(self.xy), float(lerp(self.heading)), float(lerp(self.speed)), float(lerp(self.phase))


def _steps(duration_s: float, dt: float) -> int:
    return int(np.ceil(duration_s / dt)) + 2


def walk(rng: np.random.Generator, cfg: WorldConfig, duration_s: float, start_xy, heading: float,
         speed: float, turn_std_dps: float | None = None, stops: bool = True) -> Trajectory:
    dt = cfg.step_s
    n = _steps(duration_s, dt)
    xy = np.zeros((n, 2))
    hd = np.zeros(n)
    sp = np.zeros(n)
    xy[0] = start_xy
    hd[0] = heading
    turn_std = np.deg2rad(cfg.turn_rate_std_dps if turn_std_dps is None else turn_std_dps)
    omega = 0.0
    stop_left = 0.0
    x_lo, x_hi = cfg.x_range_m
    centre = np.array([(x_lo + x_hi) / 2, 0.0])
    for k in range(1, n):
        omega += -omega * dt / 1.5 + turn_std * np.sqrt(2 * dt / 1.5) * rng.standard_normal()
        h = hd[k - 1] + omega * dt
        p = xy[k - 1]
        outside = p[0] < x_lo - 3 or p[0] > x_hi + 3 or abs(p[1]) > cfg.y_half_m + 3
        if outside:  # steer back towards the area (leave and re-enter)
            to_c = np.arctan2(centre[1] - p[1], centre[0] - p[0])
            h += np.clip(np.angle(np.exp(1j * (to_c - h))), -0.8 * dt, 0.8 * dt)
        if stops and stop_left <= 0 and rng.random() < cfg.stop_rate_hz * dt:
            stop_left = rng.uniform(*cfg.stop_duration_s)
        v = 0.0 if stop_left > 0 else speed
        stop_left -= dt
        sp[k] = v
        hd[k] = h
        xy[k] = p + v * dt * np.array([np.cos(h), np.sin(h)])
    sp[0] = sp[1]
    phase = np.cumsum(sp * dt) / STRIDE_M * 2 * np.pi
    return Trajectory(0.0, dt, xy, hd, sp, phase)


def stand(cfg: WorldConfig, duration_s: float, xy, heading: float) -> Trajectory:
    """A person standing still at ``xy`` facing ``heading`` for the whole scene."""
    n = _steps(duration_s, cfg.step_s)
    return Trajectory(0.0, cfg.step_s, np.tile(np.asarray(xy, dtype=np.float64), (n, 1)), np.full(n, heading),
                      np.zeros(n), np.zeros(n))


def follow(leader: Trajectory, offset_xy, rng: np.random.Generator) -> Trajectory:
    """A group member: the leader's path shifted by a body-frame offset with a slow lateral wobble."""
    c, s = np.cos(leader.heading), np.sin(leader.heading)
    off = np.asarray(offset_xy, dtype=np.float64)
    wob = 0.08 * np.sin(np.arange(len(c)) * leader.dt * rng.uniform(0.3, 0.8) + rng.uniform(0, 6.3))
    dx = c * off[0] - s * (off[1] + wob)
    dy = s * off[0] + c * (off[1] + wob)
    xy = leader.xy + np.stack([dx, dy], axis=1)
    phase = leader.phase * rng.uniform(0.92, 1.08) + rng.uniform(0, 2 * np.pi)
    return Trajectory(leader.t0, leader.dt, xy, leader.heading.copy(), leader.speed.copy(), phase)


def drive(rng: np.random.Generator, cfg: WorldConfig, duration_s: float, lane_x: float, direction: int
          ) -> Trajectory:
    """Vehicle along the lateral lane x = lane_x, direction +1 (to +y) or -1, with smooth speed changes."""
    dt = cfg.step_s
    n = _steps(duration_s, dt)
    span = cfg.y_half_m + 15.0
    v_lo, v_hi = cfg.vehicle_speed_mps
    target = rng.uniform(v_lo, v_hi)
    v = target
    y = rng.uniform(-span, span)
    xy = np.zeros((n, 2))
    sp = np.zeros(n)
    for k in range(n):
        if rng.random() < 0.2 * dt:
            target = rng.uniform(v_lo, v_hi)
        v += np.clip(target - v, -1.5 * dt, 1.5 * dt)  # |accel| <= 1.5 m/s^2
        y += direction * v * dt
        if abs(y) > span:  # leaves and re-enters from the other side
            y = -direction * span
        xy[k] = (lane_x + 0.15 * np.sin(k * dt * 0.3), y)
        sp[k] = v
    heading = np.full(n, np.pi / 2 if direction > 0 else -np.pi / 2)
    return Trajectory(0.0, dt, xy, heading, sp, np.zeros(n))
