"""Evaluation settings (config/eval.yaml, section ``eval``): frozen dataclasses with units and ranges."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tracker.common.config import from_mapping, load_yaml, param
from tracker.data.contract import CLASS_NAMES


@dataclass(frozen=True)
class ScoringConfig:
    """How ground truth and predictions are turned into TrackEval per-sequence data."""
    classes: tuple[str, ...] = param(CLASS_NAMES, doc="classes evaluated, each on its own (TrackEval "
                                     "evaluates one class at a time); 'all' combines them det-averaged")
    iou_threshold: float = param(0.5, unit="1 (IoU)", gt=0.0, le=1.0,
                                 doc="CLEAR (MOTA) and Identity (IDF1) match threshold; HOTA sweeps 0.05..0.95")
    distractor_classes: tuple[str, ...] = param((), doc="GT classes whose matched predictions are removed "
                                                "before scoring (MOT17 preprocessing step 2); empty = none; "
                                                "tracker.data.motchallenge.distractor_classes('MOT17') for MOT GT")
    distractor_iou: float = param(0.5, unit="1 (IoU)", gt=0.0, le=1.0,
                                  doc="IoU of the Hungarian match used to find predictions on distractors")
    drop_zero_marked: bool = param(True, doc="drop GT rows whose MOT 'conf/flag' column is 0 (TrackEval "
                                   "zero_marked; motmetrics min_confidence=1)")
    min_visibility: float = param(0.0, unit="1 (visible fraction)", ge=0.0, le=1.0,
                                  doc="GT boxes less visible than this are dropped (0 = keep all, as TrackEval)")
    mot_default_class: str = param("person", doc="class of MOT rows whose class column is -1/0 (MOT15, "
                                   "tracker outputs)")


@dataclass(frozen=True)
class MatchConfig:
    """Matching of predicted frames to GT frames by header stamp."""
    max_offset_periods: float = param(0.5, unit="frame periods", gt=0.0, le=1.0,
                                      doc="exact ns stamp match first, else the nearest GT frame within this "
                                          "fraction of the median GT frame period")
    default_period_s: float = param(1.0 / 30.0, unit="s", gt=0.0,
                                    doc="frame period assumed when a bag has fewer than two GT frames")


@dataclass(frozen=True)
class Metrics3DConfig:
    """3D position error of matched tracks."""
    iou_threshold: float = param(0.5, unit="1 (IoU)", gt=0.0, le=1.0,
                                 doc="2D IoU for a prediction to count as matched to a GT object (Hungarian)")


@dataclass(frozen=True)
class LatencyConfig:
    percentiles: tuple[float, ...] = param((50.0, 99.0), unit="%", doc="latency percentiles reported")


@dataclass(frozen=True)
class ReportConfig:
    latency_bins: int = param(50, unit="bins", ge=1, doc="histogram bins of the latency plot")
    timeline_max_ids: int = param(40, unit="tracks", ge=1, doc="most GT ids drawn in the id timeline plot")
    dpi: int = param(100, unit="dpi", ge=10, doc="PNG resolution")
    headline: tuple[str, ...] = param(("HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW"),
                                      doc="columns of the Markdown tables")


@dataclass(frozen=True)
class BaselineConfig:
    methods: tuple[str, ...] = param(("rgb_only", "bytetrack", "ocsort"),
                                     doc="baselines run besides the suite: rgb_only (the network on RGB only, "
                                         "through the nodes), bytetrack / ocsort (BoxMOT on the suite's "
                                         "detections; skipped when boxmot is not installed)")
    min_score: float = param(0.1, unit="1", ge=0.0, le=1.0, doc="detections below this score are not given "
                             "to the BoxMOT trackers")


@dataclass(frozen=True)
class ParallelConfig:
    """``tracker-eval --jobs N``: bags evaluated by N worker processes, each on a ROS domain of its own."""
    first_domain_id: int = param(50, ge=0, le=232, doc="worker k (0..N-1) sets ROS_DOMAIN_ID to this + k "
                                 "(--first-domain-id overrides): parallel replays never see each other")
    max_domain_id: int = param(101, ge=0, le=232, doc="highest ROS_DOMAIN_ID a worker may get (ROS 2: 0..101 "
                               "avoid the Linux ephemeral ports)")
    log_tail_chars: int = param(4000, unit="characters", ge=0, doc="tail of a failed worker's log in the error")
    stop_timeout_s: float = param(15.0, unit="s", gt=0.0, doc="on interruption a worker gets this long after "
                                  "SIGINT to stop its replay processes, then it is killed")
    crash_retries: int = param(1, ge=0, le=5, doc="a worker that dies without a result (a crash in native "
                               "code, e.g. a DDS segfault) is started again on its bag this many times; an error "
                               "the evaluation raises is not retried (it would fail again)")


@dataclass(frozen=True)
class EvalConfig:
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    match: MatchConfig = field(default_factory=MatchConfig)
    metrics3d: Metrics3DConfig = field(default_factory=Metrics3DConfig)
    latency: LatencyConfig = field(default_factory=LatencyConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    baselines: BaselineConfig = field(default_factory=BaselineConfig)
    parallel: ParallelConfig = field(default_factory=ParallelConfig)


def default_config_path() -> Path:
    """config/eval.yaml of the source tree (or of the installed share folder)."""
    here = Path(__file__).resolve()
    for base in (here.parents[3], here.parents[2]):
        p = base / "config" / "eval.yaml"
        if p.is_file():
            return p
    return here.parents[3] / "config" / "eval.yaml"


def load_eval_config(path: str | Path | None = None) -> EvalConfig:
    """EvalConfig from the ``eval`` section of a YAML file (default config/eval.yaml; defaults if absent)."""
    p = Path(path) if path is not None else default_config_path()
    if path is None and not p.is_file():
        return EvalConfig()
    data = load_yaml(p)
    return from_mapping(EvalConfig, data.get("eval", {}), where="eval")
