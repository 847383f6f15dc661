"""End-to-end benchmarks of the node suite on this machine (CPU). Three modes:

  python bench/bench_e2e.py transport [--frames 90]
      The process-layout measurement: latency of one camera set (640x480 rgb8 + 640x512 mono16 + 640x480 16UC1,
      ~2.4 MB) published at 15 Hz, RELIABLE, sensor stamp (wall clock) -> subscriber callback + decode,
      with publisher and subscriber in the same process vs in two processes.

  python bench/bench_e2e.py pipeline [--model M] [--frames 60]
      The tracker pipeline without DDS (Processor: registration -> detector -> depth3d -> tracker) on the demo
      bag's frames: the compute ceiling, per stage.

  python bench/bench_e2e.py dds [--model M] [--realtime]
      The whole suite over DDS on the demo bag (player process -> tracker node process -> recorder):
      throughput (lockstep: as fast as the node can go) and sensor stamp -> publish latency p50/p99
      (player publish wall time -> recorder receive wall time of /tracker/tracks).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs visible, load avg {os.getloadavg()[0]:.1f}"


# ------------------------------------------------------------------------------------------------- transport
def _images(stamp_ns: int):
    from builtin_interfaces.msg import Time
    from sensor_msgs.msg import Image
    out = []
    for name, (w, h, enc, bpp) in {"color": (640, 480, "rgb8", 3), "thermal": (640, 512, "mono16", 2),
                                   "depth": (640, 480, "16UC1", 2)}.items():
        m = Image(width=w, height=h, encoding=enc, step=w * bpp)
        m.header.stamp = Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
        m.data = bytes(w * h * bpp)
        out.append((name, m))
    return out


def _qos():
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    rel = ReliabilityPolicy.BEST_EFFORT if os.environ.get("BENCH_BEST_EFFORT") == "1" else ReliabilityPolicy.RELIABLE
    return QoSProfile(depth=10, reliability=rel)


def _sub_loop(node, frames: int, timeout: float, lat: list):
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from tracker.nodes.conversions import image_to_array
    got = {}

    def cb(name, m):
        arr = image_to_array(m, name)  # the decode the tracker node does
        del arr
        s = m.header.stamp.sec * 10**9 + m.header.stamp.nanosec
        got.setdefault(s, {})[name] = time.time()
        if len(got[s]) == 3:
            lat.append(max(got[s].values()) - s / 1e9)

    q = _qos()
    for n in ("color", "thermal", "depth"):
        node.create_subscription(Image, f"/bench/{n}", lambda m, n=n: cb(n, m), q)
    return got


def transport_child(frames: int) -> None:
    """Publisher process for the two-process case."""
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    rclpy.init()
    node = rclpy.create_node("bench_pub")
    q = _qos()
    pubs = {n: node.create_publisher(Image, f"/bench/{n}", q) for n in ("color", "thermal", "depth")}
    end = time.monotonic() + 20
    while pubs["color"].get_subscription_count() == 0 and time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.05)
    time.sleep(0.5)
    for k in range(frames):
        for n, m in _images(time.time_ns()):
            pubs[n].publish(m)
        time.sleep(1 / 15)
    time.sleep(1.0)
    node.destroy_node()
    rclpy.shutdown()


def transport(frames: int) -> dict:
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(1, 200)))
    res = {}
    # same process: publisher and subscriber nodes in one executor
    rclpy.init()
    sub = rclpy.create_node("bench_sub")
    pubn = rclpy.create_node("bench_pub_local")
    q = _qos()
    pubs = {n: pubn.create_publisher(Image, f"/bench/{n}", q) for n in ("color", "thermal", "depth")}
    lat: list = []
    _sub_loop(sub, frames, 30, lat)
    from rclpy.executors import SingleThreadedExecutor
    ex = SingleThreadedExecutor()
    ex.add_node(sub)
    ex.add_node(pubn)
    end = time.monotonic() + 10
    while pubs["color"].get_subscription_count() == 0 and time.monotonic() < end:
        ex.spin_once(timeout_sec=0.05)
    for k in range(frames):
        t_next = time.monotonic() + 1 / 15
        for n, m in _images(time.time_ns()):
            pubs[n].publish(m)
        while time.monotonic() < t_next:
            ex.spin_once(timeout_sec=0.005)
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        ex.spin_once(timeout_sec=0.01)
    res["same_process"] = _summ(lat, frames)
    ex.remove_node(sub)
    ex.remove_node(pubn)
    sub.destroy_node()
    pubn.destroy_node()
    rclpy.shutdown()
    # two processes
    rclpy.init()
    sub = rclpy.create_node("bench_sub2")
    lat2: list = []
    _sub_loop(sub, frames, 30, lat2)
    child = subprocess.Popen([sys.executable, __file__, "_transport_child", str(frames)])
    end = time.monotonic() + frames / 15 + 25
    while child.poll() is None and time.monotonic() < end:
        rclpy.spin_once(sub, timeout_sec=0.01)
    for _ in range(50):
        rclpy.spin_once(sub, timeout_sec=0.01)
    child.wait(timeout=10)
    res["two_processes"] = _summ(lat2, frames)
    sub.destroy_node()
    rclpy.shutdown()
    return res


def _summ(lat, frames):
    a = np.asarray(lat) * 1e3
    if a.size == 0:
        return {"sets": 0, "of": frames}
    return {"sets": int(a.size), "of": frames, "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p99_ms": round(float(np.percentile(a, 99)), 2), "max_ms": round(float(a.max()), 2)}


# -------------------------------------------------------------------------------------------------- pipeline
def pipeline(model: str | None, frames: int) -> dict:
    from tracker.core import Tracker, TrackerConfig
    from tracker.data.reader import BagReader
    from tracker.nodes.config import default_config_path, load_node_config, resolve_model_path
    from tracker.nodes.tracker_node import default_detector_factory
    from tracker.pipeline.processor import FrameInput, Processor
    from tracker.sim.demo import ensure_demo_bag
    cfg = load_node_config(default_config_path())
    model = resolve_model_path(model or cfg.backend.model)
    det = default_detector_factory(cfg, model)
    tc = TrackerConfig.from_mapping(cfg.tracker)
    proc = Processor(cfg.processor, det, Tracker(tc), tc.class_names)
    bag = ensure_demo_bag(ROOT / "build" / "demo" / "demo_day")
    samples = []
    with BagReader(bag) as r:
        for n, c in r.cameras.items():
            proc.set_camera(n, c)
        proc.set_extrinsics({k: v for k, v in r.extrinsics.items() if k != "color"})
        for s in r.samples():
            samples.append(s)
            if len(samples) >= frames + 5:
                break
    for s in samples[:5]:
        proc.process(FrameInput(s.stamp, s.rgb, s.thermal, s.thermal_encoding, s.depth))
    stage = {}
    per = []
    for s in samples[5:]:
        t0 = time.perf_counter()
        res = proc.process(FrameInput(s.stamp, s.rgb, s.thermal, s.thermal_encoding, s.depth))
        per.append(time.perf_counter() - t0)
        for k, v in res.timings.items():
            stage.setdefault(k, []).append(v)
    a = np.asarray(per) * 1e3
    return {"model": model, "frames": len(per), "fps": round(1e3 / float(np.mean(a)), 1),
            "p50_ms": round(float(np.percentile(a, 50)), 1), "p99_ms": round(float(np.percentile(a, 99)), 1),
            "stages_p50_ms": {k: round(float(np.percentile(np.asarray(v) * 1e3, 50)), 1) for k, v in stage.items()}}


# ------------------------------------------------------------------------------------------------------- dds
def dds(model: str | None, realtime: bool, out: Path) -> dict:
    import shutil

    from tracker.tools.replay import replay_bag
    from tracker.sim.demo import ensure_demo_bag
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(1, 200)))
    bag = ensure_demo_bag(ROOT / "build" / "demo" / "demo_day")
    out_bag = out / ("bench_realtime" if realtime else "bench_lockstep")
    if out_bag.exists():
        shutil.rmtree(out_bag)
    st = replay_bag(bag, out_bag, model_path=model, realtime=realtime)
    pipe = next((v for k, v in st["diagnostics"].items() if k.endswith("pipeline")), {})
    return {"mode": "realtime (15 Hz bag)" if realtime else "lockstep (as fast as possible)",
            "frames_in": st["frames_in"], "frames_out": st["frames_out"], "missing": st["n_missing"],
            "fps": round(st["fps"], 1), "fps_with_player_startup": round(st["fps_with_player_startup"], 1),
            "latency_p50_ms": round(st["latency_p50_ms"], 1),
            "latency_p99_ms": round(st["latency_p99_ms"], 1),
            "node_receive_to_publish_p50_ms": pipe.get("latency_p50_ms"),
            "node_receive_to_publish_p99_ms": pipe.get("latency_p99_ms"),
            "backend": pipe.get("backend"), "model": pipe.get("model"),
            "stages_p50_ms": {k[:-7]: v for k, v in pipe.items() if k.endswith("_p50_ms") and not
                              k.startswith(("latency", "stamp"))}}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "_transport_child":
        transport_child(int(argv[1]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=("transport", "pipeline", "dds"))
    ap.add_argument("--frames", type=int, default=90)
    ap.add_argument("--model", default=None)
    ap.add_argument("--realtime", action="store_true")
    ap.add_argument("--best-effort", action="store_true", help="transport: BEST_EFFORT instead of RELIABLE")
    ap.add_argument("--out", default=str(ROOT / "build" / "bench"))
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}")
    if a.mode == "transport":
        if a.best_effort:
            os.environ["BENCH_BEST_EFFORT"] = "1"
        res = transport(a.frames)
        res["qos"] = "best_effort" if a.best_effort else "reliable"
        res["fastdds_profile"] = os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE", "(default)")
    elif a.mode == "pipeline":
        res = pipeline(a.model, a.frames)
    else:
        res = dds(a.model, a.realtime, out)
    res["machine"] = machine()
    print(json.dumps(res, indent=1))
    (out / f"bench_e2e_{a.mode}{'_rt' if a.realtime else ''}.json").write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
