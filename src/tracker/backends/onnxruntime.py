"""ONNX Runtime backend: TensorRT, CUDA or CPU execution provider, in the order of ``ort_providers``.

Only providers that this onnxruntime build lists in ``get_available_providers()`` are requested (the CPU wheel
lists CPU only; ``onnxruntime-gpu`` lists CUDA and TensorRT, which still need the CUDA/cuDNN/TensorRT libraries
at run time). The TensorRT execution provider gets fp16/int8 from ``precision`` and engine + timing caches in
``<engine cache>/onnxruntime``; nodes it cannot take run on the next provider. ``device: cpu`` requests the CPU
provider only, ``device: cuda`` requires a GPU provider. The provider actually used is ``session.get_providers()[0]``
(ONNX Runtime skips a provider whose libraries fail to load), reported as ``device``.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping

import numpy as np

from .base import (Backend, BackendConfig, BackendUnavailable, ModelError, ModelMeta, Reporter, check_inputs,
                   model_has_qdq, register)
from .cache import resolve_cache_dir

log = logging.getLogger("tracker.backends.onnxruntime")

#: short name (BackendConfig.ort_providers) -> ONNX Runtime execution provider
ORT_PROVIDERS = {"tensorrt": "TensorrtExecutionProvider", "cuda": "CUDAExecutionProvider",
                 "cpu": "CPUExecutionProvider"}
GPU_PROVIDERS = ("tensorrt", "cuda")
#: sub-folder of the engine cache for the TensorRT execution provider's engines and timing cache
ORT_TRT_CACHE_SUBDIR = "onnxruntime"


def choose_providers(available: list[str], device: str, order: tuple[str, ...] = ("cuda", "cpu")) -> list[str]:
    """Short names from ``order`` that this build has and ``device`` allows, best first."""
    if device == "cpu":
        return ["cpu"]
    have = [n for n in order if ORT_PROVIDERS[n] in available]
    gpu = [n for n in have if n in GPU_PROVIDERS]
    if device == "cuda" and not gpu:
        raise BackendUnavailable(f"device cuda requested but ONNX Runtime offers none of "
                                 f"{[ORT_PROVIDERS[n] for n in GPU_PROVIDERS if n in order]} ({available})")
    if not have:
        raise BackendUnavailable(f"none of the providers {list(order)} is available in this onnxruntime "
                                 f"({available})")
    return have


def provider_options(name: str, config: BackendConfig, cache_dir: Path | None, has_qdq: bool) -> dict:
    """ONNX Runtime provider options for one short provider name."""
    if name == "tensorrt":
        opts = {"device_id": 0, "trt_max_workspace_size": int(config.workspace_mib) << 20,
                "trt_fp16_enable": config.precision == "fp16",
                "trt_int8_enable": config.precision == "int8" and has_qdq}
        if cache_dir is not None:
            opts.update(trt_engine_cache_enable=True, trt_engine_cache_path=str(cache_dir),
                        trt_timing_cache_enable=True, trt_timing_cache_path=str(cache_dir))
        return opts
    if name == "cuda":
        return {"device_id": 0}
    return {}


def session_providers(available: list[str], config: BackendConfig, cache_dir: Path | None,
                      has_qdq: bool) -> tuple[list[str], list[dict]]:
    """(provider names, provider options) for ``InferenceSession``; the CPU provider always comes last."""
    names = choose_providers(available, config.device, config.ort_providers)
    if "cpu" not in names:
        names.append("cpu")  # nodes no GPU provider takes (ONNX Runtime would add it anyway)
    return [ORT_PROVIDERS[n] for n in names], [provider_options(n, config, cache_dir, has_qdq) for n in names]


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"

    def __init__(self, model_path: Path, meta: ModelMeta, config: BackendConfig, report: Reporter | None = None):
        super().__init__(meta, config)
        report = (report or Reporter(log)).child(log)
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise BackendUnavailable(f"onnxruntime not importable ({e})") from e
        available = list(ort.get_available_providers())
        cache = self._trt_cache(model_path, available, report)
        qdq = cache is not None and config.precision == "int8" and model_has_qdq(model_path)
        providers, options = session_providers(available, config, cache, qdq)
        self.session = self._open(ort, model_path, providers, options, report)
        self._check_inputs(model_path, meta)
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.device = self.session.get_providers()[0]
        if self.device != providers[0]:
            report(f"ONNX Runtime: {providers[0]} requested but not usable here; running on {self.device}",
                   logging.WARNING)

    def _trt_cache(self, model_path: Path, available: list[str], report: Reporter) -> Path | None:
        """The TensorRT execution provider's cache folder, when that provider will be requested."""
        c = self.config
        if c.device == "cpu" or "tensorrt" not in c.ort_providers or ORT_PROVIDERS["tensorrt"] not in available:
            return None
        root = resolve_cache_dir(c.engine_cache_dir, model_path, report)
        if root is None:
            return None
        try:
            (root / ORT_TRT_CACHE_SUBDIR).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            report(f"ONNX Runtime TensorRT cache not writable ({e}): engines not cached", logging.WARNING)
            return None
        return root / ORT_TRT_CACHE_SUBDIR

    def _open(self, ort, model_path: Path, providers: list[str], options: list[dict], report: Reporter):
        """The session; when GPU providers fail to start it (device auto), once more on the CPU provider."""
        try:
            return ort.InferenceSession(str(model_path), self._options(ort), providers=providers,
                                        provider_options=options)
        except Exception as e:  # noqa: BLE001 - ORT raises its own exception types for corrupt files
            error = e
        if providers != [ORT_PROVIDERS["cpu"]] and self.config.device == "auto":
            report(f"ONNX Runtime could not start {providers[0]} ({type(error).__name__}: {error}); trying "
                   "the CPU provider", logging.WARNING)
            return self._open(ort, model_path, [ORT_PROVIDERS["cpu"]], [{}], report)
        raise ModelError(f"ONNX Runtime cannot load {model_path}: {error}") from error

    def _options(self, ort):
        so = ort.SessionOptions()
        if self.config.threads:
            so.intra_op_num_threads = self.config.threads
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.config.spin_wait else "0")
        return so

    def _check_inputs(self, model_path: Path, meta: ModelMeta) -> None:
        names = [i.name for i in self.session.get_inputs()]
        if sorted(names) != sorted(meta.input_shapes):
            raise ModelError(f"{model_path}: inputs {names} do not match the metadata {list(meta.input_shapes)}")
        for i in self.session.get_inputs():
            if tuple(i.shape) != meta.input_shapes[i.name]:
                raise ModelError(f"{model_path}: input {i.name} is {i.shape}, metadata says "
                                 f"{list(meta.input_shapes[i.name])}")

    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.session is None:
            raise RuntimeError("ONNX Runtime backend is closed")
        feeds = check_inputs(self.meta, inputs)
        return dict(zip(self.outputs, self.session.run(self.outputs, feeds)))

    def close(self) -> None:
        self.session = None


@register("onnxruntime")
def _factory(model_path: Path, meta: ModelMeta, config: BackendConfig, report: Reporter) -> Backend:
    return OnnxRuntimeBackend(model_path, meta, config, report)
