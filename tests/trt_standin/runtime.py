"""Stand-in builder, builder config, timing cache, runtime, engine and execution context.

Engines are a small serialized record (TensorRT version, plugins used, I/O tensors, precision, the ONNX bytes);
``execute_async_v3`` reads the inputs from the device addresses set on the context, runs the ONNX model with
ONNX Runtime on the CPU, and writes the outputs to their addresses (an fp16 engine rounds its float outputs
to fp16). Failures behave like TensorRT's: ``None`` / ``False`` plus an error through the ILogger.
"""
from __future__ import annotations

import base64
import json
import time

import numpy as np

from .enums import PRECISION_FLAGS, nptype
from .parser import LATER_OPS, Dims, INetworkDefinition

ENGINE_MAGIC = b"TRT-STANDIN-ENGINE\n"
TIMING_MAGIC = b"TRT-STANDIN-TIMING\n"


class HostMemory:
    """``trt.IHostMemory``: ``bytes(x)`` and ``nbytes``."""

    def __init__(self, data: bytes):
        self._data = bytes(data)
        self.nbytes = len(self._data)

    def __bytes__(self) -> bytes:
        return self._data


class TimingCache:
    def __init__(self, trt, entries: list[str]):
        self._trt, self.entries = trt, list(entries)

    def serialize(self) -> HostMemory:
        return HostMemory(TIMING_MAGIC + json.dumps({"trt": self._trt.__version__, "entries": self.entries}).encode())


class BuilderConfig:
    def __init__(self, trt, logger):
        self._trt, self._logger = trt, logger
        self.flags = 1 << int(trt.BuilderFlag.TF32)  # TensorRT enables TF32 by default
        self.pool_limits: dict = {}
        self._timing: TimingCache | None = None
        self._monitor = None

    def set_memory_pool_limit(self, pool, size: int) -> None:
        if not isinstance(pool, self._trt.MemoryPoolType) or not isinstance(size, int):
            raise TypeError("set_memory_pool_limit(): incompatible function arguments")
        self.pool_limits[pool.name] = size

    def _flag(self, flag) -> int:
        if not isinstance(flag, self._trt.BuilderFlag):
            raise TypeError(f"incompatible function arguments: {flag!r} is not a tensorrt.BuilderFlag")
        return 1 << int(flag)

    def set_flag(self, flag) -> None:
        if flag.name in ("FP16", "INT8") and self._trt._version >= (10, 12):
            self._trt._log(self._logger, "WARNING", f"BuilderFlag::k{flag.name} is deprecated since TensorRT "
                           "10.12; use strongly typed networks")
        self.flags |= self._flag(flag)

    def clear_flag(self, flag) -> None:
        self.flags &= ~self._flag(flag)

    def get_flag(self, flag) -> bool:
        return bool(self.flags & self._flag(flag))

    def create_timing_cache(self, serialized: bytes):
        blob = bytes(serialized)
        if not blob:
            return TimingCache(self._trt, [])
        if not blob.startswith(TIMING_MAGIC):
            self._trt._log(self._logger, "ERROR", "Cannot deserialize the timing cache: bad magic")
            return None
        data = json.loads(blob[len(TIMING_MAGIC):])
        return TimingCache(self._trt, data["entries"]) if data["trt"] == self._trt.__version__ else None

    def set_timing_cache(self, cache, ignore_mismatch: bool) -> bool:
        if not isinstance(cache, TimingCache) or not isinstance(ignore_mismatch, bool):
            raise TypeError("set_timing_cache(): incompatible function arguments")
        self._timing = cache
        return True

    def get_timing_cache(self):
        return self._timing

    @property
    def progress_monitor(self):
        return self._monitor

    @progress_monitor.setter
    def progress_monitor(self, monitor) -> None:
        if not isinstance(monitor, self._trt.IProgressMonitor) or not getattr(monitor, "_standin_init", False):
            raise TypeError("progress_monitor: expected a tensorrt.IProgressMonitor whose __init__ was called")
        self._monitor = monitor


class Builder:
    _trt = None  # the stand-in module (make_tensorrt binds a subclass to it)

    def __init__(self, logger):
        self._trt._check_logger(logger)
        self.logger = logger

    def create_network(self, flags: int = 0):
        trt = self._trt
        if not isinstance(flags, int):
            raise TypeError("create_network(): flags must be an int")
        known = 0
        for m in trt.NetworkDefinitionCreationFlag:
            known |= 1 << int(m)
        if flags & ~known:
            trt._log(self.logger, "ERROR", f"createNetworkV2: invalid NetworkDefinitionCreationFlags {flags:#x}")
            return None
        strong = trt._version[0] >= 11 or bool(flags & (1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)))
        return INetworkDefinition(trt, flags, strong)

    def create_builder_config(self) -> BuilderConfig:
        return BuilderConfig(self._trt, self.logger)

    def _build_error(self, network, config) -> str:
        trt = self._trt
        if not isinstance(network, INetworkDefinition) or not isinstance(config, BuilderConfig):
            raise TypeError("build_serialized_network(): incompatible function arguments")
        if network.onnx_bytes is None:
            return "Network must have at least one output"
        if any(d < 0 for t in network.inputs for d in t.shape):
            return "Network has dynamic or shape inputs, but no optimization profile has been defined."
        if network.strongly_typed:
            bad = [f for f in PRECISION_FLAGS if hasattr(trt.BuilderFlag, f) and
                   config.get_flag(getattr(trt.BuilderFlag, f))]
            if bad:
                return f"Builder flags {bad} are not allowed with a strongly typed network"
        return trt.knobs.build_error

    def build_serialized_network(self, network, config):
        trt = self._trt
        error = self._build_error(network, config)
        if trt.knobs.build_raises is not None:
            raise trt.knobs.build_raises
        if error:
            trt._log(self.logger, "ERROR", error)
            return None
        time.sleep(trt.knobs.build_delay_s)  # lets tests overlap two builders
        if not self._run_monitor(config.progress_monitor):
            trt._log(self.logger, "ERROR", "Build cancelled by the progress monitor")
            return None
        weak_fp16 = not network.strongly_typed and hasattr(trt.BuilderFlag, "FP16") and \
            config.get_flag(trt.BuilderFlag.FP16)
        if config.get_timing_cache() is not None:
            config.get_timing_cache().entries.append(f"tactics-{len(network.onnx_bytes)}")
        trt.stats["builds"] += 1
        record = {"trt": trt.__version__, "fp16": bool(weak_fp16), "tf32": config.get_flag(trt.BuilderFlag.TF32),
                  "strongly_typed": network.strongly_typed,
                  "plugins": sorted(LATER_OPS[op][1] for op in network.ops if op in LATER_OPS),
                  "io": [[t.name, list(t.shape), t.dtype.name, mode] for ts, mode in
                         ((network.inputs, "INPUT"), (network.outputs, "OUTPUT")) for t in ts],
                  "onnx": base64.b64encode(network.onnx_bytes).decode()}
        return HostMemory(ENGINE_MAGIC + json.dumps(record).encode())

    def _run_monitor(self, monitor) -> bool:
        if monitor is None:
            return True
        monitor.phase_start("Building engine", None, 3)
        monitor.phase_start("Tactic selection", "Building engine", 2)
        ok = all(monitor.step_complete("Tactic selection", i) for i in range(2))
        monitor.phase_finish("Tactic selection")
        ok = ok and all(monitor.step_complete("Building engine", i) for i in range(3))
        monitor.phase_finish("Building engine")
        return ok


class Runtime:
    _trt = None  # bound by make_tensorrt

    def __init__(self, logger):
        self._trt._check_logger(logger)
        self.logger = logger

    def deserialize_cuda_engine(self, serialized):
        trt = self._trt
        blob = bytes(serialized)
        if trt.knobs.deserialize_raises is not None:
            raise trt.knobs.deserialize_raises
        if not blob.startswith(ENGINE_MAGIC):
            trt._log(self.logger, "ERROR", "IRuntime::deserializeCudaEngine: Error Code 1: Serialization (magic tag "
                     "does not match)")
            return None
        rec = json.loads(blob[len(ENGINE_MAGIC):])
        if rec["trt"] != trt.__version__:
            trt._log(self.logger, "ERROR", f"The engine plan file is not compatible with this version of TensorRT, "
                     f"expecting library version {trt.__version__} got {rec['trt']}")
            return None
        if rec["plugins"] and not trt._plugins_initialised:
            trt._log(self.logger, "ERROR", f"getPluginCreator could not find plugin {rec['plugins'][0]} version 2")
            return None
        return ICudaEngine(trt, rec)


class ICudaEngine:
    def __init__(self, trt, rec: dict):
        self._trt, self.rec = trt, rec
        self._io = {name: (tuple(shape), getattr(trt.DataType, dt), getattr(trt.TensorIOMode, mode))
                    for name, shape, dt, mode in rec["io"]}
        self._names = [r[0] for r in rec["io"]]
        trt.stats["engines"] += 1

    def __del__(self):
        self._trt.stats["engines"] -= 1

    @property
    def num_io_tensors(self) -> int:
        return len(self._names)

    def get_tensor_name(self, i: int) -> str:
        return self._names[i]

    def get_tensor_shape(self, name: str) -> Dims:
        return Dims(self._io[name][0])

    def get_tensor_dtype(self, name: str):
        return self._io[name][1]

    def get_tensor_mode(self, name: str):
        return self._io[name][2] if name in self._io else self._trt.TensorIOMode.NONE

    def create_execution_context(self):
        if self._trt.knobs.context_fails:
            self._trt._log(None, "ERROR", "Requested amount of GPU memory could not be allocated (out of memory)")
            return None
        return IExecutionContext(self)


class IExecutionContext:
    def __init__(self, engine: ICudaEngine):
        self.engine, self._trt = engine, engine._trt
        self.addresses: dict[str, int] = {}
        self._session = None
        self._trt.stats["contexts"] += 1

    def __del__(self):
        self._trt.stats["contexts"] -= 1

    def set_tensor_address(self, name: str, memory: int) -> bool:
        if not isinstance(memory, int):
            raise TypeError("set_tensor_address(): memory must be an int (a device pointer)")
        if name not in self.engine._io:
            self._trt._log(None, "ERROR", f"setTensorAddress: {name} is not the name of an I/O tensor")
            return False
        self.addresses[name] = memory
        return True

    def get_tensor_address(self, name: str) -> int:
        return self.addresses.get(name, 0)

    def _views(self):
        views = {}
        for name, (shape, dtype, _mode) in self.engine._io.items():
            if name not in self.addresses:
                raise ValueError(f"Address is not set for input tensor {name}. Call setInputTensorAddress or "
                                 "setTensorAddress before enqueue/execute.")
            views[name] = self._trt.resolve(self.addresses[name], shape, np.dtype(nptype(dtype)))
        return views

    def execute_async_v3(self, stream_handle: int) -> bool:
        if not isinstance(stream_handle, int):
            raise TypeError("execute_async_v3(): stream_handle must be an int")
        try:
            views = self._views()
        except ValueError as e:
            self._trt._log(None, "ERROR", f"IExecutionContext::enqueueV3: {e}")
            return False
        sess = self._ort()
        feeds = {i.name: views[i.name] for i in sess.get_inputs()}
        outs = sess.run([o.name for o in sess.get_outputs()], feeds)
        for o, value in zip(sess.get_outputs(), outs):
            if self.engine.rec["fp16"] and np.issubdtype(value.dtype, np.floating):
                value = value.astype(np.float16)
            views[o.name][...] = value.astype(views[o.name].dtype)
        self._trt.stats["executions"] += 1
        return True

    def _ort(self):
        if self._session is None:
            import onnxruntime as ort
            so = ort.SessionOptions()
            so.intra_op_num_threads = 1
            self._session = ort.InferenceSession(base64.b64decode(self.engine.rec["onnx"]), so,
                                                 providers=["CPUExecutionProvider"])
        return self._session
