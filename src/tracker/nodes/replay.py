"""Replay a contract bag through the node suite over real DDS and record the outputs.

Process layout (docs/nodes.md, measured): the player runs in its own process (it plays the sensors), the tracker
node in its own process (`tracker-run`, all stages in one process: images are never copied between stages),
and the recorder in the calling process. Latency is end to end: wall time the player published an RGB frame
-> wall time the recorder received /tracker/tracks with that stamp (both on this machine's clock).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from .config import default_config_path, load_node_config, repo_root
from .recorder import RecorderConfig, load_recorder_config


FASTDDS_PROFILE_VAR = "FASTDDS_DEFAULT_PROFILES_FILE"


def fastdds_profile() -> Path:
    """config/fastdds_large_images.xml: a 32 MB shared-memory segment so that whole images cross processes
    (measured in docs/nodes.md: 10 ms instead of ~100+ ms per camera set, no losses)."""
    return repo_root() / "config" / "fastdds_large_images.xml"


def _child_env() -> dict:
    # children use this interpreter; the wheels' bootstrap already set LD_LIBRARY_PATH for it
    return dict(os.environ)


def _derived_config(config_path: Path, out_dir: Path, rgb_only: bool) -> Path:
    if not rgb_only:
        return config_path
    data = yaml.safe_load(config_path.read_text())
    data.setdefault("node", {})["rgb_only"] = True
    p = out_dir / f"{config_path.stem}.rgb_only.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def _stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def _tail(path: Path, n: int = 3000) -> str:
    try:
        return path.read_text()[-n:]
    except OSError:
        return ""


def replay_bag(bag_path, out_bag_path, config_path=None, model_path=None, realtime: bool = False,
               rgb_only: bool = False, *, stops: dict | None = None, node_command: list | None = None,
               rate: float = 1.0, startup_timeout_s: float = 90.0, recorder_config: RecorderConfig | None = None,
               quiet: bool = True, large_image_profile: bool = True) -> dict:
    """Play ``bag_path`` (lockstep unless ``realtime``) through the tracker node, record every output topic into
    ``out_bag_path`` and return statistics: frames_in, frames_out, duplicate/missing stamps, per-frame
    latencies (s), p50/p99, fps, track ids, the last diagnostics, logs.

    ``stops``: {topic: seconds} stops a topic mid-run (camera failure); ``node_command`` replaces the tracker
    process command (tests use it to run the node with a test double). ``large_image_profile``: unless
    FASTDDS_DEFAULT_PROFILES_FILE is already set, every process of the run uses config/fastdds_large_images.xml."""
    saved = os.environ.get(FASTDDS_PROFILE_VAR)
    import rclpy
    if large_image_profile and saved is None and not rclpy.ok() and fastdds_profile().is_file():
        os.environ[FASTDDS_PROFILE_VAR] = str(fastdds_profile())
    try:
        return _replay(bag_path, out_bag_path, config_path, model_path, realtime, rgb_only, stops, node_command,
                       rate, startup_timeout_s, recorder_config, quiet)
    finally:
        if saved is None:
            os.environ.pop(FASTDDS_PROFILE_VAR, None)


def _replay(bag_path, out_bag_path, config_path, model_path, realtime, rgb_only, stops, node_command, rate,
            startup_timeout_s, recorder_config, quiet) -> dict:
    import rclpy

    from .recorder import Recorder

    bag_path, out_bag = Path(bag_path), Path(out_bag_path)
    out_dir = out_bag.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    config_path = Path(config_path) if config_path else default_config_path()
    cfg = load_node_config(config_path)
    run_cfg = _derived_config(config_path, out_dir, rgb_only)
    rec_cfg = recorder_config or load_recorder_config()
    topics = cfg.topics
    env = _child_env()
    node_log = out_dir / f"{out_bag.name}.tracker_node.log"
    player_log = out_dir / f"{out_bag.name}.player.log"
    pub_log = out_dir / f"{out_bag.name}.publish_times.json"
    cmd = list(node_command) if node_command else [
        sys.executable, "-m", "tracker.nodes.runner", "--config", str(run_cfg), "--use-sim-time"]
    if model_path and not node_command:
        cmd += ["--model", str(model_path)]
    own_init = not rclpy.ok()
    if own_init:
        rclpy.init()
    node = rclpy.create_node("replay_recorder")
    rec = Recorder(node, out_bag, rec_cfg)
    t_start = time.monotonic()
    with open(node_log, "w") as nl:
        node_proc = subprocess.Popen(cmd, env=env, stdout=nl, stderr=subprocess.STDOUT)
    player = None
    player_out = {}
    try:
        deadline = time.monotonic() + startup_timeout_s
        while time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.05)
            if node_proc.poll() is not None:
                raise RuntimeError(f"tracker node exited with {node_proc.returncode}:\n{_tail(node_log)}")
            if node.count_publishers(topics.tracks) >= 1 and node.count_subscribers(topics.color_image) >= 1:
                break
        else:
            raise RuntimeError(f"tracker node not active after {startup_timeout_s} s:\n{_tail(node_log)}")
        startup_s = time.monotonic() - t_start
        pcmd = [sys.executable, "-m", "tracker.nodes.player", str(bag_path), "--publish-log", str(pub_log)]
        pcmd += ["--rate", str(rate)] if realtime else ["--lockstep"]
        for topic, sec in (stops or {}).items():
            pcmd += ["--stop", f"{topic}@{sec}"]
        t_play = time.monotonic()
        with open(player_log, "w") as pl:
            player = subprocess.Popen(pcmd, env=env, stdout=pl, stderr=subprocess.STDOUT)
        while player.poll() is None:
            rclpy.spin_once(node, timeout_sec=0.02)
            if node_proc.poll() is not None:
                raise RuntimeError(f"tracker node died during playback:\n{_tail(node_log)}")
        play_s = time.monotonic() - t_play
        if player.returncode != 0:
            raise RuntimeError(f"player failed ({player.returncode}):\n{_tail(player_log)}")
        # drain: until no new output for 1 s (5 s at most)
        last_n, last_change, end = -1, time.monotonic(), time.monotonic() + 5.0
        while time.monotonic() < end and time.monotonic() - last_change < 1.0:
            rclpy.spin_once(node, timeout_sec=0.05)
            n = rec.counts.get(topics.tracks, 0)
            if n != last_n:
                last_n, last_change = n, time.monotonic()
        lines = [ln for ln in player_log.read_text().splitlines() if ln.startswith("{")]
        player_out = json.loads(lines[-1]) if lines else {}
    finally:
        if player is not None and player.poll() is None:
            _stop(player)
        _stop(node_proc)
        last_diag = rec.last.get(topics.diagnostics)
        rec.close()
        node.destroy_node()
        if own_init and rclpy.ok():
            rclpy.shutdown()
    return _stats(rec, topics, pub_log, player_out, out_bag, node_log, startup_s, play_s, last_diag, quiet)


def _stats(rec, topics, pub_log: Path, player_out: dict, out_bag: Path, node_log: Path, startup_s: float,
           play_s: float, last_diag, quiet: bool) -> dict:
    pubs = {int(k): v for k, v in json.loads(pub_log.read_text()).items()} if pub_log.is_file() else {}
    recv = rec.receive.get(topics.tracks, [])
    stamps = [s for s, _ in recv]
    lat = {}
    for s, t in recv:
        if s in pubs and s not in lat:
            lat[s] = t - pubs[s]
    lat_list = [lat[s] for s in sorted(lat)]
    frames_in = int(player_out.get("rgb_frames", len(pubs)))
    diag = {}
    if last_diag is not None:
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.serialization import deserialize_message
        m = deserialize_message(last_diag, DiagnosticArray)
        diag = {s.name: {"level": int.from_bytes(bytes(s.level), "little") if isinstance(s.level, (bytes, bytearray))
                         else int(s.level), "message": s.message, **{kv.key: kv.value for kv in s.values}}
                for s in m.status}
    stats = {
        "out_bag": str(out_bag), "node_log": str(node_log),
        "fastdds_profile": os.environ.get(FASTDDS_PROFILE_VAR, "(Fast DDS default)"),
        "frames_in": frames_in, "frames_out": len(recv), "unique_stamps_out": len(set(stamps)),
        "missing_stamps": sorted(set(pubs) - set(stamps))[:50], "n_missing": len(set(pubs) - set(stamps)),
        "duplicate_stamps": len(stamps) - len(set(stamps)),
        "latencies_s": lat_list,
        "latency_p50_ms": float(np.percentile(lat_list, 50) * 1e3) if lat_list else float("nan"),
        "latency_p99_ms": float(np.percentile(lat_list, 99) * 1e3) if lat_list else float("nan"),
        # throughput from the first RGB publish to the last output (the player's own start-up and its closing
        # wait are not the suite's time); fps_with_player_startup divides by the player's whole run
        "fps": _throughput(len(recv), pubs, [t for _, t in recv], play_s),
        "fps_with_player_startup": len(recv) / play_s if play_s > 0 else 0.0, "play_s": play_s,
        "startup_s": startup_s,
        "counts": dict(rec.counts), "player": player_out, "diagnostics": diag,
    }
    return stats


def _throughput(n_out: int, pub_wall: dict, recv_wall: list, play_s: float) -> float:
    """Outputs per second between the first RGB publish and the last output received (wall clock)."""
    if n_out and pub_wall and recv_wall:
        span = max(recv_wall) - min(pub_wall.values())
        if span > 0:
            return n_out / span
    return n_out / play_s if play_s > 0 else 0.0


def track_ids_per_frame(out_bag, topic: str = "/tracker/tracks") -> list[tuple[int, list[str]]]:
    """[(stamp ns, [track ids])] of the recorded /tracker/tracks."""
    from tracker.data.reader import BagReader
    out = []
    with BagReader(out_bag) as r:
        for _, stamp, msg in r.messages([topic]):
            out.append((stamp, [str(d.id) for d in msg.detections]))
    return out


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description="replay a bag through the tracker node over DDS and record outputs")
    ap.add_argument("bag")
    ap.add_argument("out_bag")
    ap.add_argument("--config", default=None)
    ap.add_argument("--model", default=None)
    ap.add_argument("--realtime", action="store_true")
    ap.add_argument("--rgb-only", action="store_true")
    a = ap.parse_args(argv)
    st = replay_bag(a.bag, a.out_bag, a.config, a.model, a.realtime, a.rgb_only)
    st.pop("latencies_s")
    print(json.dumps(st, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
