"""Simulated frame-sets per second (colour + thermal + depth at the default resolutions, default scene,
rendering only, no bag writing). Usage: python bench/bench_sim.py [--seconds 3] [--preset day]"""
from __future__ import annotations

import argparse
import os
import platform
import time

from tracker.data.contract import CAMERAS
from tracker.sim.engine import Renderer, Scenario
from tracker.sim.simulate import build_config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=3.0, help="scene seconds to render")
    ap.add_argument("--preset", default="day")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    cfg = build_config(args.preset)
    sc = Scenario(cfg, args.seconds + 0.5, args.seed)
    r = Renderer(sc)
    for t, c in sc.events[:3]:  # warm-up (background caches)
        r.render(c, t)
    events = [e for e in sc.events if e[0] < args.seconds][3:]
    t0 = time.perf_counter()
    for t, c in events:
        r.render(c, t)
    dt = time.perf_counter() - t0
    sets = len(events) / len(CAMERAS)
    res = ", ".join(f"{n} {cfg.camera(n).width}x{cfg.camera(n).height}" for n in CAMERAS)
    print(f"{sets / dt:.1f} frame-sets/s ({len(events)} frames in {dt:.2f} s; {res}; preset {args.preset}; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, numpy single process)")


if __name__ == "__main__":
    main()
