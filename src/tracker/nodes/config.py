"""The tracker node's YAML (config/tracker_node.yaml): every section as a frozen, validated dataclass.

Sections owned here: node, topics, sync, qos, registration, depth3d, output, fallback_extrinsics, backend,
diagnostics, markers. The ``tracker:`` section belongs to tracker.core (TrackerConfig) and is loaded with it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from tracker.common.config import ConfigError, from_mapping, load_yaml, param, section
from tracker.data.contract import OUTPUT_TYPES, OutputTopics, Topics
from tracker.pipeline.depth3d import Depth3DConfig
from tracker.pipeline.health import DiagnosticsConfig
from tracker.pipeline.processor import OutputConfig, ProcessorConfig, StaticTransformConfig
from tracker.pipeline.registration import RegistrationConfig
from tracker.pipeline.sync import SyncConfig

_IN, _OUT = Topics(), OutputTopics()
RELIABILITY = ("reliable", "best_effort")
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


@dataclass(frozen=True)
class TopicsSection:
    """Input and output topic names; the defaults are the contract's (tracker.data.contract)."""
    color_image: str = param(_IN.color_image)
    color_info: str = param(_IN.color_info)
    thermal_image: str = param(_IN.thermal_image)
    thermal_info: str = param(_IN.thermal_info)
    depth_image: str = param(_IN.depth_image)
    depth_info: str = param(_IN.depth_info)
    tf_static: str = param(_IN.tf_static)
    tracks: str = param(_OUT.tracks)
    tracks_2d: str = param(_OUT.tracks_2d)
    track_array: str = param(_OUT.track_array)
    detections_2d: str = param(_OUT.detections_2d)
    markers: str = param(_OUT.markers)
    debug_image: str = param(_OUT.debug_image)
    diagnostics: str = param(_OUT.diagnostics)

    def validate(self) -> None:
        for k, v in self.__dict__.items():
            if not v or " " in v:
                raise ValueError(f"topics.{k}: {v!r} is not a valid topic name")

    def image(self, cam: str) -> str:
        return getattr(self, f"{cam}_image")

    def info(self, cam: str) -> str:
        return getattr(self, f"{cam}_info")

    def outputs(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in OUTPUT_TYPES}


@dataclass(frozen=True)
class QosProfileConfig:
    reliability: str = param("reliable", choices=RELIABILITY, doc="reliable or best_effort")
    depth: int = param(5, unit="messages", ge=1, le=1000, doc="KEEP_LAST history depth")
    durability: str = param("volatile", choices=DURABILITY, doc="volatile or transient_local")


@dataclass(frozen=True)
class QosSection:
    inputs: QosProfileConfig = param(default_factory=QosProfileConfig,
                                     doc="images and camera_info; RELIABLE by default (see docs/nodes.md)")
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
    source: str = ""


SECTIONS = ("node", "topics", "sync", "qos", "registration", "depth3d", "output", "fallback_extrinsics", "backend",
            "diagnostics", "markers", "tracker")


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
                      source=source)


def load_node_config(path: str | Path) -> NodeConfig:
    return node_config_from_mapping(load_yaml(path), source=str(path))


def repo_root() -> Path:
    """The repository (or installed share/tracker) folder holding config/ and models/."""
    import os
    env = os.environ.get("TRACKER_ROOT")
    if env and (Path(env) / "config").is_dir():
        return Path(env)
    here = Path(__file__).resolve()
    for p in here.parents:
        if (p / "config" / "tracker_node.yaml").is_file():
            return p
    return Path.cwd()


def default_config_path() -> Path:
    return repo_root() / "config" / "tracker_node.yaml"


def resolve_model_path(model: str) -> str:
    if not model:
        return ""
    p = Path(model)
    if not p.is_absolute() and not p.exists():
        p = repo_root() / p
    return str(p)
