"""ament_python package `tracker`: installs the Python code from src/, and launch/, config/ and models/
into share/tracker so that `colcon build` + `ros2 launch tracker multimodal.launch.py` work in a ROS 2
workspace. The same file serves `pip install -e .` in the pip-only environment (scripts/setup.sh)."""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "tracker"


def share(folder, pattern="*"):
    return (f"share/{PACKAGE}/{folder}", [p for p in glob(f"{folder}/{pattern}")])


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
        share("config", "*.yaml"),
        share("models", "*"),
    ],
    install_requires=["setuptools", "numpy", "pyyaml"],
    extras_require={"test": ["pytest"]},
    zip_safe=True,
    maintainer="tracker maintainers",
    maintainer_email="tracker-dev@example.com",
    description="Multi-modal (RGB, thermal, depth) people and vehicle tracking node suite for ROS 2.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "tracker-sim = tracker.sim.cli:main",
            "tracker-sim-gl = tracker.sim_gl.cli:main",
            "tracker-train = tracker.network.train:main",
            "tracker-export = tracker.network.export:main",
            "tracker-eval = tracker.tools.evaluate:main",
            "tracker-run = tracker.nodes.runner:main",
            "tracker-play = tracker.nodes.player:main",
            "tracker_node = tracker.nodes.tracker_node:main",
            "tracker-config = tracker.tools.config:main",
            "tracker-demo = tracker.tools.demo:main",
        ],
    },
)
