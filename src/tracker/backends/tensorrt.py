"""TensorRT 10 backend: build (or load a cached) engine from the ONNX model, run it with ``execute_async_v3``.

Engine build: ``trt.Builder`` -> ``create_network`` (explicit batch is the only mode in TensorRT 10; the
``STRONGLY_TYPED`` flag is used for int8 models, whose Q/DQ nodes fix the precisions) -> ``trt.OnnxParser``
(parses the ``DeformConv`` nodes natively) -> ``BuilderConfig`` (workspace pool limit, FP16 flag for fp16,
INT8 via explicit quantization = Q/DQ nodes in the ONNX, a timing cache loaded before and saved after the build,
an ``IProgressMonitor`` that logs one progress line per phase) -> ``build_serialized_network`` -> a file.

Engines are cached under ``engine_cache_dir`` by a key of GPU name + compute capability + TensorRT version +
ONNX hash + precision (an engine is only valid on the GPU model and TensorRT version it was built with).
Device buffers and the stream come from PyTorch's CUDA allocator (no pycuda needed).

Only the parts without a GPU are unit-tested here (tests/test_backends_tensorrt.py, with a stand-in module).
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from pathlib import Path
from typing import Mapping

import numpy as np

from .base import Backend, BackendConfig, BackendUnavailable, ModelError, ModelMeta, check_inputs, register

log = logging.getLogger("tracker.backends.tensorrt")


def import_tensorrt():
    try:
        import tensorrt as trt  # noqa: PLC0415
    except Exception as e:  # noqa: BLE001 - the PyPI stubs fail in odd ways
        raise BackendUnavailable(f"tensorrt not importable ({type(e).__name__}: {e})") from e
    major = int(str(trt.__version__).split(".")[0])
    if major < 10:
        raise BackendUnavailable(f"TensorRT {trt.__version__} found, this backend needs TensorRT >= 10")
    return trt


def cuda_device_info() -> tuple[str, tuple[int, int]]:
    """(GPU name, compute capability) of the current CUDA device, via PyTorch."""
    try:
        import torch  # noqa: PLC0415
    except ImportError as e:
        raise BackendUnavailable("PyTorch (CUDA build) is needed for TensorRT device buffers") from e
    if not torch.cuda.is_available():
        raise BackendUnavailable("no CUDA device")
    i = torch.cuda.current_device()
    return torch.cuda.get_device_name(i), tuple(torch.cuda.get_device_capability(i))


def model_has_qdq(onnx_path: str | Path) -> bool:
    import onnx  # noqa: PLC0415
    m = onnx.load(str(onnx_path), load_external_data=False)
    return any(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in m.graph.node)


def engine_cache_key(gpu_name: str, compute_capability: tuple[int, int], trt_version: str, onnx_hash: str,
                     precision: str, workspace_mib: int) -> str:
    blob = json.dumps({"gpu": gpu_name, "cc": list(compute_capability), "trt": trt_version, "onnx": onnx_hash,
                       "precision": precision, "workspace_mib": workspace_mib}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", s).strip("-").lower()


def engine_path(cache_dir: str | Path, model_path: Path, key: str) -> Path:
    return Path(cache_dir) / f"{model_path.stem}-{key}.engine"


def timing_cache_path(cache_dir: str | Path, gpu_name: str, cc: tuple[int, int], trt_version: str) -> Path:
    return Path(cache_dir) / f"timing-{_slug(gpu_name)}-sm{cc[0]}{cc[1]}-trt{trt_version}.cache"


def make_progress_monitor(trt, logger: logging.Logger = log):
    """An ``IProgressMonitor`` that logs each top-level phase and its progress at most every 2 s."""

    class ProgressMonitor(trt.IProgressMonitor):
        def __init__(self):
            trt.IProgressMonitor.__init__(self)
            self.phases: dict[str, tuple[int, str | None]] = {}
            self._last = 0.0

        def phase_start(self, phase_name, parent_phase, num_steps):
            self.phases[phase_name] = (int(num_steps), parent_phase)
            if parent_phase is None:
                logger.info("TensorRT build: %s (%d steps)", phase_name, num_steps)

        def step_complete(self, phase_name, step):
            now = time.monotonic()
            total, parent = self.phases.get(phase_name, (0, None))
            if parent is None and now - self._last > 2.0:
                self._last = now
                logger.info("TensorRT build: %s %d/%d", phase_name, step + 1, total)
            return True  # False would cancel the build

        def phase_finish(self, phase_name):
            self.phases.pop(phase_name, None)

    return ProgressMonitor()


def build_engine(trt, onnx_path: Path, out_path: Path, precision: str, workspace_mib: int,
                 timing_cache: Path | None = None) -> Path:
    """Build a serialized engine from ``onnx_path`` into ``out_path`` (TensorRT 10 Python API)."""
    if precision == "int8" and not model_has_qdq(onnx_path):
        raise ModelError(f"precision int8 needs explicit quantization (Q/DQ nodes) in {onnx_path.name}; "
                         "export a Q/DQ model or use fp16")
    trt_logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(trt_logger)
    flags = 0
    if precision == "int8":
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, trt_logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errs = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelError(f"TensorRT cannot parse {onnx_path}: {errs}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mib) << 20)
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    cache = None
    if timing_cache is not None:
        blob = timing_cache.read_bytes() if timing_cache.is_file() else b""
        cache = config.create_timing_cache(blob)
        config.set_timing_cache(cache, ignore_mismatch=False)
    monitor = make_progress_monitor(trt)
    config.progress_monitor = monitor
    t0 = time.monotonic()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ModelError(f"TensorRT failed to build an engine from {onnx_path} (see the TensorRT log above)")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(".tmp")
    tmp.write_bytes(bytes(serialized))
    tmp.replace(out_path)
    if timing_cache is not None:
        timing_cache.write_bytes(bytes(config.get_timing_cache().serialize()))
    log.info("TensorRT engine built in %.0f s: %s", time.monotonic() - t0, out_path)
    return out_path


_TRT_TO_NP = {"FLOAT": np.float32, "HALF": np.float16, "INT32": np.int32, "INT8": np.int8, "BOOL": np.bool_}


class TensorRTBackend(Backend):
    name = "tensorrt"

    def __init__(self, model_path: Path, meta: ModelMeta, config: BackendConfig, trt=None, device_info=None):
        super().__init__(meta, config)
        if config.device == "cpu":
            raise BackendUnavailable("device cpu configured")
        if model_path.suffix != ".onnx":
            raise BackendUnavailable(f"needs an .onnx model, got {model_path.name}")
        trt = trt or import_tensorrt()
        gpu, cc = (device_info or cuda_device_info)()
        key = engine_cache_key(gpu, cc, trt.__version__, meta.version_hash, config.precision, config.workspace_mib)
        path = engine_path(config.engine_cache_dir, model_path, key)
        if not path.is_file():
            log.info("no cached TensorRT engine for %s on %s (sm %d.%d, TensorRT %s): building %s", model_path.name,
                     gpu, cc[0], cc[1], trt.__version__, path.name)
            build_engine(trt, model_path, path, config.precision, config.workspace_mib,
                         timing_cache_path(config.engine_cache_dir, gpu, cc, trt.__version__))
        self.trt = trt
        self.runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = self.runtime.deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise ModelError(f"cannot deserialize TensorRT engine {path} (delete it to rebuild)")
        self.context = self.engine.create_execution_context()
        self.engine_file = path
        self.device = f"{gpu} ({config.precision})"
        self._setup_buffers()

    def _setup_buffers(self) -> None:
        import torch  # noqa: PLC0415
        trt = self.trt
        self.torch = torch
        self.stream = torch.cuda.Stream()
        self.inputs, self.outputs, self.buffers = [], [], {}
        for i in range(self.engine.num_io_tensors):
            name = self.engine.get_tensor_name(i)
            shape = tuple(self.engine.get_tensor_shape(name))
            dtype = _TRT_TO_NP.get(self.engine.get_tensor_dtype(name).name, np.float32)
            buf = torch.empty(shape, dtype=getattr(torch, np.dtype(dtype).name), device="cuda")
            self.buffers[name] = buf
            self.context.set_tensor_address(name, buf.data_ptr())
            (self.inputs if self.engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT else self.outputs).append(name)
        missing = set(self.meta.input_shapes) - set(self.inputs)
        if missing:
            raise ModelError(f"engine {self.engine_file.name} lacks inputs {sorted(missing)}")

    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        torch = self.torch
        feeds = check_inputs(self.meta, inputs)
        with torch.cuda.stream(self.stream):
            for k in self.inputs:
                self.buffers[k].copy_(torch.from_numpy(feeds[k]).to(self.buffers[k].dtype), non_blocking=False)
            if not self.context.execute_async_v3(self.stream.cuda_stream):
                raise RuntimeError("TensorRT execute_async_v3 failed")
            out = {k: self.buffers[k].float().cpu().numpy() for k in self.outputs}
        self.stream.synchronize()
        return out


@register("tensorrt")
def _factory(model_path: Path, meta: ModelMeta, config: BackendConfig) -> Backend:
    return TensorRTBackend(model_path, meta, config)
