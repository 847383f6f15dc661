"""Batching of the visibility mask pass: labelled objects share one pass and its 8 channels (4 in each of two
RGBA8 targets) as long as objects in the same channel have disjoint pixel boxes, so that a channel's pixels
inside an object's box are exactly that object's silhouette."""
from __future__ import annotations

MASK_CHANNELS = 8  # objects per mask pass: 4 channels in each of the two mask targets


def mask_channels(boxes: dict) -> list[dict]:
    """Greedy assignment of objects to mask passes and channels ``[{gid: channel}]`` such that objects sharing
    a channel have disjoint pixel boxes (so each channel's pixels inside a box belong to that box's object)."""
    passes: list[dict] = []
    used: list[list[list]] = []  # per pass, per channel: the boxes in it
    for gid, b in boxes.items():
        for k, chans in enumerate(used):
            c = next((c for c, bs in enumerate(chans) if not any(_overlap(b, o) for o in bs)), None)
            if c is None and len(chans) < MASK_CHANNELS:
                c = len(chans)
                chans.append([])
            if c is not None:
                chans[c].append(b)
                passes[k][gid] = c
                break
        else:
            used.append([[b]])
            passes.append({gid: 0})
    return passes


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
