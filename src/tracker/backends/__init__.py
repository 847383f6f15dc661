"""Inference backends (TensorRT, ONNX Runtime, PyTorch) behind one interface; see base.py."""
from .base import (BACKENDS, Backend, BackendConfig, BackendFailed, BackendUnavailable, ModelError, ModelMeta,
                   create_backend, load_meta)

__all__ = ["BACKENDS", "Backend", "BackendConfig", "BackendFailed", "BackendUnavailable", "ModelError", "ModelMeta",
           "create_backend", "load_meta"]
