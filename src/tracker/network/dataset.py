"""Training data from contract bags: generation with tracker.sim when missing, registration to the RGB camera,
letterboxing to the network input, a compact on-disk cache, and the augmenting clip sampler.

A *clip* is one bag. Every kept RGB frame of a bag becomes a cached frame: RGB uint8, thermal raw counts
(uint16; registered, letterboxed), depth metres (float16, NaN = none), availability (rgb, thermal, depth),
and its objects (box in input px, class, clip-unique identity, visibility, range in metres from gt3d).
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .model import CLASS_NAMES
from .preprocess import Letterbox, encode_depth, normalise_thermal, rgb_tensor, thermal_values

log = logging.getLogger(__name__)
ENC_CODES = {"mono16": 0, "mono8": 1}


@dataclass(frozen=True)
class BagSpec:
    presets: str
    seed: int
    duration_s: float

    @property
    def condition(self) -> str:
        return self.presets

    def bag_path(self, root: Path) -> Path:
        from tracker.sim.simulate import bag_name
        return Path(root) / "bags" / bag_name(self.presets, self.seed, True)


def bag_specs(entries) -> list[BagSpec]:
    return [BagSpec(str(e["presets"]), int(e["seed"]), float(e["duration_s"])) for e in entries]


def ensure_bags(specs: list[BagSpec], root: Path) -> list[Path]:
    """Simulate (deterministically, randomised rig/scene per seed) every bag that is not there yet."""
    paths = []
    for s in specs:
        p = s.bag_path(root)
        if not (p / "metadata.yaml").is_file():
            from tracker.sim.simulate import simulate
            log.info("simulating %s (%s, seed %d, %.0f s)", p.name, s.presets, s.seed, s.duration_s)
            simulate(s.presets, s.duration_s, s.seed, randomize=True, out_dir=p.parent, progress=False)
        paths.append(p)
    return paths


def _frames_from_bag(path: Path, width: int, height: int, stride: int):
    from tracker.data.reader import BagReader
    from tracker.pipeline.registration import Registrar
    reader = BagReader(path)
    reg = Registrar(reader.cameras, reader.extrinsics)
    color = reader.cameras["color"]
    lb = Letterbox.fit(color.width, color.height, width, height)
    ids: dict[str, int] = {}
    for i, s in enumerate(reader.samples()):
        if i % stride or s.rgb is None:
            continue
        depth_rgb = reg.depth_to_rgb(s.depth) if s.depth is not None else None
        if s.thermal is not None:
            th = reg.thermal_to_rgb(s.thermal, depth_rgb)
            enc = ENC_CODES.get((s.thermal_encoding or "mono16").lower(), 0)
            th = lb.apply(th.astype(np.uint16))
        else:
            th, enc = np.zeros((height, width), np.uint16), -1
        dep = (lb.apply(depth_rgb, nearest=True, fill=np.nan).astype(np.float16) if depth_rgb is not None
               else np.full((height, width), np.nan, np.float16))
        rng = {g.id: float(np.linalg.norm(g.center)) for g in s.gt3d}
        objs = []
        for g in s.gt2d:
            if g.cls not in CLASS_NAMES:
                continue
            box = lb.boxes_to_input(np.asarray(g.box, np.float32)[None])[0]
            objs.append((*box, CLASS_NAMES.index(g.cls), ids.setdefault(g.id, len(ids)), g.visibility,
                         rng.get(g.id, np.nan)))
        yield (lb.apply(s.rgb), th, enc, dep, (True, s.thermal is not None, s.depth is not None),
               np.asarray(objs, np.float32).reshape(-1, 8))


class FrameCache:
    """All frames of a list of bags, letterboxed to the input size; arrays in one .npz per split."""

    def __init__(self, arrays: dict, conditions: list[str]):
        self.a = arrays
        self.conditions = conditions

    def __len__(self) -> int:
        return int(self.a["rgb"].shape[0])

    @staticmethod
    def build(specs: list[BagSpec], root: Path, width: int, height: int, stride: int, name: str,
              progress: bool = True) -> "FrameCache":
        key = hashlib.sha1(json.dumps([[s.presets, s.seed, s.duration_s] for s in specs] + [width, height, stride])
                           .encode()).hexdigest()[:10]
        path = Path(root) / f"cache_{name}_{width}x{height}_{key}.npz"
        conditions = [s.condition for s in specs]
        if path.is_file():
            return FrameCache(dict(np.load(path)), conditions)
        paths = ensure_bags(specs, root)
        cols = {k: [] for k in ("rgb", "thermal", "enc", "depth", "avail", "clip")}
        objs = []
        it = enumerate(paths)
        if progress:
            from tqdm import tqdm
            it = tqdm(list(it), desc=f"caching {name} bags", unit="bag")
        for ci, p in it:
            for rgb, th, enc, dep, avail, ob in _frames_from_bag(p, width, height, stride):
                f = len(cols["rgb"])
                for k, v in zip(("rgb", "thermal", "enc", "depth", "avail", "clip"), (rgb, th, enc, dep, avail, ci)):
                    cols[k].append(v)
                objs.append(np.column_stack([np.full(len(ob), f, np.float32), ob]) if len(ob) else
                            np.zeros((0, 9), np.float32))
        arrays = {k: np.stack(v) if k in ("rgb", "thermal", "depth", "avail") else np.asarray(v)
                  for k, v in cols.items()}
        arrays["objects"] = np.concatenate(objs) if objs else np.zeros((0, 9), np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **arrays)
        return FrameCache(arrays, conditions)

    def objects(self, i: int) -> np.ndarray:
        """(M, 8): x1, y1, x2, y2, class, id, visibility, range_m (the rows of frame i)."""
        o = self.a["objects"]
        if not hasattr(self, "_starts"):
            f = o[:, 0].astype(np.int64)
            self._starts = np.searchsorted(f, np.arange(len(self) + 1))
        return o[self._starts[i]:self._starts[i + 1], 1:]

    def network_inputs(self, i: int, modality=(True, True, True)) -> dict:
        """Inputs for frame i without augmentation (validation / evaluation)."""
        avail = self.a["avail"][i] & np.asarray(modality, bool)
        return make_inputs(self.a["rgb"][i], self.a["thermal"][i], int(self.a["enc"][i]),
                           self.a["depth"][i].astype(np.float32), avail)


def make_inputs(rgb_u8, thermal_raw, enc: int, depth_m, avail, percentiles=(2.0, 98.0)) -> dict:
    """Arrays (C, H, W) for one frame; a modality with avail False is zeros (as at inference)."""
    h, w = rgb_u8.shape[:2]
    rgb = rgb_tensor(rgb_u8) if avail[0] else np.zeros((3, h, w), np.float32)
    if avail[1] and enc >= 0:
        vals, fam = thermal_values(thermal_raw, "mono16" if enc == 0 else "mono8")
        th = normalise_thermal(vals, fam, thermal_raw > 0, percentiles)[None]
    else:
        th = np.zeros((1, h, w), np.float32)
    dep = encode_depth(depth_m) if avail[2] else np.zeros((2, h, w), np.float32)
    flags = np.array([avail[0], avail[1] and enc >= 0, avail[2]], np.float32)
    return {"rgb": rgb, "thermal": th, "depth": dep, "modality": flags}


@dataclass(frozen=True)
class AugmentConfig:
    crop_w: int = 224
    crop_h: int = 160
    p_drop_rgb: float = 0.2
    p_drop_thermal: float = 0.3
    p_drop_depth: float = 0.3
    thermal_shift_px: int = 3
    modalities: tuple = (True, True, True)  # the RGB-only ablation trains with (True, False, False)


def augment_frame(cache: FrameCache, i: int, rng: np.random.Generator, cfg: AugmentConfig):
    """One augmented training frame: a random crop, flip, photometric jitter, thermal mis-registration,
    modality dropout. Returns (inputs dict, objects (M, 8) in crop px)."""
    a = cache.a
    H, W = a["rgb"].shape[1:3]
    x0 = int(rng.integers(0, W - cfg.crop_w + 1))
    y0 = int(rng.integers(0, H - cfg.crop_h + 1))
    sl = (slice(y0, y0 + cfg.crop_h), slice(x0, x0 + cfg.crop_w))
    rgb = a["rgb"][i][sl].astype(np.float32)
    sx, sy = rng.integers(-cfg.thermal_shift_px, cfg.thermal_shift_px + 1, 2)
    th_full = np.roll(a["thermal"][i], (int(sy), int(sx)), axis=(0, 1))
    th = th_full[sl]
    dep = a["depth"][i][sl].astype(np.float32)
    # photometric RGB: brightness/contrast/gamma, blur, noise
    rgb = rgb * rng.uniform(0.5, 1.5) + rng.uniform(-20, 20)
    rgb = 255.0 * np.clip(rgb / 255.0, 0, 1) ** rng.uniform(0.7, 1.4)
    if rng.random() < 0.25:
        rgb = cv2.GaussianBlur(rgb, (0, 0), rng.uniform(0.5, 1.5))
    rgb = np.clip(rgb + rng.normal(0, rng.uniform(0, 8), rgb.shape), 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        dep = dep * np.float32(1.0 + rng.normal(0, 0.02))
    avail = a["avail"][i] & np.asarray(cfg.modalities, bool)
    keep = avail.copy()
    for m, p in enumerate((cfg.p_drop_rgb, cfg.p_drop_thermal, cfg.p_drop_depth)):
        if keep[m] and rng.random() < p:
            keep[m] = False
    if not keep.any():
        keep = avail.copy()
    pct = (rng.uniform(0.5, 5.0), rng.uniform(95.0, 99.5))
    inp = make_inputs(rgb, th, int(a["enc"][i]), dep, keep, pct)
    if inp["modality"][1]:
        inp["thermal"] = inp["thermal"] * np.float32(rng.uniform(0.8, 1.2))
    obj = cache.objects(i).copy()
    obj[:, [0, 2]] -= x0
    obj[:, [1, 3]] -= y0
    if rng.random() < 0.5:
        for k in ("rgb", "thermal", "depth"):
            inp[k] = np.ascontiguousarray(inp[k][:, :, ::-1])
        x1 = cfg.crop_w - obj[:, 2]
        obj[:, 2] = cfg.crop_w - obj[:, 0]
        obj[:, 0] = x1
    return inp, obj


class ClipBatchSampler:
    """Batches of ``clips`` clips x ``frames`` frames from a window of each clip, so identities recur in a
    batch (the positive pairs of the contrastive identity loss)."""

    def __init__(self, cache: FrameCache, clips: int, frames: int, window: int, seed: int):
        self.cache, self.clips, self.frames, self.window = cache, clips, frames, window
        self.rng = np.random.default_rng(seed)
        clip = cache.a["clip"]
        self.by_clip = [np.flatnonzero(clip == c) for c in np.unique(clip)]

    def sample(self) -> list[int]:
        out = []
        for c in self.rng.choice(len(self.by_clip), self.clips, replace=len(self.by_clip) < self.clips):
            idx = self.by_clip[c]
            start = int(self.rng.integers(0, max(1, len(idx) - self.window)))
            win = idx[start:start + self.window]
            out += list(self.rng.choice(win, self.frames, replace=len(win) < self.frames))
        return out
