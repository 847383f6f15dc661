"""Modulated deformable convolution (DCNv2) in pure PyTorch, exported to ONNX as ``DeformConv`` (opset 19).

No torchvision: the sampling is ``grid_sample`` (bilinear, zeros outside, ``align_corners=True``), which is the
same interpolation as DCNv2 / torchvision's ``deform_conv2d`` and ONNX ``DeformConv``: a sample at (y, x) mixes
the four neighbouring pixels, and neighbours outside the image count as zero.

Layouts follow ONNX ``DeformConv`` (and torchvision): ``offset`` is (N, offset_group * kH * kW * 2, oH, oW) with,
for kernel tap k = i * kW + j, channel 2k = dy and 2k + 1 = dx; ``mask`` is (N, offset_group * kH * kW, oH, oW).

:class:`DeformConvFunction` is an autograd Function whose ``forward`` is :func:`deform_conv2d` and whose
``symbolic`` emits the ONNX op, so the legacy exporter (``dynamo=False``) writes one ``DeformConv`` node per
layer instead of tracing the sampling. Its ``backward`` recomputes the pure-torch graph, so it can be trained.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

ONNX_OPSET = 19


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def deform_conv2d(x: torch.Tensor, offset: torch.Tensor, mask: torch.Tensor | None, weight: torch.Tensor,
                  bias: torch.Tensor | None = None, stride=1, padding=0, dilation=1) -> torch.Tensor:
    """Modulated deformable convolution (groups = 1; offset groups from the offset's channel count)."""
    n, c, h, w = x.shape
    co, ci, kh, kw = weight.shape
    if ci != c:
        raise ValueError(f"deform_conv2d: weight expects {ci} input channels, input has {c} (groups must be 1)")
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    K = kh * kw
    oh, ow = offset.shape[-2:]
    g = offset.shape[1] // (2 * K)
    if g * 2 * K != offset.shape[1] or c % g:
        raise ValueError(f"deform_conv2d: offset has {offset.shape[1]} channels, not a multiple of 2*{K} "
                         f"dividing the {c} input channels")
    dev, dt = x.device, x.dtype
    # regular sampling grid: base (oh, ow) positions + kernel tap positions -> (K, oh, ow)
    ys = (torch.arange(oh, device=dev, dtype=dt) * sh - ph).view(1, oh, 1)
    xs = (torch.arange(ow, device=dev, dtype=dt) * sw - pw).view(1, 1, ow)
    ky = (torch.arange(kh, device=dev, dtype=dt) * dh).repeat_interleave(kw).view(K, 1, 1)
    kx = (torch.arange(kw, device=dev, dtype=dt) * dw).repeat(kh).view(K, 1, 1)
    off = offset.view(n, g, K, 2, oh, ow)
    py = ys + ky + off[:, :, :, 0]  # (n, g, K, oh, ow)
    px = xs + kx + off[:, :, :, 1]
    gx = px * (2.0 / max(w - 1, 1)) - 1.0
    gy = py * (2.0 / max(h - 1, 1)) - 1.0
    grid = torch.stack([gx, gy], dim=-1).view(n * g, K * oh, ow, 2)
    src = x.reshape(n * g, c // g, h, w)
    sampled = F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    sampled = sampled.view(n, g, c // g, K, oh, ow)
    if mask is not None:
        sampled = sampled * mask.view(n, g, 1, K, oh, ow)
    cols = sampled.reshape(n, c * K, oh * ow)  # channel-major, tap-minor: matches weight.view(co, c*K)
    out = torch.matmul(weight.reshape(co, c * K), cols).view(n, co, oh, ow)
    if bias is not None:
        out = out + bias.view(1, co, 1, 1)
    return out


class DeformConvFunction(torch.autograd.Function):
    """``deform_conv2d`` as one op: pure-torch forward, recomputed backward, ONNX ``DeformConv`` symbolic."""

    @staticmethod
    def forward(ctx, x, weight, offset, bias, mask, stride, padding, dilation):
        ctx.save_for_backward(x, weight, offset, bias, mask)
        ctx.conf = (stride, padding, dilation)
        # While exporting, compute the real values without recording the sampling into the traced graph (the
        # node is the symbolic's DeformConv); a traced sub-block would break the exporter's peephole pass.
        state = torch._C._get_tracing_state()
        torch._C._set_tracing_state(None)
        try:
            return deform_conv2d(x, offset, mask, weight, bias, stride, padding, dilation)
        finally:
            torch._C._set_tracing_state(state)

    @staticmethod
    def backward(ctx, grad_out):
        inputs = [t.detach().requires_grad_(True) for t in ctx.saved_tensors]
        x, weight, offset, bias, mask = inputs
        with torch.enable_grad():
            out = deform_conv2d(x, offset, mask, weight, bias, *ctx.conf)
        grads = torch.autograd.grad(out, inputs, grad_out, allow_unused=True)
        return (*grads, None, None, None)

    @staticmethod
    def symbolic(g, x, weight, offset, bias, mask, stride, padding, dilation):
        sh, sw = _pair(stride)
        ph, pw = _pair(padding)
        dh, dw = _pair(dilation)
        kh, kw = _static_kernel(weight)
        k = kh * kw
        og = _static_channels(offset) // (2 * k) if _static_channels(offset) else 1
        return g.op("DeformConv", x, weight, offset, bias, mask, strides_i=[sh, sw], pads_i=[ph, pw, ph, pw],
                    dilations_i=[dh, dw], group_i=1, offset_group_i=og, kernel_shape_i=[kh, kw])


def _static_kernel(weight_value) -> tuple[int, int]:
    sizes = weight_value.type().sizes()
    return int(sizes[2]), int(sizes[3])


def _static_channels(v) -> int | None:
    try:
        return int(v.type().sizes()[1])
    except Exception:  # noqa: BLE001 - shape unknown to the exporter
        return None


class ModulatedDeformConv2d(nn.Module):
    """DCNv2: a 3x3 conv predicts offsets and a sigmoid modulation mask (zero-initialised, so training starts
    from a plain convolution), then the deformable convolution samples the input at the shifted taps."""

    def __init__(self, cin: int, cout: int, kernel_size: int = 3, stride: int = 1, padding: int = 1,
                 dilation: int = 1, offset_groups: int = 1, bias: bool = True):
        super().__init__()
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.kernel_size = kernel_size
        self.offset_groups = offset_groups
        self.weight = nn.Parameter(torch.empty(cout, cin, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        k = kernel_size * kernel_size
        self.conv_offset_mask = nn.Conv2d(cin, 3 * offset_groups * k, kernel_size, stride, padding, dilation)
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        nn.init.zeros_(self.conv_offset_mask.weight)
        nn.init.zeros_(self.conv_offset_mask.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        om = self.conv_offset_mask(x)
        n2 = 2 * self.offset_groups * self.kernel_size ** 2
        offset, mask = om[:, :n2], torch.sigmoid(om[:, n2:])
        bias = self.bias if self.bias is not None else x.new_zeros(self.weight.shape[0])
        if torch.onnx.is_in_onnx_export() or torch.jit.is_tracing():
            return DeformConvFunction.apply(x, self.weight, offset, bias, mask, self.stride, self.padding,
                                            self.dilation)
        return deform_conv2d(x, offset, mask, self.weight, bias, self.stride, self.padding, self.dilation)


def conv_block(cin: int, cout: int, deformable: bool) -> nn.Sequential:
    """3x3 (deformable or plain) conv + BN + ReLU: CenterNet's ``DeformConv`` block, or its plain-conv variant."""
    conv = ModulatedDeformConv2d(cin, cout, 3, 1, 1) if deformable else nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True))
