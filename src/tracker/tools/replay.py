"""Replay a contract bag through the node suite over real DDS and record the outputs.

Process layout (docs/nodes.md, measured): the player runs in its own process (it plays the sensors), the tracker
node in its own process (`tracker-run`, all stages in one process: images are never copied between stages),
and the recorder in the calling process (tracker.nodes.recording, the only ROS part of this module). Latency is
end to end: wall time the player published an RGB frame -> wall time the recorder received /tracker/tracks with
that stamp (both on this machine's clock).

    python -m tracker.tools.replay BAG OUT_BAG [--config YAML] [--model FILE] [--realtime] [--rgb-only]
"""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from tracker.common.config import param
from tracker.data.contract import OutputTopics
from tracker.nodes.config import default_config_path, load_node_config
from tracker.nodes.qos import FASTDDS_PROFILE_VAR, large_image_profile as fastdds_profile  # noqa: F401 (bench)
from tracker.nodes.recorder import RecorderConfig, load_recorder_config

MS_PER_S = 1e3


@dataclasses.dataclass(frozen=True)
class ReplayConfig:
    """Waits and limits of one replay."""
    startup_timeout_s: float = param(90.0, unit="s", gt=0.0,
                                     doc="the tracker node must publish tracks and subscribe to RGB within this")
    startup_poll_s: float = param(0.05, unit="s", gt=0.0, doc="spin period while waiting for the tracker node")
    play_poll_s: float = param(0.02, unit="s", gt=0.0, doc="spin period while the player runs")
    drain_quiet_s: float = param(1.0, unit="s", gt=0.0,
                                 doc="after playback, outputs are collected until none arrived for this long")
    drain_max_s: float = param(5.0, unit="s", gt=0.0, doc="after playback, outputs are collected at most this long")
    drain_poll_s: float = param(0.05, unit="s", gt=0.0, doc="spin period while collecting the last outputs")
    stop_timeout_s: float = param(10.0, unit="s", gt=0.0,
                                  doc="a child process gets this long to exit after SIGINT, then it is killed")
    kill_timeout_s: float = param(5.0, unit="s", gt=0.0, doc="wait for a killed child process")
    log_tail_chars: int = param(3000, unit="characters", ge=0, doc="tail of a child's log quoted in errors")
    missing_stamps_listed: int = param(50, unit="stamps", ge=0, doc="missing output stamps listed in the stats")


@dataclasses.dataclass(frozen=True)
class _Run:
    """Inputs and files of one replay."""
    bag: Path
    out_bag: Path
    node_log: Path
    player_log: Path
    pub_log: Path
    cfg: ReplayConfig

    @classmethod
    def at(cls, bag_path, out_bag_path, cfg: ReplayConfig) -> "_Run":
        out_bag = Path(out_bag_path)
        out_bag.parent.mkdir(parents=True, exist_ok=True)
        logs = out_bag.parent / out_bag.name
        return cls(Path(bag_path), out_bag, Path(f"{logs}.tracker_node.log"), Path(f"{logs}.player.log"),
                   Path(f"{logs}.publish_times.json"), cfg)


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


def _start(cmd: list, log: Path) -> subprocess.Popen:
    with open(log, "w") as f:
        return subprocess.Popen(cmd, env=_child_env(), stdout=f, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen, cfg: ReplayConfig) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=cfg.stop_timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=cfg.kill_timeout_s)


def _tail(path: Path, n: int) -> str:
    try:
        return path.read_text()[-n:]
    except OSError:
        return ""


def replay_bag(bag_path, out_bag_path, config_path=None, model_path=None, realtime: bool = False,
               rgb_only: bool = False, *, stops: dict | None = None, node_command: list | None = None,
               rate: float = 1.0, startup_timeout_s: float | None = None,
               recorder_config: RecorderConfig | None = None, large_image_profile: bool = True,
               replay_config: ReplayConfig | None = None) -> dict:
    """Play ``bag_path`` (lockstep unless ``realtime``) through the tracker node, record every output topic into
    ``out_bag_path`` and return statistics: frames_in, frames_out, duplicate/missing stamps, per-frame
    latencies (s), p50/p99, fps, track ids, the last diagnostics, logs.

    ``stops``: {topic: seconds} stops a topic mid-run (camera failure); ``node_command`` replaces the tracker
    process command (tests use it to run the node with a test double). ``large_image_profile``: unless
    FASTDDS_DEFAULT_PROFILES_FILE is already set, every process of the run uses config/fastdds_large_images.xml.
    ``startup_timeout_s`` overrides ``replay_config.startup_timeout_s``."""
    from tracker.nodes.recording import context_active
    cfg = replay_config or ReplayConfig()
    if startup_timeout_s is not None:
        cfg = dataclasses.replace(cfg, startup_timeout_s=startup_timeout_s)
    saved = os.environ.get(FASTDDS_PROFILE_VAR)
    if large_image_profile and saved is None and not context_active() and fastdds_profile().is_file():
        os.environ[FASTDDS_PROFILE_VAR] = str(fastdds_profile())
    try:
        run = _Run.at(bag_path, out_bag_path, cfg)
        config_path = Path(config_path) if config_path else default_config_path()
        node_cmd = _node_command(node_command, _derived_config(config_path, run.out_bag.parent, rgb_only),
                                 model_path)
        player_cmd = _player_command(run, realtime, rate, stops)
        return _replay(run, load_node_config(config_path).topics.resolved(), node_cmd, player_cmd,
                       recorder_config or load_recorder_config())
    finally:
        if saved is None:
            os.environ.pop(FASTDDS_PROFILE_VAR, None)


def _node_command(node_command: list | None, run_config: Path, model_path) -> list:
    if node_command:
        return list(node_command)
    cmd = [sys.executable, "-m", "tracker.nodes.runner", "--config", str(run_config), "--use-sim-time"]
    return cmd + (["--model", str(model_path)] if model_path else [])


def _player_command(run: _Run, realtime: bool, rate: float, stops: dict | None) -> list:
    cmd = [sys.executable, "-m", "tracker.nodes.player", str(run.bag), "--publish-log", str(run.pub_log)]
    cmd += ["--rate", str(rate)] if realtime else ["--lockstep"]
    for topic, sec in (stops or {}).items():
        cmd += ["--stop", f"{topic}@{sec}"]
    return cmd


def _replay(run: _Run, topics, node_cmd: list, player_cmd: list, rec_cfg: RecorderConfig) -> dict:
    """Start the recorder here and the tracker node, wait until it is up, play, drain, collect statistics."""
    from tracker.nodes.recording import RecordingSession
    session = RecordingSession(run.out_bag, rec_cfg)
    t_start = time.monotonic()
    node_proc = _start(node_cmd, run.node_log)
    player = None
    try:
        _wait_until_active(session, node_proc, topics, run)
        startup_s = time.monotonic() - t_start
        t_play = time.monotonic()
        player = _start(player_cmd, run.player_log)
        _spin_while_playing(session, node_proc, player, run)
        play_s = time.monotonic() - t_play
        _drain(session, topics.tracks, run.cfg)
        player_out = _player_summary(run.player_log)
    finally:
        if player is not None:
            _stop(player, run.cfg)
        _stop(node_proc, run.cfg)
        last_diag = session.recorder.last.get(topics.diagnostics)
        session.close()
    timing = {"startup_s": startup_s, "play_s": play_s}
    return _stats(session.recorder, topics, run, player_out, timing, last_diag)


def _wait_until_active(session, node_proc: subprocess.Popen, topics, run: _Run) -> None:
    """Until the tracker node publishes tracks and subscribes to RGB (it is active); raises when it exits or
    takes longer than startup_timeout_s."""
    cfg = run.cfg
    deadline = time.monotonic() + cfg.startup_timeout_s
    while time.monotonic() < deadline:
        session.spin(cfg.startup_poll_s)
        if node_proc.poll() is not None:
            raise RuntimeError(f"tracker node exited with {node_proc.returncode}:\n"
                               f"{_tail(run.node_log, cfg.log_tail_chars)}")
        if session.publishers(topics.tracks) >= 1 and session.subscribers(topics.color_image) >= 1:
            return
    raise RuntimeError(f"tracker node not active after {cfg.startup_timeout_s} s:\n"
                       f"{_tail(run.node_log, cfg.log_tail_chars)}")


def _spin_while_playing(session, node_proc: subprocess.Popen, player: subprocess.Popen, run: _Run) -> None:
    while player.poll() is None:
        session.spin(run.cfg.play_poll_s)
        if node_proc.poll() is not None:
            raise RuntimeError(f"tracker node died during playback:\n{_tail(run.node_log, run.cfg.log_tail_chars)}")
    if player.returncode != 0:
        raise RuntimeError(f"player failed ({player.returncode}):\n{_tail(run.player_log, run.cfg.log_tail_chars)}")


def _drain(session, tracks_topic: str, cfg: ReplayConfig) -> None:
    """Collect the last outputs: until none arrived for drain_quiet_s, drain_max_s at most."""
    last_n, last_change = -1, time.monotonic()
    end = last_change + cfg.drain_max_s
    while time.monotonic() < end and time.monotonic() - last_change < cfg.drain_quiet_s:
        session.spin(cfg.drain_poll_s)
        n = session.recorder.counts.get(tracks_topic, 0)
        if n != last_n:
            last_n, last_change = n, time.monotonic()


def _player_summary(player_log: Path) -> dict:
    """The player's closing JSON line (its own statistics)."""
    lines = [ln for ln in player_log.read_text().splitlines() if ln.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def decode_diagnostics(raw: bytes | None) -> dict:
    """{status name: {level, message, key: value...}} of a serialized diagnostic_msgs/DiagnosticArray."""
    if raw is None:
        return {}
    from tracker.data.typestore import get_typestore
    m = get_typestore().deserialize_cdr(bytes(raw), "diagnostic_msgs/msg/DiagnosticArray")
    return {s.name: {"level": int(s.level), "message": s.message, **{kv.key: kv.value for kv in s.values}}
            for s in m.status}


def _latencies(pubs: dict, recv: list) -> list:
    """Per output stamp (first receipt): receive wall time - the player's publish wall time, in stamp order."""
    lat = {}
    for s, t in recv:
        if s in pubs and s not in lat:
            lat[s] = t - pubs[s]
    return [lat[s] for s in sorted(lat)]


def _percentile_ms(values: list, q: float) -> float:
    return float(np.percentile(values, q) * MS_PER_S) if values else float("nan")


def _stats(rec, topics, run: _Run, player_out: dict, timing: dict, last_diag) -> dict:
    pubs = {int(k): v for k, v in json.loads(run.pub_log.read_text()).items()} if run.pub_log.is_file() else {}
    recv = rec.receive.get(topics.tracks, [])
    stamps = [s for s, _ in recv]
    missing = sorted(set(pubs) - set(stamps))
    lat = _latencies(pubs, recv)
    play_s = timing["play_s"]
    return {
        "out_bag": str(run.out_bag), "node_log": str(run.node_log),
        "fastdds_profile": os.environ.get(FASTDDS_PROFILE_VAR, "(Fast DDS default)"),
        "frames_in": int(player_out.get("rgb_frames", len(pubs))), "frames_out": len(recv),
        "unique_stamps_out": len(set(stamps)), "missing_stamps": missing[:run.cfg.missing_stamps_listed],
        "n_missing": len(missing), "duplicate_stamps": len(stamps) - len(set(stamps)),
        "latencies_s": lat, "latency_p50_ms": _percentile_ms(lat, 50), "latency_p99_ms": _percentile_ms(lat, 99),
        # throughput from the first RGB publish to the last output (the player's own start-up and its closing
        # wait are not the suite's time); fps_with_player_startup divides by the player's whole run
        "fps": _throughput(len(recv), pubs, [t for _, t in recv], play_s),
        "fps_with_player_startup": len(recv) / play_s if play_s > 0 else 0.0, "play_s": play_s,
        "startup_s": timing["startup_s"],
        "counts": dict(rec.counts), "player": player_out, "diagnostics": decode_diagnostics(last_diag),
    }


def _throughput(n_out: int, pub_wall: dict, recv_wall: list, play_s: float) -> float:
    """Outputs per second between the first RGB publish and the last output received (wall clock)."""
    if n_out and pub_wall and recv_wall:
        span = max(recv_wall) - min(pub_wall.values())
        if span > 0:
            return n_out / span
    return n_out / play_s if play_s > 0 else 0.0


def track_ids_per_frame(out_bag, topic: str = OutputTopics().tracks) -> list[tuple[int, list[str]]]:
    """[(stamp ns, [track ids])] of the recorded /tracker/tracks."""
    from tracker.data.reader import BagReader
    out = []
    with BagReader(out_bag) as r:
        for _, stamp, msg in r.messages([topic]):
            out.append((stamp, [str(d.id) for d in msg.detections]))
    return out


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="python -m tracker.tools.replay",
                                 description="replay a bag through the tracker node over DDS and record outputs")
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
