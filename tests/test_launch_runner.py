"""launch/multimodal.launch.py and the pip-only runner (tracker-run) describe the same nodes and parameters.

launch/launch_ros are not installable from PyPI: when absent, minimal stand-ins are injected into sys.modules
that record the actions the launch file creates; substitutions are evaluated with the launch arguments'
defaults (or given values), then compared with tracker.nodes.runner.node_descriptions."""
import importlib.util
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_FILE = ROOT / "launch" / "multimodal.launch.py"


class _Recorder:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class LaunchConfiguration:
    def __init__(self, name):
        self.name = name

    def resolve(self, ctx):
        return ctx[self.name]


class PathJoinSubstitution:
    def __init__(self, parts):
        self.parts = parts

    def resolve(self, ctx):
        return str(Path(*[resolve(p, ctx) for p in self.parts]))


class FindPackageShare:
    def __init__(self, pkg):
        self.pkg = pkg

    def resolve(self, ctx):
        return str(ROOT)  # the repository plays the role of share/tracker


class ParameterValue:
    def __init__(self, value, value_type=None):
        self.value, self.value_type = value, value_type

    def resolve(self, ctx):
        v = resolve(self.value, ctx)
        if self.value_type is bool:
            return str(v).lower() in ("true", "1", "yes")
        if self.value_type is str:
            return str(v)
        return v


def resolve(x, ctx):
    if hasattr(x, "resolve"):
        return x.resolve(ctx)
    if isinstance(x, (list, tuple)):
        return type(x)(resolve(v, ctx) for v in x)
    if isinstance(x, dict):
        return {k: resolve(v, ctx) for k, v in x.items()}
    return x


class DeclareLaunchArgument(_Recorder):
    pass


class LifecycleNode(_Recorder):
    pass


class Node(_Recorder):
    pass


def fake_launch_modules():
    mods = {}

    def mod(name, **attrs):
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        mods[name] = m
        return m

    mod("launch", LaunchDescription=lambda entities: list(entities))
    mod("launch.actions", DeclareLaunchArgument=DeclareLaunchArgument, EmitEvent=type("EmitEvent", (_Recorder,), {}),
        RegisterEventHandler=type("RegisterEventHandler", (_Recorder,), {}))
    mod("launch.events", matches_action=lambda a: ("matches", a))
    mod("launch.substitutions", LaunchConfiguration=LaunchConfiguration, PathJoinSubstitution=PathJoinSubstitution)
    mod("launch_ros")
    mod("launch_ros.actions", LifecycleNode=LifecycleNode, Node=Node)
    mod("launch_ros.event_handlers", OnStateTransition=type("OnStateTransition", (_Recorder,), {}))
    mod("launch_ros.events")
    mod("launch_ros.events.lifecycle", ChangeState=type("ChangeState", (_Recorder,), {}))
    mod("launch_ros.parameter_descriptions", ParameterValue=ParameterValue)
    mod("launch_ros.substitutions", FindPackageShare=FindPackageShare)
    return mods


@pytest.fixture
def launch_entities(monkeypatch):
    try:
        import launch_ros  # noqa: F401  a real ROS install: still use the stand-ins to record actions
    except ImportError:
        pass
    for name, m in fake_launch_modules().items():
        monkeypatch.setitem(sys.modules, name, m)
    spec = importlib.util.spec_from_file_location("multimodal_launch", LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_launch_description()


def _described(entities, given=None):
    ctx = {}
    for e in entities:
        if isinstance(e, DeclareLaunchArgument):
            ctx[e.args[0]] = resolve(e.kwargs["default_value"], ctx)
    ctx.update(given or {})
    out = []
    for e in entities:
        if isinstance(e, (LifecycleNode, Node)):
            k = e.kwargs
            params = {}
            for p in k.get("parameters", []):
                params.update(resolve(p, ctx))
            out.append({"package": k["package"], "executable": k["executable"], "name": k["name"],
                        "namespace": resolve(k.get("namespace", ""), ctx), "parameters": params,
                        "remappings": [tuple(resolve(r, ctx)) for r in k.get("remappings", [])],
                        "lifecycle": isinstance(e, LifecycleNode)})
    return ctx, out


def _runner(args=None):
    from tracker.nodes.runner import node_descriptions
    return [dict(package=d.package, executable=d.executable, name=d.name, namespace=d.namespace,
                 parameters=d.parameters, remappings=[tuple(r) for r in d.remappings], lifecycle=d.lifecycle)
            for d in node_descriptions(args)]


def test_launch_arguments_match_runner_arguments(launch_entities):
    from tracker.nodes.runner import default_arguments
    ctx, _ = _described(launch_entities)
    assert set(ctx) == set(default_arguments())
    assert Path(ctx["config"]).resolve() == Path(default_arguments()["config"]).resolve()


def test_launch_file_and_runner_describe_the_same_nodes(launch_entities):
    ctx, nodes = _described(launch_entities)
    runner = _runner({"config": ctx["config"]})
    assert nodes == runner


def test_same_nodes_with_given_arguments(launch_entities):
    given = {"model": "/tmp/m.onnx", "namespace": "robot1", "use_sim_time": "true",
             "color_image": "/cam/rgb", "thermal_image": "/cam/ir"}
    ctx, nodes = _described(launch_entities, given)
    assert nodes == _runner({**given, "config": ctx["config"]})
    assert nodes[0]["parameters"]["use_sim_time"] is True
    assert ("camera/color/image_raw", "/cam/rgb") in nodes[0]["remappings"]


def test_launch_uses_lifecycle_transitions(launch_entities):
    kinds = [type(e).__name__ for e in launch_entities]
    assert "LifecycleNode" in kinds and "EmitEvent" in kinds and "RegisterEventHandler" in kinds
    changes = [e for e in launch_entities if type(e).__name__ == "EmitEvent"]
    from lifecycle_msgs.msg import Transition
    assert changes[0].kwargs["event"].kwargs["transition_id"] == Transition.TRANSITION_CONFIGURE
    handler = [e for e in launch_entities if type(e).__name__ == "RegisterEventHandler"][0]
    on = handler.args[0]
    assert on.kwargs["goal_state"] == "inactive"
    assert on.kwargs["entities"][0].kwargs["event"].kwargs["transition_id"] == Transition.TRANSITION_ACTIVATE


def test_runner_parses_launch_style_arguments():
    from tracker.nodes.runner import parse_args
    a = parse_args(["--model", "m.onnx", "--use-sim-time", "--remap", "color_image:=/x"])
    assert a["model"] == "m.onnx" and a["use_sim_time"] == "true" and a["color_image"] == "/x"
    with pytest.raises(SystemExit):
        parse_args(["--remap", "bogus:=/x"])


def test_shipped_yaml_files_validate():
    from tracker.nodes.config import load_node_config
    from tracker.nodes.player import load_player_config
    from tracker.nodes.recorder import load_recorder_config
    cfg = load_node_config(ROOT / "config" / "tracker_node.yaml")
    assert cfg.topics.tracks == "tracker/tracks" and cfg.topics.resolved().tracks == "/tracker/tracks"
    load_player_config(ROOT / "config" / "player.yaml")
    load_recorder_config(ROOT / "config" / "recorder.yaml")


def test_dataclass_defaults_are_what_the_shipped_yaml_says():
    """One source per setting: the node's dataclass defaults (processing policy, topic names) equal the shipped
    config/tracker_node.yaml, whose topics resolve to the contract's in the root namespace; recorder and player
    YAMLs likewise."""
    from tracker.data.contract import OutputTopics, Topics
    from tracker.nodes.config import NodeSection, TopicsSection, load_node_config
    from tracker.nodes.player import PlayerConfig, load_player_config
    from tracker.nodes.recorder import RecorderConfig, load_recorder_config
    from tracker.nodes.runner import REMAP_ARGUMENTS
    cfg = load_node_config(ROOT / "config" / "tracker_node.yaml")
    assert NodeSection().processing == cfg.node.processing == "latest"
    assert TopicsSection() == cfg.topics
    assert {k: getattr(cfg.topics, k) for k in REMAP_ARGUMENTS} == REMAP_ARGUMENTS == cfg.topics.inputs()
    # relative to the node's namespace: in the root namespace the contract's names
    assert cfg.topics.resolved().inputs() == Topics().inputs()
    assert cfg.topics.resolved().outputs() == OutputTopics().__dict__
    assert load_recorder_config(ROOT / "config" / "recorder.yaml").topics == RecorderConfig().topics
    player = load_player_config(ROOT / "config" / "player.yaml")
    assert (player.color_image, player.output_topic) == (PlayerConfig().color_image, PlayerConfig().output_topic)
