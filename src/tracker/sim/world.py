"""The 3D world: ground plane (z = 0), static clutter, parked and moving vehicles, walking people."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import agents, shapes
from .config import WorldConfig


def rot_z(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class Actor:
    id: str
    cls: str  # person / vehicle / '' (unlabelled clutter)
    body: shapes.Body
    trajectory: agents.Trajectory | None = None  # None: static at `pose`
    pose: tuple = (0.0, 0.0, 0.0)  # x, y, yaw of static actors


@dataclass(frozen=True)
class Posed:
    """An actor at one instant, in the world frame."""
    id: str
    cls: str
    body: shapes.Body
    R: np.ndarray  # world_from_object rotation
    t: np.ndarray  # object origin in the world (on the ground)
    centers: np.ndarray  # (P, 3) posed part centres, object frame
    velocity: np.ndarray  # (3,) m/s in the world

    def box_center_world(self) -> np.ndarray:
        return self.t + self.R @ np.array([0.0, 0.0, self.body.size[2] / 2])


@dataclass(frozen=True)
class World:
    surfaces: shapes.SurfaceTable
    dynamic: tuple  # Actors with trajectories
    static: tuple  # Actors without (parked cars labelled, walls and poles not)

    def posed(self, actor: Actor, t: float) -> Posed:
        if actor.trajectory is None:
            x, y, yaw = actor.pose
            return Posed(actor.id, actor.cls, actor.body, rot_z(yaw), np.array([x, y, 0.0]), actor.body.centers,
                         np.zeros(3))
        xy, heading, speed, phase = actor.trajectory.at(t)
        amp = min(0.18, 0.12 * speed) * actor.body.size[2] / 1.75 if actor.cls == "person" else 0.0
        centers = shapes.posed_centers(actor.body, phase, amp)
        v = speed * np.array([np.cos(heading), np.sin(heading), 0.0])
        return Posed(actor.id, actor.cls, actor.body, rot_z(heading), np.array([xy[0], xy[1], 0.0]), centers, v)

    def dynamic_at(self, t: float) -> list[Posed]:
        return [self.posed(a, t) for a in self.dynamic]

    def static_posed(self) -> list[Posed]:
        return [self.posed(a, 0.0) for a in self.static]


def build_world(cfg: WorldConfig, duration_s: float, rng: np.random.Generator) -> World:
    """A random world for ``duration_s`` seconds of motion (all randomness from ``rng``)."""
    surf = shapes.SurfaceTable.new()
    x_lo, x_hi = cfg.x_range_m
    dyn: list[Actor] = []
    n_person = 0

    def person(traj):
        nonlocal n_person
        body = shapes.person_body(rng, surf, rng.uniform(*cfg.person_height_m), float(rng.normal(0, 0.03)))
        dyn.append(Actor(f"person_{n_person}", "person", body, traj))
        n_person += 1

    def rand_start():
        return np.array([rng.uniform(x_lo, x_hi), rng.uniform(-cfg.y_half_m, cfg.y_half_m)])

    remaining = cfg.n_people
    # crossing pairs: two people walking laterally in opposite directions at slightly different depths
    for _ in range(min(cfg.n_crossing_pairs, remaining // 2)):
        x = rng.uniform(max(x_lo, 4.0), min(x_hi, 11.0))
        speed = rng.uniform(1.0, 1.6)
        half_time = rng.uniform(1.5, min(5.0, max(1.6, duration_s / 2)))  # meet in view after this long
        for side, dx in ((1, 0.0), (-1, rng.uniform(1.2, 2.5))):
            start = np.array([x + dx, side * speed * half_time])
            person(agents.walk(rng, cfg, duration_s, start, -side * np.pi / 2, speed, turn_std_dps=3.0,
                               stops=False))
        remaining -= 2
    n_group = int(round(remaining * cfg.group_fraction))
    while n_group >= 2:
        size = 2 if n_group < 5 or rng.random() < 0.6 else 3
        leader = agents.walk(rng, cfg, duration_s, rand_start(), rng.uniform(-np.pi, np.pi),
                             rng.uniform(cfg.person_speed_mps[0], min(1.5, cfg.person_speed_mps[1])))
        person(leader)
        for k in range(1, size):
            person(agents.follow(leader, (rng.uniform(-0.4, 0.2), (0.65 if k == 1 else -0.65)), rng))
        n_group -= size
        remaining -= size
    for _ in range(remaining):
        person(agents.walk(rng, cfg, duration_s, rand_start(), rng.uniform(-np.pi, np.pi),
                           rng.uniform(*cfg.person_speed_mps)))
    for k in range(cfg.n_vehicles):
        lane = cfg.vehicle_lanes_x_m[k % len(cfg.vehicle_lanes_x_m)]
        direction = 1 if k % 2 == 0 else -1
        dyn.append(Actor(f"vehicle_{k}", "vehicle", shapes.vehicle_body(rng, surf, True),
                         agents.drive(rng, cfg, duration_s, lane, direction)))
    static = _static_actors(cfg, surf, rng)
    for _ in range(cfg.n_standing):  # drawn last: the rest of the world is the same with or without them
        person(agents.stand(cfg, duration_s, rand_start(), rng.uniform(-np.pi, np.pi)))
    return World(surf, tuple(dyn), tuple(static))


def _static_actors(cfg: WorldConfig, surf: shapes.SurfaceTable, rng: np.random.Generator) -> list[Actor]:
    """Parked vehicles (labelled), poles and walls."""
    x_lo, x_hi = cfg.x_range_m
    static: list[Actor] = []
    for k in range(cfg.n_parked):
        side = 1 if k % 2 == 0 else -1
        pose = (rng.uniform(max(x_lo, 7.0), x_hi), side * rng.uniform(4.0, cfg.y_half_m * 0.7),
                np.pi / 2 + rng.normal(0, 0.1) + (np.pi if rng.random() < 0.5 else 0.0))
        static.append(Actor(f"vehicle_parked_{k}", "vehicle", shapes.vehicle_body(rng, surf, False), None, pose))
    for k in range(cfg.n_poles):
        pose = (rng.uniform(x_lo + 1, x_hi), rng.uniform(-cfg.y_half_m, cfg.y_half_m), 0.0)
        static.append(Actor(f"pole_{k}", "", shapes.pole_body(surf, rng), None, pose))
    for k in range(cfg.n_walls):
        pose = (x_hi + rng.uniform(2.0, 6.0), rng.uniform(-cfg.y_half_m, cfg.y_half_m), rng.normal(0, 0.2)) \
            if k % 2 == 0 else (rng.uniform(x_lo + 4, x_hi), (cfg.y_half_m + 2) * (1 if k % 4 == 1 else -1),
                                np.pi / 2 + rng.normal(0, 0.1))
        static.append(Actor(f"wall_{k}", "", shapes.wall_body(surf, rng), None, pose))
    return static
