"""The domain-shift experiment of tracker-adapt (docs/adaptation.md "Measured"): a model trained on the source
only, adapted on unlabelled target bags (their ground truth hidden from the adaptation, used only to score),
against the same model fine-tuned on the target with its ground truth; all scored on held-out target bags.

    python scripts/adapt_experiment.py --out build/adapt_exp                  # world A -> world B (tracker.sim_gl)
    python scripts/adapt_experiment.py --out build/adapt_sensor --shift sensor  # mono16 -> AGC mono8 thermal
    python scripts/adapt_experiment.py --out /tmp/adapt_tiny --tiny            # minutes on a CPU: plumbing only
    python scripts/adapt_experiment.py --out RUN --init A.pt --source A/* --target B/* --val B_val/*  # own bags

Prints and writes OUT/summary.json and OUT/summary.md: person AP and tracking HOTA (tracker core on the
network's detections, tracker.adapt.tracking) of source-only, adaptation rounds 1..k, source + target supervised.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

#: (presets, duration s) per bag; seeds: source 201.., target unlabelled 301.., target held-out 401..
FULL = {"source": [("day", 8), ("night", 8), ("smoke", 8), ("crossover", 6)], "target": [("day", 8), ("night", 8),
        ("smoke", 8), ("crossover", 6)], "val": [("day", 6), ("night", 6)], "steps": 3000, "rounds": 3,
        "steps_per_round": 800}
KINDS = ("source", "target", "val")
TINY = {"source": [("night", 1.0)], "target": [("night", 1.0)], "val": [("night", 1.0)], "steps": 6, "rounds": 2,
        "steps_per_round": 3}


def render(source: bool, shift: str, presets: str, seed: int, duration: float, path: Path) -> Path:
    """A source bag (world A), or a target bag: world B, or world A with an AGC mono8 thermal camera."""
    if source or shift == "sensor":
        from tracker.sim.config import SimConfig, with_overrides
        from tracker.sim.simulate import simulate
        cfg = None if source else with_overrides(SimConfig(), {"thermal": {"encoding": "mono8"}})
        return simulate(presets, duration, seed, randomize=True, out_dir=path.parent, config=cfg, name=path.name,
                        progress=False)
    from tracker.sim_gl.simulate import simulate
    return simulate(presets, duration, seed, out_dir=path.parent, name=path.name)


def bags(plan: dict, shift: str, out: Path, given: dict | None = None) -> dict:
    """{source, target, val: [bag paths]}: ``given`` lists, else the plan's, rendered when missing."""
    got = {}
    for kind, base in zip(KINDS, (201, 301, 401)):
        if (given or {}).get(kind):
            got[kind] = [Path(p) for p in given[kind]]
            continue
        got[kind] = []
        for i, (presets, dur) in enumerate(plan[kind]):
            p = out / "bags" / f"{kind}_{presets}_s{base + i}"
            got[kind].append(p if (p / "metadata.yaml").is_file() else
                             render(kind == "source", shift, presets, base + i, dur, p))
    return got


def _run(*args) -> None:
    print("+", " ".join(map(str, args)), flush=True)
    subprocess.run([sys.executable, "-m", *map(str, args)], check=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--shift", choices=("world", "sensor"), default="world")
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--network-config", default="config/network.yaml")
    ap.add_argument("--adapt-config", default="config/adapt.yaml")
    ap.add_argument("--init", default=None, help="a source-only .pt to start from (skips training one)")
    for kind in KINDS:
        ap.add_argument(f"--{kind}", nargs="+", default=None, metavar="BAG",
                        help=f"existing {kind} bags instead of rendering the plan's")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--steps-per-round", type=int, default=None)
    a = ap.parse_args(argv)
    plan, out = dict(TINY if a.tiny else FULL), Path(a.out)
    plan.update({k: v for k, v in (("rounds", a.rounds), ("steps_per_round", a.steps_per_round)) if v})
    b = bags(plan, a.shift, out, {k: getattr(a, k) for k in KINDS})
    net = ["--config", a.network_config]
    src = Path(a.init) if a.init else out / "source_only" / "last.pt"
    if not src.is_file():
        _run("tracker.network.train", *b["source"], "--val", *b["val"], "--steps", plan["steps"], "--out", src.parent,
             "--no-progress", *net)
    run = out / "adapt"
    adapt = ["tracker.adapt.cli", "--resume", run] if (run / "adapt.json").is_file() else \
        ["tracker.adapt.cli", *b["target"], "--init", src, "--labelled", *b["source"], "--val", *b["val"],
         "--rounds", plan["rounds"], "--steps-per-round", plan["steps_per_round"], "--out", run,
         "--config", a.adapt_config, "--network-config", a.network_config]
    _run(*adapt)
    sup = out / "supervised"
    if (sup / "state.pt").is_file() and not (sup / "metrics.json").is_file():
        _run("tracker.network.train", "--resume", sup, "--no-progress")  # an interrupted run continues
    elif not (sup / "metrics.json").is_file():
        _run("tracker.network.train", *b["source"], *b["target"], "--val", *b["val"], "--init", src,
             "--steps", plan["rounds"] * plan["steps_per_round"], "--out", sup, "--no-progress", *net)
    return summarise(out, run, src, sup)


def summarise(out: Path, run: Path, src: Path, sup: Path) -> int:
    """OUT/summary.json and summary.md: every model on the held-out target bags."""
    from tracker.adapt.rounds import Plan, evaluate_model
    report = json.loads((run / "report.json").read_text())
    plan = Plan.from_json(json.loads((run / "adapt.json").read_text()), run)
    rows = [{"model": "source only", **_scores(evaluate_model(plan, src))}]
    rows += [{"model": f"+ adaptation round {r['round']}", **_scores(r)} for r in report["rounds"][1:]]
    rows.append({"model": "source + target supervised", **_scores(evaluate_model(plan, sup / "last.pt"))})
    for r, s in zip(rows[1:-1], report["summary"][1:]):
        r.update(label_precision=s["label_precision"], label_recall=s["label_recall"], targets=s["targets"])
    (out / "summary.json").write_text(json.dumps(rows, indent=1))
    lines = ["| model | target person AP | person HOTA | pseudo labels | label precision | label recall |",
             "|---|---|---|---|---|---|"]
    cols = ("model", "ap", "hota", "targets", "label_precision", "label_recall")
    lines += ["| " + " | ".join(str(r.get(c, "–")) for c in cols) + " |" for r in rows]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def _scores(rec: dict) -> dict:
    trk = (rec.get("tracking") or {}).get("person") or {}
    return {"ap": rec.get("val_person_ap"), "hota": trk.get("HOTA")}


if __name__ == "__main__":
    sys.exit(main())
