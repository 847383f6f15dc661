"""ONNX Runtime providers: TensorRT / CUDA / CPU execution providers chosen from ``ort_providers`` and what this
onnxruntime build lists; the options each gets. Only the CPU provider exists here, so the GPU lists and options
are checked as pure functions (not run)."""
import pytest

from network_helpers import exported_tiny
from tracker.backends import BackendConfig, BackendUnavailable, create_backend
from tracker.backends.onnxruntime import ORT_PROVIDERS, choose_providers, provider_options, session_providers
from tracker.common.config import ConfigError, from_mapping

GPU_BUILD = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
CUDA_BUILD = ["CUDAExecutionProvider", "CPUExecutionProvider"]
CPU_BUILD = ["AzureExecutionProvider", "CPUExecutionProvider"]


@pytest.mark.parametrize("available,device,order,expected", [
    (GPU_BUILD, "auto", ("tensorrt", "cuda", "cpu"), ["tensorrt", "cuda", "cpu"]),
    (CUDA_BUILD, "auto", ("tensorrt", "cuda", "cpu"), ["cuda", "cpu"]),
    (CPU_BUILD, "auto", ("tensorrt", "cuda", "cpu"), ["cpu"]),
    (GPU_BUILD, "cpu", ("tensorrt", "cuda", "cpu"), ["cpu"]),
    (GPU_BUILD, "cuda", ("cuda", "tensorrt"), ["cuda", "tensorrt"]),
    (GPU_BUILD, "auto", ("cuda", "cpu"), ["cuda", "cpu"])])
def test_only_available_providers_in_configured_order(available, device, order, expected):
    assert choose_providers(available, device, order) == expected


def test_cuda_device_without_gpu_provider_is_unavailable():
    with pytest.raises(BackendUnavailable, match="device cuda"):
        choose_providers(CPU_BUILD, "cuda", ("tensorrt", "cuda", "cpu"))
    with pytest.raises(BackendUnavailable, match="none of the providers"):
        choose_providers(CPU_BUILD, "auto", ("tensorrt", "cuda"))


def test_tensorrt_provider_options(tmp_path):
    cfg = BackendConfig(precision="fp16", workspace_mib=512)
    o = provider_options("tensorrt", cfg, tmp_path, has_qdq=False)
    assert o["trt_fp16_enable"] is True and o["trt_int8_enable"] is False
    assert o["trt_max_workspace_size"] == 512 << 20 and o["device_id"] == 0
    assert o["trt_engine_cache_enable"] and o["trt_engine_cache_path"] == str(tmp_path)
    assert o["trt_timing_cache_enable"] and o["trt_timing_cache_path"] == str(tmp_path)
    int8 = provider_options("tensorrt", BackendConfig(precision="int8"), None, has_qdq=True)
    assert int8["trt_int8_enable"] and not int8["trt_fp16_enable"] and "trt_engine_cache_enable" not in int8
    assert not provider_options("tensorrt", BackendConfig(precision="int8"), None, has_qdq=False)["trt_int8_enable"]
    assert provider_options("cuda", cfg, None, False) == {"device_id": 0} and provider_options("cpu", cfg, None, 0) == {}


def test_session_providers_pairs_names_and_options(tmp_path):
    names, opts = session_providers(GPU_BUILD, BackendConfig(ort_providers=("tensorrt", "cuda")), tmp_path, False)
    assert names == GPU_BUILD and len(opts) == 3 and opts[0]["trt_engine_cache_path"] == str(tmp_path)
    names, opts = session_providers(CPU_BUILD, BackendConfig(), None, False)
    assert names == ["CPUExecutionProvider"] and opts == [{}]


def test_config_rejects_unknown_provider():
    with pytest.raises(ConfigError, match="ort_providers"):
        from_mapping(BackendConfig, {"ort_providers": ["openvino"]}, where="backend")
    assert set(ORT_PROVIDERS) == {"tensorrt", "cuda", "cpu"}


def test_cpu_build_runs_on_cpu_and_writes_no_trt_cache(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    b = create_backend(BackendConfig(order=("onnxruntime",)), exported_tiny()[1])
    assert b.device == "CPUExecutionProvider" and not (tmp_path / "xdg").exists()
    b.close()
