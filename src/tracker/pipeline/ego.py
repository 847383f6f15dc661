"""The ego-motion stage (ROS-free): the RGB camera's own motion between two frames, for the tracker core.

The core predicts every track with ``ego_motion = T_prev_curr`` (tracker.core.tracker.Tracker.update): the pose of
the current RGB optical frame in the previous one. Sources are registry entries (:data:`EGO_SOURCES`); each
one is built with ``factory(config, tf_buffer)`` and has ``update(frame: EgoFrame) -> Transform | None``,
``last_status: str`` (what it did, for /diagnostics), ``problem: str`` (non-empty: it has data but failed, e.g.
an extrapolating lookup: warned even under ``auto``) and ``reset()``.

- ``tf``: ``T_fixed_color(prev)^-1 @ T_fixed_color(curr)`` from the transform buffer, ``fixed_frame`` (odom) to
  the RGB optical frame of camera_info, looked up at both image stamps;
- ``image``: global motion compensation from consecutive RGB images (tracker.pipeline.cmc.ImageMotion: corners
  outside the detection boxes, LK flow, RANSAC rotation; translation too where registered depth observes it);
- ``none``: never (tracks are predicted in the camera frame as if it stood still).
- ``auto`` (``ego_motion.source``): the sources of :data:`AUTO_ORDER` in turn, the first that answers wins;
  none answering is not a problem (a camera without odometry).

An image-based source (global motion compensation: an estimator with ``update(rgb, camera, exclude_boxes=None,
depth=None) -> Transform | None`` and ``last_status``) plugs in through :class:`FrameMotionSource`, which hands
it every frame it is asked about and answers only when the estimator's previous image is the tracker's previous
frame (after a frame it was not asked about, e.g. while TF answered under ``auto``, its first answer spans
the wrong interval and is dropped).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.common.config import param
from tracker.common.geometry import CameraModel, Transform
from tracker.common.tf_buffer import TfBuffer, TfError, TfExtrapolationError
from tracker.core.registry import Entry, Registry

from .cmc import CMCConfig, ImageMotion

AUTO = "auto"
NONE = "none"


@dataclass(frozen=True)
class EgoFrame:
    """What a source may use for one frame: stamps (s), the RGB camera (its ``frame_id`` is the optical frame),
    the RGB image, depth registered to RGB (metres, NaN = none) and this frame's detection boxes (xyxy px: moving
    objects an image-based source should leave out)."""

    stamp: float
    prev_stamp: float | None
    camera: CameraModel | None
    rgb: np.ndarray | None = None
    depth: np.ndarray | None = None
    boxes: np.ndarray | None = None


@dataclass(frozen=True)
class EgoResult:
    """The stage's answer for one frame: ``motion`` T_prev_curr (None: no ego-motion), the ``source`` that gave
    it ('none' when none did), its ``status`` text and a ``problem`` text (non-empty: worth a warning)."""

    motion: Transform | None
    source: str
    status: str
    problem: str = ""


class NoEgoMotion:
    name = NONE

    def __init__(self, cfg: "EgoMotionConfig", tf: TfBuffer):
        self.last_status = "ego_motion.source: none"
        self.problem = ""

    def update(self, f: EgoFrame) -> Transform | None:
        return None

    def reset(self) -> None:
        pass


class TfEgoMotion:
    """T_prev_curr of the RGB optical frame from ``fixed_frame`` -> camera lookups at the two stamps."""

    name = "tf"

    def __init__(self, cfg: "EgoMotionConfig", tf: TfBuffer):
        self.fixed = cfg.fixed_frame
        self.tf = tf
        self.last_status = "no frame yet"
        self.problem = ""

    def update(self, f: EgoFrame) -> Transform | None:
        self.problem = ""
        cam = f.camera.frame_id if f.camera is not None else ""
        if not cam:
            self.last_status = "the RGB camera_info has no frame_id: no TF lookup"
            return None
        if f.prev_stamp is None:
            self.last_status = "first frame"
            return None
        try:
            T_prev = self.tf.lookup(self.fixed, cam, f.prev_stamp)
            T_curr = self.tf.lookup(self.fixed, cam, f.stamp)
        except TfError as e:
            self.last_status = str(e)
            # odometry that exists but fails is a problem; no odometry at all is a camera that does not move
            known = self.fixed in self.tf.frames()
            self.problem = str(e) if isinstance(e, TfExtrapolationError) or known else ""
            return None
        self.last_status = f"{self.fixed} -> {cam}"
        return T_prev.inverse() @ T_curr

    def reset(self) -> None:
        self.last_status = "reset"
        self.problem = ""


class FrameMotionSource:
    """An image-based estimator as a source (see the module docstring); ``estimator`` has ``update(rgb, camera,
    exclude_boxes=None, depth=None) -> Transform | None`` (T_prev_curr of the RGB optical frame between its last
    two images) and ``last_status``."""

    def __init__(self, name: str, estimator):
        self.name = name
        self.estimator = estimator
        self._last_stamp: float | None = None
        self.last_status = "no frame yet"
        self.problem = ""

    def update(self, f: EgoFrame) -> Transform | None:
        if f.rgb is None or f.camera is None:
            self.last_status = "no RGB image or camera model"
            return None
        T = self.estimator.update(f.rgb, f.camera, exclude_boxes=f.boxes, depth=f.depth)
        continuous = self._last_stamp is not None and self._last_stamp == f.prev_stamp
        self._last_stamp = f.stamp
        self.last_status = str(getattr(self.estimator, "last_status", ""))
        if not continuous:
            self.last_status = "first frame after a pause (motion not over the tracker's last interval)"
            return None
        return T

    def reset(self) -> None:
        self._last_stamp = None
        reset = getattr(self.estimator, "reset", None)
        if callable(reset):
            reset()


#: the ego-motion sources, by name (ego_motion.source); an image-based one plugs in as another Entry whose
#: factory wraps its estimator in FrameMotionSource, and is added to AUTO_ORDER after "tf"
EGO_SOURCES = Registry("ego-motion source", (
    Entry("tf", TfEgoMotion, doc="the RGB camera's motion in ego_motion.fixed_frame from /tf"),
    Entry("image", lambda cfg, tf: FrameMotionSource("image", ImageMotion(cfg.image)),
          doc="the RGB camera's motion estimated from consecutive images (global motion compensation)"),
    Entry(NONE, NoEgoMotion, doc="no ego-motion: tracks are predicted as if the camera stood still"),
))
#: the sources ``auto`` tries, in order
AUTO_ORDER = ("tf", "image")


@dataclass(frozen=True)
class EgoMotionConfig:
    """The ``ego_motion:`` section: where the camera's own motion comes from (docs/nodes.md, "TF")."""

    source: str = param(AUTO, choices=(AUTO, *EGO_SOURCES.names()),
                        doc="auto: the first source that answers, in the order " + ", ".join(AUTO_ORDER)
                            + "; tf: the RGB optical frame's motion in fixed_frame from /tf; image: estimated from consecutive "
                              "RGB images (section image); none: no ego-motion")
    fixed_frame: str = param("odom", doc="a frame fixed in the world (odom, map) in which /tf gives the camera's "
                                         "pose; the tf source looks up fixed_frame -> RGB optical frame")
    image: CMCConfig = param(default_factory=CMCConfig, doc="the image source's settings (tracker.pipeline.cmc)")

    def validate(self) -> None:
        if self.source in ("tf", AUTO) and not self.fixed_frame.strip("/"):
            raise ValueError("fixed_frame must name a frame for source tf / auto")


class EgoMotion:
    """The stage: one source (or the AUTO_ORDER chain) asked once per frame; remembers the previous stamp."""

    def __init__(self, cfg: EgoMotionConfig, tf: TfBuffer, sources: Registry = EGO_SOURCES):
        self.config = cfg
        names = AUTO_ORDER if cfg.source == AUTO else (cfg.source,)
        self.sources = [sources.get(n, "ego_motion.source").factory(cfg, tf) for n in names]
        self._prev_stamp: float | None = None
        self.last = EgoResult(None, NONE, "no frame yet")

    def update(self, stamp: float, camera: CameraModel | None, rgb=None, depth=None, boxes=None) -> EgoResult:
        f = EgoFrame(float(stamp), self._prev_stamp, camera, rgb, depth, boxes)
        self._prev_stamp = f.stamp
        statuses, problems = [], []
        for s in self.sources:
            T = s.update(f)
            if T is not None:
                self.last = EgoResult(T, s.name, s.last_status)
                return self.last
            statuses.append(f"{s.name}: {s.last_status}")
            if getattr(s, "problem", ""):
                problems.append(f"{s.name}: {s.problem}")
        explicit = self.config.source not in (AUTO, NONE) and f.prev_stamp is not None
        problem = "; ".join(problems) or (statuses[0] if explicit and statuses else "")
        self.last = EgoResult(None, NONE, "; ".join(statuses), problem)
        return self.last

    def reset(self) -> None:
        self._prev_stamp = None
        for s in self.sources:
            s.reset()
