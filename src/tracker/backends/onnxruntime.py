"""ONNX Runtime backend: CUDA execution provider when present (and device allows), CPU otherwise."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from .base import Backend, BackendConfig, BackendUnavailable, ModelError, ModelMeta, check_inputs, register


def choose_providers(available: list[str], device: str) -> list[str]:
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        raise BackendUnavailable(f"device cuda requested but ONNX Runtime has no CUDA provider ({available})")
    return ["CPUExecutionProvider"]


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"

    def __init__(self, model_path: Path, meta: ModelMeta, config: BackendConfig):
        super().__init__(meta, config)
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise BackendUnavailable(f"onnxruntime not importable ({e})") from e
        providers = choose_providers(ort.get_available_providers(), config.device)
        so = ort.SessionOptions()
        if config.threads:
            so.intra_op_num_threads = config.threads
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if config.spin_wait else "0")
        try:
            self.session = ort.InferenceSession(str(model_path), so, providers=providers)
        except Exception as e:  # noqa: BLE001 - ORT raises its own exception types for corrupt files
            raise ModelError(f"ONNX Runtime cannot load {model_path}: {e}") from e
        names = [i.name for i in self.session.get_inputs()]
        if sorted(names) != sorted(meta.input_shapes):
            raise ModelError(f"{model_path}: inputs {names} do not match the metadata {list(meta.input_shapes)}")
        for i in self.session.get_inputs():
            if tuple(i.shape) != meta.input_shapes[i.name]:
                raise ModelError(f"{model_path}: input {i.name} is {i.shape}, metadata says "
                                 f"{list(meta.input_shapes[i.name])}")
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.device = self.session.get_providers()[0]

    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        feeds = check_inputs(self.meta, inputs)
        return dict(zip(self.outputs, self.session.run(self.outputs, feeds)))


@register("onnxruntime")
def _factory(model_path: Path, meta: ModelMeta, config: BackendConfig) -> Backend:
    return OnnxRuntimeBackend(model_path, meta, config)
