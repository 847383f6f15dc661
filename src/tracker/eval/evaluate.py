"""Evaluation of bags: replay through the node suite, read the outputs back, score every method against the GT
and aggregate per condition and overall.

The replay is the only ROS part and is given by the caller (a :data:`Replayer`, e.g.
``tracker.tools.replay.replay_bag``): tracker.eval sits below the nodes and imports neither them nor the tools.
Without one, the replayed methods are skipped with a message and ``--pred`` outputs are still scored.

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
from tracker.data.motchallenge import num_frames

from . import bagio
from .baselines import BOXMOT_BASELINES, BaselineUnavailable, boxmot_available, run_boxmot
from .config import EvalConfig
from .evalset import SIM_WORLD
from .metrics3d import id_timeline, latency_stats, position_errors
from .scoring import ALL_CLASSES, Scores, ScoringError, score_sequence

SUITE = "suite"
RGB_ONLY = "rgb_only"
METHODS = (SUITE, RGB_ONLY) + BOXMOT_BASELINES
EXTERNAL_CONDITION = "external"  # bags without a simulator sidecar (converted datasets, recordings)
EXTERNAL_WORLD = "external"  # their world (simulator bags: tracker.eval.evalset.WORLD_LABELS)
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
    world: str = EXTERNAL_WORLD  # renderer of a simulator bag (sim, sim_gl), else external
    seed: int | None = None  # simulator seed

    def to_json(self) -> dict:
        return {"name": self.name, "path": self.path, "condition": self.condition, "world": self.world,
                "seed": self.seed, "gt_source": self.gt_source,
                "num_gt_frames": self.gt.num_frames if self.gt is not None else 0,
                "modalities": self.info.get("modalities"), "messages": self.messages,
                "methods": {m: r.to_json() for m, r in self.methods.items()}}


@dataclass(frozen=True)
class Origin:
    """Where a bag comes from: its renderer (world), condition and seed."""
    world: str = EXTERNAL_WORLD
    condition: str = EXTERNAL_CONDITION
    seed: int | None = None


def origin_of(bag: str | Path) -> Origin:
    """World, condition and seed of a bag from its sidecar ``<bag>.calibration.yaml``: the world is the sidecar's
    ``renderer`` (world A writes none, only ``presets``: 'sim'), the condition its presets joined by '+'
    ('default' without presets); a bag without a readable sidecar is 'external'."""
    p = Path(bag)
    side = p.with_name(p.name + ".calibration.yaml")
    if not side.is_file():
        return Origin()
    try:
        data = yaml.safe_load(side.read_text()) or {}
    except yaml.YAMLError:
        return Origin()
    if not isinstance(data, dict):
        return Origin()
    presets = data.get("presets") or []
    seed = data.get("seed")
    world = data.get("renderer") or (SIM_WORLD if "presets" in data else EXTERNAL_WORLD)
    return Origin(str(world), "+".join(presets) if presets else DEFAULT_CONDITION,
                  int(seed) if isinstance(seed, int) else None)


def condition_of(bag: str | Path) -> str:
    """The condition of a bag (:func:`origin_of`)."""
    return origin_of(bag).condition


#: ``replayer(bag, out_bag, config_path=, model_path=, realtime=, rgb_only=) -> stats``: plays ``bag`` through the
#: node suite, records its outputs into ``out_bag`` (a new bag) and returns statistics (``latencies_s``, ...)
Replayer = Callable[..., dict]


def replay(bag: Path, out_bag: Path, realtime: bool, rgb_only: bool, config_path=None, model_path=None,
           replayer: Replayer | None = None) -> dict:
    """Play ``bag`` through the node suite into ``out_bag`` with ``replayer``; ReplayUnavailable without one."""
    if replayer is None:
        raise ReplayUnavailable("no node suite to replay bags with (the caller gave no replayer, e.g. "
                                "tracker.tools.replay.replay_bag); score existing outputs with --pred OUTPUT_BAG")
    if out_bag.exists():
        shutil.rmtree(out_bag)
    out_bag.parent.mkdir(parents=True, exist_ok=True)
    return replayer(bag, out_bag, config_path=config_path, model_path=model_path, realtime=realtime,
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


def _ground_truth(bag: Path, res: BagResult, cfg: EvalConfig, gt_file, gt_format: str,
                  topics: Topics) -> bagio.GroundTruth | None:
    """The bag's GT (or the --gt file's), with a message for each part that is missing."""
    note = res.messages.append
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
    return gt


@dataclass
class _Run:
    """What every method of one bag shares."""
    bag: Path
    out_dir: Path
    cfg: EvalConfig
    gt: bagio.GroundTruth | None
    ref: bagio.GroundTruth  # frames predictions are aligned to (the GT, else the RGB frames)
    realtime: bool
    pred: Path | None
    node_config: str | Path | None
    model: str | Path | None
    out_topics: bagio.OutputTopics
    log: Callable[[str], None]
    replayer: Replayer | None = None
    suite_pred: bagio.Predictions | None = None


def _replayed(run: _Run, method: str) -> tuple[bagio.Predictions, list | None]:
    """Predictions (and replay latencies) of suite / rgb_only: the given --pred output, or a replay."""
    if run.pred is not None:
        pr = bagio.predictions_from_mot(run.pred, run.cfg.scoring) if run.pred.is_file() else \
            bagio.predictions_from_bag(run.pred, run.ref, run.cfg.match, run.out_topics)
        return pr, None
    out_bag = run.out_dir / "outputs" / run.bag.name / method
    run.log(f"replaying {run.bag.name} ({method}{', realtime' if run.realtime else ''})")
    stats = replay(run.bag, out_bag, run.realtime, method == RGB_ONLY, run.node_config, run.model, run.replayer)
    return bagio.predictions_from_bag(out_bag, run.ref, run.cfg.match, run.out_topics), stats_latencies(stats)


def _method_predictions(run: _Run, method: str, note: Callable[[str], None]
                        ) -> tuple[bagio.Predictions, list | None] | None:
    """Predictions of one method, or None (skipped, with a message)."""
    if method in (SUITE, RGB_ONLY):
        if run.pred is not None and method == RGB_ONLY:
            note(f"{method}: skipped (outputs given with --pred, no replay)")
            return None
        pr, lat = _replayed(run, method)
        if method == SUITE:
            run.suite_pred = pr
        return pr, lat
    ok, why = boxmot_available()
    if not ok:
        note(f"{method}: skipped: {why}")
        return None
    if run.suite_pred is None or not run.suite_pred.detections:
        note(f"{method}: skipped: needs the suite's raw detections ({run.out_topics.detections_2d})")
        return None
    frames = run_boxmot(method, run.suite_pred.detections, range(1, run.ref.num_frames + 1),
                        _image_size(run.bag, run.gt), run.cfg.scoring.classes, run.cfg.baselines)
    return bagio.Predictions(frames=frames, source=f"boxmot:{method}"), None


def evaluate_bag(bag: str | Path, out_dir: str | Path, cfg: EvalConfig = EvalConfig(), *,
                 methods: Sequence[str] = METHODS, realtime: bool = False, gt_file: str | Path | None = None,
                 gt_format: str = "auto", pred: str | Path | None = None, condition: str | None = None,
                 node_config: str | Path | None = None, model: str | Path | None = None,
                 topics: Topics = Topics(), out_topics: bagio.OutputTopics = bagio.OutputTopics(),
                 log: Callable[[str], None] = print, replayer: Replayer | None = None) -> BagResult:
    """Evaluate one input bag. With ``pred`` (an output bag or a MOT result file) the suite is not replayed
    and that output is scored as the suite; otherwise each method replays the bag through the nodes with
    ``replayer``. Problems (missing modality, missing GT, no replayer, no boxmot) become messages, not
    exceptions."""
    bag = Path(bag)
    org = origin_of(bag)
    res = BagResult(bag.name, str(bag), condition or org.condition, world=org.world, seed=org.seed)
    note = res.messages.append
    res.info = bagio.input_info(bag, topics)
    if res.info["missing_modalities"]:
        note(f"{bag.name}: no {', '.join(res.info['missing_modalities'])} images; the suite runs on "
             f"{', '.join(res.info['modalities']) or 'nothing'}")
    gt = _ground_truth(bag, res, cfg, gt_file, gt_format, topics)
    res.gt, res.gt_source = gt, gt.source if gt is not None else ""
    ref = gt if gt is not None else bagio.GroundTruth(bagio.rgb_stamps(bag, topics))
    run = _Run(bag, Path(out_dir), cfg, gt, ref, realtime, Path(pred) if pred is not None else None, node_config,
               model, out_topics, log, replayer)
    for method in methods:
        try:
            got = _method_predictions(run, method, note)
        except (ReplayUnavailable, BaselineUnavailable) as e:
            note(f"{method}: skipped: {e}")
            continue
        if got is not None:
            res.methods[method] = score_method(method, bag.name, gt, got[0], cfg, got[1])
    return res


def evaluate_mot(gt_file: str | Path, pred_file: str | Path, cfg: EvalConfig = EvalConfig(),
                 name: str | None = None, condition: str = EXTERNAL_CONDITION, gt_format: str = "auto",
                 pred_format: str = "auto") -> BagResult:
    """Score a MOT result file against a MOT gt.txt (no bag, no replay)."""
    gt = bagio.gt_from_mot(gt_file, None, cfg.scoring, gt_format)
    pr = bagio.predictions_from_mot(pred_file, cfg.scoring, pred_format)
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
    """Per condition (and world) and combined, per method: see tracker.eval.aggregate.aggregate."""
    from .aggregate import aggregate as _aggregate
    return _aggregate(results, cfg)


def headline(summary: dict | None, cls: str = ALL_CLASSES) -> dict | None:
    return None if summary is None else summary.get(cls)


def timeline_for(res: BagResult, method: str, cfg: EvalConfig) -> dict:
    r = res.methods.get(method)
    if r is None or res.gt is None or not res.gt.has2d:
        return {}
    return id_timeline(res.gt.frames2d, r.frames, cfg.metrics3d.iou_threshold)
