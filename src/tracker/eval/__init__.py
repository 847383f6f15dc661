"""Evaluation: TrackEval scoring (HOTA, DetA, AssA, MOTA, IDF1, IDSW), 3D error, latency, baselines, reports.

ROS-free: the replay through the node suite is given by the caller (:data:`tracker.eval.evaluate.Replayer`)."""
from .config import EvalConfig, load_eval_config
from .scoring import Obj, Scores, build_trackeval_data, combine_sequences, score_sequence, summarize

__all__ = ["EvalConfig", "load_eval_config", "Obj", "Scores", "build_trackeval_data", "combine_sequences",
           "score_sequence", "summarize"]
