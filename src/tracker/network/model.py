"""The detection/embedding network: per-modality DLA stems -> cross-modal fusion -> shared DLA trunk ->
IDAUp/DLAUp neck (stride 4) -> CenterNet heads. Two named configs in config/network.yaml: ``full`` and
``embedded``.

Inputs (all at the network input size, images registered to the RGB camera and letterboxed):
  rgb (N,3,H,W) in [0,1];  thermal (N,C,H,W) robustly normalised [+ relative kelvin, ``thermal_channels`` 2];
  depth (N,2,H,W) = (inverse depth, valid mask);
  modality (N,3) availability flags for (rgb, thermal, depth) - a missing modality's input is zeros.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from tracker.common.config import ConfigError, from_mapping, load_yaml, param, section

from .dla import DLAStem, DLATrunk
from .fusion import ConcatFusion, DiffusionFusion
from .heads import CenterHeads
from .neck import DLAUp
from .preprocess import DEFAULT_NORMALISATION, NormalisationConfig
from .spec import (CLASS_NAMES, INPUT_NAMES, MODALITIES, MODALITY_CHANNELS, OUTPUT_NAMES,  # noqa: F401 - re-exported
                   PEAK_TOLERANCE, STRIDE)

#: the first conv of the thermal stem: its input channels are the thermal channels (partial --init)
THERMAL_INPUT_WEIGHT = "stems.thermal.base_layer.0.weight"


@dataclass(frozen=True)
class ModelConfig:
    input_width: int = param(unit="px", ge=32, doc="network input width (multiple of 32)")
    input_height: int = param(unit="px", ge=32, doc="network input height (multiple of 32)")
    channels: tuple[int, ...] = param(doc="widths of base, L0..L5 (DLA-34: 16,16,32,64,128,256,512)")
    levels: tuple[int, ...] = param(doc="L0, L1 conv counts and L2..L5 tree depths (DLA-34: 1,1,1,2,2,1)")
    head_channels: int = param(ge=4, doc="hidden width of each head")
    embedding_dim: int = param(ge=4, le=512, doc="identity embedding size")
    depth_bins: int = param(ge=2, doc="K foreground LID bins of the depth head (+1 background)")
    fusion: str = param("diffusion", choices=("diffusion", "concat"), doc="cross-modal fusion")
    deformable: bool = param(True, doc="DCNv2 in the neck (false: plain 3x3 convs)")
    neck_channels: int = param(0, ge=0, doc="must equal channels[3] (the L2 width) or 0")
    stem_stride: int = param(1, choices=None, ge=1, le=2, doc="stride of the 7x7 base layer")
    depth_min_m: float = param(0.5, unit="m", gt=0.0, doc="d_min of the LID bins")
    depth_max_m: float = param(60.0, unit="m", gt=0.0, doc="d_max of the LID bins (background bin)")
    diffusion_steps: int = param(1000, unit="steps", ge=10, doc="T of the cosine noise schedule")
    diffusion_t_train_max: int = param(500, unit="steps", ge=1, doc="training steps drawn from [1, this]")
    diffusion_t_infer: int = param(250, unit="steps", ge=1, doc="the single denoising step run at inference")
    thermal_channels: int = param(1, ge=1, le=2, doc="thermal input channels: 1 = per-frame percentile-normalised; "
                                  "2 = and kelvin relative to the frame median (zeros for AGC mono8)")

    def validate(self) -> None:
        if len(self.channels) != 7 or len(self.levels) != 6:
            raise ValueError("channels needs 7 widths (base, L0..L5) and levels 6 entries (L0..L5)")
        if self.input_width % 32 or self.input_height % 32:
            raise ValueError(f"input {self.input_width}x{self.input_height} px must be multiples of 32")
        if self.neck_channels not in (0, self.channels[3]):
            raise ValueError(f"neck_channels ({self.neck_channels}) is the L2 width channels[3] "
                             f"({self.channels[3]}) in the DM3T neck")
        if self.depth_max_m <= self.depth_min_m:
            raise ValueError("depth_max_m must exceed depth_min_m")
        if not 1 <= self.diffusion_t_infer <= self.diffusion_steps:
            raise ValueError("diffusion_t_infer must lie in [1, diffusion_steps]")

    @property
    def input_normalisation(self) -> NormalisationConfig:
        """How images become this model's inputs (written to its metadata by tracker-export)."""
        return replace(DEFAULT_NORMALISATION, thermal_channels=self.thermal_channels)

    def input_channels(self, modality: str) -> int:
        return self.thermal_channels if modality == "thermal" else MODALITY_CHANNELS[modality]

    @property
    def out_width(self) -> int:
        return self.input_width // STRIDE

    @property
    def out_height(self) -> int:
        return self.input_height // STRIDE


def load_model_config(name: str, path: str = "config/network.yaml", overrides: Mapping[str, Any] | None = None
                      ) -> ModelConfig:
    data = load_yaml(path)
    models = section(data, "models", str(path))
    if name not in models:
        raise ConfigError(f"{path}: unknown model config {name!r}; valid: {', '.join(models)}")
    m = dict(models[name])
    m.update(overrides or {})
    return from_mapping(ModelConfig, m, where=f"models.{name}")


class TrackerNet(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        c, lv = cfg.channels, cfg.levels
        self.stems = nn.ModuleDict({m: DLAStem(cfg.input_channels(m), c, lv, cfg.stem_stride) for m in MODALITIES})
        if cfg.fusion == "diffusion":
            self.fusion = DiffusionFusion(c[3], len(MODALITIES), cfg.diffusion_steps, cfg.diffusion_t_train_max,
                                          cfg.diffusion_t_infer)
        else:
            self.fusion = ConcatFusion(c[3], len(MODALITIES))
        self.trunk = DLATrunk(c, lv)
        self.neck = DLAUp(c[3:], cfg.deformable)
        self.heads = CenterHeads(c[3], cfg.head_channels, len(CLASS_NAMES), cfg.embedding_dim, cfg.depth_bins,
                                 cfg.depth_min_m, cfg.depth_max_m)

    def forward(self, rgb, thermal, depth, modality, generator=None):
        """Raw head outputs (logits) and the diffusion loss (training, diffusion fusion) or None."""
        feats = [self.stems["rgb"](rgb), self.stems["thermal"](thermal), self.stems["depth"](depth)]
        if isinstance(self.fusion, DiffusionFusion):
            fused, dloss = self.fusion(feats, modality, generator)
        else:
            fused, dloss = self.fusion(feats, modality)
        out = self.heads(self.neck(self.trunk(fused)))
        out["diffusion_loss"] = dloss
        return out

    def postprocess(self, raw: dict) -> dict:
        """Deployment outputs: peak-masked sigmoid heatmap (3x3 max-pool, CenterNet's NMS-free peaks), sizes
        (stride-4 cells), offsets, L2-normalised embeddings, expected distance (metres, FDTA eq. 13)."""
        heat = torch.sigmoid(raw["heatmap"])
        peaks = F.max_pool2d(heat, 3, 1, 1)
        heat = heat * (heat >= peaks - PEAK_TOLERANCE).to(heat.dtype)
        emb = F.normalize(raw["embedding"], dim=1)
        return {"heatmap": heat, "size": raw["size"], "offset": raw["offset"], "embedding": emb,
                "distance": self.heads.expected_depth(raw["depth_logits"])}


class ExportWrapper(nn.Module):
    """Named inputs -> the five named deployment outputs (what ONNX / TensorRT / the torch backend run)."""

    def __init__(self, net: TrackerNet):
        super().__init__()
        self.net = net

    def forward(self, rgb, thermal, depth, modality):
        out = self.net.postprocess(self.net(rgb, thermal, depth, modality))
        return tuple(out[k] for k in OUTPUT_NAMES)


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
