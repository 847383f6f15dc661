"""Backend interface: registry, fallback with one log line, clear errors for bad models and inputs."""
import json
import logging
import shutil

import numpy as np
import pytest

from network_helpers import exported_tiny
from tracker.backends import BackendConfig, BackendUnavailable, ModelError, create_backend, load_meta
from tracker.common.config import ConfigError, from_mapping

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def model():
    return exported_tiny()[1]


def _inputs():
    g = np.random.default_rng(0)
    return {"rgb": g.random((1, 3, 64, 64), np.float32), "thermal": g.random((1, 1, 64, 64), np.float32),
            "depth": g.random((1, 2, 64, 64), np.float32), "modality": np.ones((1, 3), np.float32)}


def test_fallback_to_onnxruntime_with_one_log_line(model, caplog, monkeypatch):
    from tracker.backends import tensorrt as trt_mod
    monkeypatch.setattr(trt_mod, "import_tensorrt",
                        lambda: (_ for _ in ()).throw(BackendUnavailable("tensorrt not importable (test)")))
    with caplog.at_level(logging.INFO, logger="tracker.backends"):
        b = create_backend(BackendConfig(order=("tensorrt", "onnxruntime"), device="auto"), model)
    assert b.name == "onnxruntime" and b.device == "CPUExecutionProvider"
    lines = [r.getMessage() for r in caplog.records if r.name == "tracker.backends"]
    assert len(lines) == 1 and "onnxruntime" in lines[0] and "skipped tensorrt" in lines[0]
    out = b.infer(_inputs())
    assert out["heatmap"].shape == (1, 2, 16, 16)


def test_cpu_device_skips_tensorrt(model):
    b = create_backend(BackendConfig(order=("tensorrt", "onnxruntime"), device="cpu"), model)
    assert b.name == "onnxruntime"


def test_no_backend_can_run(model):
    with pytest.raises(BackendUnavailable, match="no backend"):
        create_backend(BackendConfig(order=("tensorrt",), device="cpu"), model)


def test_config_rejects_unknown_backend():
    with pytest.raises(ConfigError, match="unknown backend"):
        from_mapping(BackendConfig, {"order": ["openvino"]}, where="backend")


def test_missing_model(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        create_backend(BackendConfig(order=("onnxruntime",)), tmp_path / "nope.onnx")


def test_missing_metadata(model, tmp_path):
    p = tmp_path / "m.onnx"
    shutil.copy(model, p)
    with pytest.raises(ModelError, match="metadata not found"):
        load_meta(p)


def test_corrupt_model(model, tmp_path):
    p = tmp_path / "m.onnx"
    p.write_bytes(b"this is not an onnx file")
    meta = json.loads(model.with_suffix(".json").read_text())
    meta["version_hash"] = __import__("tracker.backends.base", fromlist=["x"]).file_hash(p)
    p.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="cannot load"):
        create_backend(BackendConfig(order=("onnxruntime",)), p)


def test_mismatched_model_and_metadata(model, tmp_path):
    p = tmp_path / "m.onnx"
    p.write_bytes(model.read_bytes() + b"\0")
    shutil.copy(model.with_suffix(".json"), p.with_suffix(".json"))
    with pytest.raises(ModelError, match="does not match its metadata"):
        create_backend(BackendConfig(order=("onnxruntime",)), p)


def test_metadata_shape_mismatch(model, tmp_path):
    p = tmp_path / "m.onnx"
    shutil.copy(model, p)
    meta = json.loads(model.with_suffix(".json").read_text())
    meta["inputs"]["rgb"] = [1, 3, 128, 128]
    p.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="input rgb"):
        create_backend(BackendConfig(order=("onnxruntime",)), p)


def test_wrong_input_shape_is_clear(model):
    b = create_backend(BackendConfig(order=("onnxruntime",)), model)
    x = _inputs()
    x["rgb"] = x["rgb"][:, :, :32]
    with pytest.raises(ValueError, match="input 'rgb' has shape"):
        b.infer(x)
    with pytest.raises(ValueError, match="missing"):
        b.infer({"rgb": x["rgb"]})


def test_torch_backend_matches_onnxruntime(model):
    import tracker.network.torch_backend  # noqa: F401  (registers 'torch': it needs the network's model code)
    tb = create_backend(BackendConfig(order=("torch",), device="cpu"), model)
    ob = create_backend(BackendConfig(order=("onnxruntime",), device="cpu"), model)
    a, b = tb.infer(_inputs()), ob.infer(_inputs())
    assert tb.name == "torch" and tb.device == "cpu"
    assert np.abs(a["distance"] - b["distance"]).max() < 1e-3
    assert np.abs(a["embedding"] - b["embedding"]).max() < 1e-3
