"""Benchmark of image-based camera motion compensation (tracker.pipeline.cmc.ImageMotion). Prints figures; it is
not a test. From the repository root, in the project's venv:

    OMP_NUM_THREADS=1 python bench/bench_cmc.py [--quick]

1. Cost: ms per 640x480 frame of ``ImageMotion.update`` on rendered world A frames (preset shake), without and
   with registered depth (median and 90th percentile over the frames, after a warm-up), and accuracy against the
   rig's true motion (rotation error; translation error where depth gave one).
2. Acceptance figure (issue 18): identity switches of person tracks of the tracker core on a shaking camera
   without odometry, without and with CMC (tests/cmc_support.cmc_idsw_run: noisy ground-truth boxes, so that
   only the ego-motion differs), for the preset's own shake and a stronger one, over a few seeds.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the helpers of the CMC tests

from cmc_support import cmc_idsw_run, rotation_error_deg, sim_pairs  # noqa: E402
from tracker.pipeline.cmc import MODE_DEPTH, ImageMotion  # noqa: E402

NEAR_CLUTTER = {"world": {"x_range_m": (3.0, 10.0), "y_half_m": 6.0, "n_poles": 12, "n_walls": 4, "n_parked": 4}}
WARMUP = 2


def cost(n_frames: int, overrides: dict | None, label: str) -> None:
    cam, frames = sim_pairs("shake", n=n_frames, overrides=overrides)
    for use_depth in (False, True):
        m = ImageMotion()
        ms, rot_err, t_err, fails = [], [], [], 0
        for k, (img, depth, boxes, T) in enumerate(frames):
            t0 = time.perf_counter()
            est = m.update(img, cam, boxes, depth if use_depth else None)
            dt = time.perf_counter() - t0
            if k >= WARMUP:
                ms.append(dt * 1e3)
            if k == 0:
                continue
            if est is None:
                fails += 1
                continue
            rot_err.append(rotation_error_deg(est.R, T.R))
            if m.last_mode == MODE_DEPTH:
                t_err.append(100 * np.linalg.norm(est.t - T.t))
        true_rot = np.median([rotation_error_deg(np.eye(3), f[3].R) for f in frames[1:]])
        true_t = np.median([100 * np.linalg.norm(f[3].t) for f in frames[1:]])
        t_txt = (f"translation error median {np.median(t_err):.2f} cm of {true_t:.1f} cm on {len(t_err)} frames"
                 if t_err else "no translation (rotation only)")
        print(f"{label:22s} {'depth' if use_depth else 'rgb only':8s} {np.median(ms):5.1f} ms/frame "
              f"(p90 {np.percentile(ms, 90):5.1f}); rotation error median {np.median(rot_err):.3f} deg of "
              f"{true_rot:.3f} deg; {t_txt}; no estimate on {fails} of {len(frames) - 1}")


def acceptance(seeds, duration_s: float) -> None:
    for jitter, corr in ((0.4, 0.2), (1.0, 0.1), (2.0, 0.1)):
        tot = np.zeros(2, int)
        hota = [[], []]
        timings: list = []
        for seed in seeds:
            without, with_cmc = cmc_idsw_run(jitter, corr, duration_s, seed, timings=timings)
            tot += [without["IDSW"], with_cmc["IDSW"]]
            hota[0].append(without["HOTA"])
            hota[1].append(with_cmc["HOTA"])
        print(f"shake jitter {jitter} deg / {corr} s, {len(seeds)} x {duration_s:g} s: person IDSW without CMC "
              f"{tot[0]}, with CMC {tot[1]}; HOTA {np.mean(hota[0]):.3f} -> {np.mean(hota[1]):.3f}; "
              f"CMC {np.median(timings) * 1e3:.1f} ms/frame")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer frames and seeds")
    args = ap.parse_args(argv)
    print(f"[bench_cmc] {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    n = 20 if args.quick else 60
    cost(n, None, "shake (default scene)")
    cost(n, NEAR_CLUTTER, "shake, near clutter")
    acceptance((0,) if args.quick else (0, 1, 2), 4.0 if args.quick else 8.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
