"""The per-frame pipeline without ROS: synchronised images -> registration -> detection -> 3D -> tracking.

The node (tracker.nodes.tracker_node) only converts messages and publishes; everything that decides
something lives here and is tested without DDS:

    frame = FrameInput(stamp, rgb, thermal, thermal_encoding, depth_m, missing)
    result = processor.process(frame)          # -> FrameResult (detections, 3D, tracks, timings, notes)

Camera models come from camera_info (``set_camera``), extrinsics from /tf_static (``set_extrinsics``) with
config fallbacks, as immutable versioned snapshots (tracker.pipeline.calibration); the registrar is rebuilt
for every new snapshot. A modality whose calibration is missing or
whose image does not match its camera_info is dropped for that frame and reported in ``FrameResult.notes``.

``processor.tf`` (tracker.common.tf_buffer.TfBuffer) holds /tf and /tf_static: the ego-motion stage
(tracker.pipeline.ego) feeds the core the camera's motion between frames, and the tracks are published in
``output.target_frame`` looked up at the image stamp (tracker.pipeline.target); ``FrameResult.ego`` and
``FrameResult.output`` say what was used.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from tracker.common.config import param
from tracker.common.geometry import CameraModel, Transform
from tracker.common.tf import extrinsics_from_edges  # noqa: F401  (re-exported: the node and tests import it here)
from tracker.common.tf_buffer import TfBuffer, TfBufferConfig
from tracker.pipeline.calibration import Calibration, CalibrationStore
from tracker.pipeline.depth3d import Boxes3D, Depth3DConfig, boxes_to_3d
from tracker.pipeline.ego import EgoMotion, EgoMotionConfig, EgoResult
from tracker.pipeline.registration import Registrar, RegistrationConfig
from tracker.pipeline.target import OutputFrame, TargetFrame, track_in

CAMERAS = ("color", "thermal", "depth")
ASSUMED = "identity (assumed)"  # extrinsics source of a camera with neither /tf_static nor a config fallback


@dataclass(frozen=True)
class StaticTransformConfig:
    """A static transform ``T_parent_child`` given in YAML: translation (m) and quaternion (x, y, z, w)."""

    translation: tuple[float, float, float] = param((0.0, 0.0, 0.0), unit="m", doc="translation of child in parent")
    quaternion_xyzw: tuple[float, float, float, float] = param((0.0, 0.0, 0.0, 1.0), unit="1",
                                                                doc="rotation of child in parent")

    def transform(self) -> Transform:
        return Transform.from_quat(self.translation, self.quaternion_xyzw)

    def validate(self) -> None:
        q = np.asarray(self.quaternion_xyzw, dtype=float)
        if not np.isfinite(q).all() or np.linalg.norm(q) < 1e-6:
            raise ValueError(f"quaternion_xyzw {list(q)} is not a rotation")


@dataclass(frozen=True)
class OutputConfig:
    target_frame: str = param("", doc="frame of the 3D outputs (base_link, odom, map), looked up in TF at each "
                                      "image stamp; empty = the RGB optical frame (camera_info)")
    T_target_color: StaticTransformConfig | None = param(
        None, doc="static T_target_frame_<RGB optical frame>, used only while TF has no path between the two "
                  "(not given: such frames are published in the RGB optical frame, with a warning)")
    publish_tentative: bool = param(False, doc="also publish tentative tracks (default: confirmed only)")
    publish_lost_s: float = param(0.0, unit="s", ge=0.0, le=10.0,
                                  doc="also publish lost tracks (state LOST, box and position predicted by the "
                                      "Kalman filter: e.g. a person walking behind a parked truck) until they are "
                                      "unseen this long; 0 = confirmed tracks only")
    publish_lost_min_hits: int = param(1, unit="frames", ge=1,
                                       doc="a lost track is published (publish_lost_s) only if it had at least "
                                           "this many detections: short-lived tracks, often false ones, are not")


@dataclass(frozen=True)
class ProcessorConfig:
    registration: RegistrationConfig = param(default_factory=RegistrationConfig, doc="registration section")
    depth3d: Depth3DConfig = param(default_factory=Depth3DConfig, doc="depth3d section")
    output: OutputConfig = param(default_factory=OutputConfig, doc="output section")
    ego_motion: EgoMotionConfig = param(default_factory=EgoMotionConfig, doc="ego_motion section")
    tf: TfBufferConfig = param(default_factory=TfBufferConfig, doc="tf section (the /tf and /tf_static buffer)")
    fallback_extrinsics: dict[str, StaticTransformConfig] = param(
        default_factory=dict, doc="T_color_<camera> used while /tf_static has no path to that camera")

    def validate(self) -> None:
        bad = sorted(set(self.fallback_extrinsics) - {"thermal", "depth"})
        if bad:
            raise ValueError(f"fallback_extrinsics: unknown camera {bad[0]!r}; valid: thermal, depth")


@dataclass
class FrameInput:
    """One synchronised set, decoded: rgb HxWx3 uint8 (RGB order), thermal raw array + encoding, depth float32
    metres (NaN = none) at the depth camera's resolution; ``missing`` = inputs left out by the synchroniser;
    ``calibration`` = the calibration snapshot this frame is processed with."""

    stamp: float
    rgb: np.ndarray
    thermal: np.ndarray | None = None
    thermal_encoding: str | None = None
    depth: np.ndarray | None = None
    missing: frozenset = frozenset()
    calibration: Calibration | None = None  # the snapshot to process with (None: the processor's current one)


@dataclass
class FrameResult:
    stamp: float
    detections: Any  # tracker.core.Detections (raw network output, with 3D filled in)
    boxes3d: Boxes3D
    tracks: list  # tracker.core.Track, all states
    sizes: dict  # track_id -> (3,) metres extent (last known), or absent
    modalities: frozenset
    timings: dict = field(default_factory=dict)  # stage -> seconds
    notes: list = field(default_factory=list)  # (input, problem text)
    frame_id: str = ""
    ego: EgoResult | None = None  # the ego-motion fed to the core for this frame
    output: OutputFrame | None = None  # the frame the tracks are in (frame_id), and how it was found

    def published(self, output: OutputConfig) -> list:
        """The tracks the node publishes under ``output`` (publish_tentative, publish_lost_s, _min_hits)."""
        return published_tracks(self.tracks, output)

    def published_tracks(self, include_tentative: bool = False, lost_s: float = 0.0, lost_min_hits: int = 1) -> list:
        return select_tracks(self.tracks, include_tentative, lost_s, lost_min_hits)


def published_tracks(tracks, output: OutputConfig) -> list:
    """The ``tracks`` the node publishes under ``output`` (publish_tentative, publish_lost_s, _min_hits)."""
    return select_tracks(tracks, output.publish_tentative, output.publish_lost_s, output.publish_lost_min_hits)


def select_tracks(tracks, include_tentative: bool = False, lost_s: float = 0.0, lost_min_hits: int = 1) -> list:
    """Confirmed tracks, plus tentative ones (``include_tentative``) and lost ones unseen at most ``lost_s``
    with at least ``lost_min_hits`` detections."""
    from tracker.core.types import TrackState
    ok = {TrackState.CONFIRMED} | ({TrackState.TENTATIVE} if include_tentative else set())
    return [t for t in tracks if t.state in ok or (
        t.state == TrackState.LOST and lost_s > 0.0 and t.time_since_update <= lost_s and t.hits >= lost_min_hits)]


class Processor:
    """Stage orchestration for one camera rig. ``detector.detect(rgb, thermal, thermal_encoding, depth)`` ->
    Detections; ``tracker.update(stamp, detections, modalities=...)`` -> tracks.

    Calibration lives in ``self.calibration`` (a :class:`CalibrationStore`): ``set_camera``/``set_extrinsics`` may
    be called from another thread than ``process``; each frame uses one snapshot (``FrameInput.calibration``,
    or the current one) and the registrar is cached per snapshot version."""

    def __init__(self, config: ProcessorConfig, detector, tracker, class_names: tuple[str, ...],
                 tf: TfBuffer | None = None):
        self.config = config
        self.detector = detector
        self.tracker = tracker
        self.class_names = tuple(class_names)
        self.calibration = CalibrationStore()
        self._registrar_cache: tuple[int, Registrar] | None = None  # (calibration version, registrar)
        self._sizes: dict[int, np.ndarray] = {}
        self._last_stamp: float | None = None
        self.tf = tf if tf is not None else TfBuffer(config.tf)  # written by the node's /tf, /tf_static callbacks
        self.ego = EgoMotion(config.ego_motion, self.tf)
        out = config.output
        self.target = TargetFrame(out.target_frame, out.T_target_color.transform() if out.T_target_color else None,
                                  self.tf)

    # ------------------------------------------------------------------------------------- calibration
    @property
    def cameras(self) -> Mapping[str, CameraModel]:
        """The current camera models (read-only)."""
        return self.calibration.current.cameras

    def set_camera(self, name: str, camera: CameraModel) -> bool:
        """Store a camera model (from camera_info); returns True when it changed."""
        if name not in CAMERAS:
            raise ValueError(f"unknown camera {name!r}; valid: {', '.join(CAMERAS)}")
        return self.calibration.set_camera(name, camera)

    def set_extrinsics(self, extrinsics: Mapping[str, Transform]) -> bool:
        """{camera: T_color_camera} from /tf_static; returns True when they changed."""
        return self.calibration.set_extrinsics(extrinsics)

    def extrinsics(self, calib: Calibration | None = None) -> dict[str, tuple[Transform, str]]:
        """{camera: (T_color_camera, source)}, source 'tf_static' | 'config' | 'identity (assumed)'."""
        tf = (calib or self.calibration.current).tf_extrinsics
        out = {}
        for n in ("thermal", "depth"):
            if n in tf:
                out[n] = (tf[n], "tf_static")
            elif n in self.config.fallback_extrinsics:
                out[n] = (self.config.fallback_extrinsics[n].transform(), "config")
            else:
                out[n] = (Transform.identity(), ASSUMED)
        return out

    def calibrated(self, calib: Calibration | None = None) -> frozenset:
        """Cameras that can be used with ``calib``: RGB with its camera_info; thermal and depth with their
        camera_info and extrinsics from /tf_static or the config fallback."""
        calib = calib or self.calibration.current
        ext = self.extrinsics(calib)
        return frozenset(n for n in calib.cameras if n == "color" or ext[n][1] != ASSUMED)

    def registrar(self, calib: Calibration | None = None) -> Registrar | None:
        calib = calib or self.calibration.current
        if "color" not in calib.cameras:
            return None
        cached = self._registrar_cache
        if cached is not None and cached[0] == calib.version:
            return cached[1]
        ext = {n: T for n, (T, _) in self.extrinsics(calib).items()}
        reg = Registrar(calib.cameras, ext, self.config.registration)
        self._registrar_cache = (calib.version, reg)
        return reg

    def output_frame(self, calib: Calibration | None = None) -> str:
        """The configured output frame: target_frame, or the RGB optical frame (a frame whose lookup fails is
        published in the RGB optical frame: FrameResult.frame_id says where each frame is)."""
        if self.config.output.target_frame:
            return self.config.output.target_frame
        cam = (calib or self.calibration.current).cameras.get("color")
        return cam.frame_id if cam is not None else ""

    # ------------------------------------------------------------------------------------------- frame
    def _register(self, f: FrameInput, calib: Calibration, notes: list
                  ) -> tuple[np.ndarray | None, np.ndarray | None]:
        reg = self.registrar(calib)
        if reg is None:
            if f.thermal is not None or f.depth is not None:
                notes.append(("color", "no RGB camera_info: thermal and depth cannot be registered, RGB only"))
            return None, None
        H, W = reg.color.height, reg.color.width
        if f.rgb.shape[:2] != (H, W):
            raise FrameError("color", f"RGB image is {f.rgb.shape[1]}x{f.rgb.shape[0]} but its camera_info says "
                                      f"{W}x{H}")
        depth_rgb = self._register_one("depth", f.depth, lambda d: reg.depth_to_rgb(d), calib, notes)
        if depth_rgb is not None and not np.isfinite(depth_rgb).any():
            notes.append(("depth", "depth image has no valid reading (all zero/NaN)"))
        thermal_rgb = self._register_one("thermal", f.thermal, lambda t: reg.thermal_to_rgb(t, depth_rgb), calib,
                                         notes)
        return depth_rgb, thermal_rgb

    @staticmethod
    def _register_one(name: str, image, register, calib: Calibration, notes: list) -> np.ndarray | None:
        if image is None:
            return None
        if name not in calib.cameras:
            notes.append((name, f"no {name} camera_info: {name} dropped"))
            return None
        try:
            return register(image)
        except ValueError as e:
            notes.append((name, f"{name} dropped: {e}"))
            return None

    def process(self, f: FrameInput) -> FrameResult:
        calib = f.calibration or self.calibration.current
        timings = {}
        notes: list = []
        t0 = time.perf_counter()
        if f.rgb is None or f.rgb.ndim != 3 or f.rgb.shape[2] != 3:
            raise FrameError("color", f"RGB image must be HxWx3, got {None if f.rgb is None else f.rgb.shape}")
        if self._last_stamp is not None and f.stamp < self._last_stamp:
            self.tracker.reset()
            self.ego.reset()
            self._sizes.clear()
            notes.append(("color", f"time went backwards ({f.stamp:.3f} < {self._last_stamp:.3f} s): "
                                   "tracker reset"))
        self._last_stamp = f.stamp
        depth_rgb, thermal_rgb = self._register(f, calib, notes)
        t1 = time.perf_counter()
        timings["register"] = t1 - t0
        dets = self.detector.detect(f.rgb, thermal_rgb, f.thermal_encoding if thermal_rgb is not None else None,
                                    depth_rgb)
        t2 = time.perf_counter()
        timings["detect"] = t2 - t1
        names = [self.class_names[int(c)] if 0 <= int(c) < len(self.class_names) else str(int(c))
                 for c in dets.classes]
        b3 = boxes_to_3d(dets.boxes, names, calib.cameras.get("color"), depth_rgb, dets.distances,
                         self.config.depth3d)
        dets = _with_positions(dets, b3.positions)
        t3 = time.perf_counter()
        timings["depth3d"] = t3 - t2
        modalities = frozenset({"color"} | ({"thermal"} if thermal_rgb is not None else set())
                               | ({"depth"} if depth_rgb is not None else set()))
        cam = calib.cameras.get("color")
        ego = self.ego.update(f.stamp, cam, f.rgb, depth_rgb, dets.boxes)
        self.tracker.camera = cam  # with a camera model the core moves the 2D boxes by the ego-motion too
        t4 = time.perf_counter()
        timings["ego"] = t4 - t3
        tracks = self.tracker.update(f.stamp, dets, ego_motion=ego.motion, modalities=modalities)
        t5 = time.perf_counter()
        timings["track"] = t5 - t4
        self._update_sizes(tracks, dets, b3)
        out = self.target.resolve(f.stamp, cam.frame_id if cam is not None else "")
        tracks = [track_in(t, out.T) for t in tracks]
        return FrameResult(f.stamp, dets, b3, tracks, dict(self._sizes), modalities, timings, notes,
                           out.frame_id, ego, out)

    def _update_sizes(self, tracks, dets, b3: Boxes3D) -> None:
        """Last known 3D extent of every live track (the extent of the detection it was updated with)."""
        live = set()
        for t in tracks:
            live.add(t.track_id)
            if t.det_index is not None and 0 <= t.det_index < len(dets) and np.isfinite(b3.sizes[t.det_index]).all():
                self._sizes[t.track_id] = b3.sizes[t.det_index]
        for k in [k for k in self._sizes if k not in live]:
            del self._sizes[k]


class FrameError(ValueError):
    """A frame cannot be processed (bad RGB image); ``input`` names the culprit."""

    def __init__(self, input_name: str, text: str):
        super().__init__(text)
        self.input = input_name


def _with_positions(dets, positions: np.ndarray):
    if len(dets) == 0:
        return dets
    if dets.positions is not None:
        keep = np.isfinite(np.asarray(dets.positions)).all(axis=1)
        positions = np.where(keep[:, None], dets.positions, positions)
    return dataclasses.replace(dets, positions=positions)
