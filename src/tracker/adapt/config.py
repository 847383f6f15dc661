"""config/adapt.yaml as frozen dataclasses: every threshold of tracker-adapt with its unit, range and meaning.

Sections: ``teacher`` (TTA inference), ``offline`` (tracking over the whole bag; its ``tracker`` section is a
tracker.core TrackerConfig), ``labels`` (track confidence -> soft weight, ignore regions), ``rounds`` (the
self-training loop) and ``training`` (overrides of config/network.yaml's ``training`` for every round)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tracker.common.config import ConfigError, from_mapping, load_yaml, param
from tracker.core.config import ClassParams, TrackerConfig

#: modality subsets a teacher pass may use (names of tracker.network.evaluate.SUBSETS)
TEACHER_SUBSETS = {"all": (True, True, True), "rgb": (True, False, False), "thermal": (False, True, False),
                   "rgb+thermal": (True, True, False)}


@dataclass(frozen=True)
class TeacherConfig:
    """The teacher: the current model run offline at its most accurate (no real-time budget)."""
    modalities: tuple[str, ...] = param(("all", "rgb", "thermal"), doc="modality subsets, one pass group each "
                                        f"(of {', '.join(TEACHER_SUBSETS)}); a subset the frame lacks is skipped")
    flip: bool = param(True, doc="also run every pass on the horizontally flipped input")
    tiles: bool = param(True, doc="also run the input upscaled 2x as 2x2 tiles (small, far people)")
    tile_border_px: float = param(2.0, unit="input px", ge=0.0, doc="a tile box within this distance of an inner "
                                  "tile edge is dropped (a person cut by the tile)")
    raw_threshold: float = param(0.05, unit="1 (score)", ge=0.0, le=1.0, doc="peaks decoded per pass down to this")
    top_k: int = param(100, ge=1, doc="peaks decoded per pass")
    fusion_iou: float = param(0.55, unit="1 (IoU)", gt=0.0, le=1.0, doc="boxes of the passes overlapping a fused "
                              "box by this much join it (weighted box fusion)")
    score_threshold: float = param(0.1, unit="1 (score)", ge=0.0, le=1.0, doc="fused boxes below this are no "
                                   "teacher box (MOTRv3's low confidence threshold)")
    batch: int = param(32, ge=1, doc="network inputs per forward call")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), doc="auto: CUDA when available")

    def validate(self) -> None:
        bad = [m for m in self.modalities if m not in TEACHER_SUBSETS]
        if bad or not self.modalities:
            raise ConfigError(f"teacher.modalities: unknown {bad}; valid: {', '.join(TEACHER_SUBSETS)}")


def _offline_tracker() -> TrackerConfig:
    """The core tracker as the offline linker: low spawn thresholds (under a domain shift the teacher's scores
    are low: the track length and the confidence weight vouch for a box, not its score), min_hits 1."""
    p = ClassParams(high_score=0.15, low_score=0.05, new_track_score=0.15)
    vehicle = ClassParams(high_score=0.15, low_score=0.05, new_track_score=0.15, accel_std_m_s2=4.0,
                          init_speed_std_m_s=8.0, max_speed_m_s=30.0)
    return TrackerConfig(classes={"person": p, "vehicle": vehicle}, min_hits=1)


@dataclass(frozen=True)
class OfflineConfig:
    """Tracking over the whole bag, forwards and backwards (tracker.adapt.offline)."""
    frame_period_s: float = param(1.0 / 30.0, unit="s", gt=0.0, doc="time between two labelled frames (the "
                                  "bag's frame period x rounds.stride): the tracker's clock")
    min_track_frames: int = param(5, unit="frames", ge=1, doc="tracks detected in fewer frames are dropped "
                                  "(their boxes become ignore regions)")
    max_gap_frames: int = param(5, unit="frames", ge=0, doc="gaps of up to this many frames inside a kept track "
                                "are filled by linear interpolation")
    static_min_duration_s: float = param(2.0, unit="s", gt=0.0, doc="a kept track spanning at least this long is "
                                         "judged for standing still (static structure rejection)")
    static_max_motion: float = param(0.1, unit="1 (box height)", ge=0.0, doc="a judged track whose box centres "
                                     "all stay within this fraction of its median box height of their median, and "
                                     "whose height stays within it too, stands still in the image")
    static_max_confidence: float = param(0.5, unit="1 (score)", ge=0.0, le=1.0, doc="a track standing still with "
                                         "a confidence below this is dropped (its boxes become ignore regions): "
                                         "windows, poles and doorways the teacher sees in every frame of a static "
                                         "camera; 0 turns the rule off")
    jumpy_min_jerk: float = param(0.1, unit="1 (box height)", gt=0.0, doc="a track whose median |second "
                                  "difference of the box centre| over its detected frames exceeds this fraction "
                                  "of the box height hops rather than moves (offline.jerk): smooth motion at any "
                                  "speed is ~0, a linker joining clutter boxes is not")
    jumpy_max_confidence: float = param(0.3, unit="1 (score)", ge=0.0, le=1.0, doc="a hopping track with a "
                                        "confidence below this is dropped (its boxes become ignore regions); 0 "
                                        "turns the rule off")
    tracker: TrackerConfig = param(default_factory=_offline_tracker, doc="tracker.core settings of both passes")


@dataclass(frozen=True)
class LabelConfig:
    """Track confidence (mean teacher score of its detected frames) -> soft label weight; ignore regions."""
    weight_zero_confidence: float = param(0.1, unit="1 (score)", ge=0.0, le=1.0, doc="weight 0 at this confidence")
    weight_full_confidence: float = param(0.5, unit="1 (score)", gt=0.0, le=1.0, doc="weight 1 from this one "
                                          "(linear in between)")
    filled_weight: float = param(0.5, unit="1", ge=0.0, le=1.0, doc="factor on the weight of an interpolated box")
    ignore_below_weight: float = param(0.2, unit="1", ge=0.0, le=1.0, doc="kept boxes weighing less are ignore "
                                       "regions instead of targets")
    ignore_margin: float = param(0.1, unit="1 (box size)", ge=0.0, doc="an ignore region is its box grown by this "
                                 "fraction of the box's width/height on each side")

    def validate(self) -> None:
        if self.weight_full_confidence <= self.weight_zero_confidence:
            raise ConfigError("labels.weight_full_confidence must exceed labels.weight_zero_confidence")


@dataclass(frozen=True)
class RoundsConfig:
    """The self-training loop (tracker.adapt.rounds)."""
    rounds: int = param(3, ge=1, doc="at most this many rounds (teacher -> labels -> student)")
    steps_per_round: int = param(500, unit="steps", ge=1, doc="training steps of each student")
    labelled_share: float = param(0.3, unit="1", ge=0.0, lt=1.0, doc="share of batch clips drawn from the "
                                  "labelled (--labelled) bags, by repeating bags (the achieved share is reported)")
    max_repeat: int = param(8, ge=1, doc="a bag is listed at most this many times to reach labelled_share")
    stop_margin: float = param(0.005, unit="1 (AP)", ge=0.0, doc="a round improves when the held-out person AP "
                               "rises by more than this")
    patience: int = param(1, unit="rounds", ge=1, doc="stop after this many rounds without improvement")
    stride: int = param(1, unit="frames", ge=1, doc="every n-th RGB frame of the unlabelled bags is labelled")
    val_stride: int = param(1, unit="frames", ge=1, doc="every n-th RGB frame of the --val bags is scored")
    seed: int = param(0, ge=0, doc="training seed of round k: seed + k")
    measure: bool = param(True, doc="score pseudo labels against the unlabelled bags' ground truth where it "
                          "exists (report only; the labels never see it)")
    tracking_metrics: bool = param(True, doc="HOTA of the tracker core on each student's detections on --val")
    tracker_config: str = param("config/tracker_node.yaml", doc="YAML whose tracker section runs those tracks "
                                "(the node's)")
    tracking_score_threshold: float = param(0.1, unit="1 (score)", ge=0.0, le=1.0, doc="detections fed to that "
                                            "tracker (the node's backend.detector.score_threshold)")


@dataclass(frozen=True)
class AdaptConfig:
    teacher: TeacherConfig = param(default_factory=TeacherConfig)
    offline: OfflineConfig = param(default_factory=OfflineConfig)
    labels: LabelConfig = param(default_factory=LabelConfig)
    rounds: RoundsConfig = param(default_factory=RoundsConfig)
    training: dict = param(default_factory=dict, doc="overrides of config/network.yaml training "
                           "(tracker.network.train.TrainConfig) for every round")


def load_adapt_config(path: str | Path | None) -> AdaptConfig:
    """config/adapt.yaml (section ``adapt``); code defaults without a file."""
    if path is None:
        return AdaptConfig()
    data = load_yaml(path)
    return from_mapping(AdaptConfig, data.get("adapt", {}), where="adapt")
