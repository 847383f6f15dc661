"""Engine and timing caches: where they go (user cache, beside the model, none), atomic writes unique per writer,
concurrent builders building once, unusable cached engines rebuilt. Stand-in tensorrt (tests/trt_standin)."""
import logging
import os
import threading
from pathlib import Path

import pytest

from network_helpers import exported_tiny
from tracker.backends import BackendConfig, load_meta
from tracker.backends import tensorrt as T
from tracker.network.export import example_inputs
from trt_standin import make_tensorrt
from trt_standin.models import copy_model, fake_gpu

pytest.importorskip("onnxruntime")
log = logging.getLogger("test")


@pytest.fixture()
def model(tmp_path):
    return copy_model(exported_tiny()[1], tmp_path / "models")


def reporter(lines):
    from tracker.backends.base import Reporter
    return Reporter(log, lambda level, m: lines.append(m))


def backend(path, trt, report=None, **cfg):
    return T.TensorRTBackend(path, load_meta(path), BackendConfig(**cfg), report, trt=trt, device_info=fake_gpu,
                             memory=trt.device_memory)


def forbid(monkeypatch, *roots):
    """mkdir under ``roots`` raises PermissionError (root ignores chmod, so the denial is simulated)."""
    real = Path.mkdir

    def mkdir(self, *a, **k):
        if any(str(self).startswith(str(r)) for r in roots):
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *a, **k)
    monkeypatch.setattr(Path, "mkdir", mkdir)


def test_relative_cache_dir_is_under_the_user_cache_not_the_working_directory(model, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    b = backend(model, make_tensorrt("10.3.0"))  # default engine_cache_dir
    assert b.engine_file.parent == tmp_path / "xdg" / "tracker" / "trt_engines"
    assert list((tmp_path / "xdg" / "tracker" / "trt_engines").glob("timing-*.cache"))
    assert not list((tmp_path / "cwd").rglob("*"))
    from tracker.backends.cache import cache_dir_candidates
    assert cache_dir_candidates("/abs/dir", model) == [Path("/abs/dir")]


def test_unwritable_user_cache_falls_back_beside_the_model_then_to_memory(model, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    forbid(monkeypatch, tmp_path / "xdg")
    lines = []
    b = backend(model, make_tensorrt("10.3.0"), report=reporter(lines))
    assert b.engine_file.parent == model.parent / "trt_engines"
    assert any("PermissionError" in m and "using" in m for m in lines)
    forbid(monkeypatch, tmp_path / "xdg", model.parent)
    lines.clear()
    trt = make_tensorrt("10.3.0")
    b = backend(model, trt, report=reporter(lines), engine_cache_dir="other")
    assert b.engine_file is None and trt.stats["builds"] == 1
    assert any("not cached" in m for m in lines)
    assert b.infer(example_inputs(64, 64))["heatmap"].shape == (1, 2, 16, 16)


def test_atomic_writes_are_unique_per_writer(tmp_path, monkeypatch):
    from tracker.backends.cache import atomic_write
    sources = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda s, d: (sources.append(str(s)), real(s, d)))
    target = tmp_path / "x.engine"
    atomic_write(target, b"one")
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two" and len(set(sources)) == 2
    assert all(Path(s).parent == tmp_path for s in sources) and sorted(os.listdir(tmp_path)) == ["x.engine"]


def test_concurrent_builders_build_the_engine_once(model, tmp_path):
    trt = make_tensorrt("10.3.0")
    trt.knobs.build_delay_s = 0.5
    cache = str(tmp_path / "engines")
    results, errors = [], []

    def run():
        try:
            results.append(backend(model, trt, engine_cache_dir=cache))
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 2 and trt.stats["builds"] == 1
    leftovers = [p.name for p in (tmp_path / "engines").iterdir() if p.suffix not in (".engine", ".cache", ".lock")]
    assert not leftovers


def test_unusable_cached_engine_is_rebuilt(model, tmp_path):
    cache = str(tmp_path / "engines")
    b = backend(model, make_tensorrt("10.3.0"), engine_cache_dir=cache)
    path = b.engine_file
    b.close()
    path.write_bytes(b"truncated")
    trt = make_tensorrt("10.3.0")
    b = backend(model, trt, engine_cache_dir=cache)
    assert trt.stats["builds"] == 1 and path.read_bytes().startswith(b"TRT-STANDIN-ENGINE")


def test_timing_cache_is_reused_by_the_next_build(model, tmp_path):
    cache = str(tmp_path / "engines")
    backend(model, make_tensorrt("10.3.0"), engine_cache_dir=cache, precision="fp32").close()
    timing = next((tmp_path / "engines").glob("timing-*.cache"))
    first = timing.read_bytes()
    backend(model, make_tensorrt("10.3.0"), engine_cache_dir=cache, precision="fp16").close()
    assert timing.read_bytes().count(b"tactics-") == 2 and first.count(b"tactics-") == 1


def test_resolve_reports_when_nothing_is_writable(tmp_path, monkeypatch):
    from tracker.backends.cache import resolve_cache_dir
    forbid(monkeypatch, tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    said = []
    assert resolve_cache_dir("trt", tmp_path / "m" / "model.onnx", said.append) is None
    assert "not cached" in said[0] and "PermissionError" in said[0]
