"""An exponential moving average (EMA) of a network's weights during training.

A detector's weights at one step of a noisy optimisation swing: two checkpoints 1000 steps apart of one run
differed by 0.08 held-out person AP on world B (docs/worlds.md). The average over the last few hundred steps
sits nearer the middle of that swing. ``training.ema_decay`` > 0 keeps it: after every optimiser step

    ema = d * ema + (1 - d) * weights,   d = min(ema_decay, (1 + n) / (10 + n))   (n: updates so far)

(the warm-up of d lets a short run's average forget its start). Floating buffers (batch-norm running
statistics) are averaged the same way, integer ones copied. The EMA is what is validated and written to
best.pt / last.pt; state.pt keeps the raw weights and the EMA, so ``--resume`` continues both bit for bit.
The average is a read-out of the trajectory: the training itself does not change.
"""
from __future__ import annotations

import copy

import torch

#: the warm-up of the decay: d_n = min(ema_decay, (1 + n) / (WARMUP + n))
WARMUP = 10.0


class WeightEMA:
    """The EMA copy of ``net`` (a module of its own, in eval mode)."""

    def __init__(self, net: torch.nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema decay must be in (0, 1), got {decay}")
        self.decay = float(decay)
        self.updates = 0
        self.net = copy.deepcopy(net).eval()
        for p in self.net.parameters():
            p.requires_grad_(False)

    def current_decay(self) -> float:
        return min(self.decay, (1.0 + self.updates) / (WARMUP + self.updates))

    @torch.no_grad()
    def update(self, net: torch.nn.Module) -> None:
        d = self.current_decay()
        src = net.state_dict()
        for k, v in self.net.state_dict().items():
            s = src[k].detach()
            if v.is_floating_point():
                v.mul_(d).add_(s.to(v.dtype), alpha=1.0 - d)
            else:
                v.copy_(s)
        self.updates += 1

    def state_dict(self) -> dict:
        return {"decay": self.decay, "updates": self.updates, "state_dict": self.net.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.decay, self.updates = float(state["decay"]), int(state["updates"])
        self.net.load_state_dict(state["state_dict"])
