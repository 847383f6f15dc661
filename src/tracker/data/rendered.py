"""The frame a renderer of contract bags produces (world A: tracker.sim, world B: tracker.sim_gl): one camera's
image at one instant, with its ground truth. One definition for both renderers, which must not import each other,
so that the bag writers of both take the same thing."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Frame:
    camera: str  # a camera of tracker.data.contract.CAMERAS
    t_rel: float  # s since the start of the scenario
    stamp: float  # header stamp (s)
    image: np.ndarray  # the array the bag stores, in ``encoding``
    encoding: str
    gt: list | None  # the renderer's GTObjects for colour frames; None for the other cameras
    ids: np.ndarray | None = None  # (H, W) int32 object-id pass of this camera (label index + 1; 0 = none);
    #                                 world B only (tracker.sim_gl)
