"""Approximate-time synchronisation of the camera streams (ROS-free).

Semantics follow ``message_filters.ApproximateTimeSynchronizer`` (the Python implementation): every input
keeps a queue of at most ``queue_size`` messages keyed by header stamp; a set is emitted when one message of
every input lies within ``slop`` seconds of each other (``max(stamps) - min(stamps) <= slop``); after a set
is emitted, the used messages and every older message of every queue are discarded.

Two additions, both reported:

* **The pivot is the RGB camera** (``pivot``, the first input): outputs are stamped with the RGB stamp, so
  RGB frames are matched oldest first. A pivot frame for which another input has no message within ``slop``
  once that input has moved past it is, by default (``unmatched: process``), emitted without that input: it
  is listed in ``SyncSet.unpaired`` and counted per input in ``stats.unpaired``. Cameras at different rates
  (RGB 30 Hz, depth 15 Hz, a 9 Hz thermal camera) then still give one output per RGB frame, the slower
  cameras' modalities in the frames they have a partner for. ``unmatched: drop`` drops such a frame as
  message_filters does (counted in ``stats.dropped``), so the output rate is the slowest camera's.
* **Silent inputs.** An input that has delivered nothing for ``timeout_s`` *while RGB kept arriving* (measured
  from the first RGB frame received after its last message, on a receive clock passed in by the caller so
  that tests and replays control it) is declared *silent*: sets are then formed from the inputs that remain
  and carry the silent inputs in ``SyncSet.missing``. A stall of everything (a busy machine, a paused
  player) silences nobody; a camera that never delivered is timed from the first RGB frame. RGB itself is
  reported idle after ``timeout_s`` without a message but never left out: without RGB nothing is emitted. The
  first message of a silent input makes it active again. **An RGB frame that arrived while an input was silent
  is never held back or dropped because of that input**: when the input returns, its first message may already
  be past that frame (it belongs to the next one, or arrived before the frame's other partners), and the frame
  is emitted without it instead of being dropped as an unmatched frame.

Stamps going backwards on one input are rejected (counted, and reported in ``events``); a backward jump of the
pivot larger than ``reset_jump_s`` (a bag restarted in a loop) resets the synchroniser instead. Every such
change is a typed :class:`SyncEvent` (kept in ``events`` and passed to ``on_event``).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Iterable

from tracker.common.config import param


@dataclass(frozen=True)
class SyncConfig:
    queue_size: int = param(10, unit="messages", ge=1, le=1000, doc="per-input queue length (message_filters queue_size)")
    slop_s: float = param(0.02, unit="s", ge=0.0, le=1.0,
                          doc="max spread of the stamps of one synchronised set (message_filters slop)")
    timeout_s: float = param(0.5, unit="s", gt=0.0,
                             doc="an input silent for this long (receive clock) is left out of the sets until it "
                                 "returns")
    unmatched: str = param("process", choices=("process", "drop"),
                           doc="an RGB frame for which another camera has no message within slop_s (that camera "
                               "has moved past it: other rates or dropped frames): process it without that camera "
                               "(counted per camera as unpaired in /diagnostics) or drop it (message_filters; the "
                               "output rate is then the slowest camera's)")
    reset_jump_s: float = param(1.0, unit="s", gt=0.0,
                                doc="an RGB stamp this far behind the previous one resets the synchroniser "
                                    "(bag loop); smaller backward steps are rejected")
    calibration_wait_s: float = param(3.0, unit="s", ge=0.0,
                                      doc="a set whose cameras have no camera_info (or no extrinsics) yet is held "
                                          "up to this long (receive clock, once per camera) before it is processed "
                                          "without them; longer than the player's lockstep timeout so that replays "
                                          "are deterministic (tracker.pipeline.calibration.CalibrationGate)")


class SyncEventKind(Enum):
    SILENT = "silent"  # a non-pivot input is left out of the sets
    PIVOT_IDLE = "pivot idle"  # no RGB for timeout_s: nothing is emitted until it arrives (never left out)
    RETURNED = "returned"  # a silent input (or the idle pivot) delivers again
    REJECTED = "rejected"  # a message whose stamp is not after the previous one of its input
    RESET = "reset"  # the pivot jumped back more than reset_jump_s: queues and stamps forgotten


@dataclass(frozen=True)
class SyncEvent:
    """One change of the synchroniser's state. ``idle_s``: time without a message (None: none ever received);
    ``stamp_s``/``previous_s``: the offending and the previous stamp (REJECTED, RESET)."""

    kind: SyncEventKind
    input: str
    idle_s: float | None = None
    timeout_s: float | None = None
    stamp_s: float | None = None
    previous_s: float | None = None

    @property
    def is_input_problem(self) -> bool:
        """A bad message of this input (reported per input in /diagnostics), not a change of availability."""
        return self.kind is SyncEventKind.REJECTED

    def text(self) -> str:
        k, n = self.kind, self.input
        if k is SyncEventKind.SILENT:
            what = ("no message yet" if self.idle_s is None else
                    f"nothing for {self.idle_s:.2f} s while RGB kept arriving")
            return f"{n}: {what} (timeout {self.timeout_s} s): proceeding without it"
        if k is SyncEventKind.PIVOT_IDLE:
            what = "no frame yet" if self.idle_s is None else f"no frame for {self.idle_s:.2f} s"
            return (f"{n}: {what} (timeout {self.timeout_s} s): nothing is published until RGB arrives "
                    "(RGB is required)")
        if k is SyncEventKind.RETURNED:
            return f"{n}: receiving again, back in the synchronised sets"
        if k is SyncEventKind.REJECTED:
            return (f"{n}: stamp {self.stamp_s:.6f} s is not after the previous {self.previous_s:.6f} s: "
                    "message rejected")
        return f"{n}: stamp jumped back {self.previous_s - self.stamp_s:.3f} s: synchroniser reset"


@dataclass
class SyncSet:
    """One synchronised set: ``msgs[name]`` for every present input, ``stamps[name]`` in seconds."""

    stamp: float  # the pivot (RGB) stamp, s
    msgs: dict
    stamps: dict
    missing: frozenset = frozenset()  # inputs that were silent when the set was formed
    unpaired: frozenset = frozenset()  # active inputs with no message within slop of this RGB frame


@dataclass
class SyncStats:
    received: dict = field(default_factory=dict)
    emitted: int = 0
    dropped: int = 0  # pivot frames never emitted (no partner within slop, or evicted from a full queue)
    evicted: dict = field(default_factory=dict)  # per input: messages pushed out of a full queue
    backwards: dict = field(default_factory=dict)  # per input: messages rejected for a stamp going backwards
    unpaired: dict = field(default_factory=dict)  # per input: RGB frames emitted without it (unmatched: process)
    resets: int = 0


class ApproximateTimeSync:
    """Approximate-time synchroniser over named inputs; ``inputs[0]`` (or ``pivot``) is the RGB camera.

    ``add(name, stamp_s, msg, now)`` and ``poll(now)`` return the list of sets that became complete; ``now``
    is a monotonic receive clock in seconds (``time.monotonic()`` in the node).
    """

    def __init__(self, inputs: Iterable[str], config: SyncConfig = SyncConfig(), pivot: str | None = None,
                 now: float = 0.0, on_event: Callable[[SyncEvent], Any] | None = None):
        self.inputs = tuple(inputs)
        if not self.inputs:
            raise ValueError("ApproximateTimeSync needs at least one input")
        if len(set(self.inputs)) != len(self.inputs):
            raise ValueError(f"duplicate inputs: {self.inputs}")
        self.pivot = pivot or self.inputs[0]
        if self.pivot not in self.inputs:
            raise ValueError(f"pivot {self.pivot!r} is not one of the inputs {self.inputs}")
        self.config = config
        self.on_event = on_event
        self.stats = SyncStats(received={n: 0 for n in self.inputs}, evicted={n: 0 for n in self.inputs},
                               backwards={n: 0 for n in self.inputs}, unpaired={n: 0 for n in self.inputs})
        self.events: deque[SyncEvent] = deque(maxlen=100)
        self._start = now
        # pivot entries: (stamp, msg, inputs silent when it arrived); other inputs: (stamp, msg)
        self._queues: dict[str, deque] = {n: deque() for n in self.inputs}
        self._last_stamp: dict[str, float | None] = {n: None for n in self.inputs}
        self._last_rx: dict[str, float | None] = {n: None for n in self.inputs}
        self._silent: set[str] = set()
        self._waiting_since: dict[str, float | None] = {n: None for n in self.inputs}

    # --------------------------------------------------------------------------------------------- state
    @property
    def silent(self) -> frozenset:
        """Inputs currently left out of the sets."""
        return frozenset(self._silent)

    def last_receive(self, name: str) -> float | None:
        return self._last_rx[name]

    def queued(self, name: str) -> int:
        return len(self._queues[name])

    def reset(self, now: float | None = None) -> None:
        """Forget every queued message and stamp (a new run)."""
        for q in self._queues.values():
            q.clear()
        self._last_stamp = {n: None for n in self.inputs}
        if now is not None:
            self._start = now
            self._last_rx = {n: None for n in self.inputs}
            self._waiting_since = {n: None for n in self.inputs}
            self._silent.clear()
        self.stats.resets += 1

    def _event(self, event: SyncEvent) -> None:
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    # ------------------------------------------------------------------------------------------ inputs
    def add(self, name: str, stamp_s: float, msg: Any, now: float) -> list[SyncSet]:
        """Queue one message of input ``name`` received at ``now``; returns the sets it completed."""
        if name not in self._queues:
            raise KeyError(f"unknown sync input {name!r}; inputs: {self.inputs}")
        stamp_s = float(stamp_s)
        self.stats.received[name] += 1
        last = self._last_stamp[name]
        if last is not None and stamp_s <= last:
            if name == self.pivot and last - stamp_s > self.config.reset_jump_s:
                self._event(SyncEvent(SyncEventKind.RESET, name, stamp_s=stamp_s, previous_s=last))
                self.reset()
            else:
                self.stats.backwards[name] += 1
                self._event(SyncEvent(SyncEventKind.REJECTED, name, stamp_s=stamp_s, previous_s=last))
                return self.poll(now)
        self._last_stamp[name] = stamp_s
        self._last_rx[name] = now
        if name == self.pivot:
            for n in self.inputs:
                if n != self.pivot and self._waiting_since[n] is None:
                    self._waiting_since[n] = now
        else:
            self._waiting_since[name] = None
        q = self._queues[name]
        q.append((stamp_s, msg, frozenset(self._silent)) if name == self.pivot else (stamp_s, msg))
        if name in self._silent:
            self._silent.discard(name)
            self._event(SyncEvent(SyncEventKind.RETURNED, name))
        while len(q) > self.config.queue_size:
            q.popleft()
            self.stats.evicted[name] += 1
            if name == self.pivot:
                self.stats.dropped += 1
        return self.poll(now)

    def poll(self, now: float) -> list[SyncSet]:
        """Update the silent inputs at receive time ``now`` and emit every set that is complete."""
        for n in self.inputs:
            if n in self._silent:
                continue
            if n == self.pivot:
                last = self._last_rx[n]
                ref = self._start if last is None else last
            else:
                last = self._last_rx[n]
                ref = self._waiting_since[n]  # first RGB arrival since this input last delivered
                if ref is None:
                    continue
            idle = now - ref
            if idle > self.config.timeout_s:
                self._silent.add(n)
                kind = SyncEventKind.PIVOT_IDLE if n == self.pivot else SyncEventKind.SILENT
                self._event(SyncEvent(kind, n, idle_s=None if last is None else idle,
                                      timeout_s=self.config.timeout_s))
        out = []
        while True:
            s = self._try_emit()
            if s is None:
                break
            out.append(s)
        return out

    # ------------------------------------------------------------------------------------------ matching
    def _try_emit(self) -> SyncSet | None:
        pq = self._queues[self.pivot]
        while pq:
            t0, m0, absent = pq[0]
            verdict, chosen, unpaired = self._match(t0, absent)
            if verdict == "wait":
                return None
            pq.popleft()
            if verdict == "drop":
                self.stats.dropped += 1
                continue
            for n, (t, _) in chosen.items():
                q = self._queues[n]
                while q and q[0][0] <= t:
                    q.popleft()
            for n in unpaired:
                self.stats.unpaired[n] += 1
            self.stats.emitted += 1
            msgs = {self.pivot: m0, **{n: m for n, (_, m) in chosen.items()}}
            stamps = {self.pivot: t0, **{n: t for n, (t, _) in chosen.items()}}
            return SyncSet(stamp=t0, msgs=msgs, stamps=stamps,
                           missing=frozenset(n for n in self.inputs if n not in msgs and n not in unpaired),
                           unpaired=frozenset(unpaired))
        return None

    def _match(self, t0: float, absent: frozenset) -> tuple[str, dict, list]:
        """("match", partners, unpaired inputs) | ("wait", ...) | ("drop", ...) for the pivot frame at ``t0``."""
        slop = self.config.slop_s
        chosen: dict[str, tuple[float, Any]] = {}
        passed: list[str] = []  # inputs without a partner that have moved past the frame: it will never match
        for n in self.inputs:
            if n == self.pivot:
                continue
            q = self._queues[n]
            best = None
            for t, m in q:
                if abs(t - t0) <= slop and (best is None or abs(t - t0) < abs(best[0] - t0)):
                    best = (t, m)
            if best is not None:
                chosen[n] = best
            elif n not in self._silent and n not in absent:
                # silent inputs (now or when this RGB frame arrived) never hold a set back or drop it; a queued
                # match is still used
                newest = q[-1][0] if q else self._last_stamp[n]
                if newest is None or newest <= t0 + slop:
                    return "wait", {}, []
                passed.append(n)
        if chosen:
            stamps = [t0] + [t for t, _ in chosen.values()]
            if max(stamps) - min(stamps) > slop:
                # the nearest partners are each within slop of RGB but not of each other: message_filters would
                # not emit this combination; wait for a better one unless the inputs moved past (then each
                # partner within slop of the RGB frame is used, or the frame is dropped as message_filters does)
                if not all((self._queues[n][-1][0] if self._queues[n] else t0) > t0 + slop for n in chosen):
                    return "wait", {}, []
                if self.config.unmatched == "drop":
                    return "drop", {}, []
        if passed and self.config.unmatched == "drop":
            return "drop", {}, []
        return "match", chosen, passed
