"""World B (tracker.sim_gl): ground truth against its own render passes, thermal and depth physics,
determinism. Small images and few frames (one OpenGL context per module)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tracker.sim_gl.config import GLSimConfig, with_overrides
from tracker.sim_gl.engine import World
from tracker.sim_gl.geometry import assemble
from tracker.data.gt_rules import in_image_fraction

SMALL = {"color": {"width": 192, "height": 144}, "thermal": {"width": 160, "height": 128},
         "depth": {"width": 192, "height": 144}, "light": {"shadow_map_px": 256},
         "world": {"n_people": (5, 5), "n_vehicles": (1, 1), "n_parked": (1, 1), "n_buildings": (1, 1),
                   "n_clutter": (3, 3), "n_negatives": (2, 2), "x_range_m": (4.0, 14.0), "y_half_m": 5.0}}
TIMES = (0.2, 0.6, 1.0)


def small_config(**extra) -> GLSimConfig:
    cfg = with_overrides(GLSimConfig(), SMALL)
    return with_overrides(cfg, extra) if extra else cfg


@pytest.fixture(scope="module")
def world():
    w = World(small_config(thermal_scene={"ambient_c": (15.0, 15.0), "ground_offset_k": (1.0, 1.0)}), 1.5, 4)
    yield w
    w.close()


@pytest.fixture(scope="module")
def colour_frames(world):
    return [world.render("color", t) for t in TIMES]


def test_scene_has_people_vehicles_and_labels(world):
    classes = [c for _, c in world.scene.labels]
    assert classes.count("person") >= 5 and "vehicle" in classes
    ids = [i for i, _ in world.scene.labels]
    assert len(set(ids)) == len(ids)


def test_gt_boxes_enclose_the_rendered_pixels_of_each_object(colour_frames, world):
    checked = 0
    for f in colour_frames:
        gid_of = {ident: k + 1 for k, (ident, _) in enumerate(world.scene.labels)}
        for o in f.gt:
            v, u = np.nonzero(f.ids == gid_of[o.id])
            if len(u) == 0:
                continue
            x1, y1, x2, y2 = o.box2d
            assert u.min() >= x1 - 0.5 and u.max() <= x2 + 0.5, o.id
            assert v.min() >= y1 - 0.5 and v.max() <= y2 + 0.5, o.id
            checked += 1
    assert checked >= 3


def test_visibility_is_visible_over_alone_pixels(world):
    """Visibility = pixels of the object in the id pass / pixels of the object rendered with nothing else,
    x the in-image fraction of its box (the alone render is done here, independently of the GT code)."""
    t = TIMES[1]
    f = world.render("color", t)
    gid_of = {ident: k + 1 for k, (ident, _) in enumerate(world.scene.labels)}
    gl, cam = world.gl, world.cameras["color"]
    seen = []
    for o in f.gt:
        gid = gid_of[o.id]
        static = [s for s in world.scene.static if s[3] == gid]
        dynamic = [p for p in world.scene.posed(t) if p[3] == gid]
        gl.set_static(assemble(static))
        gl.set_dynamic(assemble(dynamic))
        _, aux = gl.render("color", cam, world.T_world_cam("color"))
        alone = int(np.count_nonzero(np.rint(aux[..., 1]) == gid))
        visible = int(np.count_nonzero(f.ids == gid))
        expected = visible / alone * in_image_fraction(o.box2d, cam.width, cam.height) if alone else 0.0
        assert o.visibility == pytest.approx(min(expected, 1.0), abs=1e-6), o.id
        seen.append(o.visibility)
    gl.set_static(world._static)  # restore the scene for the other tests
    assert len(seen) >= 3 and min(seen) < 0.999  # something is occluded or cut by the border


def test_person_is_warmer_than_the_ground_at_15c(world):
    f = world.render("thermal", TIMES[1])
    kelvin = f.image.astype(np.float64) / 100.0
    person_ids = [k + 1 for k, (_, c) in enumerate(world.scene.labels) if c == "person"]
    person = np.isin(f.ids, person_ids)
    assert person.sum() > 20
    ground = (f.ids == 0) & (np.arange(f.ids.shape[0])[:, None] > 0.8 * f.ids.shape[0])
    assert np.median(kelvin[person]) > np.median(kelvin[ground]) + 4.0
    assert 273.15 + 25 < np.percentile(kelvin[person], 90) < 273.15 + 37


def test_depth_at_a_person_box_centre_is_the_gt_distance(world, colour_frames):
    cfg, dep = world.cfg.depth_sensor, world.cameras["depth"]
    T_depth_color = world.extrinsics["depth"].inverse()
    checked = 0
    for t, f in zip(TIMES, colour_frames):
        d = world.render("depth", t)
        metres = np.where(d.image > 0, d.image / 1000.0, np.nan)
        for o in f.gt:
            if o.cls != "person" or o.visibility < 0.9 or o.center3d[2] > cfg.max_range_m - 2:
                continue
            p = T_depth_color.apply(o.center3d)
            uv, _ = dep.project(p[None])
            u, v = uv[0]
            patch = metres[int(v) - 1:int(v) + 2, int(u) - 1:int(u) + 2]
            if np.isfinite(patch).sum() == 0:
                continue
            z = np.nanmedian(patch)
            sigma = cfg.noise_base_m + cfg.noise_quadratic * p[2] ** 2
            assert abs(z - p[2]) < 0.5 * max(o.size3d[:2]) + 3 * sigma, (o.id, z, p[2])
            checked += 1
    assert checked >= 1


def _render_targets(world, name: str, t: float) -> tuple:
    world.gl.set_dynamic(assemble(world.scene.posed(t), labelled=name == "color"))
    col, aux = world.gl.render(name, world.cameras[name], world.T_world_cam(name), shading=name != "depth")
    return col.copy(), aux.copy()


def test_static_cache_with_moving_shadows_matches_a_full_redraw(world, monkeypatch):
    """The cached static scene, re-shaded where this and the last frame's moving objects and their shadows
    fall, equals rasterising everything (radiance, temperature, z, ids); without the re-shading the moving
    shadows on the ground would be lost."""
    from tracker.sim_gl import gl as glmod
    gl, t = world.gl, TIMES[1]
    settings = gl.cache
    gl.cache = dataclasses.replace(settings, tile_px=4, margin_tiles=3)  # fine tiles: little re-shaded twice
    cached = {}
    for n in ("color", "thermal", "depth"):  # the last frame's moving objects (3 m aside) must be erased
        aside = [(parts, R, p + np.array([0.0, -3.0, 0.0]), g) for parts, R, p, g in world.scene.posed(t)]
        gl.set_dynamic(assemble(aside))
        gl.render(n, world.cameras[n], world.T_world_cam(n), shading=n != "depth")
        cached[n] = _render_targets(world, n, t)
    with monkeypatch.context() as m:
        m.setattr(glmod, "tile_rects", lambda *a: [])
        gl.targets["color"].dirty = None  # target content unknown: a plain copy of the static cache
        lost = _render_targets(world, "color", t)
    gl.cache = glmod.NO_CACHE
    try:
        full = {n: _render_targets(world, n, t) for n in ("color", "thermal", "depth")}
    finally:
        gl.cache = settings
    for n in cached:
        (c_col, c_aux), (f_col, f_aux) = cached[n], full[n]
        assert np.array_equal(c_col[..., 3], f_col[..., 3]), n  # camera z
        assert np.array_equal(c_aux[..., 1:], f_aux[..., 1:]), n  # ids, reflective flag, albedo
        assert np.allclose(c_col[..., :3], f_col[..., :3], rtol=1e-4, atol=1e-4), n
        assert np.allclose(c_aux[..., 0], f_aux[..., 0], rtol=0, atol=1e-3), n  # kelvin
    static = np.rint(full["color"][1][..., 1]) == 0
    darker = full["color"][0][..., :3].sum(-1) < lost[0][..., :3].sum(-1) - 1e-3
    assert np.count_nonzero(darker & static) > 20  # moving objects do shadow the static scene


def test_same_seed_gives_identical_frames_and_another_seed_differs():
    cfg = small_config()
    frames = []
    for seed in (7, 7, 8):
        w = World(cfg, 0.5, seed)
        frames.append([(f.image.copy(), f.gt) for f in w.frames(w.events[:6])])
        w.close()
    for (a, ga), (b, gb) in zip(frames[0], frames[1]):
        assert np.array_equal(a, b)
        assert (ga is None) == (gb is None)
        if ga:
            assert [(o.id, o.box2d, o.visibility) for o in ga] == [(o.id, o.box2d, o.visibility) for o in gb]
    assert not all(np.array_equal(a, c) for (a, _), (c, _) in zip(frames[0], frames[2]))


def test_dropout_preset_silences_the_thermal_camera_for_its_outage():
    from tracker.sim_gl.config import GLSimConfig, apply_presets
    from tracker.sim_gl.rig import timeline
    cfg = apply_presets(GLSimConfig(), "dropout")
    ev = timeline(cfg, 9.0, np.random.default_rng(0))
    thermal = [t for t, n in ev if n == "thermal"]
    assert thermal and not [t for t in thermal if 3.0 <= t < 7.0]
    assert [t for t in thermal if t >= 7.0] and [t for t in thermal if t < 3.0]
    colour = [t for t, n in ev if n == "color"]
    assert len(colour) == len([t for t, n in timeline(GLSimConfig(), 9.0, np.random.default_rng(0)) if n == "color"])


def test_camera_random_draws_the_rgb_lens_per_scene_and_is_off_by_default():
    from tracker.sim_gl.config import GLCameraRandom
    sizes, fov = (192, 144, 256, 144), (50.0, 90.0)
    cfg = small_config(camera_random={"color_sizes_px": sizes, "color_hfov_deg": fov})
    drawn = set()
    for seed in range(8):
        w = World(cfg, 0.5, seed)
        cam = w.cameras["color"]
        assert (cam.width, cam.height) in {(192, 144), (256, 144)} and w.cfg.color.width == cam.width
        assert fov[0] <= w.cfg.color.hfov_deg <= fov[1]
        assert w.render("color", 0.1).image.shape[:2] == (cam.height, cam.width)
        drawn.add((cam.width, round(w.cfg.color.hfov_deg, 3)))
        again = World(cfg, 0.5, seed)  # same seed: same lens
        assert (again.cameras["color"].width, again.cfg.color.hfov_deg) == (cam.width, w.cfg.color.hfov_deg)
        w.close(), again.close()
    assert len({d[0] for d in drawn}) == 2 and len(drawn) == 8
    plain = small_config()
    w = World(plain, 0.5, 3)
    assert w.cfg == plain  # off: the configured camera, nothing drawn
    w.close()
    with pytest.raises(ValueError, match="pairs"):
        GLCameraRandom(color_sizes_px=(640, 480, 1280))
