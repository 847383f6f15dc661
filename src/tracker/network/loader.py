"""Training batches streamed by a torch DataLoader: item ``s`` is step ``s``'s batch (this process's slice of it).

Every random draw of a step comes from generators seeded by (seed, stream, step[, frame]): which frames, their
augmentation, the diffusion noise. A batch is therefore a pure function of the seed and the step number: the
same with 0 or N worker processes, in any process of a data-parallel run, and after ``--resume`` (the step
number is the whole data-order state). Workers are started with ``spawn`` by default (safe beside CUDA and
torchrun) and open the cache's memory maps themselves.
"""
from __future__ import annotations

import numpy as np
import torch

from .cache import FrameCache
from .dataset import AugmentConfig, ClipBatchSampler, augment_frame
from .preprocess import DEFAULT_NORMALISATION, NormalisationConfig
from .spec import CLASS_NAMES, INPUT_NAMES
from .targets import build_targets

#: independent random streams of a step
SAMPLE_STREAM, AUGMENT_STREAM, DIFFUSION_STREAM = 0, 1, 2


def step_rng(seed: int, stream: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream, *keys])


def step_seed(seed: int, stream: int, *keys: int) -> int:
    """A 63-bit torch seed of (seed, stream, keys)."""
    return int(np.random.SeedSequence([seed, stream, *keys]).generate_state(2, np.uint64)[0] >> np.uint64(1))


def collate(items, crop_w: int, crop_h: int, bin_centres: np.ndarray) -> tuple[dict, dict]:
    """Augmented frames [(inputs, objects)] -> batched input and target tensors."""
    inp = {k: torch.from_numpy(np.stack([it[0][k] for it in items])) for k in INPUT_NAMES}
    tg = [build_targets(it[1], crop_w, crop_h, len(CLASS_NAMES), bin_centres) for it in items]
    tgt = {k: torch.from_numpy(np.stack([t[k] for t in tg])) for k in tg[0]}
    return inp, tgt


class StepBatches(torch.utils.data.Dataset):
    """Map-style dataset over step numbers: ``[s]`` -> (s, inputs, targets, clip of each frame)."""

    def __init__(self, cache: FrameCache, clips: int, frames: int, window: int, aug: AugmentConfig, seed: int,
                 bin_centres: np.ndarray, part: slice | None = None, norm: NormalisationConfig = DEFAULT_NORMALISATION):
        """``norm``: the model's input normalisation (ModelConfig.input_normalisation: its thermal channels)."""
        self.cache, self.aug, self.seed, self.bins, self.norm = cache, aug, seed, np.asarray(bin_centres), norm
        self.sampler = ClipBatchSampler(cache, clips, frames, window, seed)
        self.part = part or slice(0, clips * frames)

    def frames(self, step: int) -> list[int]:
        """The global batch of ``step`` (cache frame indices)."""
        return self.sampler.sample(step_rng(self.seed, SAMPLE_STREAM, step))

    def __getitem__(self, step: int):
        idx = self.frames(step)[self.part]
        items = [augment_frame(self.cache, i, step_rng(self.seed, AUGMENT_STREAM, step, self.part.start + j), self.aug,
                              self.norm)
                 for j, i in enumerate(idx)]
        inp, tgt = collate(items, self.aug.crop_w, self.aug.crop_h, self.bins)
        return step, inp, tgt, torch.from_numpy(self.cache.a["clip"][idx].astype(np.int64))


def _worker_init(_worker_id: int) -> None:
    import cv2
    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def make_loader(batches: StepBatches, start: int, stop: int, workers: int, start_method: str = "spawn"):
    """Steps ``start`` .. ``stop - 1`` in order, prepared by ``workers`` processes (0: in this process)."""
    extra = {"multiprocessing_context": start_method, "worker_init_fn": _worker_init, "prefetch_factor": 2} \
        if workers else {}
    return torch.utils.data.DataLoader(batches, batch_size=None, sampler=range(start, stop), num_workers=workers,
                                       **extra)
