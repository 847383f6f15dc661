"""A stand-in for the ``tensorrt`` Python module, as strict as the real API where this project's backend can go
wrong, and one that really runs: engines execute with ONNX Runtime on the CPU.

    trt = make_tensorrt("10.3.0")             # or "10.0.1", "10.12.0", "11.0.0"
    backend = TensorRTBackend(path, meta, config, trt=trt, device_info=GPU, memory=trt.device_memory)

What it models (and the real TensorRT does, per its documentation and onnx-tensorrt's importers):
- the plugin registry must be initialised with ``init_libnvinfer_plugins(logger, "")`` before an ONNX model with
  ``DeformConv`` (plugin ``ModulatedDeformConv2d``) parses, and before an engine using it deserialises;
- version rules: 10.0's parser has no ``DeformConv``; from 10.12 ``BuilderFlag.FP16/INT8`` log a deprecation
  warning; 11.x has no ``BuilderFlag.FP16/INT8/...`` attributes and every network is strongly typed;
- enum values of TensorRT 10 (``NetworkDefinitionCreationFlag.STRONGLY_TYPED`` is 1, ``BuilderFlag.FP16`` 0,
  ``TF32`` 6, ``DataType.INT64`` 8, ...), pybind-style enums that are not ints, type-checked arguments;
- the parser rejects unknown ops, non-zero zero points, int32/uint8 DequantizeLinear; builds reject dynamic
  inputs without a profile and precision flags on strongly typed networks; ``ILogger``/``IProgressMonitor``
  subclasses must call the base ``__init__``;
- device memory: numpy arrays behind :class:`FakeDeviceMemory` (the backend's allocator interface); the
  execution context reads and writes only through the addresses it was given, so unset or wrong addresses fail.
What it does not model: real kernels, fp16/int8/TF32 numerics (an fp16 engine only rounds its outputs to fp16),
tactic timing, GPU memory limits (``knobs.context_fails`` simulates OOM), DLA, CUDA streams.
"""
from __future__ import annotations

import ctypes
import types

import numpy as np

from . import runtime as _rt
from .enums import DataType, MemoryPoolType, Severity, TensorIOMode, builder_flag_enum, creation_flag_enum, nptype
from .parser import OnnxParser

__all__ = ["FakeDeviceMemory", "make_tensorrt", "raw_host_resolver"]


class FakeDeviceMemory:
    """Numpy "device" buffers with the allocator interface of ``TorchDeviceMemory``; addresses are the arrays'
    data pointers, and :meth:`view` only resolves addresses of live allocations with the exact size and type."""

    STREAM = 0x5EED

    def __init__(self):
        self.live: dict[int, np.ndarray] = {}
        self.closed = False

    @property
    def stream_handle(self) -> int:
        return self.STREAM

    def alloc(self, shape, dtype) -> np.ndarray:
        a = np.zeros(shape, dtype)
        self.live[a.ctypes.data] = a
        return a

    def address(self, buf: np.ndarray) -> int:
        return int(buf.ctypes.data)

    def upload(self, buf: np.ndarray, host: np.ndarray) -> None:
        buf[...] = host.astype(buf.dtype)

    def download(self, buf: np.ndarray) -> np.ndarray:
        return buf.copy()

    def synchronize(self) -> None:
        pass

    def close(self) -> None:
        self.live.clear()
        self.closed = True

    def view(self, ptr: int, shape, dtype) -> np.ndarray:
        a = self.live.get(ptr)
        if a is None:
            raise ValueError(f"address {ptr:#x} is not a live device allocation")
        if a.shape != tuple(shape) or a.dtype != dtype:
            raise ValueError(f"allocation at {ptr:#x} is {a.shape} {a.dtype}, the engine needs {tuple(shape)} {dtype}")
        return a


def raw_host_resolver(ptr: int, shape, dtype) -> np.ndarray:
    """Host memory at ``ptr`` as an array (for buffers from ``TorchDeviceMemory("cpu")``)."""
    n = int(np.prod(shape)) * np.dtype(dtype).itemsize
    return np.frombuffer((ctypes.c_byte * n).from_address(ptr), dtype=dtype).reshape(shape)


def _parse_version(v: str) -> tuple[int, int]:
    major, minor = v.split(".")[:2]
    return int(major), int(minor)


def make_tensorrt(version: str = "10.3.0", resolver=None) -> types.ModuleType:
    """A fresh stand-in ``tensorrt`` module of ``version`` (own plugin registry, knobs and statistics)."""
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version
    trt._version = _parse_version(version)
    trt._plugins_initialised = False
    trt.device_memory = FakeDeviceMemory()
    trt.resolve = resolver or trt.device_memory.view
    trt.knobs = types.SimpleNamespace(build_error="", build_raises=None, deserialize_raises=None,
                                      context_fails=False, build_delay_s=0.0)
    trt.stats = {"engines": 0, "contexts": 0, "builds": 0, "executions": 0, "plugin_inits": 0}
    trt.messages: list[tuple[str, str]] = []
    trt.DataType, trt.TensorIOMode, trt.MemoryPoolType = DataType, TensorIOMode, MemoryPoolType
    trt.BuilderFlag = builder_flag_enum(trt._version[0])
    trt.NetworkDefinitionCreationFlag = creation_flag_enum(trt._version[0])
    trt.nptype = nptype
    _add_logging(trt)
    trt.IProgressMonitor = _progress_monitor_base()
    trt.Builder = type("Builder", (_rt.Builder,), {"_trt": trt})
    trt.Runtime = type("Runtime", (_rt.Runtime,), {"_trt": trt})
    trt.OnnxParser = OnnxParser

    def init_libnvinfer_plugins(logger, namespace: str) -> bool:
        if not isinstance(namespace, str):
            raise TypeError("init_libnvinfer_plugins(): namespace must be a str")
        trt._check_logger(logger)
        trt._plugins_initialised = True
        trt.stats["plugin_inits"] += 1
        return True

    trt.init_libnvinfer_plugins = init_libnvinfer_plugins
    return trt


def _add_logging(trt) -> None:
    class ILogger:
        Severity = globals()["Severity"]

        def __init__(self):
            self._standin_init = True

        def log(self, severity, msg):  # pragma: no cover - overridden
            raise NotImplementedError

    class Logger(ILogger):
        INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = (Severity.INTERNAL_ERROR, Severity.ERROR, Severity.WARNING,
                                                         Severity.INFO, Severity.VERBOSE)

        def __init__(self, min_severity=Severity.WARNING):
            super().__init__()
            self.min_severity = min_severity

        def log(self, severity, msg):
            pass

    def check_logger(logger) -> None:
        if not isinstance(logger, ILogger):
            raise TypeError(f"incompatible function arguments: expected a tensorrt.ILogger, got {type(logger).__name__}")
        if not getattr(logger, "_standin_init", False):
            raise TypeError("tensorrt.ILogger.__init__() must be called when overriding __init__")
        trt._last_logger = logger

    def log(logger, severity: str, msg: str) -> None:
        trt.messages.append((severity, msg))
        target = logger or getattr(trt, "_last_logger", None)
        if target is not None:
            target.log(getattr(Severity, severity), msg)

    trt.ILogger, trt.Logger, trt._check_logger, trt._log = ILogger, Logger, check_logger, log


def _progress_monitor_base():
    class IProgressMonitor:
        def __init__(self):
            self._standin_init = True

        def phase_start(self, phase_name, parent_phase, num_steps):  # pragma: no cover - overridden
            raise NotImplementedError

        def step_complete(self, phase_name, step):  # pragma: no cover
            raise NotImplementedError

        def phase_finish(self, phase_name):  # pragma: no cover
            raise NotImplementedError

    return IProgressMonitor
