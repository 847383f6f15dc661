"""The compact on-disk frame cache: one folder per bag and preprocessing, memory-mapped, written once.

    <cache_dir>/<bag name>-<key>/meta.json      frames, size, storage, what the key was made of
                                 rgb.u8        (N, H, W, 3) uint8, letterboxed, registered
                                 thermal.u16   (N, H, W) raw counts (mono8 images widened; 0 = no reading)
                                 enc.i8        (N,) thermal family index (THERMAL_FAMILIES), -1 = no thermal
                                 depth.<dt>    (N, H, W) uint16 mm (0 = none), float16 or float32 metres (NaN)
                                 avail.b       (N, 3) rgb, thermal, depth present
                                 objects.f32   (M, 9) frame, x1, y1, x2, y2, class, id, visibility, range_m

A :class:`BagSource` with ``ground_truth`` False is cached from its images only (its ground-truth topics are
never read; the key differs, so its folder is its own); one with ``labels`` has its objects replaced by that
pseudo-label file in :class:`FrameCache` (rows :data:`LABEL_COLUMNS`: the objects' columns + weight, ignore).

``key`` = SHA-1 of the bag's content fingerprint (metadata.yaml, file names and sizes, head and tail bytes of
each file) and of everything that shapes the arrays (input size, stride, registration, topics, depth storage,
:data:`CACHE_FORMAT`). A folder is written under a temporary name and renamed when complete, so a reader
never sees half a cache. Worker processes open the files themselves (memory maps do not travel by pickle).
Network inputs are made from the cached arrays by :func:`cached_inputs` = ``tracker.network.inputs.encode_inputs``,
the Detector's own encoding; ``uint16_mm`` depth rounds registered depth to the millimetre (the 16UC1 sensor
format's resolution), the one difference to the inference input (inverse depth within 0.5 mm / d^2).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tracker.common.config import param
from tracker.data.contract import DEPTH_MM_PER_METRE, Topics
from tracker.pipeline.registration import RegistrationConfig

from .inputs import encode_inputs
from .preprocess import DEFAULT_NORMALISATION, THERMAL_FAMILIES, NormalisationConfig, thermal_family
from .sources import BagSource

#: bump when what a cache folder holds changes (3: per-bag memory-mapped folders, depth storage choices)
CACHE_FORMAT = 3
#: the cached ``enc`` of a frame: index of its thermal family (-1: no thermal)
ENC_CODES = {f: i for i, f in enumerate(THERMAL_FAMILIES)}
DEPTH_DTYPES = {"uint16_mm": np.uint16, "float16": np.float16, "float32": np.float32}
#: bytes read from the head and the tail of every bag file for the content fingerprint
FINGERPRINT_BYTES = 1 << 16
_UINT16_MAX = np.iinfo(np.uint16).max
#: columns of a pseudo-label file (.npy, float32, rows sorted by frame): the cached objects' + the soft weight
#: (scales that object's losses) and the ignore flag (1: the box is an ignore region, no target)
LABEL_COLUMNS = ("frame", "x1", "y1", "x2", "y2", "class", "id", "visibility", "range_m", "weight", "ignore")
_COLUMNS = {"rgb": np.uint8, "thermal": np.uint16, "enc": np.int8, "depth": None, "avail": np.bool_,
            "objects": np.float32}


@dataclass(frozen=True)
class CacheConfig:
    """config/network.yaml ``cache``."""
    dir: str = param("", doc="cache folder ('' = <data.root>/cache)")
    depth_storage: str = param("uint16_mm", choices=tuple(DEPTH_DTYPES),
                               doc="uint16_mm: millimetres (beyond 65.535 m no data, as 16UC1); float16/32: metres")


def encode_depth_storage(depth_m, storage: str) -> np.ndarray:
    d = np.asarray(depth_m, np.float32)
    if storage != "uint16_mm":
        return d.astype(DEPTH_DTYPES[storage])
    mm = np.rint(np.where(np.isfinite(d), d, 0) * DEPTH_MM_PER_METRE)
    return np.where((mm >= 1) & (mm <= _UINT16_MAX), mm, 0).astype(np.uint16)


def decode_depth_storage(stored: np.ndarray, storage: str) -> np.ndarray:
    """Float32 metres, NaN = no reading."""
    if storage != "uint16_mm":
        return np.asarray(stored, np.float32)
    d = stored.astype(np.float32) / np.float32(DEPTH_MM_PER_METRE)
    d[stored == 0] = np.nan
    return d


def storage_frame(rgb, thermal, thermal_encoding, depth, width: int, height: int, storage: str) -> tuple:
    """Letterboxed images (``letterbox_images``) -> the stored (rgb, thermal uint16, enc, depth, avail)."""
    if thermal is None:
        th, enc = np.zeros((height, width), np.uint16), -1
    else:
        th, enc = np.asarray(thermal).astype(np.uint16), ENC_CODES[thermal_family(thermal_encoding)]
    dep = encode_depth_storage(np.full((height, width), np.nan, np.float32) if depth is None else depth, storage)
    return rgb, th, enc, dep, (True, thermal is not None, depth is not None)


def bag_fingerprint(path: Path) -> str:
    """SHA-1 over the bag folder's metadata.yaml and, per file, its name, size, head and tail bytes."""
    h = hashlib.sha1()
    for f in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        size = f.stat().st_size
        h.update(f"{f.relative_to(path)}:{size}".encode())
        with open(f, "rb") as fh:
            if f.name == "metadata.yaml":
                h.update(fh.read())
                continue
            h.update(fh.read(FINGERPRINT_BYTES))
            fh.seek(max(0, size - FINGERPRINT_BYTES))
            h.update(fh.read(FINGERPRINT_BYTES))
    return h.hexdigest()


def cache_key(bag: Path, width: int, height: int, stride: int, registration: RegistrationConfig,
              storage: str, topics: Topics = Topics()) -> str:
    parts = [bag_fingerprint(bag), width, height, stride, asdict(registration), asdict(topics), storage,
             CACHE_FORMAT]
    return hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12]


def _dtype(col: str, storage: str):
    return DEPTH_DTYPES[storage] if col == "depth" else _COLUMNS[col]


def _file(col: str, storage: str) -> str:
    return f"{col}.{np.dtype(_dtype(col, storage)).str[1:]}"


class BagCache:
    """The cached frames of one bag (memory-mapped on first use, read-only)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.meta = json.loads((self.folder / "meta.json").read_text())
        self._maps: dict | None = None

    def __len__(self) -> int:
        return int(self.meta["frames"])

    def __getstate__(self):  # worker processes map the files themselves
        return {"folder": self.folder, "meta": self.meta, "_maps": None}

    @property
    def arrays(self) -> dict:
        if self._maps is None:
            n, h, w, s = len(self), self.meta["height"], self.meta["width"], self.meta["depth_storage"]
            shapes = {"rgb": (n, h, w, 3), "thermal": (n, h, w), "enc": (n,), "depth": (n, h, w), "avail": (n, 3),
                      "objects": (int(self.meta["objects"]), 9)}
            self._maps = {c: _map(self.folder / _file(c, s), _dtype(c, s), shp) for c, shp in shapes.items()}
        return self._maps

    @staticmethod
    def write(source: BagSource, folder: Path, frames, width: int, height: int, storage: str) -> "BagCache":
        """Write ``frames`` (:func:`tracker.network.sources.read_frames`) into ``folder`` atomically."""
        tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        files = {c: open(tmp / _file(c, storage), "wb") for c in _COLUMNS}
        n = m = 0
        try:
            for rgb, th, enc_name, dep, objs in frames:
                stored = storage_frame(rgb, th, enc_name, dep, width, height, storage)
                for c, v in zip(("rgb", "thermal", "enc", "depth", "avail"), stored):
                    files[c].write(np.ascontiguousarray(v, dtype=_dtype(c, storage)).tobytes())
                files["objects"].write(np.column_stack([np.full(len(objs), n, np.float32), objs]).tobytes())
                n, m = n + 1, m + len(objs)
        finally:
            for f in files.values():
                f.close()
        meta = {"format": CACHE_FORMAT, "bag": str(source.path), "frames": n, "objects": m, "width": width,
                "height": height, "depth_storage": storage}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        try:
            os.replace(tmp, folder)
        except OSError:  # written meanwhile by another process: keep that one
            shutil.rmtree(tmp, ignore_errors=True)
        return BagCache(folder)


def _map(path: Path, dtype, shape) -> np.ndarray:
    if int(np.prod(shape)) == 0:
        return np.zeros(shape, dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=shape)


def cached_inputs(rgb_u8, thermal_raw, enc: int, depth_m, avail, norm: NormalisationConfig = DEFAULT_NORMALISATION,
                  thermal_percentiles=None, thermal_relative_gain: float = 1.0) -> dict:
    """Arrays (C, H, W) of one cached frame (tracker.network.inputs.encode_inputs); a modality with avail False
    (or thermal with enc -1) is zeros with flag 0, as at inference."""
    has_thermal = bool(avail[1]) and enc >= 0
    return encode_inputs(rgb_u8 if avail[0] else None, thermal_raw if has_thermal else None,
                         THERMAL_FAMILIES[enc] if has_thermal else None,
                         np.asarray(depth_m, np.float32) if avail[2] else None, norm, thermal_percentiles,
                         shape=np.shape(rgb_u8)[:2], thermal_relative_gain=thermal_relative_gain)


def open_or_build(source: BagSource, cache_dir: Path, width: int, height: int, stride: int,
                  registration: RegistrationConfig, storage: str) -> BagCache:
    """The bag's cache folder, written first when it is not there (the bag is checked for ground truth, unless
    ``source.ground_truth`` is False: then its ground truth is not read at all)."""
    from .sources import DataError, check_bag, images_only, read_frames
    topics = Topics() if source.ground_truth else images_only()
    key = cache_key(source.path, width, height, stride, registration, storage, topics)
    folder = Path(cache_dir) / f"{source.path.name}-{key}"
    if not (folder / "meta.json").is_file():
        check_bag(source.path, topics)
        frames = read_frames(source.path, width, height, stride, registration, topics)
        BagCache.write(source, folder, frames, width, height, storage)
    cache = BagCache(folder)
    if not len(cache):
        raise DataError(f"bag {source.path}: no RGB frame to train on (stride {stride})")
    return cache


def _weighted(objects) -> np.ndarray:
    """Cached object rows with weight 1 and ignore 0 (a labelled bag beside pseudo-labelled ones)."""
    own = np.asarray(objects, np.float32)
    return np.column_stack([own, np.ones(len(own), np.float32), np.zeros(len(own), np.float32)])


def load_labels(path, frames: int) -> np.ndarray:
    """A pseudo-label file (.npy, rows :data:`LABEL_COLUMNS`, sorted by frame, frames in 0..frames-1) as float32;
    DataError naming the file when it is not one."""
    from .sources import DataError
    try:
        a = np.asarray(np.load(path, allow_pickle=False), np.float32)
    except (OSError, ValueError) as e:
        raise DataError(f"labels {path}: cannot read: {e}") from e
    a = a.reshape(-1, len(LABEL_COLUMNS)) if a.size == 0 else a
    if a.ndim != 2 or a.shape[1] != len(LABEL_COLUMNS):
        raise DataError(f"labels {path}: expected rows of {len(LABEL_COLUMNS)} columns {LABEL_COLUMNS}, got shape "
                        f"{a.shape}")
    f = a[:, 0]
    if len(a) and (np.any(np.diff(f) < 0) or f.min() < 0 or f.max() >= frames):
        raise DataError(f"labels {path}: frames must be sorted and within 0..{frames - 1}")
    return a


class FrameCache:
    """The cached frames of a list of bags (clip i = bag i, labelled ``conditions[i]``), indexed 0..N-1.
    ``a`` holds the small per-frame arrays in memory: ``clip``, ``enc``, ``avail``; images are read from the
    memory maps by :meth:`frame`. ``labels``: per bag a pseudo-label array (:data:`LABEL_COLUMNS`) or None; with
    any, :meth:`objects` has two more columns (weight, ignore; 1 and 0 for a bag's own objects)."""

    def __init__(self, bags: list[BagCache], conditions: list[str], labels: list | None = None):
        self.bags, self.conditions = bags, list(conditions)
        self.labels = list(labels) if labels is not None and any(x is not None for x in labels) else None
        sizes = [len(b) for b in bags]
        self._bag_of = np.repeat(np.arange(len(bags)), sizes)
        self._local = np.concatenate([np.arange(n) for n in sizes]) if bags else np.zeros(0, np.int64)
        self.a = {"clip": self._bag_of.astype(np.int64),
                  "enc": np.concatenate([b.arrays["enc"] for b in bags]) if bags else np.zeros(0, np.int8),
                  "avail": np.concatenate([b.arrays["avail"] for b in bags]) if bags else np.zeros((0, 3), bool)}
        if self.labels is not None:  # every bag's rows with weight and ignore: its labels, or its own objects
            self.labels = [lab if lab is not None else _weighted(b.arrays["objects"]) for lab, b in zip(labels, bags)]
        self._starts = [np.searchsorted(self._rows(k)[:, 0], np.arange(len(b) + 1)) for k, b in enumerate(bags)]

    def _rows(self, k: int) -> np.ndarray:
        """Bag k's object rows: frame + the objects' columns (+ weight, ignore with labels)."""
        return self.bags[k].arrays["objects"] if self.labels is None else self.labels[k]

    def __len__(self) -> int:
        return int(self._bag_of.size)

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of the cached frames."""
        return int(self.bags[0].meta["height"]), int(self.bags[0].meta["width"])

    def frame(self, i: int) -> tuple:
        """(rgb uint8 (H, W, 3), thermal uint16 (H, W), enc, depth float32 metres (NaN: none), avail (3,))."""
        b, j = self.bags[self._bag_of[i]], int(self._local[i])
        arr = b.arrays
        return (np.asarray(arr["rgb"][j]), np.asarray(arr["thermal"][j]), int(arr["enc"][j]),
                decode_depth_storage(np.asarray(arr["depth"][j]), b.meta["depth_storage"]), arr["avail"][j].copy())

    def objects(self, i: int) -> np.ndarray:
        """(M, 8): x1, y1, x2, y2, class, id, visibility, range_m (the rows of frame i); (M, 10) with labels:
        + weight, ignore."""
        k, j = int(self._bag_of[i]), int(self._local[i])
        s = self._starts[k]
        return np.asarray(self._rows(k)[s[j]:s[j + 1], 1:])

    def network_inputs(self, i: int, modality=(True, True, True),
                       norm: NormalisationConfig = DEFAULT_NORMALISATION) -> dict:
        """Inputs for frame i without augmentation (validation / evaluation): the Detector's for that frame."""
        rgb, th, enc, dep, avail = self.frame(i)
        return cached_inputs(rgb, th, enc, dep, avail & np.asarray(modality, bool), norm)

    @staticmethod
    def from_sources(sources: list[BagSource], cache_dir: Path, width: int, height: int, stride: int,
                     registration: RegistrationConfig, storage: str = "uint16_mm", progress: bool = False,
                     name: str = "") -> "FrameCache":
        """Open (writing them first where missing) the caches of ``sources``."""
        it = sources
        if progress:
            from tqdm import tqdm
            it = tqdm(sources, desc=f"caching {name} bags".replace("  ", " "), unit="bag")
        bags = [open_or_build(s, cache_dir, width, height, stride, registration, storage) for s in it]
        labels = [load_labels(s.labels, len(b)) if s.labels else None for s, b in zip(sources, bags)]
        return FrameCache(bags, [s.condition for s in sources], labels)

    @staticmethod
    def build(specs, root: Path, width: int, height: int, stride: int, name: str = "", progress: bool = True,
              registration: RegistrationConfig | None = None, storage: str = "uint16_mm") -> "FrameCache":
        """The cache of simulator specs (rendered under ``root/bags`` when missing) in ``root/cache``;
        registered with ``registration`` (default: the node's)."""
        from .sources import node_registration, spec_sources
        return FrameCache.from_sources(spec_sources(specs, Path(root)), Path(root) / "cache", width, height, stride,
                                       registration or node_registration(), storage, progress, name)
