"""Tracker configuration: the ``tracker:`` YAML section as frozen dataclasses with units and ranges.

Every threshold the core uses lives here. ``TrackerConfig.from_mapping(yaml["tracker"])`` or
``load_tracker_config(path)`` build it; unknown keys, wrong types and out-of-range values raise
:class:`tracker.common.config.ConfigError` naming the dotted key, its unit and its range.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from tracker.common.config import ConfigError, from_mapping, load_yaml, param, section

SECTION = "tracker"


@dataclass(frozen=True)
class ClassParams:
    """Thresholds and noise of one object class (``tracker.classes.<name>``)."""

    high_score: float = param(0.5, unit="1", ge=0.0, le=1.0,
                              doc="detections at or above this score take part in the first (high) stage")
    low_score: float = param(0.1, unit="1", ge=0.0, le=1.0,
                             doc="detections in [low_score, high_score) take part in the second (low) stage; "
                                 "below are dropped")
    new_track_score: float = param(0.6, unit="1", ge=0.0, le=1.0,
                                   doc="an unmatched high detection spawns a track at or above this score")
    max_unseen_s: float = param(3.0, unit="s", gt=0.0,
                                doc="a lost track is deleted after this long without a matched detection")
    accel_std_m_s2: float = param(2.0, unit="m/s^2", gt=0.0,
                                  doc="3D process noise: std of white acceleration (q = std^2 per second)")
    box_accel_std: float = param(1.0, unit="1/s^2", gt=0.0,
                                 doc="2D process noise: std of white acceleration of box centre and size, "
                                     "as a fraction of box height per s^2")
    init_speed_std_m_s: float = param(2.0, unit="m/s", gt=0.0,
                                      doc="std of the unknown 3D velocity of a new track")
    max_speed_m_s: float = param(3.0, unit="m/s", gt=0.0,
                                 doc="re-identification gate: a lost track may have moved at most this fast")

    def validate(self) -> None:
        if self.low_score > self.high_score:
            raise ConfigError(f"low_score ({self.low_score}) must be <= high_score ({self.high_score})")

    def __post_init__(self):
        self.validate()


def _default_classes() -> dict[str, ClassParams]:
    return {
        "person": ClassParams(),
        "vehicle": ClassParams(max_unseen_s=3.0, accel_std_m_s2=4.0, init_speed_std_m_s=8.0, max_speed_m_s=30.0),
    }


@dataclass(frozen=True)
class TrackerConfig:
    """The whole ``tracker:`` section. Field docs give units; ranges are checked on construction."""

    class_names: tuple[str, ...] = param(("person", "vehicle"),
                                         doc="class index -> name; Detections.classes index this list")
    classes: dict[str, ClassParams] = param(default_factory=_default_classes,
                                            doc="per-class thresholds and noise, one entry per class name")
    motion_model: str = param("cv_box_3d", doc="motion model name (see tracker.core.motion.MOTION_MODELS)")
    cost_high: str = param("fused", doc="cost function of the high-score stage (tracker.core.matching.COST_FUNCTIONS)")
    cost_low: str = param("iou", doc="cost function of the low-score stage")
    max_cost_high: float = param(0.8, unit="1", gt=0.0, le=1.0,
                                 doc="pairs costing more are not matched in the high stage")
    max_cost_low: float = param(0.5, unit="1", gt=0.0, le=1.0,
                                doc="pairs costing more are not matched in the low stage")
    iou_weight: float = param(1.0, unit="1", ge=0.0, doc="weight of (1 - IoU) in the fused cost")
    embedding_weight: float = param(1.0, unit="1", ge=0.0,
                                    doc="weight of the embedding cosine distance in the fused cost")
    position_weight: float = param(0.5, unit="1", ge=0.0,
                                   doc="weight of the normalised 3D Mahalanobis distance in the fused cost")
    embedding_gate: float = param(0.5, unit="1", gt=0.0, le=2.0,
                                  doc="pairs whose embedding cosine distance exceeds this are never matched")
    gate_box_chi2: float = param(40.0, unit="1", gt=0.0,
                                 doc="gate on the squared Mahalanobis distance of the 2D box (4 dof; "
                                     "13.3 is the 99% point)")
    gate_position_chi2: float = param(16.3, unit="1", gt=0.0,
                                      doc="gate on the squared 3D Mahalanobis distance (3 dof; 16.3 = 99.9%)")
    candidate_pad: float = param(0.5, unit="1", ge=0.0,
                                 doc="track boxes are grown by this fraction of their size when looking for "
                                     "candidate detections")
    match_across_classes: bool = param(False, doc="allow a track to match a detection of another class")
    min_hits: int = param(2, unit="frames", ge=1, doc="a tentative track is confirmed after this many hits")
    tentative_max_unseen_s: float = param(0.0, unit="s", ge=0.0,
                                          doc="a tentative track unseen for longer than this is deleted")
    reid_window_s: float = param(3.0, unit="s", ge=0.0,
                                 doc="lost tracks unseen up to this long are re-identified by embedding")
    reid_max_distance: float = param(0.3, unit="1", gt=0.0, le=2.0,
                                     doc="max cosine distance between a detection and a lost track's "
                                         "embedding memory for re-identification")
    embedding_momentum: float = param(0.9, unit="1", ge=0.0, lt=1.0,
                                      doc="exponential smoothing of a track's embedding (weight of the old)")
    embedding_bank_size: int = param(8, unit="embeddings", ge=1, le=256,
                                     doc="recent embeddings kept per track for re-identification")
    embedding_min_score: float = param(0.5, unit="1", ge=0.0, le=1.0,
                                       doc="only detections at or above this score update embedding memory")
    box_meas_std: float = param(0.1, unit="1", gt=0.0,
                                doc="2D measurement noise std as a fraction of box height")
    box_init_velocity_std: float = param(1.0, unit="1/s", gt=0.0,
                                         doc="std of the unknown box velocity of a new track, fraction of "
                                             "box height per second")
    position_meas_std_m: float = param(0.05, unit="m", gt=0.0, doc="3D measurement noise std at zero range")
    position_meas_std_per_m: float = param(0.02, unit="m/m", ge=0.0,
                                           doc="3D measurement noise std growth per metre of range")
    unknown_position_std_m: float = param(1000.0, unit="m", gt=0.0,
                                          doc="position std reported for tracks that never had 3D")
    min_box_size_px: float = param(1.0, unit="px", gt=0.0, doc="predicted box width/height floor")
    ego_default_depth_m: float = param(10.0, unit="m", gt=0.0,
                                       doc="depth assumed when moving the 2D box of a track without 3D under "
                                           "ego-motion (needs a camera model)")

    def validate(self) -> None:
        if not self.class_names:
            raise ConfigError(f"{SECTION}.class_names must not be empty")
        if len(set(self.class_names)) != len(self.class_names):
            raise ConfigError(f"{SECTION}.class_names has duplicates: {list(self.class_names)}")
        missing = [c for c in self.class_names if c not in self.classes]
        extra = [c for c in self.classes if c not in self.class_names]
        if missing or extra:
            raise ConfigError(f"{SECTION}.classes must have one entry per class name {list(self.class_names)}"
                              + (f"; missing: {missing}" if missing else "") + (f"; unknown: {extra}" if extra else ""))
        from tracker.core.matching import COST_FUNCTIONS  # local: matching imports this module
        from tracker.core.motion import MOTION_MODELS
        MOTION_MODELS.get(self.motion_model, f"{SECTION}.motion_model")
        COST_FUNCTIONS.get(self.cost_high, f"{SECTION}.cost_high")
        COST_FUNCTIONS.get(self.cost_low, f"{SECTION}.cost_low")

    def __post_init__(self):
        self.validate()

    def class_params(self) -> tuple[ClassParams, ...]:
        """Per-class parameters in class-index order."""
        return tuple(self.classes[c] for c in self.class_names)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None, where: str = SECTION) -> "TrackerConfig":
        return from_mapping(cls, mapping, where=where)


def load_tracker_config(path: str | Path) -> TrackerConfig:
    """Read the ``tracker:`` section of a YAML file."""
    return TrackerConfig.from_mapping(section(load_yaml(path), SECTION, source=str(path)))
