"""A world B scene decided by (config, duration, seed): thermal and light conditions, static geometry
(ground, roads, buildings, clutter, hard negatives, parked vehicles) and dynamic agents (people in several
poses, vehicles, cyclists). ``posed(t)`` gives every dynamic object's parts and pose at time t.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import agents, props
from .config import GLSimConfig
from .materials import Palette, ThermalScene
from .mesh import Part, affine, rot_z
from .people import BodyShape, pose_parts, random_body, stride_length
from .vehicles import KIND_WEIGHTS, KINDS, vehicle_materials, vehicle_parts

STREAMS = {"thermal": 1, "light": 2, "rig": 3, "static": 4, "agents": 5, "timing": 6, "color": 10,
           "thermal_noise": 11, "depth": 12, "camera": 13}
PERSON_MODES = ("walk", "walk", "walk", "run", "stand", "wave", "sit", "crouch")
GROUND_SIZE_M = 150.0
GROUND_TILE_M = 6.0
BUILDING_X_M = (36.0, 48.0)
IDLE_RATE_RAD_S = 1.3  # pose phase rate of standing/waving people


def stream(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), STREAMS[name]])


def _u(rng, r) -> float:
    return float(rng.uniform(r[0], r[1]))


def _n(rng, r) -> int:
    return int(rng.integers(r[0], r[1] + 1))


@dataclass(frozen=True)
class Lighting:
    sun_dir: np.ndarray  # (3,) unit vector towards the sun, world
    sun_rgb: np.ndarray  # (3,) sun irradiance per channel
    ambient_rgb: np.ndarray  # (3,)
    sky_rgb: np.ndarray
    lamps: np.ndarray  # (k, 3) world positions of lit lamps


@dataclass
class Agent:
    id: str
    cls: str
    track: agents.Track
    parts: list | None = None  # rigid parts (vehicles)
    body: BodyShape | None = None  # articulated (people)
    mode: str = "walk"
    seat_z: float = 0.45
    # parts offset in the agent frame (a rider on a bicycle)
    offset: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def parts_at(self, t: float) -> tuple[list, np.ndarray, np.ndarray]:
        """(parts in the agent frame, R_world_agent, t_world_agent) at time t."""
        xy, yaw, dist, moving = self.track.at(t)
        if self.body is None:
            parts = self.parts
        else:
            mode = self.mode if (moving or self.mode not in ("walk", "run")) else "stand"
            if mode in ("walk", "run", "cycle"):
                phase = 2 * np.pi * dist / stride_length(self.body, "run" if mode == "run" else "walk")
            else:
                phase = IDLE_RATE_RAD_S * t + sum(map(ord, self.id))  # deterministic per id
            parts = pose_parts(self.body, mode, phase, seat_z=self.seat_z)
            if np.any(self.offset):
                parts = [Part(p.prim, _shifted(p.M, self.offset), p.mat) for p in parts]
        return parts, rot_z(yaw), np.array([xy[0], xy[1], 0.0])


def _shifted(M: np.ndarray, d: np.ndarray) -> np.ndarray:
    M = M.copy()
    M[:3, 3] += d
    return M


class Scene:
    def __init__(self, cfg: GLSimConfig, duration_s: float, seed: int, night: bool = False):
        if duration_s <= 0:
            raise ValueError(f"duration must be > 0 s, got {duration_s}")
        self.cfg, self.duration_s, self.seed, self.night = cfg, float(duration_s), int(seed), night
        self.thermal = self._thermal(stream(seed, "thermal"))
        self.palette = Palette(self.thermal)
        r = stream(seed, "rig")
        self.rig = (_u(r, cfg.rig.height_m), _u(r, cfg.rig.pitch_deg), _u(r, cfg.rig.yaw_deg))
        self.labels: list[tuple[str, str]] = []  # (id, cls); GPU object id = index + 1
        self.static: list[tuple[list, np.ndarray, np.ndarray, int]] = []  # (parts, R, t, gpu id)
        self.agents: list[tuple[Agent, int]] = []
        lamp_pos = self._static_world(stream(seed, "static"))
        self.lighting = self._lighting(stream(seed, "light"), lamp_pos)
        self._agents(stream(seed, "agents"))

    # conditions -------------------------------------------------------------------------------------------
    def _thermal(self, rng) -> ThermalScene:
        c = self.cfg.thermal_scene
        return ThermalScene(_u(rng, c.ambient_c), _u(rng, c.ground_offset_k), c.sky_c, c.body_core_c,
                            _u(rng, c.skin_coupling), _u(rng, c.cloth_coupling),
                            0.0 if self.night else c.solar_heating_k, c.engine_k, c.lamp_k, c.animal_k)

    def _lighting(self, rng, lamps: list) -> Lighting:
        c = self.cfg.light
        el, az = np.deg2rad(_u(rng, c.sun_elevation_deg)), rng.uniform(-np.pi, np.pi)
        sun = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
        tint = 1 + rng.uniform(-c.colour_temp_shift, c.colour_temp_shift) * np.array([1.0, 0.0, -1.0])
        return Lighting(sun, _u(rng, c.sun_level) * tint, _u(rng, c.ambient_level) * np.array(c.sky_rgb) / 0.72,
                        np.array(c.sky_rgb), np.array(lamps[:c.n_lamps]).reshape(-1, 3))

    # static content -----------------------------------------------------------------------------------------
    def label(self, id_: str, cls: str) -> int:
        self.labels.append((id_, cls))
        return len(self.labels)

    def _add_static(self, parts, yaw: float, xy, gpu_id: int = 0) -> None:
        self.static.append((parts, rot_z(yaw), np.array([xy[0], xy[1], 0.0]), gpu_id))

    def _ground(self, rng) -> None:
        pal, w = self.palette, self.cfg.world
        kind = ("grass", "paving", "asphalt")[rng.integers(3)]
        colour = {"grass": [0.2, 0.35, 0.12], "paving": [0.5, 0.48, 0.45], "asphalt": [0.2, 0.2, 0.21]}[kind]
        g = pal.add("ground", np.array(colour) * rng.uniform(0.7, 1.3), "ground", "ground", kind,
                    rng.uniform(0.5, 2.0), solar=1.0)
        half = GROUND_SIZE_M / 2
        tiles = np.arange(-half, half, GROUND_TILE_M) + GROUND_TILE_M / 2
        h = GROUND_TILE_M / 2
        # tiles, not one big quad: the rasteriser clips huge near-plane-crossing triangles very slowly
        self._add_static([Part("quad", affine([x + half - 5, y, 0], [h, h, 1]), g) for x in tiles for y in tiles],
                         0.0, (0, 0))
        road = pal.add("road", [0.16, 0.16, 0.17], "ground", "ground", "asphalt", 1.0, solar=1.0)
        mark = pal.add("marking", [0.85, 0.85, 0.8], "ground", "paint", offset_k=-1.0)
        for x in w.lanes_x_m:
            self._add_static([Part("box", affine([x, y, 0.01], [1.8, h, 0.01]), road) for y in tiles]
                             + [Part("box", affine([x, y, 0.021], [0.06, 0.3 * h, 0.001]), mark) for y in tiles],
                             0.0, (0, 0))

    def _static_world(self, rng) -> list:
        """Ground, roads, buildings, clutter, hard negatives, parked vehicles; returns lamp positions."""
        w = self.cfg.world
        self._ground(rng)
        for _ in range(_n(rng, w.n_buildings)):
            size = (rng.uniform(6, 20), rng.uniform(5, 12), rng.uniform(4, 15))
            self._add_static(props.building(rng, self.palette, size), rng.normal(0, 0.15) + np.pi,
                             (_u(rng, BUILDING_X_M), rng.uniform(-2 * w.y_half_m, 2 * w.y_half_m)))
        lamps = []
        for k in range(max(self.cfg.light.n_lamps, 2)):
            parts, head = props.street_lamp(rng, self.palette, lit=k < self.cfg.light.n_lamps)
            yaw, xy = rng.uniform(-np.pi, np.pi), self._free_xy(rng)
            self._add_static(parts, yaw, xy)
            lamps.append(rot_z(yaw) @ head + [xy[0], xy[1], 0])
        for _ in range(_n(rng, w.n_clutter)):
            make = list(props.CLUTTER.values())[rng.integers(len(props.CLUTTER))]
            self._add_static(make(rng, self.palette), rng.uniform(-np.pi, np.pi), self._free_xy(rng))
        if rng.random() < 0.7:
            self._add_static(props.fence(rng, self.palette, rng.uniform(6, 20)), rng.uniform(-np.pi, np.pi),
                             self._free_xy(rng))
        for _ in range(_n(rng, w.n_negatives)):
            make = list(props.NEGATIVES.values())[rng.integers(len(props.NEGATIVES))]
            self._add_static(make(rng, self.palette), rng.uniform(-np.pi, np.pi), self._free_xy(rng))
        for k in range(_n(rng, w.n_parked)):
            kind = KINDS[rng.choice(3, p=np.array(KIND_WEIGHTS[:3]) / sum(KIND_WEIGHTS[:3]))]
            mats = vehicle_materials(rng, self.palette, running=False, night=self.night)
            parts, _ = vehicle_parts(kind, rng, mats)
            x = w.lanes_x_m[0] - 3.2
            self._add_static(parts, np.pi / 2 * rng.choice([-1, 1]), (x, rng.uniform(-w.y_half_m, w.y_half_m)),
                             self.label(f"vehicle_parked_{k}", "vehicle"))
        return lamps

    def _free_xy(self, rng) -> tuple[float, float]:
        """A random place in the area, off the traffic lanes."""
        w = self.cfg.world
        for _ in range(50):
            x, y = rng.uniform(w.x_range_m[0], w.x_range_m[1] + 8), rng.uniform(-w.y_half_m, w.y_half_m)
            if all(abs(x - lx) > 2.5 for lx in w.lanes_x_m):
                return x, y
        return x, y

    # agents -------------------------------------------------------------------------------------------------
    def _agents(self, rng) -> None:
        w, d = self.cfg.world, self.duration_s + 1.0
        bounds = (w.x_range_m[0], w.x_range_m[1], -w.y_half_m, w.y_half_m)
        n_person = 0
        for _ in range(_n(rng, w.n_people)):
            body = random_body(rng, self.palette, child=bool(rng.random() < w.child_fraction))
            mode = PERSON_MODES[rng.integers(len(PERSON_MODES))]
            start = (rng.uniform(*w.x_range_m), rng.uniform(-w.y_half_m, w.y_half_m))
            if mode in ("walk", "run"):
                speed = _u(rng, w.walk_speed_mps if mode == "walk" else w.run_speed_mps)
                track = agents.wander(rng, start, speed, bounds, d, stops=mode == "walk")
            else:
                track = agents.still(start, rng.uniform(-np.pi, np.pi), d)
            if mode == "sit":
                self._add_static(props.bench(rng, self.palette), track.yaw[0], track.xy[0] - 0.15 * np.array(
                    [np.cos(track.yaw[0]), np.sin(track.yaw[0])]))
            agent = Agent(f"person_{n_person}", "person", track, body=body, mode=mode)
            self.agents.append((agent, self.label(agent.id, "person")))
            n_person += 1
        for k in range(_n(rng, w.n_vehicles)):
            n_person += self._vehicle(rng, k, n_person, d)

    def _vehicle(self, rng, k: int, n_person: int, d: float) -> int:
        """Adds moving vehicle k (a bicycle gets a rider); returns the number of people added."""
        w = self.cfg.world
        kind = KINDS[rng.choice(len(KINDS), p=KIND_WEIGHTS)]
        mats = vehicle_materials(rng, self.palette, running=kind != "bicycle", night=self.night)
        parts, seat = vehicle_parts(kind, rng, mats)
        speed = _u(rng, w.vehicle_speed_mps) * (0.5 if kind == "bicycle" else 1.0)
        lane_x = w.lanes_x_m[k % len(w.lanes_x_m)] + rng.uniform(-0.6, 0.6)
        direction = int(rng.choice([-1, 1]))
        track = agents.lane(lane_x, rng.uniform(-w.y_half_m, w.y_half_m), direction, speed, 2 * w.y_half_m, d)
        agent = Agent(f"vehicle_{k}", "vehicle", track, parts=parts)
        self.agents.append((agent, self.label(agent.id, "vehicle")))
        if seat is None:
            return 0
        body = random_body(rng, self.palette, child=False)
        rider = Agent(f"person_{n_person}", "person", track, body=body, mode="cycle", seat_z=seat - 0.05,
                      offset=np.array([-0.25, 0.0, 0.0]))
        self.agents.append((rider, self.label(rider.id, "person")))
        return 1

    def posed(self, t: float) -> list[tuple[list, np.ndarray, np.ndarray, int]]:
        """Every dynamic object at time t: (parts, R_world_obj, t_world_obj, gpu id)."""
        return [(*a.parts_at(t), gid) for a, gid in self.agents]
