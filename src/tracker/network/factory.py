"""Building the product detector: backend (``tracker.backends.create_backend``) + :class:`Detector`, with every
failure reported as a ConfigError that says what to fix.

    det = make_detector(cfg.backend.options, cfg.backend.detector, model_path)   # the tracker node
    det = load_detector("config/network.yaml")                                  # its ``inference`` section
    det.describe().check_class_names(tracker_cfg.class_names)
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Callable, Mapping

from tracker.backends import BackendConfig, create_backend
from tracker.common.config import ConfigError, from_mapping, load_yaml, section

from . import torch_backend  # noqa: F401  (registers the 'torch' development backend)
from .detector import Detector, DetectorConfig

INFERENCE_KEYS = ("backend", "detector", "model_path")
#: where the model path, backend options and detector settings sit in config/tracker_node.yaml
NODE_KEYS = {"model": "backend.model", "options": "backend.options", "detector": "backend.detector"}


def make_detector(backend_options: Mapping[str, Any] | None, detector_cfg: Mapping[str, Any] | None,
                  model_path: str, *, keys: Mapping[str, str] = NODE_KEYS,
                  log: Callable[[int, str], None] | None = None) -> Detector:
    """Detector for ``model_path`` on the first backend of ``backend_options`` (a BackendConfig mapping) that runs
    here, configured by ``detector_cfg`` (a DetectorConfig mapping). Raises ConfigError, never anything else,
    when the path is missing, the file is not there, the options are invalid or the model cannot be loaded (the
    reason is in the text). ``keys`` names the config keys of the three in messages (default: the node's);
    ``log(level, message)`` receives what the backends report while loading (fallbacks, engine build progress)."""
    keys = {**NODE_KEYS, **keys}
    if not model_path:
        raise ConfigError(f"{keys['model']}: no model path configured (set {keys['model']} or the model_path "
                          "parameter)")
    path = Path(model_path)
    if not path.is_file():
        what = "is a directory, not a model file" if path.is_dir() else "not found"
        raise ConfigError(f"model file {what}: {model_path} (train/export one: tracker-train, tracker-export)")
    dcfg = from_mapping(DetectorConfig, detector_cfg or {}, where=keys["detector"])
    try:
        backend = create_backend(from_mapping(BackendConfig, backend_options or {}, where=keys["options"]),
                                 model_path, log=log)
    except ConfigError:
        raise
    except Exception as e:  # noqa: BLE001 - ModelError, BackendUnavailable, or a backend library's own error
        raise ConfigError(f"cannot load model {model_path}: {_reason(e)}") from e
    try:
        return Detector(backend, dcfg, model_path)
    except Exception as e:  # noqa: BLE001 - metadata the detector cannot use
        with contextlib.suppress(Exception):  # the reason reported is the one above
            backend.close()
        raise ConfigError(f"cannot use model {model_path}: {_reason(e)}") from e


def load_detector(path: str = "config/network.yaml", section_name: str = "inference") -> Detector:
    """The detector of the ``inference`` section of config/network.yaml (model_path, backend, detector)."""
    data = section(load_yaml(path), section_name, path)
    unknown = set(data) - set(INFERENCE_KEYS)
    if unknown:
        raise ConfigError(f"{section_name}: unknown keys {sorted(unknown)}; valid: {', '.join(INFERENCE_KEYS)}")
    if "model_path" not in data:
        raise ConfigError(f"{section_name}.model_path: required key is missing")
    keys = {"model": f"{section_name}.model_path", "options": f"{section_name}.backend",
            "detector": f"{section_name}.detector"}
    return make_detector(data.get("backend"), data.get("detector"), data["model_path"], keys=keys)


def _reason(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
