"""``tracker-train``: train the detector on simulated contract bags (generated with tracker.sim when missing).

    tracker-train --model embedded --fusion diffusion --steps 1200 --seed 0 --out build/train/fused
    tracker-train --model embedded --fusion concat --out build/train/concat           # ablation
    tracker-train --model embedded --fusion concat --modalities rgb --out build/train/rgb   # RGB-only

Seeded and reproducible (numpy / torch generators from --seed, single-threaded by default, deterministic
data order); tqdm progress; checkpoints (``last.pt``) and a validation score per condition (person AP@0.5 on
the held-out bags of ``data.val``) in ``metrics.json`` next to them.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from tracker.common.config import ConfigError, from_mapping, load_yaml, param, section

from .dataset import AugmentConfig, ClipBatchSampler, FrameCache, augment_frame, bag_specs
from .decode import decode
from .losses import LossWeights, detection_losses
from .metrics import ConditionAP
from .model import CLASS_NAMES, MODALITIES, ModelConfig, TrackerNet, load_model_config
from .targets import build_targets

log = logging.getLogger("tracker.train")
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
    eval_every: int = param(0, unit="steps", ge=0, doc="0: only at the end")
    checkpoint_every: int = param(250, unit="steps", ge=0, doc="write last.pt every this many steps (0: end only)")
    threads: int = param(1, ge=1, doc="torch CPU threads (1 is fastest on a shared machine)")


def person_ap_by_condition(net: TrackerNet, cache: FrameCache, modalities=(True, True, True),
                           score_threshold: float = 0.05, batch: int = 8) -> dict:
    """Person (and vehicle) AP@0.5 per condition and overall on an un-augmented cache."""
    net.eval()
    ap = ConditionAP(CLASS_NAMES)
    conds = cache.conditions
    n = len(cache)
    with torch.no_grad():
        for s in range(0, n, batch):
            idx = list(range(s, min(n, s + batch)))
            inp = [cache.network_inputs(i, modalities) for i in idx]
            t = {k: torch.from_numpy(np.stack([x[k] for x in inp])) for k in ("rgb", "thermal", "depth", "modality")}
            out = net.postprocess(net(t["rgb"], t["thermal"], t["depth"], t["modality"]))
            out = {k: v.numpy() for k, v in out.items()}
            for b, i in enumerate(idx):
                ap.add(conds[int(cache.a["clip"][i])], decode(out, 100, score_threshold, b), cache.objects(i))
    return ap.result()


def _collate(items, crop_w, crop_h, bin_centres):
    inp = {k: torch.from_numpy(np.stack([it[0][k] for it in items])) for k in ("rgb", "thermal", "depth", "modality")}
    tg = [build_targets(it[1], crop_w, crop_h, len(CLASS_NAMES), bin_centres) for it in items]
    tgt = {k: torch.from_numpy(np.stack([t[k] for t in tg])) for k in tg[0]}
    return inp, tgt


def train(model_cfg: ModelConfig, cfg: TrainConfig, data: dict, out_dir: Path, seed: int,
          modalities=(True, True, True), weights: LossWeights = LossWeights(), progress: bool = True,
          command: str = "") -> dict:
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    root = Path(data["root"])
    W, H = model_cfg.input_width, model_cfg.input_height
    train_cache = FrameCache.build(bag_specs(data["train"]), root, W, H, int(data.get("train_stride", 1)), "train",
                                   progress)
    val_cache = FrameCache.build(bag_specs(data["val"]), root, W, H, int(data.get("val_stride", 1)), "val", progress)
    net = TrackerNet(model_cfg)
    bins = net.heads.bin_centres.numpy()
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, cfg.warmup_steps))
                                              * 0.5 * (1 + math.cos(math.pi * min(1.0, s / cfg.steps))))
    sampler = ClipBatchSampler(train_cache, cfg.clips_per_batch, cfg.frames_per_clip, cfg.window, seed)
    rng = np.random.default_rng([seed, 1])
    gen = torch.Generator().manual_seed(seed + 2)
    aug = AugmentConfig(cfg.crop_width, cfg.crop_height, modalities=tuple(modalities))
    if sum(modalities) == 1:  # a single-modality model (the RGB-only ablation) never drops its only input
        aug = replace(aug, p_drop_rgb=0.0)
    history, t0 = [], time.time()
    steps = range(cfg.steps)
    if progress:
        from tqdm import tqdm
        steps = tqdm(steps, desc=f"training {out_dir.name}", unit="step", mininterval=5.0)
    net.train()
    for step in steps:
        idx = sampler.sample()
        items = [augment_frame(train_cache, i, rng, aug) for i in idx]
        inp, tgt = _collate(items, cfg.crop_width, cfg.crop_height, bins)
        clip_of = torch.from_numpy(train_cache.a["clip"][idx].astype(np.int64))
        out = net(inp["rgb"], inp["thermal"], inp["depth"], inp["modality"], generator=gen)
        L = detection_losses(out, tgt, net.heads.bin_centres, clip_of, weights)
        opt.zero_grad(set_to_none=True)
        L["total"].backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step()
        sched.step()
        if step % 25 == 0 or step == cfg.steps - 1:
            rec = {"step": step, "time_s": round(time.time() - t0, 1), **{k: round(float(v.detach()), 4) for k, v in L.items()}}
            history.append(rec)
            if progress and hasattr(steps, "set_postfix"):
                steps.set_postfix(loss=rec["total"], hm=rec["heatmap"])
            else:
                log.info("step %d %s", step, rec)
        if cfg.checkpoint_every and step and step % cfg.checkpoint_every == 0:
            torch.save({"model_config": asdict(model_cfg), "state_dict": net.state_dict(), "step": step,
                        "optimizer": opt.state_dict()}, out_dir / "last.pt")
        if cfg.eval_every and step and step % cfg.eval_every == 0:
            log.info("step %d validation %s", step, person_ap_by_condition(net, val_cache, modalities))
            net.train()
    train_time = time.time() - t0
    ap = person_ap_by_condition(net, val_cache, modalities)
    result = {"command": command, "seed": seed, "model": asdict(model_cfg), "train": asdict(cfg),
              "modalities": [m for m, on in zip(MODALITIES, modalities) if on], "train_time_s": round(train_time, 1),
              "train_frames": len(train_cache), "val_frames": len(val_cache),
              "train_bags": data["train"], "val_bags": data["val"], "val_ap": ap, "history": history}
    torch.save({"model_config": asdict(model_cfg), "state_dict": net.state_dict(), "step": cfg.steps, "result": result},
               out_dir / "last.pt")
    (out_dir / "metrics.json").write_text(json.dumps(result, indent=1))
    return result


def load_checkpoint(path: str | Path) -> tuple[TrackerNet, dict]:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint not found: {p}")
    ck = torch.load(p, map_location="cpu", weights_only=False)
    cfg = from_mapping(ModelConfig, ck["model_config"], where="checkpoint.model_config")
    net = TrackerNet(cfg)
    net.load_state_dict(ck["state_dict"])
    return net.eval(), ck.get("result", {})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="tracker-train", description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="config/network.yaml")
    ap.add_argument("--model", default=None, help="model config name (default: the file's `model`)")
    ap.add_argument("--fusion", choices=("diffusion", "concat"), default=None)
    ap.add_argument("--plain-conv", action="store_true", help="plain 3x3 convs in the neck instead of DCNv2")
    ap.add_argument("--modalities", default="rgb,thermal,depth", help="modalities the model is trained with")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", required=True, help="output directory (checkpoint, metrics.json)")
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(message)s")
    try:
        data = load_yaml(a.config)
        name = a.model or data.get("model", "embedded")
        over = {}
        if a.fusion:
            over["fusion"] = a.fusion
        if a.plain_conv:
            over["deformable"] = False
        mcfg = load_model_config(name, a.config, over)
        tmap = dict(data.get("training", {}))
        if a.steps is not None:
            tmap["steps"] = a.steps
        if a.threads is not None:
            tmap["threads"] = a.threads
        tcfg = from_mapping(TrainConfig, tmap, where="training")
        weights = from_mapping(LossWeights, data.get("loss_weights", {}), where="loss_weights")
        mods = [m.strip() for m in a.modalities.split(",") if m.strip()]
        bad = [m for m in mods if m not in MODALITIES]
        if bad or not mods:
            raise ConfigError(f"--modalities: unknown {bad}; valid: {', '.join(MODALITIES)}")
        flags = tuple(m in mods for m in MODALITIES)
        datasec = dict(section(data, "data", a.config))
    except ConfigError as e:
        print(f"tracker-train: {e}", file=sys.stderr)
        return 2
    command = "tracker-train " + " ".join(argv if argv is not None else sys.argv[1:])
    log.info("training %s (fusion %s, %s neck, modalities %s) for %d steps, seed %d -> %s", name, mcfg.fusion,
             "DCNv2" if mcfg.deformable else "plain-conv", ",".join(mods), tcfg.steps, a.seed, a.out)
    res = train(mcfg, tcfg, datasec, Path(a.out), a.seed, flags, weights, not a.no_progress, command)
    log.info("validation person/vehicle AP@0.5 per condition: %s", json.dumps(res["val_ap"]))
    log.info("train time %.0f s; checkpoint %s", res["train_time_s"], Path(a.out) / "last.pt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
