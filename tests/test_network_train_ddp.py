"""``torchrun --nproc_per_node 2 -m tracker.network.train ...`` (DDP, gloo on CPU) gives the weights of the
one-process run with the same global batch. Compared with frozen BatchNorm and concat fusion: with batch
statistics each CPU process normalises its own half of the batch (no SyncBatchNorm on CPU) and the diffusion
noise is drawn per process, which are real, documented differences (docs/network.md, Training)."""
import os
import subprocess
import sys

import pytest

from train_helpers import sim_bag, tiny_config_file, vtmot_bag, weights
from tracker.network.train import main

pytest.importorskip("rosbags")
#: float32 summation order differs (gradient all-reduce, gathered identity rows): relative to 1 + |w|
TOLERANCE = 1e-5


def _relative_difference(a, b) -> float:
    return max(float(((a[k].double() - b[k].double()).abs() / (1 + b[k].double().abs())).max())
               for k in a if a[k].is_floating_point())


def test_two_processes_equal_one_with_the_same_global_batch(tmp_path):
    cfg = tiny_config_file(tmp_path, steps=3, clips_per_batch=2, frames_per_clip=2, checkpoint_every=0,
                           batchnorm="frozen")
    args = ["--config", str(cfg), str(sim_bag()), str(vtmot_bag()), "--fusion", "concat", "--seed", "2",
            "--no-progress"]
    assert main(args + ["--out", str(tmp_path / "one")]) == 0  # also writes the caches both runs read
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "tracker.network.train", *args, "--out", str(tmp_path / "two")]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr[-3000:]
    one, two = weights(tmp_path / "one" / "last.pt"), weights(tmp_path / "two" / "last.pt")
    assert set(one) == set(two)
    assert _relative_difference(two, one) < TOLERANCE
