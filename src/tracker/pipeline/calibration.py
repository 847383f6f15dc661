"""Calibration as immutable, versioned data, and the gate that holds frames until it has arrived (ROS-free).

Camera models (camera_info) and extrinsics (/tf_static) arrive on the DDS callback thread while frames may be
processed on a worker thread. They are therefore never mutated in place: :class:`CalibrationStore` replaces
one frozen :class:`Calibration` snapshot (under a lock, with a new ``version``) for every change, and each
frame is processed with the one snapshot it was handed. Whatever is cached from a snapshot (the registrar) is
keyed by its version, so a cache built from an older snapshot is never kept for a newer one.

:class:`CalibrationGate` holds synchronised sets, in order, until every camera present in a set is
calibrated, at most ``wait_s`` per camera (receive clock; once per camera: a camera that never sends its
camera_info is then processed without calibration at once, and reported). Without it the first sets of a run
would be processed with or without calibration depending on which message DDS delivered first.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Callable, Iterable, Mapping

import numpy as np

from tracker.common.geometry import CameraModel, Transform


def same_camera(a: CameraModel | None, b: CameraModel | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.width, a.height, a.frame_id, a.distortion_model) == (b.width, b.height, b.frame_id,
                                                                    b.distortion_model) \
        and np.allclose(a.K, b.K) and np.asarray(a.D).shape == np.asarray(b.D).shape \
        and np.allclose(np.asarray(a.D), np.asarray(b.D))


def same_transform(a: Transform | None, b: Transform | None) -> bool:
    if a is None or b is None:
        return a is b
    return bool(np.allclose(a.R, b.R) and np.allclose(a.t, b.t))


def _same_extrinsics(a: Mapping[str, Transform], b: Mapping[str, Transform]) -> bool:
    return set(a) == set(b) and all(same_transform(a[k], b[k]) for k in a)


def _frozen(m: Mapping) -> Mapping:
    return MappingProxyType(dict(m))


@dataclass(frozen=True)
class Calibration:
    """One snapshot: ``cameras`` {camera: CameraModel} from camera_info, ``tf_extrinsics`` {camera:
    T_color_camera} from /tf_static; ``version`` grows with every change."""

    cameras: Mapping[str, CameraModel] = field(default_factory=lambda: _frozen({}))
    tf_extrinsics: Mapping[str, Transform] = field(default_factory=lambda: _frozen({}))
    version: int = 0


class CalibrationStore:
    """The current :class:`Calibration`; writers may run on any thread, readers take ``current`` (one reference
    read, never a half-updated state)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._current = Calibration()

    @property
    def current(self) -> Calibration:
        return self._current

    def set_camera(self, name: str, camera: CameraModel) -> bool:
        """Store a camera model; returns True when it changed (a new snapshot)."""
        with self._lock:
            cur = self._current
            if same_camera(cur.cameras.get(name), camera):
                return False
            self._current = replace(cur, cameras=_frozen({**cur.cameras, name: camera}), version=cur.version + 1)
            return True

    def set_extrinsics(self, extrinsics: Mapping[str, Transform]) -> bool:
        """Replace the /tf_static extrinsics; returns True when they changed."""
        with self._lock:
            cur = self._current
            if _same_extrinsics(cur.tf_extrinsics, extrinsics):
                return False
            self._current = replace(cur, tf_extrinsics=_frozen(extrinsics), version=cur.version + 1)
            return True


class CalibrationGate:
    """Releases synchronised sets in order once the cameras present in each are calibrated (or waited for
    ``wait_s``). ``msgs`` of a set name its present cameras. ``on_give_up(camera, waited_s)`` is called once
    per camera whose wait ran out."""

    def __init__(self, wait_s: float, on_give_up: Callable[[str, float], object] | None = None):
        self.wait_s = float(wait_s)
        self.on_give_up = on_give_up
        self._held: deque = deque()
        self._since: dict[str, float] = {}
        self._given_up: set[str] = set()

    @property
    def held(self) -> int:
        return len(self._held)

    @property
    def given_up(self) -> frozenset:
        """Cameras whose frames are processed without calibration because it did not arrive in time."""
        return frozenset(self._given_up)

    def reset(self) -> None:
        self._held.clear()
        self._since.clear()
        self._given_up.clear()

    def push(self, sets: Iterable, calibrated: frozenset, now: float) -> list:
        """Queue ``sets`` behind the held ones; returns every set that may be processed now, in order."""
        self._held.extend(sets)
        return self.poll(calibrated, now)

    def poll(self, calibrated: frozenset, now: float) -> list:
        out = []
        while self._held:
            need = [n for n in self._held[0].msgs if n not in calibrated and n not in self._given_up]
            for n in need:
                self._since.setdefault(n, now)
                waited = now - self._since[n]
                if waited >= self.wait_s:
                    self._given_up.add(n)
                    if self.on_give_up is not None:
                        self.on_give_up(n, waited)
            if any(n not in self._given_up for n in need):
                break
            out.append(self._held.popleft())
        return out
