"""Inference backends behind one small interface, a registry, and ``create_backend`` with fallback.

    backend = create_backend(BackendConfig(order=("tensorrt", "onnxruntime", "torch")), "models/embedded.onnx")
    outputs = backend.infer({"rgb": ..., "thermal": ..., "depth": ..., "modality": ...})

Every backend exposes ``name``, ``device`` (a short description of what runs), ``meta`` (:class:`ModelMeta`,
from the ``.json`` beside the model) and ``infer(inputs) -> {output name: np.ndarray}``. ``create_backend``
tries the configured order, logs exactly one line saying what runs (and why earlier choices were skipped),
and raises :class:`ModelError` for a missing, corrupt or mismatched model (that is not a reason to fall back:
every backend would load the same file).
"""
from __future__ import annotations

import abc
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from tracker.common.config import ConfigError, param

log = logging.getLogger("tracker.backends")

META_FORMAT = 1
REQUIRED_META = ("format", "inputs", "outputs", "input_width", "input_height", "class_names", "embedding_dim",
                 "version_hash")


class ModelError(RuntimeError):
    """The model file or its metadata is missing, unreadable or inconsistent."""


class BackendUnavailable(RuntimeError):
    """A backend cannot run here (library or device missing); create_backend falls back to the next one."""


@dataclass(frozen=True)
class BackendConfig:
    order: tuple[str, ...] = param(("tensorrt", "onnxruntime", "torch"),
                                   doc="backends in order of preference; the first that can run is used")
    device: str = param("auto", choices=("auto", "cuda", "cpu"), doc="auto: GPU where a backend can use one")
    precision: str = param("fp16", choices=("fp32", "fp16", "int8"),
                           doc="TensorRT precision (int8 needs a Q/DQ model: explicit quantization)")
    engine_cache_dir: str = param("build/trt_engines", doc="where built TensorRT engines and timing caches go")
    workspace_mib: int = param(1024, unit="MiB", ge=16, doc="TensorRT builder workspace limit")
    threads: int = param(0, ge=0, doc="ONNX Runtime / torch CPU threads (0: library default)")
    spin_wait: bool = param(False, doc="let ONNX Runtime's CPU threads busy-wait between operators: a little "
                                       "faster alone, slower beside other busy processes (player, recorder, DDS)")
    verify_hash: bool = param(True, doc="check the model file against the metadata's version_hash")

    def validate(self) -> None:
        _ensure_registered()
        unknown = [n for n in self.order if n not in BACKENDS]
        if unknown:
            raise ValueError(f"unknown backend(s) {unknown}; valid: {', '.join(BACKENDS)}")
        if not self.order:
            raise ValueError("order must name at least one backend")


@dataclass(frozen=True)
class ModelMeta:
    path: Path
    data: dict

    @property
    def input_shapes(self) -> dict[str, tuple[int, ...]]:
        return {k: tuple(v) for k, v in self.data["inputs"].items()}

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(self.data["outputs"])

    @property
    def version_hash(self) -> str:
        return self.data["version_hash"]

    def __getitem__(self, key):
        return self.data[key]

    def get(self, key, default=None):
        return self.data.get(key, default)


def file_hash(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def metadata_path(model_path: str | Path) -> Path:
    return Path(model_path).with_suffix(".json")


def load_meta(model_path: str | Path, verify_hash: bool = True) -> ModelMeta:
    """Read and check the metadata beside ``model_path`` (``model.onnx`` -> ``model.json``)."""
    mp = Path(model_path)
    if not mp.is_file():
        raise ModelError(f"model file not found: {mp}")
    jp = metadata_path(mp)
    if not jp.is_file():
        raise ModelError(f"model metadata not found: {jp} (tracker-export writes it beside the .onnx)")
    try:
        data = json.loads(jp.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelError(f"model metadata {jp} is not valid JSON: {e}") from e
    missing = [k for k in REQUIRED_META if k not in data]
    if missing:
        raise ModelError(f"model metadata {jp} lacks {missing}")
    if data["format"] != META_FORMAT:
        raise ModelError(f"model metadata {jp} has format {data['format']}, this code reads {META_FORMAT}")
    if verify_hash and mp.suffix == ".onnx":
        h = file_hash(mp)
        if h != data["version_hash"]:
            raise ModelError(f"model {mp} does not match its metadata {jp}: file hash {h}, metadata says "
                             f"{data['version_hash']} (re-export, or copy both files together)")
    return ModelMeta(mp, data)


def check_inputs(meta: ModelMeta, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The inputs as contiguous float32, checked against the model's names and shapes."""
    shapes = meta.input_shapes
    missing = [k for k in shapes if k not in inputs]
    extra = [k for k in inputs if k not in shapes]
    if missing or extra:
        raise ValueError(f"model inputs are {list(shapes)}; missing {missing}, unexpected {extra}")
    out = {}
    for k, shape in shapes.items():
        a = np.ascontiguousarray(inputs[k], dtype=np.float32)
        if a.shape != shape:
            raise ValueError(f"input {k!r} has shape {a.shape}, the model expects {shape}")
        out[k] = a
    return out


class Backend(abc.ABC):
    name: str = ""

    def __init__(self, meta: ModelMeta, config: BackendConfig):
        self.meta = meta
        self.config = config
        self.device = "?"

    @abc.abstractmethod
    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the network once; inputs and outputs keyed by the names in the metadata."""

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


#: name -> factory(model_path, meta, config) -> Backend; raises BackendUnavailable when it cannot run here
BACKENDS: dict[str, Callable[[Path, ModelMeta, BackendConfig], Backend]] = {}


def register(name: str):
    def deco(factory):
        BACKENDS[name] = factory
        return factory
    return deco


def _ensure_registered() -> None:
    # importing the modules registers them; each imports its heavy library lazily
    from . import onnxruntime as _ort  # noqa: F401
    from . import tensorrt as _trt  # noqa: F401
    from . import torch_backend as _tb  # noqa: F401


def create_backend(config: BackendConfig | None, model_path: str | Path) -> Backend:
    """The first backend of ``config.order`` that can run ``model_path`` here, with one log line."""
    _ensure_registered()
    config = config or BackendConfig()
    unknown = [n for n in config.order if n not in BACKENDS]
    if unknown:
        raise ConfigError(f"backend order: unknown {unknown}; valid: {', '.join(BACKENDS)}")
    meta = load_meta(model_path, config.verify_hash)
    skipped = []
    for name in config.order:
        try:
            b = BACKENDS[name](Path(model_path), meta, config)
        except BackendUnavailable as e:
            skipped.append(f"{name}: {e}")
            continue
        note = f" (skipped {'; '.join(skipped)})" if skipped else ""
        log.info("network backend: %s on %s, model %s [%s]%s", b.name, b.device, Path(model_path).name,
                 meta.version_hash, note)
        return b
    raise BackendUnavailable(f"no backend of {list(config.order)} can run {model_path}: " + "; ".join(skipped))
