"""Multi-modal (RGB, thermal, depth) scenario simulator writing contract bags (see docs/simulator.md).

``simulate(...)`` renders a bag; ``ground_truth_sequence(...)`` gives the ground truth without rendering.
"""
from __future__ import annotations


def simulate(*args, **kwargs):
    from .simulate import simulate as _simulate
    return _simulate(*args, **kwargs)


def ground_truth_sequence(*args, **kwargs):
    from .simulate import ground_truth_sequence as _gts
    return _gts(*args, **kwargs)


__all__ = ["simulate", "ground_truth_sequence"]
