"""Export: named ONNX graph with DeformConv, metadata, ORT-vs-PyTorch parity within PARITY_ATOL."""
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from network_helpers import exported_tiny
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


def conv_outputs_quantized(path) -> list[str]:
    """Conv nodes of ``path`` whose output goes into a QuantizeLinear."""
    m = onnx.load(str(path))
    conv_out = {n.output[0]: n.name for n in m.graph.node if n.op_type == "Conv"}
    return [conv_out[n.input[0]] for n in m.graph.node if n.op_type == "QuantizeLinear" and n.input[0] in conv_out]


def test_int8_qdq_export_for_tensorrt(exported, tmp_path):
    import shutil

    from tracker.backends.base import model_has_qdq
    from tracker.network.quantize import Int8Config, qdq_violations, quantize_qdq
    net, path, meta = exported
    src = tmp_path / "m.onnx"
    shutil.copy(path, src)
    shutil.copy(meta, src.with_suffix(".json"))
    calib = [example_inputs(64, 64, seed=s) for s in range(3)]
    q, qm = quantize_qdq(src, tmp_path / "m_int8_qdq.onnx", calib)
    assert model_has_qdq(q) and not model_has_qdq(src)
    assert qdq_violations(q) == []  # symmetric int8, zero points 0, no int32 (bias) DequantizeLinear
    # Q/DQ only in front of Convs: the heads' outputs (heatmap logits) stay float, no ties in the peak test
    assert conv_outputs_quantized(q) == []
    m = json.loads(qm.read_text())
    assert m["version_hash"] == file_hash(q) and m["quantization"]["format"] == "QDQ"
    floats = m["quantization"]["float_convs"]  # the stems' first convs, fusion, neck and heads (Int8Config)
    assert all(any(k in n for k in Int8Config().float_convs) for n in floats)
    assert any("base_layer" in n for n in floats) and any("heads/heatmap" in n for n in floats)
    assert not any("trunk" in n for n in floats)  # the DLA trunk runs in int8
    assert m["quantization"]["recipe"] == json.loads(json.dumps(dataclasses.asdict(Int8Config())))
    import onnxruntime as ort
    out = ort.InferenceSession(str(q), providers=["CPUExecutionProvider"]).run(["distance"], calib[0])[0]
    assert out.shape == (1, 1, 16, 16) and np.isfinite(out).all()
    q2, _ = quantize_qdq(src, tmp_path / "again.onnx", calib)
    assert file_hash(q2) == file_hash(q)  # deterministic


def _qdq_graph(x_scale, w_axis):
    """x -> Q/DQ (scale ``x_scale``) -> Conv with a per-channel weight DequantizeLinear on ``w_axis``."""
    from onnx import TensorProto, helper, numpy_helper
    w = numpy_helper.from_array(np.ones((4, 2, 1, 1), np.int8), "w")
    inits = [w, numpy_helper.from_array(np.full(4 if w_axis == 0 else 2, 0.1, np.float32), "ws"),
             numpy_helper.from_array(np.asarray(x_scale, np.float32), "xs")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs"], ["xq"], name="q", axis=1),
             helper.make_node("DequantizeLinear", ["xq", "xs"], ["xd"], name="dq", axis=1),
             helper.make_node("DequantizeLinear", ["w", "ws"], ["wd"], name="wdq", axis=w_axis),
             helper.make_node("Conv", ["xd", "wd"], ["y"], name="conv")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 4, 4])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)])


def test_qdq_violations_per_tensor_activations_and_conv_axis0_weights(tmp_path):
    from tracker.network.quantize import qdq_violations
    for name, x_scale, axis, why in (("ok", 0.1, 0, None), ("act", [0.1, 0.2], 0, "activation"),
                                     ("axis", 0.1, 1, "axis 1")):
        p = tmp_path / f"{name}.onnx"
        onnx.save(_qdq_graph(x_scale, axis), str(p))
        bad = qdq_violations(p)
        assert (bad == []) if why is None else (bad and all(why in b for b in bad)), (name, bad)


def test_int8_bound_is_per_class():
    from tracker.network.quantize import INT8_PARITY_BOUND, int8_within_bound
    good = {k: 0.0 for k in ("missed", "extra", "score", "distance")}
    assert set(INT8_PARITY_BOUND) == {"person", "vehicle"}
    assert int8_within_bound({"person": good, "vehicle": good})
    assert not int8_within_bound({"person": good, "vehicle": {**good, "extra": 0.45}})  # duplicate vehicle peaks


def test_qdq_violations_finds_what_tensorrt_rejects(exported, tmp_path):
    import shutil

    from tracker.network.export import qdq_violations
    from trt_standin.models import asymmetric_qdq
    src = tmp_path / "m.onnx"
    shutil.copy(exported[1], src)
    shutil.copy(exported[2], src.with_suffix(".json"))
    old = asymmetric_qdq(src, tmp_path / "old.onnx", [example_inputs(64, 64, seed=s) for s in range(3)])
    bad = qdq_violations(old)
    assert any("zero point" in b for b in bad) and any("dequantizes INT32" in b for b in bad)


MODELS = Path(__file__).resolve().parents[1] / "models"


def test_committed_int8_model_is_symmetric_without_int32_dequantize():
    from tracker.network.export import qdq_violations
    q = MODELS / "embedded_int8_qdq.onnx"
    m = onnx.load(str(q))
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    dequantized = {n.output[0] for n in m.graph.node if n.op_type == "DequantizeLinear"}
    int8 = [n.name for n in convs if n.input[0] in dequantized]
    float_convs = json.loads(q.with_suffix(".json").read_text())["quantization"]["float_convs"]
    assert sorted(int8) == sorted(n.name for n in convs if n.name not in float_convs)  # int8 = all but those
    assert any("/trunk/" in n for n in int8) and any("/rgb/level" in n for n in int8)
    assert qdq_violations(q) == []
    meta = json.loads(q.with_suffix(".json").read_text())
    fp32 = json.loads((MODELS / "embedded.json").read_text())
    assert meta["version_hash"] == file_hash(q) and meta["quantization"]["from"] == "embedded.onnx"
    assert {k: v for k, v in meta.items() if k not in ("version_hash", "onnx_file", "quantization")} == \
        {k: v for k, v in fp32.items() if k not in ("version_hash", "onnx_file")}


def test_committed_int8_model_has_float_head_outputs():
    assert conv_outputs_quantized(MODELS / "embedded_int8_qdq.onnx") == []


def test_committed_int8_model_matches_fp32_within_its_bound(tmp_path):
    """Per class, on frames of simulated scenes in neither the training, validation nor calibration set."""
    pytest.importorskip("rosbags")
    from tracker.network.dataset import BagSpec, FrameCache
    from tracker.network.preprocess import NormalisationConfig
    from tracker.network.quantize import INT8_PARITY_BOUND, int8_parity, int8_within_bound
    specs = [BagSpec("day,crowd", 7, 0.4), BagSpec("night", 7, 0.4)]
    cache = FrameCache.build(specs, tmp_path, 320, 256, 1, "t", progress=False)
    norm = NormalisationConfig.from_meta(json.loads((MODELS / "embedded.json").read_text())["normalisation"])
    frames = [{k: v[None] for k, v in cache.network_inputs(i, norm=norm).items()} for i in range(len(cache))]
    result = int8_parity(MODELS / "embedded.onnx", MODELS / "embedded_int8_qdq.onnx", frames)
    assert all(r["detections"] >= 10 for r in result.values()), result
    assert int8_within_bound(result), (result, INT8_PARITY_BOUND)
    stated = json.loads((MODELS / "embedded_int8_qdq.json").read_text())["quantization"]
    assert stated["parity_bound"] == INT8_PARITY_BOUND and int8_within_bound(stated["parity_vs_fp32"])


def test_int8_calibration_frames_come_from_the_named_bags(exported, tmp_path, capsys):
    """--calib-bags: the calibration / parity frames are those bags' frames (cached under --cache-dir); a path
    that is no bag is a one-line error, exit 2."""
    import shutil

    from train_helpers import sim_bag
    from tracker.network.export import main
    from tracker.network.quantize import calibration_frames
    pytest.importorskip("rosbags")
    frames = calibration_frames("config/network.yaml", 64, 64, 3, bags=[str(sim_bag())], cache_dir=tmp_path / "c")
    assert len(frames) == 3 and frames[0]["rgb"].shape == (1, 3, 64, 64) and frames[0]["rgb"].any()
    assert [f["modality"].tolist() for f in frames] == [[[1.0, 1.0, 1.0]]] * 3
    assert any((tmp_path / "c").iterdir())  # cached where asked, not under the config's data.root
    _, path, meta = exported
    src = tmp_path / "m.onnx"
    shutil.copy(path, src)
    shutil.copy(meta, src.with_suffix(".json"))
    assert main(["--from-onnx", str(src), "--int8-qdq", "2", "--calib-bags", str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err and not (tmp_path / "m_int8_qdq.onnx").exists()
    with pytest.raises(SystemExit) as e:  # a cache folder without bags would be silently unused
        main(["--from-onnx", str(src), "--int8-qdq", "2", "--cache-dir", str(tmp_path / "c")])
    assert e.value.code == 2 and "--cache-dir" in capsys.readouterr().err
