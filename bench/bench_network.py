"""Network speed on ONNX Runtime (CPU): FPS of the network alone (no pre/post-processing) for each config and
neck variant (DCNv2 / plain conv), with parameter and FLOP counts.

    python bench/bench_network.py                      # embedded + full, both variants
    python bench/bench_network.py --configs embedded --runs 50 --threads 2

FLOPs are counted by torch.utils.flop_counter on the PyTorch model (multiply-add = 2 FLOPs; the deformable
sampling's grid_sample is not counted, its matmul is). Weights are random unless --model is given (speed does
not depend on them). The machine, thread count and load are printed with the figures.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tracker.network.export import example_inputs, export_onnx  # noqa: E402
from tracker.network.model import INPUT_NAMES, TrackerNet, count_params, load_model_config  # noqa: E402


def flops(net: TrackerNet) -> float:
    from torch.utils.flop_counter import FlopCounterMode
    c = net.cfg
    x = example_inputs(c.input_width, c.input_height, thermal_channels=c.thermal_channels)
    fc = FlopCounterMode(display=False)
    with torch.no_grad(), fc:
        net(*(torch.from_numpy(x[k]) for k in INPUT_NAMES))
    return fc.get_total_flops()


def bench_onnx(path: Path, width: int, height: int, runs: int, threads: int, warmup: int = 3) -> float:
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    thermal = next(i for i in sess.get_inputs() if i.name == "thermal")
    x = example_inputs(width, height, thermal_channels=int(thermal.shape[1]))
    for _ in range(warmup):
        sess.run(None, x)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, x)
        times.append(time.perf_counter() - t)
    return 1.0 / float(np.median(times))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", default="embedded,full")
    ap.add_argument("--config-file", default="config/network.yaml")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--runs-full", type=int, default=5)
    ap.add_argument("--threads", default="1,2", help="ORT intra-op thread counts to measure")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    threads = [int(t) for t in str(a.threads).split(",")]
    print(f"# ONNX Runtime CPU, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs visible, load average {os.getloadavg()[0]:.1f}; batch 1, fp32, median of runs")
    print(f"{'config':10s} {'neck':6s} {'input':>9s} {'params':>9s} {'GFLOPs':>7s} {'threads':>7s} {'FPS':>7s} {'ms':>7s}")
    with tempfile.TemporaryDirectory() as td:
        for name in a.configs.split(","):
            for deformable in (True, False):
                cfg = load_model_config(name, a.config_file, {"deformable": deformable})
                torch.manual_seed(0)
                net = TrackerNet(cfg).eval()
                path, _ = export_onnx(net, Path(td) / f"{name}_{deformable}.onnx")
                runs = a.runs if name == "embedded" else a.runs_full
                gflops = flops(net) / 1e9
                for th in threads:
                    fps = bench_onnx(path, cfg.input_width, cfg.input_height, runs, th)
                    print(f"{name:10s} {'DCNv2' if deformable else 'plain':6s} "
                          f"{cfg.input_width:4d}x{cfg.input_height:<4d} {count_params(net) / 1e6:8.2f}M {gflops:7.2f} "
                          f"{th:7d} {fps:7.1f} {1000 / fps:7.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
