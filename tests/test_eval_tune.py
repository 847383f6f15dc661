"""tracker-tune: the tracker core replayed over one pipeline pass gives what the node's pipeline gives, settings
change it, the pass is cached, and bad settings are one-line errors."""
import json

import pytest

from tracker.common.config import load_yaml
from tracker.core import Tracker, TrackerConfig
from tracker.data.reader import BagReader
from tracker.eval import tune
from tracker.eval.config import load_eval_config
from tracker.nodes.config import load_node_config, node_config_from_mapping, resolve_model_path
from tracker.nodes.tracker_node import default_detector_factory
from tracker.pipeline.processor import FrameInput, Processor
from tracker.tools import tune as tune_cli

from nodes_support import make_short_bag

NODE_YAML = "config/tracker_node.yaml"


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    return make_short_bag(tmp_path_factory.mktemp("tune") / "short", duration_s=2.0)


@pytest.fixture(scope="module")
def inputs(bag, tmp_path_factory):
    cfg = load_node_config(NODE_YAML)
    model = resolve_model_path(cfg.backend.model)
    return tune.bag_inputs(bag, cfg, load_yaml(NODE_YAML), model, load_eval_config(),
                           lambda: default_detector_factory(cfg, model), tmp_path_factory.mktemp("cache"))


def _node_tracks(bag):
    """{frame (1..): [(id, class, box)]} published by the node's own Processor over the bag."""
    cfg = load_node_config(NODE_YAML)
    tc = TrackerConfig.from_mapping(cfg.tracker)
    proc = Processor(cfg.processor, default_detector_factory(cfg, resolve_model_path(cfg.backend.model)),
                     Tracker(tc), tc.class_names)
    out = {}
    with BagReader(bag) as r:
        for n, c in r.cameras.items():
            proc.set_camera(n, c)
        proc.set_extrinsics({k: v for k, v in r.extrinsics.items() if k != "color"})
        for k, s in enumerate(r.samples(max_offset_s=cfg.sync.slop_s), start=1):
            res = proc.process(FrameInput(s.stamp, s.rgb, s.thermal, s.thermal_encoding, s.depth))
            out[k] = sorted((str(t.track_id), t.class_name, tuple(round(float(v), 4) for v in t.box))
                            for t in res.published(cfg.processor.output))
    return out


def test_replayed_tracker_publishes_what_the_pipeline_published(bag, inputs):
    cfg = load_node_config(NODE_YAML)
    got = tune.track(inputs, TrackerConfig.from_mapping(cfg.tracker), cfg.processor.output, load_eval_config())
    want = _node_tracks(bag)
    assert len(got) == len(want) == inputs.gt.num_frames > 20
    assert sum(len(v) for v in want.values()) > 20  # people are tracked: the comparison is not of empty frames
    assert {k: sorted((o.id, o.cls, tuple(round(v, 4) for v in o.box)) for o in objs)
            for k, objs in got.items()} == want


def test_settings_change_the_scores_and_every_combination_is_tried(inputs):
    node_yaml = load_yaml(NODE_YAML)
    tries = tune.variants(node_yaml, tune.parse_sets(["tracker.classes.person.new_track_score=0.35,1.0",
                                                      "output.publish_tentative=false,true"]))
    assert [c for c, _ in tries] == [
        {"tracker.classes.person.new_track_score": a, "output.publish_tentative": b}
        for a in (0.35, 1.0) for b in (False, True)]
    assert node_yaml["tracker"]["classes"]["person"]["new_track_score"] == 0.35  # the loaded YAML is not changed
    res = []
    for _, data in tries:
        c = node_config_from_mapping(data)
        res.append(tune.score([inputs], TrackerConfig.from_mapping(c.tracker), c.processor.output,
                              load_eval_config()))
    person = [r["combined"].get("person", {}).get("HOTA") or 0.0 for r in res]
    assert person[0] > 30.0  # three people by day on our own simulator
    assert person[2] == 0.0  # no score reaches 1.0: no track is born
    assert res[0]["bags"][inputs.name]["person"]["HOTA"] == pytest.approx(person[0])
    assert inputs.world == "sim" and inputs.condition == "day"  # from the bag's sidecar
    assert res[0]["conditions"] == {"sim/day": res[0]["combined"]}  # one bag: its condition is the whole


def test_the_pipeline_pass_is_read_back_from_the_cache(bag, inputs, tmp_path, monkeypatch):
    cfg = load_node_config(NODE_YAML)
    model = resolve_model_path(cfg.backend.model)
    args = (bag, cfg, load_yaml(NODE_YAML), model, load_eval_config(), lambda: default_detector_factory(cfg, model),
            tmp_path)
    first = tune.bag_inputs(*args)
    assert len(list(tmp_path.glob("tune_short_*.pkl"))) == 1

    def no_pass(*a, **k):
        raise AssertionError("the pipeline ran again")
    monkeypatch.setattr(tune, "_run_pipeline", no_pass)
    again = tune.bag_inputs(*args)
    assert len(again.frames) == len(first.frames) == len(inputs.frames)
    changed = {**load_yaml(NODE_YAML), "depth3d": {"percentile": 50.0}}  # a pipeline setting: a new pass
    with pytest.raises(AssertionError, match="ran again"):
        tune.bag_inputs(bag, cfg, changed, *args[3:])


def test_cli_writes_the_table_and_rejects_settings_it_cannot_replay(bag, tmp_path, capsys):
    out = tmp_path / "tune.json"
    assert tune_cli.main([str(bag), "--set", "tracker.min_hits=1,3", "--cache-dir", str(tmp_path),
                          "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [r["changes"] for r in rows] == [{"tracker.min_hits": 1}, {"tracker.min_hits": 3}]
    assert "| min_hits=1 |" in capsys.readouterr().out
    assert tune_cli.main([str(bag), "--set", "sync.slop_s=0.05"]) == 2
    assert "change the pipeline's inputs" in capsys.readouterr().err
    assert tune_cli.main([str(bag), "--set", "tracker.min_hits"]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err
    assert tune_cli.main([str(bag), "--set", "tracker.no_such_field=1"]) == 2
    assert "no_such_field" in capsys.readouterr().err


def test_a_bag_set_is_rendered_passed_and_deleted_one_bag_at_a_time(tmp_path, monkeypatch, capsys):
    from tracker.eval import evalset
    set_yaml = tmp_path / "set.yaml"
    set_yaml.write_text("eval_set:\n  duration_s: 1.0\n  seeds: [5]\n  worlds: [sim]\n  presets: [day]\n")
    bags, cache = tmp_path / "bags", tmp_path / "cache"
    args = ["--bag-set", str(set_yaml), "--bag-dir", str(bags), "--cache-dir", str(cache), "--delete-rendered"]
    assert tune_cli.main(args) == 0
    first = capsys.readouterr().out
    assert "rendering sim_day_s5" in first and "| (as in the node config) |" in first
    assert not (bags / "sim_day_s5").exists() and len(list(cache.glob("tune_sim_day_s5_*.pkl"))) == 1

    def no_render(*a, **k):
        raise AssertionError("rendered again")
    monkeypatch.setattr(evalset, "render", no_render)
    assert tune_cli.main(args) == 0  # from the cache: neither rendered nor read
    again = capsys.readouterr().out
    assert "rendering" not in again
    assert first.splitlines()[-1] == again.splitlines()[-1]
    assert tune_cli.main(["--bag-set", str(set_yaml), "--bag-dir", str(bags), "--delete-rendered"]) == 2
    assert "needs --cache-dir" in capsys.readouterr().err
