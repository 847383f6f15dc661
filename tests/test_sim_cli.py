"""tracker-sim command line and the demo bag."""
import pytest

from tracker.data.contract import Topics
from tracker.data.reader import BagReader
from tracker.sim.cli import main


def test_list_presets_explains_each(capsys):
    assert main(["--list-presets"]) == 0
    out = capsys.readouterr().out
    for name in ("day", "night", "smoke", "crossover", "glare", "dropout", "framedrop"):
        assert f"\n{name}" in out or out.startswith(name) or f"{name} " in out


def test_cli_writes_readable_sqlite_bag_with_all_topics(tmp_path, capsys):
    cfg = tmp_path / "small.yaml"
    cfg.write_text("sim:\n  color: {width: 96, height: 72}\n  thermal: {width: 80, height: 64}\n"
                   "  depth: {width: 96, height: 72}\n")
    rc = main(["--preset", "night,dropout", "--duration", "0.3", "--seed", "3", "-o", str(tmp_path),
               "--storage", "sqlite3", "--config", str(cfg), "--randomize", "--no-progress"])
    assert rc == 0
    path = capsys.readouterr().out.strip().splitlines()[-1]
    r = BagReader(path)
    t = Topics()
    assert {t.color_image, t.thermal_image, t.depth_image, t.color_info, t.thermal_info, t.depth_info,
            t.tf_static, t.gt_tracks, t.gt_tracks_2d} <= r.topics_present
    assert set(r.extrinsics) == {"color", "thermal", "depth"}
    assert (tmp_path / (r.path.name + ".calibration.yaml")).is_file()
    assert main(["--duration", "0.3", "-o", str(tmp_path), "--name", r.path.name]) == 2  # exists


def test_cli_rejects_unknown_preset(tmp_path, capsys):
    assert main(["--preset", "fog", "-o", str(tmp_path)]) == 2
    assert "valid presets" in capsys.readouterr().err
