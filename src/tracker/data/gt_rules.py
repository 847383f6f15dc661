"""Ground-truth box rules of the bag contract (docs/data-contract.md), shared by every renderer that writes
contract bags (world A: tracker.sim, world B: tracker.sim_gl) so that their labels mean the same."""
from __future__ import annotations

#: floor of a box side (px) when computing its area, so a degenerate box has a defined in-image fraction
MIN_SIDE_PX = 1e-6


def in_image_fraction(box: tuple, w: int, h: int) -> float:
    """Share of the amodal box ``(x1, y1, x2, y2)`` that lies inside a ``w`` x ``h`` image."""
    x1, y1, x2, y2 = box
    area = max(x2 - x1, MIN_SIDE_PX) * max(y2 - y1, MIN_SIDE_PX)
    iw = max(0.0, min(x2, w) - max(x1, 0))
    ih = max(0.0, min(y2, h) - max(y1, 0))
    return float(iw * ih / area)


def near_view(box: tuple, w: int, h: int, margin: float) -> bool:
    """True when the amodal box reaches within ``margin`` px of the image (such objects are labelled)."""
    x1, y1, x2, y2 = box
    return x2 > -margin and y2 > -margin and x1 < w + margin and y1 < h + margin
