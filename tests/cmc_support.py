"""Synthetic frames with a known camera motion for the CMC tests: a textured room (axis-aligned planes) ray-cast
for any camera pose and camera model (lens distortion included), with depth, and a pasted moving patch."""
from __future__ import annotations

import cv2
import numpy as np

from tracker.common.geometry import CameraModel, Transform
from tracker.sim.rig import rot_xyz

TEX_SIZE = 512
TEXELS_PER_M = 24.0
#: planes of the room in the world frame (= the first camera's optical frame): (axis, coordinate)
PLANES = ((2, 8.0), (1, 1.6), (0, -5.0), (0, 5.0), (1, -3.5), (2, -8.0))


def texture(seed: int, blur: float = 1.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    tiled = np.tile(rng.random((TEX_SIZE, TEX_SIZE)).astype(np.float32), (3, 3))  # periodic blur
    t = cv2.GaussianBlur(tiled, (0, 0), blur)[TEX_SIZE:2 * TEX_SIZE, TEX_SIZE:2 * TEX_SIZE]
    t = (t - t.mean()) / t.std()
    return np.clip(128 + 45 * t, 0, 255).astype(np.float32)


class Room:
    """Renders the room seen by ``camera`` at pose T_world_cam: (rgb uint8 HxWx3, depth float32 metres)."""

    def __init__(self, camera: CameraModel, seed: int = 0, noise_dn: float = 1.5):
        self.camera = camera
        self.rays = camera.pixel_rays()  # undistorted (x/z, y/z) of every pixel centre
        self.tex = texture(seed)
        self.noise_dn = noise_dn
        self.rng = np.random.default_rng(seed + 1)

    def render(self, T_world_cam: Transform) -> tuple[np.ndarray, np.ndarray]:
        h, w = self.rays.shape[:2]
        d_cam = np.concatenate([self.rays, np.ones((h, w, 1))], axis=2)
        d = d_cam @ T_world_cam.R.T
        c = T_world_cam.t
        best = np.full((h, w), np.inf)
        grey = np.zeros((h, w), np.float32)
        for k, (axis, coord) in enumerate(PLANES):
            with np.errstate(divide="ignore", invalid="ignore"):
                s = (coord - c[axis]) / d[..., axis]
            hit = (s > 0) & (s < best)
            if not hit.any():
                continue
            p = c + s[..., None] * d
            a, b = [i for i in range(3) if i != axis]
            mx = (p[..., a] * TEXELS_PER_M + 97 * k).astype(np.float32)
            my = (p[..., b] * TEXELS_PER_M + 31 * k).astype(np.float32)
            val = cv2.remap(self.tex, np.mod(mx, TEX_SIZE), np.mod(my, TEX_SIZE), cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_WRAP)
            grey[hit] = val[hit]
            best[hit] = s[hit]
        grey += self.rng.normal(0, self.noise_dn, grey.shape).astype(np.float32)
        g = np.clip(grey, 0, 255).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=2), best.astype(np.float32)  # z of a ray with z = 1 is s


def paste_patch(rgb: np.ndarray, depth: np.ndarray, box: tuple[int, int, int, int], seed: int = 7,
                z: float = 2.5) -> None:
    """Paste a textured rectangle (a moving object) at pixel box (x0, y0, x1, y1), in place; its texture moves
    with the box."""
    x0, y0, x1, y1 = box
    tex = texture(seed, blur=2.0)[: y1 - y0, : x1 - x0].astype(np.uint8)
    rgb[y0:y1, x0:x1] = tex[..., None]
    depth[y0:y1, x0:x1] = z


def small_motion(deg: float, axis=(0.3, 1.0, 0.2), t=(0.0, 0.0, 0.0)) -> Transform:
    """T_prev_curr: a rotation of ``deg`` about ``axis`` (previous camera frame) and a translation t (m)."""
    a = np.asarray(axis, float)
    a = a / np.linalg.norm(a) * np.deg2rad(deg)
    R, _ = cv2.Rodrigues(a)
    return Transform(R, np.asarray(t, float))


def rotation_error_deg(R_est: np.ndarray, R_true: np.ndarray) -> float:
    return float(np.rad2deg(np.arccos(np.clip((np.trace(R_est.T @ R_true) - 1) / 2, -1, 1))))


def start_pose() -> Transform:
    """A first camera pose a little inside the room (not the identity, so frames and world differ)."""
    return Transform(rot_xyz(0.02, -0.05, 0.01), np.array([0.3, -0.2, 0.5]))


# -- the simulator (world A) -------------------------------------------------------------------------------------
def sim_scenario(presets: str, overrides: dict | None, duration_s: float, seed: int):
    from tracker.sim.config import SimConfig, with_overrides
    from tracker.sim.engine import Scenario
    from tracker.sim.presets import apply_presets

    return Scenario(with_overrides(apply_presets(SimConfig(), presets), overrides or {}), duration_s, seed)


def sim_pairs(presets: str = "shake", n: int = 13, overrides: dict | None = None, seed: int = 0, t0: float = 0.5,
              fps: float = 30.0):
    """(colour camera, frames): n consecutive colour frames at ``fps`` from t0, each (rgb, depth registered to
    RGB in metres, GT boxes (N, 4), true T_prev_curr of the colour optical frame from the previous frame; the
    first one's is the identity)."""
    from tracker.data.encodings import depth_to_metres
    from tracker.pipeline.registration import Registrar
    from tracker.sim.engine import Renderer

    sc = sim_scenario(presets, overrides, t0 + n / fps + 1.0, seed)
    r = Renderer(sc, cameras=("color", "depth"))
    reg = Registrar(sc.cameras, sc.extrinsics)
    frames, T_prev = [], None
    for k in range(n):
        t = t0 + k / fps
        f, d = r.render("color", t), r.render("depth", t)
        T = sc.T_world_cam("color", t)
        boxes = np.array([o.box2d for o in f.gt], float).reshape(-1, 4)
        rel = Transform.identity() if T_prev is None else T_prev.inverse() @ T
        frames.append((f.image, reg.depth_to_rgb(depth_to_metres(d.image, d.encoding)), boxes, rel))
        T_prev = T
    return sc.cameras["color"], frames


#: detections from ground truth for the IDSW measurement: GT less visible than this is not detected or scored,
#: a visible object is missed with this probability, each box edge has this noise (fraction of the box size)
DET_MIN_VISIBILITY, DET_MISS_PROB, DET_BOX_JITTER = 0.3, 0.1, 0.04


def _noisy_detections(gt, rng):
    from tracker.core import Detections
    from tracker.data.contract import CLASS_NAMES

    boxes, classes, scores = [], [], []
    for o in gt:
        if rng.random() < DET_MISS_PROB:
            continue
        b = np.array(o.box2d, float)
        w, h = b[2] - b[0], b[3] - b[1]
        boxes.append(b + rng.normal(0, DET_BOX_JITTER, 4) * [w, h, w, h])
        classes.append(CLASS_NAMES.index(o.cls))
        scores.append(rng.uniform(0.5, 1.0))
    return Detections(np.array(boxes).reshape(-1, 4), np.array(scores), np.array(classes, int))


def cmc_idsw_run(jitter_deg: float, jitter_corr_s: float, duration_s: float, seed: int = 0,
                 presets: str = "shake", fps: float = 30.0, timings: list | None = None) -> tuple[dict, dict]:
    """Person scores (tracker.eval summaries: IDSW, HOTA, IDF1, ...) of the tracker core on one rendered
    moving-camera run, without and with ImageMotion's ego-motion (no TF, no embeddings, no 3D: only the motion
    model differs). Detections: ground-truth boxes with noise and misses; reported tracks: confirmed ones updated
    in the frame. ``timings`` collects ImageMotion.update seconds per frame."""
    import time

    from tracker.core import Tracker, TrackerConfig
    from tracker.eval.scoring import Obj, score_sequence
    from tracker.pipeline.cmc import ImageMotion
    from tracker.sim.engine import Renderer

    sc = sim_scenario(presets, {"rig": {"jitter_deg": jitter_deg, "jitter_corr_s": jitter_corr_s}},
                      duration_s + 1.0, seed)
    cam = sc.cameras["color"]
    r = Renderer(sc, cameras=("color",))
    rng = np.random.default_rng(seed + 100)
    stream = []
    for k in range(int(duration_s * fps)):
        f = r.render("color", k / fps)
        gt = [o for o in f.gt if o.visibility >= DET_MIN_VISIBILITY]
        stream.append((f, gt, _noisy_detections(gt, rng)))
    gt_frames = {k + 1: [Obj(str(o.id), o.cls, tuple(o.box2d), visibility=o.visibility) for o in gt]
                 for k, (_, gt, _) in enumerate(stream)}
    out = []
    for use_cmc in (False, True):
        tracker, motion, pred = Tracker(TrackerConfig(), camera=cam), ImageMotion(), {}
        for k, (f, _, dets) in enumerate(stream):
            ego = None
            if use_cmc:
                t = time.perf_counter()
                ego = motion.update(f.image, cam, dets.boxes)
                if timings is not None:
                    timings.append(time.perf_counter() - t)
            tracks = tracker.update(f.stamp, dets, ego_motion=ego)
            pred[k + 1] = [Obj(str(t.track_id), t.class_name, tuple(t.box), t.score) for t in tracks
                           if t.is_confirmed and t.det_index >= 0]
        out.append(score_sequence(gt_frames, pred).summary("person"))
    return out[0], out[1]
