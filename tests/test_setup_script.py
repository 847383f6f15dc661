"""scripts/setup.sh fails loudly: a failed pip install stops set-up with pip's own error and a non-zero exit,
and set-up checks that the console scripts declared in the package metadata exist before it says "ready".

The set-up tests run a scratch copy of the scripts with a throwaway venv under tmp_path (never the real .venv)
and pip offline (PIP_NO_INDEX), so they are fast and need no network."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK = ROOT / "scripts" / "check_console_scripts.py"
MISSING_PACKAGE = "tracker-no-such-package-xyz"


def _scratch_repo(tmp_path: Path, requirements: str) -> Path:
    """The files setup.sh reads before and during the pip step, with our own requirements.txt."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    for name in ("setup.sh", "check_console_scripts.py"):
        shutil.copy2(ROOT / "scripts" / name, repo / "scripts" / name)
    for name in ("setup.py", "setup.cfg", "package.xml"):
        shutil.copy2(ROOT / name, repo / name)
    shutil.copytree(ROOT / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (repo / "requirements.txt").write_text(requirements)
    return repo


def _offline_env(venv: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PIP_FIND_LINKS")}
    env.update(TRACKER_VENV=str(venv), PYTHON=sys.executable, PIP_NO_INDEX="1", PIP_CONFIG_FILE=os.devnull,
               PIP_NO_CACHE_DIR="1")
    return env


def test_failed_pip_install_stops_setup_with_pips_error(tmp_path):
    real_stamp = ROOT / ".venv" / ".tracker-req"
    real_before = real_stamp.stat().st_mtime_ns if real_stamp.exists() else None
    repo = _scratch_repo(tmp_path, f"{MISSING_PACKAGE}==0.0.1\n")
    venv = tmp_path / "venv"
    p = subprocess.run(["bash", str(repo / "scripts" / "setup.sh")], env=_offline_env(venv), cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    out = p.stdout + p.stderr
    assert p.returncode != 0, out
    # pip's own message, and set-up naming the install that failed
    assert f"No matching distribution found for {MISSING_PACKAGE}" in out, out
    assert "pip install -r requirements.txt failed" in out, out
    assert "ready" not in out, out
    # set-up stopped at the failed install: nothing after it ran (no editable install of tracker, no stamp)
    assert not (venv / ".tracker-req").exists()
    assert not list(venv.glob("lib/python*/site-packages/tracker-*.dist-info")), "pip install -e . still ran"
    assert not (venv / "bin" / "tracker-run").exists()
    # the real environment was not touched
    assert (real_stamp.stat().st_mtime_ns if real_stamp.exists() else None) == real_before


def _fake_distribution(site: Path, scripts: list[str]) -> None:
    info = site / "fakedist-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakedist\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[console_scripts]\n" + "".join(f"{s} = fakedist.cli:main\n" for s in scripts)
        + "[other_group]\nnot-a-script = fakedist.x:y\n")


def _check(dist: str, bin_dir: Path, site: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = str(site)
    return subprocess.run([sys.executable, str(CHECK), dist, str(bin_dir)], env=env, capture_output=True,
                          text=True, timeout=60)


def test_console_script_check_names_the_missing_scripts(tmp_path):
    site, bin_dir = tmp_path / "site", tmp_path / "bin"
    _fake_distribution(site, ["fake-run", "fake-play", "fake_node"])
    bin_dir.mkdir()
    (bin_dir / "fake-run").write_text("#!/bin/sh\n")
    p = _check("fakedist", bin_dir, site)
    assert p.returncode == 1
    assert "fake-play" in p.stderr and "fake_node" in p.stderr
    assert "fake-run" not in p.stderr.split(":")[-1] and "not-a-script" not in p.stderr
    for name in ("fake-play", "fake_node"):
        (bin_dir / name).write_text("#!/bin/sh\n")
    assert _check("fakedist", bin_dir, site).returncode == 0


def test_console_script_check_fails_for_a_missing_distribution(tmp_path):
    p = _check("tracker-no-such-distribution", tmp_path)
    assert p.returncode == 1 and "not installed" in p.stderr


def test_installed_tracker_has_every_declared_console_script():
    # this environment: the scripts setup.py declares (tracker-run, tracker-play, ...) are in the venv's bin
    p = _check("tracker", Path(sysconfig.get_path("scripts")))
    assert p.returncode == 0, p.stderr
