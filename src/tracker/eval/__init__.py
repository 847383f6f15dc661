"""Evaluation: TrackEval scoring (HOTA, DetA, AssA, MOTA, IDF1, IDSW), 3D error, latency, baselines, reports.

ROS-free except :func:`tracker.eval.evaluate.replay`, which imports the node suite lazily."""
from .config import EvalConfig, load_eval_config
from .scoring import Obj, Scores, build_trackeval_data, combine_sequences, score_sequence, summarize

__all__ = ["EvalConfig", "load_eval_config", "Obj", "Scores", "build_trackeval_data", "combine_sequences",
           "score_sequence", "summarize"]
