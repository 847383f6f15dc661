"""Tracker core (ROS-free): Kalman motion, association, track life cycle.

    from tracker.core import Tracker, TrackerConfig, Detections, Track, TrackState, load_tracker_config
    trk = Tracker(TrackerConfig.from_mapping(yaml_dict["tracker"]))
    tracks = trk.update(stamp_s, Detections(boxes, scores, classes), ego_motion=None, modalities=frozenset())
"""
from tracker.common.config import ConfigError
from tracker.core.config import ClassParams, TrackerConfig, load_tracker_config
from tracker.core.matching import COST_FUNCTIONS
from tracker.core.motion import MOTION_MODELS
from tracker.core.registry import Entry, Registry
from tracker.core.tracker import Tracker
from tracker.core.types import Detections, Track, TrackState

__all__ = ["Tracker", "TrackerConfig", "ClassParams", "Detections", "Track", "TrackState", "load_tracker_config",
           "ConfigError", "COST_FUNCTIONS", "MOTION_MODELS", "Registry", "Entry"]
