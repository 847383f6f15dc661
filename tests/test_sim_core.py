"""Simulator behaviour: determinism, presets, timing, GT consistency, thermal contrast, render-free GT."""
import numpy as np
import pytest

from tracker.common.config import ConfigError
from tracker.data.contract import CAMERAS, counts_to_kelvin
from tracker.data.reader import BagReader
from tracker.sim import ground_truth_sequence, simulate
from tracker.sim.config import SimConfig, load_sim_config, with_overrides
from tracker.sim.engine import Renderer, Scenario
from tracker.sim.presets import PRESETS, apply_presets
from tracker.sim.timing import timeline

SMALL = {"color": {"width": 160, "height": 120}, "thermal": {"width": 160, "height": 128},
         "depth": {"width": 160, "height": 120}}


def small(presets=None, **extra):
    over = {k: dict(v) for k, v in SMALL.items()}
    for k, v in extra.items():
        over.setdefault(k, {}).update(v)
    return apply_presets(with_overrides(SimConfig(), over), presets)


def test_yaml_mirrors_defaults():
    assert load_sim_config() == SimConfig()


def test_same_seed_same_messages(tmp_path):
    paths = [simulate("day", 0.4, 5, out_dir=tmp_path / str(k), config=small(), progress=False) for k in (0, 1)]
    other = simulate("day", 0.4, 6, out_dir=tmp_path / "2", config=small(), progress=False)
    msgs = [[(t, s, bytes(m.data) if hasattr(m, "data") else repr(m)) for t, s, m in BagReader(p).messages()]
            for p in (*paths, other)]
    assert msgs[0] == msgs[1] and len(msgs[0]) > 30
    assert msgs[0] != msgs[2]


def test_presets_compose_and_unknown_is_rejected():
    cfg = apply_presets(SimConfig(), "night,dropout")
    assert cfg.lighting.light_level < 0.01 and cfg.dropout.camera == "thermal"
    assert set(PRESETS) >= {"day", "night", "smoke", "crossover", "glare", "dropout", "framedrop"}
    with pytest.raises(ConfigError, match="valid presets"):
        apply_presets(SimConfig(), "nigth")


def test_stamps_distinct_dropout_and_framedrop():
    cfg = apply_presets(SimConfig(), "dropout")
    ev = timeline(cfg, 10.0, np.random.default_rng(0))
    stamps = [round(t * 1e9) for t, _ in ev]
    assert len(set(stamps)) == len(stamps)
    th = np.array([t for t, c in ev if c == "thermal"])
    assert not np.any((th > 3.05) & (th < 6.95)) and np.any(th > 7.0)
    assert sum(c == "color" for _, c in ev) >= 299
    drop = timeline(apply_presets(SimConfig(), "framedrop"), 10.0, np.random.default_rng(0))
    n = sum(c == "color" for _, c in drop)
    assert 240 < n < 295


def _frames(cfg, seconds, seed=3):
    sc = Scenario(cfg, max(seconds) + 0.5, seed)
    r = Renderer(sc)
    out = []
    for t in seconds:
        out.append({c: r.render(c, t + k * 1e-4) for k, c in enumerate(CAMERAS)})
    return sc, out


def test_gt_boxes_consistent_with_3d_and_depth():
    cfg = small(world={"n_people": 6, "n_crossing_pairs": 1})
    sc, frames = _frames(cfg, [0.5, 1.5, 2.5])
    cam = sc.cameras["color"]
    checked = 0
    for fr in frames:
        objs = fr["color"].gt
        assert objs
        for o in objs:
            uv, front = cam.project(o.center3d[None])
            x1, y1, x2, y2 = o.box2d
            assert front[0] and x1 - 1 <= uv[0, 0] <= x2 + 1 and y1 - 1 <= uv[0, 1] <= y2 + 1
            # height of the projected 3D box agrees with the 2D box height within 25 %
            h3 = cam.fy * o.size3d[2] / o.center3d[2]
            if o.cls == "person":
                assert abs((y2 - y1) - h3) < 0.25 * h3 + 2
            if o.cls != "person" or o.visibility < 0.95 or not (5 < uv[0, 0] < cam.width - 5):
                continue
            # depth at the person's centre (in the depth camera) agrees with its 3D position
            p_d = sc.extrinsics["depth"].inverse().apply(o.center3d[None])
            uvd, _ = sc.cameras["depth"].project(p_d)
            u, v = np.round(uvd[0]).astype(int)
            if not (1 <= u < 159 and 1 <= v < 119) or p_d[0, 2] > cfg.depth_sensor.max_range_m - 1:
                continue
            d = fr["depth"].image[v - 1:v + 2, u - 1:u + 2].astype(float) / 1000
            d = d[d > 0]
            if d.size == 0:
                continue
            z = p_d[0, 2]
            tol = 0.5 * max(o.size3d[:2]) + 3 * (cfg.depth_sensor.noise_base_m + cfg.depth_sensor.noise_quadratic * z * z)
            assert abs(np.median(d) - z) < tol
            checked += 1
    assert checked >= 1


def _thermal_contrast(preset):
    cfg = small(preset, world={"n_people": 4, "n_crossing_pairs": 2, "n_vehicles": 0, "n_parked": 0})
    sc, frames = _frames(cfg, [1.0, 2.0])
    cams = sc.cameras
    diffs = []
    for fr in frames:
        k = counts_to_kelvin(fr["thermal"].image)
        ground = np.median(k[-15:, :])
        for o in fr["color"].gt:
            if o.cls != "person" or o.visibility < 0.8:
                continue
            p = sc.extrinsics["thermal"].inverse().apply(o.center3d[None])
            uv, _ = cams["thermal"].project(p)
            u, v = np.round(uv[0]).astype(int)
            if 1 <= u < 159 and 1 <= v < 127:
                diffs.append(abs(np.median(k[v - 1:v + 2, u - 1:u + 2]) - ground))
    assert diffs
    return float(np.median(diffs))


def test_thermal_contrast_high_at_night_collapses_in_crossover():
    assert _thermal_contrast("night") > 8.0
    assert _thermal_contrast("crossover") < 1.5


def test_night_rgb_is_dark_day_is_not():
    day = _frames(small("day"), [0.5])[1][0]["color"].image.mean()
    night = _frames(small("night"), [0.5])[1][0]["color"].image.mean()
    assert day > 80 and night < 45


def test_render_free_gt_matches_rendered_gt():
    cfg = small()
    seq = ground_truth_sequence(None, 1.0, 3, config=cfg)
    sc = Scenario(cfg, 1.0, 3)
    r = Renderer(sc)
    t_rel, cam = next((t, c) for t, c in sc.events if c == "color" and t > 0.5)
    frame = r.render(cam, t_rel)
    g = next(f for f in seq if abs(f.stamp - frame.stamp) < 1e-9)
    assert [o.id for o in g.objects] == [o.id for o in frame.gt]
    for a, b in zip(g.objects, frame.gt):
        assert np.allclose(a.box2d, b.box2d) and np.allclose(a.center3d, b.center3d)
        assert 0 <= a.visibility <= 1


def test_randomize_is_deterministic_and_changes_the_rig():
    a = Scenario(SimConfig(), 1.0, 11, randomize=True)
    b = Scenario(SimConfig(), 1.0, 11, randomize=True)
    c = Scenario(SimConfig(), 1.0, 12, randomize=True)
    assert np.allclose(a.cameras["thermal"].K, b.cameras["thermal"].K)
    assert not np.allclose(a.cameras["thermal"].K, c.cameras["thermal"].K)
    assert not np.allclose(a.extrinsics["depth"].t, SimConfig().depth.position)


@pytest.mark.parametrize("mode", ["processes", "threads"])
def test_render_modes_give_identical_frames(mode):
    """Rendering each camera in its own process (tracker-sim's default) or thread yields the same frames,
    in the same order, as rendering them one by one."""
    cfg = small(world={"n_people": 4})
    sc = Scenario(cfg, 1.0, 5)
    events = [e for e in sc.events if e[0] < 0.6]
    serial = list(Renderer(sc).render_events(events, mode="serial"))
    other = list(Renderer(sc).render_events(events, mode=mode))
    assert [(f.camera, f.stamp) for f in other] == [(c, sc.stamp(t)) for t, c in events]
    assert len(serial) == len(other) == len(events)
    for a, b in zip(serial, other):
        assert a.encoding == b.encoding and np.array_equal(a.image, b.image)
        assert (a.gt is None) == (b.gt is None)
        if a.gt is not None:
            assert [(o.id, o.box2d, o.visibility) for o in a.gt] == [(o.id, o.box2d, o.visibility) for o in b.gt]


def test_render_mode_unknown_is_rejected():
    sc = Scenario(small(), 0.5, 0)
    with pytest.raises(ValueError, match="processes"):
        list(Renderer(sc).render_events(sc.events[:1], mode="gpu"))
