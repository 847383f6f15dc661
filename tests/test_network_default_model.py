"""The shipped default model: loads through the backend interface (hash checked), matches its config and card."""
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "embedded.onnx"

pytestmark = pytest.mark.skipif(not MODEL.is_file(), reason="models/embedded.onnx not present")


def test_default_model_loads_and_matches_card():
    pytest.importorskip("onnxruntime")
    from tracker.backends import BackendConfig, create_backend
    from tracker.network.detector import Detector, DetectorConfig
    b = create_backend(BackendConfig(order=("onnxruntime",), device="cpu", threads=1), MODEL)
    meta = b.meta
    assert (meta["input_width"], meta["input_height"]) == (320, 256) and meta["embedding_dim"] == 32
    assert meta["class_names"] == ["person", "vehicle"]
    assert f"--seed {meta['training']['seed']}" in meta["training"]["command"]
    card = (ROOT / "models" / "MODEL_CARD.md").read_text()
    assert meta.version_hash in card and meta["training"]["command"].split(" --out")[0] in card
    assert MODEL.stat().st_size < 8e6
    det = Detector(b, DetectorConfig(score_threshold=0.3))
    d = det.detect(np.zeros((480, 640, 3), np.uint8), np.full((480, 640), 29000, np.uint16), "mono16",
                   np.full((480, 640), np.nan, np.float32))
    assert len(d) == 0  # an empty, uniform scene has no people
