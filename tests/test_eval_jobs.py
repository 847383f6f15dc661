"""tracker-eval --jobs N (tracker.eval.parallel): bags replayed by worker processes, each on a ROS domain of its
own, give the same scores as --jobs 1 (the node suite over real DDS, lockstep); a failing worker is a clear
error naming the bag, its domain and its log tail."""
import json
import os
import random
import sys
from pathlib import Path

import pytest

from tracker.eval import cli
from tracker.eval.parallel import domain_ids
from tracker.common.config import ConfigError
from tracker.tools.evaluate import main as tracker_eval

from nodes_support import make_short_bag

BAG_S = 1.5  # seconds per bag (15 Hz: 22 RGB frames)


@pytest.fixture(scope="module")
def two_bags(tmp_path_factory):
    d = tmp_path_factory.mktemp("jobs")
    return [make_short_bag(d / f"short_s{s}", duration_s=BAG_S, seed=s) for s in (3, 4)]


def _suite_scores(out):
    doc = json.loads((out / "metrics.json").read_text())
    return [(b["name"], b["methods"]["suite"]["scores"]) for b in doc["bags"]], doc["combined"]["suite"]["scores"]


def test_two_jobs_give_the_scores_of_one(two_bags, tmp_path, monkeypatch):
    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path / "log"))
    first = random.randint(1, 95)
    monkeypatch.setenv("ROS_DOMAIN_ID", str(first + 3))  # --jobs 1 replays in this process, on another domain
    common = [str(b) for b in two_bags] + ["--methods", "suite", "--no-progress"]
    assert tracker_eval(common + ["--out", str(tmp_path / "one")]) == 0
    assert tracker_eval(common + ["--out", str(tmp_path / "two"), "--jobs", "2",
                                  "--first-domain-id", str(first)]) == 0
    one, two = _suite_scores(tmp_path / "one"), _suite_scores(tmp_path / "two")
    assert [n for n, _ in one[0]] == [b.name for b in two_bags]  # results in the order of the bags
    assert one[0][0][1] is not None and one[0][0][1]["all"]["HOTA"] > 0
    assert one == two
    logs = {p.name: p.read_text() for p in (tmp_path / "two" / "logs").glob("*.log")}
    assert set(logs) == {"000_short_s3.log", "001_short_s4.log"}
    domains = {ln.split("ROS_DOMAIN_ID=")[1].strip() for t in logs.values() for ln in t.splitlines()
               if "ROS_DOMAIN_ID=" in ln}
    assert domains == {str(first), str(first + 1)}


def failing_replay(bag, out_bag, config_path=None, model_path=None, realtime=False, rgb_only=False):
    """A replayer (picklable: the workers import it) whose second bag fails, or whose worker dies."""
    name = os.path.basename(str(bag))
    print(f"replay log line of {name}", flush=True)
    if name == "short_s4":
        raise RuntimeError("tracker node exited with 1:\nthe node's last words")
    if name == "dies":
        os._exit(3)
    raise FileNotFoundError("no node suite in this test")  # the first bag fails as well: both are reported


def test_a_failing_worker_names_the_bag_and_its_log(two_bags, tmp_path, capsys):
    argv = [str(b) for b in two_bags] + ["--methods", "suite", "--no-progress", "--jobs", "2",
                                         "--first-domain-id", "7", "--out", str(tmp_path / "o")]
    assert cli.main(argv, replayer=failing_replay) == 1
    err = capsys.readouterr().err
    assert f"bag {two_bags[1]} failed (worker on ROS_DOMAIN_ID=8): RuntimeError: tracker node exited" in err
    assert "the node's last words" in err and "replay log line of short_s4" in err
    assert str(tmp_path / "o" / "logs" / "001_short_s4.log") in err
    dead = tmp_path / "dies"
    dead.symlink_to(two_bags[0])
    dead.with_name("dies.calibration.yaml").symlink_to(two_bags[0].with_name(two_bags[0].name + ".calibration.yaml"))
    assert cli.main([str(dead), "--methods", "suite", "--no-progress", "--jobs", "2", "--first-domain-id", "7",
                     "--out", str(tmp_path / "o2")], replayer=failing_replay) == 1
    err = capsys.readouterr().err
    assert f"bag {dead} failed" in err and "worker exited with code 3 and no result" in err


def crash_once_replay(bag, out_bag, config_path=None, model_path=None, realtime=False, rgb_only=False):
    """A replayer whose worker dies the first time (a native crash) and raises the second time."""
    marker = Path(out_bag).parent / "crashed_once"
    print(f"attempt {'2' if marker.exists() else '1'}", flush=True)
    if not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        os._exit(139)
    raise RuntimeError("the second attempt ran")


def test_a_worker_that_dies_is_started_again_once(two_bags, tmp_path, capsys):
    out = tmp_path / "o"
    assert cli.main([str(two_bags[0]), "--methods", "suite", "--no-progress", "--jobs", "2", "--first-domain-id",
                     "9", "--out", str(out)], replayer=crash_once_replay) == 1
    err = capsys.readouterr().err
    assert "died (exit code 139" in err and "starting it again" in err
    assert "RuntimeError: the second attempt ran" in err  # the retry's own error is what is reported
    assert "attempt 1" in (out / "logs" / "000_short_s3.crash1.log").read_text()
    assert "attempt 2" in (out / "logs" / "000_short_s3.log").read_text()


def test_domain_ids_are_checked(tmp_path):
    assert domain_ids(10, 3) == [10, 11, 12]
    with pytest.raises(ConfigError, match="max_domain_id"):
        domain_ids(100, 4)
    with pytest.raises(ConfigError, match="--jobs must be >= 1"):
        cli.run(cli.build_parser().parse_args(["x", "--out", str(tmp_path), "--jobs", "0"]))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
