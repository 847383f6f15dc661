"""Inference backends behind one small interface, a registry, and ``create_backend`` with fallback.

    backend = create_backend(BackendConfig(order=("tensorrt", "onnxruntime")), "models/embedded.onnx",
                             log=lambda level, msg: node_logger.info(msg))
    outputs = backend.infer({"rgb": ..., "thermal": ..., "depth": ..., "modality": ...})
    backend.close()   # releases the engine / session (before a reconfigure creates the next one)

Every backend exposes ``name``, ``device`` (a short description of what runs), ``meta`` (:class:`ModelMeta`,
from the ``.json`` beside the model), ``infer(inputs) -> {output name: np.ndarray}`` and ``close()``.
``create_backend`` tries the configured order and logs exactly one line saying what runs and why earlier
choices were skipped. A missing, corrupt or mismatched model file/metadata (checked before any backend) raises
:class:`ModelError`. A backend that cannot run here, or fails in any way while loading (a TensorRT parse,
build or load error, CUDA out of memory, an unwritable cache, an API mismatch), is skipped with its reason
and the next one is tried: only a model that no backend can run is an error (:class:`ModelError` when some
backend rejected the model, else :class:`BackendUnavailable`).

``log``: an optional ``callable(level, message)`` (``level`` a :mod:`logging` level) that receives every
line the backends log while loading - the selection line, cache decisions, TensorRT build phases and
progress, TensorRT's own warnings and errors - besides Python logging, so that a node can route them to its
logger and /diagnostics.
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

logger = logging.getLogger("tracker.backends")

META_FORMAT = 1
REQUIRED_META = ("format", "inputs", "outputs", "input_width", "input_height", "class_names", "embedding_dim",
                 "version_hash")


class ModelError(RuntimeError):
    """The model file or its metadata is missing, unreadable or inconsistent."""


class BackendUnavailable(RuntimeError):
    """A backend cannot run here (library or device missing); create_backend falls back to the next one."""


class BackendFailed(BackendUnavailable):
    """A backend that is present here failed to load the model (parse, build, load, out of memory, ...);
    create_backend falls back to the next one and logs the reason as a warning."""


@dataclass(frozen=True)
class BackendConfig:
    order: tuple[str, ...] = param(("tensorrt", "onnxruntime"),
                                   doc="backends in order of preference; the first that can run is used "
                                       "('torch', the development backend that runs a training checkpoint, is "
                                       "registered by tracker.network.torch_backend)")
    device: str = param("auto", choices=("auto", "cuda", "cpu"), doc="auto: GPU where a backend can use one")
    precision: str = param("fp16", choices=("fp32", "fp16", "int8"),
                           doc="TensorRT precision (int8 needs a Q/DQ model: explicit quantization; TensorRT 11 "
                               "has no fp16 builder flag and builds the model's own types)")
    engine_cache_dir: str = param("trt_engines", doc="where built TensorRT engines and timing caches go; a "
                                  "relative path is under $XDG_CACHE_HOME/tracker (~/.cache/tracker), else beside "
                                  "the model, else engines are not cached")
    workspace_mib: int = param(1024, unit="MiB", ge=16, doc="TensorRT builder workspace limit")
    tf32: bool = param(False, doc="let fp32 TensorRT layers use TF32 tensor cores (faster on Ampere and later; "
                                  "about 1e-3 relative error, may exceed the export parity bound)")
    progress_interval_s: float = param(2.0, unit="s", ge=0.0, doc="at most one TensorRT build progress line "
                                                                   "per phase in this interval")
    ort_providers: tuple[str, ...] = param(("tensorrt", "cuda", "cpu"),
                                           doc="ONNX Runtime execution providers in order of preference "
                                               "(tensorrt, cuda, cpu); only those this onnxruntime build has are "
                                               "requested")
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
        from .onnxruntime import ORT_PROVIDERS  # noqa: PLC0415 - the one table of provider names
        bad = [n for n in self.ort_providers if n not in ORT_PROVIDERS]
        if bad or not self.ort_providers:
            raise ValueError(f"ort_providers {list(self.ort_providers)}: valid names are {', '.join(ORT_PROVIDERS)}")


class Reporter:
    """One line to Python logging and, when given, to the caller's ``hook(level, message)`` (a node's logger
    and /diagnostics). A failing hook is reported once and then ignored: it must not break model loading."""

    def __init__(self, logger: logging.Logger, hook: Callable[[int, str], None] | None = None):
        self.logger = logger
        self.hook = hook

    def child(self, logger: logging.Logger) -> "Reporter":
        return Reporter(logger, self.hook)

    def __call__(self, message: str, level: int = logging.INFO) -> None:
        self.logger.log(level, "%s", message)
        if self.hook is None:
            return
        try:
            self.hook(level, message)
        except Exception as e:  # noqa: BLE001 - a broken hook must not stop the model from loading
            self.hook = None
            self.logger.warning("backend log hook failed (%s: %s); not calling it again", type(e).__name__, e)


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


def model_ops(onnx_path: str | Path) -> set[str]:
    """The operator types of the ONNX graph (weights not loaded)."""
    import onnx  # noqa: PLC0415
    m = onnx.load(str(onnx_path), load_external_data=False)
    return {n.op_type for n in m.graph.node}


def model_has_qdq(onnx_path: str | Path) -> bool:
    return bool(model_ops(onnx_path) & {"QuantizeLinear", "DequantizeLinear"})


class Backend(abc.ABC):
    name: str = ""

    def __init__(self, meta: ModelMeta, config: BackendConfig):
        self.meta = meta
        self.config = config
        self.device = "?"

    @abc.abstractmethod
    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the network once; inputs and outputs keyed by the names in the metadata."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the engine / session / device memory; idempotent. The backend cannot infer afterwards."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


#: name -> factory(model_path, meta, config, report) -> Backend; raises BackendUnavailable when it cannot run here
BACKENDS: dict[str, Callable[[Path, ModelMeta, BackendConfig, Reporter], Backend]] = {}


def register(name: str):
    def deco(factory):
        BACKENDS[name] = factory
        return factory
    return deco


def _ensure_registered() -> None:
    # importing the modules registers them; each imports its heavy library lazily
    from . import onnxruntime as _ort  # noqa: F401
    from . import tensorrt as _trt  # noqa: F401


def _try_backend(name: str, model_path: Path, meta: ModelMeta, config: BackendConfig, report: Reporter):
    """(backend, None) or (None, (kind, reason)); kind: unavailable | model | failed."""
    try:
        return BACKENDS[name](model_path, meta, config, report), None
    except BackendFailed as e:
        return None, ("failed", str(e))
    except BackendUnavailable as e:
        return None, ("unavailable", str(e))
    except ModelError as e:
        return None, ("model", str(e))
    except Exception as e:  # noqa: BLE001 - any failure of one backend is a reason to try the next
        return None, ("failed", f"{type(e).__name__}: {e}")


def create_backend(config: BackendConfig | None, model_path: str | Path,
                   log: Callable[[int, str], None] | None = None) -> Backend:
    """The first backend of ``config.order`` that can run ``model_path`` here, with one log line (also sent
    to ``log(level, message)`` when given, with everything else the backends report while loading)."""
    _ensure_registered()
    config = config or BackendConfig()
    unknown = [n for n in config.order if n not in BACKENDS]
    if unknown:
        raise ConfigError(f"backend order: unknown {unknown}; valid: {', '.join(BACKENDS)}")
    meta = load_meta(model_path, config.verify_hash)
    report = Reporter(logger, log)
    skipped: list[tuple[str, str, str]] = []
    for name in config.order:
        b, why = _try_backend(name, Path(model_path), meta, config, report)
        if b is None:
            skipped.append((name, *why))
            continue
        note = f" (skipped {'; '.join(f'{n}: {r}' for n, _, r in skipped)})" if skipped else ""
        level = logging.WARNING if any(k != "unavailable" for _, k, _ in skipped) else logging.INFO
        report(f"network backend: {b.name} on {b.device}, model {Path(model_path).name} [{meta.version_hash}]"
               f"{note}", level)
        return b
    reasons = "; ".join(f"{n}: {r}" for n, _, r in skipped)
    if any(k == "model" for _, k, _ in skipped):
        raise ModelError(f"no backend of {list(config.order)} can run {model_path}: {reasons}")
    raise BackendUnavailable(f"no backend of {list(config.order)} can run {model_path}: {reasons}")
