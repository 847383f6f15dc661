"""launch/multimodal.launch.py and the pip-only runner (tracker-run) describe the same nodes and parameters; the
worked example launch/realsense_flir.launch.py starts that launch file with config/examples/realsense_flir.yaml
(validated here with the node's config loader) plus the thermal extrinsic's static_transform_publisher.

launch/launch_ros are not installable from PyPI: when absent, minimal stand-ins are injected into sys.modules
that record the actions the launch file creates; substitutions are evaluated with the launch arguments'
defaults (or given values), then compared with tracker.nodes.runner.node_descriptions."""
import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_FILE = ROOT / "launch" / "multimodal.launch.py"
EXAMPLE_LAUNCH = ROOT / "launch" / "realsense_flir.launch.py"
EXAMPLE_YAML = ROOT / "config" / "examples" / "realsense_flir.yaml"
#: the worked example's inputs as docs/ros-install.md states them (realsense2_camera 4.x defaults; the thermal
#: driver's names are the example's placeholders), fully qualified in the root namespace
EXAMPLE_TOPICS = {"color_image": "/camera/camera/color/image_raw", "color_info": "/camera/camera/color/camera_info",
                  "thermal_image": "/thermal/image_raw", "thermal_info": "/thermal/camera_info",
                  "depth_image": "/camera/camera/aligned_depth_to_color/image_raw",
                  "depth_info": "/camera/camera/aligned_depth_to_color/camera_info"}
#: a calibration given to the example launch (its extrinsic arguments have no default)
EXTRINSIC = {"thermal_x": "0.045", "thermal_y": "-0.01", "thermal_z": "0.002", "thermal_qx": "0.0087",
             "thermal_qy": "0.0", "thermal_qz": "0.0", "thermal_qw": "0.99996"}


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


class IncludeLaunchDescription(_Recorder):
    pass


class PythonLaunchDescriptionSource(_Recorder):
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
        RegisterEventHandler=type("RegisterEventHandler", (_Recorder,), {}),
        IncludeLaunchDescription=IncludeLaunchDescription)
    mod("launch.launch_description_sources", PythonLaunchDescriptionSource=PythonLaunchDescriptionSource)
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


def _load_launch(path, monkeypatch):
    """The entities generate_launch_description() of the launch file ``path`` returns, recorded by the stand-ins."""
    try:
        import launch_ros  # noqa: F401  a real ROS install: still use the stand-ins to record actions
    except ImportError:
        pass
    for name, m in fake_launch_modules().items():
        monkeypatch.setitem(sys.modules, name, m)
    spec = importlib.util.spec_from_file_location(Path(path).stem.replace(".", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_launch_description()


@pytest.fixture
def launch_entities(monkeypatch):
    return _load_launch(LAUNCH_FILE, monkeypatch)


@pytest.fixture
def example_entities(monkeypatch):
    return _load_launch(EXAMPLE_LAUNCH, monkeypatch)


def _described(entities, given=None):
    ctx = {}
    for e in entities:
        if isinstance(e, DeclareLaunchArgument) and "default_value" in e.kwargs:  # else required
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


# ------------------------------------------------------------------ worked example: RealSense + FLIR (thermal)
def _included_tracker(entities, ctx, monkeypatch):
    """(source path, nodes) of the one launch file the example includes, described with the arguments it passes."""
    (include,) = [e for e in entities if isinstance(e, IncludeLaunchDescription)]
    source = Path(resolve(include.args[0].args[0], ctx))
    passed = {k: resolve(v, ctx) for k, v in include.kwargs["launch_arguments"]}
    return source, _described(_load_launch(source, monkeypatch), passed)[1]


@pytest.mark.parametrize("given", [{}, {"namespace": "robot1", "use_sim_time": "true", "model": "/tmp/m.onnx"}])
def test_realsense_flir_launch_starts_tracker_run_with_the_example_yaml(example_entities, monkeypatch, given):
    ctx, _ = _described(example_entities, {**EXTRINSIC, **given})
    assert Path(ctx["config"]) == EXAMPLE_YAML
    source, nodes = _included_tracker(example_entities, ctx, monkeypatch)
    assert source == LAUNCH_FILE
    assert nodes == _runner({**given, "config": ctx["config"]})  # = tracker-run --config <example> ...


def test_realsense_flir_launch_publishes_the_thermal_extrinsic(example_entities):
    """static_transform_publisher with its named arguments: T_parent_thermal from the launch arguments, which
    have no defaults (no made-up calibration); in the colour optical frame by default, so the same numbers as
    fallback_extrinsics.thermal (pip-only) give the node the same T_color_thermal."""
    from tracker.common.tf import extrinsics_from_edges
    from tracker.pipeline.processor import StaticTransformConfig
    declared = {e.args[0]: e.kwargs for e in example_entities if isinstance(e, DeclareLaunchArgument)}
    assert [k for k in EXTRINSIC if "default_value" in declared[k]] == []
    ctx, _ = _described(example_entities, EXTRINSIC)
    (tf,) = [e for e in example_entities if isinstance(e, Node) and e.kwargs["package"] == "tf2_ros"]
    assert tf.kwargs["executable"] == "static_transform_publisher"
    argv = resolve(tf.kwargs["arguments"], ctx)
    named = dict(zip(argv[::2], argv[1::2]))
    assert len(argv) == 2 * len(named)
    assert named == {**{f"--{k[len('thermal_'):]}": v for k, v in EXTRINSIC.items()},
                     "--frame-id": "camera_color_optical_frame", "--child-frame-id": "thermal_optical_frame"}
    v = {k: float(x) for k, x in named.items() if not k.endswith("frame-id")}
    fallback = StaticTransformConfig((v["--x"], v["--y"], v["--z"]), (v["--qx"], v["--qy"], v["--qz"], v["--qw"]))
    edges = {(named["--frame-id"], named["--child-frame-id"]): fallback.transform()}
    T = extrinsics_from_edges(edges, {"color": "camera_color_optical_frame", "thermal": "thermal_optical_frame"})
    assert np.allclose(T["thermal"].matrix(), fallback.transform().matrix())


def test_realsense_flir_yaml_validates_with_the_node_loader():
    """Every key known (the node's loader rejects unknown ones; effective_sections validates tracker:, backend
    options and detector too), the inputs as documented, everything else as the shipped YAML / code defaults."""
    from dataclasses import replace

    from tracker.common.config import load_yaml
    from tracker.nodes.config import TopicsSection, load_node_config
    from tracker.nodes.settings import effective_sections
    cfg = load_node_config(EXAMPLE_YAML)
    effective_sections(load_yaml(EXAMPLE_YAML), str(EXAMPLE_YAML))
    assert cfg.topics.resolved().inputs() == EXAMPLE_TOPICS
    assert cfg.topics == replace(TopicsSection(), **{k: v.lstrip("/") for k, v in EXAMPLE_TOPICS.items()})
    assert cfg.topics.resolved("robot1").color_image == "/robot1/camera/camera/color/image_raw"
    example, shipped = load_yaml(EXAMPLE_YAML), load_yaml(ROOT / "config" / "tracker_node.yaml")
    assert set(example) == {"tracker", "topics", "backend"}
    assert example["tracker"] == shipped["tracker"] and example["backend"] == shipped["backend"]
    docs = (ROOT / "docs" / "ros-install.md").read_text().split("## Worked example: RealSense + FLIR")
    assert len(docs) == 2, "docs/ros-install.md has no section 'Worked example: RealSense + FLIR'"
    assert [t for t in EXAMPLE_TOPICS.values() if t not in docs[1]] == []
