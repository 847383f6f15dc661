"""The tracker node's YAML (config/tracker_node.yaml): every section as a frozen, validated dataclass.

Sections owned here: node, topics, sync, qos, registration, depth3d, output, ego_motion, tf, fallback_extrinsics,
backend, diagnostics, markers, inputs (raw or compressed transport per camera). The ``tracker:`` section belongs
to tracker.core (TrackerConfig) and is loaded with it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from tracker.common.config import ConfigError, from_mapping, load_yaml, param, section
from tracker.common.paths import data_root
from tracker.common.tf_buffer import TfBufferConfig
from tracker.data.contract import GLOBAL_TOPICS, OUTPUT_TYPES, OutputTopics, Topics
from tracker.pipeline.depth3d import Depth3DConfig
from tracker.pipeline.ego import EgoMotionConfig
from tracker.pipeline.health import DiagnosticsConfig
from tracker.pipeline.processor import OutputConfig, ProcessorConfig, StaticTransformConfig
from tracker.pipeline.registration import RegistrationConfig
from tracker.pipeline.sync import SyncConfig

from .input_config import InputsSection

_IN, _OUT = Topics(), OutputTopics()
RELIABILITY = ("reliable", "best_effort")
INPUT_RELIABILITY = RELIABILITY + ("auto",)
DURABILITY = ("volatile", "transient_local")


@dataclass(frozen=True)
class NodeSection:
    rgb_only: bool = param(False, doc="subscribe to the RGB camera only (no thermal, no depth)")
    debug_image: bool = param(True, doc="publish the annotated debug image")
    debug_every_n: int = param(1, unit="frames", ge=1, doc="publish the debug image every n-th frame")
    markers: bool = param(True, doc="publish visualization markers")
    poll_period_s: float = param(0.05, unit="s", gt=0.0,
                                 doc="period of the check for silent cameras (steady clock)")
    processing: str = param("latest", choices=("inline", "latest"),
                            doc="latest (default): a worker thread processes the newest "
                                "set and skips older ones when busy (bounded latency, counted in /diagnostics); "
                                "inline: process every set in the receive callback (one output per set; a slow "
                                "pipeline queues up to the input QoS depth)")


@dataclass(frozen=True)
class MarkersSection:
    """Look of /tracker/markers (tracker.nodes.conversions.markers_msg)."""
    lifetime_s: float = param(0.5, unit="s", ge=0.0, doc="marker lifetime (RViz drops markers not refreshed)")
    default_size_m: tuple[float, float, float] = param((0.5, 1.7, 0.5), unit="m",
                                                       doc="box size (x, y, z) of a track without a 3D extent")
    box_alpha: float = param(0.35, unit="1", ge=0.0, le=1.0, doc="opacity of the box")
    arrow_alpha: float = param(0.8, unit="1", ge=0.0, le=1.0, doc="opacity of the velocity arrow")
    label_height_m: float = param(0.4, unit="m", gt=0.0, doc="text height of the id label")
    label_gap_m: float = param(0.2, unit="m", ge=0.0, doc="label position above the top of the box")
    arrow_scale_m: tuple[float, float, float] = param((0.08, 0.16, 0.2), unit="m",
                                                      doc="velocity arrow: shaft diameter, head diameter, head length")


def node_topic(contract_name: str) -> str:
    """The node's default name for a contract topic: relative (resolved in the node's namespace, so in the root
    namespace it is the contract's name and in namespace robot1 /robot1/...), except the system-wide topics
    (tracker.data.contract.GLOBAL_TOPICS), which stay absolute."""
    return contract_name if contract_name in GLOBAL_TOPICS else contract_name.lstrip("/")


@dataclass(frozen=True)
class TopicsSection:
    """Input and output topic names. Defaults: the contract's names (tracker.data.contract) made relative to the
    node's namespace (node_topic), except /tf, /tf_static and /diagnostics; every name can be set here or remapped."""
    color_image: str = param(node_topic(_IN.color_image))
    color_info: str = param(node_topic(_IN.color_info))
    thermal_image: str = param(node_topic(_IN.thermal_image))
    thermal_info: str = param(node_topic(_IN.thermal_info))
    depth_image: str = param(node_topic(_IN.depth_image))
    depth_info: str = param(node_topic(_IN.depth_info))
    tf_static: str = param(node_topic(_IN.tf_static))
    tf: str = param(node_topic(_IN.tf))
    tracks: str = param(node_topic(_OUT.tracks))
    tracks_2d: str = param(node_topic(_OUT.tracks_2d))
    track_array: str = param(node_topic(_OUT.track_array))
    detections_2d: str = param(node_topic(_OUT.detections_2d))
    markers: str = param(node_topic(_OUT.markers))
    debug_image: str = param(node_topic(_OUT.debug_image))
    diagnostics: str = param(node_topic(_OUT.diagnostics))

    def validate(self) -> None:
        for k, v in self.__dict__.items():
            if not v or " " in v:
                raise ValueError(f"topics.{k}: {v!r} is not a valid topic name")

    def image(self, cam: str) -> str:
        return getattr(self, f"{cam}_image")

    def info(self, cam: str) -> str:
        return getattr(self, f"{cam}_info")

    def inputs(self) -> dict[str, str]:
        """{field: topic} of the sensor inputs (image and camera_info of every camera), in the contract's order."""
        return {k: getattr(self, k) for k in _IN.inputs()}

    def outputs(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in OUTPUT_TYPES}

    def resolved(self, namespace: str = "/") -> "TopicsSection":
        """Every name fully qualified as a node in ``namespace`` resolves it (before remapping): what other
        processes (player, recorder, replay) see. In the root namespace the defaults are the contract's names."""
        ns = "/" + namespace.strip("/")
        return replace(self, **{k: _qualify(v, ns, k) for k, v in self.__dict__.items()})


def _qualify(name: str, ns: str, key: str) -> str:
    if name.startswith("~"):
        raise ValueError(f"topics.{key}: private name {name!r} is not supported (use a relative name)")
    return name if name.startswith("/") else f"{ns.rstrip('/')}/{name}"


@dataclass(frozen=True)
class QosProfileConfig:
    reliability: str = param("reliable", choices=RELIABILITY, doc="reliable or best_effort")
    depth: int = param(5, unit="messages", ge=1, le=1000, doc="KEEP_LAST history depth")
    durability: str = param("volatile", choices=DURABILITY, doc="volatile or transient_local")


@dataclass(frozen=True)
class InputQosConfig(QosProfileConfig):
    reliability: str = param("auto", choices=INPUT_RELIABILITY,
                             doc="auto: follow each input's publishers (reliable while all offer reliable, "
                                 "best_effort once one offers best_effort; docs/nodes.md), reliable or best_effort")


@dataclass(frozen=True)
class QosSection:
    inputs: InputQosConfig = param(default_factory=InputQosConfig,
                                   doc="images and camera_info; reliability auto by default (see docs/nodes.md)")
    outputs: QosProfileConfig = param(default_factory=lambda: QosProfileConfig("reliable", 10, "volatile"),
                                      doc="every output topic")
    check_period_s: float = param(2.0, unit="s", gt=0.0,
                                  doc="period of the check that input publishers' QoS is compatible")


@dataclass(frozen=True)
class BackendSection:
    model: str = param("", doc="model file (relative paths: to the repository/share root); the model_path "
                               "parameter overrides it")
    options: dict[str, Any] = param(default_factory=dict,
                                    doc="passed to tracker.backends.create_backend (backend order, threads, ...)")
    detector: dict[str, Any] = param(default_factory=dict,
                                     doc="passed to tracker.network.detector.Detector")


@dataclass(frozen=True)
class NodeConfig:
    node: NodeSection
    topics: TopicsSection
    sync: SyncConfig
    qos: QosSection
    processor: ProcessorConfig
    backend: BackendSection
    diagnostics: DiagnosticsConfig
    tracker: Mapping[str, Any]  # raw ``tracker:`` section (TrackerConfig, owned by tracker.core)
    markers: MarkersSection = field(default_factory=MarkersSection)
    inputs: InputsSection = field(default_factory=InputsSection)
    source: str = ""


SECTIONS = ("node", "topics", "sync", "qos", "registration", "depth3d", "output", "ego_motion", "tf",
            "fallback_extrinsics", "backend", "diagnostics", "markers", "inputs", "tracker")


def node_config_from_mapping(data: Mapping[str, Any], source: str = "config") -> NodeConfig:
    """Validate every section; unknown top-level sections are rejected with the list of valid ones."""
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{source}: unknown section '{unknown[0]}'; valid sections: {', '.join(SECTIONS)}")
    g = lambda k: data.get(k) or {}  # noqa: E731
    fallback = {k: from_mapping(StaticTransformConfig, v, where=f"fallback_extrinsics.{k}")
                for k, v in g("fallback_extrinsics").items()}
    proc = ProcessorConfig(registration=from_mapping(RegistrationConfig, g("registration"), where="registration"),
                           depth3d=from_mapping(Depth3DConfig, g("depth3d"), where="depth3d"),
                           output=from_mapping(OutputConfig, g("output"), where="output"),
                           ego_motion=from_mapping(EgoMotionConfig, g("ego_motion"), where="ego_motion"),
                           tf=from_mapping(TfBufferConfig, g("tf"), where="tf"),
                           fallback_extrinsics=fallback)
    try:
        proc.validate()
    except ValueError as e:
        raise ConfigError(str(e)) from e
    tracker = section(data, "tracker", source)
    return NodeConfig(node=from_mapping(NodeSection, g("node"), where="node"),
                      topics=from_mapping(TopicsSection, g("topics"), where="topics"),
                      sync=from_mapping(SyncConfig, g("sync"), where="sync"),
                      qos=from_mapping(QosSection, g("qos"), where="qos"),
                      processor=proc,
                      backend=from_mapping(BackendSection, g("backend"), where="backend"),
                      diagnostics=from_mapping(DiagnosticsConfig, g("diagnostics"), where="diagnostics"),
                      tracker=tracker, markers=from_mapping(MarkersSection, g("markers"), where="markers"),
                      inputs=from_mapping(InputsSection, g("inputs"), where="inputs"),
                      source=source)


def load_node_config(path: str | Path) -> NodeConfig:
    return node_config_from_mapping(load_yaml(path), source=str(path))


def repo_root() -> Path:
    """The folder holding config/, models/, launch/ and msg/: the source checkout or the installed share/tracker
    (tracker.common.paths.data_root; docs/ros-install.md)."""
    return data_root()


def default_config_path() -> Path:
    return repo_root() / "config" / "tracker_node.yaml"


def resolve_model_path(model: str) -> str:
    if not model:
        return ""
    p = Path(model)
    if not p.is_absolute() and not p.exists():
        p = repo_root() / p
    return str(p)
