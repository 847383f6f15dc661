"""Benchmark of the tracker core against BoxMOT (ByteTrack, OC-SORT) and `trackers` (ByteTrack).

Prints figures; it is not a test. Run it from the repository root in the separate benchmark venv:

    python3 -m venv .venv-bench && .venv-bench/bin/pip install --no-deps -r bench/requirements-bench.txt
    PYTHONPATH=src .venv-bench/bin/python bench/bench_tracker.py [--quick]

Detection streams are made from ground truth (``tracker.sim.ground_truth_sequence`` when the simulator is
there, else built-in scripted walkers) with the noise of :class:`Noise` below; every tracker sees the same
stream. Quality is scored with TrackEval (HOTA, IDF1) on the ground truth objects with visibility >=
``Noise.min_visibility``; every tracker reports, per frame, the tracks matched to a detection of that frame
(ByteTrack's output rule) and nothing else. A peer that cannot be imported is skipped with a message.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import platform
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from tracker.core import Detections, Tracker, TrackerConfig

CLASSES = ("person", "vehicle")


# -- ground truth --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GTObj:
    """The fields of tracker.sim's GTObject that the benchmark reads."""

    id: str
    cls: str
    box2d: tuple
    visibility: float
    center3d: np.ndarray


@dataclass(frozen=True)
class GTFrameLite:
    stamp: float
    objects: list


def scripted_walkers(n: int, duration_s: float, seed: int, fps: float = 30.0, occlusion: bool = True):
    """Fallback ground truth: n people (20 % vehicles) walking on a ground plane in front of a static pinhole
    camera (90 deg hfov; the image widens with n so that density stays that of 20 objects in 640 px)."""
    rng = np.random.default_rng(seed)
    scale = max(1.0, np.sqrt(n / 20.0))
    W, H = 640 * scale, 480.0
    f = 320.0
    x_half = 12.0 * scale
    vehicle = rng.uniform(size=n) < 0.2
    size = np.where(vehicle[:, None], [4.5, 1.6], [0.5, 1.75])  # width, height, m
    pos = np.stack([rng.uniform(-x_half, x_half, n), rng.uniform(4.0, 25.0, n)], 1)  # x, z on the ground
    speed = np.where(vehicle, rng.uniform(3, 8, n), rng.uniform(0.5, 1.8, n))
    ang = rng.uniform(0, 2 * np.pi, n)
    vel = np.stack([np.cos(ang), np.sin(ang)], 1) * speed[:, None]
    cam_h = 2.0
    frames = []
    for k in range(int(duration_s * fps)):
        t = k / fps
        pos = pos + vel / fps
        for ax, lo, hi in ((0, -x_half, x_half), (1, 4.0, 25.0)):
            out = (pos[:, ax] < lo) | (pos[:, ax] > hi)
            vel[out, ax] *= -1
            pos[:, ax] = np.clip(pos[:, ax], lo, hi)
        z = pos[:, 1]
        u = f * pos[:, 0] / z + W / 2
        v_foot = f * cam_h / z + H / 3
        w_px, h_px = f * size[:, 0] / z, f * size[:, 1] / z
        boxes = np.stack([u - w_px / 2, v_foot - h_px, u + w_px / 2, v_foot], 1)
        vis = np.ones(n)
        if occlusion:
            vis = _box_visibility(boxes, z)
        inside = (boxes[:, 2] > 0) & (boxes[:, 0] < W)
        centre = np.stack([pos[:, 0], cam_h - size[:, 1] / 2, z], 1)
        frames.append(GTFrameLite(t, [GTObj(f"obj_{i}", "vehicle" if vehicle[i] else "person", tuple(boxes[i]),
                                            float(vis[i]), centre[i]) for i in np.nonzero(inside)[0]]))
    return frames


def _box_visibility(boxes: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """1 - the largest fraction of a box covered by one nearer box (a cheap occlusion estimate)."""
    x1 = np.maximum(boxes[:, None, 0], boxes[None, :, 0])
    y1 = np.maximum(boxes[:, None, 1], boxes[None, :, 1])
    x2 = np.minimum(boxes[:, None, 2], boxes[None, :, 2])
    y2 = np.minimum(boxes[:, None, 3], boxes[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    nearer = depth[None, :] < depth[:, None]
    cover = np.where(nearer, inter / area[:, None], 0.0).max(axis=1, initial=0.0)
    return 1.0 - cover


def load_ground_truth(presets: str, duration_s: float, seed: int):
    try:
        from tracker.sim import ground_truth_sequence
        frames = ground_truth_sequence(presets, duration_s, seed)
        return frames, f"tracker.sim.ground_truth_sequence({presets!r}, {duration_s:g} s, seed {seed})"
    except Exception as e:  # the simulator is optional for the benchmark
        print(f"[bench] simulator unavailable ({type(e).__name__}: {e}); using scripted walkers")
        return scripted_walkers(23, duration_s, seed), f"scripted walkers (23 objects, {duration_s:g} s)"


# -- noise -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Noise:
    """How detections are made from ground truth (documented in docs/tracker-core.md)."""

    min_visibility: float = 0.3  # GT below this visibility is neither detected nor scored
    miss_prob: float = 0.10  # base probability of missing a detectable object
    miss_prob_occluded: float = 0.30  # extra miss probability times (1 - visibility)
    box_jitter: float = 0.04  # std of each box edge, fraction of box width (x) / height (y)
    low_score_prob: float = 0.2  # fraction of true detections with a low score U(0.15, 0.5); others U(0.5, 1)
    false_positives_per_frame: float = 1.5  # Poisson mean; random boxes, scores U(0.1, 0.6)
    embedding_dim: int = 32
    embedding_noise: float = 0.5  # norm of the noise added to the unit identity vector (cos ~ 0.9)
    position_std_m: float = 0.05  # 3D noise std at 0 m, per axis
    position_std_per_m: float = 0.02  # growth per metre of range
    depth_missing_prob: float = 0.15  # fraction of detections without 3D (NaN)


@dataclass
class Frame:
    stamp: float
    dets: Detections
    gt_ids: np.ndarray  # ids (ints) of scored GT
    gt_boxes: np.ndarray


def make_stream(gt_frames, noise: Noise, seed: int) -> list[Frame]:
    rng = np.random.default_rng(seed)
    id_map: dict[str, int] = {}
    id_vec: dict[int, np.ndarray] = {}
    all_boxes = np.array([o.box2d for fr in gt_frames for o in fr.objects] or [[0, 0, 640, 480]])
    W, H = max(640.0, float(all_boxes[:, 2].max())), max(480.0, float(all_boxes[:, 3].max()))
    D = noise.embedding_dim
    out = []
    for fr in gt_frames:
        objs = [o for o in fr.objects if o.visibility >= noise.min_visibility]
        ids = np.array([id_map.setdefault(o.id, len(id_map)) for o in objs], np.int64)
        boxes = np.array([o.box2d for o in objs], float).reshape(-1, 4)
        cls = np.array([CLASSES.index(o.cls) for o in objs], np.int64)
        centres = np.array([o.center3d for o in objs], float).reshape(-1, 3)
        vis = np.array([o.visibility for o in objs])
        p_miss = noise.miss_prob + noise.miss_prob_occluded * (1 - vis)
        det = rng.uniform(size=len(objs)) >= p_miss
        b = boxes[det]
        wh = np.stack([b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]] * 2, 1)
        b = b + rng.normal(0, noise.box_jitter, b.shape) * wh
        n_tp = len(b)
        scores = np.where(rng.uniform(size=n_tp) < noise.low_score_prob, rng.uniform(0.15, 0.5, n_tp),
                          rng.uniform(0.5, 1.0, n_tp))
        emb = np.zeros((n_tp, D))
        for i, gid in enumerate(ids[det]):
            if gid not in id_vec:
                v = np.random.default_rng(1000 + int(gid)).normal(size=D)
                id_vec[gid] = v / np.linalg.norm(v)
            e = rng.normal(size=D)
            emb[i] = id_vec[gid] + noise.embedding_noise * e / np.linalg.norm(e)
        c3 = centres[det]
        rngm = np.linalg.norm(c3, axis=1, keepdims=True)
        pos = c3 + rng.normal(size=c3.shape) * (noise.position_std_m + noise.position_std_per_m * rngm)
        pos[rng.uniform(size=n_tp) < noise.depth_missing_prob] = np.nan
        n_fp = rng.poisson(noise.false_positives_per_frame)
        h = rng.uniform(40, 200, n_fp)
        xy = np.stack([rng.uniform(0, W, n_fp), rng.uniform(0, H, n_fp)], 1)
        fp_boxes = np.concatenate([xy, xy + np.stack([h * 0.4, h], 1)], 1)
        all_b = np.concatenate([b, fp_boxes])
        all_s = np.concatenate([scores, rng.uniform(0.1, 0.6, n_fp)])
        all_c = np.concatenate([cls[det], rng.integers(0, 2, n_fp)])
        all_e = np.concatenate([emb, rng.normal(size=(n_fp, D))])
        all_p = np.concatenate([pos, np.full((n_fp, 3), np.nan)])
        order = rng.permutation(len(all_b))  # detectors do not sort by identity
        dets = Detections(all_b[order], all_s[order], all_c[order], all_e[order], all_p[order])
        out.append(Frame(float(fr.stamp), dets, ids, boxes))
    return out


# -- trackers under test -----------------------------------------------------------------------------------
Step = Callable[[Frame], tuple[np.ndarray, np.ndarray]]  # -> (ids (k,), boxes (k, 4)) reported this frame


def ours(use_emb: bool, use_3d: bool) -> Callable[[], Step]:
    def make() -> Step:
        trk = Tracker(TrackerConfig())

        def step(fr: Frame):
            d = fr.dets
            d = Detections(d.boxes, d.scores, d.classes, d.embeddings if use_emb else None,
                           d.positions if use_3d else None)
            tracks = trk.update(fr.stamp, d)
            live = [t for t in tracks if t.is_confirmed and t.det_index >= 0]
            return (np.array([t.track_id for t in live], np.int64),
                    np.array([t.box for t in live]).reshape(-1, 4))
        return step
    return make


def boxmot_tracker(name: str) -> Callable[[], Step]:
    def make() -> Step:
        import boxmot
        logging.disable(logging.INFO)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            trk = getattr(boxmot, name)()
        try:
            from loguru import logger
            logger.remove()
        except Exception:
            pass

        def step(fr: Frame):
            d = fr.dets
            arr = np.concatenate([d.boxes, d.scores[:, None], d.classes[:, None]], 1).astype(np.float32)
            out = trk.update(arr, None)
            out = np.asarray(out).reshape(-1, 8)
            return out[:, 4].astype(np.int64), out[:, :4].astype(float)
        return step
    return make


def trackers_bytetrack() -> Step:
    import supervision as sv
    from trackers import ByteTrackTracker
    trk = ByteTrackTracker()

    def step(fr: Frame):
        d = fr.dets
        r = trk.update(sv.Detections(xyxy=d.boxes.astype(np.float32), confidence=d.scores.astype(np.float32),
                                     class_id=d.classes.astype(int)))
        keep = r.tracker_id >= 0
        return r.tracker_id[keep].astype(np.int64), r.xyxy[keep].astype(float)
    return step


TRACKERS = {
    "ours (2D only)": ours(False, False),
    "ours (+emb)": ours(True, False),
    "ours (+emb +3D)": ours(True, True),
    "BoxMOT ByteTrack": boxmot_tracker("ByteTrack"),
    "BoxMOT OC-SORT": boxmot_tracker("OcSort"),
    "trackers ByteTrack": trackers_bytetrack,
}


def run(make: Callable[[], Step], stream: list[Frame]):
    step = make()
    outputs, times = [], []
    for fr in stream:
        t0 = time.perf_counter()
        out = step(fr)
        times.append(time.perf_counter() - t0)
        outputs.append(out)
    return outputs, np.array(times)


# -- scoring -----------------------------------------------------------------------------------------------
def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def score(stream: list[Frame], outputs) -> dict[str, float]:
    """HOTA and IDF1 with TrackEval's metric classes on in-memory data (ids remapped to 0..K-1)."""
    with contextlib.redirect_stdout(io.StringIO()):  # trackeval prints about optional datasets on import
        from trackeval.metrics import HOTA, Identity
    gt_ids = sorted({int(i) for fr in stream for i in fr.gt_ids})
    tr_ids = sorted({int(i) for ids, _ in outputs for i in ids})
    gmap, tmap = {g: k for k, g in enumerate(gt_ids)}, {t: k for k, t in enumerate(tr_ids)}
    data = {"num_timesteps": len(stream), "num_gt_ids": len(gt_ids), "num_tracker_ids": len(tr_ids),
            "num_gt_dets": sum(len(fr.gt_ids) for fr in stream),
            "num_tracker_dets": sum(len(ids) for ids, _ in outputs),
            "gt_ids": [np.array([gmap[int(i)] for i in fr.gt_ids], int) for fr in stream],
            "tracker_ids": [np.array([tmap[int(i)] for i in ids], int) for ids, _ in outputs],
            "similarity_scores": [_iou(fr.gt_boxes, boxes) for fr, (_, boxes) in zip(stream, outputs)]}
    with contextlib.redirect_stdout(io.StringIO()):
        h = HOTA().eval_sequence(data)
        i = Identity().eval_sequence(data)
    return {"HOTA": 100 * float(np.mean(h["HOTA"])), "DetA": 100 * float(np.mean(h["DetA"])),
            "AssA": 100 * float(np.mean(h["AssA"])), "IDF1": 100 * float(i["IDF1"])}


# -- main --------------------------------------------------------------------------------------------------
def available(names):
    ok = {}
    for name in names:
        try:
            TRACKERS[name]()
            ok[name] = TRACKERS[name]
        except Exception as e:
            print(f"[bench] skipping {name}: not importable here ({type(e).__name__}: {e})")
    return ok


def machine() -> str:
    cpu = platform.processor() or "cpu"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except Exception:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="crowd", help="simulator presets for the quality run")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds of simulated ground truth")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sizes", default="10,100,1000", help="object counts for the timing runs")
    ap.add_argument("--quick", action="store_true", help="short runs (for a smoke check)")
    args = ap.parse_args(argv)
    noise = Noise()
    trackers = available(TRACKERS)
    print(f"machine: {machine()}")
    print(f"noise: {noise}")

    duration = 5.0 if args.quick else args.duration
    gt, source = load_ground_truth(args.presets, duration, args.seed)
    stream = make_stream(gt, noise, args.seed)
    n_gt = sum(len(f.gt_ids) for f in stream) / max(1, len(stream))
    print(f"\n== quality: {source}; {len(stream)} frames, {n_gt:.1f} scored GT/frame ==")
    print(f"{'tracker':22s} {'HOTA':>6s} {'DetA':>6s} {'AssA':>6s} {'IDF1':>6s} {'ms/frame':>9s}")
    for name, make in trackers.items():
        outputs, times = run(make, stream)
        s = score(stream, outputs)
        print(f"{name:22s} {s['HOTA']:6.1f} {s['DetA']:6.1f} {s['AssA']:6.1f} {s['IDF1']:6.1f} "
              f"{1e3 * np.median(times):9.3f}")

    print("\n== time per frame (median, ms), scripted walkers, same stream for all ==")
    sizes = [int(s) for s in args.sizes.split(",")]
    header = f"{'tracker':22s}" + "".join(f"{n:>10d}" for n in sizes)
    print(header + "   (objects)")
    table = {}
    for n in sizes:
        frames = 30 if args.quick else (90 if n >= 1000 else 200)
        walk = scripted_walkers(n, frames / 30.0, args.seed + n, occlusion=n <= 200)
        s = make_stream(walk, Noise(false_positives_per_frame=noise.false_positives_per_frame * n / 20), args.seed)
        for name, make in trackers.items():
            _, times = run(make, s)
            table.setdefault(name, {})[n] = 1e3 * float(np.median(times[min(10, len(times) // 3):]))
    for name, row in table.items():
        print(f"{name:22s}" + "".join(f"{row[n]:10.3f}" for n in sizes))
    ref = "BoxMOT ByteTrack"
    if ref in table:
        print(f"\nspeed-up vs {ref} (their time / ours):")
        for name in [k for k in table if k.startswith("ours")]:
            print(f"{name:22s}" + "".join(f"{table[ref][n] / table[name][n]:9.1f}x" for n in sizes))


if __name__ == "__main__":
    sys.exit(main())
