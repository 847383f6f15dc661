"""The shipped default model: loads through the backend interface (hash checked), matches its config, its card and
its lineage (committed checkpoint, training bags of config/train_worlds.yaml)."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "embedded.onnx"

pytestmark = pytest.mark.skipif(not MODEL.is_file(), reason="models/embedded.onnx not present")


def _backend():
    pytest.importorskip("onnxruntime")
    from tracker.backends import BackendConfig, create_backend
    return create_backend(BackendConfig(order=("onnxruntime",), device="cpu", threads=1), MODEL)


def _train_worlds_bags(split: str) -> list[str]:
    """The bag paths scripts/training_data.py writes to build/worlds/<split>.txt, without rendering."""
    spec = importlib.util.spec_from_file_location("training_data", ROOT / "scripts" / "training_data.py")
    td = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(td)
    from tracker.sim.simulate import bag_name as a_name
    from tracker.sim_gl.simulate import bag_name as b_name
    cfg = yaml.safe_load((ROOT / "config" / "train_worlds.yaml").read_text())
    return [f"build/worlds/A/{a_name(p, s, True)}" if w == "sim" else f"build/worlds/B/{b_name(p, s)}"
            for w, p, s, _, _ in td.bags(cfg[split])]


def test_default_model_loads_and_matches_card():
    b = _backend()
    meta = b.meta
    assert (meta["input_width"], meta["input_height"]) == (320, 256) and meta["embedding_dim"] == 32
    assert meta["class_names"] == ["person", "vehicle"]
    assert meta["normalisation"]["thermal"]["channels"] == 2 and meta["inputs"]["thermal"] == [1, 2, 256, 320]
    command = meta["training"]["command"]
    assert f"--seed {meta['training']['seed']}" in command
    card = (ROOT / "models" / "MODEL_CARD.md").read_text()
    assert meta.version_hash in card
    options = command[command.index(" --init"):].split(" --out")[0].strip()  # after the bag lists
    assert options in card
    assert (ROOT / meta["training"]["checkpoint"]).is_file() and meta["training"]["checkpoint"] in card
    assert MODEL.stat().st_size < 8e6


def test_default_model_was_trained_on_the_bags_of_train_worlds_yaml():
    """The card's `$(cat build/worlds/train.txt)` is what the recorded run used, in that order."""
    training = _backend().meta["training"]
    assert [b["path"] for b in training["train_bags"]] == _train_worlds_bags("train")
    assert [b["path"] for b in training["val_bags"]] == _train_worlds_bags("val")
    assert {b["path"].split("/")[2] for b in training["train_bags"]} == {"A", "B"}  # both worlds


def test_default_model_was_trained_on_the_registration_the_shipped_node_runs():
    """Thermal on the plane the node registers it on: the shipped node states no mismatch at configure."""
    from tracker.network.sources import node_registration
    from tracker.pipeline.registration import registration_mismatch
    trained = _backend().meta["training"]["registration"]
    assert trained and registration_mismatch(trained, node_registration()) == ""


@pytest.mark.parametrize("encoding, level", [("mono16", 29000), ("mono8", 120)])
def test_an_empty_uniform_scene_has_no_detections(encoding, level):
    from tracker.network.detector import Detector, DetectorConfig
    det = Detector(_backend(), DetectorConfig(score_threshold=0.3))
    thermal = np.full((480, 640), level, np.uint16 if encoding == "mono16" else np.uint8)
    d = det.detect(np.zeros((480, 640, 3), np.uint8), thermal, encoding, np.full((480, 640), np.nan, np.float32))
    assert len(d) == 0
