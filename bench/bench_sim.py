"""Simulated frame-sets per second (colour + thermal + depth at the default resolutions, default scene,
rendering only, no bag writing). Usage: python bench/bench_sim.py [--seconds 3] [--preset day] [--repeat 3]
[--mode serial|threads|processes]. Prints the median of ``--repeat`` runs (each on a fresh renderer), the median
time to the first frame (included in the rate: it is the workers' start-up in ``processes`` mode, and the first
run also starts the forkserver) and the load average, since the development machine is shared."""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from tracker.data.contract import CAMERAS
from tracker.sim.engine import RENDER_MODES, Renderer, Scenario
from tracker.sim.simulate import build_config


def run_once(cfg, seconds: float, seed: int, mode: str) -> tuple[float, int, float, float]:
    """(frame-sets/s over the whole call, frames, seconds, seconds to the first frame)."""
    sc = Scenario(cfg, seconds + 0.5, seed)
    r = Renderer(sc)
    for t, c in sc.events[:3]:  # warm-up (background caches)
        r.render(c, t)
    events = [e for e in sc.events if e[0] < seconds][3:]
    t0 = time.perf_counter()
    first = None
    for _ in r.render_events(events, mode=mode):
        first = time.perf_counter() - t0 if first is None else first
    dt = time.perf_counter() - t0
    return len(events) / len(CAMERAS) / dt, len(events), dt, first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=3.0, help="scene seconds to render")
    ap.add_argument("--preset", default="day")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="runs; the median is reported")
    ap.add_argument("--mode", choices=RENDER_MODES, default="processes",
                    help="Renderer.render_events mode (same frames in every mode; processes: one per camera, as "
                         "tracker-sim runs by default)")
    args = ap.parse_args()
    cfg = build_config(args.preset)
    runs = [run_once(cfg, args.seconds, args.seed, args.mode) for _ in range(max(1, args.repeat))]
    rates = [r[0] for r in runs]
    med = statistics.median(rates)
    res = ", ".join(f"{n} {cfg.camera(n).width}x{cfg.camera(n).height}" for n in CAMERAS)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    first = statistics.median(r[3] for r in runs)
    print(f"{med:.1f} frame-sets/s (median of {len(runs)}: {', '.join(f'{r:.1f}' for r in rates)}; "
          f"{runs[0][1]} frames per run, first after {first:.2f} s (median; included); {res}; preset {args.preset}; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, render mode {args.mode}; "
          f"load avg {load})")


if __name__ == "__main__":
    main()
