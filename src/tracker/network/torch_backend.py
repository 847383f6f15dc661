"""PyTorch backend for development: runs the training checkpoint named in the metadata (``training.checkpoint``,
or ``<model>.pt`` beside the model) with the same named inputs and outputs as the exported graph.

It lives with the network, not in tracker.backends, because it needs the network's own model code; importing
this module registers it as backend ``torch`` (tracker.network.factory and tracker.network.evaluate do)."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from tracker.backends.base import (Backend, BackendConfig, BackendUnavailable, ModelError, ModelMeta, Reporter,
                                   check_inputs, register)


def checkpoint_for(model_path: Path, meta: ModelMeta) -> Path:
    if model_path.suffix == ".pt":
        return model_path
    beside = model_path.with_suffix(".pt")
    if beside.is_file():
        return beside
    ck = (meta.get("training") or {}).get("checkpoint")
    if ck and Path(ck).is_file():
        return Path(ck)
    raise BackendUnavailable(f"no PyTorch checkpoint for {model_path.name} ({beside.name} or the metadata's "
                             f"training.checkpoint {ck!r})")


class TorchBackend(Backend):
    name = "torch"

    def __init__(self, model_path: Path, meta: ModelMeta, config: BackendConfig, report: Reporter | None = None):
        super().__init__(meta, config)
        try:
            import torch
        except ImportError as e:
            raise BackendUnavailable(f"torch not importable ({e})") from e
        from .model import OUTPUT_NAMES, ExportWrapper
        from .train import load_checkpoint
        ck = checkpoint_for(model_path, meta)
        try:
            net, _ = load_checkpoint(ck)
        except Exception as e:  # noqa: BLE001
            raise ModelError(f"cannot load checkpoint {ck}: {e}") from e
        if (net.cfg.input_width, net.cfg.input_height) != (meta["input_width"], meta["input_height"]):
            raise ModelError(f"checkpoint {ck} is {net.cfg.input_width}x{net.cfg.input_height}, the metadata "
                             f"{meta['input_width']}x{meta['input_height']}")
        if net.cfg.thermal_channels != meta.input_shapes["thermal"][1]:
            raise ModelError(f"checkpoint {ck} has {net.cfg.thermal_channels} thermal channels, the metadata "
                             f"{meta.input_shapes['thermal'][1]}")
        use_cuda = config.device in ("auto", "cuda") and torch.cuda.is_available()
        if config.device == "cuda" and not use_cuda:
            raise BackendUnavailable("device cuda requested but torch has no CUDA device")
        self.torch = torch
        self.dev = torch.device("cuda" if use_cuda else "cpu")
        if config.threads and not use_cuda:
            torch.set_num_threads(config.threads)
        self.model = ExportWrapper(net).to(self.dev).eval()
        self.outputs = OUTPUT_NAMES
        self.device = str(self.dev)

    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.model is None:
            raise RuntimeError("torch backend is closed")
        feeds = check_inputs(self.meta, inputs)
        t = self.torch
        with t.no_grad():
            outs = self.model(*(t.from_numpy(feeds[k]).to(self.dev) for k in ("rgb", "thermal", "depth", "modality")))
        return {k: v.cpu().numpy() for k, v in zip(self.outputs, outs)}

    def close(self) -> None:
        if self.model is not None and self.dev.type == "cuda":
            self.model = None
            self.torch.cuda.empty_cache()
        self.model = None


@register("torch")
def _factory(model_path: Path, meta: ModelMeta, config: BackendConfig, report: Reporter) -> Backend:
    return TorchBackend(model_path, meta, config, report)
