"""make_detector: the product detector from config, every failure a ConfigError with its reason; describe();
the model's classes checked against the tracker config's."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tracker.backends import BackendUnavailable, ModelError
from tracker.common.config import ConfigError
from tracker.network import factory
from tracker.network.factory import load_detector, make_detector
from tracker.network.info import check_class_names

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "embedded.onnx"
ORT = {"order": ["onnxruntime"], "device": "cpu", "threads": 1}

needs_model = pytest.mark.skipif(not MODEL.is_file(), reason="models/embedded.onnx not present")


def _copy_model(tmp_path: Path, **meta_over) -> Path:
    """The shipped model in tmp_path with its metadata edited (version_hash covers the .onnx only)."""
    onnx = tmp_path / "m.onnx"
    shutil.copy(MODEL, onnx)
    meta = json.loads(MODEL.with_suffix(".json").read_text())
    for k, v in meta_over.items():
        if v is None:
            meta.pop(k)
        else:
            meta[k] = v
    onnx.with_suffix(".json").write_text(json.dumps(meta))
    return onnx


def test_path_errors_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"backend.model: no model path configured"):
        make_detector(ORT, None, "")
    with pytest.raises(ConfigError, match=r"model file not found: .*nothing.onnx"):
        make_detector(ORT, None, str(tmp_path / "nothing.onnx"))
    with pytest.raises(ConfigError, match="is a directory"):
        make_detector(ORT, None, str(tmp_path))


@needs_model
def test_bad_options_name_their_key():
    with pytest.raises(ConfigError, match=r"backend.options.precision"):
        make_detector({"precision": "int4"}, None, str(MODEL))
    with pytest.raises(ConfigError, match=r"backend.detector.score_threshold = 1.5 is out of range"):
        make_detector(ORT, {"score_threshold": 1.5}, str(MODEL))
    with pytest.raises(ConfigError, match="unknown"):
        make_detector({"order": ["openvino"]}, None, str(MODEL))


@needs_model
def test_corrupt_or_mismatched_model_is_a_config_error_with_the_reason(tmp_path):
    onnx = _copy_model(tmp_path)
    onnx.write_bytes(b"not an onnx file")
    with pytest.raises(ConfigError, match=r"cannot load model .*m.onnx: ModelError: .*does not match its metadata"):
        make_detector(ORT, None, str(onnx))
    with pytest.raises(ConfigError, match=r"cannot load model .*ONNX Runtime cannot load"):
        make_detector({**ORT, "verify_hash": False}, None, str(onnx))


@pytest.mark.parametrize("exc", [ModelError("bad meta"), BackendUnavailable("no provider"), AttributeError("x.y"),
                                 TypeError("bad arg"), RuntimeError("CUDA failure"), OSError("disk gone")])
def test_any_backend_failure_becomes_a_config_error(tmp_path, monkeypatch, exc):
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"x")

    def failing(cfg, path, log=None):
        raise exc
    monkeypatch.setattr(factory, "create_backend", failing)
    with pytest.raises(ConfigError, match=f"cannot load model .*m.onnx: {type(exc).__name__}: {exc}") as e:
        make_detector(ORT, None, str(onnx))
    assert e.value.__cause__ is exc


@needs_model
def test_metadata_the_detector_cannot_use_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"cannot use model .*ModelError: model metadata lacks \['stride'\]"):
        make_detector(ORT, None, str(_copy_model(tmp_path, stride=None)))


@needs_model
def test_describe_the_shipped_model():
    det = make_detector(ORT, {"score_threshold": 0.4}, str(MODEL))
    info = det.describe()
    meta = json.loads(MODEL.with_suffix(".json").read_text())
    assert (info.backend, info.device) == ("onnxruntime", "CPUExecutionProvider")
    assert info.model_path == str(MODEL) and info.version_hash == meta["version_hash"]
    assert info.class_names == ("person", "vehicle") and info.input_size == (320, 256) and info.stride == 4
    assert info.modalities == ("rgb", "thermal", "depth") and det.config.score_threshold == 0.4
    assert "onnxruntime" in info.summary() and meta["version_hash"] in info.summary()


def test_check_class_names():
    check_class_names(["person", "vehicle"], ("person", "vehicle"))
    with pytest.raises(ConfigError, match="another order"):
        check_class_names(["vehicle", "person"], ["person", "vehicle"])
    with pytest.raises(ConfigError, match=r"only in the model: \['car'\]; only in the tracker config: \['vehicle'\]"):
        check_class_names(["person", "car"], ["person", "vehicle"])
    with pytest.raises(ConfigError, match=r"only in the model: none; only in the tracker config: \['bicycle'\]"):
        check_class_names(["person", "vehicle"], ["person", "vehicle", "bicycle"])


@needs_model
def test_model_classes_checked_against_the_tracker_config(tmp_path):
    from tracker.core import TrackerConfig
    from tracker.nodes.config import load_node_config
    tracker_names = TrackerConfig.from_mapping(load_node_config(ROOT / "config" / "tracker_node.yaml").tracker
                                               ).class_names
    make_detector(ORT, None, str(MODEL)).describe().check_class_names(tracker_names)  # the shipped pair agrees
    det = make_detector(ORT, None, str(_copy_model(tmp_path, class_names=["vehicle", "person"])))
    with pytest.raises(ConfigError, match=r"model's classes \['vehicle', 'person'\] differ .*another order"):
        det.describe().check_class_names(tracker_names)


@needs_model
def test_load_detector_from_the_inference_section(tmp_path):
    cfg = tmp_path / "network.yaml"
    cfg.write_text(f"inference:\n  model_path: {MODEL}\n  backend: {json.dumps(ORT)}\n"
                   "  detector: {score_threshold: 0.5}\n")
    det = load_detector(str(cfg))
    assert det.config.score_threshold == 0.5 and len(det.detect(np.zeros((480, 640, 3), np.uint8))) == 0
    cfg.write_text("inference:\n  model_path: ''\n")
    with pytest.raises(ConfigError, match=r"inference.model_path: no model path"):
        load_detector(str(cfg))
    cfg.write_text(f"inference:\n  model_path: {MODEL}\n  detector: {{top_k: 0}}\n")
    with pytest.raises(ConfigError, match=r"inference.detector.top_k"):
        load_detector(str(cfg))
