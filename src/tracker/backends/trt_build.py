"""Building a TensorRT engine from the ONNX model (TensorRT 10/11 Python API), and the names of cached files.

``trt.init_libnvinfer_plugins`` (the parser maps ``DeformConv`` to the ``ModulatedDeformConv2d`` plugin; a
cached engine that contains it cannot be deserialised without it either) -> ``trt.Builder`` ->
``create_network`` (flags from :mod:`.trt_policy`) -> ``trt.OnnxParser`` (ops checked with
``supports_operator`` first, inputs checked for fixed shapes after) -> ``BuilderConfig`` (workspace limit,
precision flags of the plan, TF32 cleared unless allowed, the timing cache, an ``IProgressMonitor``) ->
``build_serialized_network``. TensorRT's own warnings and errors go through an ``ILogger`` to the reporter, and
the last errors are quoted in the exception when a step fails.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from pathlib import Path

from .base import BackendUnavailable, Reporter, model_ops
from .trt_policy import BuildPlan, creation_flags, unsupported_ops

#: TensorRT messages kept for the exception text of a failed step
KEPT_ERRORS = 3


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


def make_trt_logger(trt, report: Reporter):
    """An ``ILogger`` that forwards TensorRT's warnings and errors to ``report`` and keeps the last errors."""

    class TrtLogger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.errors: list[str] = []

        def log(self, severity, msg):
            sev = int(severity)
            if sev <= int(trt.ILogger.Severity.ERROR):
                self.errors = (self.errors + [str(msg)])[-KEPT_ERRORS:]
                report(f"TensorRT: {msg}", logging.ERROR)
            elif sev <= int(trt.ILogger.Severity.WARNING):
                report(f"TensorRT: {msg}", logging.WARNING)

        def last_errors(self) -> str:
            return "; ".join(self.errors) if self.errors else "no error message from TensorRT"

    return TrtLogger()


def init_plugins(trt, trt_logger) -> None:
    """Register TensorRT's standard plugins (needed to parse DeformConv and to load engines that use it)."""
    if not trt.init_libnvinfer_plugins(trt_logger, ""):
        raise BackendUnavailable(f"trt.init_libnvinfer_plugins failed: {trt_logger.last_errors()}")


def make_progress_monitor(trt, report: Reporter, interval_s: float):
    """An ``IProgressMonitor`` that reports each top-level phase and its progress at most every ``interval_s``."""

    class ProgressMonitor(trt.IProgressMonitor):
        def __init__(self):
            trt.IProgressMonitor.__init__(self)
            self.phases: dict[str, tuple[int, str | None]] = {}
            self._last = float("-inf")

        def phase_start(self, phase_name, parent_phase, num_steps):
            self.phases[phase_name] = (int(num_steps), parent_phase)
            if parent_phase is None:
                report(f"TensorRT build: {phase_name} ({int(num_steps)} steps)")

        def step_complete(self, phase_name, step):
            now = time.monotonic()
            total, parent = self.phases.get(phase_name, (0, None))
            if parent is None and now - self._last >= interval_s:
                self._last = now
                report(f"TensorRT build: {phase_name} {step + 1}/{total}")
            return True  # False would cancel the build

        def phase_finish(self, phase_name):
            self.phases.pop(phase_name, None)

    return ProgressMonitor()


def parse_network(trt, builder, trt_logger, onnx_path: Path, plan: BuildPlan, version: str):
    """The parsed network (and the parser, which must outlive it). Refuses ops the parser cannot import and
    inputs without a fixed shape, with the reason."""
    network = builder.create_network(creation_flags(trt, plan))
    if network is None:
        raise BackendUnavailable(f"TensorRT could not create the network: {trt_logger.last_errors()}")
    parser = trt.OnnxParser(network, trt_logger)
    missing = unsupported_ops(parser, model_ops(onnx_path), version)
    if missing:
        raise BackendUnavailable(f"TensorRT {version}'s ONNX parser cannot import {', '.join(missing)}")
    if not parser.parse(Path(onnx_path).read_bytes()):
        errs = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise BackendUnavailable(f"TensorRT cannot parse {Path(onnx_path).name}: {errs}")
    for i in range(network.num_inputs):
        t = network.get_input(i)
        shape = tuple(t.shape)
        if any(d < 0 for d in shape):
            raise BackendUnavailable(f"input {t.name!r} has dynamic shape {shape}: this backend builds fixed-shape "
                                     "engines only (export the model with fixed input sizes)")
    return network, parser


def configure(trt, builder, plan: BuildPlan, workspace_mib: int, timing_blob: bytes, report: Reporter,
              interval_s: float):
    """The builder config of ``plan`` with the timing cache from ``timing_blob`` (b"" for a new one)."""
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mib) << 20)
    for name in plan.builder_flags:
        config.set_flag(getattr(trt.BuilderFlag, name))
    for name in plan.cleared_flags:
        config.clear_flag(getattr(trt.BuilderFlag, name))
    cache = config.create_timing_cache(timing_blob)
    if cache is None and timing_blob:
        report("TensorRT timing cache unreadable: starting a new one", logging.WARNING)
        cache = config.create_timing_cache(b"")
    if cache is not None and not config.set_timing_cache(cache, ignore_mismatch=False):
        report("TensorRT timing cache rejected (another TensorRT or GPU?): starting a new one", logging.WARNING)
        config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False)
    config.progress_monitor = make_progress_monitor(trt, report, interval_s)
    return config


def build_engine(trt, trt_logger, onnx_path: Path, plan: BuildPlan, workspace_mib: int, report: Reporter,
                 timing_blob: bytes = b"", interval_s: float = 0.0) -> tuple[bytes, bytes]:
    """(serialized engine, serialized timing cache) for ``onnx_path`` built by ``plan``."""
    if plan.note:
        report(f"TensorRT: {plan.note}", logging.WARNING)
    builder = trt.Builder(trt_logger)
    network, parser = parse_network(trt, builder, trt_logger, onnx_path, plan, trt.__version__)
    config = configure(trt, builder, plan, workspace_mib, timing_blob, report, interval_s)
    t0 = time.monotonic()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise BackendUnavailable(f"TensorRT failed to build an engine from {Path(onnx_path).name}: "
                                 f"{trt_logger.last_errors()}")
    report(f"TensorRT engine built in {time.monotonic() - t0:.0f} s ({plan.precision})")
    timing = config.get_timing_cache()
    del parser
    return bytes(serialized), (bytes(timing.serialize()) if timing is not None else b"")
