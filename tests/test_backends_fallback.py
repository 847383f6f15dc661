"""Any TensorRT failure falls back along ``order`` with one log line saying why; only a model that no backend can
run is an error. Runs the real create_backend path with the stand-in tensorrt module (tests/trt_standin)."""
import logging

import pytest

from network_helpers import exported_tiny
from tracker.backends import BackendConfig, BackendUnavailable, create_backend
from tracker.backends import tensorrt as T
from trt_standin import make_tensorrt
from trt_standin.models import fake_gpu

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def tiny():
    return exported_tiny()[1]


def _standin(monkeypatch, version="10.3.0"):
    trt = make_tensorrt(version)
    monkeypatch.setattr(T, "import_tensorrt", lambda: trt)
    monkeypatch.setattr(T, "cuda_device_info", fake_gpu)
    monkeypatch.setattr(T, "TorchDeviceMemory", lambda: trt.device_memory, raising=False)
    return trt


def _oom(trt):
    trt.knobs.build_raises = RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")


def _attr(trt):
    trt.knobs.build_raises = AttributeError("type object 'tensorrt.BuilderFlag' has no attribute 'FP16'")


def _type(trt):
    trt.knobs.build_raises = TypeError("build_serialized_network(): incompatible function arguments")


def _perm(trt):
    trt.knobs.deserialize_raises = PermissionError(13, "Permission denied")


def _build_none(trt):
    trt.knobs.build_error = "Internal Error: could not find any implementation for node /conv"


def _context_none(trt):
    trt.knobs.context_fails = True


FAILURES = [(_oom, "RuntimeError: CUDA out of memory"), (_attr, "AttributeError"), (_type, "TypeError"),
            (_perm, "PermissionError"), (_build_none, "could not find any implementation"),
            (_context_none, "execution context")]


@pytest.mark.parametrize("breaker,why", FAILURES, ids=[f.__name__.strip("_") for f, _ in FAILURES])
def test_any_tensorrt_failure_falls_back_to_onnxruntime_with_one_line(tiny, tmp_path, monkeypatch, caplog,
                                                                      breaker, why):
    trt = _standin(monkeypatch)
    breaker(trt)
    seen = []
    cfg = BackendConfig(order=("tensorrt", "onnxruntime"), engine_cache_dir=str(tmp_path))
    with caplog.at_level(logging.INFO, logger="tracker.backends"):
        b = create_backend(cfg, tiny, log=lambda level, msg: seen.append((level, msg)))
    assert b.name == "onnxruntime"
    lines = [r for r in caplog.records if r.name == "tracker.backends"]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    msg = lines[0].getMessage()
    assert "network backend: onnxruntime" in msg and "skipped tensorrt: " in msg and why in msg, msg
    assert lines[0].levelno == logging.WARNING and seen[-1] == (logging.WARNING, msg)
    assert trt.stats["engines"] == 0 and trt.stats["contexts"] == 0  # nothing of the failed attempt is held


def test_parser_without_deformconv_falls_back(tiny, tmp_path, monkeypatch, caplog):
    _standin(monkeypatch, "10.0.1")
    with caplog.at_level(logging.INFO, logger="tracker.backends"):
        b = create_backend(BackendConfig(order=("tensorrt", "onnxruntime"), engine_cache_dir=str(tmp_path)), tiny)
    lines = [r.getMessage() for r in caplog.records if r.name == "tracker.backends"]
    assert b.name == "onnxruntime" and len(lines) == 1 and "DeformConv (added in TensorRT 10.1)" in lines[0]


def test_default_fp16_on_tensorrt_11_runs_instead_of_raising(tiny, tmp_path, monkeypatch):
    _standin(monkeypatch, "11.0.0")
    b = create_backend(BackendConfig(order=("tensorrt", "onnxruntime"), engine_cache_dir=str(tmp_path)), tiny)
    assert b.name == "tensorrt" and "fp32" in b.device


def test_only_a_model_no_backend_can_run_is_an_error(tiny, tmp_path, monkeypatch):
    trt = _standin(monkeypatch)
    _oom(trt)
    with pytest.raises(BackendUnavailable, match="no backend of \\['tensorrt'\\].*CUDA out of memory"):
        create_backend(BackendConfig(order=("tensorrt",), engine_cache_dir=str(tmp_path)), tiny)


def test_a_broken_log_hook_does_not_stop_loading(tiny, monkeypatch):
    def hook(level, msg):
        raise ValueError("broken hook")
    b = create_backend(BackendConfig(order=("onnxruntime",), device="cpu"), tiny, log=hook)
    assert b.name == "onnxruntime"


def test_every_backend_closes(tiny):
    for name in ("onnxruntime", "torch"):
        b = create_backend(BackendConfig(order=(name,), device="cpu"), tiny)
        b.close()
        b.close()
        with pytest.raises(RuntimeError, match="closed"):
            b.infer({})
