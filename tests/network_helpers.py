"""Shared helpers for the network/backend tests: a tiny model config that exports and runs in well under 1 s."""
from __future__ import annotations

import torch

from tracker.common.config import from_mapping
from tracker.network.model import ModelConfig, TrackerNet

torch.set_num_threads(1)  # OpenMP spinning on a shared 2-core machine makes 2 threads ~10x slower

TINY = {"input_width": 64, "input_height": 64, "channels": [4, 4, 8, 8, 8, 16, 16], "levels": [1, 1, 1, 1, 1, 1],
        "head_channels": 8, "embedding_dim": 8, "depth_bins": 6, "fusion": "diffusion", "deformable": True,
        "stem_stride": 2}


def tiny_config(**over) -> ModelConfig:
    return from_mapping(ModelConfig, {**TINY, **over}, where="tiny")


def tiny_net(seed: int = 0, **over) -> TrackerNet:
    import torch
    torch.manual_seed(seed)
    return TrackerNet(tiny_config(**over)).eval()


_EXPORTED: dict = {}


def exported_tiny(seed: int = 3):
    """(net, onnx path, metadata path) of a tiny model exported once per test session (with its .pt beside)."""
    if seed not in _EXPORTED:
        import dataclasses
        import tempfile
        from pathlib import Path

        import torch

        from tracker.network.export import export_onnx
        net = tiny_net(seed)
        d = Path(tempfile.mkdtemp(prefix="tracker-net-test-"))
        path, meta = export_onnx(net, d / "tiny.onnx", {"command": "test"})
        torch.save({"model_config": dataclasses.asdict(net.cfg), "state_dict": net.state_dict()}, d / "tiny.pt")
        _EXPORTED[seed] = (net, path, meta)
    return _EXPORTED[seed]


def fake_meta(**over) -> dict:
    """Metadata of a 64x64 model as tracker-export writes it (normalisation: the shipped model's); ``key=None``
    leaves a key out."""
    import json
    from pathlib import Path
    shipped = json.loads((Path(__file__).resolve().parents[1] / "models" / "embedded.json").read_text())
    meta = {"input_width": 64, "input_height": 64, "stride": 4, "class_names": ["person", "vehicle"],
            "embedding_dim": 4, "modalities": ["rgb", "thermal", "depth"],
            "normalisation": shipped["normalisation"], "version_hash": "0123456789abcdef"}
    meta.update(over)
    return {k: v for k, v in meta.items() if v is not None}


class FakeMetaBackend:
    """A backend's name, device and metadata (``infer`` is the subclass's)."""
    name = "fake"
    device = "test CPU"

    def __init__(self, **meta):
        from pathlib import Path

        from tracker.backends import ModelMeta
        self.meta = ModelMeta(Path("fake.onnx"), fake_meta(**meta))
        self.last = None
