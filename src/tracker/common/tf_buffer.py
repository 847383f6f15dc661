"""A time-stamped transform buffer (ROS-free): what tf2's BufferCore does, for this package's needs.

tf2_ros is not a pip package, so this buffer is what the tracker node runs on: the node writes the /tf_static
and /tf messages into it (DDS callback thread), the processor looks transforms up at image stamps (worker
thread); one lock makes that safe.

- Static edges (/tf_static) hold at every time. Dynamic edges (/tf) keep their samples for ``cache_s`` behind
  the edge's newest one (tf2's cache is 10 s); a sample older than that is a jump back in time (a bag played
  again): the edge's history restarts from it.
- :meth:`TfBuffer.lookup` ``(target, source, stamp)`` returns ``T_target_source`` at ``stamp``: the chain of
  edges comes from the one graph search (tracker.common.tf.search_tree); each dynamic edge on it is interpolated
  between the samples around ``stamp`` (translation linearly, rotation by slerp). A stamp up to
  ``extrapolation_tolerance_s`` past an edge's newest (or before its oldest) sample takes that sample as it is;
  farther raises :class:`TfExtrapolationError` (how far, which edge). A frame that is unknown or not connected
  raises :class:`TfLookupError`. Both are :class:`TfError` (a LookupError).

Like tf2, an edge is named by (parent, child); a frame given two parents by different messages keeps both edges
(tf2 would replace the parent), and the search takes the shortest chain.
"""
from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .config import param
from .geometry import Transform, matrix_to_quat, quat_to_matrix
from .tf import chain, normalize_frame, search_tree

#: quaternions whose dot product is within this of 1 are blended linearly (and normalised): slerp's sin(theta)
#: vanishes there
_SLERP_LINEAR_BELOW = 1e-6
_MAX_LISTED_FRAMES = 8  # frames named in an error text


@dataclass(frozen=True)
class TfBufferConfig:
    """The ``tf:`` section of the tracker node: the buffer of /tf and /tf_static transforms."""

    cache_s: float = param(10.0, unit="s", gt=0.0,
                           doc="history kept per /tf edge behind its newest sample (tf2's default cache is 10 s)")
    extrapolation_tolerance_s: float = param(0.01, unit="s", ge=0.0,
                                             doc="a lookup up to this far past the newest (or before the oldest) "
                                                 "sample of a /tf edge takes that sample; farther is an "
                                                 "extrapolation error")


class TfError(LookupError):
    """A transform cannot be looked up."""


class TfLookupError(TfError):
    """A frame is unknown to the buffer, or no chain of edges connects the two frames."""


class TfExtrapolationError(TfError):
    """The stamp lies outside a dynamic edge's samples (by more than the tolerance). ``edge`` (parent, child),
    ``stamp`` the lookup time, ``bound`` the edge's newest (``future``) or oldest sample time, ``by_s`` how far
    past it the stamp is."""

    def __init__(self, text: str, edge: tuple[str, str], stamp: float, bound: float, future: bool):
        super().__init__(text)
        self.edge, self.stamp, self.bound, self.future = edge, stamp, bound, future
        self.by_s = abs(stamp - bound)


def slerp(q0, q1, a: float) -> np.ndarray:
    """Spherical linear interpolation of unit quaternions (x, y, z, w) at fraction ``a`` in [0, 1] (the shorter
    arc)."""
    q0, q1 = np.asarray(q0, dtype=np.float64), np.asarray(q1, dtype=np.float64)
    d = float(np.dot(q0, q1))
    if d < 0.0:
        q1, d = -q1, -d
    if d > 1.0 - _SLERP_LINEAR_BELOW:
        q = q0 + a * (q1 - q0)
        return q / np.linalg.norm(q)
    theta = np.arccos(min(d, 1.0))
    s = np.sin(theta)
    return (np.sin((1.0 - a) * theta) * q0 + np.sin(a * theta) * q1) / s


def interpolate(T0: Transform, T1: Transform, a: float) -> Transform:
    """The transform a fraction ``a`` of the way from T0 to T1: translation linear, rotation slerp."""
    q = slerp(matrix_to_quat(T0.R), matrix_to_quat(T1.R), a)
    return Transform(quat_to_matrix(*q), (1.0 - a) * T0.t + a * T1.t)


class _History:
    """Samples (stamp, T) of one dynamic edge, sorted by stamp, at most ``cache_s`` behind the newest."""

    def __init__(self):
        self.stamps: list[float] = []
        self.transforms: list[Transform] = []
        self.restarts = 0

    def add(self, stamp: float, T: Transform, cache_s: float) -> None:
        if self.stamps and stamp < self.stamps[-1] - cache_s:  # time jumped back: a new run
            self.stamps, self.transforms = [], []
            self.restarts += 1
        i = bisect.bisect_left(self.stamps, stamp)
        if i < len(self.stamps) and self.stamps[i] == stamp:
            self.transforms[i] = T
        else:
            self.stamps.insert(i, stamp)
            self.transforms.insert(i, T)
        k = bisect.bisect_left(self.stamps, self.stamps[-1] - cache_s)
        if k:
            del self.stamps[:k], self.transforms[:k]

    def at(self, stamp: float, tolerance_s: float, edge: tuple[str, str], what: str) -> Transform:
        s = self.stamps
        if stamp > s[-1]:
            if stamp - s[-1] <= tolerance_s:
                return self.transforms[-1]
            raise TfExtrapolationError(
                f"{what} at {stamp:.3f} s would extrapolate {(stamp - s[-1]) * 1e3:.0f} ms into the future: the "
                f"newest {edge[0]} -> {edge[1]} transform is at {s[-1]:.3f} s (tolerance "
                f"{tolerance_s * 1e3:.0f} ms)", edge, stamp, s[-1], True)
        if stamp < s[0]:
            if s[0] - stamp <= tolerance_s:
                return self.transforms[0]
            raise TfExtrapolationError(
                f"{what} at {stamp:.3f} s would extrapolate {(s[0] - stamp) * 1e3:.0f} ms into the past: the "
                f"oldest {edge[0]} -> {edge[1]} transform kept is at {s[0]:.3f} s (tolerance "
                f"{tolerance_s * 1e3:.0f} ms; history tf.cache_s)", edge, stamp, s[0], False)
        i = bisect.bisect_left(s, stamp)
        if s[i] == stamp:
            return self.transforms[i]
        a = (stamp - s[i - 1]) / (s[i] - s[i - 1])
        return interpolate(self.transforms[i - 1], self.transforms[i], a)


def _listed(frames: Iterable[str]) -> str:
    names = sorted(frames)
    more = f", ... ({len(names)} in all)" if len(names) > _MAX_LISTED_FRAMES else ""
    return ", ".join(names[:_MAX_LISTED_FRAMES]) + more if names else "none"


class TfBuffer:
    """Static and time-stamped transforms; :meth:`lookup` at a stamp. Thread-safe."""

    def __init__(self, config: TfBufferConfig = TfBufferConfig()):
        self.config = config
        self._lock = threading.Lock()
        self._static: dict[tuple[str, str], Transform] = {}
        self._dynamic: dict[tuple[str, str], _History] = {}
        self._trees: dict[str, dict] = {}  # target -> search tree, for the current set of edges

    # ------------------------------------------------------------------------------------------- writing
    def set_static(self, parent: str, child: str, T: Transform) -> None:
        """A /tf_static edge (valid at every time; a new one replaces the old)."""
        key = (normalize_frame(parent), normalize_frame(child))
        with self._lock:
            if key not in self._static and key not in self._dynamic:
                self._trees.clear()
            self._static[key] = T

    def add(self, parent: str, child: str, stamp_s: float, T: Transform) -> None:
        """A /tf sample of the edge parent -> child at ``stamp_s`` (seconds)."""
        key = (normalize_frame(parent), normalize_frame(child))
        with self._lock:
            hist = self._dynamic.get(key)
            if hist is None:
                if key not in self._static:
                    self._trees.clear()
                hist = self._dynamic[key] = _History()
            hist.add(float(stamp_s), T, self.config.cache_s)

    def add_transforms(self, items: Iterable[tuple[str, str, float, Transform]], static: bool = False) -> None:
        """Every (parent, child, stamp s, T_parent_child) of one tf message (tracker.data.messages.tf_transforms)."""
        for parent, child, stamp, T in items:
            if static:
                self.set_static(parent, child, T)
            else:
                self.add(parent, child, stamp, T)

    def clear(self) -> None:
        with self._lock:
            self._static.clear()
            self._dynamic.clear()
            self._trees.clear()

    # ------------------------------------------------------------------------------------------- reading
    def frames(self) -> frozenset:
        with self._lock:
            return frozenset(f for key in (*self._static, *self._dynamic) for f in key)

    def static_edges(self) -> dict[tuple[str, str], Transform]:
        """{(parent, child): T_parent_child} of the static edges (a copy)."""
        with self._lock:
            return dict(self._static)

    def newest(self, parent: str, child: str) -> float | None:
        """Stamp of the newest sample of a dynamic edge (None: no such edge)."""
        with self._lock:
            hist = self._dynamic.get((normalize_frame(parent), normalize_frame(child)))
            return hist.stamps[-1] if hist is not None and hist.stamps else None

    def history(self, parent: str, child: str) -> list[float]:
        """The stamps kept for a dynamic edge (oldest first)."""
        with self._lock:
            hist = self._dynamic.get((normalize_frame(parent), normalize_frame(child)))
            return list(hist.stamps) if hist is not None else []

    def can_transform(self, target: str, source: str, stamp_s: float) -> bool:
        try:
            self.lookup(target, source, stamp_s)
        except TfError:
            return False
        return True

    def lookup(self, target: str, source: str, stamp_s: float) -> Transform:
        """``T_target_source`` at ``stamp_s``: maps points in ``source`` into ``target``. Raises TfLookupError
        (unknown frame, no path) or TfExtrapolationError."""
        target, source, stamp = normalize_frame(target), normalize_frame(source), float(stamp_s)
        if target == source:
            return Transform.identity()
        what = f"lookup {target} <- {source}"
        with self._lock:
            tree = self._tree(target, source, what)
            T = Transform.identity()
            for key, forward in chain(tree, source):
                E = self._static[key] if key in self._static and key not in self._dynamic else \
                    self._dynamic[key].at(stamp, self.config.extrapolation_tolerance_s, key, what)
                T = T @ (E if forward else E.inverse())
            return T

    def _tree(self, target: str, source: str, what: str) -> dict:
        """The search tree from ``target`` (cached until an edge is added); TfLookupError without a path."""
        keys = (*self._static, *self._dynamic)
        known = {f for key in keys for f in key}
        for f in (target, source):
            if f not in known:
                raise TfLookupError(f"{what}: frame '{f}' is unknown (no /tf or /tf_static edge names it; "
                                    f"frames known: {_listed(known)})")
        tree = self._trees.get(target)
        if tree is None:
            tree = self._trees[target] = search_tree(target, dict.fromkeys(keys))
        if source not in tree:
            rest = search_tree(source, dict.fromkeys(keys))
            raise TfLookupError(f"{what}: no chain of transforms connects the two frames ('{target}' is connected "
                                f"to: {_listed(set(tree) - {target})}; '{source}' to: {_listed(set(rest) - {source})})")
        return tree
