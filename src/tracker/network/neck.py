"""Aggregation neck after DM3T's supplement, Table 8: IDAUp stages from Level 5 up to Level 2.

ida_0: project L5 -> c(L4), deconv x2, add L4, aggregate;  ida_1: same into L3;  ida_2: same into L2.
Every projection and aggregation is a (DCNv2) deformable 3x3 conv block, or a plain 3x3 conv block in the
plain-conv variant. Upsampling is a depthwise transposed conv initialised to bilinear (as in CenterNet's DLAUp).
The output is the fused Level-2 map: stride 4, c(L2) channels (64 for DLA-34).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .dcn import conv_block


def bilinear_up(channels: int, factor: int = 2) -> nn.ConvTranspose2d:
    up = nn.ConvTranspose2d(channels, channels, 2 * factor, factor, factor // 2, groups=channels, bias=False)
    w = up.weight.data
    f = math.ceil(w.size(2) / 2)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    for i in range(w.size(2)):
        for j in range(w.size(3)):
            w[0, 0, i, j] = (1 - abs(i / f - c)) * (1 - abs(j / f - c))
    for ch in range(1, w.size(0)):
        w[ch, 0] = w[0, 0]
    return up


class IDAUp(nn.Module):
    """One stage: project the deeper map to the shallower width, upsample x2, add, aggregate."""

    def __init__(self, c_deep: int, c_shallow: int, deformable: bool):
        super().__init__()
        self.proj = conv_block(c_deep, c_shallow, deformable)
        self.up = bilinear_up(c_shallow, 2)
        self.node = conv_block(c_shallow, c_shallow, deformable)

    def forward(self, deep: torch.Tensor, shallow: torch.Tensor) -> torch.Tensor:
        return self.node(self.up(self.proj(deep)) + shallow)


class DLAUp(nn.Module):
    """ida_0 .. ida_2 chained from the deepest level: features [L2, L3, L4, L5] -> fused L2."""

    def __init__(self, channels, deformable: bool):
        super().__init__()
        c = list(channels)  # widths of [L2, L3, L4, L5]
        self.stages = nn.ModuleList(IDAUp(c[i + 1], c[i], deformable) for i in reversed(range(len(c) - 1)))

    def forward(self, feats):
        x = feats[-1]
        for stage, shallow in zip(self.stages, reversed(feats[:-1])):
            x = stage(x, shallow)
        return x
