"""TensorRT backend against a strict stand-in ``tensorrt`` module (tests/trt_standin) whose engines run with ONNX
Runtime on the CPU: plugins, version and precision rules, int8 Q/DQ, dtypes, fixed shapes, the execution
context, close(), outputs against the ONNX Runtime backend. None of this has run on a GPU."""
import dataclasses
import logging

import numpy as np
import pytest

from network_helpers import exported_tiny, tiny_net
from tracker.backends import BackendConfig, BackendUnavailable, ModelError, create_backend, load_meta
from tracker.backends import tensorrt as T
from tracker.network.export import example_inputs
from trt_standin import make_tensorrt, raw_host_resolver
from trt_standin.models import GPU, fake_gpu, relu_cast_model

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def tiny():
    return exported_tiny()[1]


@pytest.fixture(scope="module")
def tiny_plain(tmp_path_factory):
    from tracker.network.export import export_onnx
    return export_onnx(tiny_net(4, deformable=False), tmp_path_factory.mktemp("plain") / "plain.onnx")[0]


def trt_backend(path, trt, tmp_path, **cfg):
    cfg.setdefault("engine_cache_dir", str(tmp_path / "engines"))
    return T.TensorRTBackend(path, load_meta(path), BackendConfig(**cfg), trt=trt, device_info=fake_gpu,
                             memory=trt.device_memory)


def use_standin(monkeypatch, trt):
    """The real factory path (create_backend) with the stand-in module, a fake GPU and fake device memory."""
    monkeypatch.setattr(T, "import_tensorrt", lambda: trt)
    monkeypatch.setattr(T, "cuda_device_info", fake_gpu)
    monkeypatch.setattr(T, "TorchDeviceMemory", lambda: trt.device_memory, raising=False)


def ort_outputs(path, x):
    return create_backend(BackendConfig(order=("onnxruntime",), device="cpu"), path).infer(x)


def max_diff(a, b):
    return {k: float(np.max(np.abs(a[k].astype(np.float64) - b[k]) / (1 + np.abs(b[k])))) for k in b}


# ------------------------------------------------------------------------------------------------ keys, paths
def test_cache_key_covers_gpu_cc_version_onnx_and_precision():
    base = dict(gpu_name="NVIDIA H100", compute_capability=(9, 0), trt_version="10.3.0", onnx_hash="abc",
                precision="fp16", workspace_mib=1024)
    k = T.engine_cache_key(**base)
    assert k == T.engine_cache_key(**base) and len(k) == 16
    for field, value in (("gpu_name", "NVIDIA A100"), ("compute_capability", (8, 0)), ("trt_version", "10.4.0"),
                         ("onnx_hash", "abd"), ("precision", "int8"), ("workspace_mib", 2048)):
        assert T.engine_cache_key(**{**base, field: value}) != k, field


def test_paths(tmp_path):
    from pathlib import Path
    assert T.engine_path("cache", Path("models/embedded.onnx"), "0123") == Path("cache/embedded-0123.engine")
    t = T.timing_cache_path("cache", "NVIDIA GeForce RTX 4090", (8, 9), "10.3.0")
    assert t.name == "timing-nvidia-geforce-rtx-4090-sm89-trt10.3.0.cache"


# ------------------------------------------------------------------------------------- runs, matches ORT
@pytest.mark.parametrize("precision,bound", [("fp32", 1e-6), ("fp16", 2e-3)])
def test_engine_runs_and_matches_onnxruntime(tiny, tmp_path, precision, bound):
    trt = make_tensorrt("10.3.0")
    b = trt_backend(tiny, trt, tmp_path, precision=precision)
    x = example_inputs(64, 64, seed=2)
    got, ref = b.infer(x), ort_outputs(tiny, x)
    assert set(got) == set(ref) and all(got[k].dtype == np.float32 for k in got)
    assert max(max_diff(got, ref).values()) < bound
    assert trt.stats["executions"] == 1 and b.device == f"{GPU[0]} (TensorRT 10.3.0, {precision})"


def test_torch_device_memory_path(tiny, tmp_path):
    """The default allocator (PyTorch tensors; here on the CPU, addresses read by the stand-in directly)."""
    trt = make_tensorrt("10.3.0", resolver=raw_host_resolver)
    b = T.TensorRTBackend(tiny, load_meta(tiny), BackendConfig(engine_cache_dir=str(tmp_path), precision="fp32"),
                          trt=trt, device_info=fake_gpu, memory=T.TorchDeviceMemory("cpu"))
    x = example_inputs(64, 64, seed=3)
    assert max(max_diff(b.infer(x), ort_outputs(tiny, x)).values()) < 1e-6


# ------------------------------------------------------------------------------------------------ plugins
def test_plugins_initialised_before_parse_and_before_loading_a_cached_engine(tiny, tmp_path):
    trt = make_tensorrt("10.3.0")
    trt_backend(tiny, trt, tmp_path).close()
    assert trt.stats["plugin_inits"] >= 1 and trt.stats["builds"] == 1
    fresh = make_tensorrt("10.3.0")  # a new process: the plugin registry starts empty
    b = trt_backend(tiny, fresh, tmp_path)
    assert fresh.stats["builds"] == 0 and b.engine is not None  # loaded from the cache, plugin found


# ------------------------------------------------------------------------------ versions and precisions
def test_version_gate_follows_what_the_parser_supports(tiny, tiny_plain, tmp_path):
    with pytest.raises(BackendUnavailable, match=r"cannot import DeformConv \(added in TensorRT 10.1\)"):
        trt_backend(tiny, make_tensorrt("10.0.1"), tmp_path)
    b = trt_backend(tiny_plain, make_tensorrt("10.0.1"), tmp_path)  # no DCN: 10.0 can run it
    assert b.infer(example_inputs(64, 64))["heatmap"].shape == (1, 2, 16, 16)
    for old in ("8.6.1", "9.3.0"):
        with pytest.raises(BackendUnavailable, match=">= 10.0"):
            trt_backend(tiny, make_tensorrt(old), tmp_path)
    with pytest.raises(BackendUnavailable, match="untested"):
        trt_backend(tiny, make_tensorrt("12.0.0"), tmp_path)


def test_fp16_default_on_tensorrt_11_builds_fp32_and_says_so(tiny, tmp_path, caplog):
    trt = make_tensorrt("11.0.0")
    assert not hasattr(trt.BuilderFlag, "FP16")
    with caplog.at_level(logging.WARNING, logger="tracker.backends"):
        b = trt_backend(tiny, trt, tmp_path)  # precision fp16 is the default
    assert b.device.endswith("fp32)") and any("no FP16 builder flag" in r.getMessage() for r in caplog.records)
    x = example_inputs(64, 64, seed=4)
    assert max(max_diff(b.infer(x), ort_outputs(tiny, x)).values()) < 1e-6


@pytest.mark.parametrize("version,precision,strong,flags,builder_flags", [
    ("10.3.0", "fp16", False, (), ("FP16",)), ("10.12.0", "fp16", False, (), ("FP16",)),
    ("10.3.0", "int8", True, ("STRONGLY_TYPED",), ()), ("11.0.0", "int8", True, (), ()),
    ("10.3.0", "fp32", False, (), ()), ("11.0.0", "fp16", True, (), ())])
def test_build_plan_per_version(version, precision, strong, flags, builder_flags):
    from tracker.backends.trt_policy import plan_build
    trt = make_tensorrt(version)
    plan = plan_build(trt, version, precision, has_qdq=True, tf32=False)
    assert (plan.strongly_typed, plan.creation_flags, plan.builder_flags) == (strong, flags, builder_flags)
    assert plan.cleared_flags == ("TF32",)
    assert ("deprecated" in plan.note) == (version == "10.12.0")
    assert int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) == (1 if version.startswith("10") else 0)


def test_int8_needs_qdq_and_builds_strongly_typed(tiny, tmp_path):
    with pytest.raises(ModelError, match="Q/DQ"):
        trt_backend(tiny, make_tensorrt("10.3.0"), tmp_path, precision="int8")


def test_int8_symmetric_qdq_parses_and_matches_onnxruntime(tiny, tmp_path):
    from tracker.network.export import quantize_qdq
    from trt_standin.models import copy_model
    src = copy_model(tiny, tmp_path / "m")
    q, _ = quantize_qdq(src, src.with_name("m_int8_qdq.onnx"), [example_inputs(64, 64, seed=s) for s in range(3)])
    trt = make_tensorrt("10.3.0")
    b = trt_backend(q, trt, tmp_path, precision="int8")
    x = example_inputs(64, 64, seed=7)
    assert max(max_diff(b.infer(x), ort_outputs(q, x)).values()) < 1e-6 and b.device.endswith("int8)")


def test_asymmetric_qdq_is_rejected_by_the_parser_and_onnxruntime_takes_over(tiny, tmp_path, monkeypatch, caplog):
    from trt_standin.models import asymmetric_qdq, copy_model
    src = copy_model(tiny, tmp_path / "m")
    q = asymmetric_qdq(src, tmp_path / "m" / "old_qdq.onnx", [example_inputs(64, 64, seed=s) for s in range(3)])
    use_standin(monkeypatch, make_tensorrt("10.3.0"))
    cfg = BackendConfig(order=("tensorrt", "onnxruntime"), precision="int8", engine_cache_dir=str(tmp_path / "e"))
    with caplog.at_level(logging.INFO, logger="tracker.backends"):
        b = create_backend(cfg, q)
    assert b.name == "onnxruntime"
    lines = [r.getMessage() for r in caplog.records if r.name == "tracker.backends"]
    assert len(lines) == 1 and ("Non-zero zero point" in lines[0] or "INT32" in lines[0]), lines


# ------------------------------------------------------------------------------------ dtypes and shapes
def test_int64_output_is_mapped_not_float32(tmp_path):
    m = relu_cast_model(tmp_path / "i64.onnx", "INT64")
    trt = make_tensorrt("10.3.0")
    b = trt_backend(m, trt, tmp_path, precision="fp32")
    out = b.infer({"x": np.array([[-1.5, 3.0]], np.float32)})["y"]
    assert out.dtype == np.int64 and out.tolist() == [[0, 3]]


def test_bf16_output_is_refused(tmp_path):
    m = relu_cast_model(tmp_path / "bf16.onnx", "BFLOAT16")
    with pytest.raises(BackendUnavailable, match="BF16, which has no numpy equivalent"):
        trt_backend(m, make_tensorrt("10.3.0"), tmp_path, precision="fp32")


def test_dynamic_input_shape_is_refused_clearly(tmp_path):
    m = relu_cast_model(tmp_path / "dyn.onnx", dynamic=True)
    with pytest.raises(BackendUnavailable, match=r"'x' has dynamic shape \(-1, 2\).*fixed-shape"):
        trt_backend(m, make_tensorrt("10.3.0"), tmp_path, precision="fp32")


# --------------------------------------------------------------------------------- context, close, logs
def test_execution_context_none_is_an_error_not_a_crash(tiny, tmp_path):
    trt = make_tensorrt("10.3.0")
    trt.knobs.context_fails = True
    with pytest.raises(BackendUnavailable, match="execution context"):
        trt_backend(tiny, trt, tmp_path)
    assert trt.stats["engines"] == 0  # the engine of the failed attempt is released


def test_close_releases_engine_context_and_buffers(tiny, tmp_path):
    trt = make_tensorrt("10.3.0")
    b = trt_backend(tiny, trt, tmp_path)
    assert trt.stats["engines"] == 1 and trt.stats["contexts"] == 1 and trt.device_memory.live
    b.close()
    b.close()  # idempotent
    assert trt.stats["engines"] == 0 and trt.stats["contexts"] == 0 and not trt.device_memory.live
    with pytest.raises(RuntimeError, match="closed"):
        b.infer(example_inputs(64, 64))


def test_build_progress_and_tensorrt_errors_reach_the_log_hook(tiny, tmp_path, monkeypatch):
    use_standin(monkeypatch, make_tensorrt("10.3.0"))
    seen = []
    cfg = BackendConfig(order=("tensorrt", "onnxruntime"), engine_cache_dir=str(tmp_path))
    b = create_backend(cfg, tiny, log=lambda level, msg: seen.append((level, msg)))
    msgs = [m for _, m in seen]
    assert b.name == "tensorrt" and any(m.startswith("TensorRT build: Building engine (3 steps)") for m in msgs)
    assert any("building" in m and ".engine" in m for m in msgs) and msgs[-1].startswith("network backend: tensorrt")
    b.close()


def test_tf32_cleared_unless_allowed(tiny, tmp_path):
    import json
    for allow in (False, True):
        trt = make_tensorrt("10.3.0")
        b = trt_backend(tiny, trt, tmp_path / str(allow), precision="fp32", tf32=allow)
        assert b.engine.rec["tf32"] is allow and json.dumps(b.engine.rec["io"])
        b.close()


def test_backend_config_fields_round_trip():
    from tracker.common.config import from_mapping
    cfg = from_mapping(BackendConfig, {"tf32": True, "ort_providers": ["cuda", "cpu"]}, where="backend")
    assert cfg.tf32 and cfg.ort_providers == ("cuda", "cpu")
    assert dataclasses.replace(cfg, precision="int8").precision == "int8"
