"""One synchronised set through the pipeline inside the node: decode -> Processor -> publish -> health.

Runs on the executor thread (``processing: inline``) or on the worker thread (``latest``); it only reads the
calibration snapshot it is handed with the set, so calibration arriving meanwhile cannot change a frame
half-way.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from tracker.pipeline.calibration import Calibration
from tracker.pipeline.health import HealthMonitor
from tracker.pipeline.processor import FrameError, FrameInput, Processor
from tracker.pipeline.sync import SyncSet

from .inputs import EncodingError, decode_input
from .publishing import OutputPublisher, frame_status

MAX_STAMP_LATENCY_S = 60.0  # a stamp older than this is a recorded stamp played without use_sim_time
WARN_PERIOD_S = 2.0  # the same warning is logged at most once per this period


class RateLimitedLog:
    """Warnings keyed by their cause, each logged at most once per ``period_s`` (steady clock)."""

    def __init__(self, logger, period_s: float = WARN_PERIOD_S):
        self._logger = logger
        self._period_s = period_s
        self._last: dict[str, float] = {}

    def warn(self, key: str, text: str) -> None:
        now = time.monotonic()
        if now - self._last.get(key, -float("inf")) >= self._period_s:
            self._last[key] = now
            self._logger.warning(text)


@dataclass(frozen=True)
class Work:
    """A released set (``msgs[name] = (Image or CompressedImage, receive time)``) with the calibration it is
    processed with."""

    sset: SyncSet
    calibration: Calibration


class FrameRunner:
    """Turns one :class:`Work` item into published outputs; a bad frame is reported, never raised."""

    def __init__(self, processor: Processor, health: HealthMonitor, outputs: OutputPublisher,
                 log: RateLimitedLog, live_clock: Callable[[], bool]):
        self.processor = processor
        self.health = health
        self.outputs = outputs
        self.log = log
        self._live_clock = live_clock  # True when stamps are wall-clock times (no use_sim_time)
        self.last_latency_ms: float | None = None

    def run(self, work: Work) -> None:
        try:
            self._run(work)
        except Exception as e:  # a bad frame must never take the node down
            self.health.problem("color", f"frame failed: {e}", time.monotonic())
            self.log.warn("process", f"frame {work.sset.stamp:.3f} failed: {type(e).__name__}: {e}")

    def _decode(self, cam: str, msg, now: float) -> tuple:
        """(array, encoding) of an input's Image or CompressedImage; (None, None) when it cannot be decoded
        (reported per input: the frame goes on without it, RGB: the frame is skipped)."""
        try:
            return decode_input(cam, msg)
        except EncodingError as e:
            self.health.problem(cam, str(e), now)
            self.log.warn(f"enc-{cam}", f"{cam}: image dropped: {e}")
            return None, None

    def _frame_input(self, work: Work, now: float) -> FrameInput | None:
        s = work.sset
        rgb, _ = self._decode("color", s.msgs["color"][0], now)
        if rgb is None:
            return None
        thermal = depth = th_enc = None
        if "thermal" in s.msgs:
            thermal, th_enc = self._decode("thermal", s.msgs["thermal"][0], now)
        if "depth" in s.msgs:
            depth, _ = self._decode("depth", s.msgs["depth"][0], now)
        return FrameInput(s.stamp, rgb, thermal, th_enc, depth, s.missing, work.calibration)

    def _run(self, work: Work) -> None:
        now = time.monotonic()
        s = work.sset
        self.health.frames_in += 1
        rgb_msg, rx = s.msgs["color"]
        frame = self._frame_input(work, now)
        if frame is None:
            return
        t_decoded = time.monotonic()
        try:
            res = self.processor.process(frame)
        except FrameError as e:
            self.health.problem(e.input, str(e), now)
            self.log.warn(f"frame-{e.input}", f"{e.input}: frame {s.stamp:.3f} skipped: {e}")
            return
        for cam, text in res.notes:
            self.health.problem(cam, text, now)
            self.log.warn(f"note-{cam}-{text[:20]}", f"{cam}: {text}")
        for kind, text in self.health.transforms.frame(res.ego, res.output, now):  # published anyway (fallback)
            self.log.warn(f"tf-{kind}", f"frame {s.stamp:.3f}: {text}")
        t_processed = time.monotonic()
        status = frame_status(self.health.modality_status(t_processed), s.missing)
        self.outputs.publish(res, rgb_msg, frame.rgb, status, self.last_latency_ms)
        done = time.monotonic()
        res.timings["decode"] = t_decoded - now
        res.timings["publish"] = done - t_processed
        stamp_lat = None
        if self._live_clock():
            stamp_lat = time.time() - s.stamp
            if not 0.0 <= stamp_lat < MAX_STAMP_LATENCY_S:
                stamp_lat = None
        self.last_latency_ms = (done - rx) * 1e3
        self.health.frame_done(done - rx, stamp_lat, res.timings)
