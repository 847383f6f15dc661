"""World B writes contract bags that the project's reader takes unchanged; the CLI; seeded bags repeat."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from tracker.data.bag import Bag
from tracker.data.contract import Topics
from tracker.data.reader import BagReader
from tracker.sim_gl.cli import main
from tracker.sim_gl.config import PRESETS, GLSimConfig, with_overrides
from tracker.sim_gl.simulate import simulate

SMALL = {"color": {"width": 128, "height": 96, "rate_hz": 10.0}, "thermal": {"width": 128, "height": 96,
                                                                             "rate_hz": 10.0},
         "depth": {"width": 128, "height": 96, "rate_hz": 10.0}, "light": {"shadow_map_px": 256},
         "world": {"n_people": (3, 3), "n_vehicles": (1, 1), "x_range_m": (4.0, 12.0), "y_half_m": 4.0}}


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    out = tmp_path_factory.mktemp("simgl")
    return simulate("day", 0.6, 3, out, config=with_overrides(GLSimConfig(), SMALL))


def test_bag_has_every_contract_topic_and_reads_back(bag):
    with BagReader(bag) as r:
        t = Topics()
        assert {t.color_image, t.color_info, t.thermal_image, t.thermal_info, t.depth_image, t.depth_info,
                t.tf_static, t.gt_tracks, t.gt_tracks_2d} <= set(r.topics_present)
        cams = r.cameras
        assert {n: (c.width, c.height) for n, c in cams.items()} == {n: (128, 96) for n in
                                                                   ("color", "thermal", "depth")}
        assert np.allclose(r.extrinsics["thermal"].t, GLSimConfig().thermal.position)
        samples = list(r.samples())
    assert len(samples) in (6, 7)  # 10 Hz for 0.6 s, stamps jittered
    s = samples[3]
    assert s.rgb.shape == (96, 128, 3) and s.rgb.dtype == np.uint8
    assert s.thermal_encoding == "mono16" and s.thermal.dtype == np.uint16
    assert 250 < np.median(s.thermal) / 100.0 < 330  # radiometric kelvin x 100
    assert s.depth.dtype == np.float32 and np.isnan(s.depth).any() and np.nanmin(s.depth) > 0
    assert any(s.gt2d for s in samples) and any(s.gt3d for s in samples)
    g = next(g for s in samples for g in s.gt2d)
    assert g.cls in ("person", "vehicle") and 0.0 <= g.visibility <= 1.0
    side = yaml.safe_load(bag.with_name(bag.name + ".calibration.yaml").read_text())
    assert side["renderer"] == "sim_gl" and side["presets"] == ["day"] and side["seed"] == 3


def test_same_seed_gives_an_identical_bag(bag, tmp_path):
    again = simulate("day", 0.6, 3, tmp_path, config=with_overrides(GLSimConfig(), SMALL))

    def messages(p):
        with Bag(p) as b:
            return [(c.topic, t, bytes(raw)) for c, t, raw in b.raw()]
    assert messages(bag) == messages(again)


def test_cli_lists_presets_and_renders_a_bag(tmp_path, capsys):
    assert main(["--list-presets"]) == 0
    listing = capsys.readouterr().out
    assert all(n in listing for n in PRESETS)
    cfg = tmp_path / "small.yaml"
    cfg.write_text(yaml.safe_dump({"sim_gl": {k: {kk: list(vv) if isinstance(vv, tuple) else vv
                                                  for kk, vv in v.items()} for k, v in SMALL.items()}}))
    args = ["-o", str(tmp_path), "--seed", "1", "--duration", "0.25", "--preset", "night,smoke", "--config",
            str(cfg), "--no-progress"]
    assert main(args) == 0
    path = tmp_path / "simgl_night-smoke_s1"
    assert path.is_dir() and capsys.readouterr().out.strip() == str(path)
    assert main(args) == 2  # exists
    assert main(["--preset", "nope", "-o", str(tmp_path)]) == 2
