"""Offline tracker tuning: the node's pipeline (registration, detector, 3D, ego-motion) runs once per bag, its
per-frame inputs to the tracker are kept, and then the tracker core alone is replayed over them for each
setting to try, scored against the bags' ground truth like ``tracker-eval`` scores ``/tracker/tracks_2d``.

The network is the slow part of a replay (~30 ms a frame here) and does not depend on the tracker's
settings, so a sweep of tracker thresholds and match costs costs seconds per setting instead of a full node
replay per setting. What is not replayed: DDS, the node's approximate-time synchroniser (the bag reader pairs
frames by header stamp within ``sync.slop_s``, as the synchroniser does in a lockstep replay) and frames a
busy node skips in ``processing: latest`` (a lockstep replay skips none). The check of that equivalence is
in docs/tracker-core.md ("Tuning the tracker offline"). The command line (``tracker-tune``) is
tracker.tools.tune: it brings the node's config and detector factory, which this package does not import."""
from __future__ import annotations

import copy
import hashlib
import itertools
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import yaml

from tracker.core import Tracker, TrackerConfig
from tracker.eval import bagio
from tracker.eval.config import EvalConfig
from tracker.eval.report import PERCENT
from tracker.eval.scoring import Obj, combine_sequences, score_sequence

NS_PER_S = 1_000_000_000
#: bump when the cached frame layout changes (old caches are then recomputed, not misread)
CACHE_VERSION = 3
SUMMARY_FIELDS = ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW")


@dataclass(frozen=True)
class TrackerInput:
    """What the node gives the tracker core for one frame."""
    stamp_ns: int
    detections: Any  # tracker.core.types.Detections (with 3D positions)
    ego_motion: Any  # Transform or None
    modalities: frozenset
    camera: Any  # CameraModel of the RGB camera, or None


@dataclass(frozen=True)
class BagInputs:
    name: str
    frames: tuple  # TrackerInput per processed RGB frame, in stamp order
    gt: bagio.GroundTruth
    world: str = ""  # the renderer of the bag's sidecar (tracker.eval.evaluate.origin_of), "external" if none
    condition: str = ""  # its condition (presets joined by '+'), as tracker-eval's report groups bags


class TuneError(ValueError):
    """A setting to try or a bag cannot be used; the message says which and why."""


# ------------------------------------------------------------------------------------------------ pipeline pass
#: the parts of the package that the tracker replay does not re-run: their code is part of a cached pass
_REPLAYED = ("core", "eval", "adapt", "sim", "sim_gl", "tools", "nodes")


def _pipeline_code_hash() -> str:
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root)
        if rel.parts[0] not in _REPLAYED:
            h.update(str(rel).encode() + f.read_bytes())
    return h.hexdigest()


def _cache_key(bag: Path, node_yaml: Mapping, model: str) -> str:
    h = hashlib.sha256()
    h.update(_pipeline_code_hash().encode())  # a change of the pipeline's code is a new pass
    fixed = {k: v for k, v in node_yaml.items() if k != "tracker"}  # the tracker's settings do not change inputs
    h.update(yaml.safe_dump(fixed, sort_keys=True).encode())
    h.update(str(bag.resolve()).encode())
    m = Path(model)
    h.update(f"{m.resolve()}:{m.stat().st_size}:{m.stat().st_mtime_ns}:{CACHE_VERSION}".encode())
    return h.hexdigest()[:16]


def _run_pipeline(bag: Path, node_cfg, make_detector: Callable[[], Any]) -> tuple:
    """One pass of the node's pipeline over ``bag``: the tracker core's input per RGB frame."""
    from tracker.data.reader import BagReader
    from tracker.pipeline.processor import FrameInput, Processor
    tc = TrackerConfig.from_mapping(node_cfg.tracker)
    det = make_detector()
    proc = Processor(node_cfg.processor, det, Tracker(tc), tc.class_names)
    frames = []
    try:
        with BagReader(bag) as r:
            for n, c in r.cameras.items():
                proc.set_camera(n, c)
            proc.set_extrinsics({k: v for k, v in r.extrinsics.items() if k != "color"})
            for s in r.samples(max_offset_s=node_cfg.sync.slop_s):
                res = proc.process(FrameInput(s.stamp, s.rgb, s.thermal, s.thermal_encoding, s.depth))
                frames.append(TrackerInput(int(round(s.stamp * NS_PER_S)), res.detections, res.ego.motion,
                                           res.modalities, proc.cameras.get("color")))
    finally:
        det.close()
    return tuple(frames)


def cache_path(bag: str | Path, node_yaml: Mapping, model: str, cache_dir: str | Path) -> Path:
    """Where the pipeline pass of ``bag`` with this model and these non-tracker node settings is kept."""
    bag = Path(bag)
    return Path(cache_dir) / f"tune_{bag.name}_{_cache_key(bag, node_yaml, model)}.pkl"


def bag_inputs(bag: str | Path, node_cfg, node_yaml: Mapping, model: str, eval_cfg: EvalConfig,
               make_detector: Callable[[], Any], cache_dir: str | Path | None = None) -> BagInputs:
    """The tracker inputs and the ground truth of one contract bag; ``node_cfg`` is the node's config
    (tracker.nodes.config.NodeConfig) parsed from ``node_yaml``, ``make_detector()`` makes the node's detector for
    ``model`` (the node's factory: tracker.tools.tune passes it). With ``cache_dir`` both are kept there and
    read back when asked again for the same bag path, model and non-tracker node settings (the bag itself is
    then not read: a rendered bag may be deleted after its pass)."""
    from tracker.eval.evaluate import origin_of
    bag = Path(bag)
    cache = cache_path(bag, node_yaml, model, cache_dir) if cache_dir else None
    if cache is not None and cache.is_file():
        with open(cache, "rb") as f:
            return pickle.load(f)
    if not bag.exists():
        raise TuneError(f"{bag}: no such bag")
    gt = bagio.gt_from_bag(bag, match=eval_cfg.match)
    if not gt.has2d:
        raise TuneError(f"{bag}: no 2D ground truth (/ground_truth/tracks_2d): nothing to tune against")
    origin = origin_of(bag)
    res = BagInputs(bag.name, _run_pipeline(bag, node_cfg, make_detector), gt, origin.world, origin.condition)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            pickle.dump(res, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(cache)
    return res


# ------------------------------------------------------------------------------------------------- tracker pass
def track(inputs: BagInputs, tracker_cfg: TrackerConfig, output, eval_cfg: EvalConfig) -> dict[int, list[Obj]]:
    """The tracker core over one bag's inputs: {GT frame: published tracks as scoring objects}, the tracks the
    node would publish on tracks_2d (``output``: the node's output section)."""
    from tracker.pipeline.processor import published_tracks
    trk = Tracker(tracker_cfg)
    tol_s = inputs.gt.frame_period_s(eval_cfg.match.default_period_s) * eval_cfg.match.max_offset_periods
    frame_of = bagio.align([f.stamp_ns for f in inputs.frames], inputs.gt.stamps_ns, tol_s)
    out: dict[int, list[Obj]] = {}
    for f, k in zip(inputs.frames, frame_of):
        trk.camera = f.camera
        tracks = trk.update(f.stamp_ns / NS_PER_S, f.detections, ego_motion=f.ego_motion, modalities=f.modalities)
        if k is not None and k not in out:
            out[k] = [Obj(str(t.track_id), t.class_name, tuple(float(v) for v in t.box), float(t.score))
                      for t in published_tracks(tracks, output)]
    return out


def score(bags: Sequence[BagInputs], tracker_cfg: TrackerConfig, output, eval_cfg: EvalConfig) -> dict:
    """{"combined": S, "worlds": {world: S}, "conditions": {"world/condition": S}, "bags": {bag name: S}},
    S = {class ("all", "person", ...): {HOTA, DetA, AssA, MOTA, IDF1, IDSW}}, over ``bags`` combined as
    tracker-eval combines them (scores in %)."""
    seqs = [score_sequence(b.gt.frames2d, track(b, tracker_cfg, output, eval_cfg), eval_cfg.scoring, name=b.name,
                           num_frames=b.gt.num_frames) for b in bags]

    def pooled(key) -> dict:
        groups: dict[str, list] = {}
        for b, s in zip(bags, seqs):
            groups.setdefault(key(b), []).append(s)
        return {k: _flat(combine_sequences(v, eval_cfg.scoring)) for k, v in sorted(groups.items())}

    return {"combined": _flat(combine_sequences(seqs, eval_cfg.scoring)),
            "worlds": pooled(lambda b: b.world),
            "conditions": pooled(lambda b: f"{b.world}/{b.condition}"),
            "bags": {b.name: _flat(s) for b, s in zip(bags, seqs)}}


def _flat(scores) -> dict:
    return {cls: {k: _pct(s.get(k), k) for k in SUMMARY_FIELDS} for cls, s in scores.summaries().items()
            if s is not None}


def _pct(v, name: str):
    if v is None:
        return None
    return int(v) if name == "IDSW" else round(PERCENT * float(v), 2)


# ---------------------------------------------------------------------------------------------------- settings
def parse_sets(items: Sequence[str]) -> list[tuple[str, list]]:
    """``KEY=V1,V2,...`` (KEY: a dotted path in the node YAML, e.g. tracker.classes.person.high_score or
    output.publish_lost_s; values read as YAML) -> [(KEY, [values])]."""
    out = []
    for item in items:
        key, sep, vals = item.partition("=")
        if not sep or not key or not vals:
            raise TuneError(f"--set {item!r}: expected KEY=VALUE[,VALUE...]")
        root = key.split(".")[0]
        if root not in ("tracker", "output"):
            raise TuneError(f"--set {item!r}: only tracker.* and output.* settings act on the replayed tracker "
                            f"(the others change the pipeline's inputs: run tracker-eval for them)")
        out.append((key, [yaml.safe_load(v) for v in vals.split(",")]))
    return out


def variants(node_yaml: Mapping, sets: Sequence[tuple[str, list]]) -> list[tuple[dict, dict]]:
    """Every combination of the ``sets`` values applied to ``node_yaml``: [(changes, node mapping)]."""
    keys = [k for k, _ in sets]
    out = []
    for combo in itertools.product(*[v for _, v in sets]) if sets else [()]:
        data = copy.deepcopy(dict(node_yaml))
        for key, val in zip(keys, combo):
            parts = key.split(".")
            d = data
            for p in parts[:-1]:
                d = d.setdefault(p, {}) if isinstance(d.get(p, {}), dict) else None
                if d is None:
                    raise TuneError(f"--set {key}: {p} is not a section")
            d[parts[-1]] = val
        out.append((dict(zip(keys, combo)), data))
    return out


# --------------------------------------------------------------------------------------------------------- CLI
def _num(res: Mapping, cls: str, key: str) -> str:
    v = (res.get(cls) or {}).get(key)
    return "–" if v is None else (f"{v:d}" if isinstance(v, int) else f"{v:.1f}")


def row(changes: Mapping, res: Mapping) -> list[str]:
    """Setting, combined scores, then all / person HOTA per world (when the bags come from several)."""
    c = res["combined"]
    setting = ", ".join(f"{k.split('.', 1)[1]}={v}" for k, v in changes.items()) or "(as in the node config)"
    per_world = [_num(w, cls, "HOTA") for _, w in sorted(res["worlds"].items()) for cls in ("all", "person")] \
        if len(res["worlds"]) > 1 else []
    return [setting] + [_num(c, cls, "HOTA") for cls in ("all", "person", "vehicle")] + [
        _num(c, "all", k) for k in ("DetA", "AssA", "IDF1", "IDSW")] + per_world


def table(rows: Sequence[tuple[Mapping, Mapping]]) -> str:
    head = ["setting", "HOTA", "person HOTA", "vehicle HOTA", "DetA", "AssA", "IDF1", "IDSW"]
    if rows and len(rows[0][1]["worlds"]) > 1:
        head += [f"{w}: {cls}" for w in sorted(rows[0][1]["worlds"]) for cls in ("HOTA", "person")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row(c, r)) + " |" for c, r in rows]
    return "\n".join(lines)
