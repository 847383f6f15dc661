"""Health of the pipeline (ROS-free): input rates, latency percentiles, modality status, problem log, and the
transforms in use (ego-motion source, output frame: :class:`TransformHealth`).

The node feeds it receive/publish events and turns :meth:`HealthMonitor.report` into a
diagnostic_msgs/DiagnosticArray; tests and the replay use it directly.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from tracker.common.config import param

OK, WARN, ERROR, STALE = 0, 1, 2, 3
LEVEL_NAMES = {OK: "OK", WARN: "WARN", ERROR: "ERROR", STALE: "STALE"}


@dataclass(frozen=True)
class DiagnosticsConfig:
    period_s: float = param(1.0, unit="s", gt=0.0, doc="/diagnostics publication period")
    rate_window_s: float = param(3.0, unit="s", gt=0.0, doc="window of the input rate estimate")
    latency_window: int = param(300, unit="frames", ge=10, doc="frames in the latency percentile window")
    min_rate_warn_hz: float = param(5.0, unit="Hz", ge=0.0, doc="an input slower than this is WARN")
    min_rate_error_hz: float = param(1.0, unit="Hz", ge=0.0, doc="an input slower than this (or silent) is ERROR")
    latency_p99_warn_s: float = param(0.15, unit="s", gt=0.0, doc="processing latency p99 above this is WARN")
    latency_p99_error_s: float = param(0.5, unit="s", gt=0.0, doc="processing latency p99 above this is ERROR")
    drop_fraction_warn: float = param(0.05, unit="1", ge=0.0, le=1.0,
                                      doc="fraction of RGB frames dropped by the synchroniser above which WARN")
    problem_hold_s: float = param(5.0, unit="s", gt=0.0,
                                  doc="a bad-input problem keeps its input at WARN for this long")

    def validate(self) -> None:
        if self.min_rate_error_hz > self.min_rate_warn_hz:
            raise ValueError("min_rate_error_hz must be <= min_rate_warn_hz")
        if self.latency_p99_error_s < self.latency_p99_warn_s:
            raise ValueError("latency_p99_error_s must be >= latency_p99_warn_s")


class RateMeter:
    """Events per second over a sliding window of receive times."""

    def __init__(self, window_s: float):
        self.window_s = window_s
        self._t: deque[float] = deque()
        self.count = 0

    def tick(self, now: float) -> None:
        self._t.append(now)
        self.count += 1
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self._t and now - self._t[0] > self.window_s:
            self._t.popleft()

    def rate(self, now: float) -> float:
        self._trim(now)
        if len(self._t) < 2:
            return 0.0
        span = max(now - self._t[0], self._t[-1] - self._t[0])
        return (len(self._t) - 1) / span if span > 0 else 0.0


class Percentiles:
    """Rolling window of samples with percentiles."""

    def __init__(self, size: int):
        self._v: deque[float] = deque(maxlen=size)

    def add(self, value: float) -> None:
        self._v.append(float(value))

    def __len__(self) -> int:
        return len(self._v)

    def p(self, q: float) -> float:
        return float(np.percentile(np.asarray(self._v), q)) if self._v else float("nan")


class Availability(Enum):
    OK = "ok"
    DEGRADED = "degraded"  # a bad-input problem within problem_hold_s
    SILENT = "silent"  # no data: left out of the sets (RGB: nothing is published)


@dataclass(frozen=True)
class ModalityStatus:
    """The state of one input; ``str()`` is the diagnostics text ('ok', 'silent', 'degraded (<problem>)')."""

    state: Availability
    problem: str = ""

    def __str__(self) -> str:
        return f"degraded ({self.problem})" if self.state is Availability.DEGRADED else self.state.value


MODALITY_OK = ModalityStatus(Availability.OK)
MODALITY_SILENT = ModalityStatus(Availability.SILENT)


@dataclass
class Status:
    """One diagnostic status: name, level (OK/WARN/ERROR/STALE), message, key/values."""

    name: str
    level: int
    message: str
    values: dict = field(default_factory=dict)


@dataclass
class TransformHealth:
    """What the last frame used: the ego-motion source fed to the core and the frame its tracks were published
    in, with counters and the latest problem (an extrapolating lookup, a missing target frame)."""

    ego_config: str = ""  # ego_motion.source (and fixed_frame) as configured
    target_config: str = ""  # output.target_frame as configured ('' = the RGB optical frame)
    ego_source: str = "none"
    ego_status: str = "no frame yet"
    frame_id: str = ""
    frame_source: str = ""
    frames: int = 0
    frames_with_ego: int = 0
    frames_fallback: int = 0  # frames published in the RGB optical frame because target_frame was not available
    problem: tuple[float, str] | None = None  # (time, text) of the latest problem
    problem_count: int = 0

    def frame(self, ego, out, now: float) -> list[tuple[str, str]]:
        """Record one frame's ``ego`` (tracker.pipeline.ego.EgoResult) and ``out`` (tracker.pipeline.target.
        OutputFrame); returns its problems as [(kind, text)] (kind: ego_motion | target_frame)."""
        self.frames += 1
        problems = []
        if ego is not None:
            self.ego_source, self.ego_status = ego.source, ego.status
            self.frames_with_ego += ego.motion is not None
            if ego.problem:
                problems.append(("ego_motion", f"ego-motion: {ego.problem}"))
        if out is not None:
            self.frame_id, self.frame_source = out.frame_id, out.source
            if out.problem:
                self.frames_fallback += 1
                problems.append(("target_frame", out.problem))
        for _, text in problems:
            self.problem = (now, text)
            self.problem_count += 1
        return problems

    def status(self, now: float, hold_s: float) -> Status:
        recent = self.problem is not None and now - self.problem[0] <= hold_s
        msg = (f"ego-motion: {self.ego_source}; output frame: {self.frame_id or '(none yet)'}"
               + (f" ({self.frame_source})" if self.frame_source else ""))
        return Status("transforms", WARN if recent else OK, self.problem[1] if recent else msg, {
            "ego_motion_source": self.ego_source, "ego_motion_status": self.ego_status,
            "ego_motion_config": self.ego_config, "target_frame_config": self.target_config or "(RGB optical frame)",
            "output_frame": self.frame_id, "output_frame_source": self.frame_source,
            "frames": str(self.frames), "frames_with_ego_motion": str(self.frames_with_ego),
            "frames_in_fallback_frame": str(self.frames_fallback), "problems": str(self.problem_count),
            "last_problem": self.problem[1] if self.problem else ""})


class HealthMonitor:
    """Collects input events, sync results, latencies and problems; ``report(now)`` summarises them."""

    def __init__(self, inputs, config: DiagnosticsConfig = DiagnosticsConfig(), required=("color",)):
        self.config = config
        self.inputs = tuple(inputs)
        self.required = tuple(required)
        self.rates = {n: RateMeter(config.rate_window_s) for n in self.inputs}
        self.latency = Percentiles(config.latency_window)  # receive -> publish (s)
        self.stamp_latency = Percentiles(config.latency_window)  # sensor stamp -> publish (s), live clocks only
        self.stage_times: dict[str, Percentiles] = {}
        self.problems: dict[str, tuple[float, str]] = {}  # input -> (time, text) of the latest problem
        self.problem_counts: dict[str, int] = {n: 0 for n in self.inputs}
        self.recent: dict[str, deque] = {}  # input -> the last distinct problems
        self.frames_in = 0
        self.frames_out = 0
        self.info: dict[str, str] = {}
        self.silent: frozenset = frozenset()
        self.sync_dropped = 0
        self.sync_received = 0
        self.sync_unpaired: dict[str, int] = {}  # per camera: RGB frames processed without it (no partner in slop)
        self.transforms = TransformHealth()

    def received(self, name: str, now: float) -> None:
        self.rates[name].tick(now)

    def problem(self, name: str, text: str, now: float) -> None:
        self.problems[name] = (now, text)
        self.problem_counts[name] = self.problem_counts.get(name, 0) + 1
        hist = self.recent.setdefault(name, deque(maxlen=5))
        if text not in hist:
            hist.append(text)

    def frame_done(self, latency_s: float, stamp_latency_s: float | None = None,
                   stages: dict[str, float] | None = None) -> None:
        self.frames_out += 1
        self.latency.add(latency_s)
        if stamp_latency_s is not None:
            self.stamp_latency.add(stamp_latency_s)
        for k, v in (stages or {}).items():
            self.stage_times.setdefault(k, Percentiles(self.config.latency_window)).add(v)

    def modality_status(self, now: float) -> dict[str, ModalityStatus]:
        """{input: its ModalityStatus} at receive time ``now``."""
        out = {}
        for n in self.inputs:
            p = self.problems.get(n)
            if n in self.silent:
                out[n] = MODALITY_SILENT
            elif p is not None and now - p[0] <= self.config.problem_hold_s:
                out[n] = ModalityStatus(Availability.DEGRADED, p[1])
            else:
                out[n] = MODALITY_OK
        return out

    def report(self, now: float) -> list[Status]:
        c = self.config
        out = []
        modal = self.modality_status(now)
        for n in self.inputs:
            r = self.rates[n].rate(now)
            level, msg = OK, "ok"
            state = modal[n].state
            if state is Availability.SILENT:
                level, msg = ((ERROR, "silent: nothing is published without it") if n in self.required else
                              (WARN, "silent: left out of the synchronised sets"))
            elif r < c.min_rate_error_hz:
                level, msg = ERROR if n in self.required else WARN, f"rate {r:.1f} Hz"
            elif r < c.min_rate_warn_hz:
                level, msg = WARN, f"low rate {r:.1f} Hz"
            if state is Availability.DEGRADED:
                level, msg = max(level, WARN), str(modal[n])
            last = self.problems.get(n)
            out.append(Status(f"input {n}", level, msg, {
                "rate_hz": f"{r:.2f}", "received": str(self.rates[n].count), "status": str(modal[n]),
                "bad_messages": str(self.problem_counts.get(n, 0)),
                "last_problem": last[1] if last else "",
                "recent_problems": " | ".join(self.recent.get(n, ()))}))
        drop_frac = self.sync_dropped / max(1, self.sync_received)
        lvl = WARN if drop_frac > c.drop_fraction_warn else OK
        unpaired = {n: k for n, k in sorted(self.sync_unpaired.items()) if n in self.inputs}
        text = f"{self.sync_dropped} RGB frames dropped" + "".join(
            f"; {k} without {n} (no {n} frame within slop)" for n, k in unpaired.items() if k)
        out.append(Status("synchronizer", lvl, text, {
            "rgb_received": str(self.sync_received), "dropped": str(self.sync_dropped),
            "drop_fraction": f"{drop_frac:.3f}", "silent_inputs": ",".join(sorted(self.silent)),
            "modalities": ",".join(n for n in self.inputs if modal[n].state is not Availability.SILENT),
            **{f"unpaired_{n}": str(k) for n, k in unpaired.items()}}))
        p50, p99 = self.latency.p(50), self.latency.p(99)
        lvl = OK
        if len(self.latency) and p99 > c.latency_p99_error_s:
            lvl = ERROR
        elif len(self.latency) and p99 > c.latency_p99_warn_s:
            lvl = WARN
        vals = {"frames_in": str(self.frames_in), "frames_out": str(self.frames_out),
                "latency_p50_ms": f"{p50 * 1e3:.1f}", "latency_p99_ms": f"{p99 * 1e3:.1f}"}
        if len(self.stamp_latency):
            vals["stamp_to_publish_p50_ms"] = f"{self.stamp_latency.p(50) * 1e3:.1f}"
            vals["stamp_to_publish_p99_ms"] = f"{self.stamp_latency.p(99) * 1e3:.1f}"
        for k, v in self.stage_times.items():
            vals[f"{k}_p50_ms"] = f"{v.p(50) * 1e3:.1f}"
        vals.update(self.info)
        out.append(Status("pipeline", lvl, f"latency p50 {p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms", vals))
        out.append(self.transforms.status(now, c.problem_hold_s))
        return out
