"""Cross-modal fusion of the per-modality stride-4 features.

``ConcatFusion`` (ablation baseline; GMMT's "concat-conv fusion block"): the modality features, each multiplied
by its availability flag, and the three flags as constant planes are concatenated and fused by conv blocks.

``DiffusionFusion`` (GMMT's DM fusion, DM3T's C-MDF, trained end to end): the concat-fused map is the clean
sample x0. In training it is noised at a random step t of a cosine schedule, x_t = sqrt(a_t) x0 + sqrt(1-a_t) eps,
and a small conditional denoiser U(x_t, f_rgb, f_thermal, f_depth, flags, t) predicts eps (noise-prediction loss,
GMMT eq. 6 "Loss_DM"). The map passed on to the detector is the one-step DDIM estimate
x0_hat = (x_t - sqrt(1-a_t) eps_hat) / sqrt(a_t), so the detection loss trains U to pull the discriminative clues
out of the modality conditions. At inference the same single denoising step runs at a fixed step ``t_infer``
from the noise-free start x_t = sqrt(a_t) x0 (the noise mean), which keeps the exported graph deterministic.
Steps are drawn from [1, t_train_max] rather than [1, T] so that 1/sqrt(a_t) stays bounded (the small-noise
regime DM3T's released code uses); see docs/research.md.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .dla import BasicBlock


def cosine_alpha_bar(t: torch.Tensor, steps: int, s: float = 0.008) -> torch.Tensor:
    f = torch.cos((t.float() / steps + s) / (1 + s) * math.pi / 2) ** 2
    f0 = math.cos(s / (1 + s) * math.pi / 2) ** 2
    return (f / f0).clamp(1e-4, 1.0)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float().view(-1, 1) * freqs.view(1, -1)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


def _apply_flags(feats, flags):
    return [f * flags[:, i].view(-1, 1, 1, 1) for i, f in enumerate(feats)]


def _flag_planes(flags, like):
    n, _, h, w = like.shape
    return flags.view(n, -1, 1, 1).expand(n, flags.shape[1], h, w)


class ConcatFusion(nn.Module):
    def __init__(self, channels: int, n_modalities: int = 3):
        super().__init__()
        cin = channels * n_modalities + n_modalities
        self.fuse = nn.Sequential(nn.Conv2d(cin, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels),
                                  nn.ReLU(inplace=True), nn.Conv2d(channels, channels, 1, bias=False),
                                  nn.BatchNorm2d(channels), nn.ReLU(inplace=True))

    def forward(self, feats, flags):
        feats = _apply_flags(feats, flags)
        return self.fuse(torch.cat(feats + [_flag_planes(flags, feats[0])], 1)), None


class Denoiser(nn.Module):
    """U(x_t | f_1..f_m, flags, t): conv over [x_t, conditions, flags], FiLM by the step embedding, a residual
    block, and a 3x3 output conv predicting the noise."""

    def __init__(self, channels: int, n_modalities: int = 3, t_dim: int = 32):
        super().__init__()
        cin = channels * (n_modalities + 1) + n_modalities
        self.t_dim = t_dim
        self.inp = nn.Sequential(nn.Conv2d(cin, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels))
        self.film = nn.Sequential(nn.Linear(t_dim, 2 * channels), nn.SiLU(), nn.Linear(2 * channels, 2 * channels))
        self.block = BasicBlock(channels, channels)
        self.out = nn.Conv2d(channels, channels, 3, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x_t, cond, flags, t):
        h = self.inp(torch.cat([x_t] + cond + [_flag_planes(flags, x_t)], 1))
        scale, shift = self.film(timestep_embedding(t, self.t_dim)).chunk(2, dim=1)
        h = torch.relu(h * (1 + scale[..., None, None]) + shift[..., None, None])
        return self.out(self.block(h))


class DiffusionFusion(nn.Module):
    def __init__(self, channels: int, n_modalities: int = 3, steps: int = 1000, t_train_max: int = 500,
                 t_infer: int = 250):
        super().__init__()
        self.base = ConcatFusion(channels, n_modalities)
        self.denoiser = Denoiser(channels, n_modalities)
        self.steps, self.t_train_max, self.t_infer = steps, t_train_max, t_infer

    def forward(self, feats, flags, generator: torch.Generator | None = None):
        x0, _ = self.base(feats, flags)
        cond = _apply_flags(feats, flags)
        n = x0.shape[0]
        if self.training:
            t = torch.randint(1, self.t_train_max + 1, (n,), generator=generator).to(x0.device)
            eps = torch.randn(x0.shape, generator=generator).to(x0)
        else:
            t = torch.full((n,), self.t_infer, dtype=torch.long, device=x0.device)
            eps = torch.zeros_like(x0)
        a = cosine_alpha_bar(t, self.steps).view(-1, 1, 1, 1).to(x0)
        x_t = a.sqrt() * x0.detach() + (1 - a).sqrt() * eps  # the target x0 is not pushed to shrink
        eps_hat = self.denoiser(x_t, cond, flags, t)
        # one DDIM step to x0: (x_t - sqrt(1-a) eps_hat) / sqrt(a), written with a live x0 for the gradient
        x0_hat = x0 + ((1 - a) / a).sqrt() * (eps - eps_hat)
        loss = ((eps_hat - eps) ** 2).mean() if self.training else None
        return x0_hat, loss
