"""The main job: `python -m tracker.nodes.demo [--out out/demo]`.

Generates the deterministic demo bag (tracker.sim.demo) if needed, plays it through the node suite over real
DDS (player process -> tracker node process started by the pip-only runner with config/tracker_node.yaml ->
recorder here), records every output topic into a bag, scores the tracks against the bag's ground truth
(HOTA/IDF1 with tracker.eval.scoring) and writes an annotated PNG strip (and an mp4) of /tracker/debug_image.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
from pathlib import Path

import numpy as np

from .config import repo_root


def score(bag: Path, out_bag: Path) -> dict | None:
    """HOTA, IDF1, MOTA, IDSW of the recorded tracks against the bag's GT (None when scoring is unavailable)."""
    try:
        from tracker.eval.bagio import gt_from_bag, predictions_from_bag
        from tracker.eval.scoring import score_sequence
    except ImportError as e:
        print(f"[demo] scoring unavailable: {e}", file=sys.stderr)
        return None
    gt = gt_from_bag(bag)
    pred = predictions_from_bag(out_bag, gt)
    s = score_sequence(gt.frames2d, pred.frames, name=bag.name, num_frames=gt.num_frames)
    summ = s.summaries()
    return {c: ({k: v[k] for k in ("HOTA", "DetA", "AssA", "IDF1", "MOTA", "IDSW") if k in v} if v else None)
            for c, v in summ.items()}


def debug_frames(out_bag: Path, topic: str = "/tracker/debug_image") -> list[tuple[int, np.ndarray]]:
    from tracker.data.encodings import image_to_numpy
    from tracker.data.reader import BagReader
    out = []
    with BagReader(out_bag) as r:
        for _, stamp, m in r.messages([topic]):
            out.append((stamp, image_to_numpy(m.encoding, m.height, m.width, m.step, m.data, bool(m.is_bigendian))))
    out.sort(key=lambda x: x[0])
    return out


def write_strip(frames, path: Path, n: int = 6, cols: int = 3, width: int = 426) -> Path | None:
    import cv2
    if not frames:
        return None
    idx = np.linspace(0, len(frames) - 1, min(n, len(frames))).round().astype(int)
    tiles = []
    for i in idx:
        img = frames[i][1]
        h = int(round(img.shape[0] * width / img.shape[1]))
        tiles.append(cv2.resize(img, (width, h), interpolation=cv2.INTER_AREA))
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[r:r + cols]) for r in range(0, len(tiles), cols)]
    grid = np.vstack(rows)
    cv2.imwrite(str(path), grid[..., ::-1])
    return path


def write_mp4(frames, path: Path, fps: float = 15.0) -> Path | None:
    import cv2
    if not frames:
        return None
    h, w = frames[0][1].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not vw.isOpened():
        return None
    for _, img in frames:
        vw.write(np.ascontiguousarray(img[..., ::-1]))
    vw.release()
    return path if path.is_file() and path.stat().st_size > 0 else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tracker.nodes.demo", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(repo_root() / "out" / "demo"), help="output folder")
    ap.add_argument("--bag", default=None, help="input contract bag (default: the generated demo bag)")
    ap.add_argument("--config", default=None, help="node YAML (default config/tracker_node.yaml)")
    ap.add_argument("--model", default=None, help="model file (default: backend.model of the YAML)")
    ap.add_argument("--realtime", action="store_true", help="play at the bag's rate instead of lockstep")
    ap.add_argument("--rgb-only", action="store_true")
    ap.add_argument("--stop-thermal", type=float, default=None, metavar="S",
                    help="stop the thermal camera S seconds into the bag")
    ap.add_argument("--no-mp4", action="store_true")
    a = ap.parse_args(argv)
    if "ROS_DOMAIN_ID" not in os.environ:
        os.environ["ROS_DOMAIN_ID"] = str(random.randint(1, 200))
        print(f"[demo] ROS_DOMAIN_ID not set: using {os.environ['ROS_DOMAIN_ID']} for this run")
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.bag:
        bag = Path(a.bag)
    else:
        from tracker.sim.demo import ensure_demo_bag
        print("[demo] ensuring the demo bag (first run: ~15 s)", flush=True)
        bag = ensure_demo_bag(repo_root() / "build" / "demo" / "demo_day")
    out_bag = out / "outputs"
    if out_bag.exists():
        shutil.rmtree(out_bag)
    from .replay import replay_bag
    stops = {"/camera/thermal/image_raw": a.stop_thermal} if a.stop_thermal is not None else None
    print(f"[demo] playing {bag} through the node suite over DDS (domain {os.environ['ROS_DOMAIN_ID']})", flush=True)
    try:
        st = replay_bag(bag, out_bag, a.config, a.model, realtime=a.realtime, rgb_only=a.rgb_only, stops=stops)
    except RuntimeError as e:
        print(f"[demo] the node suite did not run: {e}", file=sys.stderr)
        return 2
    from .replay import track_ids_per_frame
    ids = track_ids_per_frame(out_bag)
    all_ids = sorted({i for _, f in ids for i in f}, key=lambda x: int(x) if x.isdigit() else x)
    scores = score(bag, out_bag)
    frames = debug_frames(out_bag)
    strip = write_strip(frames, out / "debug_strip.png")
    mp4 = None if a.no_mp4 else write_mp4(frames, out / "debug.mp4")
    summary = {k: v for k, v in st.items() if k not in ("latencies_s", "missing_stamps")}
    summary.update({"bag": str(bag), "track_ids": all_ids, "n_track_ids": len(all_ids), "scores": scores,
                    "strip": str(strip) if strip else None, "mp4": str(mp4) if mp4 else None})
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    print("\n=== tracker demo ===")
    print(f"input bag          {bag}")
    print(f"output bag         {out_bag}")
    print(f"frames in / out    {st['frames_in']} / {st['frames_out']} (missing {st['n_missing']}, "
          f"duplicates {st['duplicate_stamps']})")
    print(f"throughput         {st['fps']:.1f} frames/s ({'real time' if a.realtime else 'lockstep'})")
    print(f"latency e2e        p50 {st['latency_p50_ms']:.1f} ms, p99 {st['latency_p99_ms']:.1f} ms "
          "(player publish -> recorder receive of /tracker/tracks)")
    print(f"confirmed tracks   {len(all_ids)} ids: {', '.join(all_ids[:30])}")
    if scores and scores.get("all"):
        s = scores["all"]
        print("scores (all)       " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                                for k, v in s.items()))
    diag = st.get("diagnostics", {})
    pipe = next((v for k, v in diag.items() if k.endswith("pipeline")), None)
    if pipe:
        print(f"backend / model    {pipe.get('backend')} / {pipe.get('model')}")
    print(f"debug strip        {strip}")
    if mp4:
        print(f"debug video        {mp4}")
    print(f"summary            {out / 'summary.json'}")
    return 0 if st["frames_out"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
