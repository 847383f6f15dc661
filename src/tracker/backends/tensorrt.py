"""TensorRT 10/11 backend: build (or load a cached) engine from the ONNX model, run it with ``execute_async_v3``.

Engines are cached by a key of GPU name + compute capability + TensorRT version + ONNX hash + build plan +
workspace (an engine is only valid on the GPU model and TensorRT version it was built with), in the directory
:func:`.cache.resolve_cache_dir` picks; concurrent builders of one engine take a lock and build it once, and
every file is written atomically. Device buffers and the stream come from PyTorch's CUDA allocator (no pycuda).
Any failure while loading raises; ``create_backend`` then falls back to the next backend with one line saying
why. Rules per TensorRT version and precision: :mod:`.trt_policy`; the build: :mod:`.trt_build`.

This has not run on hardware: tests/test_backends_tensorrt.py runs it against a strict stand-in of the
``tensorrt`` module (tests/trt_standin) whose engines execute with ONNX Runtime on the CPU.
"""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Mapping

import numpy as np

from .base import (Backend, BackendConfig, BackendFailed, BackendUnavailable, ModelError, ModelMeta, Reporter, check_inputs,
                   model_has_qdq, register)
from .cache import atomic_write, exclusive_lock, resolve_cache_dir
from .trt_build import (build_engine, engine_cache_key, engine_path, init_plugins, make_progress_monitor,
                        make_trt_logger, timing_cache_path)
from .trt_policy import check_version, numpy_dtype, plan_build

__all__ = ["TensorRTBackend", "TorchDeviceMemory", "build_engine", "cuda_device_info", "engine_cache_key",
           "engine_path", "import_tensorrt", "make_progress_monitor", "model_has_qdq", "timing_cache_path"]

log = logging.getLogger("tracker.backends.tensorrt")


def import_tensorrt():
    try:
        import tensorrt as trt  # noqa: PLC0415
    except Exception as e:  # noqa: BLE001 - the PyPI stubs fail in odd ways
        raise BackendUnavailable(f"tensorrt not importable ({type(e).__name__}: {e})") from e
    check_version(getattr(trt, "__version__", "?"))
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


class TorchDeviceMemory:
    """Device buffers and one stream from PyTorch (``device="cpu"`` gives host buffers and no stream: tests)."""

    def __init__(self, device: str = "cuda"):
        import torch  # noqa: PLC0415
        self.torch = torch
        self.device = torch.device(device)
        self.stream = torch.cuda.Stream(device=self.device) if self.device.type == "cuda" else None

    @property
    def stream_handle(self) -> int:
        return int(self.stream.cuda_stream) if self.stream is not None else 0

    def _on_stream(self):
        return self.torch.cuda.stream(self.stream) if self.stream is not None else contextlib.nullcontext()

    def alloc(self, shape: tuple[int, ...], dtype: np.dtype):
        return self.torch.empty(shape, dtype=getattr(self.torch, np.dtype(dtype).name), device=self.device)

    def address(self, buf) -> int:
        return int(buf.data_ptr())

    def upload(self, buf, host: np.ndarray) -> None:
        with self._on_stream():
            buf.copy_(self.torch.from_numpy(np.ascontiguousarray(host)).to(buf.dtype), non_blocking=False)

    def download(self, buf) -> np.ndarray:
        with self._on_stream():
            return buf.cpu().numpy()

    def synchronize(self) -> None:
        if self.stream is not None:
            self.stream.synchronize()

    def close(self) -> None:
        self.stream = None


class TensorRTBackend(Backend):
    name = "tensorrt"

    def __init__(self, model_path: Path, meta: ModelMeta, config: BackendConfig, report: Reporter | None = None,
                 trt=None, device_info=None, memory=None):
        super().__init__(meta, config)
        self.report = (report or Reporter(log)).child(log)
        self.context = self.engine = self.runtime = self.memory = None
        self.buffers: dict = {}
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        if config.device == "cpu":
            raise BackendUnavailable("device cpu configured")
        if model_path.suffix != ".onnx":
            raise BackendUnavailable(f"needs an .onnx model, got {model_path.name}")
        self.trt = trt or import_tensorrt()
        self.version = str(getattr(self.trt, "__version__", "?"))
        check_version(self.version)
        self.engine_file: Path | None = None
        try:
            self._load(model_path, device_info or cuda_device_info, memory)
        except BaseException:
            self.close()
            raise

    @contextlib.contextmanager
    def _step(self, what: str):
        """Re-raise any failure as BackendFailed saying which step of TensorRT failed (ModelError as it is)."""
        try:
            yield
        except (BackendFailed, ModelError):
            raise
        except BackendUnavailable as e:
            raise BackendFailed(str(e)) from e
        except Exception as e:  # noqa: BLE001 - AttributeError, TypeError, CUDA OOM, PermissionError, ...
            raise BackendFailed(f"TensorRT {self.version} failed while {what}: {type(e).__name__}: {e}") from e

    def _load(self, model_path: Path, device_info, memory) -> None:
        gpu, cc = device_info()  # BackendUnavailable without a GPU: not a failure
        with self._step("registering plugins"):
            self.trt_logger = make_trt_logger(self.trt, self.report)
            init_plugins(self.trt, self.trt_logger)
        with self._step("planning the build"):
            plan = plan_build(self.trt, self.version, self.config.precision, model_has_qdq(model_path),
                              self.config.tf32)
        with self._step("loading or building the engine"):
            self.runtime = self.trt.Runtime(self.trt_logger)
            self.engine = self._cached_or_built(model_path, gpu, cc, plan)
        with self._step("creating the execution context"):
            self.context = self.engine.create_execution_context()
            if self.context is None:
                raise BackendUnavailable(f"TensorRT could not create an execution context (out of GPU memory?): "
                                         f"{self.trt_logger.last_errors()}")
        with self._step("allocating device buffers"):
            self.memory = memory or TorchDeviceMemory()
            self._setup_buffers()
        self.device = f"{gpu} (TensorRT {self.version}, {plan.precision})"

    def _deserialize(self, blob: bytes):
        return self.runtime.deserialize_cuda_engine(blob) if blob else None

    def _build(self, model_path: Path, plan, timing_blob: bytes) -> tuple[bytes, bytes]:
        return build_engine(self.trt, self.trt_logger, model_path, plan, self.config.workspace_mib, self.report,
                            timing_blob, self.config.progress_interval_s)

    def _cached_or_built(self, model_path: Path, gpu: str, cc: tuple[int, int], plan):
        cache_dir = resolve_cache_dir(self.config.engine_cache_dir, model_path, self.report)
        if cache_dir is None:
            return self._engine_or_fail(self._build(model_path, plan, b"")[0], "the engine just built")
        key = engine_cache_key(gpu, cc, self.version, self.meta.version_hash, plan.cache_tag,
                               self.config.workspace_mib)
        path = engine_path(cache_dir, model_path, key)
        engine = self._deserialize(_read(path))
        if engine is not None:
            self.engine_file = path
            return engine
        wait = lambda: self.report(f"waiting for another process building {path.name}")  # noqa: E731
        with exclusive_lock(path.with_name(path.name + ".lock"), on_wait=wait):
            engine = self._deserialize(_read(path))  # built meanwhile by whoever held the lock
            if engine is None:
                why = "unusable (other TensorRT/plugins?)" if path.is_file() else "not cached"
                self.report(f"TensorRT engine for {model_path.name} on {gpu} (sm {cc[0]}.{cc[1]}, TensorRT "
                            f"{self.version}) {why}: building {path}")
                timing = timing_cache_path(cache_dir, gpu, cc, self.version)
                blob, timing_blob = self._build(model_path, plan, _read(timing))
                self._store(path, blob)
                self._store(timing, timing_blob)
                engine = self._engine_or_fail(blob, path.name)
        self.engine_file = path
        return engine

    def _store(self, path: Path, data: bytes) -> None:
        if not data:
            return
        try:
            atomic_write(path, data)
        except OSError as e:
            self.report(f"could not write {path} ({type(e).__name__}: {e}): not cached", logging.WARNING)

    def _engine_or_fail(self, blob: bytes, what: str):
        engine = self._deserialize(blob)
        if engine is None:
            raise BackendUnavailable(f"TensorRT cannot deserialize {what}: {self.trt_logger.last_errors()}")
        return engine

    def _setup_buffers(self) -> None:
        trt, engine = self.trt, self.engine
        expected = self.meta.input_shapes
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            shape = tuple(int(d) for d in engine.get_tensor_shape(name))
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            if any(d < 0 for d in shape):
                raise BackendUnavailable(f"engine tensor {name!r} has dynamic shape {shape}: fixed shapes only")
            if is_input and shape != expected.get(name):
                raise BackendUnavailable(f"engine input {name!r} is {shape}, the metadata says {expected.get(name)}")
            buf = self.memory.alloc(shape, numpy_dtype(engine.get_tensor_dtype(name), name))
            self.buffers[name] = buf
            if not self.context.set_tensor_address(name, self.memory.address(buf)):
                raise BackendUnavailable(f"TensorRT rejected the address of {name!r}: {self.trt_logger.last_errors()}")
            (self.inputs if is_input else self.outputs).append(name)
        missing = sorted(set(expected) - set(self.inputs))
        if missing:
            raise BackendUnavailable(f"engine lacks inputs {missing}")

    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.context is None:
            raise RuntimeError("TensorRT backend is closed")
        feeds = check_inputs(self.meta, inputs)
        for k in self.inputs:
            self.memory.upload(self.buffers[k], feeds[k])
        if not self.context.execute_async_v3(self.memory.stream_handle):
            raise RuntimeError(f"TensorRT execute_async_v3 failed: {self.trt_logger.last_errors()}")
        self.memory.synchronize()
        out = {}
        for k in self.outputs:
            a = self.memory.download(self.buffers[k])
            out[k] = a.astype(np.float32) if a.dtype == np.float16 else a
        return out

    def close(self) -> None:
        """Drop the execution context, engine and runtime (in that order) and the device buffers."""
        self.context = None
        self.engine = None
        self.runtime = None
        self.buffers = {}
        if self.memory is not None:
            self.memory.close()
            self.memory = None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


@register("tensorrt")
def _factory(model_path: Path, meta: ModelMeta, config: BackendConfig, report: Reporter) -> Backend:
    return TensorRTBackend(model_path, meta, config, report)
