"""The main job: `python -m tracker.tools.demo [--out out/demo]` (scripts/demo.sh sets up, then runs this).

Generates the deterministic demo bag (tracker.sim.demo) if needed, plays it through the node suite over real
DDS (player process -> tracker node process started by the pip-only runner with config/tracker_node.yaml ->
recorder here), records every output topic into a bag, scores the tracks against the bag's ground truth
(HOTA/IDF1 with tracker.eval.scoring) and writes an annotated PNG strip (and an mp4) of /tracker/debug_image.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import sys
from pathlib import Path

import numpy as np

from tracker.common.config import param
from tracker.data.contract import OutputTopics, Topics
from tracker.nodes.config import repo_root

from .replay import replay_bag, track_ids_per_frame

SCORE_KEYS = ("HOTA", "DetA", "AssA", "IDF1", "MOTA", "IDSW")
EXIT_OK, EXIT_NO_OUTPUT, EXIT_SUITE_FAILED = 0, 1, 2


@dataclasses.dataclass(frozen=True)
class DemoConfig:
    """Outputs of the demo."""
    strip_frames: int = param(6, unit="frames", ge=1, doc="debug images in the PNG strip (evenly spaced)")
    strip_columns: int = param(3, unit="images", ge=1, doc="images per row of the strip")
    strip_width_px: int = param(426, unit="px", ge=16, doc="width of each image in the strip")
    mp4_fps: float = param(15.0, unit="Hz", gt=0.0, doc="frame rate of the debug video")
    domain_id_min: int = param(1, ge=0, le=232, doc="ROS_DOMAIN_ID drawn from [min, max] when it is not set")
    domain_id_max: int = param(200, ge=0, le=232, doc="see domain_id_min")
    ids_listed: int = param(30, unit="ids", ge=0, doc="track ids printed in the summary")


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
    return {c: ({k: v[k] for k in SCORE_KEYS if k in v} if v else None) for c, v in s.summaries().items()}


def debug_frames(out_bag: Path, topic: str = OutputTopics().debug_image) -> list[tuple[int, np.ndarray]]:
    from tracker.data.encodings import image_to_numpy
    from tracker.data.reader import BagReader
    out = []
    with BagReader(out_bag) as r:
        for _, stamp, m in r.messages([topic]):
            out.append((stamp, image_to_numpy(m.encoding, m.height, m.width, m.step, m.data, bool(m.is_bigendian))))
    out.sort(key=lambda x: x[0])
    return out


def write_strip(frames, path: Path, cfg: DemoConfig = DemoConfig()) -> Path | None:
    import cv2
    if not frames:
        return None
    idx = np.linspace(0, len(frames) - 1, min(cfg.strip_frames, len(frames))).round().astype(int)
    tiles = []
    for i in idx:
        img = frames[i][1]
        h = int(round(img.shape[0] * cfg.strip_width_px / img.shape[1]))
        tiles.append(cv2.resize(img, (cfg.strip_width_px, h), interpolation=cv2.INTER_AREA))
    cols = cfg.strip_columns
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    grid = np.vstack([np.hstack(tiles[r:r + cols]) for r in range(0, len(tiles), cols)])
    cv2.imwrite(str(path), grid[..., ::-1])
    return path


def write_mp4(frames, path: Path, fps: float = DemoConfig().mp4_fps) -> Path | None:
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


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m tracker.tools.demo", description=__doc__,
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
    return ap.parse_args(argv)


def _isolate_ros_domain(cfg: DemoConfig) -> None:
    """A random ROS_DOMAIN_ID (unless set) and localhost-only discovery: the demo does not meet other runs."""
    if "ROS_DOMAIN_ID" not in os.environ:
        os.environ["ROS_DOMAIN_ID"] = str(random.randint(cfg.domain_id_min, cfg.domain_id_max))
        print(f"[demo] ROS_DOMAIN_ID not set: using {os.environ['ROS_DOMAIN_ID']} for this run")
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")


def _input_bag(a: argparse.Namespace) -> Path:
    if a.bag:
        return Path(a.bag)
    from tracker.sim.demo import ensure_demo_bag
    print("[demo] ensuring the demo bag (first run: ~15 s)", flush=True)
    return ensure_demo_bag(repo_root() / "build" / "demo" / "demo_day")


def _collect(a: argparse.Namespace, cfg: DemoConfig, bag: Path, out: Path, out_bag: Path, st: dict) -> dict:
    """Track ids, scores, the debug strip and video; written to summary.json and returned."""
    ids = track_ids_per_frame(out_bag)
    all_ids = sorted({i for _, f in ids for i in f}, key=lambda x: int(x) if x.isdigit() else x)
    frames = debug_frames(out_bag)
    strip = write_strip(frames, out / "debug_strip.png", cfg)
    mp4 = None if a.no_mp4 else write_mp4(frames, out / "debug.mp4", cfg.mp4_fps)
    summary = {k: v for k, v in st.items() if k not in ("latencies_s", "missing_stamps")}
    summary.update({"bag": str(bag), "out_bag": str(out_bag), "track_ids": all_ids, "n_track_ids": len(all_ids),
                    "scores": score(bag, out_bag), "strip": str(strip) if strip else None,
                    "mp4": str(mp4) if mp4 else None, "summary": str(out / "summary.json")})
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary


def _print_summary(s: dict, realtime: bool, cfg: DemoConfig) -> None:
    print("\n=== tracker demo ===")
    print(f"input bag          {s['bag']}")
    print(f"output bag         {s['out_bag']}")
    print(f"frames in / out    {s['frames_in']} / {s['frames_out']} (missing {s['n_missing']}, "
          f"duplicates {s['duplicate_stamps']})")
    print(f"throughput         {s['fps']:.1f} frames/s ({'real time' if realtime else 'lockstep'})")
    print(f"latency e2e        p50 {s['latency_p50_ms']:.1f} ms, p99 {s['latency_p99_ms']:.1f} ms "
          "(player publish -> recorder receive of /tracker/tracks)")
    print(f"confirmed tracks   {s['n_track_ids']} ids: {', '.join(s['track_ids'][:cfg.ids_listed])}")
    scores = s["scores"]
    if scores and scores.get("all"):
        print("scores (all)       " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                                for k, v in scores["all"].items()))
    pipe = next((v for k, v in s.get("diagnostics", {}).items() if k.endswith("pipeline")), None)
    if pipe:
        print(f"backend / model    {pipe.get('backend')} / {pipe.get('model')}")
    print(f"debug strip        {s['strip']}")
    if s["mp4"]:
        print(f"debug video        {s['mp4']}")
    print(f"summary            {s['summary']}")


def main(argv=None, cfg: DemoConfig = DemoConfig()) -> int:
    a = parse_args(argv)
    _isolate_ros_domain(cfg)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    bag = _input_bag(a)
    out_bag = out / "outputs"
    if out_bag.exists():
        shutil.rmtree(out_bag)
    stops = {Topics().thermal_image: a.stop_thermal} if a.stop_thermal is not None else None
    print(f"[demo] playing {bag} through the node suite over DDS (domain {os.environ['ROS_DOMAIN_ID']})", flush=True)
    try:
        st = replay_bag(bag, out_bag, a.config, a.model, realtime=a.realtime, rgb_only=a.rgb_only, stops=stops)
    except RuntimeError as e:
        print(f"[demo] the node suite did not run: {e}", file=sys.stderr)
        return EXIT_SUITE_FAILED
    _print_summary(_collect(a, cfg, bag, out, out_bag, st), a.realtime, cfg)
    return EXIT_OK if st["frames_out"] > 0 else EXIT_NO_OUTPUT


if __name__ == "__main__":
    sys.exit(main())
