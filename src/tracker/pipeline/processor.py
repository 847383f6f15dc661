"""The per-frame pipeline without ROS: synchronised images -> registration -> detection -> 3D -> tracking.

The node (tracker.nodes.tracker_node) only converts messages and publishes; everything that decides
something lives here and is tested without DDS:

    frame = FrameInput(stamp, rgb, thermal, thermal_encoding, depth_m, missing)
    result = processor.process(frame)          # -> FrameResult (detections, 3D, tracks, timings, notes)

Camera models come from camera_info (``set_camera``), extrinsics from /tf_static (``set_extrinsics``) with
config fallbacks; the registrar is rebuilt whenever either changes. A modality whose calibration is missing or
whose image does not match its camera_info is dropped for that frame and reported in ``FrameResult.notes``.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from tracker.common.config import ConfigError, param
from tracker.common.geometry import CameraModel, Transform
from tracker.pipeline.depth3d import Boxes3D, Depth3DConfig, boxes_to_3d
from tracker.pipeline.registration import Registrar, RegistrationConfig

CAMERAS = ("color", "thermal", "depth")


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
    target_frame: str = param("", doc="frame of /tracker/tracks; empty = the RGB optical frame (camera_info)")
    T_target_color: StaticTransformConfig = param(default_factory=StaticTransformConfig,
                                                  doc="static transform from the RGB optical frame to target_frame")
    publish_tentative: bool = param(False, doc="also publish tentative tracks (default: confirmed only)")


@dataclass(frozen=True)
class ProcessorConfig:
    registration: RegistrationConfig = param(default_factory=RegistrationConfig, doc="registration section")
    depth3d: Depth3DConfig = param(default_factory=Depth3DConfig, doc="depth3d section")
    output: OutputConfig = param(default_factory=OutputConfig, doc="output section")
    fallback_extrinsics: dict[str, StaticTransformConfig] = param(
        default_factory=dict, doc="T_color_<camera> used while /tf_static has no path to that camera")

    def validate(self) -> None:
        bad = sorted(set(self.fallback_extrinsics) - {"thermal", "depth"})
        if bad:
            raise ValueError(f"fallback_extrinsics: unknown camera {bad[0]!r}; valid: thermal, depth")


@dataclass
class FrameInput:
    """One synchronised set, decoded: rgb HxWx3 uint8 (RGB order), thermal raw array + encoding, depth float32
    metres (NaN = none) at the depth camera's resolution; ``missing`` = inputs left out by the synchroniser."""

    stamp: float
    rgb: np.ndarray
    thermal: np.ndarray | None = None
    thermal_encoding: str | None = None
    depth: np.ndarray | None = None
    missing: frozenset = frozenset()


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

    def published_tracks(self, include_tentative: bool = False) -> list:
        from tracker.core.types import TrackState
        ok = {TrackState.CONFIRMED} | ({TrackState.TENTATIVE} if include_tentative else set())
        return [t for t in self.tracks if t.state in ok]


def extrinsics_from_edges(edges: Mapping[tuple[str, str], Transform], frames: Mapping[str, str]
                          ) -> dict[str, Transform]:
    """{camera: T_color_camera} by chaining static transforms {(parent, child): T_parent_child} in either
    direction from the color frame; cameras without a path are absent."""
    root = frames.get("color")
    if not root:
        return {}
    graph: dict[str, list] = {}
    for (parent, child), T in edges.items():
        graph.setdefault(parent, []).append((child, T))
        graph.setdefault(child, []).append((parent, T.inverse()))
    reach = {root: Transform.identity()}
    queue = deque([root])
    while queue:
        f = queue.popleft()
        for nxt, T in graph.get(f, []):
            if nxt not in reach:
                reach[nxt] = reach[f] @ T
                queue.append(nxt)
    out = {n: reach[f] for n, f in frames.items() if f in reach}
    out["color"] = Transform.identity()
    return out


def _same_camera(a: CameraModel | None, b: CameraModel | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.width, a.height, a.frame_id) == (b.width, b.height, b.frame_id) and np.allclose(a.K, b.K) \
        and np.allclose(np.asarray(a.D), np.asarray(b.D))


class Processor:
    """Stage orchestration for one camera rig. ``detector.detect(rgb, thermal, thermal_encoding, depth)`` ->
    Detections; ``tracker.update(stamp, detections, modalities=...)`` -> tracks."""

    def __init__(self, config: ProcessorConfig, detector, tracker, class_names: tuple[str, ...]):
        self.config = config
        self.detector = detector
        self.tracker = tracker
        self.class_names = tuple(class_names)
        self.cameras: dict[str, CameraModel] = {}
        self._tf_extrinsics: dict[str, Transform] = {}
        self._registrar: Registrar | None = None
        self._registrar_key = None
        self._sizes: dict[int, np.ndarray] = {}
        self._last_stamp: float | None = None
        out = config.output
        self.T_target_color = out.T_target_color.transform()
        self._identity_out = not out.target_frame

    # ------------------------------------------------------------------------------------- calibration
    def set_camera(self, name: str, camera: CameraModel) -> bool:
        """Store a camera model (from camera_info); returns True when it changed."""
        if name not in CAMERAS:
            raise ValueError(f"unknown camera {name!r}; valid: {', '.join(CAMERAS)}")
        if _same_camera(self.cameras.get(name), camera):
            return False
        self.cameras[name] = camera
        if name == "color" and hasattr(self.tracker, "camera"):
            self.tracker.camera = camera
        self._registrar = None
        return True

    def set_extrinsics(self, extrinsics: Mapping[str, Transform]) -> None:
        """{camera: T_color_camera} from /tf_static."""
        self._tf_extrinsics = dict(extrinsics)
        self._registrar = None

    def extrinsics(self) -> dict[str, tuple[Transform, str]]:
        """{camera: (T_color_camera, source)}, source 'tf_static' | 'config' | 'identity (assumed)'."""
        out = {}
        for n in ("thermal", "depth"):
            if n in self._tf_extrinsics:
                out[n] = (self._tf_extrinsics[n], "tf_static")
            elif n in self.config.fallback_extrinsics:
                out[n] = (self.config.fallback_extrinsics[n].transform(), "config")
            else:
                out[n] = (Transform.identity(), "identity (assumed)")
        return out

    def registrar(self) -> Registrar | None:
        if "color" not in self.cameras:
            return None
        if self._registrar is None:
            ext = {n: T for n, (T, _) in self.extrinsics().items()}
            self._registrar = Registrar(self.cameras, ext, self.config.registration)
        return self._registrar

    @property
    def output_frame(self) -> str:
        if not self._identity_out:
            return self.config.output.target_frame
        cam = self.cameras.get("color")
        return cam.frame_id if cam is not None else ""

    # ------------------------------------------------------------------------------------------- frame
    def _register(self, f: FrameInput, notes: list) -> tuple[np.ndarray | None, np.ndarray | None]:
        reg = self.registrar()
        depth_rgb = thermal_rgb = None
        if reg is None:
            if f.thermal is not None or f.depth is not None:
                notes.append(("color", "no RGB camera_info: thermal and depth cannot be registered, RGB only"))
            return None, None
        H, W = reg.color.height, reg.color.width
        if f.rgb.shape[:2] != (H, W):
            raise FrameError("color", f"RGB image is {f.rgb.shape[1]}x{f.rgb.shape[0]} but its camera_info says "
                                      f"{W}x{H}")
        if f.depth is not None:
            if "depth" not in self.cameras:
                notes.append(("depth", "no depth camera_info: depth dropped"))
            else:
                try:
                    depth_rgb = reg.depth_to_rgb(f.depth)
                except ValueError as e:
                    notes.append(("depth", f"depth dropped: {e}"))
                else:
                    if not np.isfinite(depth_rgb).any():
                        notes.append(("depth", "depth image has no valid reading (all zero/NaN)"))
        if f.thermal is not None:
            if "thermal" not in self.cameras:
                notes.append(("thermal", "no thermal camera_info: thermal dropped"))
            else:
                try:
                    thermal_rgb = reg.thermal_to_rgb(f.thermal, depth_rgb)
                except ValueError as e:
                    notes.append(("thermal", f"thermal dropped: {e}"))
        return depth_rgb, thermal_rgb

    def process(self, f: FrameInput) -> FrameResult:
        timings = {}
        notes: list = []
        t0 = time.perf_counter()
        if f.rgb is None or f.rgb.ndim != 3 or f.rgb.shape[2] != 3:
            raise FrameError("color", f"RGB image must be HxWx3, got {None if f.rgb is None else f.rgb.shape}")
        if self._last_stamp is not None and f.stamp < self._last_stamp:
            self.tracker.reset()
            self._sizes.clear()
            notes.append(("color", f"time went backwards ({f.stamp:.3f} < {self._last_stamp:.3f} s): "
                                   "tracker reset"))
        self._last_stamp = f.stamp
        depth_rgb, thermal_rgb = self._register(f, notes)
        t1 = time.perf_counter()
        timings["register"] = t1 - t0
        dets = self.detector.detect(f.rgb, thermal_rgb, f.thermal_encoding if thermal_rgb is not None else None,
                                    depth_rgb)
        t2 = time.perf_counter()
        timings["detect"] = t2 - t1
        names = [self.class_names[int(c)] if 0 <= int(c) < len(self.class_names) else str(int(c))
                 for c in dets.classes]
        b3 = boxes_to_3d(dets.boxes, names, self.cameras.get("color"), depth_rgb, dets.distances,
                         self.config.depth3d)
        dets = _with_positions(dets, b3.positions)
        t3 = time.perf_counter()
        timings["depth3d"] = t3 - t2
        modalities = frozenset({"color"} | ({"thermal"} if thermal_rgb is not None else set())
                               | ({"depth"} if depth_rgb is not None else set()))
        tracks = self.tracker.update(f.stamp, dets, modalities=modalities)
        t4 = time.perf_counter()
        timings["track"] = t4 - t3
        live = set()
        for t in tracks:
            live.add(t.track_id)
            if t.det_index is not None and 0 <= t.det_index < len(dets) and np.isfinite(b3.sizes[t.det_index]).all():
                self._sizes[t.track_id] = b3.sizes[t.det_index]
        for k in [k for k in self._sizes if k not in live]:
            del self._sizes[k]
        tracks = [self._to_target(t) for t in tracks] if not self._identity_out else tracks
        return FrameResult(f.stamp, dets, b3, tracks, dict(self._sizes), modalities, timings, notes,
                           self.output_frame)

    def _to_target(self, t):
        """The track with position, velocity and covariance expressed in the target frame."""
        import dataclasses
        T = self.T_target_color
        if t.position is None:
            return t
        R6 = np.zeros((6, 6))
        R6[:3, :3] = T.R
        R6[3:, 3:] = T.R
        return dataclasses.replace(t, position=T.apply(np.asarray(t.position)),
                                   velocity=T.R @ np.asarray(t.velocity),
                                   covariance=R6 @ np.asarray(t.covariance) @ R6.T)


class FrameError(ValueError):
    """A frame cannot be processed (bad RGB image); ``input`` names the culprit."""

    def __init__(self, input_name: str, text: str):
        super().__init__(text)
        self.input = input_name


def _with_positions(dets, positions: np.ndarray):
    import dataclasses
    if len(dets) == 0:
        return dets
    if dets.positions is not None:
        keep = np.isfinite(np.asarray(dets.positions)).all(axis=1)
        positions = np.where(keep[:, None], dets.positions, positions)
    return dataclasses.replace(dets, positions=positions)


# ------------------------------------------------------------------------------------------------ detector
def make_detector(backend_cfg: Mapping[str, Any], detector_cfg: Mapping[str, Any] | None, model_path: str):
    """The product detector: ``tracker.backends.create_backend`` + ``tracker.network.detector.Detector``.
    Raises ConfigError with a clear text when the model or the detector package is missing."""
    from pathlib import Path
    if not model_path:
        raise ConfigError("backend.model: no model path configured (set backend.model or the model_path parameter)")
    if not Path(model_path).exists():
        raise ConfigError(f"model file not found: {model_path} (train/export one: tracker-train, tracker-export)")
    try:
        from tracker.backends import BackendConfig, BackendUnavailable, ModelError, create_backend
        from tracker.network.detector import Detector
    except ImportError as e:
        raise ConfigError(f"the detector is not available in this installation: {e}") from e
    from tracker.backends import base as _backend_base
    from tracker.common.config import from_mapping
    getattr(_backend_base, "_ensure_registered", lambda: None)()  # BackendConfig validates against the registry
    bcfg = from_mapping(BackendConfig, backend_cfg or {}, where="backend.options")
    try:
        backend = create_backend(bcfg, model_path)
    except (ModelError, BackendUnavailable) as e:
        raise ConfigError(f"cannot load model {model_path}: {e}") from e
    return _build_detector(Detector, backend, detector_cfg)


def _build_detector(Detector, backend, detector_cfg):
    """Detector(backend, DetectorConfig) with the ``backend.detector`` mapping validated into the detector's
    config class (``tracker.network.detector.DetectorConfig``)."""
    from tracker.common.config import from_mapping
    try:
        from tracker.network.detector import DetectorConfig
    except ImportError:
        DetectorConfig = getattr(Detector, "config_class", None)
    if DetectorConfig is None:
        return Detector(backend, detector_cfg) if detector_cfg else Detector(backend)
    return Detector(backend, from_mapping(DetectorConfig, detector_cfg or {}, where="backend.detector"))
