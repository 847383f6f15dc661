"""Camera geometry shared by the simulator, registration and 3D output (ROS-free; numpy, and OpenCV to invert
lens distortion).

Conventions (ROS REP 103/105): optical frames are x right, y down, z forward; a :class:`Transform`
``T_a_b`` maps points expressed in frame ``b`` into frame ``a`` (``p_a = R @ p_b + t``), which is what a
tf2 ``TransformStamped`` with ``header.frame_id = a`` and ``child_frame_id = b`` holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np


def quat_to_matrix(x: float, y: float, z: float, w: float) -> np.ndarray:
    """Rotation matrix of a unit quaternion (x, y, z, w); the quaternion is normalised first."""
    q = np.array([x, y, z, w], dtype=np.float64)
    n = np.linalg.norm(q)
    if not np.isfinite(n) or n < 1e-12:
        raise ValueError(f"invalid quaternion {q.tolist()}")
    x, y, z, w = q / n
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def matrix_to_quat(R: np.ndarray) -> tuple[float, float, float, float]:
    """Unit quaternion (x, y, z, w) of a rotation matrix, w >= 0."""
    R = np.asarray(R, dtype=np.float64)
    tr = np.trace(R)
    if tr > 0:
        s = 2.0 * np.sqrt(tr + 1.0)
        w, x, y, z = 0.25 * s, (R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s
    elif R[0, 0] > R[1, 1] and R[0, 0] > R[2, 2]:
        s = 2.0 * np.sqrt(1.0 + R[0, 0] - R[1, 1] - R[2, 2])
        w, x, y, z = (R[2, 1] - R[1, 2]) / s, 0.25 * s, (R[0, 1] + R[1, 0]) / s, (R[0, 2] + R[2, 0]) / s
    elif R[1, 1] > R[2, 2]:
        s = 2.0 * np.sqrt(1.0 + R[1, 1] - R[0, 0] - R[2, 2])
        w, x, y, z = (R[0, 2] - R[2, 0]) / s, (R[0, 1] + R[1, 0]) / s, 0.25 * s, (R[1, 2] + R[2, 1]) / s
    else:
        s = 2.0 * np.sqrt(1.0 + R[2, 2] - R[0, 0] - R[1, 1])
        w, x, y, z = (R[1, 0] - R[0, 1]) / s, (R[0, 2] + R[2, 0]) / s, (R[1, 2] + R[2, 1]) / s, 0.25 * s
    q = np.array([x, y, z, w])
    q /= np.linalg.norm(q)
    if q[3] < 0:
        q = -q
    return tuple(float(v) for v in q)


@dataclass(frozen=True)
class Transform:
    """Rigid transform ``T_parent_child``: ``p_parent = R @ p_child + t``."""

    R: np.ndarray = field(default_factory=lambda: np.eye(3))
    t: np.ndarray = field(default_factory=lambda: np.zeros(3))

    @staticmethod
    def identity() -> "Transform":
        return Transform(np.eye(3), np.zeros(3))

    @staticmethod
    def from_quat(translation, quat_xyzw) -> "Transform":
        return Transform(quat_to_matrix(*quat_xyzw), np.asarray(translation, dtype=np.float64).reshape(3))

    @staticmethod
    def from_matrix(M: np.ndarray) -> "Transform":
        M = np.asarray(M, dtype=np.float64)
        return Transform(M[:3, :3].copy(), M[:3, 3].copy())

    def matrix(self) -> np.ndarray:
        M = np.eye(4)
        M[:3, :3] = self.R
        M[:3, 3] = self.t
        return M

    def quat(self) -> tuple[float, float, float, float]:
        return matrix_to_quat(self.R)

    def inverse(self) -> "Transform":
        Rt = self.R.T
        return Transform(Rt, -Rt @ self.t)

    def __matmul__(self, other: "Transform") -> "Transform":
        """Composition: ``T_a_b @ T_b_c = T_a_c``."""
        return Transform(self.R @ other.R, self.R @ other.t + self.t)

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Transform points of shape (..., 3)."""
        p = np.asarray(points, dtype=np.float64)
        return p @ self.R.T + self.t


#: distortion models of sensor_msgs/CameraInfo (sensor_msgs/distortion_models.hpp) -> number of coefficients in D:
#: plumb_bob (k1 k2 p1 p2 k3) and rational_polynomial (k1 k2 p1 p2 k3 k4 k5 k6) are OpenCV's standard model with
#: 5 and 8 coefficients; equidistant (k1 k2 k3 k4) is OpenCV's fisheye model
DISTORTION_COEFFS = {"plumb_bob": 5, "rational_polynomial": 8, "equidistant": 4}
PLUMB_BOB = "plumb_bob"
EQUIDISTANT = "equidistant"
#: undistortion (cv2.undistortPointsIter / cv2.fisheye.undistortPoints): at most this many iterations, stopping
#: earlier once the reprojection error is below the epsilon (OpenCV's default is 5 iterations for the standard
#: model, not enough for strong distortion at the image corners)
UNDISTORT_MAX_ITERATIONS = 100
UNDISTORT_EPSILON = 1e-10
#: below this radius (normalised coordinates) the equidistant model's theta_d / r is taken as its limit, 1
_FISHEYE_MIN_RADIUS = 1e-12


def distortion_coefficients(model: str, D) -> np.ndarray:
    """D of a camera with distortion ``model`` as the model's full coefficient vector (shorter vectors are
    zero-padded). ValueError for an unknown model or non-zero coefficients the model does not have; an empty
    model name is accepted for a camera without distortion (all D zero) and means plumb_bob."""
    d = np.asarray(D if D is not None else (), dtype=np.float64).reshape(-1)
    if model == "" and not np.any(d):
        model = PLUMB_BOB
    if model not in DISTORTION_COEFFS:
        raise ValueError(f"unsupported distortion model {model!r} (D = {d.tolist()}); supported: "
                         f"{', '.join(DISTORTION_COEFFS)}")
    n = DISTORTION_COEFFS[model]
    if np.any(d[n:]):
        raise ValueError(f"distortion model {model} has {n} coefficients, D has {d.size} with non-zero ones "
                         f"beyond the {n}th: {d.tolist()}")
    out = np.zeros(n)
    out[: min(n, d.size)] = d[:n]
    return out


@dataclass(frozen=True)
class CameraModel:
    """Pinhole camera with the distortion of a sensor_msgs/CameraInfo: ``distortion_model`` plumb_bob,
    rational_polynomial or equidistant (fisheye), D its coefficients in CameraInfo order (normalised to the
    model's length on construction; an unknown model raises ValueError)."""

    width: int
    height: int
    K: np.ndarray  # 3x3 intrinsics
    D: np.ndarray = field(default_factory=lambda: np.zeros(5))  # coefficients of distortion_model
    frame_id: str = ""
    distortion_model: str = PLUMB_BOB

    def __post_init__(self):
        model = self.distortion_model or PLUMB_BOB
        object.__setattr__(self, "D", distortion_coefficients(self.distortion_model, self.D))
        object.__setattr__(self, "distortion_model", model)

    @staticmethod
    def from_fov(width: int, height: int, hfov_deg: float, frame_id: str = "",
                 cx: float | None = None, cy: float | None = None) -> "CameraModel":
        f = 0.5 * width / np.tan(np.deg2rad(hfov_deg) / 2)
        K = np.array([[f, 0, (width - 1) / 2 if cx is None else cx],
                      [0, f, (height - 1) / 2 if cy is None else cy], [0, 0, 1.0]])
        return CameraModel(int(width), int(height), K, np.zeros(5), frame_id)

    @property
    def fx(self) -> float:
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        return float(self.K[1, 1])

    @property
    def cx(self) -> float:
        return float(self.K[0, 2])

    @property
    def cy(self) -> float:
        return float(self.K[1, 2])

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(np.abs(np.asarray(self.D, dtype=np.float64)) > 0))

    def P(self) -> np.ndarray:
        """3x4 projection matrix of the (rectified) camera, as CameraInfo.p."""
        P = np.zeros((3, 4))
        P[:, :3] = self.K
        return P

    def scaled(self, sx: float, sy: float) -> "CameraModel":
        """The same camera after resizing its images by (sx, sy)."""
        K = self.K.copy()
        K[0, :] *= sx
        K[1, :] *= sy
        return CameraModel(int(round(self.width * sx)), int(round(self.height * sy)), K, self.D, self.frame_id,
                           self.distortion_model)

    def _distort(self, xn: np.ndarray, yn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distorted normalised coordinates of undistorted ones (x/z, y/z), in their own dtype."""
        if self.distortion_model == EQUIDISTANT:
            k1, k2, k3, k4 = (float(c) for c in self.D)
            r = np.sqrt(xn * xn + yn * yn)
            th = np.arctan(r)
            th2 = th * th
            th_d = th * (1 + th2 * (k1 + th2 * (k2 + th2 * (k3 + th2 * k4))))
            scale = np.where(r > _FISHEYE_MIN_RADIUS, th_d / np.maximum(r, _FISHEYE_MIN_RADIUS), 1)
            return xn * scale, yn * scale
        d = np.zeros(DISTORTION_COEFFS["rational_polynomial"])
        d[: self.D.size] = self.D
        k1, k2, p1, p2, k3, k4, k5, k6 = (float(c) for c in d)
        r2 = xn * xn + yn * yn
        radial = (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))
        xd = xn * radial + 2 * p1 * xn * yn + p2 * (r2 + 2 * xn * xn)
        yd = yn * radial + p1 * (r2 + 2 * yn * yn) + 2 * p2 * xn * yn
        return xd, yd

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project camera-frame points (N, 3) to pixels (N, 2); also returns a mask of points in front."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        u, v, front = self.project_xyz(p[:, 0], p[:, 1], p[:, 2])
        return np.stack([u, v], axis=1), front

    def project_xyz(self, x: np.ndarray, y: np.ndarray, z: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`project` on coordinate arrays of any (equal) shape, in their own float dtype (float32 stays
        float32: the per-pixel paths of registration use it). Returns ``u, v, front``."""
        front = z > 1e-6
        zs = np.where(front, z, z.dtype.type(1))
        xn, yn = x / zs, y / zs
        if self.has_distortion:
            xn, yn = self._distort(xn, yn)
            xn, yn = xn.astype(x.dtype, copy=False), yn.astype(x.dtype, copy=False)
        dt = x.dtype.type
        return dt(self.fx) * xn + dt(self.cx), dt(self.fy) * yn + dt(self.cy), front

    def undistort_normalized(self, uv: np.ndarray) -> np.ndarray:
        """Normalised image coordinates (N, 2) (x/z, y/z) of pixels (N, 2): the inverse of the distortion model
        (OpenCV's iterative undistortion, run to convergence)."""
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        if not self.has_distortion:
            return np.stack([(uv[:, 0] - self.cx) / self.fx, (uv[:, 1] - self.cy) / self.fy], axis=1)
        pts = np.ascontiguousarray(uv.reshape(-1, 1, 2))
        K = np.asarray(self.K, dtype=np.float64)
        criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, UNDISTORT_MAX_ITERATIONS, UNDISTORT_EPSILON)
        if self.distortion_model == EQUIDISTANT:
            try:
                out = cv2.fisheye.undistortPoints(pts, K, self.D, criteria=criteria)
            except TypeError:  # OpenCV < 4.6 has no criteria here (its fixed 10 Newton steps converge as well)
                out = cv2.fisheye.undistortPoints(pts, K, self.D)
        else:
            out = cv2.undistortPointsIter(pts, K, self.D, None, None, criteria)
        return out.reshape(-1, 2)

    def backproject(self, uv: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Camera-frame points (N, 3) of pixels (N, 2) at depths z (N,) in metres."""
        n = self.undistort_normalized(uv)
        z = np.asarray(depth, dtype=np.float64).reshape(-1)
        return np.stack([n[:, 0] * z, n[:, 1] * z, z], axis=1)

    def pixel_rays(self) -> np.ndarray:
        """Normalised rays (H, W, 2) (x/z, y/z) for every pixel centre, undistorted."""
        u, v = np.meshgrid(np.arange(self.width, dtype=np.float64), np.arange(self.height, dtype=np.float64))
        n = self.undistort_normalized(np.stack([u.ravel(), v.ravel()], axis=1))
        return n.reshape(self.height, self.width, 2)
