"""Domain randomisation: sample intrinsics, extrinsics, noise, temperatures, light and timing around the
configured values (ranges in :class:`~tracker.sim.config.RandomizeConfig`)."""
from __future__ import annotations

import numpy as np

from tracker.data.contract import CAMERAS

from .config import SimConfig, replace


def randomize_config(cfg: SimConfig, rng: np.random.Generator) -> SimConfig:
    r = cfg.randomize

    def u(half: float) -> float:
        return float(rng.uniform(-half, half))

    def scale(rng_pair) -> float:
        return float(rng.uniform(*rng_pair))

    cams = {}
    for name in CAMERAS:
        c = cfg.camera(name)
        f = 0.5 * c.width / np.tan(np.deg2rad(c.hfov_deg) / 2) * (1 + u(r.focal_rel))
        kw = dict(hfov_deg=float(np.rad2deg(2 * np.arctan(0.5 * c.width / f))),
                  principal_offset_px=(u(r.principal_px), u(r.principal_px)),
                  jitter_s=c.jitter_s * scale(r.jitter_scale))
        if name != "color":
            kw.update(position=tuple(float(p + u(r.extrinsic_m)) for p in c.position),
                      rpy_deg=tuple(float(a + u(r.extrinsic_deg)) for a in c.rpy_deg),
                      offset_s=float(np.clip(c.offset_s + u(r.offset_s), -0.5, 0.5)))
        if rng.random() < r.rate_change_prob:
            kw["rate_hz"] = float(rng.choice(r.rate_choices_hz))
        cams[name] = replace(c, **kw)
    noise = scale(r.noise_scale)
    light = cfg.lighting
    light = replace(light, light_level=light.light_level * scale(r.light_scale),
                    read_noise=light.read_noise * noise, shot_noise=light.shot_noise * scale(r.noise_scale),
                    sun_azimuth_deg=float(rng.uniform(0, 360)), sun_elevation_deg=float(rng.uniform(10, 70)))
    th = cfg.thermal_scene
    th = replace(th, ambient_c=th.ambient_c + u(r.temperature_k),
                 ground_offset_k=th.ground_offset_k + u(r.temperature_k / 2),
                 skin_coupling=float(np.clip(th.skin_coupling + u(r.coupling), 0, 1)),
                 cloth_coupling=float(np.clip(th.cloth_coupling + u(r.coupling), 0, 1)),
                 noise_k=th.noise_k * scale(r.noise_scale), nonuniformity_k=th.nonuniformity_k * scale(r.noise_scale),
                 blur_sigma_px=th.blur_sigma_px * scale((0.5, 1.8)))
    d = cfg.depth_sensor
    dn = scale(r.noise_scale)
    d = replace(d, noise_base_m=d.noise_base_m * dn, noise_quadratic=d.noise_quadratic * dn,
                max_range_m=d.max_range_m * scale((0.7, 1.5)))
    rig = replace(cfg.rig, height_m=max(0.5, cfg.rig.height_m + u(r.rig_height_m)),
                  pitch_deg=cfg.rig.pitch_deg + u(r.rig_pitch_deg), yaw_deg=u(20.0))
    world = replace(cfg.world, n_people=int(rng.integers(r.people[0], r.people[1] + 1)),
                    n_vehicles=int(rng.integers(0, cfg.world.n_vehicles + 2)))
    return replace(cfg, color=cams["color"], thermal=cams["thermal"], depth=cams["depth"], lighting=light,
                   thermal_scene=th, depth_sensor=d, rig=rig, world=world)
