"""CenterNet-style heads on the fused stride-4 map: per-class centre heatmap, box size, sub-pixel offset,
identity embedding (FDTA identity adapter, trained contrastively) and depth over LID bins (FDTA eqs. 11-13)."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


def lid_bin_centres(k: int, d_min: float, d_max: float) -> np.ndarray:
    """FDTA eqs. 11-12: K linear-increasing bins in [d_min, d_max] plus the background bin b_K = d_max."""
    bin_size = 2.0 * (d_max - d_min) / (k * (1 + k))  # eq. 11
    i = np.arange(k, dtype=np.float64)
    b = (i + 0.5) ** 2 * bin_size / 2.0 - bin_size / 8.0 + d_min  # eq. 12
    return np.concatenate([b, [d_max]]).astype(np.float32)


def depth_to_bin(d: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest bin centre (the classification target of the depth head)."""
    return np.abs(np.asarray(d, np.float32)[..., None] - centres).argmin(-1)


def _head(cin: int, mid: int, cout: int, bias: float = 0.0) -> nn.Sequential:
    h = nn.Sequential(nn.Conv2d(cin, mid, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(mid, cout, 1))
    nn.init.constant_(h[-1].bias, bias)
    return h


class CenterHeads(nn.Module):
    def __init__(self, cin: int, mid: int, num_classes: int, embedding_dim: int, depth_bins: int,
                 d_min: float, d_max: float):
        super().__init__()
        self.heatmap = _head(cin, mid, num_classes, bias=-2.19)  # prior 0.1 (CenterNet)
        self.size = _head(cin, mid, 2)
        self.offset = _head(cin, mid, 2)
        self.embedding = _head(cin, mid, embedding_dim)
        self.depth = _head(cin, mid, depth_bins + 1)
        self.register_buffer("bin_centres", torch.from_numpy(lid_bin_centres(depth_bins, d_min, d_max)))

    def forward(self, x):
        return {"heatmap": self.heatmap(x), "size": self.size(x), "offset": self.offset(x),
                "embedding": self.embedding(x), "depth_logits": self.depth(x)}

    def expected_depth(self, logits: torch.Tensor) -> torch.Tensor:
        """FDTA eq. 13: softmax over the K+1 bins, weighted sum of the bin centres -> (N, 1, h, w) metres."""
        p = torch.softmax(logits, dim=1)
        return (p * self.bin_centres.view(1, -1, 1, 1)).sum(1, keepdim=True)
