"""Aggregation of bag results: per world, per condition and combined, per method (TrackEval's sequence
combination of the scores, pooled 3D error and latency), with the seed-to-seed spread of HOTA.

    {"combined": {method: pooled},
     "worlds": {world: {"label": "A", "seeds": [...], "combined": {method: pooled},
                        "conditions": {condition: {method: pooled}}}},
     "conditions": {key: {method: pooled}}}

``conditions`` is the flat view: keyed by the condition ("day") when every bag is from one world, else by
"<world label>:<condition>" ("A:day", "B:day"). ``pooled["seed_spread"]``: HOTA (classes det-averaged) of each
seed's bags combined on their own, with min, max and standard deviation over seeds (None with fewer than two
seeds)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .config import EvalConfig
from .evalset import WORLD_LABELS, world_label
from .evaluate import METHODS, BagResult, MethodResult
from .metrics3d import latency_stats
from .scoring import ALL_CLASSES, combine_sequences

SPREAD_METRIC = "HOTA"


def _hota(scores: list, cfg: EvalConfig) -> float | None:
    s = combine_sequences(scores, cfg.scoring).summaries().get(ALL_CLASSES) if scores else None
    return None if not s or s.get(SPREAD_METRIC) is None else float(s[SPREAD_METRIC])


def seed_spread(items: Sequence[tuple[int | None, MethodResult]], cfg: EvalConfig) -> dict | None:
    """HOTA per seed (each seed's scored bags combined) and its min / max / std over seeds; None with fewer
    than two seeds."""
    by_seed: dict = {}
    for seed, r in items:
        if seed is not None and r.scores is not None:
            by_seed.setdefault(seed, []).append(r.scores)
    per = {s: _hota(v, cfg) for s, v in sorted(by_seed.items())}
    vals = [v for v in per.values() if v is not None]
    if len(vals) < 2:
        return None
    return {"metric": SPREAD_METRIC, "class": ALL_CLASSES, "per_seed": per, "n_seeds": len(vals),
            "min": min(vals), "max": max(vals), "std": float(np.std(vals, ddof=1))}


def _pool(items: Sequence[tuple[int | None, MethodResult]], cfg: EvalConfig) -> dict:
    rs = [r for _, r in items]
    scored = [r.scores for r in rs if r.scores is not None]
    comb = combine_sequences(scored, cfg.scoring) if scored else None
    m3 = [r.metrics3d for r in rs if r.metrics3d]
    n = sum(m["n_position_samples"] for m in m3)
    err = (sum(m["mean_position_error_m"] * m["n_position_samples"] for m in m3
               if m["mean_position_error_m"] is not None) / n) if n else None
    v3 = [m["valid3d_fraction"] for m in m3 if m["valid3d_fraction"] is not None]
    lat = [x for r in rs for x in r.latencies_s]
    rates = [r.latency["output_rate_hz"] for r in rs if r.latency and r.latency.get("output_rate_hz")]
    latency = latency_stats(lat, (), cfg.latency) if lat else None
    if latency is not None:
        latency["output_rate_hz"] = float(np.mean(rates)) if rates else None
    return {"sequences": len(rs), "scored_sequences": len(scored),
            "scores": comb.summaries() if comb is not None else None,
            "metrics3d": {"mean_position_error_m": err, "n_position_samples": n,
                          "valid3d_fraction": float(np.mean(v3)) if v3 else None} if m3 else None,
            "latency": latency, "seed_spread": seed_spread(items, cfg)}


def _per_method(results: Sequence[BagResult], methods: list, cfg: EvalConfig) -> dict:
    return {m: _pool([(r.seed, r.methods[m]) for r in results if m in r.methods], cfg)
            for m in methods if any(m in r.methods for r in results)}


def _world_order(world: str) -> tuple:
    labels = list(WORLD_LABELS)
    return (labels.index(world), "") if world in labels else (len(labels), world)


def condition_key(world: str, condition: str, several_worlds: bool) -> str:
    """Key of a condition in the flat ``conditions`` view: 'day', or 'A:day' when there are several worlds."""
    return f"{world_label(world)}:{condition}" if several_worlds else condition


def aggregate(results: Sequence[BagResult], cfg: EvalConfig = EvalConfig()) -> dict:
    """The module docstring's structure, from the results of every bag."""
    methods = [m for m in METHODS if any(m in r.methods for r in results)]
    methods += sorted({m for r in results for m in r.methods} - set(methods))
    worlds = sorted({r.world for r in results}, key=_world_order)
    out = {"conditions": {}, "combined": _per_method(results, methods, cfg), "worlds": {}}
    for w in worlds:
        rw = [r for r in results if r.world == w]
        wd = {"label": world_label(w), "seeds": sorted({r.seed for r in rw if r.seed is not None}),
              "combined": _per_method(rw, methods, cfg), "conditions": {}}
        for c in sorted({r.condition for r in rw}):
            per = _per_method([r for r in rw if r.condition == c], methods, cfg)
            wd["conditions"][c] = per
            out["conditions"][condition_key(w, c, len(worlds) > 1)] = per
        out["worlds"][w] = wd
    return out
