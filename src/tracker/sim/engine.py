"""The scenario (world, rig, timeline from one seed) and the renderer that turns it into frames + GT."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.common.geometry import Transform
from tracker.data.contract import CAMERAS
from tracker.data.gt_rules import in_image_fraction, near_view
from tracker.data.rendered import Frame

from . import groundtruth as gt
from . import parallel, raster, sensors
from .config import SimConfig
from .randomize import randomize_config
from .rig import RigMotion, camera_models, extrinsics
from .timing import timeline
from .view import View
from .world import build_world

RENDER_MODES = ("serial", "threads", "processes")

# independent random streams, one per job, all derived from the seed
STREAMS = {"randomize": 1, "world": 2, "rig": 3, "timing": 4, "color": 10, "thermal": 11, "depth": 12}


def stream(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), STREAMS[name]])


class Scenario:
    """Everything that is decided by (config, duration, seed): randomised config, world, rig motion, frame
    times. No images."""

    def __init__(self, cfg: SimConfig, duration_s: float, seed: int, randomize: bool = False):
        if duration_s <= 0:
            raise ValueError(f"duration must be > 0 s, got {duration_s}")
        self.seed = int(seed)
        self.duration_s = float(duration_s)
        self.cfg = randomize_config(cfg, stream(seed, "randomize")) if randomize else cfg
        self.world = build_world(self.cfg.world, duration_s + 1.0, stream(seed, "world"))
        self.rig = RigMotion(self.cfg.rig, duration_s, stream(seed, "rig"))
        self.cameras = camera_models(self.cfg)
        self.extrinsics = extrinsics(self.cfg)  # T_color_<name>
        self.events = timeline(self.cfg, duration_s, stream(seed, "timing"))
        self.labelled = [a for a in self.world.dynamic] + [a for a in self.world.static if a.cls]
        self.n_dynamic = len(self.world.dynamic)

    def stamp(self, t_rel: float) -> float:
        return self.cfg.start_time_s + t_rel

    def T_world_cam(self, name: str, t_rel: float) -> Transform:
        return self.rig.pose(t_rel) @ self.extrinsics[name]

    def labelled_at(self, t_rel: float):
        dyn = self.world.dynamic_at(t_rel)
        static = [self.world.posed(a, 0.0) for a in self.world.static if a.cls]
        return dyn + static

    def gt_objects(self, t_rel: float, visibility: dict | None = None) -> list[gt.GTObject]:
        """Labelled objects in or near the colour view at t_rel. ``visibility``: {index: fraction} from a
        render; without it, visibility is estimated from box overlaps (render-free)."""
        cam = self.cameras["color"]
        T_cw = self.T_world_cam("color", t_rel).inverse()
        cands = []
        for idx, p in enumerate(self.labelled_at(t_rel)):
            center, size, quat = gt.box3d(p, T_cw)
            if center[2] < self.cfg.near_m:
                continue
            box = gt.box2d(p, T_cw, cam, self.cfg.near_m)
            if box is None or not near_view(box, cam.width, cam.height, self.cfg.gt_margin_px):
                continue
            cands.append((idx, p, box, center, size, quat))
        if visibility is None:
            occluders = [(gt.box2d(s, T_cw, cam, self.cfg.near_m), float(T_cw.apply(s.box_center_world())[2]))
                         for s in self.world.static_posed() if not s.cls]
            occluders = [o for o in occluders if o[0] is not None]
            boxes = [c[2] for c in cands] + [o[0] for o in occluders]
            depths = [float(c[3][2]) for c in cands] + [o[1] for o in occluders]
            vis = gt.box_occlusion_visibility(boxes, depths, cam.width, cam.height)[:len(cands)]
        else:
            # rendered visible / silhouette pixels, times the in-image fraction of the amodal box
            vis = [visibility.get(c[0], 0.0) * in_image_fraction(c[2], cam.width, cam.height) for c in cands]
        return [gt.GTObject(p.id, p.cls, box, float(np.clip(v, 0, 1)), center, size, quat)
                for (idx, p, box, center, size, quat), v in zip(cands, vis)]


class Renderer:
    """Renders the scenario's frames; keeps per-camera state (rays, noise banks, static background)."""

    def __init__(self, scenario: Scenario, cameras=CAMERAS):
        """``cameras``: the cameras this renderer can render (a worker process needs only its own)."""
        self.sc = scenario
        cfg = scenario.cfg
        self.surfaces = sensors.surface_arrays(scenario.world.surfaces, cfg.thermal_scene, cfg.depth_sensor)
        self.sun_world = sensors.sun_direction_world(cfg.lighting)
        self.views = {n: View(scenario.cameras[n]) for n in cameras}
        self.rngs = {n: stream(scenario.seed, n) for n in cameras}
        self.banks = {}
        for n in cameras:  # each camera's stream draws its banks in the same order whatever the other cameras
            v = self.views[n]
            self.banks[n] = sensors.NoiseBank(self.rngs[n], v.h, v.w, 3 if n == "color" else 1)
        if "depth" in cameras:
            self.depth_bank2 = sensors.NoiseBank(self.rngs["depth"], self.views["depth"].h, self.views["depth"].w)
        if "thermal" in cameras:
            tv = self.views["thermal"]
            self.fpn = sensors.thermal_fixed_pattern(self.rngs["thermal"], tv.h, tv.w)
        self._background: dict = {}

    def _static_buffers(self, name: str, T_world_cam: Transform, light_cam: np.ndarray):
        view = self.views[name]
        T_cw = T_world_cam.inverse()
        b = raster.ground(view, T_world_cam, light_cam)
        sil = {}
        labelled_static = {a.id: i for i, a in enumerate(self.sc.labelled)}
        for p in self.sc.world.static_posed():
            idx = labelled_static.get(p.id, -1) if p.cls else -1
            r = raster.raster_object(b, view, T_cw, p, idx, light_cam, self.surfaces.tex_freq)
            if idx >= 0:
                sil[idx] = r.silhouette_px
        return b, sil

    def render(self, name: str, t_rel: float) -> Frame:
        sc, cfg = self.sc, self.sc.cfg
        view = self.views[name]
        T_wc = sc.T_world_cam(name, t_rel)
        T_cw = T_wc.inverse()
        light_cam = T_cw.R @ self.sun_world
        if sc.rig.static:
            if name not in self._background:
                bg, sil_static = self._static_buffers(name, T_wc, light_cam)
                self._background[name] = (bg, sil_static, bg.copy(), [])
            bg, sil_static, b, dirty = self._background[name]
            # the working buffers differ from the background only inside the previous frame's object regions
            for v0, v1, u0, u1 in dirty:
                for src, dst in ((bg.depth, b.depth), (bg.sid, b.sid), (bg.shade, b.shade), (bg.tex, b.tex),
                                 (bg.obj, b.obj)):
                    dst[v0:v1, u0:u1] = src[v0:v1, u0:u1]
        else:
            b, sil_static = self._static_buffers(name, T_wc, light_cam)
            dirty = None
        posed = sc.world.dynamic_at(t_rel)
        rasters = raster.raster_objects(b, view, T_cw, posed, range(len(posed)), light_cam, self.surfaces.tex_freq,
                                        silhouettes=name == "color", shading=name == "color")
        if dirty is not None:
            dirty[:] = [r.region for r in rasters if r.region is not None]
        cam_cfg = cfg.camera(name)
        rng = self.rngs[name]
        objects = None
        if name == "color":
            blur = self._blur(rasters, posed, T_cw, cfg.lighting.exposure_s)
            linear = None if dirty is None else self._per_pixel(
                name, "linear", bg, b, dirty,
                lambda x: sensors.rgb_linear(x, self.surfaces, cfg.lighting, cfg.atmosphere))
            img = sensors.render_rgb(b, self.surfaces, cfg.lighting, cfg.atmosphere, cfg.glare, self.banks[name], rng,
                                     blur=blur, linear=linear)
            objects = sc.gt_objects(t_rel, self._visibility(b, rasters, sil_static))
        elif name == "thermal":
            base = None if dirty is None else self._per_pixel(
                name, "kelvin", bg, b, dirty, lambda x: sensors.thermal_base(x, self.surfaces, cfg.thermal_scene,
                                                                             cfg.atmosphere))
            img = sensors.render_thermal(b, self.surfaces, cfg.thermal_scene, cfg.atmosphere, self.banks[name],
                                         self.fpn, rng, cam_cfg.encoding, base=base)
        else:
            base = None if dirty is None else self._per_pixel(
                name, "depth", bg, b, dirty, lambda x: sensors.depth_base(x, self.surfaces, cfg.depth_sensor),
                margin=cfg.depth_sensor.edge_width_px, copy=False)
            img = sensors.render_depth(b, self.surfaces, cfg.depth_sensor, cfg.atmosphere, cfg.glare,
                                       self.banks[name], self.depth_bank2, rng, cam_cfg.encoding, base=base)
        return Frame(name, t_rel, sc.stamp(t_rel), img, cam_cfg.encoding, objects)

    def _per_pixel(self, name: str, kind: str, bg: raster.Buffers, b: raster.Buffers, dirty: list, fn,
                   margin: int = 0, copy: bool = True):
        """``fn(buffers)`` (an array or a tuple of arrays, per pixel up to ``margin`` pixels of context) of the
        working buffers ``b``: cached for the static background ``bg`` and recomputed only in the ``dirty``
        regions (grown by ``margin``). A fresh copy unless ``copy`` is False and nothing was recomputed."""
        key = f"{name}:{kind}"
        if key not in self._background:
            self._background[key] = fn(bg)
        cached = self._background[key]
        single = not isinstance(cached, tuple)
        arrays = (cached,) if single else cached
        if not dirty and not copy:
            return cached
        out = tuple(a.copy() for a in arrays)
        H, W = b.depth.shape
        m2 = 2 * margin
        for v0, v1, u0, u1 in dirty:
            e0, e1, f0, f1 = max(v0 - m2, 0), min(v1 + m2, H), max(u0 - m2, 0), min(u1 + m2, W)
            w0, w1, x0, x1 = max(v0 - margin, 0), min(v1 + margin, H), max(u0 - margin, 0), min(u1 + margin, W)
            sub = raster.Buffers(b.depth[e0:e1, f0:f1], b.sid[e0:e1, f0:f1], b.shade[e0:e1, f0:f1],
                                 b.tex[e0:e1, f0:f1], b.obj[e0:e1, f0:f1])
            res = fn(sub)
            for o, r in zip(out, (res,) if single else res):
                o[w0:w1, x0:x1] = r[w0 - e0:w1 - e0, x0 - f0:x1 - f0]
        return out[0] if single else out

    def render_events(self, events, mode: str = "serial", lookahead: int = 6):
        """Frames of ``events`` ([(t_rel, camera)], in order), yielded in the same order and identical in every
        mode (each camera's frames and random draws keep their order):

        - ``serial``: :meth:`render` one by one.
        - ``threads``: one thread per camera (numpy/cv2 release the GIL only in part; little gain).
        - ``processes``: one worker process per camera (:mod:`tracker.sim.parallel`: started by a forkserver
          or spawned, never forked from this process, so safe in a program that runs threads), frames sent
          back through pipes; uses every core. Each worker starts from this renderer's current state (noise
          streams: :meth:`camera_job`), which does not advance, so render a scenario's events in one call.
          Falls back to ``serial`` where the platform cannot start processes.

        ``lookahead``: frames rendered ahead of the consumer (threads)."""
        if mode not in RENDER_MODES:
            raise ValueError(f"render mode {mode!r}: expected one of {', '.join(RENDER_MODES)}")
        events = list(events)
        method = parallel.start_method() if mode == "processes" else None
        if method is not None:
            yield from parallel.render_processes(self, events, method)
        elif mode == "threads":
            yield from parallel.render_threads(self, events, lookahead)
        else:
            for t_rel, cam in events:
                yield self.render(cam, t_rel)

    def camera_job(self, name: str) -> "CameraJob":
        """What a worker process needs to render camera ``name`` as this renderer would (small, picklable)."""
        return CameraJob(self.sc, name, self.rngs[name].bit_generator.state)

    def _visibility(self, b: raster.Buffers, rasters, sil_static: dict) -> dict:
        sc = self.sc
        n = len(sc.labelled)
        obj = b.obj[b.obj >= 0]
        visible = np.bincount(obj.ravel(), minlength=n) if obj.size else np.zeros(n, int)
        sil = {r.index: r.silhouette_px for r in rasters}
        sil.update(sil_static)
        return {i: float(visible[i]) / s for i, s in sil.items() if s > 0}

    def _blur(self, rasters, posed, T_cw: Transform, exposure_s: float) -> list:
        if exposure_s <= 0:
            return []
        cam = self.sc.cameras["color"]
        out = []
        for r, p in zip(rasters, posed):
            if r.region is None or not np.any(p.velocity):
                continue
            c0 = T_cw.apply(p.box_center_world())
            c1 = T_cw.apply(p.box_center_world() + p.velocity * exposure_s)
            if c0[2] <= 0.3 or c1[2] <= 0.3:
                continue
            uv, _ = cam.project(np.stack([c0, c1]))
            d = uv[1] - uv[0]
            out.append((r.region, (float(d[0]), float(d[1]))))
        return out


@dataclass(frozen=True)
class CameraJob:
    """One camera of a scenario for a worker process: the scenario, the camera and the current state of its
    random stream. The rest (rays, noise banks, background) is rebuilt identically from these, so the worker's
    frames continue those of the renderer the job came from."""
    scenario: Scenario
    camera: str
    rng_state: dict

    def renderer(self) -> Renderer:
        r = Renderer(self.scenario, cameras=(self.camera,))
        r.rngs[self.camera].bit_generator.state = self.rng_state
        return r
