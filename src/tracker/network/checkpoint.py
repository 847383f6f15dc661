"""Checkpoints of a training run (all written atomically: a temporary file, then ``os.replace``).

    RUN_DIR/last.pt    weights of the latest step: {model_config, state_dict, step, result} (fp16 weights with
                       ``training.weights_dtype: float16``: half the size, loaded back as float32)
    RUN_DIR/best.pt    the same for the step with the best validation AP (``training.best_class``)
    RUN_DIR/state.pt   everything ``--resume`` needs to continue bit for bit: fp32 weights, optimiser, LR
                       schedule, step, the python / numpy / torch RNG states, the best validation so far,
                       the weight average (``training.ema_decay``) and the run description (configs, bags, seed)

``load_checkpoint`` reads last.pt / best.pt (and the older single-file checkpoints); ``init_weights`` loads a
.pt into a new run (``--init``; :func:`load_init`: a 1-channel thermal checkpoint may start a 2-channel model);
ONNX files cannot initialise training (no ONNX -> PyTorch weight import).
"""
from __future__ import annotations

import os
import random
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from tracker.common.config import ConfigError, from_mapping

from .model import THERMAL_INPUT_WEIGHT, ModelConfig, TrackerNet

WEIGHTS_DTYPES = {"float32": torch.float32, "float16": torch.float16}
LAST, BEST, STATE = "last.pt", "best.pt", "state.pt"


def atomic_save(obj, path: Path) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save_weights(path: Path, model_cfg: ModelConfig, net: TrackerNet, step: int, dtype: str = "float32",
                 **extra) -> None:
    """State-dict-only checkpoint; floating tensors stored as ``dtype``."""
    cast = WEIGHTS_DTYPES[dtype]
    sd = {k: v.detach().to("cpu", cast) if v.is_floating_point() else v.detach().cpu()
          for k, v in net.state_dict().items()}
    atomic_save({"model_config": asdict(model_cfg), "state_dict": sd, "step": step, "weights_dtype": dtype,
                 **extra}, path)


def _read(path: str | Path) -> dict:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint not found: {p}")
    return torch.load(p, map_location="cpu", weights_only=False)


def _net_from(ck: dict) -> TrackerNet:
    cfg = from_mapping(ModelConfig, ck["model_config"], where="checkpoint.model_config")
    net = TrackerNet(cfg)
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ck["state_dict"].items()})
    return net


def load_checkpoint(path: str | Path) -> tuple[TrackerNet, dict]:
    """(network in eval mode, float32 weights, the run's result dict or {})."""
    ck = _read(path)
    return _net_from(ck).eval(), ck.get("result", {})


def init_weights(path: str | Path) -> tuple[ModelConfig, dict]:
    """(model config, float32 state_dict) of a ``--init`` checkpoint; ConfigError for anything but a .pt."""
    p = Path(path)
    if p.suffix.lower() == ".onnx":
        beside = p.with_suffix(".pt")
        hint = f"; its checkpoint {beside} is beside it: --init {beside}" if beside.is_file() else \
            " (the training checkpoint is named in the metadata JSON: training.checkpoint)"
        raise ConfigError(f"--init {p}: initialising from ONNX weights is not supported (no ONNX -> PyTorch weight "
                          f"import); give the .pt training checkpoint{hint}")
    try:
        ck = _read(p)
        net = _net_from(ck)
    except (FileNotFoundError, KeyError, RuntimeError, OSError, ConfigError) as e:
        raise ConfigError(f"--init {p}: cannot load the checkpoint: {e}") from e
    return net.cfg, net.state_dict()


def adapt_init_state(sd: dict, net: TrackerNet, where: str = "--init") -> dict:
    """``sd`` for ``net``: every tensor by name and shape, except the thermal stem's first conv, which may gain
    input channels (thermal_channels 1 -> 2): its channels are copied and the new ones zero, so the outputs
    equal the checkpoint model's. Any other difference is a ConfigError naming the tensor."""
    target = net.state_dict()
    missing, extra = sorted(set(target) - set(sd)), sorted(set(sd) - set(target))
    if missing or extra:
        raise ConfigError(f"{where}: the checkpoint's tensors differ from the model's: missing {missing[:4]}, "
                          f"unexpected {extra[:4]}")
    out = {}
    for k, v in sd.items():
        t = target[k]
        grows = k == THERMAL_INPUT_WEIGHT and v.dim() == 4 and v.shape[0] == t.shape[0] and \
            v.shape[2:] == t.shape[2:] and v.shape[1] < t.shape[1]
        if v.shape != t.shape and not grows:
            raise ConfigError(f"{where}: tensor {k} is {tuple(v.shape)} in the checkpoint, {tuple(t.shape)} in the "
                              "model")
        if grows:
            v = torch.cat([v, v.new_zeros((v.shape[0], t.shape[1] - v.shape[1], *v.shape[2:]))], 1)
        out[k] = v
    return out


def load_init(net: TrackerNet, path: str | Path) -> None:
    """Load the ``--init`` checkpoint ``path`` into ``net``: its model config must be ``net``'s, but for more
    thermal channels in ``net`` (:func:`adapt_init_state`). ConfigError otherwise."""
    icfg, sd = init_weights(path)
    mcfg = net.cfg
    if replace(icfg, thermal_channels=mcfg.thermal_channels) != mcfg or icfg.thermal_channels > mcfg.thermal_channels:
        raise ConfigError(f"--init {path}: its model config differs from the one trained: "
                          f"{ {k: v for k, v in asdict(icfg).items() if asdict(mcfg)[k] != v} }")
    net.load_state_dict(adapt_init_state(sd, net, f"--init {path}"))


def rng_states() -> dict:
    """The global python / numpy / torch (and CUDA) RNG states. The training's own draws (batches,
    augmentation, diffusion noise) come from generators seeded per step (tracker.network.loader), so the step
    number restores them."""
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def restore_rng_states(s: dict) -> None:
    random.setstate(s["python"])
    np.random.set_state(s["numpy"])
    torch.set_rng_state(s["torch"])
    if s.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


def save_state(path: Path, net: TrackerNet, opt, sched, step: int, run: dict, best: dict,
               ema: dict | None = None) -> None:
    """The resume state after ``step`` steps (the next step to run is ``step``); ``ema``: the weight average's
    state (tracker.network.ema), when the run keeps one."""
    atomic_save({"state_dict": net.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                 "step": step, "rng": rng_states(), "run": run, "best": best, "ema": ema}, path)


def load_state(run_dir: Path) -> dict:
    p = Path(run_dir) / STATE
    if not p.is_file():
        raise ConfigError(f"--resume {run_dir}: no {STATE} there (checkpoints are written every "
                          "training.checkpoint_every steps)")
    return torch.load(p, map_location="cpu", weights_only=False)
