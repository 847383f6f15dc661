"""Evaluation of bags: replay through the node suite (tracker.nodes.replay, the only ROS part, imported
lazily), read the outputs back, score every method against the GT and aggregate per condition and overall.

Methods: ``suite`` (the full multi-modal suite), ``rgb_only`` (the same nodes, network on RGB only),
``bytetrack`` / ``ocsort`` (BoxMOT on the suite's raw detections; optional)."""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import yaml

from tracker.data.contract import Topics

from . import bagio
from .baselines import BOXMOT_BASELINES, BaselineUnavailable, boxmot_available, run_boxmot
from .config import EvalConfig
from .metrics3d import id_timeline, latency_stats, position_errors
from .scoring import ALL_CLASSES, Scores, ScoringError, combine_sequences, score_sequence

SUITE = "suite"
RGB_ONLY = "rgb_only"
METHODS = (SUITE, RGB_ONLY) + BOXMOT_BASELINES
EXTERNAL_CONDITION = "external"  # bags without a simulator sidecar (converted datasets, recordings)
DEFAULT_CONDITION = "default"  # simulator bag without presets


class ReplayUnavailable(RuntimeError):
    """The node suite cannot replay bags here; the message says why."""


@dataclass
class MethodResult:
    method: str
    scores: Scores | None = None
    metrics3d: dict | None = None
    latency: dict | None = None
    latencies_s: list = field(default_factory=list)
    output_stamps_s: list = field(default_factory=list)
    frames: dict = field(default_factory=dict)  # GT frame -> [Obj] predictions (for plots)
    output: str = ""
    messages: list = field(default_factory=list)

    def to_json(self) -> dict:
        return {"output": self.output, "messages": self.messages,
                "scores": self.scores.summaries() if self.scores is not None else None,
                "metrics3d": self.metrics3d, "latency": self.latency}


@dataclass
class BagResult:
    name: str
    path: str
    condition: str
    gt_source: str = ""
    info: dict = field(default_factory=dict)
    messages: list = field(default_factory=list)
    methods: dict = field(default_factory=dict)  # method -> MethodResult
    gt: bagio.GroundTruth | None = None

    def to_json(self) -> dict:
        return {"name": self.name, "path": self.path, "condition": self.condition, "gt_source": self.gt_source,
                "num_gt_frames": self.gt.num_frames if self.gt is not None else 0,
                "modalities": self.info.get("modalities"), "messages": self.messages,
                "methods": {m: r.to_json() for m, r in self.methods.items()}}


def condition_of(bag: str | Path) -> str:
    """The condition of a bag: its simulator presets joined by '+' (sidecar ``<bag>.calibration.yaml``),
    'default' for a simulator bag without presets, 'external' for anything else."""
    p = Path(bag)
    side = p.with_name(p.name + ".calibration.yaml")
    if not side.is_file():
        return EXTERNAL_CONDITION
    try:
        presets = (yaml.safe_load(side.read_text()) or {}).get("presets") or []
    except yaml.YAMLError:
        return EXTERNAL_CONDITION
    return "+".join(presets) if presets else DEFAULT_CONDITION


def replay(bag: Path, out_bag: Path, realtime: bool, rgb_only: bool, config_path=None, model_path=None) -> dict:
    """Play ``bag`` through the node suite into ``out_bag`` (tracker.nodes.replay.replay_bag)."""
    try:
        from tracker.nodes.replay import replay_bag
    except Exception as e:  # ImportError (not built yet / no rclpy) or a broken install
        raise ReplayUnavailable(f"the node suite cannot replay bags here ({type(e).__name__}: {e}); score "
                                f"existing outputs with --pred OUTPUT_BAG") from e
    if out_bag.exists():
        shutil.rmtree(out_bag)
    out_bag.parent.mkdir(parents=True, exist_ok=True)
    return replay_bag(bag, out_bag, config_path=config_path, model_path=model_path, realtime=realtime,
                      rgb_only=rgb_only) or {}


def stats_latencies(stats: dict) -> list | None:
    """Per-frame latencies (s) from replay stats (``latencies_s``, or ``latencies_ms``), None if absent."""
    for key, scale in (("latencies_s", 1.0), ("latency_s", 1.0), ("latencies_ms", 1e-3), ("latencies", 1.0)):
        v = stats.get(key) if isinstance(stats, dict) else None
        if v is not None:
            return [float(x) * scale for x in v]
    return None


def score_method(method: str, name: str, gt: bagio.GroundTruth | None, pred: bagio.Predictions,
                 cfg: EvalConfig, latencies_s: list | None = None) -> MethodResult:
    """Scores, 3D metrics and latency of one method's predictions on one bag."""
    r = MethodResult(method, output=pred.source, frames=pred.frames)
    lat = latencies_s if latencies_s is not None else pred.latencies_s
    r.latencies_s, r.output_stamps_s = list(lat), list(pred.output_stamps_s)
    if lat or pred.output_stamps_s:
        r.latency = latency_stats(lat, pred.output_stamps_s, cfg.latency)
    if pred.unmatched_frames:
        r.messages.append(f"{pred.unmatched_frames} output frame(s) matched no GT frame within "
                          f"{cfg.match.max_offset_periods:g} frame period (not scored)")
    if pred.duplicate_frames:
        r.messages.append(f"{pred.duplicate_frames} output frame(s) duplicated a GT frame (later ones ignored)")
    if gt is None or not gt.has2d:
        return r
    try:
        r.scores = score_sequence(gt.frames2d, pred.frames, cfg.scoring, name=f"{name}/{method}",
                                  num_frames=gt.num_frames)
    except ScoringError as e:
        r.messages.append(f"not scored: {e}")
    if gt.has3d:
        r.metrics3d = position_errors(gt.frames2d, gt.centers3d, pred.frames, cfg.metrics3d)
    return r


def _image_size(bag: Path, gt: bagio.GroundTruth) -> tuple[int, int]:
    try:
        from tracker.data.reader import BagReader
        with BagReader(bag) as r:
            cam = r.cameras.get("color")
        if cam is not None:
            return int(cam.width), int(cam.height)
    except Exception:  # no camera_info: derive from the GT boxes
        pass
    boxes = [o.box for objs in gt.frames2d.values() for o in objs] if gt is not None else []
    if not boxes:
        return 1, 1
    b = np.asarray(boxes)
    return int(np.ceil(max(b[:, 2].max(), 1))), int(np.ceil(max(b[:, 3].max(), 1)))


def evaluate_bag(bag: str | Path, out_dir: str | Path, cfg: EvalConfig = EvalConfig(), *,
                 methods: Sequence[str] = METHODS, realtime: bool = False, gt_file: str | Path | None = None,
                 gt_format: str = "auto", pred: str | Path | None = None, condition: str | None = None,
                 node_config: str | Path | None = None, model: str | Path | None = None,
                 topics: Topics = Topics(), out_topics: bagio.OutputTopics = bagio.OutputTopics(),
                 log: Callable[[str], None] = print) -> BagResult:
    """Evaluate one input bag. With ``pred`` (an output bag or a MOT result file) the suite is not replayed
    and that output is scored as the suite; otherwise each method replays the bag through the nodes.
    Problems (missing modality, missing GT, no node suite, no boxmot) become messages, not exceptions."""
    bag = Path(bag)
    res = BagResult(bag.name, str(bag), condition or condition_of(bag))
    note = res.messages.append
    res.info = bagio.input_info(bag, topics)
    if res.info["missing_modalities"]:
        note(f"{bag.name}: no {', '.join(res.info['missing_modalities'])} images; the suite runs on "
             f"{', '.join(res.info['modalities']) or 'nothing'}")
    gt = None
    if gt_file is not None:
        gt = bagio.gt_from_mot(gt_file, bagio.rgb_stamps(bag, topics), cfg.scoring, gt_format)
    elif res.info["has_gt2d"] or res.info["has_gt3d"]:
        gt = bagio.gt_from_bag(bag, topics, cfg.match)
    if gt is None or not gt.has2d:
        note(f"{bag.name}: no 2D ground truth ({topics.gt_tracks_2d}) and no --gt file: HOTA/MOTA/IDF1 not "
             f"scored; latency and output rate still reported")
    if gt is not None and not gt.has3d:
        note(f"{bag.name}: no 3D ground truth ({topics.gt_tracks}): 3D position error not scored")
    res.gt, res.gt_source = gt, gt.source if gt is not None else ""
    ref = gt if gt is not None else bagio.GroundTruth(bagio.rgb_stamps(bag, topics))

    suite_pred = None
    for method in methods:
        out_bag = Path(out_dir) / "outputs" / bag.name / method
        try:
            if method in (SUITE, RGB_ONLY):
                if pred is not None:
                    if method == RGB_ONLY:
                        note(f"{method}: skipped (outputs given with --pred, no replay)")
                        continue
                    p = Path(pred)
                    pr = bagio.predictions_from_mot(p, cfg.scoring) if p.is_file() else \
                        bagio.predictions_from_bag(p, ref, cfg.match, out_topics)
                    lat = None
                else:
                    log(f"replaying {bag.name} ({method}{', realtime' if realtime else ''})")
                    stats = replay(bag, out_bag, realtime, method == RGB_ONLY, node_config, model)
                    pr = bagio.predictions_from_bag(out_bag, ref, cfg.match, out_topics)
                    lat = stats_latencies(stats)
                if method == SUITE:
                    suite_pred = pr
            else:
                ok, why = boxmot_available()
                if not ok:
                    note(f"{method}: skipped: {why}")
                    continue
                if suite_pred is None or not suite_pred.detections:
                    note(f"{method}: skipped: needs the suite's raw detections ({out_topics.detections_2d})")
                    continue
                frames = run_boxmot(method, suite_pred.detections, range(1, ref.num_frames + 1),
                                    _image_size(bag, gt), cfg.scoring.classes, cfg.baselines)
                pr = bagio.Predictions(frames=frames, source=f"boxmot:{method}")
                lat = None
        except (ReplayUnavailable, BaselineUnavailable) as e:
            note(f"{method}: skipped: {e}")
            continue
        r = score_method(method, bag.name, gt, pr, cfg, lat)
        res.methods[method] = r
    return res


def evaluate_mot(gt_file: str | Path, pred_file: str | Path, cfg: EvalConfig = EvalConfig(),
                 name: str | None = None, condition: str = EXTERNAL_CONDITION, gt_format: str = "auto",
                 pred_format: str = "auto") -> BagResult:
    """Score a MOT result file against a MOT gt.txt (no bag, no replay)."""
    gt = bagio.gt_from_mot(gt_file, None, cfg.scoring, gt_format)
    pr = bagio.predictions_from_mot(pred_file, cfg.scoring, pred_format)
    from .motchallenge import num_frames
    n = max(gt.num_frames, num_frames(pr.frames))
    if n > gt.num_frames:
        gt = bagio.GroundTruth(np.arange(n, dtype=np.int64), {k: gt.frames2d.get(k, []) for k in range(1, n + 1)},
                               has2d=True, source=gt.source)
    g = Path(gt_file)
    name = name or (g.parent.parent.name if g.parent.name == "gt" else g.parent.name) or g.stem
    res = BagResult(name, str(gt_file), condition, gt.source, gt=gt)
    res.methods[SUITE] = score_method(SUITE, name, gt, pr, cfg)
    return res


def aggregate(results: Sequence[BagResult], cfg: EvalConfig = EvalConfig()) -> dict:
    """Per condition and combined, per method: TrackEval's sequence combination of the scores, pooled 3D error
    (mean over all samples), pooled latency percentiles."""
    def pool(rs: list[MethodResult]) -> dict:
        scored = [r.scores for r in rs if r.scores is not None]
        comb = combine_sequences(scored, cfg.scoring) if scored else None
        m3 = [r.metrics3d for r in rs if r.metrics3d]
        n = sum(m["n_position_samples"] for m in m3)
        err = (sum(m["mean_position_error_m"] * m["n_position_samples"] for m in m3
                   if m["mean_position_error_m"] is not None) / n) if n else None
        v3 = [m["valid3d_fraction"] for m in m3 if m["valid3d_fraction"] is not None]
        lat = [x for r in rs for x in r.latencies_s]
        rates = [r.latency["output_rate_hz"] for r in rs if r.latency and r.latency.get("output_rate_hz")]
        latency = latency_stats(lat, (), cfg.latency) if lat else None
        if latency is not None:
            latency["output_rate_hz"] = float(np.mean(rates)) if rates else None
        return {"sequences": len(rs), "scored_sequences": len(scored),
                "scores": comb.summaries() if comb is not None else None,
                "metrics3d": {"mean_position_error_m": err, "n_position_samples": n,
                              "valid3d_fraction": float(np.mean(v3)) if v3 else None} if m3 else None,
                "latency": latency}

    methods = [m for m in METHODS if any(m in r.methods for r in results)]
    methods += sorted({m for r in results for m in r.methods} - set(methods))
    conds = sorted({r.condition for r in results})
    out = {"conditions": {}, "combined": {}}
    for c in conds:
        out["conditions"][c] = {m: pool([r.methods[m] for r in results if r.condition == c and m in r.methods])
                                for m in methods if any(r.condition == c and m in r.methods for r in results)}
    out["combined"] = {m: pool([r.methods[m] for r in results if m in r.methods]) for m in methods}
    return out


def headline(summary: dict | None, cls: str = ALL_CLASSES) -> dict | None:
    return None if summary is None else summary.get(cls)


def timeline_for(res: BagResult, method: str, cfg: EvalConfig) -> dict:
    r = res.methods.get(method)
    if r is None or res.gt is None or not res.gt.has2d:
        return {}
    return id_timeline(res.gt.frames2d, r.frames, cfg.metrics3d.iou_threshold)
