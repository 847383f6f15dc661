"""What the network's interface is, independent of how it is built (torch-free, shared by training, export and
inference): class names, modalities and their channel counts, the named inputs and outputs, the output stride.

Inference reads these facts from the model's metadata JSON (written by tracker-export from here), not from
this module; training and export use this module.
"""
from __future__ import annotations

from tracker.data.contract import CLASS_NAMES

MODALITIES = ("rgb", "thermal", "depth")
#: input channels per modality; thermal: 1, or 2 with a model config's ``thermal_channels: 2`` (the metadata's
#: ``inputs`` give a model's own)
MODALITY_CHANNELS = {"rgb": 3, "thermal": 1, "depth": 2}
INPUT_NAMES = ("rgb", "thermal", "depth", "modality")
OUTPUT_NAMES = ("heatmap", "size", "offset", "embedding", "distance")
#: network-input pixels per output cell (the heads run at stride 4)
STRIDE = 4
#: a cell is a peak when within this of its 3x3 max (an exact == would flip between runtimes on near-ties)
PEAK_TOLERANCE = 1e-6

__all__ = ["CLASS_NAMES", "INPUT_NAMES", "MODALITIES", "MODALITY_CHANNELS", "OUTPUT_NAMES", "PEAK_TOLERANCE",
           "STRIDE"]
