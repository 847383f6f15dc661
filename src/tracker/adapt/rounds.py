"""The self-training loop: teacher -> pseudo labels -> student -> the student is the next teacher.

    RUN/adapt.json                 the run (bags, init, configs): what --resume needs
    RUN/round_0/metrics.json       the initial model on --val (AP, tracking): the baseline
    RUN/round_k/labels/<bag>.npy   pseudo labels of round k (tracker.network.cache.LABEL_COLUMNS)
    RUN/round_k/student/           the student's training run (last.pt = the student; tracker-train's files)
    RUN/round_k/metrics.json       label counts, label precision/recall (where GT exists), val AP, tracking
    RUN/report.json, RUN/MODEL_CARD.md, RUN/model.onnx + model.json (the best round, tracker-export's format)

Round k trains from round k-1's student (round 1: --init) on the pseudo-labelled bags mixed with the
--labelled bags (``rounds.labelled_share`` of the batch clips), for ``rounds.steps_per_round`` steps. The loop
stops after ``rounds.rounds`` rounds, or when the held-out person AP has not risen by ``stop_margin`` for
``patience`` rounds. The labelling (:func:`make_labels`) reads images only; tracker.adapt.measure reads the
ground truth of the unlabelled bags, where there is any, for the report."""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from tracker.common.config import from_mapping

from .config import AdaptConfig
from .labels import label_rows, label_stats, write_labels
from .offline import offline_tracks
from .teacher import Teacher, torch_infer

log = logging.getLogger("tracker.adapt")
RUN_FILE, REPORT, CARD, MODEL = "adapt.json", "report.json", "MODEL_CARD.md", "model.onnx"


@dataclass
class Plan:
    """Everything a run is made of (RUN/adapt.json)."""
    bags: list  # BagSource (ground_truth False)
    labelled: list
    val: list
    init: str
    out: Path
    cfg: AdaptConfig
    network: dict  # config/network.yaml's contents
    command: str = ""

    def to_json(self) -> dict:
        return {"bags": [b.to_json() for b in self.bags], "labelled": [b.to_json() for b in self.labelled],
                "val": [b.to_json() for b in self.val], "init": self.init, "config": asdict(self.cfg),
                "network": self.network, "command": self.command}

    @staticmethod
    def from_json(d: dict, out: Path) -> "Plan":
        from tracker.network.sources import BagSource
        src = [[BagSource.from_json(x) for x in d[k]] for k in ("bags", "labelled", "val")]
        return Plan(*src, d["init"], Path(out), from_mapping(AdaptConfig, d["config"], where="adapt.json"),
                    d["network"], d.get("command", ""))

    @property
    def cache_dir(self) -> Path:
        c = self.network.get("cache") or {}
        return Path(c.get("dir") or Path(self.network.get("data", {}).get("root", "build/netdata")) / "cache")

    @property
    def depth_storage(self) -> str:
        return (self.network.get("cache") or {}).get("depth_storage", "uint16_mm")


def frame_cache(plan: Plan, sources, width: int, height: int, stride: int):
    from tracker.network.cache import FrameCache
    from tracker.network.sources import node_registration
    return FrameCache.from_sources(list(sources), plan.cache_dir, width, height, stride, node_registration(),
                                   plan.depth_storage)


def make_labels(teacher_pt, plan: Plan, out_dir: Path) -> tuple[list, dict, dict]:
    """(pseudo-labelled sources, {bag: label counts}, {bag: teacher boxes per frame}) of round ``out_dir`` from
    the teacher checkpoint; the unlabelled bags' images only are read."""
    from tracker.network.checkpoint import load_checkpoint
    cfg = plan.cfg
    net, _ = load_checkpoint(teacher_pt)
    m = net.cfg
    teacher = Teacher(torch_infer(net, cfg.teacher.device), cfg.teacher, m.input_width, m.input_height,
                      m.embedding_dim)
    sources, stats, boxes = [], {}, {}
    for src in plan.bags:
        cache = frame_cache(plan, [src], m.input_width, m.input_height, cfg.rounds.stride)
        frames = teacher.bag_boxes(cache, m.input_normalisation)
        kept, dropped = offline_tracks(frames, cfg.offline)
        rows = label_rows(kept, dropped, cfg.labels)
        path = write_labels(Path(out_dir) / "labels" / f"{src.path.name}.npy", rows)
        key = str(src.path)
        stats[key] = label_stats(rows, kept, dropped, sum(len(f) for f in frames), cfg.teacher.modalities)
        boxes[key] = frames
        sources.append(replace(src, labels=str(path)))
        log.info("%s: %d teacher boxes -> %d tracks kept, %d dropped (%d standing still, %d hopping) -> %d "
                 "targets (%d interpolated), %d ignore regions", src.path.name, stats[key]["teacher_boxes"],
                 len(kept), len(dropped), stats[key]["tracks_static"], stats[key]["tracks_jumpy"],
                 stats[key]["targets"], stats[key]["interpolated"], stats[key]["ignore_regions"])
    return sources, stats, boxes


def measure_labels(plan: Plan, sources, boxes: dict, width: int, height: int) -> dict:
    """{bag: {"labels": PR, "teacher": PR}} for the unlabelled bags that have ground truth (report only)."""
    from tracker.network.sources import node_registration

    from .measure import gt_cache_of, score_labels
    from tracker.network.cache import load_labels
    out = {}
    for src in sources:
        gt = gt_cache_of(src, plan.cache_dir, width, height, plan.cfg.rounds.stride, node_registration(),
                         plan.depth_storage)
        if gt is not None:
            out[str(src.path)] = score_labels(load_labels(src.labels, len(gt)), boxes[str(src.path)], gt)
    return out


def mix(pseudo: list, labelled: list, share: float, max_repeat: int) -> tuple[list, float]:
    """(training sources, achieved labelled share of the clips): each list repeated so the labelled bags' share
    of the listed bags is closest to ``share`` (the batch sampler draws clips uniformly)."""
    if not labelled or share <= 0:
        return list(pseudo), 0.0
    best = None
    for a in range(1, max_repeat + 1):
        for b in range(1, max_repeat + 1):
            got = b * len(labelled) / (a * len(pseudo) + b * len(labelled))
            if best is None or abs(got - share) < abs(best[2] - share) - 1e-12:
                best = (a, b, got)
    a, b, got = best
    return list(pseudo) * a + list(labelled) * b, round(got, 4)


def train_config(plan: Plan):
    from tracker.network.train import TrainConfig
    t = {**(plan.network.get("training") or {}), **plan.cfg.training, "steps": plan.cfg.rounds.steps_per_round}
    return from_mapping(TrainConfig, t, where="training")


def train_student(plan: Plan, teacher_pt, sources: list, k: int) -> dict:
    """Round k's student (RUN/round_k/student, tracker.network.train) from the teacher's weights; resumed when
    an interrupted state.pt is there."""
    from dataclasses import asdict as _asdict

    from tracker.network.checkpoint import STATE, init_weights
    from tracker.network.losses import LossWeights
    from tracker.network.sources import RunData, node_registration
    from tracker.network.train import load_augment_config, resume, train
    out = plan.out / f"round_{k}" / "student"
    if (out / STATE).is_file() and not (out / "metrics.json").is_file():
        return resume(out, progress=False)
    mcfg, _ = init_weights(teacher_pt)
    rd = RunData(tuple(sources), tuple(plan.val), plan.cache_dir, plan.cfg.rounds.stride, plan.cfg.rounds.val_stride,
                 plan.depth_storage, _asdict(node_registration()))
    weights = from_mapping(LossWeights, plan.network.get("loss_weights", {}), where="loss_weights")
    return train(mcfg, train_config(plan), rd, out, plan.cfg.rounds.seed + k, weights=weights, progress=False,
                 command=f"tracker-adapt round {k}", augment=load_augment_config(plan.network.get("augment", {})),
                 init=str(teacher_pt))


def val_period_s(cfg: AdaptConfig) -> float:
    """Time between two evaluated --val frames: offline.frame_period_s is the labelled frames' (stride)."""
    return cfg.offline.frame_period_s * cfg.rounds.val_stride / cfg.rounds.stride


def evaluate_model(plan: Plan, model_pt) -> dict:
    """{"val_ap": per condition, "val_person_ap", "tracking"} of a checkpoint on --val ({} without)."""
    if not plan.val:
        return {}
    from tracker.core.config import load_tracker_config
    from tracker.network.checkpoint import load_checkpoint
    from tracker.network.train import person_ap_by_condition

    from .tracking import tracking_metrics
    net, _ = load_checkpoint(model_pt)
    m = net.cfg
    cache = frame_cache(plan, plan.val, m.input_width, m.input_height, plan.cfg.rounds.val_stride)
    infer = torch_infer(net, plan.cfg.teacher.device)
    ap = person_ap_by_condition(net, cache)
    out = {"val_ap": ap, "val_person_ap": (ap.get("all") or {}).get("person")}
    if plan.cfg.rounds.tracking_metrics:
        r = plan.cfg.rounds
        out["tracking"] = tracking_metrics(infer, cache, m.input_normalisation, load_tracker_config(r.tracker_config),
                                           r.tracking_score_threshold, val_period_s(plan.cfg), plan.cfg.teacher.top_k)
    return out


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    tmp.replace(path)


def run_round(plan: Plan, k: int, teacher_pt) -> dict:
    """Round k: labels from the teacher, their quality where GT exists, the student, its evaluation."""
    rdir = plan.out / f"round_{k}"
    sources, stats, boxes = make_labels(teacher_pt, plan, rdir)
    from tracker.network.checkpoint import init_weights
    mcfg, _ = init_weights(teacher_pt)
    quality = measure_labels(plan, sources, boxes, mcfg.input_width, mcfg.input_height) \
        if plan.cfg.rounds.measure else {}
    train_sources, share = mix(sources, plan.labelled, plan.cfg.rounds.labelled_share, plan.cfg.rounds.max_repeat)
    result = train_student(plan, teacher_pt, train_sources, k)
    student = rdir / "student" / "last.pt"
    rec = {"round": k, "teacher": str(teacher_pt), "student": str(student), "labels": stats,
           "label_quality": quality, "labelled_share": share, "train_frames": result.get("train_frames"),
           "steps": result.get("steps_done"), "train_time_s": result.get("train_time_s"),
           **evaluate_model(plan, student)}
    _write_json(rdir / "metrics.json", rec)
    return rec


def _improved(ap, best, margin: float) -> bool:
    return ap is not None and (best is None or ap > best + margin)


def run_adaptation(plan: Plan) -> dict:
    """All rounds (completed ones, RUN/round_k/metrics.json, are read back: --resume); returns the report."""
    from .report import finish
    plan.out.mkdir(parents=True, exist_ok=True)
    _write_json(plan.out / RUN_FILE, plan.to_json())
    base_file = plan.out / "round_0" / "metrics.json"
    if base_file.is_file():
        base = json.loads(base_file.read_text())
    else:
        base = {"round": 0, "student": plan.init, **evaluate_model(plan, plan.init)}
        _write_json(base_file, base)
    records, r = [base], plan.cfg.rounds
    best, bad, teacher = 0, 0, plan.init
    for k in range(1, r.rounds + 1):
        f = plan.out / f"round_{k}" / "metrics.json"
        rec = json.loads(f.read_text()) if f.is_file() else run_round(plan, k, teacher)
        records.append(rec)
        if not plan.val or _improved(rec.get("val_person_ap"), records[best].get("val_person_ap"), r.stop_margin):
            best, bad = k, 0
        else:
            bad += 1
        log.info("round %d: val person AP %s (best: round %d)", k, rec.get("val_person_ap"), best)
        if bad >= r.patience:
            log.info("no improvement for %d round(s): stopping", bad)
            break
        teacher = rec["student"]
    return finish(plan, records, best)
