"""TensorRT backend without a GPU: cache keys, engine/timing-cache paths, the build sequence against a stand-in
``tensorrt`` module (TensorRT 10 API names), int8 needing Q/DQ, and clean unavailability."""
import types
from pathlib import Path

import pytest

from tracker.backends import BackendConfig, BackendUnavailable, ModelError
from tracker.backends import tensorrt as T


def test_cache_key_covers_gpu_cc_version_onnx_and_precision():
    base = dict(gpu_name="NVIDIA H100", compute_capability=(9, 0), trt_version="10.3.0", onnx_hash="abc",
                precision="fp16", workspace_mib=1024)
    k = T.engine_cache_key(**base)
    assert k == T.engine_cache_key(**base) and len(k) == 16
    for field, value in (("gpu_name", "NVIDIA A100"), ("compute_capability", (8, 0)), ("trt_version", "10.4.0"),
                         ("onnx_hash", "abd"), ("precision", "int8"), ("workspace_mib", 2048)):
        assert T.engine_cache_key(**{**base, field: value}) != k, field


def test_paths():
    p = T.engine_path("cache", Path("models/embedded.onnx"), "0123")
    assert p == Path("cache/embedded-0123.engine")
    t = T.timing_cache_path("cache", "NVIDIA GeForce RTX 4090", (8, 9), "10.3.0")
    assert t.name == "timing-nvidia-geforce-rtx-4090-sm89-trt10.3.0.cache"


class FakeTRT(types.SimpleNamespace):
    """Records what the backend asks of TensorRT; mirrors the TensorRT 10 Python API names it uses."""


def make_fake_trt(calls, parse_ok=True, build_ok=True):
    class Logger:
        WARNING = 2

        def __init__(self, level):
            calls.append(("Logger", level))

    class IProgressMonitor:
        def __init__(self):
            calls.append(("IProgressMonitor.__init__",))

    class TimingCache:
        def __init__(self, blob):
            self.blob = blob

        def serialize(self):
            return b"timing-cache-bytes"

    class Config:
        progress_monitor = None

        def set_memory_pool_limit(self, pool, size):
            calls.append(("set_memory_pool_limit", pool, size))

        def set_flag(self, flag):
            calls.append(("set_flag", flag))

        def create_timing_cache(self, blob):
            calls.append(("create_timing_cache", blob))
            self._cache = TimingCache(blob)
            return self._cache

        def set_timing_cache(self, cache, ignore_mismatch):
            calls.append(("set_timing_cache", ignore_mismatch))

        def get_timing_cache(self):
            return self._cache

    class Builder:
        def __init__(self, logger):
            pass

        def create_network(self, flags):
            calls.append(("create_network", flags))
            return "network"

        def create_builder_config(self):
            return Config()

        def build_serialized_network(self, network, config):
            mon = config.progress_monitor
            mon.phase_start("Building", None, 2)
            mon.step_complete("Building", 0)
            mon.phase_finish("Building")
            calls.append(("build_serialized_network", network))
            return b"ENGINE" if build_ok else None

    class OnnxParser:
        num_errors = 1

        def __init__(self, network, logger):
            pass

        def parse(self, data):
            calls.append(("parse", len(data)))
            return parse_ok

        def get_error(self, i):
            return "unsupported op"

    return FakeTRT(__version__="10.3.0", Logger=Logger, Builder=Builder, OnnxParser=OnnxParser,
                   IProgressMonitor=IProgressMonitor,
                   NetworkDefinitionCreationFlag=types.SimpleNamespace(STRONGLY_TYPED=5),
                   MemoryPoolType=types.SimpleNamespace(WORKSPACE="WORKSPACE"),
                   BuilderFlag=types.SimpleNamespace(FP16="FP16", INT8="INT8"))


def _onnx_file(tmp_path, qdq=False):
    import onnx
    from onnx import TensorProto, helper
    if qdq:
        nodes = [helper.make_node("QuantizeLinear", ["x", "s"], ["q"]),
                 helper.make_node("DequantizeLinear", ["q", "s"], ["y"])]
        inits = [helper.make_tensor("s", TensorProto.FLOAT, [], [0.1])]
    else:
        nodes, inits = [helper.make_node("Relu", ["x"], ["y"])], []
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], inits)
    p = tmp_path / ("qdq.onnx" if qdq else "m.onnx")
    onnx.save(helper.make_model(g), str(p))
    return p


def test_build_engine_fp16_with_timing_cache_and_progress(tmp_path, caplog):
    calls = []
    trt = make_fake_trt(calls)
    onnx_path = _onnx_file(tmp_path)
    tc = tmp_path / "cache" / "timing.cache"
    import logging
    with caplog.at_level(logging.INFO, logger="tracker.backends.tensorrt"):
        out = T.build_engine(trt, onnx_path, tmp_path / "cache" / "m.engine", "fp16", 512, tc)
    assert out.read_bytes() == b"ENGINE" and tc.read_bytes() == b"timing-cache-bytes"
    names = [c[0] for c in calls]
    assert ("create_network", 0) in calls and ("set_flag", "FP16") in calls
    assert ("set_memory_pool_limit", "WORKSPACE", 512 << 20) in calls
    assert ("create_timing_cache", b"") in calls and ("set_timing_cache", False) in calls
    assert names.index("parse") < names.index("build_serialized_network")
    assert "IProgressMonitor.__init__" in names
    assert any("TensorRT build: Building (2 steps)" in r.getMessage() for r in caplog.records)
    # a second build reuses the saved timing cache
    calls.clear()
    T.build_engine(trt, onnx_path, tmp_path / "cache" / "m2.engine", "fp16", 512, tc)
    assert ("create_timing_cache", b"timing-cache-bytes") in calls


def test_build_engine_int8_needs_qdq(tmp_path):
    calls = []
    with pytest.raises(ModelError, match="Q/DQ"):
        T.build_engine(make_fake_trt(calls), _onnx_file(tmp_path), tmp_path / "e.engine", "int8", 256)
    T.build_engine(make_fake_trt(calls), _onnx_file(tmp_path, qdq=True), tmp_path / "e.engine", "int8", 256)
    assert ("create_network", 1 << 5) in calls and not any(c[0] == "set_flag" for c in calls)


def test_parse_and_build_failures_are_model_errors(tmp_path):
    with pytest.raises(ModelError, match="unsupported op"):
        T.build_engine(make_fake_trt([], parse_ok=False), _onnx_file(tmp_path), tmp_path / "e.engine", "fp16", 64)
    with pytest.raises(ModelError, match="failed to build"):
        T.build_engine(make_fake_trt([], build_ok=False), _onnx_file(tmp_path), tmp_path / "e.engine", "fp16", 64)


def test_unavailable_without_tensorrt_or_gpu(tmp_path, monkeypatch):
    meta = types.SimpleNamespace(version_hash="abc")
    with pytest.raises(BackendUnavailable, match="cpu"):
        T.TensorRTBackend(tmp_path / "m.onnx", meta, BackendConfig(device="cpu"))
    import sys
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # import fails like the PyPI stub
    with pytest.raises(BackendUnavailable, match="tensorrt not importable"):
        T.import_tensorrt()
    old = types.SimpleNamespace(__version__="8.6.1")
    monkeypatch.setitem(sys.modules, "tensorrt", old)
    with pytest.raises(BackendUnavailable, match=">= 10"):
        T.import_tensorrt()


def test_backend_builds_then_reuses_cached_engine(tmp_path, monkeypatch):
    calls = []
    trt = make_fake_trt(calls)
    onnx_path = _onnx_file(tmp_path)
    meta = types.SimpleNamespace(version_hash="feed", input_shapes={"x": (1, 2)})
    cfg = BackendConfig(engine_cache_dir=str(tmp_path / "engines"))
    deserialized = []

    class Runtime:
        def __init__(self, logger):
            pass

        def deserialize_cuda_engine(self, blob):
            deserialized.append(blob)
            return None  # stop before device buffers: no GPU here

    trt.Runtime = Runtime
    info = lambda: ("NVIDIA H100", (9, 0))  # noqa: E731
    with pytest.raises(ModelError, match="cannot deserialize"):
        T.TensorRTBackend(onnx_path, meta, cfg, trt=trt, device_info=info)
    engines = list((tmp_path / "engines").glob("m-*.engine"))
    assert len(engines) == 1 and deserialized == [b"ENGINE"]
    assert list((tmp_path / "engines").glob("timing-nvidia-h100-sm90-trt10.3.0.cache"))
    calls.clear()
    with pytest.raises(ModelError):
        T.TensorRTBackend(onnx_path, meta, cfg, trt=trt, device_info=info)
    assert not any(c[0] == "build_serialized_network" for c in calls)  # cache hit: no rebuild
