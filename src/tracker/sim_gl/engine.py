"""World B engine: a scene, its rig and timeline, the GL rasteriser and the sensors, rendering frames with
ground truth. Same (config, duration, seed) -> identical frames."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from tracker.common.geometry import Transform
from tracker.data.rendered import Frame

from . import groundtruth as gt
from .config import GLSimConfig
from .geometry import Geometry, assemble
from .gl import CacheSettings, GLRenderer
from .materials import KELVIN_0C
from .rig import camera_models, colour_pose, extrinsics, timeline
from .scene import Scene, stream
from .sensors import DepthSensor, RGBSensor, ThermalSensor


class World:
    """Everything decided by (config, duration, seed), and the renderer of its frames."""

    def __init__(self, cfg: GLSimConfig, duration_s: float, seed: int):
        cfg = replace(cfg, color=cfg.camera_random.draw(cfg.color, stream(seed, "camera")))  # this scene's lens
        self.cfg, self.seed = cfg, int(seed)
        self.night = cfg.light.sun_level[1] <= 0
        self.scene = Scene(cfg, duration_s, seed, self.night)
        self.duration_s = self.scene.duration_s
        self.cameras = camera_models(cfg)
        self.extrinsics = extrinsics(cfg)  # T_color_<camera>
        self.T_world_color = colour_pose(*self.scene.rig)
        self.events = timeline(cfg, duration_s, stream(seed, "timing"))
        self._static = assemble(self.scene.static)
        self._gl: GLRenderer | None = None
        self.sensors = self._sensors()

    def _sensors(self) -> dict:
        c = self.cfg
        col, th, dep = self.cameras["color"], self.cameras["thermal"], self.cameras["depth"]
        return {"color": RGBSensor(c.light, c.atmosphere, self.scene.lighting, col.height, col.width,
                                   stream(self.seed, "color")),
                "thermal": ThermalSensor(c.thermal_scene, c.atmosphere, th.height, th.width,
                                         stream(self.seed, "thermal_noise"), c.thermal.encoding),
                "depth": DepthSensor(c.depth_sensor, c.atmosphere, dep.height, dep.width, stream(self.seed, "depth"),
                                     c.depth.encoding)}

    @property
    def gl(self) -> GLRenderer:
        """The rasteriser, created on first use (an OpenGL context)."""
        if self._gl is None:
            c = self.cfg
            self._gl = GLRenderer(self.scene.palette.table(), self.cameras, c.light.shadow_map_px, c.near_m / 4,
                                  c.far_m, CacheSettings(c.light.cache_static, c.light.shadow_tile_px,
                                                         c.light.shadow_margin_tiles))
            self._gl.set_static(self._static)
            self._gl.set_lighting(self.scene.lighting, c.thermal_scene.sky_c + KELVIN_0C,
                                  self.scene.thermal.air_c + KELVIN_0C, c.light.lamp_power,
                                  float(np.max(self.scene.lighting.sun_rgb)))
        return self._gl

    def stamp(self, t_rel: float) -> float:
        return self.cfg.start_time_s + t_rel

    def T_world_cam(self, name: str) -> Transform:
        return self.T_world_color @ self.extrinsics[name]

    def render(self, name: str, t_rel: float) -> Frame:
        dyn = assemble(self.scene.posed(t_rel), labelled=name == "color")
        gl = self.gl
        gl.set_dynamic(dyn)
        cam = self.cameras[name]
        col, aux = gl.render(name, cam, self.T_world_cam(name), shading=name != "depth")
        enc = self.cfg.camera(name).encoding
        ids = np.rint(aux[..., 1]).astype(np.int32)
        if name == "color":
            return Frame(name, t_rel, self.stamp(t_rel), self.sensors[name].image(col), enc,
                         self._ground_truth(dyn, ids), ids)
        return Frame(name, t_rel, self.stamp(t_rel), self.sensors[name].image(col, aux), enc, None, ids)

    def _ground_truth(self, dyn: Geometry, ids: np.ndarray) -> list:
        cam, c = self.cameras["color"], self.cfg
        objects = {**self._static.objects, **dyn.objects}
        T_cw = self.T_world_cam("color").inverse()
        cands = gt.candidates(objects, cam, T_cw, c.near_m, c.gt_margin_px)
        bounds = {g: b for g, b in ((g, gt.pixel_bounds(box, cam.width, cam.height)) for g, box, *_ in cands)
                  if b is not None}
        sil = self.gl.silhouettes("color", bounds, frozenset(self._static.objects))
        return gt.ground_truth(cands, self.scene.labels, ids, sil, cam.width, cam.height)

    def frames(self, events=None):
        """Frames of ``events`` ([(t_rel, camera)], default all), in order."""
        for t, name in (self.events if events is None else events):
            yield self.render(name, t)

    def close(self) -> None:
        if self._gl is not None:
            self._gl.release()
            self._gl = None

