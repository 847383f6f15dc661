"""World B: a second, independent multi-modal renderer (rasterised triangle meshes on OpenGL through
moderngl/EGL) writing the same contract bags as ``tracker.sim`` (see docs/simulator-gl.md).

``simulate(presets, duration_s, seed, out_dir)`` renders a bag; ``World(cfg, duration_s, seed)`` renders
frames with ground truth in memory.
"""
from __future__ import annotations


def simulate(*args, **kwargs):
    from .simulate import simulate as _simulate
    return _simulate(*args, **kwargs)


__all__ = ["simulate"]
