"""DLA-34 backbone after DM3T's supplement, Table 7: base_layer (7x7), Level 0 and 1 (3x3 convs), Levels 2-5
(``Tree`` modules of ``BasicBlock``s with hierarchical deep aggregation through ``Root`` nodes).

The backbone is split where the modalities meet: :class:`DLAStem` (base_layer .. Level 2, one per modality,
output stride 4) and :class:`DLATrunk` (Levels 3-5, shared, run on the fused stride-4 map).
``channels`` = (base, L0, L1, L2, L3, L4, L5) and ``levels`` = (L0 convs, L1 convs, L2..L5 tree depths):
DLA-34 is (16, 16, 32, 64, 128, 256, 512) and (1, 1, 1, 2, 2, 1).
"""
from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    """Residual unit: two 3x3 convs with BN (the first may stride), identity (or given) residual."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x, residual=None):
        residual = x if residual is None else residual
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + residual)


class Root(nn.Module):
    """Aggregation node: 1x1 conv over the concatenated children (+ residual of the first child)."""

    def __init__(self, cin: int, cout: int, residual: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, 1, 0, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.residual = residual

    def forward(self, *xs):
        out = self.bn(self.conv(torch.cat(xs, 1)))
        if self.residual:
            out = out + xs[0]
        return self.relu(out)


class Tree(nn.Module):
    """Hierarchical deep aggregation tree of ``BasicBlock``s (depth ``levels``), as in DLA."""

    def __init__(self, levels: int, cin: int, cout: int, stride: int = 1, level_root: bool = False,
                 root_dim: int = 0):
        super().__init__()
        if root_dim == 0:
            root_dim = 2 * cout
        if level_root:
            root_dim += cin
        if levels == 1:
            self.tree1 = BasicBlock(cin, cout, stride)
            self.tree2 = BasicBlock(cout, cout, 1)
            self.root = Root(root_dim, cout)
        else:
            self.tree1 = Tree(levels - 1, cin, cout, stride, root_dim=0)
            self.tree2 = Tree(levels - 1, cout, cout, 1, root_dim=root_dim + cout)
            self.root = None
        self.level_root = level_root
        self.levels = levels
        self.downsample = nn.MaxPool2d(stride, stride) if stride > 1 else None
        self.project = (nn.Sequential(nn.Conv2d(cin, cout, 1, 1, bias=False), nn.BatchNorm2d(cout))
                        if cin != cout else None)

    def forward(self, x, residual=None, children=None):
        children = [] if children is None else children
        bottom = self.downsample(x) if self.downsample is not None else x
        residual = self.project(bottom) if self.project is not None else bottom
        if self.level_root:
            children.append(bottom)
        x1 = self.tree1(x, residual)
        if self.levels == 1:
            x2 = self.tree2(x1)
            return self.root(x2, x1, *children)
        children.append(x1)
        return self.tree2(x1, children=children)


def _conv_level(cin: int, cout: int, convs: int, stride: int = 1) -> nn.Sequential:
    mods = []
    for i in range(convs):
        mods += [nn.Conv2d(cin if i == 0 else cout, cout, 3, stride if i == 0 else 1, 1, bias=False),
                 nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    return nn.Sequential(*mods)


class DLAStem(nn.Module):
    """base_layer, Level 0, Level 1, Level 2 for one modality: ``in_ch`` channels in, stride 4 out.

    ``stem_stride`` 2 (the embedded config) makes the 7x7 base layer stride 2 and Level 1 stride 1, so Levels
    1-2 keep their output strides (2, 4) while the full-resolution convs run at half resolution.
    """

    def __init__(self, in_ch: int, channels, levels, stem_stride: int = 1):
        super().__init__()
        c = channels
        self.base_layer = nn.Sequential(nn.Conv2d(in_ch, c[0], 7, stem_stride, 3, bias=False),
                                        nn.BatchNorm2d(c[0]), nn.ReLU(inplace=True))
        self.level0 = _conv_level(c[0], c[1], levels[0])
        self.level1 = _conv_level(c[1], c[2], levels[1], stride=2 // stem_stride)
        self.level2 = Tree(levels[2], c[2], c[3], 2, level_root=False)

    def forward(self, x):
        return self.level2(self.level1(self.level0(self.base_layer(x))))


class DLATrunk(nn.Module):
    """Levels 3-5 (Trees with level roots) on the fused stride-4 map; returns [L2, L3, L4, L5]."""

    def __init__(self, channels, levels):
        super().__init__()
        c = channels
        self.level3 = Tree(levels[3], c[3], c[4], 2, level_root=True)
        self.level4 = Tree(levels[4], c[4], c[5], 2, level_root=True)
        self.level5 = Tree(levels[5], c[5], c[6], 2, level_root=True)

    def forward(self, l2):
        l3 = self.level3(l2)
        l4 = self.level4(l3)
        l5 = self.level5(l4)
        return [l2, l3, l4, l5]
