"""Where training frames come from: contract bags on disk (simulator output, bags converted from VT-MOT /
MOTChallenge by tracker.data.converters, recordings) or simulator specs rendered on demand.

The one module of tracker.network that reads bags (:func:`read_frames`, through ``tracker.data.reader``).

    sources = resolve_bags(["build/bags/sim_*", "data/vtmot/seq01"], condition=None)  # globs, dirs
    for src in sources:
        check_bag(src.path)            # DataError naming the bag and the missing topic
        frames = read_frames(src.path, 320, 256, stride=2, registration=node_registration())
"""
from __future__ import annotations

import glob
import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tracker.data.contract import CLASS_NAMES, Topics
from tracker.pipeline.registration import RegistrationConfig

log = logging.getLogger(__name__)
#: a rosbag2 bag directory holds this file
BAG_METADATA = "metadata.yaml"


class DataError(ValueError):
    """A training bag cannot be used (not found, not a bag, no ground truth); the message names it."""


@dataclass(frozen=True)
class BagSource:
    """One bag of a training or validation set and its condition label (the per-condition AP key).

    ``ground_truth`` False: the bag's images only - its ground-truth topics are never read (an unlabelled bag,
    tracker.adapt); ``labels``: a pseudo-label file (tracker.network.cache.LABEL_COLUMNS rows, ``.npy``) that
    replaces the bag's objects in training (soft weights and ignore regions, tracker.network.targets)."""
    path: Path
    condition: str
    ground_truth: bool = True
    labels: str | None = None

    def to_json(self) -> dict:
        d = {"path": str(self.path), "condition": self.condition}
        if not self.ground_truth:
            d["ground_truth"] = False
        if self.labels:
            d["labels"] = str(self.labels)
        return d

    @staticmethod
    def from_json(d: dict) -> "BagSource":
        return BagSource(Path(d["path"]), str(d["condition"]), bool(d.get("ground_truth", True)),
                         d.get("labels") or None)


@dataclass(frozen=True)
class BagSpec:
    """A simulator bag of config/network.yaml ``data.train``/``data.val``: generated when missing."""
    presets: str
    seed: int
    duration_s: float

    @property
    def condition(self) -> str:
        from tracker.eval.evalset import condition_name  # the condition of simulator presets (tracker-eval's)
        return condition_name(self.presets)

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
        if not (p / BAG_METADATA).is_file():
            from tracker.sim.simulate import simulate
            log.info("simulating %s (%s, seed %d, %.0f s)", p.name, s.presets, s.seed, s.duration_s)
            simulate(s.presets, s.duration_s, s.seed, randomize=True, out_dir=p.parent, progress=False)
        paths.append(p)
    return paths


def spec_sources(specs: list[BagSpec], root: Path) -> list[BagSource]:
    """The bags of simulator specs (rendered when missing), labelled with their presets."""
    return [BagSource(p, s.condition) for s, p in zip(specs, ensure_bags(specs, root))]


def condition_for(path: Path) -> str:
    """A bag's condition as tracker-eval names it: the simulator presets of its sidecar
    (``<bag>.calibration.yaml``, joined by '+'), 'default' without presets, 'external' without a sidecar."""
    from tracker.eval.evaluate import condition_of
    return condition_of(path)


def _bag_dirs(pattern: str) -> list[Path]:
    """The bag directories a folder or glob names; DataError naming the pattern when there is none."""
    if glob.has_magic(pattern):
        bags = [Path(h) for h in sorted(glob.glob(pattern)) if (Path(h) / BAG_METADATA).is_file()]
        if not bags:
            raise DataError(f"{pattern}: matches no bag directory (a folder with {BAG_METADATA})")
        return bags
    p = Path(pattern)
    if not p.exists():
        raise DataError(f"bag {pattern}: no such file or directory")
    if not (p / BAG_METADATA).is_file():
        raise DataError(f"bag {pattern}: not a rosbag2 bag directory (no {BAG_METADATA})")
    return [p]


def resolve_bags(patterns, condition: str | None = None) -> list[BagSource]:
    """Bag directories from folders and globs (in the order given, each glob sorted, each bag once); each
    labelled ``condition`` or, when None, by its sidecar (:func:`condition_for`). DataError for a pattern that
    names no bag directory."""
    out, seen = [], set()
    for pat in patterns:
        for b in _bag_dirs(str(pat)):
            if b.resolve() not in seen:
                seen.add(b.resolve())
                out.append(BagSource(b, condition or condition_for(b)))
    return out


def images_only(topics: Topics = Topics()) -> Topics:
    """``topics`` with the ground-truth topics named '' (no bag has such a topic): a reader given these never
    reads a bag's ground truth (unlabelled bags, :attr:`BagSource.ground_truth` False)."""
    return replace(topics, gt_tracks="", gt_tracks_2d="")


def check_bag(path: Path, topics: Topics = Topics()) -> None:
    """DataError unless the bag can train the detector: RGB images with their camera_info and 2D ground truth
    (``/ground_truth/tracks_2d``; 3D ground truth is optional: without it no distance is learnt). With
    :func:`images_only` topics only the images and camera_info are needed."""
    from tracker.data.reader import BagReader, BagReadError
    try:
        with BagReader(path, topics) as r:
            present = r.topics_present
    except BagReadError as e:
        raise DataError(f"bag {path}: {e}") from e
    need = {topics.gt_tracks_2d: "2D ground truth (vision_msgs/Detection2DArray)",
            topics.color_image: "RGB images", topics.color_info: "RGB camera_info"}
    need.pop("", None)
    for topic, what in need.items():
        if topic not in present:
            raise DataError(f"bag {path}: no {what}: topic {topic} is missing or empty; training needs "
                            f"{', '.join(need)} (3D ground truth {topics.gt_tracks} is optional)")
    if topics.gt_tracks and topics.gt_tracks not in present:
        log.info("bag %s has no %s: no distance targets from it", path, topics.gt_tracks)


def _objects(lb, sample, ids: dict) -> np.ndarray:
    """(M, 8) rows x1, y1, x2, y2 (input px), class, clip-unique identity, visibility, range (m, NaN: no 3D)."""
    rng = {g.id: float(np.linalg.norm(g.center)) for g in sample.gt3d}
    rows = []
    for g in sample.gt2d:
        if g.cls not in CLASS_NAMES:
            continue
        box = lb.boxes_to_input(np.asarray(g.box, np.float32)[None])[0]
        rows.append((*box, CLASS_NAMES.index(g.cls), ids.setdefault(g.id, len(ids)), g.visibility,
                     rng.get(g.id, np.nan)))
    return np.asarray(rows, np.float32).reshape(-1, 8)


def read_frames(path: Path, width: int, height: int, stride: int, registration: RegistrationConfig,
                topics: Topics = Topics()):
    """Every ``stride``-th RGB frame of a bag, registered as the node registers it and letterboxed to
    ``width`` x ``height``: yields (rgb uint8, thermal raw or None, thermal encoding, depth m float32 or None,
    objects (M, 8)) - see :func:`tracker.network.inputs.letterbox_images`. DataError for an unreadable bag."""
    from tracker.data.reader import BagReader, BagReadError
    try:
        with BagReader(path, topics) as reader:
            yield from _registered_frames(reader, width, height, stride, registration)
    except BagReadError as e:
        raise DataError(f"bag {path}: {e}") from e


def _registered_frames(reader, width: int, height: int, stride: int, registration: RegistrationConfig):
    from tracker.pipeline.registration import Registrar

    from .inputs import letterbox_images
    from .preprocess import Letterbox
    reg = Registrar(reader.cameras, reader.extrinsics, registration)
    color = reader.cameras["color"]
    lb = Letterbox.fit(color.width, color.height, width, height)
    ids: dict[str, int] = {}
    for i, s in enumerate(reader.samples()):
        if i % stride or s.rgb is None:
            continue
        depth_rgb = reg.depth_to_rgb(s.depth) if s.depth is not None else None
        th = reg.thermal_to_rgb(s.thermal, depth_rgb) if s.thermal is not None else None
        rgb, th, dep = letterbox_images(lb, s.rgb, th, depth_rgb)
        yield rgb, th, s.thermal_encoding, dep, _objects(lb, s, ids)


def node_registration(node_yaml: str | Path | None = None) -> RegistrationConfig:
    """The registration a tracker node runs: the ``registration`` section of its ``node_yaml`` over the code
    defaults, parsed as the node parses it; without one, the code defaults, which the shipped
    config/tracker_node.yaml does not override (tests/test_network_dataset.py checks both). A deployment whose
    node YAML changes the registration trains with the same settings (``tracker-train --node-config``)."""
    if node_yaml is None:
        return RegistrationConfig()
    from tracker.common.config import from_mapping, load_yaml
    return from_mapping(RegistrationConfig, load_yaml(node_yaml).get("registration") or {},
                        where=f"{node_yaml}: registration")


@dataclass(frozen=True)
class RunData:
    """The bags of a training run (what ``--resume`` needs to find its data again). ``simulate``: the
    ``data.train`` / ``data.val`` simulator entries to render into ``<root>/bags`` when missing (spec mode)."""
    train: tuple[BagSource, ...]
    val: tuple[BagSource, ...]
    cache_dir: Path
    train_stride: int = 1
    val_stride: int = 1
    depth_storage: str = "uint16_mm"
    registration: dict | None = None
    simulate: dict | None = None

    def render_missing(self) -> None:
        if self.simulate:
            for split in ("train", "val"):
                ensure_bags(bag_specs(self.simulate[split]), Path(self.simulate["root"]))

    def to_json(self) -> dict:
        return {"train": [s.to_json() for s in self.train], "val": [s.to_json() for s in self.val],
                "cache_dir": str(self.cache_dir), "train_stride": self.train_stride, "val_stride": self.val_stride,
                "depth_storage": self.depth_storage, "registration": self.registration, "simulate": self.simulate}

    @staticmethod
    def from_json(d: dict) -> "RunData":
        return RunData(tuple(BagSource.from_json(s) for s in d["train"]),
                       tuple(BagSource.from_json(s) for s in d["val"]), Path(d["cache_dir"]),
                       int(d["train_stride"]), int(d["val_stride"]), d["depth_storage"], d["registration"],
                       d.get("simulate"))


def run_data(data: dict, cache_dir: str = "", depth_storage: str = "uint16_mm", bags=None, val=None,
             condition: str | None = None, registration: RegistrationConfig | None = None) -> RunData:
    """The data of a run: the simulator bags of the ``data`` section (config/network.yaml) or, when ``bags`` is
    given, those bags (folders / globs) and the ``val`` ones (none: no validation), labelled by ``condition``
    or their sidecars. Strides: ``data.train_stride`` / ``data.val_stride``; frames registered with
    ``registration`` (default: as the shipped node registers them)."""
    from dataclasses import asdict
    root = Path(data.get("root", "build/netdata"))
    common = {"cache_dir": Path(cache_dir) if cache_dir else root / "cache",
              "train_stride": int(data.get("train_stride", 1)), "val_stride": int(data.get("val_stride", 1)),
              "depth_storage": depth_storage, "registration": asdict(registration or node_registration())}
    val_sources = tuple(resolve_bags(val, condition)) if val else None
    if bags:
        return RunData(tuple(resolve_bags(bags, condition)), val_sources or (), **common)
    specs = {k: bag_specs(data[k]) for k in ("train", "val")}
    train, sim_val = (tuple(BagSource(s.bag_path(root), s.condition) for s in specs[k]) for k in ("train", "val"))
    return RunData(train, sim_val if val_sources is None else val_sources, **common,
                   simulate={"root": str(root), "train": list(data["train"]), "val": [] if val else list(data["val"])})
