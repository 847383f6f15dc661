"""`tracker-run`: the pip-only runner. Starts the same nodes with the same YAML and parameters as
launch/multimodal.launch.py (a test checks that both describe the same nodes), drives the lifecycle
transitions (configure, then activate) the way the launch file's event handlers do, and spins until ctrl-c.

    tracker-run [--config config/tracker_node.yaml] [--model models/x.onnx] [--namespace ns] [--use-sim-time]
                [--remap color_image:=/my/rgb ...]

Arguments have the names and defaults of the launch file's arguments. The node's topics are relative to
--namespace (robot1: /robot1/camera/color/image_raw in, /robot1/tracker/tracks out; /tf_static and /diagnostics
stay absolute); a --remap target without a leading / is relative to the namespace too (docs/ros-install.md).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

from tracker.common.paths import PACKAGE

from .config import TopicsSection, default_config_path

#: launch arguments that remap an input topic: argument name -> the node's default topic name (relative to its
#: namespace; TopicsSection, which the shipped YAML repeats)
REMAP_ARGUMENTS = TopicsSection().inputs()
SPIN_PERIOD_S = 0.1


@dataclass
class NodeDescription:
    """What launch_ros.actions.(Lifecycle)Node receives; compared with the launch file in tests."""

    package: str
    executable: str
    name: str
    namespace: str
    parameters: dict
    remappings: list = field(default_factory=list)
    lifecycle: bool = True


def default_arguments() -> dict[str, str]:
    """The launch arguments and their defaults (strings, as launch passes them)."""
    return {"config": str(default_config_path()), "model": "", "namespace": "", "use_sim_time": "false",
            **REMAP_ARGUMENTS}


def node_descriptions(args: dict[str, str] | None = None) -> list[NodeDescription]:
    a = {**default_arguments(), **(args or {})}
    return [NodeDescription(
        package=PACKAGE, executable="tracker_node", name="tracker", namespace=a["namespace"],
        parameters={"config_file": a["config"], "model_path": a["model"],
                    "use_sim_time": str(a["use_sim_time"]).lower() in ("true", "1", "yes")},
        remappings=[(topic, a[arg]) for arg, topic in REMAP_ARGUMENTS.items()])]


def create_node(desc: NodeDescription, **kwargs):
    """Instantiate a described node in this process."""
    from rclpy.parameter import Parameter
    if desc.executable != "tracker_node":
        raise ValueError(f"unknown executable {desc.executable}")
    from .tracker_node import TrackerNode
    cli = ["--ros-args"] + [x for f, t in desc.remappings if f != t for x in ("-r", f"{f}:={t}")]
    params = [Parameter(k, value=v) for k, v in desc.parameters.items()]
    return TrackerNode(desc.name, namespace=desc.namespace, parameter_overrides=params,
                       cli_args=cli if len(cli) > 1 else None, **kwargs)


def bring_up(node) -> bool:
    """configure then activate (what the launch file's ChangeState events do)."""
    from rclpy.lifecycle import TransitionCallbackReturn
    if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
        node.get_logger().error("configure failed (see above)")
        return False
    if node.trigger_activate() != TransitionCallbackReturn.SUCCESS:
        node.get_logger().error("activate failed (see above)")
        return False
    return True


def parse_args(argv=None) -> dict[str, str]:
    ap = argparse.ArgumentParser(prog="tracker-run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    d = default_arguments()
    ap.add_argument("--config", default=d["config"], help="node YAML (config/tracker_node.yaml)")
    ap.add_argument("--model", default=d["model"], help="model file (overrides backend.model)")
    ap.add_argument("--namespace", default=d["namespace"])
    ap.add_argument("--use-sim-time", action="store_true", help="follow /clock (bag playback)")
    ap.add_argument("--remap", action="append", default=[], metavar="ARG:=TOPIC",
                    help=f"input topic, ARG in {', '.join(REMAP_ARGUMENTS)}")
    a = ap.parse_args(argv)
    out = {"config": a.config, "model": a.model, "namespace": a.namespace,
           "use_sim_time": "true" if a.use_sim_time else "false"}
    for r in a.remap:
        k, sep, v = r.partition(":=")
        if not sep or k not in REMAP_ARGUMENTS:
            ap.error(f"--remap expects ARG:=TOPIC with ARG in {', '.join(REMAP_ARGUMENTS)}; got {r!r}")
        out[k] = v
    return out


def main(argv=None) -> int:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    args = parse_args(argv)
    from .qos import use_large_image_profile
    use_large_image_profile()  # before DDS starts: the shared-memory segment large images need (docs/nodes.md)
    rclpy.init()
    nodes = [create_node(d) for d in node_descriptions(args)]
    rc = 0
    ex = SingleThreadedExecutor()
    try:
        for n in nodes:
            if not bring_up(n):
                rc = 1
        if rc == 0:
            for n in nodes:
                ex.add_node(n)
            while rclpy.ok():
                ex.spin_once(timeout_sec=SPIN_PERIOD_S)
    except KeyboardInterrupt:
        pass
    except Exception as e:  # noqa: BLE001 - log and exit non-zero
        print(f"tracker-run: {type(e).__name__}: {e}", file=sys.stderr)
        rc = 1
    finally:
        for n in nodes:
            ex.remove_node(n)
            n.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return rc


if __name__ == "__main__":
    sys.exit(main())
