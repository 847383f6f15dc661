"""The ``tracker-train`` command line (tracker.network.train:main): arguments -> configs -> train / resume.

Every error a user can cause (bad option, bag without ground truth, unknown model config, missing checkpoint)
is one line ``tracker-train: ...`` on stderr and exit status 2, never a traceback."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

from tracker.common.config import ConfigError, from_mapping, load_yaml, section

from .cache import CacheConfig
from .losses import LossWeights
from .model import load_model_config
from .sources import DataError, node_registration, run_data
from .spec import MODALITIES
from .train import (TrainConfig, augment_config, describe_run, init_weights, load_augment_config, resume,
                    run_training)

log = logging.getLogger("tracker.train")
#: options that change what a run is: not accepted with --resume (the run's own are used)
RUN_OPTIONS = ("bags", "val", "condition", "model", "fusion", "plain_conv", "thermal_channels", "steps", "seed",
               "threads", "init",
               "checkpoint_every", "eval_every", "weights_dtype", "cache_dir", "modalities", "batchnorm", "lr",
               "ema_decay", "augment", "node_config")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="tracker-train", description=__doc__.split("\n")[0])
    ap.add_argument("bags", nargs="*", metavar="BAG", help="training bags: folders or globs (default: the "
                    "simulator bags of the config's data.train, rendered when missing)")
    ap.add_argument("--val", nargs="+", action="extend", metavar="BAG", help="validation bags (folders / globs)")
    ap.add_argument("--condition", help="condition label of every BAG and --val bag (default: the simulator "
                    "presets of the bag's sidecar, 'external' without one)")
    ap.add_argument("--config", default="config/network.yaml")
    ap.add_argument("--model", default=None, help="model config name (default: the file's `model`)")
    ap.add_argument("--fusion", choices=("diffusion", "concat"), default=None)
    ap.add_argument("--plain-conv", action="store_true", help="plain 3x3 convs in the neck instead of DCNv2")
    ap.add_argument("--thermal-channels", type=int, choices=(1, 2), default=None,
                    help="thermal input channels (model config thermal_channels); with --init a 1-channel "
                    "checkpoint starts a 2-channel model (the new channel's weights zero)")
    ap.add_argument("--modalities", default=None, help="modalities the model is trained with (rgb,thermal,depth)")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--seed", type=int, default=None, help="default 0")
    ap.add_argument("--lr", type=float, default=None, help="peak learning rate (training.lr; e.g. lower to fine-tune)")
    ap.add_argument("--ema-decay", type=float, default=None, metavar="D",
                    help="validate and save an exponential moving average of the weights (training.ema_decay)")
    ap.add_argument("--augment", action="append", default=None, metavar="KEY=VALUE",
                    help="override one field of the config's augment section (repeatable; VALUE in YAML, e.g. "
                    "p_zoom=0.5 or zoom=[0.7,1.5]); unknown keys and values out of range are rejected")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--workers", type=int, default=None, help="DataLoader worker processes (training.workers)")
    ap.add_argument("--checkpoint-every", type=int, default=None, metavar="K")
    ap.add_argument("--eval-every", type=int, default=None, metavar="K")
    ap.add_argument("--batchnorm", choices=("batch", "frozen"), default=None)
    ap.add_argument("--weights-dtype", choices=("float32", "float16"), default=None,
                    help="dtype of the weights in last.pt / best.pt (float16: half the size)")
    ap.add_argument("--cache-dir", default=None, help="frame cache folder (default: cache.dir, else data.root/cache)")
    ap.add_argument("--node-config", default=None, metavar="YAML", help="register frames with the `registration` "
                    "section of this tracker-node YAML, as that node will (default: the shipped node's)")
    ap.add_argument("--init", default=None, metavar="CHECKPOINT", help="start from these weights (.pt; the model "
                    "config is the checkpoint's, --thermal-channels 2 may widen its thermal input). ONNX files "
                    "cannot initialise training")
    ap.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue the run in RUN_DIR (its state.pt)")
    ap.add_argument("--stop-at", type=int, default=None, metavar="STEP",
                    help="stop after STEP steps as if interrupted (state.pt written): for time-sliced jobs")
    ap.add_argument("--out", default=None, help="run directory (checkpoints, metrics, log)")
    ap.add_argument("--no-progress", action="store_true")
    return ap


def _model_config(a, data: dict):
    over = {k: v for k, v in (("fusion", a.fusion), ("deformable", False if a.plain_conv else None),
                              ("thermal_channels", a.thermal_channels)) if v is not None}
    if not a.init:
        return load_model_config(a.model or data.get("model", "embedded"), a.config, over)
    icfg, _ = init_weights(a.init)
    if a.model:
        raise ConfigError("--model with --init: the model config is the checkpoint's")
    return replace(icfg, **over) if over else icfg


def _modalities(text: str | None) -> tuple:
    mods = [m.strip() for m in (text or ",".join(MODALITIES)).split(",") if m.strip()]
    bad = [m for m in mods if m not in MODALITIES]
    if bad or not mods:
        raise ConfigError(f"--modalities: unknown {bad}; valid: {', '.join(MODALITIES)}")
    return tuple(m in mods for m in MODALITIES)


def _augment_section(a, data: dict) -> dict:
    """The config's augment section with the ``--augment KEY=VALUE`` overrides (values parsed as YAML)."""
    import yaml
    amap = dict(data.get("augment") or {})
    for item in a.augment or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--augment {item!r}: expected KEY=VALUE, e.g. p_zoom=0.5")
        try:
            amap[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as e:
            raise ConfigError(f"--augment {item!r}: VALUE is not YAML: {e}") from e
    return amap


def _train_config(a, data: dict) -> TrainConfig:
    tmap = dict(data.get("training", {}))
    for key in ("steps", "threads", "workers", "checkpoint_every", "eval_every", "batchnorm", "weights_dtype", "lr",
                "ema_decay"):
        if getattr(a, key) is not None:
            tmap[key] = getattr(a, key)
    return from_mapping(TrainConfig, tmap, where="training")


def build_run(a, argv_text: str) -> dict:
    """The run description of a new run from the arguments and the config file."""
    data = load_yaml(a.config)
    mcfg = _model_config(a, data)
    tcfg = _train_config(a, data)
    weights = from_mapping(LossWeights, data.get("loss_weights", {}), where="loss_weights")
    flags = _modalities(a.modalities)
    aug = augment_config(tcfg, load_augment_config(_augment_section(a, data)), flags)
    cache = from_mapping(CacheConfig, data.get("cache", {}), where="cache")
    reg = node_registration(a.node_config) if a.node_config else None
    rd = run_data(dict(section(data, "data", a.config)), a.cache_dir or cache.dir, cache.depth_storage, a.bags,
                  a.val, a.condition, reg)
    if a.bags and not rd.val:
        log.warning("no --val bags: no validation AP, best.pt is not written")
    return describe_run(mcfg, tcfg, rd, 0 if a.seed is None else a.seed, flags, weights, aug,
                        "tracker-train " + argv_text, a.init)


def _run(a, argv_text: str) -> dict:
    if a.resume:
        given = [k for k in RUN_OPTIONS if getattr(a, k) not in (None, False, [])]
        if given:
            raise ConfigError(f"--resume continues the run as it was set up: drop {', '.join(given)}")
        return resume(Path(a.resume), not a.no_progress, a.stop_at, a.workers)
    if not a.out:
        raise ConfigError("--out RUN_DIR is required (or --resume RUN_DIR)")
    run = build_run(a, argv_text)
    m = run["model"]
    log.info("training %dx%d model (fusion %s, %s neck, modalities %s) on %d bags for %d steps, seed %d -> %s",
             m["input_width"], m["input_height"], m["fusion"], "DCNv2" if m["deformable"] else "plain-conv",
             ",".join(k for k, on in zip(MODALITIES, run["modalities"]) if on), len(run["data"]["train"]),
             run["train"]["steps"], run["seed"], a.out)
    return run_training(run, Path(a.out), not a.no_progress, None, a.stop_at)


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(message)s")
    argv_text = " ".join(argv if argv is not None else sys.argv[1:])
    try:
        res = _run(a, argv_text)
    except (ConfigError, DataError, FileNotFoundError) as e:
        print(f"tracker-train: {e}", file=sys.stderr)
        return 2
    if res.get("val_ap"):
        log.info("validation person/vehicle AP@0.5 per condition: %s", json.dumps(res["val_ap"]))
    log.info("%d of %d steps, train time %.0f s; run directory %s", res["steps_done"], res["train"]["steps"],
             res["train_time_s"], a.out or a.resume)
    return 0
