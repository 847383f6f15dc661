"""ament_python package `tracker`: installs the Python code from src/, and launch/, config/ (node YAMLs and the
Fast DDS profile), models/ and the interface definitions in msg/ into share/tracker, so that `colcon build` (with
or without --symlink-install) + `ros2 launch tracker multimodal.launch.py` work in a ROS 2 workspace, and a
plain `pip install .` finds its data (tracker.nodes.config.repo_root, docs/ros-install.md). The same file serves
`pip install -e .` in the pip-only environment (scripts/setup.sh)."""
import os
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "tracker"


def share(folder, *patterns):
    """(share/tracker/<folder>, files of folder matching any pattern)"""
    files = sorted(p for pat in patterns for p in glob(f"{folder}/{pat}") if os.path.isfile(p))
    return (f"share/{PACKAGE}/{folder}", files)


def share_tree(folder):
    """one data_files entry per sub-folder of ``folder`` (every file, layout kept; no caches)"""
    out = []
    for d, dirs, files in os.walk(folder):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__")
        if files:
            out.append((f"share/{PACKAGE}/{d}", sorted(os.path.join(d, f) for f in files)))
    return out


setup(
    name=PACKAGE,
    version="0.1.0",
    package_dir={"": "src"},
    packages=find_packages("src"),
    include_package_data=True,
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        share("launch", "*.py"),
        share("config", "*.yaml", "*.xml"),
        share("config/examples", "*.yaml"),
        share("models", "*"),
        *share_tree("msg"),
    ],
    install_requires=["setuptools", "numpy", "pyyaml"],
    extras_require={"test": ["pytest"]},
    zip_safe=False,  # tracker.nodes.config.repo_root finds share/tracker from the installed files
    maintainer="tracker maintainers",
    maintainer_email="tracker-dev@example.com",
    description="Multi-modal (RGB, thermal, depth) people and vehicle tracking node suite for ROS 2.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "tracker-sim = tracker.sim.cli:main",
            "tracker-sim-gl = tracker.sim_gl.cli:main",
            "tracker-train = tracker.network.train:main",
            "tracker-adapt = tracker.adapt.cli:main",
            "tracker-export = tracker.network.export:main",
            "tracker-eval = tracker.tools.evaluate:main",
            "tracker-tune = tracker.tools.tune:main",
            "tracker-convert = tracker.data.convert_cli:main",
            "tracker-calibrate = tracker.network.calibrate:main",
            "tracker-run = tracker.nodes.runner:main",
            "tracker-play = tracker.nodes.player:main",
            "tracker_node = tracker.nodes.tracker_node:main",
            "tracker-config = tracker.tools.config:main",
            "tracker-demo = tracker.tools.demo:main",
        ],
    },
)
