"""Soak and live-rate benchmarks of the tracker node (GitHub issue 14; results in docs/nodes.md).

`python bench/bench_soak.py [--minutes 60] [--pace lockstep|live]`: the node runs as `tracker-run` starts it (its
own process, --use-sim-time); this script plays a 30 Hz contract bag into it in loops (stamps shifted per loop
so time never goes backwards, /clock from bag time) and every minute prints the node's RSS, fds, threads, output
rate, frames in vs outputs, latency p50/p99 and `skipped_overload`; at the end the RSS growth after the warm-up
minute and, in lockstep, whether every RGB frame got an output. The bag is made once by tracker-sim under build/.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "build" / "bench"
BAG_NAME = "soak_day_30hz"
SIM_ARGS = ("--preset", "day", "--duration", "10", "--seed", "0")  # tracker-sim's cameras run at 30 Hz
REPORT_PERIOD_S = 60.0  # one report line per minute; the first period is the warm-up
STARTUP_TIMEOUT_S = 120.0  # tracker node process start-up (model load, discovery) on a loaded machine
DRAIN_S = 2.0  # after the last frame: wait this long for outputs still in flight
LIVE_WAKE_S = 0.01  # live pacing: longest sleep between checks (what tracker-play does)
HEADER_FIELD = ("header", "std_msgs/Header")
DIAG_ITEMS = ("pipeline", "synchronizer", "input color")  # /diagnostics items kept (names end with these)


def ensure_bag(path: Path) -> Path:
    """The looping bag, rendered by tracker-sim on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "tracker.sim.cli", *SIM_ARGS, "-o", str(path.parent),
                        "--name", path.name, "--no-progress"], check=True)
    return path


def with_header_stamp(raw, stamp_ns: int) -> bytes:
    """CDR bytes of a Header-first message with its header stamp replaced (the inverse of header_stamp_ns)."""
    buf = bytearray(raw)
    fmt = "<iI" if buf[1] == 1 else ">iI"
    struct.pack_into(fmt, buf, 4, stamp_ns // 1_000_000_000, stamp_ns % 1_000_000_000)
    return bytes(buf)


def proc_sample(pid: int) -> dict:
    """RSS (MiB), threads and open file descriptors of a live process, from /proc/<pid>."""
    status = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        status[k] = v.strip()
    return {"rss_mib": round(int(status["VmRSS"].split()[0]) / 1024, 1), "threads": int(status["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


# ------------------------------------------------------------------------------------------------ the source
@dataclass
class LoopedBag:
    """A contract bag played in loops. A loop ends before the bag's last RGB frame (whose thermal and depth
    partners are cut off by the end of the recording, so its set could only be emitted by the silent-camera
    timeout); loop k is shifted by k x span, span = last RGB stamp - first RGB stamp, so the first RGB frame of
    a loop comes one frame period after the last one of the previous loop and every stream stays regular."""

    path: Path
    color_topic: str
    span_ns: int = 0
    cut_ns: int = 0  # bag time of the last RGB message: loops play the messages before it
    header_topics: frozenset = frozenset()
    connections: dict = field(default_factory=dict)  # topic -> msgtype (ground truth left out)

    def scan(self) -> "LoopedBag":
        from rosbags.rosbag2 import Reader

        from tracker.data.reader import header_stamp_ns
        from tracker.nodes.conversions import msg_class
        with Reader(self.path) as r:
            self.connections = {c.topic: c.msgtype for c in r.connections if not c.topic.startswith("/ground_truth")}
            self.header_topics = frozenset(t for t, m in self.connections.items()
                                           if next(iter(msg_class(m).get_fields_and_field_types().items()))
                                           == HEADER_FIELD)
            rows = [(conn.topic, t_bag, header_stamp_ns(raw)) for conn, t_bag, raw in r.messages()
                    if conn.topic in self.header_topics]
        rgb = [(t, h) for topic, t, h in rows if topic == self.color_topic]
        if len(rgb) < 2:
            raise ValueError(f"{self.path}: fewer than two frames on {self.color_topic}")
        self.cut_ns = rgb[-1][0]
        kept = [(t, h) for _, t, h in rows if t < self.cut_ns]
        # the RGB spacing, and never less than the loop's extent (time must not go backwards between loops)
        self.span_ns = max(rgb[-1][1] - rgb[0][1], max(h for _, h in kept) - min(h for _, h in kept) + 1,
                           max(t for t, _ in kept) - min(t for t, _ in kept) + 1)
        return self

    def messages(self, k: int):
        """(topic, shifted bag time ns, shifted header stamp ns or None, CDR bytes) of loop k."""
        from rosbags.rosbag2 import Reader

        from tracker.data.reader import header_stamp_ns
        shift = k * self.span_ns
        with Reader(self.path) as r:
            for conn, t_bag, raw in r.messages(stop=self.cut_ns):
                if conn.topic not in self.connections:
                    continue
                if conn.topic in self.header_topics:
                    stamp = header_stamp_ns(raw) + shift
                    yield conn.topic, t_bag + shift, stamp, with_header_stamp(raw, stamp)
                elif k == 0:  # /tf_static and other header-less topics: once (latched)
                    yield conn.topic, t_bag, None, bytes(raw)


# ----------------------------------------------------------------------------------------------- the session
@dataclass
class Counters:
    published: dict = field(default_factory=dict)  # rgb stamp -> wall publish time (until its output arrives)
    overdue: set = field(default_factory=set)  # lockstep: stamps the player stopped waiting for (timeout)
    late_outputs: int = 0  # outputs of overdue stamps: they came, after the lockstep timeout
    frames_in: int = 0
    outputs: int = 0  # /tracker/tracks messages whose stamp is one we published
    latencies: list = field(default_factory=list)  # s, this report period
    lockstep_timeouts: int = 0
    diag: dict = field(default_factory=dict)  # the node's latest /diagnostics: item ("pipeline", ...) -> values
    diag_messages: int = 0

    @property
    def pipeline(self) -> dict:
        return self.diag.get("pipeline", {})


class Session:
    """The bench's ROS side: publishers for the bag's topics, /clock, and the /tracker/tracks + /diagnostics
    subscriptions."""

    def __init__(self, bag: LoopedBag, player_cfg, tracks_topic: str, diagnostics_topic: str):
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from rosgraph_msgs.msg import Clock
        from vision_msgs.msg import Detection3DArray

        from tracker.nodes import qos as qosmod
        from tracker.nodes.conversions import msg_class
        self.rclpy, self.cfg, self.c = rclpy, player_cfg, Counters()
        self.node = rclpy.create_node("bench_soak_source")
        img_qos = qosmod.profile(player_cfg.qos)
        self.pubs = {t: self.node.create_publisher(msg_class(m), t, qosmod.latched() if t.endswith("tf_static")
                                                   else img_qos) for t, m in bag.connections.items()}
        self.clock_pub = self.node.create_publisher(Clock, "/clock", QoSProfile(
            depth=10, reliability=ReliabilityPolicy.RELIABLE))
        self._clock_cls, self.clock_ns = Clock, 0
        self.node.create_subscription(Detection3DArray, tracks_topic, self._on_tracks, 50)
        self.node.create_subscription(DiagnosticArray, diagnostics_topic, self._on_diag, 10)

    def _on_tracks(self, msg) -> None:
        from tracker.nodes.conversions import stamp_to_ns
        ns = stamp_to_ns(msg.header.stamp)
        if ns in self.c.overdue:
            self.c.overdue.discard(ns)
            self.c.late_outputs += 1
        t_pub = self.c.published.pop(ns, None)
        if t_pub is not None:
            self.c.outputs += 1
            self.c.latencies.append(time.time() - t_pub)

    def _on_diag(self, msg) -> None:
        self.c.diag_messages += 1
        for st in msg.status:
            item = next((i for i in DIAG_ITEMS if st.name.endswith(i)), None)
            if item:
                self.c.diag[item] = {kv.key: kv.value for kv in st.values}

    def spin(self, timeout_s: float) -> None:
        self.rclpy.spin_once(self.node, timeout_sec=timeout_s)

    def publish(self, topic: str, t_bag: int, stamp: int | None, raw: bytes) -> None:
        from tracker.nodes.conversions import ns_to_stamp
        if self.cfg.publish_clock and t_bag > self.clock_ns:
            self.clock_ns = t_bag
            self.clock_pub.publish(self._clock_cls(clock=ns_to_stamp(t_bag)))
        self.pubs[topic].publish(raw)
        if topic == self.cfg.color_image:
            self.c.frames_in += 1
            self.c.published[stamp] = time.time()

    def wait_output(self, stamp: int, deadline: float) -> bool:
        while stamp in self.c.published:
            left = deadline - time.monotonic()
            if left <= 0:
                self.c.published.pop(stamp, None)  # no output yet: overdue, counted if it still comes
                self.c.overdue.add(stamp)
                return False
            self.spin(min(left, LIVE_WAKE_S * 5))
        return True

    def close(self) -> None:
        self.node.destroy_node()


# ------------------------------------------------------------------------------------------------ the node
def start_node(config: Path, model: str | None, log_path: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "tracker.nodes.runner", "--config", str(config), "--use-sim-time"]
    if model:
        cmd += ["--model", model]
    with open(log_path, "w") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)


def wait_active(s: Session, proc: subprocess.Popen, tracks_topic: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    rgb = s.pubs[s.cfg.color_image]
    while time.monotonic() < deadline:
        s.spin(0.05)
        if proc.poll() is not None:
            raise RuntimeError(f"tracker node exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        if s.node.count_publishers(tracks_topic) and rgb.get_subscription_count():
            end = time.monotonic() + s.cfg.start_delay_s
            while time.monotonic() < end:
                s.spin(0.02)
            return
    raise RuntimeError(f"tracker node not active after {STARTUP_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")


def stop_node(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


# --------------------------------------------------------------------------------------------------- the run
def pct(values, q) -> float | None:
    return round(float(np.percentile(np.asarray(values) * 1e3, q)), 1) if len(values) else None


class Reporter:
    """One row per report period: process figures from /proc, rates and latency of the period."""

    def __init__(self, s: Session, proc: subprocess.Popen, log_path: Path, period_s: float):
        self.s, self.proc, self.log_path, self.period_s = s, proc, log_path, period_s
        self.rows: list[dict] = []
        self.all_latencies: list[float] = []
        self.t0 = self.t_last = time.monotonic()
        self.last_in = self.last_out = 0

    def due(self) -> bool:
        return time.monotonic() - self.t_last >= self.period_s

    def row(self) -> dict:
        c, now = self.s.c, time.monotonic()
        if self.proc.poll() is not None:
            raise RuntimeError(f"tracker node exited with {self.proc.returncode} after {now - self.t0:.0f} s:\n"
                               f"{self.log_path.read_text()[-3000:]}")
        dt = now - self.t_last
        r = {"period": len(self.rows) + 1, "elapsed_s": round(now - self.t0, 1), **proc_sample(self.proc.pid),
             "frames_in": c.frames_in - self.last_in, "outputs": c.outputs - self.last_out,
             "out_hz": round((c.outputs - self.last_out) / dt, 2), "in_hz": round((c.frames_in - self.last_in) / dt, 2),
             "total_in": c.frames_in, "total_out": c.outputs, "p50_ms": pct(c.latencies, 50),
             "p99_ms": pct(c.latencies, 99), "skipped_overload": int(c.pipeline.get("skipped_overload", 0)),
             "lockstep_timeouts": c.lockstep_timeouts}
        self.all_latencies += c.latencies
        c.latencies = []
        cutoff = time.time() - self.period_s  # frames skipped by the node (live): no output will come
        c.published = {k: t for k, t in c.published.items() if t >= cutoff}
        self.t_last, self.last_in, self.last_out = now, c.frames_in, c.outputs
        self.rows.append(r)
        print(" ".join(f"{k}={v}" for k, v in r.items()), flush=True)
        return r


def play_loop(s: Session, bag: LoopedBag, rep: Reporter, duration_s: float, lockstep: bool) -> None:
    """Publish the bag in loops until ``duration_s``; lockstep or real time (x rate)."""
    t_start, t0_bag, last_rgb, k = time.monotonic(), None, None, 0
    while time.monotonic() - t_start < duration_s:
        for topic, t_bag, stamp, raw in bag.messages(k):
            if t0_bag is None:
                t0_bag = t_bag
            is_rgb = topic == s.cfg.color_image
            if lockstep:
                if is_rgb and last_rgb is not None and \
                        not s.wait_output(last_rgb, time.monotonic() + s.cfg.lockstep_timeout_s):
                    s.c.lockstep_timeouts += 1
                s.spin(0.0)
            else:
                target = t_start + (t_bag - t0_bag) / 1e9 / s.cfg.rate
                while (dt := target - time.monotonic()) > 0:
                    s.spin(min(dt, LIVE_WAKE_S))
            if time.monotonic() - t_start >= duration_s:
                return
            if rep.due():
                rep.row()
            s.publish(topic, t_bag, stamp, raw)
            if is_rgb:
                last_rgb = stamp
        k += 1


def _int(v) -> int | None:
    return int(v) if v is not None else None


def summary(rep: Reporter, s: Session, lockstep: bool, policy: str) -> dict:
    rows, c = rep.rows, s.c
    base = rows[0] if len(rows) > 1 else None  # the end of the warm-up period
    growth = round((rows[-1]["rss_mib"] - base["rss_mib"]) / base["rss_mib"] * 100, 2) if base else None
    elapsed = rows[-1]["elapsed_s"] if rows else 0.0
    out = {"mode": "lockstep" if lockstep else f"live (x{s.cfg.rate} real time)", "processing": policy,
           "minutes": round(elapsed / 60, 2), "rgb_frames_in": c.frames_in, "outputs": c.outputs,
           "late_outputs": c.late_outputs,  # after the lockstep timeout (not in the latency figures)
           "frames_without_output": c.frames_in - c.outputs - c.late_outputs,
           "lockstep_timeouts": c.lockstep_timeouts,
           "processed_fps": round(c.outputs / elapsed, 2) if elapsed else None,
           "input_fps": round(c.frames_in / elapsed, 2) if elapsed else None,
           # where the RGB frames without output went (node side, from /diagnostics)
           "node_rgb_received": _int(c.diag.get("input color", {}).get("received")),
           "sync_dropped": _int(c.diag.get("synchronizer", {}).get("dropped")),
           "skipped_overload": int(c.pipeline.get("skipped_overload", 0)),
           "latency_p50_ms": pct(rep.all_latencies, 50), "latency_p99_ms": pct(rep.all_latencies, 99),
           "rss_mib_after_warmup": base["rss_mib"] if base else None, "rss_mib_end": rows[-1]["rss_mib"],
           "rss_mib_max": max(r["rss_mib"] for r in rows), "rss_growth_after_warmup_pct": growth,
           "fds": [rows[0]["fds"], rows[-1]["fds"]], "threads": [rows[0]["threads"], rows[-1]["threads"]],
           "node_pipeline": c.pipeline}
    if lockstep:
        out["every_rgb_frame_got_an_output"] = c.frames_in == c.outputs + c.late_outputs
    return out


def run(a) -> dict:
    import rclpy

    from bench_e2e import machine
    from tracker.nodes.config import default_config_path, load_node_config
    from tracker.nodes.player import load_player_config
    from tracker.tools.replay import FASTDDS_PROFILE_VAR, fastdds_profile
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(1, 200)))
    os.environ.setdefault(FASTDDS_PROFILE_VAR, str(fastdds_profile()))  # whole images through shared memory
    config = Path(a.config) if a.config else default_config_path()
    node_cfg = load_node_config(config)
    import dataclasses
    pcfg = dataclasses.replace(load_player_config(a.player_config), rate=a.rate, lockstep=a.pace == "lockstep")
    bag = LoopedBag(ensure_bag(Path(a.bag)), pcfg.color_image).scan()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / f"soak_{a.pace}.tracker_node.log"
    print(f"machine: {machine()}\nbag: {bag.path} (loop {bag.span_ns / 1e9:.3f} s), mode {a.pace}, "
          f"processing: {node_cfg.node.processing}, {a.minutes} min; node log {log_path}", flush=True)
    rclpy.init()
    s = Session(bag, pcfg, node_cfg.topics.tracks, node_cfg.topics.diagnostics)
    proc = start_node(config, a.model, log_path)
    try:
        wait_active(s, proc, node_cfg.topics.tracks, log_path)
        rep = Reporter(s, proc, log_path, a.report_s)
        play_loop(s, bag, rep, a.minutes * 60.0, pcfg.lockstep)
        end = time.monotonic() + DRAIN_S
        while s.c.published and time.monotonic() < end:
            s.spin(0.05)
        n_diag, end = s.c.diag_messages, time.monotonic() + DRAIN_S  # a /diagnostics made after the last output
        while s.c.diag_messages == n_diag and time.monotonic() < end:
            s.spin(0.05)
        rep.row()
        res = summary(rep, s, pcfg.lockstep, node_cfg.node.processing)
        res.update(machine=machine(), bag=str(bag.path), rows=rep.rows)
    finally:
        stop_node(proc)
        s.close()
        rclpy.shutdown()
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60.0, help="how long to play (default 60)")
    ap.add_argument("--pace", choices=("lockstep", "live"), default="lockstep",
                    help="lockstep: next RGB frame after the output of the previous one; live: real time")
    ap.add_argument("--rate", type=float, default=1.0, help="live: real-time factor (1 = the bag's 30 Hz)")
    ap.add_argument("--report-s", type=float, default=REPORT_PERIOD_S, help="report period (s), default 60")
    ap.add_argument("--bag", default=str(BENCH_DIR / BAG_NAME), help="contract bag (made by tracker-sim if absent)")
    ap.add_argument("--config", default=None, help="node YAML (default config/tracker_node.yaml)")
    ap.add_argument("--player-config", default=None, help="player YAML (QoS, lockstep timeout)")
    ap.add_argument("--model", default=None)
    ap.add_argument("--out", default=str(BENCH_DIR))
    a = ap.parse_args(argv)
    res = run(a)
    print(json.dumps({k: v for k, v in res.items() if k != "rows"}, indent=1))
    (Path(a.out) / f"bench_soak_{a.pace}.json").write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
