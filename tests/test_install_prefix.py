"""A plain install works on its own: the package installed non-editable into a prefix (what colcon does without
--symlink-install; here `pip install --prefix`, colcon is not installable beside this venv's setuptools), run
from another working directory with neither TRACKER_ROOT nor the repository's src/ on the path, finds its YAML
and model in <prefix>/share/tracker, configures and tracks a short bag over DDS with the real model. Also: what
share/tracker holds, and package.xml declares every ROS package that src/ imports."""
import ast
import json
import os
import random
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nodes_support import make_short_bag

ROOT = Path(__file__).resolve().parents[1]
#: what a colcon build / pip install reads from the repository
SOURCES = ("setup.py", "setup.cfg", "package.xml", "resource", "src", "launch", "config", "models", "msg")
SITE = Path("lib") / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
INSTALL_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    """The package installed (not editable) into a fresh prefix from a copy of its sources."""
    base = tmp_path_factory.mktemp("install")
    src = base / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=ignore)
        else:
            shutil.copy2(p, src / name)
    out = base / "prefix"
    # --ignore-installed: install beside, never uninstall, the environment's own (editable) tracker
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index",
                        "--ignore-installed",
                        "--no-deps", "--no-build-isolation", "--prefix", str(out), str(src)],
                       capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def installed_env(prefix: Path) -> dict:
    """This environment (ROS wheels of the venv, interface packages) with the installed package first on the
    path, without the repository's src/ and without TRACKER_ROOT."""
    env = dict(os.environ)
    env.pop("TRACKER_ROOT", None)
    repo_src = (ROOT / "src").resolve()
    keep = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and Path(p).resolve() != repo_src]
    env["PYTHONPATH"] = os.pathsep.join([str(prefix / SITE)] + keep)
    return env


def test_share_folder_holds_the_package_data(prefix):
    share = prefix / "share" / "tracker"
    for rel in ("package.xml", "launch/multimodal.launch.py", "config/tracker_node.yaml", "config/player.yaml",
                "launch/realsense_flir.launch.py", "config/examples/realsense_flir.yaml", "config/recorder.yaml",
                "config/fastdds_large_images.xml", "models/embedded.onnx",
                "models/embedded.json", "msg/tracker_msgs/msg/TrackArray.msg", "msg/tracker_msgs/package.xml",
                "msg/vision_msgs/msg/Detection3DArray.msg", "msg/tf2_msgs/msg/TFMessage.msg"):
        assert (share / rel).is_file(), rel
    assert (prefix / "share" / "ament_index" / "resource_index" / "packages" / "tracker").is_file()


def test_installed_package_finds_its_data_from_another_directory(prefix, tmp_path):
    probe = ("import json, tracker; from tracker.nodes.config import default_config_path, repo_root, "
             "resolve_model_path, load_node_config; "
             "print(json.dumps({'module': tracker.__file__, 'root': str(repo_root()), "
             "'config': str(default_config_path()), "
             "'model': resolve_model_path(load_node_config(default_config_path()).backend.model)}))")
    r = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=installed_env(prefix),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    share = (prefix / "share" / "tracker").resolve()
    assert Path(got["module"]).resolve().is_relative_to(prefix.resolve())  # the installed code, not src/
    assert Path(got["root"]).resolve() == share
    assert Path(got["config"]).resolve() == share / "config" / "tracker_node.yaml"
    assert Path(got["model"]).resolve() == share / "models" / "embedded.onnx"


def test_ament_index_finds_the_installed_share(prefix, monkeypatch):
    """With the prefix on AMENT_PREFIX_PATH (what a sourced colcon install does) the ament index lists the
    package's share folder: data_root's fallback for code that does not live beside its share/."""
    from tracker.common.paths import data_root_candidates
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(prefix))
    found = dict(data_root_candidates())
    assert found["ament index (AMENT_PREFIX_PATH)"] == prefix / "share" / "tracker"


def test_installed_node_configures_and_tracks_a_bag(prefix, tmp_path, monkeypatch):
    """tracker.nodes.runner (and the player) from the prefix, defaults only: the installed YAML and model."""
    from tracker.data.contract import OutputTopics, Topics
    from tracker.data.reader import BagReader
    from tracker.tools.replay import replay_bag
    bag = make_short_bag(tmp_path / "bag" / "short", duration_s=1.0, seed=4)
    work = tmp_path / "elsewhere"
    work.mkdir()
    for k, v in installed_env(prefix).items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("TRACKER_ROOT", raising=False)
    monkeypatch.setenv("ROS_DOMAIN_ID", str(random.randint(1, 200)))
    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path / "log"))
    monkeypatch.chdir(work)
    out = tmp_path / "out" / "rec"
    st = replay_bag(bag, out, node_command=[sys.executable, "-m", "tracker.nodes.runner", "--use-sim-time"])
    log = Path(st["node_log"]).read_text()
    share = prefix / "share" / "tracker"
    assert f"configured from {share / 'config' / 'tracker_node.yaml'}" in log, log[-3000:]
    assert str(share / "models" / "embedded.onnx") in log
    with BagReader(bag) as r:
        rgb = [s for _, s, _ in r.messages([Topics().color_image])]
    with BagReader(out) as r:
        tracked = [s for _, s, _ in r.messages([OutputTopics().tracks])]
    assert len(rgb) >= 10
    assert sorted(tracked) == sorted(rgb)  # lockstep: one /tracker/tracks per RGB frame


def _imported_roots(folder: Path) -> set[str]:
    names = set()
    for f in folder.rglob("*.py"):
        for n in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(n, ast.Import):
                names |= {a.name.split(".")[0] for a in n.names}
            elif isinstance(n, ast.ImportFrom) and n.level == 0 and n.module:
                names.add(n.module.split(".")[0])
    return names


def test_package_xml_declares_every_ros_package_the_code_imports():
    from ament_index_python.packages import get_packages_with_prefixes
    ros = set(get_packages_with_prefixes()) | {"launch", "launch_ros"}
    imported = _imported_roots(ROOT / "src") | _imported_roots(ROOT / "launch")
    needed = {n for n in imported if n in ros or n.endswith("_msgs")} - {"tracker"}
    declared = {e.text for e in ET.parse(ROOT / "package.xml").getroot()
                if e.tag in ("depend", "exec_depend")}
    assert {"rclpy", "builtin_interfaces", "vision_msgs"} <= needed  # the scan sees the node's imports
    assert needed <= declared, sorted(needed - declared)
