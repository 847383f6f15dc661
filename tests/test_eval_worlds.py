"""The evaluation set across worlds and seeds (tracker.eval.evalset): planning, presets a world lacks, bags
rendered once, results per world with the seed-to-seed spread in metrics.json and the scorecard."""
import json
import re
from pathlib import Path

import pytest
import yaml

from tracker.common.config import ConfigError, from_mapping
from tracker.eval import cli, evalset
from tracker.eval.evalset import EvalSetConfig, generate, load_eval_set, plan
from tracker.eval.evaluate import origin_of
from tracker.eval.report import SCORECARD_BEGIN, SCORECARD_END

from test_eval_bags import write_input, write_output

ROOT = Path(__file__).resolve().parents[1]
EVAL_SET = ROOT / "config" / "eval_set.yaml"


def _commented_example() -> dict:
    """The commented example of config/eval_set.yaml (from its '# eval_set:' line on), uncommented."""
    text = "eval_set:" + EVAL_SET.read_text().split("# eval_set:", 1)[1]
    return yaml.safe_load("\n".join(ln[2:] if ln.startswith("# ") else ln for ln in text.splitlines()))


def test_default_set_and_the_commented_example_plan():
    default = load_eval_set(EVAL_SET)
    jobs = plan(default, log=lambda s: None)
    assert default.worlds == ("sim", "sim_gl") and {j.world for j in jobs} == {"sim", "sim_gl"}
    assert len(jobs) == len(default.presets) * len(default.seeds) * 2 and len(default.seeds) >= 2
    example = from_mapping(EvalSetConfig, _commented_example()["eval_set"], where="eval_set")
    skipped = []
    jobs = plan(example, log=skipped.append)
    # 7 conditions in both worlds x 3 seeds, glare in A only (allow_missing), shake in A only (worlds: [sim]),
    # night,crowd in both worlds with 4 seeds
    assert len(jobs) == 7 * 2 * 3 + 3 + 3 + 4 * 2
    assert len(skipped) == 1 and all("sim_gl" in s and "glare" in s for s in skipped)
    assert {(j.world, j.seed) for j in jobs if j.preset == "night,crowd"} == {(w, s) for w in ("sim", "sim_gl")
                                                                             for s in range(4)}


def test_a_preset_a_world_lacks_is_an_error_naming_the_world():
    cfg = EvalSetConfig(presets=("day", "night,glare"), seeds=(0,), worlds=("sim", "sim_gl"))
    with pytest.raises(ConfigError, match=r"world sim_gl \(B, tracker.sim_gl\) has no preset 'glare'"):
        plan(cfg, log=lambda s: None)
    with pytest.raises(ConfigError, match="'nosuch' .* exists in no world"):
        plan(EvalSetConfig(presets=("nosuch",), seeds=(0,), worlds=("sim",), allow_missing=("nosuch",)))
    with pytest.raises(ConfigError, match="worlds"):
        from_mapping(EvalSetConfig, {"presets": ["day"], "seeds": [0], "worlds": ["sim", "blender"]}, where="e")
    with pytest.raises(ConfigError, match="unknown key"):
        from_mapping(EvalSetConfig, {"presets": [{"preset": "day", "world": "sim"}], "seeds": [0]}, where="e")


def _seed_of(bag: Path) -> int:
    return int(re.search(r"_s(\d+)$", bag.name).group(1))


def _fake_render(calls):
    def render(job, cfg, bag_dir):
        path = Path(bag_dir) / evalset.bag_name(job)
        calls.append(path.name)
        write_input(path)
        side = {"presets": job.preset.split(","), "seed": job.seed}
        if job.world == "sim_gl":
            side["renderer"] = "sim_gl"
        path.with_name(path.name + ".calibration.yaml").write_text(yaml.safe_dump(side))
        return path
    return render


def _fake_replay(bag, out_bag, config_path=None, model_path=None, realtime=False, rgb_only=False):
    """Outputs whose jitter depends on the bag's seed and world, so seeds score differently."""
    write_output(out_bag, seed=_seed_of(Path(bag)) + (10 if "simgl" in Path(bag).name else 0))
    return {}


def test_cli_evaluates_both_worlds_and_reports_the_seed_spread(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(evalset, "render", _fake_render(calls))
    es = tmp_path / "set.yaml"
    es.write_text(yaml.safe_dump({"eval_set": {"duration_s": 1.0, "seeds": [0, 1], "worlds": ["sim", "sim_gl"],
                                               "presets": ["day", {"preset": "dropout", "worlds": ["sim"]}]}}))
    readme = tmp_path / "README.md"
    readme.write_text(f"x\n{SCORECARD_BEGIN}\nold\n{SCORECARD_END}\n")
    argv = ["--eval-set", str(es), "--out", str(tmp_path / "ev"), "--methods", "suite", "--no-progress"]
    assert cli.main(argv + ["--update-docs", str(readme)], replayer=_fake_replay) == 0
    assert sorted(calls) == sorted(["sim_day_s0", "sim_day_s1", "simgl_day_s0", "simgl_day_s1", "sim_dropout_s0",
                                    "sim_dropout_s1"])
    assert origin_of(tmp_path / "ev" / "bags" / "simgl_day_s1").world == "sim_gl"
    doc = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert set(doc["conditions"]) == {"A:day", "A:dropout", "B:day"}
    assert set(doc["worlds"]) == {"sim", "sim_gl"} and doc["worlds"]["sim_gl"]["seeds"] == [0, 1]
    per_bag = {(b["world"], b["condition"], b["seed"]): b["methods"]["suite"]["scores"]["all"]["HOTA"]
               for b in doc["bags"]}
    spread = doc["worlds"]["sim_gl"]["conditions"]["day"]["suite"]["seed_spread"]
    assert spread["per_seed"] == {"0": per_bag[("sim_gl", "day", 0)], "1": per_bag[("sim_gl", "day", 1)]}
    lo, hi = sorted(spread["per_seed"].values())
    assert lo < hi and spread["min"] == lo and spread["max"] == hi and spread["std"] > 0
    card = readme.read_text()
    assert "world A (tracker.sim)" in card and "world B (tracker.sim_gl)" in card and "old" not in card
    assert f"| day | {{:.1f}} [{lo * 100:.1f}–{hi * 100:.1f}] |".format(
        doc["worlds"]["sim_gl"]["conditions"]["day"]["suite"]["scores"]["all"]["HOTA"] * 100) in card
    assert card.count("| all |") == 2  # each world's combined row
    # the bags are rendered once: a second run renders nothing
    calls.clear()
    assert cli.main(argv + ["--out", str(tmp_path / "ev")], replayer=_fake_replay) == 0 and calls == []


def test_generate_renders_each_world_with_its_own_simulator(tmp_path):
    """Real renders (0.2 s each): world A by tracker.sim, world B by tracker.sim_gl, names and sidecars their own."""
    cfg = EvalSetConfig(presets=("day",), seeds=(2,), worlds=("sim", "sim_gl"), duration_s=0.2)
    bags = generate(cfg, tmp_path, log=lambda s: None)
    assert [(p.name, c) for p, c in bags] == [("sim_day_s2", "day"), ("simgl_day_s2", "day")]
    assert [origin_of(p).world for p, _ in bags] == ["sim", "sim_gl"]
    assert all(origin_of(p).seed == 2 and (p / "metadata.yaml").is_file() for p, _ in bags)


def test_generate_renders_again_a_bag_a_killed_run_left_without_metadata(tmp_path):
    """A SIGKILLed writer leaves its folder without metadata.yaml; the writer refuses an existing path, so the
    set would never render again. It is removed and rendered; a complete bag is kept as it is."""
    cfg = EvalSetConfig(presets=("day",), seeds=(2,), worlds=("sim",), duration_s=0.2)
    partial = tmp_path / "sim_day_s2"
    partial.mkdir()
    (partial / "sim_day_s2_0.mcap").write_bytes(b"\x89MCAP0\r\n")  # a killed write: no metadata.yaml
    [(path, _)] = generate(cfg, tmp_path, log=lambda s: None)
    assert path == partial and (path / "metadata.yaml").is_file()
    stamp = (path / "metadata.yaml").stat().st_mtime_ns
    generate(cfg, tmp_path, log=lambda s: None)
    assert (path / "metadata.yaml").stat().st_mtime_ns == stamp
