"""The inference path (Detector, make_detector, the ONNX Runtime backend) runs where torch cannot be imported:
a subprocess with a meta-path finder that refuses 'torch' loads the shipped model and runs one frame."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "embedded.onnx"

SCRIPT = r"""
import importlib.abc, json, sys

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"torch is not installed here (blocked: {name})")
        return None

sys.meta_path.insert(0, NoTorch())
import numpy as np
import tracker.backends.onnxruntime  # noqa: F401
import tracker.network.detector  # noqa: F401
from tracker.network.factory import make_detector

det = make_detector({"order": ["onnxruntime"], "device": "cpu", "threads": 1},
                    {"score_threshold": 0.0, "top_k": 5, "min_box_px": 0.0}, sys.argv[1])
g = np.random.default_rng(0)
rgb = g.integers(0, 255, (480, 640, 3), dtype=np.uint8)
thermal = (29000 + g.integers(0, 800, (480, 640))).astype(np.uint16)
depth = (1 + 9 * g.random((480, 640))).astype(np.float32)
d = det.detect(rgb, thermal, "mono16", depth)
print(json.dumps({"torch_loaded": "torch" in sys.modules, "n": len(d), "emb": list(d.embeddings.shape),
                  "backend": det.describe().backend}))
"""


@pytest.mark.skipif(not MODEL.is_file(), reason="models/embedded.onnx not present")
def test_inference_path_never_imports_torch():
    pytest.importorskip("onnxruntime")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(MODEL)], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out == {"torch_loaded": False, "n": 5, "emb": [5, 32], "backend": "onnxruntime"}
