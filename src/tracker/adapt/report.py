"""The run's results: RUN/report.json, RUN/MODEL_CARD.md and the best round's model exported to
RUN/model.onnx + model.json (tracker.network.export: the node suite runs it; ORT/PyTorch parity checked)."""
from __future__ import annotations

import json
from pathlib import Path

from .rounds import CARD, MODEL, REPORT, Plan, _write_json


def export_best(plan: Plan, records: list, best: int) -> dict:
    """Export the best round's student (round 0: the initial model) to RUN/model.onnx; returns where and parity."""
    from tracker.network.checkpoint import load_checkpoint
    from tracker.network.export import PARITY_ATOL, export_onnx, parity
    pt = records[best]["student"]
    net, _ = load_checkpoint(pt)
    training = {"command": plan.command or "tracker-adapt", "checkpoint": str(pt), "adapted_from": plan.init,
                "adapt_round": best, "train_bags": [b.to_json() for b in plan.bags + plan.labelled],
                "val_bags": [b.to_json() for b in plan.val], "val_ap": records[best].get("val_ap")}
    onnx_path, meta_path = export_onnx(net, plan.out / MODEL, training)
    diffs = parity(net, onnx_path)
    worst = max(v for k, v in diffs.items() if k != "peak_mismatch")
    return {"onnx": str(onnx_path), "metadata": str(meta_path), "checkpoint": str(pt), "parity_max": worst,
            "peak_mismatch": int(diffs["peak_mismatch"]),
            "parity_ok": bool(worst <= PARITY_ATOL and not diffs["peak_mismatch"])}


def _totals(rec: dict) -> dict:
    labels = rec.get("labels") or {}
    keys = ("teacher_boxes", "targets", "interpolated", "ignore_regions", "tracks_kept", "tracks_dropped",
            "tracks_static", "tracks_jumpy")
    return {k: sum(v.get(k, 0) for v in labels.values()) for k in keys}


def _pr(rec: dict, which: str) -> dict:
    """Precision/recall pooled over the bags with ground truth."""
    q = [v[which] for v in (rec.get("label_quality") or {}).values()]
    tp, n, g = (sum(x[k] for x in q) for k in ("true_positives", "counted", "gt"))
    return {"precision": round(tp / n, 4) if n else None, "recall": round(tp / g, 4) if g else None,
            "bags": len(q)}


def summary_rows(records: list) -> list[dict]:
    rows = []
    for rec in records:
        trk = (rec.get("tracking") or {}).get("person") or {}
        lab, tea = _pr(rec, "labels"), _pr(rec, "teacher")
        rows.append({"round": rec["round"], "val_person_ap": rec.get("val_person_ap"), "person_hota": trk.get("HOTA"),
                     **_totals(rec), "label_precision": lab["precision"], "label_recall": lab["recall"],
                     "teacher_precision": tea["precision"], "teacher_recall": tea["recall"],
                     "labelled_share": rec.get("labelled_share")})
    return rows


def _fmt(v) -> str:
    if v is None:
        return "–"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def card_text(plan: Plan, report: dict) -> str:
    cols = ("round", "val_person_ap", "person_hota", "teacher_boxes", "targets", "interpolated", "ignore_regions",
            "label_precision", "label_recall", "teacher_precision", "teacher_recall", "labelled_share")
    lines = ["# Adapted model (tracker-adapt)", "",
             f"- initial model: `{plan.init}`",
             f"- unlabelled bags ({len(plan.bags)}): " + ", ".join(f"`{b.path}`" for b in plan.bags),
             f"- labelled bags mixed in ({len(plan.labelled)}): " + (", ".join(f"`{b.path}`" for b in plan.labelled)
                                                                     or "none"),
             f"- held-out bags ({len(plan.val)}): " + (", ".join(f"`{b.path}`" for b in plan.val) or "none"),
             f"- rounds run: {len(report['rounds']) - 1}; best: round {report['best_round']} "
             f"(round 0 = the initial model); steps per round {plan.cfg.rounds.steps_per_round}",
             f"- model: `{report['model']['onnx']}` from `{report['model']['checkpoint']}` (ORT/PyTorch parity "
             f"{report['model']['parity_max']:.1e}, {'ok' if report['model']['parity_ok'] else 'FAILED'}, "
             f"{report['model']['peak_mismatch']} peak mismatches)",
             f"- command: `{plan.command}`", "",
             "Per round (val_person_ap: person AP@0.5 on the held-out bags; person_hota: tracker core on the "
             "student's detections, TrackEval, %; label precision/recall at IoU 0.5 against the unlabelled bags' "
             "ground truth where it exists - measured only, never used):", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |" for r in report["summary"]]
    lines += ["", "Settings: config " + json.dumps(report["config"]["rounds"]), ""]
    return "\n".join(lines)


def finish(plan: Plan, records: list, best: int) -> dict:
    model = export_best(plan, records, best)
    report = {"init": plan.init, "bags": [b.to_json() for b in plan.bags],
              "labelled": [b.to_json() for b in plan.labelled], "val": [b.to_json() for b in plan.val],
              "config": plan.to_json()["config"], "command": plan.command, "best_round": best, "model": model,
              "summary": summary_rows(records), "rounds": records}
    _write_json(Path(plan.out) / REPORT, report)
    (Path(plan.out) / CARD).write_text(card_text(plan, report))
    return report
