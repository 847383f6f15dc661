"""``tracker-train``: train the detector on contract bags (simulated by default, or any bag given).

    tracker-train --model embedded --fusion diffusion --steps 3000 --seed 1 --out build/train/v2_s1  # sim bags
    tracker-train 'build/bags/*' data/vtmot_bags/seq01 --val build/val/* --out build/train/mine      # any bags
    tracker-train BAGS --init models/embedded.pt --steps 500 --out build/train/ft                   # fine-tune
    tracker-train --resume build/train/mine                                                         # continue
    torchrun --nproc_per_node 2 -m tracker.network.train BAGS --out build/train/ddp                 # DDP

Reproducible: every draw is seeded by (--seed, step) (tracker.network.loader), single-threaded by default;
``--resume`` continues an interrupted run bit for bit. Outputs in --out: last.pt, best.pt, state.pt
(tracker.network.checkpoint), metrics.json, metrics.jsonl and train.log (tracker.network.runlog).
"""
from __future__ import annotations

import json
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from tracker.common.config import ConfigError, from_mapping, param
from tracker.pipeline.registration import RegistrationConfig

from .cache import CacheConfig, FrameCache
from .checkpoint import (BEST, LAST, STATE, init_weights, load_checkpoint, load_init,  # noqa: F401 - re-exported
                         load_state, restore_rng_states, save_state, save_weights)
from .dataset import AugmentConfig
from .decode import decode
from .distributed import DistContext, from_environment, rank_slice, reducer_for, shutdown, wrap
from .ema import WeightEMA
from .loader import DIFFUSION_STREAM, StepBatches, make_loader, step_seed
from .losses import LossWeights, detection_losses
from .metrics import ConditionAP
from .model import ModelConfig, TrackerNet
from .runlog import RunLog
from .sources import RunData, run_data
from .spec import CLASS_NAMES, INPUT_NAMES, MODALITIES

log = logging.getLogger("tracker.train")
#: augmentation keys that come from elsewhere (training.crop_width/height, --modalities)
AUGMENT_FROM_ELSEWHERE = {"crop_w": "training.crop_width", "crop_h": "training.crop_height",
                          "modalities": "--modalities"}


@dataclass(frozen=True)
class TrainConfig:
    steps: int = param(1200, unit="steps", ge=1)
    clips_per_batch: int = param(2, ge=1, doc="clips per batch")
    frames_per_clip: int = param(4, ge=1, doc="frames per clip (identity positives)")
    window: int = param(24, unit="frames", ge=1, doc="frames of a clip a batch draws from")
    lr: float = param(2e-3, gt=0.0)
    weight_decay: float = param(1e-4, ge=0.0)
    warmup_steps: int = param(50, unit="steps", ge=0)
    crop_width: int = param(224, unit="px", ge=32)
    crop_height: int = param(160, unit="px", ge=32)
    grad_clip_norm: float = param(10.0, unit="1", gt=0.0, doc="gradients are clipped to this total L2 norm")
    log_every: int = param(25, unit="steps", ge=1, doc="record the losses in the history every this many steps")
    eval_every: int = param(0, unit="steps", ge=0, doc="validate (and keep best.pt) every this many steps; 0: end")
    checkpoint_every: int = param(250, unit="steps", ge=0, doc="write state.pt and last.pt every this many steps "
                                  "(0: at the end only)")
    threads: int = param(1, ge=1, doc="torch CPU threads (1 is fastest on a shared machine)")
    workers: int = param(0, ge=0, doc="DataLoader worker processes preparing batches (0: in the training process)")
    worker_start: str = param("spawn", choices=("spawn", "forkserver", "fork"), doc="how workers are started")
    batchnorm: str = param("batch", choices=("batch", "frozen"), doc="batch: batch statistics (SyncBatchNorm under "
                           "DDP on CUDA); frozen: running statistics, not updated (fine-tuning, CPU DDP parity)")
    weights_dtype: str = param("float32", choices=("float32", "float16"), doc="dtype of last.pt / best.pt weights")
    best_class: str = param("person", doc="class whose validation AP over all conditions picks best.pt; 'mean': "
                            "the mean over classes")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), doc="auto: CUDA when available")
    ema_decay: float = param(0.0, unit="1", ge=0.0, lt=1.0, doc="exponential moving average of the weights "
                             "(tracker.network.ema), validated and written to best.pt / last.pt; 0: off")


def person_ap_by_condition(net: TrackerNet, cache: FrameCache, modalities=(True, True, True),
                           score_threshold: float = 0.05, batch: int = 8) -> dict:
    """Person (and vehicle) AP@0.5 per condition and overall on an un-augmented cache."""
    net.eval()
    ap = ConditionAP(CLASS_NAMES)
    dev = next(net.parameters()).device
    with torch.no_grad():
        for s in range(0, len(cache), batch):
            idx = list(range(s, min(len(cache), s + batch)))
            inp = [cache.network_inputs(i, modalities, net.cfg.input_normalisation) for i in idx]
            t = {k: torch.from_numpy(np.stack([x[k] for x in inp])).to(dev) for k in INPUT_NAMES}
            out = net.postprocess(net(t["rgb"], t["thermal"], t["depth"], t["modality"]))
            out = {k: v.cpu().numpy() for k, v in out.items()}
            for b, i in enumerate(idx):
                ap.add(cache.conditions[int(cache.a["clip"][i])], decode(out, 100, score_threshold, b),
                       cache.objects(i))
    return ap.result()


def best_score(val_ap: dict, best_class: str) -> float | None:
    """The number best.pt is chosen by: AP over all conditions of ``best_class`` (or the class mean)."""
    allc = val_ap.get("all") or {}
    vals = [v for k, v in allc.items() if v is not None and (best_class == "mean" or k == best_class)]
    return float(np.mean(vals)) if vals else None


def _optimiser(net: TrackerNet, cfg: TrainConfig):
    """AdamW with a linear warm-up and a cosine decay to 0 at ``cfg.steps``."""
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, cfg.warmup_steps))
                                              * 0.5 * (1 + math.cos(math.pi * min(1.0, s / cfg.steps))))
    return opt, sched


def augment_config(cfg: TrainConfig, augment: AugmentConfig | None, modalities) -> AugmentConfig:
    """``augment`` with the crop of ``cfg`` and the trained modalities; a single-modality model (the RGB-only
    ablation) never drops its only input."""
    aug = replace(augment or AugmentConfig(), crop_w=cfg.crop_width, crop_h=cfg.crop_height,
                  modalities=tuple(bool(m) for m in modalities))
    return replace(aug, p_drop_rgb=0.0) if sum(modalities) == 1 else aug


def _train_mode(net: TrackerNet, cfg: TrainConfig) -> None:
    net.train()
    if cfg.batchnorm == "frozen":
        for m in net.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eval()


@dataclass
class Session:
    """What one training process holds while it runs."""
    run: dict
    ctx: DistContext
    cfg: TrainConfig
    model_cfg: ModelConfig
    net: TrackerNet
    model: torch.nn.Module
    opt: object
    sched: object
    train_cache: FrameCache
    val_cache: FrameCache | None
    out_dir: Path
    start: int = 0
    best: dict | None = None
    history: list | None = None
    train_time_s: float = 0.0
    ema: WeightEMA | None = None

    @property
    def flags(self) -> tuple:
        return tuple(self.run["modalities"])

    @property
    def weights_net(self) -> TrackerNet:
        """The weights that are validated and saved: the EMA when there is one."""
        return self.ema.net if self.ema is not None else self.net


def _step(s: Session, batch, gen: torch.Generator, weights: LossWeights, reducer) -> dict:
    """One optimiser step on a loader item; returns the global-batch losses (floats)."""
    step, inp, tgt, clip_of = batch
    dev = s.ctx.device
    inp = {k: v.to(dev) for k, v in inp.items()}
    tgt = {k: v.to(dev) for k, v in tgt.items()}
    gen.manual_seed(step_seed(s.run["seed"], DIFFUSION_STREAM, s.ctx.rank, step))
    out = s.model(inp["rgb"], inp["thermal"], inp["depth"], inp["modality"], generator=gen)
    L = detection_losses(out, tgt, s.net.heads.bin_centres.to(dev), clip_of.to(dev), weights, reducer)
    s.opt.zero_grad(set_to_none=True)
    L["total"].backward()
    torch.nn.utils.clip_grad_norm_(s.net.parameters(), s.cfg.grad_clip_norm)
    s.opt.step()
    s.sched.step()
    if s.ema is not None:
        s.ema.update(s.net)
    return reducer.mean(L) if s.ctx.active else {k: float(v.detach()) for k, v in L.items()}


def _validate(s: Session, step: int, rlog: RunLog) -> dict:
    """Validation AP (rank 0; {} without validation bags); keeps best.pt."""
    if s.val_cache is None or not s.ctx.is_main:
        return {}
    val_ap = person_ap_by_condition(s.weights_net, s.val_cache, s.flags)
    _train_mode(s.net, s.cfg)
    rlog.validation(step, val_ap)
    score = best_score(val_ap, s.cfg.best_class)
    if score is not None and (not s.best or score > s.best["score"]):
        s.best = {"step": step + 1, "score": score, "val_ap": val_ap}
        save_weights(s.out_dir / BEST, s.model_cfg, s.weights_net, step + 1, s.cfg.weights_dtype, val_ap=val_ap)
    return val_ap


def _checkpoint(s: Session, done: int, t_seg: float) -> None:
    if s.ctx.is_main:
        run = {**s.run, "train_time_s": round(s.train_time_s + time.time() - t_seg, 1)}
        save_state(s.out_dir / STATE, s.net, s.opt, s.sched, done, run, {"best": s.best, "history": s.history},
                   ema=s.ema.state_dict() if s.ema is not None else None)
        save_weights(s.out_dir / LAST, s.model_cfg, s.weights_net, done, s.cfg.weights_dtype)


def _loop(s: Session, weights: LossWeights, aug: AugmentConfig, progress: bool, stop_at: int | None) -> int:
    """Steps s.start .. until the end or ``stop_at``; returns the number of steps done."""
    cfg, ctx = s.cfg, s.ctx
    n = cfg.clips_per_batch * cfg.frames_per_clip
    part = rank_slice(n, ctx)
    batches = StepBatches(s.train_cache, cfg.clips_per_batch, cfg.frames_per_clip, cfg.window, aug,
                          s.run["seed"], s.net.heads.bin_centres.cpu().numpy(), part, s.model_cfg.input_normalisation)
    stop = min(cfg.steps, stop_at) if stop_at else cfg.steps
    reducer = reducer_for(ctx, part.stop - part.start)
    gen, done, t_seg = torch.Generator(), s.start, time.time()
    rlog = RunLog(s.out_dir, s.start, cfg.steps, ctx.is_main, progress)
    _train_mode(s.net, cfg)
    try:
        for batch in make_loader(batches, s.start, stop, cfg.workers, cfg.worker_start):
            step = int(batch[0])
            L = _step(s, batch, gen, weights, reducer)
            done = step + 1
            rlog.advance()
            if step % cfg.log_every == 0 or done == cfg.steps:
                s.history.append(rlog.step(step, L, float(s.sched.get_last_lr()[0])))
            if cfg.eval_every and done % cfg.eval_every == 0 and done < cfg.steps:
                _validate(s, step, rlog)
                ctx.barrier()
            if (cfg.checkpoint_every and done % cfg.checkpoint_every == 0) or done == stop:
                _checkpoint(s, done, t_seg)
        s.train_time_s += time.time() - t_seg
        if done == cfg.steps:
            s.run["final_val_ap"] = _validate(s, done - 1, rlog)
    finally:
        rlog.close()
    return done


def _result(s: Session) -> dict:
    r = s.run
    return {"command": r["command"], "seed": r["seed"], "model": r["model"], "train": r["train"],
            "augment": r["augment"], "modalities": [m for m, on in zip(MODALITIES, s.flags) if on],
            "train_time_s": round(s.train_time_s, 1), "train_frames": len(s.train_cache),
            "val_frames": len(s.val_cache) if s.val_cache is not None else 0,
            "train_bags": r["data"]["train"], "val_bags": r["data"]["val"], "init": r.get("init"),
            "registration": r["data"].get("registration"),
            "val_ap": r.get("final_val_ap", {}), "best": s.best, "world_size": s.ctx.world, "history": s.history}


def _caches(rd: RunData, model_cfg: ModelConfig, ctx: DistContext, progress: bool):
    """(train cache, val cache or None); rank 0 renders missing simulator bags and writes missing caches."""
    reg = from_mapping(RegistrationConfig, rd.registration, where="run.registration")
    W, H = model_cfg.input_width, model_cfg.input_height

    def build(show: bool):
        tr = FrameCache.from_sources(list(rd.train), rd.cache_dir, W, H, rd.train_stride, reg, rd.depth_storage,
                                     show, "train")
        va = FrameCache.from_sources(list(rd.val), rd.cache_dir, W, H, rd.val_stride, reg, rd.depth_storage,
                                     show, "val") if rd.val else None
        return tr, va
    caches = None
    if ctx.is_main:
        rd.render_missing()
        caches = build(progress)
    ctx.barrier()
    return caches or build(False)


def _session(run: dict, out_dir: Path, ctx: DistContext, progress: bool, state: dict | None) -> Session:
    mcfg = from_mapping(ModelConfig, run["model"], where="run.model")
    cfg = from_mapping(TrainConfig, run["train"], where="run.train")
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(run["seed"])
    tr, va = _caches(RunData.from_json(run["data"]), mcfg, ctx, progress)
    net = TrackerNet(mcfg)
    if state is not None:
        net.load_state_dict(state["state_dict"])
    elif run.get("init"):
        load_init(net, run["init"])
    net.to(ctx.device)
    opt, sched = _optimiser(net, cfg)
    s = Session(run, ctx, cfg, mcfg, net, net, opt, sched, tr, va, out_dir, history=[])
    if cfg.ema_decay > 0:
        s.ema = WeightEMA(net, cfg.ema_decay)
    if state is not None:
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        restore_rng_states(state["rng"])
        s.start, s.best, s.history = int(state["step"]), state["best"]["best"], list(state["best"]["history"])
        s.train_time_s = float(run.get("train_time_s", 0.0))
        if s.ema is not None:
            s.ema.load_state_dict(state["ema"])
    s.model = wrap(net, ctx, sync_bn=cfg.batchnorm == "batch")
    return s


def run_training(run: dict, out_dir: Path, progress: bool = True, state: dict | None = None,
                 stop_at: int | None = None) -> dict:
    """Train the run described by ``run`` (from :func:`describe_run`, or a resume state's) in ``out_dir``."""
    ctx = from_environment(run["train"].get("device", "auto"))
    try:
        if ctx.is_main:
            out_dir.mkdir(parents=True, exist_ok=True)
        s = _session(run, out_dir, ctx, progress, state)
        weights = from_mapping(LossWeights, run["weights"], where="run.weights")
        aug = from_mapping(AugmentConfig, run["augment"], where="run.augment")
        done = _loop(s, weights, aug, progress, stop_at)
        result = {**_result(s), "steps_done": done}
        if ctx.is_main and done == s.cfg.steps:
            save_weights(out_dir / LAST, s.model_cfg, s.weights_net, done, s.cfg.weights_dtype, result=result)
            (out_dir / "metrics.json").write_text(json.dumps(result, indent=1))
        return result
    finally:
        shutdown(ctx)


def describe_run(model_cfg: ModelConfig, cfg: TrainConfig, data: RunData, seed: int, modalities, weights,
                 aug: AugmentConfig, command: str = "", init: str | None = None) -> dict:
    """Everything a run is made of (saved in state.pt: ``--resume`` needs nothing else)."""
    return {"command": command, "seed": int(seed), "model": asdict(model_cfg), "train": asdict(cfg),
            "augment": asdict(aug), "weights": asdict(weights), "modalities": [bool(m) for m in modalities],
            "data": data.to_json(), "init": str(init) if init else None}


def train(model_cfg: ModelConfig, cfg: TrainConfig, data, out_dir: Path, seed: int,
          modalities=(True, True, True), weights: LossWeights = LossWeights(), progress: bool = True,
          command: str = "", augment: AugmentConfig | None = None, *, init: str | None = None,
          stop_at: int | None = None, cache: CacheConfig = CacheConfig()) -> dict:
    """Train from ``seed`` on ``data`` (a :class:`RunData`, or the ``data`` section of config/network.yaml:
    simulator bags); ``init``: a .pt checkpoint to start from; ``stop_at``: stop after that many steps as if
    interrupted (state.pt written; continue with :func:`resume`). Returns the metrics (metrics.json)."""
    rd = data if isinstance(data, RunData) else run_data(data, cache.dir, cache.depth_storage)
    run = describe_run(model_cfg, cfg, rd, seed, modalities, weights, augment_config(cfg, augment, modalities),
                       command, init)
    return run_training(run, Path(out_dir), progress, None, stop_at)


def resume(run_dir: Path, progress: bool = True, stop_at: int | None = None, workers: int | None = None) -> dict:
    """Continue the run in ``run_dir`` from its state.pt (``workers`` may change: batches do not depend on it)."""
    state = load_state(Path(run_dir))
    run = state["run"]
    if workers is not None:
        run["train"]["workers"] = int(workers)
    return run_training(run, Path(run_dir), progress, state, stop_at)


def load_augment_config(mapping) -> AugmentConfig:
    """The ``augment`` section of config/network.yaml (its crop and modalities are set elsewhere)."""
    for key, where in AUGMENT_FROM_ELSEWHERE.items():
        if key in (mapping or {}):
            raise ConfigError(f"augment.{key}: set by {where}, not in the augment section")
    return from_mapping(AugmentConfig, mapping, where="augment")


def main(argv=None) -> int:
    from .train_cli import main as cli
    return cli(argv)


if __name__ == "__main__":
    sys.exit(main())
