"""Export: named ONNX graph with DeformConv, metadata, ORT-vs-PyTorch parity within PARITY_ATOL."""
import json

import numpy as np
import pytest

from test_network_helpers import exported_tiny
from tracker.network.export import PARITY_ATOL, example_inputs, file_hash, parity

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def exported():
    return exported_tiny()


def test_graph_names_and_ops(exported):
    _, path, _ = exported
    m = onnx.load(str(path))
    assert [i.name for i in m.graph.input] == ["rgb", "thermal", "depth", "modality"]
    assert [o.name for o in m.graph.output] == ["heatmap", "size", "offset", "embedding", "distance"]
    ops = [n.op_type for n in m.graph.node]
    assert ops.count("DeformConv") == 6  # 3 IDAUp stages x (proj, node)
    assert any(p.key == "tracker_meta" for p in m.metadata_props)


def test_metadata(exported):
    _, path, meta_path = exported
    meta = json.loads(meta_path.read_text())
    assert meta["version_hash"] == file_hash(path)
    assert meta["inputs"]["rgb"] == [1, 3, 64, 64] and meta["outputs"]["embedding"] == [1, 8, 16, 16]
    assert meta["class_names"] == ["person", "vehicle"] and meta["embedding_dim"] == 8
    assert meta["training"]["command"] == "test" and "thermal" in meta["normalisation"]


def test_parity_ort_vs_torch(exported):
    net, path, _ = exported
    diffs = parity(net, path, example_inputs(64, 64, seed=5))
    assert max(v for k, v in diffs.items() if k != "peak_mismatch") < PARITY_ATOL, diffs


def test_parity_with_missing_modalities(exported):
    net, path, _ = exported
    x = example_inputs(64, 64, seed=6)
    x["modality"] = np.array([[0.0, 1.0, 0.0]], np.float32)
    x["rgb"][:] = 0
    x["depth"][:] = 0
    diffs = parity(net, path, x)
    assert diffs["distance"] < PARITY_ATOL and diffs["embedding"] < PARITY_ATOL


def test_int8_qdq_export_for_tensorrt(exported, tmp_path):
    import shutil

    from tracker.backends.tensorrt import model_has_qdq
    from tracker.network.export import quantize_qdq
    net, path, meta = exported
    src = tmp_path / "m.onnx"
    shutil.copy(path, src)
    shutil.copy(meta, src.with_suffix(".json"))
    calib = [example_inputs(64, 64, seed=s) for s in range(3)]
    q, qm = quantize_qdq(src, tmp_path / "m_int8_qdq.onnx", calib)
    assert model_has_qdq(q) and not model_has_qdq(src)
    m = json.loads(qm.read_text())
    assert m["version_hash"] == file_hash(q) and m["quantization"]["format"] == "QDQ"
    import onnxruntime as ort
    out = ort.InferenceSession(str(q), providers=["CPUExecutionProvider"]).run(["distance"], calib[0])[0]
    assert out.shape == (1, 1, 16, 16) and np.isfinite(out).all()
