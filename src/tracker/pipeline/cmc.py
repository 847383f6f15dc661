"""Image-based camera motion compensation (CMC): the camera's own motion between consecutive RGB frames, for a
moving camera whose odometry is not in TF (ROS-free; numpy + OpenCV).

Method (the sparse-flow variant of BoT-SORT's / BoxMOT's global motion compensation, with a 3D model instead of
their 2D affine one, because the tracker core takes a rigid ``T_prev_curr``):

1. The frame is converted to grey and resized by ``image_scale`` (features and flow on 320x240 for a 640x480
   camera: a quarter of the pixels, and the coarse pyramid levels absorb the noise).
2. Shi-Tomasi corners are detected in every frame outside the ``exclude_boxes`` (tracks and detections: the
   objects that move on their own), grown by ``exclude_margin``; they are kept for the next call.
3. The previous frame's corners are followed into this frame by pyramidal Lucas-Kanade flow, and back again:
   a feature whose round trip misses its start by more than ``max_fb_error_px`` (occlusion, aperture, noise) or
   that lands inside an excluded box is dropped.
4. The pixels are undistorted with the camera model (any CameraInfo distortion) and the motion is fitted to the
   bearings (:func:`tracker.pipeline.cmc_fit.fit_motion`):
   - rotation from all features by RANSAC on pairs of bearings (two fix a rotation) and a least-squares
     (Kabsch) refit. Shake and panning are rotations, and a rotation is what moves the image between two frames;
     a 2D homography or affine model (BoT-SORT) would spend 6-8 degrees of freedom where 3 suffice and can take
     a ground plane's parallax for rotation, and cannot be handed to the core as a rigid motion;
   - with depth (registered to RGB; the previous frame's, the nearest reading within ``depth_window_px`` of each
     feature, since corners sit on depth edges): a starting translation given that rotation, then Gauss-Newton
     on R and t of all inliers at once, each feature with its inverse depth (0 without depth: far features fix
     the rotation, near ones with depth the translation). A 6-DOF PnP on the features with depth alone would
     trade rotation against translation (1 cm sideways at 5 m looks like a 0.1 deg pan); here the translation is
     kept only when the fit says it is observable (standard deviation <= ``max_translation_std_m``), else the
     result is rotation only, which is what the tracker needs most (centimetres of translation per frame move
     boxes metres away by well under a pixel).
5. The estimate is refused (None, with the reason in :attr:`ImageMotion.last_status`) with too few features,
   too few inliers or too small an inlier fraction (the moving objects dominate), or an implausible motion.

The result is ``T_prev_curr`` of the RGB optical frame, exactly the core's ``ego_motion`` (Tracker.update): a
static point ``p_prev`` of the previous camera frame is at ``T_prev_curr.inverse().apply(p_prev)`` now. Cost:
a few ms per 640x480 frame on one core (bench/bench_cmc.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tracker.common.config import param
from tracker.common.geometry import CameraModel, Transform
from tracker.pipeline.cmc_fit import fit_motion, rotation_angle

MODE_NONE, MODE_ROTATION, MODE_DEPTH = "none", "rotation", "rotation+translation"
#: Shi-Tomasi block and Sobel aperture (goodFeaturesToTrack's defaults)
_CORNER_BLOCK, _CORNER_APERTURE = 3, 3
#: cv2.cornerMinEigenVal of an 8-bit image with a 3x3 block and 3x3 Sobel is (g / 127.5)^2 for an RMS gradient
#: g DN/px in the weaker direction (OpenCV scales the derivatives by 1 / (4 * block * 255) and sums 9 pixels)
_EIG_DN_PER_PX = 127.5
#: Immerkaer's noise operator: the difference of two Laplacians, blind to planes and edges to first order
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


@dataclass(frozen=True)
class CMCConfig:
    """Settings of image-based ego-motion (one ImageMotion per RGB stream); every threshold with unit and range."""

    image_scale: float = param(0.5, unit="1", gt=0.05, le=1.0,
                               doc="the grey image is resized by this before features and flow")
    max_features: int = param(300, unit="1", ge=8, le=5000, doc="Shi-Tomasi corners detected per frame at most")
    quality_level: float = param(0.01, unit="1", gt=0.0, lt=1.0,
                                 doc="corners weaker than this fraction of the strongest one are dropped")
    min_corner_gradient: float = param(2.5, unit="DN/px (scaled image)", ge=0.0,
                                       doc="corners whose weaker structure-tensor direction has an RMS grey "
                                           "gradient below this (over a 3x3 block) are dropped: at the image "
                                           "noise level they track the noise, not the scene")
    noise_corner_factor: float = param(1.5, unit="x noise std", ge=0.0,
                                       doc="the corner floor of min_corner_gradient is raised to this multiple "
                                           "of the frame's estimated noise std (DN, Immerkaer's Laplacian "
                                           "estimate on the scaled image): a dark, high-gain frame's noise "
                                           "makes corners whose flow is noise (0 = fixed floor only)")
    blur_sigma_px: float = param(0.0, unit="px (scaled image)", ge=0.0, le=5.0,
                                 doc="Gaussian smoothing of the scaled grey image against sensor noise (0 = off)")
    min_corner_distance_px: float = param(8.0, unit="px (scaled image)", gt=0.0,
                                          doc="minimum distance between two corners")
    exclude_margin: float = param(0.1, unit="1", ge=0.0, le=1.0,
                                  doc="excluded boxes are grown by this fraction of their size on each side")
    lk_window_px: int = param(11, unit="px (scaled image)", ge=5, le=61, doc="Lucas-Kanade window size")
    lk_levels: int = param(3, unit="1", ge=0, le=6, doc="pyramid levels above the base image")
    lk_max_iterations: int = param(20, unit="1", ge=1, le=100, doc="Lucas-Kanade iterations per level at most")
    lk_epsilon_px: float = param(0.03, unit="px (scaled image)", gt=0.0,
                                 doc="Lucas-Kanade stops when an iteration moves less than this")
    max_fb_error_px: float = param(0.7, unit="px (scaled image)", gt=0.0,
                                   doc="forward-backward flow: features whose round trip misses by more are "
                                       "dropped")
    ransac_threshold_px: float = param(1.5, unit="px", gt=0.0,
                                       doc="inlier threshold of the motion model (full-resolution pixels)")
    ransac_iterations: int = param(200, unit="1", ge=10, le=5000, doc="RANSAC hypotheses")
    min_features: int = param(20, unit="1", ge=4, doc="fewer tracked features than this: no estimate")
    min_inliers: int = param(12, unit="1", ge=4, doc="fewer inliers than this: no estimate")
    min_inlier_fraction: float = param(0.35, unit="1", ge=0.0, le=1.0,
                                       doc="inliers below this fraction of the tracked features: no estimate "
                                           "(the motion of the background is not the dominant one)")
    max_rotation_deg: float = param(8.0, unit="deg", gt=0.0, le=90.0,
                                    doc="a larger rotation between two calls is implausible: no estimate")
    max_translation_m: float = param(0.5, unit="m", gt=0.0, doc="a larger translation between two calls is "
                                     "implausible: no estimate")
    use_depth: bool = param(True, doc="with registered depth, estimate the translation too (else rotation only)")
    min_depth_m: float = param(0.3, unit="m", ge=0.0, doc="depth readings below this are not used")
    max_depth_m: float = param(20.0, unit="m", gt=0.0,
                               doc="depth readings above this are not used (noise grows with range)")
    depth_window_px: int = param(2, unit="px", ge=0, le=10,
                                 doc="a feature's depth is the nearest valid reading within this radius")
    max_translation_std_m: float = param(0.01, unit="m", gt=0.0,
                                         doc="a translation less certain than this (standard deviation, from "
                                             "the fit) is not observable between the two frames: rotation only")
    min_depth_features: int = param(12, unit="1", ge=3,
                                    doc="fewer consistent features with depth than this: rotation only")

    def validate(self) -> None:
        if self.max_depth_m <= self.min_depth_m:
            raise ValueError(f"max_depth_m ({self.max_depth_m} m) must exceed min_depth_m ({self.min_depth_m} m)")
        if self.min_inliers > self.min_features:
            raise ValueError(f"min_inliers ({self.min_inliers}) must not exceed min_features ({self.min_features})")

    def __post_init__(self):
        self.validate()


@dataclass
class _Frame:
    grey: np.ndarray  # scaled grey image
    corners: np.ndarray  # (n, 2) float32 scaled-image corners, outside the excluded boxes
    depth: np.ndarray | None  # full-resolution registered depth, metres


def box_mask(shape: tuple[int, int], boxes: np.ndarray | None, scale: tuple[float, float],
             margin: float) -> np.ndarray | None:
    """uint8 mask (255 = usable) of a scaled image with ``boxes`` (full-resolution xyxy) grown by ``margin`` of
    their size blanked out; None when there is nothing to blank."""
    if boxes is None or len(boxes) == 0:
        return None
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    b = b[np.isfinite(b).all(axis=1)]
    grow = np.stack([b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], axis=1) * margin
    sx, sy = scale
    x0 = np.floor((b[:, 0] - grow[:, 0]) * sx).astype(int)
    y0 = np.floor((b[:, 1] - grow[:, 1]) * sy).astype(int)
    x1 = np.ceil((b[:, 2] + grow[:, 0]) * sx).astype(int)
    y1 = np.ceil((b[:, 3] + grow[:, 1]) * sy).astype(int)
    h, w = shape
    mask = np.full((h, w), 255, np.uint8)
    for a0, c0, a1, c1 in zip(np.clip(x0, 0, w), np.clip(y0, 0, h), np.clip(x1, 0, w), np.clip(y1, 0, h)):
        mask[c0:c1, a0:a1] = 0
    return mask


def noise_std(grey: np.ndarray) -> float:
    """Standard deviation (DN) of the white noise of a grey image: Immerkaer's estimate (1996), the mean
    absolute response of a Laplacian difference that cancels smooth structure, times sqrt(pi/2) / 6."""
    h, w = grey.shape
    if h < 3 or w < 3:
        return 0.0
    r = cv2.filter2D(grey.astype(np.float32), -1, _NOISE_KERNEL)[1:-1, 1:-1]
    return float(np.sqrt(np.pi / 2.0) / 6.0 * np.abs(r).mean())


class ImageMotion:
    """Ego-motion of the RGB camera from consecutive frames; one instance per camera stream (keeps the previous
    frame). ``last_status`` says what the last call did, ``last_mode`` how (none / rotation / rotation+translation),
    ``last_inliers`` on how many features."""

    def __init__(self, cfg: CMCConfig | None = None):
        self.cfg = cfg if cfg is not None else CMCConfig()
        self._lk = dict(winSize=(self.cfg.lk_window_px, self.cfg.lk_window_px), maxLevel=self.cfg.lk_levels,
                        criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, self.cfg.lk_max_iterations,
                                  self.cfg.lk_epsilon_px))
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame: the next call is a first call."""
        self._prev: _Frame | None = None
        self.last_status = "no frame yet"
        self.last_mode = MODE_NONE
        self.last_inliers = 0

    def update(self, rgb: np.ndarray, camera: CameraModel, exclude_boxes: np.ndarray | None = None,
               depth: np.ndarray | None = None) -> Transform | None:
        """T_prev_curr of the RGB optical frame (the pose of the current camera frame in the previous one)
        between the previous call's image and this one; None on the first call or when the estimate is
        unreliable (see ``last_status``). rgb: HxWx3 uint8; exclude_boxes: (N, 4) xyxy pixels of moving
        objects; depth: HxW metres registered to the RGB image (NaN = none)."""
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[:2] != (camera.height, camera.width):
            raise ValueError(f"image of shape {rgb.shape} does not match the {camera.width}x{camera.height} "
                             "camera (HxWx3 RGB expected)")
        if depth is not None and np.shape(depth) != rgb.shape[:2]:
            raise ValueError(f"depth of shape {np.shape(depth)} is not registered to the {rgb.shape[:2]} RGB image")
        grey = self._grey(rgb)
        scale = (grey.shape[1] / camera.width, grey.shape[0] / camera.height)
        mask = box_mask(grey.shape, exclude_boxes, scale, self.cfg.exclude_margin)
        prev, self._prev = self._prev, None
        self.last_mode, self.last_inliers = MODE_NONE, 0
        result = None
        if prev is None or prev.grey.shape != grey.shape:
            self.last_status = "first frame" if prev is None else "image size changed: restarted"
        else:
            result = self._estimate(prev, grey, mask, scale, camera)
        use_depth = depth is not None and self.cfg.use_depth
        self._prev = _Frame(grey, self._corners(grey, mask), np.asarray(depth, np.float32) if use_depth else None)
        return result

    # -- stages --------------------------------------------------------------------------------------------------
    def _grey(self, rgb: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.uint8), cv2.COLOR_RGB2GRAY)
        s = self.cfg.image_scale
        if s < 1.0:
            size = (max(int(round(grey.shape[1] * s)), 1), max(int(round(grey.shape[0] * s)), 1))
            grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        if self.cfg.blur_sigma_px > 0:
            grey = cv2.GaussianBlur(grey, (0, 0), self.cfg.blur_sigma_px)
        return grey

    def _corners(self, grey: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        c = self.cfg
        quality = c.quality_level
        gradient = max(c.min_corner_gradient, c.noise_corner_factor * noise_std(grey) if c.noise_corner_factor else 0.0)
        if gradient > 0:  # the absolute floor as a fraction of this image's strongest corner
            eig = cv2.cornerMinEigenVal(grey, _CORNER_BLOCK, _CORNER_APERTURE)
            strongest = float(eig.max()) if mask is None else float(eig[mask > 0].max(initial=0.0))
            floor = (gradient / _EIG_DN_PER_PX) ** 2
            if strongest < floor:
                return np.zeros((0, 2), np.float32)
            quality = min(max(quality, floor / strongest), 1.0 - 1e-6)
        pts = cv2.goodFeaturesToTrack(grey, maxCorners=c.max_features, qualityLevel=quality,
                                      minDistance=c.min_corner_distance_px, mask=mask, blockSize=_CORNER_BLOCK)
        return np.zeros((0, 2), np.float32) if pts is None else pts.reshape(-1, 2).astype(np.float32)

    def _track(self, prev: _Frame, grey: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Forward-backward LK: (k, 2) previous and current scaled-image points of the features that survive."""
        p0 = prev.corners.reshape(-1, 1, 2)
        p1, st1, _ = cv2.calcOpticalFlowPyrLK(prev.grey, grey, p0, None, **self._lk)
        p0b, st2, _ = cv2.calcOpticalFlowPyrLK(grey, prev.grey, p1, None, **self._lk)
        p0, p1, p0b = p0.reshape(-1, 2), p1.reshape(-1, 2), p0b.reshape(-1, 2)
        h, w = grey.shape
        ok = (st1.reshape(-1) == 1) & (st2.reshape(-1) == 1)
        ok &= np.linalg.norm(p0b - p0, axis=1) <= self.cfg.max_fb_error_px
        ok &= (p1[:, 0] >= 0) & (p1[:, 0] <= w - 1) & (p1[:, 1] >= 0) & (p1[:, 1] <= h - 1)
        if mask is not None and ok.any():
            ui, vi = np.rint(p1[ok]).astype(int).T
            ok[np.flatnonzero(ok)] = mask[vi, ui] > 0
        return p0[ok], p1[ok]

    def _estimate(self, prev: _Frame, grey: np.ndarray, mask: np.ndarray | None, scale: tuple[float, float],
                  camera: CameraModel) -> Transform | None:
        c = self.cfg
        if len(prev.corners) < c.min_features:
            self.last_status = f"too few features ({len(prev.corners)} < {c.min_features})"
            return None
        s0, s1 = self._track(prev, grey, mask)
        n = len(s0)
        if n < c.min_features:
            self.last_status = f"too few tracked features ({n} < {c.min_features})"
            return None
        sc = np.asarray(scale)
        uv0, uv1 = (s0 + 0.5) / sc - 0.5, (s1 + 0.5) / sc - 0.5  # full-resolution pixels
        n0, n1 = camera.undistort_normalized(uv0), camera.undistort_normalized(uv1)
        z0 = self._depth_at(prev.depth, uv0) if prev.depth is not None else None
        f = 0.5 * (camera.fx + camera.fy)
        rng = np.random.default_rng(0)  # a fixed seed: the same frames give the same estimate
        R, t, inliers = fit_motion(n0, n1, z0, c.ransac_threshold_px / f, c.ransac_iterations,
                                   c.min_depth_features, c.max_translation_std_m, rng)
        k = int(inliers.sum())
        if k < c.min_inliers or k < c.min_inlier_fraction * n:
            self.last_status = (f"too few inliers ({k} of {n} tracked features; need {c.min_inliers} and "
                                f"{100 * c.min_inlier_fraction:.0f} %)")
            return None
        mode = MODE_ROTATION if t is None else MODE_DEPTH
        T_curr_prev = Transform(R, np.zeros(3) if t is None else t)
        return self._plausible(T_curr_prev.inverse(), k, n, mode)

    def _depth_at(self, depth: np.ndarray, uv: np.ndarray) -> np.ndarray:
        """Depth (NaN = none) at full-resolution pixels: the nearest valid reading within ``depth_window_px``
        (a corner lies on an edge, where depth has holes, and belongs to the nearer, occluding side)."""
        h, w = depth.shape
        r = self.cfg.depth_window_px
        d = np.arange(-r, r + 1)
        ui = np.clip(np.rint(uv[:, 0]).astype(int)[:, None, None] + d[None, None, :], 0, w - 1)
        vi = np.clip(np.rint(uv[:, 1]).astype(int)[:, None, None] + d[None, :, None], 0, h - 1)
        z = depth[vi, ui].reshape(len(uv), -1).astype(np.float64)
        with np.errstate(invalid="ignore"):
            z[~((z >= self.cfg.min_depth_m) & (z <= self.cfg.max_depth_m))] = np.inf
        z = z.min(axis=1)
        return np.where(np.isfinite(z), z, np.nan)

    def _plausible(self, T: Transform, k: int, n: int, mode: str) -> Transform | None:
        c = self.cfg
        angle = np.rad2deg(rotation_angle(T.R))
        dist = float(np.linalg.norm(T.t))
        if angle > c.max_rotation_deg:
            self.last_status = f"implausible rotation ({angle:.1f} deg > {c.max_rotation_deg} deg)"
            return None
        if dist > c.max_translation_m:
            self.last_status = f"implausible translation ({dist:.2f} m > {c.max_translation_m} m)"
            return None
        self.last_mode, self.last_inliers = mode, k
        self.last_status = f"ok: {k} inliers of {n} ({mode}, {angle:.2f} deg, {100 * dist:.1f} cm)"
        return T
