"""tracker-calibrate: fit a model's score calibration on held-out contract bags, into its metadata JSON.

The calibration (tracker.network.calibration) makes the model's detection scores estimated precisions.

    tracker-calibrate build/new.onnx --bags 'held_out/*'                   # writes build/new.json's "calibration"
    tracker-calibrate build/new.onnx --bags 'held_out/*' --out-json x.json # the metadata + calibration, elsewhere
    tracker-calibrate models/embedded.onnx --bags 'held_out/*' --out-json /tmp/e.json \\
        --express-thresholds config/tracker_node.yaml   # the node's raw thresholds on the calibrated scale
    tracker-calibrate build/new.onnx --express-thresholds NODE.yaml         # through the calibration it already has

The backend (ONNX Runtime, CPU) runs on every ``--stride``-th frame of the bags (frame cache and conditions of
``tracker.network.evaluate --bags``), the peaks down to ``--raw-threshold`` are matched to the ground truth as the
AP evaluation does (IoU >= 0.5; detections on ignore regions, i.e. GT less visible than 0.3 or lower than 16 RGB
px, are left out), and each class's (score, true positive) pairs are fitted. Printed per class: the reliability
table (raw-score bins: count, mean raw score, mean calibrated score, precision) and the expected calibration error
of the raw and the calibrated scores, in-sample and (``cal cv``) fitted on one half of the bags, measured on the
other. ``--express-thresholds`` prints the thresholds of a node YAML (tuned for this model's raw scores) mapped
through the calibration: for this model they keep exactly the same detections in every threshold decision.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from tracker.common.config import ConfigError, from_mapping, load_yaml

from . import evaluate as net_eval
from .calibration import META_KEY, CalibrationConfig, ScoreCalibration, model_calibration
from .metrics import ConditionAP

FOLDS = ("fold0", "fold1")


def collect_pairs(backend, cache, cfg: CalibrationConfig, modalities=(True, True, True)) -> ConditionAP:
    """Matched (score, TP) pairs of ``cache`` through ``backend``, under keys 'fold0' / 'fold1' (alternate bags,
    or the two halves of the frames of a single bag) and 'all' (tracker.network.metrics.ConditionAP.pairs)."""
    acc = ConditionAP(tuple(backend.meta.data["class_names"]), cfg.iou)
    n_clips = len(cache.conditions)
    for i, (clip, d, objs) in enumerate(net_eval.decoded_frames(backend, cache, modalities, cfg.raw_threshold,
                                                                cfg.top_k)):
        fold = clip % 2 if n_clips > 1 else int(2 * i >= len(cache))
        acc.add(FOLDS[fold], d, objs)
    return acc


def reliability(raw, calibrated, tp, bins: int) -> list[tuple]:
    """Rows (bin low, bin high, count, mean raw, mean calibrated, precision) of equal-width raw-score bins."""
    raw, calibrated, tp = (np.asarray(a, np.float64) for a in (raw, calibrated, tp))
    b = np.clip((raw * bins).astype(np.int64), 0, bins - 1)
    rows = []
    for k in range(bins):
        m = b == k
        if m.any():
            rows.append((k / bins, (k + 1) / bins, int(m.sum()), float(raw[m].mean()), float(calibrated[m].mean()),
                         float(tp[m].mean())))
    return rows


def ece(pred, tp, bins: int) -> float | None:
    """Expected calibration error: sum over equal-width bins of ``pred`` of (share of detections) x |mean pred -
    precision|. None without detections."""
    pred, tp = np.asarray(pred, np.float64), np.asarray(tp, np.float64)
    if len(pred) == 0:
        return None
    b = np.clip((pred * bins).astype(np.int64), 0, bins - 1)
    n = np.bincount(b, minlength=bins)
    gap = np.abs(np.bincount(b, pred, bins) - np.bincount(b, tp, bins))
    return float(gap.sum() / n.sum())


def _cv_ece(acc: ConditionAP, c: int, names, cfg: CalibrationConfig) -> float | None:
    """ECE of class ``c`` with each fold calibrated by a fit on the other one (None where a fold is too small)."""
    folds = [acc.pairs(f).get(c, (np.zeros(0), np.zeros(0, bool))) for f in FOLDS]
    preds, tps = [], []
    for k in (0, 1):
        fit = ScoreCalibration.fit(names, {c: folds[1 - k]}, cfg)
        if not fit.maps[c].calibrated or len(folds[k][0]) == 0:
            return None
        preds.append(fit.maps[c].apply(folds[k][0])), tps.append(folds[k][1])
    return ece(np.concatenate(preds), np.concatenate(tps), cfg.bins)


def ece_summary(cal: ScoreCalibration, acc: ConditionAP, cfg: CalibrationConfig) -> dict:
    """{class: {"raw", "calibrated", "calibrated_cv"}} expected calibration errors (None where not defined)."""
    out = {}
    for c, name in enumerate(cal.class_names):
        s, tp = acc.pairs().get(c, (np.zeros(0), np.zeros(0, bool)))
        calibrated = cal.maps[c].calibrated
        out[name] = {"raw": _round(ece(s, tp, cfg.bins)),
                     "calibrated": _round(ece(cal.maps[c].apply(s), tp, cfg.bins)) if calibrated else None,
                     "calibrated_cv": _round(_cv_ece(acc, c, cal.class_names, cfg)) if calibrated else None}
    return out


def _round(v):
    return None if v is None else round(v, 4)


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.4f}"


def report_lines(cal: ScoreCalibration, acc: ConditionAP, cfg: CalibrationConfig) -> list[str]:
    lines = []
    for c, name in enumerate(cal.class_names):
        m = cal.maps[c]
        s, tp = acc.pairs().get(c, (np.zeros(0), np.zeros(0, bool)))
        e = cal.info.get("ece", {}).get(name, {})
        state = f"calibrated, {len(m.knots)} knots" if m.calibrated else f"identity ({m.reason})"
        lines.append(f"{name}: {len(s)} detections, {int(tp.sum())} true positives: {state}")
        lines.append("  raw bin      count  mean raw  mean cal  precision")
        for lo, hi, n, mr, mc, p in reliability(s, m.apply(s), tp, cfg.bins):
            lines.append(f"  {lo:.2f}-{hi:.2f}  {n:6d}  {mr:8.4f}  {mc:8.4f}  {p:9.4f}")
        lines.append(f"  ECE raw {_fmt(e.get('raw'))}, calibrated {_fmt(e.get('calibrated'))} (in-sample), "
                     f"{_fmt(e.get('calibrated_cv'))} (cal cv: fitted on the other half of the bags)")
    return lines


def fit_model(backend, cache, cfg: CalibrationConfig, bags, modalities=(True, True, True)):
    """(calibration, pairs) of ``backend`` on ``cache``; the calibration's info records the fit."""
    acc = collect_pairs(backend, cache, cfg, modalities)
    meta = backend.meta.data
    info = {"model_hash": meta.get("version_hash"),
            "fitted_on": {"bags": [str(b) for b in bags], "frames": len(cache), "raw_threshold": cfg.raw_threshold,
                          "top_k": cfg.top_k}}
    cal = ScoreCalibration.fit(tuple(meta["class_names"]), acc.pairs(), cfg, info)
    cal.info["ece"] = ece_summary(cal, acc, cfg)
    return cal, acc


def write_calibration(model_path, cal: ScoreCalibration, out_json=None) -> Path:
    """The model's metadata with ``calibration`` set, written to ``out_json`` (default: the model's own JSON,
    everything else in it kept)."""
    from tracker.backends.base import metadata_path
    src = metadata_path(model_path)
    meta = json.loads(src.read_text())
    meta[META_KEY] = cal.to_meta()
    dst = Path(out_json) if out_json else src
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    tmp.replace(dst)
    return dst


def main(argv=None) -> int:
    a = _parser().parse_args(argv)
    if not a.bags and not a.express_thresholds:
        print("tracker-calibrate: give --bags (to fit) and/or --express-thresholds", file=sys.stderr)
        return 2
    from tracker.backends import BackendConfig, ModelError, create_backend
    try:
        cfg = from_mapping(CalibrationConfig, {k: v for k, v in vars(a).items()
                                               if k in CalibrationConfig.__dataclass_fields__ and v is not None},
                           where="tracker-calibrate")
        backend = create_backend(BackendConfig(order=("onnxruntime",), device="cpu", threads=a.threads), a.model)
        if a.bags:
            cal = _fit_and_write(a, backend, cfg)
        else:
            cal = model_calibration(backend.meta.data)
            if cal is None:
                raise ConfigError(f"{a.model} has no calibration in its metadata: give --bags to fit one")
        if a.express_thresholds:
            from .thresholds import express_thresholds
            print("\n".join(express_thresholds(cal, a.express_thresholds, a.model)))
    except (ConfigError, ModelError, ValueError, FileNotFoundError) as e:
        print(f"tracker-calibrate: {e}", file=sys.stderr)
        return 2
    return 0


def _fit_and_write(a, backend, cfg: CalibrationConfig) -> ScoreCalibration:
    doc = load_yaml(a.config)
    ns = SimpleNamespace(bags=a.bags, stride=a.stride, cache_dir=a.cache_dir)
    cache = net_eval._cache(ns, doc["data"], backend.meta.data)
    bags = [b.meta["bag"] for b in cache.bags]
    cal, acc = fit_model(backend, cache, cfg, bags, net_eval.SUBSETS[a.modalities])
    print("\n".join(report_lines(cal, acc, cfg)))
    print(f"calibration written to {write_calibration(a.model, cal, a.out_json)}")
    return cal


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tracker-calibrate", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.split("\n")[2:]))
    p.add_argument("model", help="the exported model (.onnx, its metadata .json beside it)")
    p.add_argument("--bags", nargs="+", default=None, help="held-out contract bags (folders or globs) to fit on")
    p.add_argument("--out-json", default=None,
                   help="write the metadata with the calibration here instead of into the model's own JSON")
    p.add_argument("--express-thresholds", default=None, metavar="NODE_YAML",
                   help="print this node YAML's raw score thresholds mapped through the calibration")
    p.add_argument("--config", default="config/network.yaml", help="for data.root (frame cache) and val_stride")
    p.add_argument("--stride", type=int, default=1, help="every n-th RGB frame of the bags (0: data.val_stride)")
    p.add_argument("--cache-dir", default="", help="frame cache folder (default: data.root/cache)")
    p.add_argument("--modalities", default="all", choices=list(net_eval.SUBSETS), help="inputs the model gets")
    p.add_argument("--threads", type=int, default=0, help="ONNX Runtime CPU threads (0: the library's choice)")
    for name, f in CalibrationConfig.__dataclass_fields__.items():
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=type(f.default), default=None,
                       help=f"{f.metadata['doc']} (default {f.default})")
    return p


if __name__ == "__main__":
    sys.exit(main())
