"""metrics.json and the human report (Markdown + PNG plots: HOTA per condition per method, latency histogram,
id timeline), and the scorecard table written into README/docs between markers."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

from tracker.common.config import to_mapping

from .config import EvalConfig
from .evalset import WORLD_MODULES
from .evaluate import BagResult, timeline_for
from .scoring import ALL_CLASSES

SCORECARD_BEGIN = "<!-- tracker-eval:scorecard:begin -->"
SCORECARD_END = "<!-- tracker-eval:scorecard:end -->"
PERCENT_FIELDS = ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "LocA", "DetRe", "DetPr", "AssRe", "AssPr", "MOTP",
                  "IDP", "IDR")
PERCENT = 100.0


def _plain(x):
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if hasattr(x, "item"):
        return _plain(x.item())
    return x


def write_metrics_json(path: str | Path, results: Sequence[BagResult], agg: dict, cfg: EvalConfig,
                       meta: dict | None = None) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    doc = {"meta": meta or {}, "config": to_mapping(cfg), "bags": [r.to_json() for r in results],
           "conditions": agg["conditions"], "combined": agg["combined"], "worlds": agg.get("worlds", {})}
    p.write_text(json.dumps(_plain(doc), indent=2))
    return p


def _fmt(field: str, v) -> str:
    if v is None:
        return "–"
    if field in PERCENT_FIELDS:
        return f"{v * PERCENT:.1f}"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _row(name: str, summary: dict | None, cols: Sequence[str]) -> str:
    s = summary or {}
    return "| " + " | ".join([name] + [_fmt(c, s.get(c)) for c in cols]) + " |"


def _lat(pooled: dict) -> str:
    lat = pooled.get("latency") or {}
    keys = [k for k in lat if k.startswith("p") and k.endswith("_ms")]
    parts = [f"{k[:-3]} {lat[k]:.1f} ms" for k in keys if lat.get(k) is not None]
    if lat.get("output_rate_hz"):
        parts.append(f"{lat['output_rate_hz']:.1f} Hz")
    return ", ".join(parts) or "–"


def _m3(pooled: dict) -> tuple[str, str]:
    m = pooled.get("metrics3d") or {}
    e, v = m.get("mean_position_error_m"), m.get("valid3d_fraction")
    return (f"{e:.2f}" if e is not None else "–"), (f"{v * PERCENT:.0f} %" if v is not None else "–")


def _hota_cell(pooled: dict | None) -> str:
    """Pooled HOTA, then [lowest-highest] over seeds where there are several."""
    s = ((pooled or {}).get("scores") or {}).get(ALL_CLASSES)
    text = _fmt("HOTA", s.get("HOTA") if s else None)
    sp = (pooled or {}).get("seed_spread")
    if sp and text != "–":
        text += f" [{sp['min'] * PERCENT:.1f}–{sp['max'] * PERCENT:.1f}]"
    return text


def _world_title(world: str, wd: dict, several: bool, spread: bool) -> str:
    title = "HOTA (%) per condition"
    if world in WORLD_MODULES:
        title += f", world {wd['label']} ({WORLD_MODULES[world]})"
    elif several:
        title += f", {world} bags"
    seeds = wd.get("seeds") or []
    if spread:
        title += f"; seeds {', '.join(map(str, seeds))}: all seeds pooled [lowest–highest seed]"
    elif len(seeds) == 1 and world in WORLD_MODULES:
        title += f"; seed {seeds[0]}"
    return title + ":"


def _condition_tables(agg: dict, methods: list) -> list[str]:
    """One HOTA-per-condition table per world (with an 'all' row when there are several worlds)."""
    worlds = agg.get("worlds") or {"": {"label": "", "conditions": agg["conditions"], "combined": {}}}
    several = len(worlds) > 1
    lines = []
    for w, wd in worlds.items():
        rows = list(wd["conditions"].items()) + ([("all", wd["combined"])] if several else [])
        spread = any((per.get(m) or {}).get("seed_spread") for _, per in rows for m in methods)
        title = _world_title(w, wd, several, spread) if w else "HOTA (%) per condition:"
        lines += ["", title, "", "| condition | " + " | ".join(methods) + " |", "|" + "---|" * (len(methods) + 1)]
        for c, per in rows:
            lines.append(f"| {c} | " + " | ".join(_hota_cell(per.get(m)) for m in methods) + " |")
    return lines


def scorecard_markdown(agg: dict, cfg: EvalConfig) -> str:
    """The combined table (one row per method) and HOTA per condition, one table per world, with the range
    over seeds where a condition has several."""
    cols = list(cfg.report.headline)
    head = "| method | " + " | ".join(cols) + " | 3D err (m) | valid 3D | latency |"
    lines = ["Combined over all bags (TrackEval combine over sequences; scores in %, classes det-averaged):", "",
             head, "|" + "---|" * (len(cols) + 4)]
    for m, pooled in agg["combined"].items():
        s = (pooled.get("scores") or {}).get(ALL_CLASSES)
        e, v = _m3(pooled)
        lines.append(_row(m, s, cols) + f" {e} | {v} | {_lat(pooled)} |")
    lines += _condition_tables(agg, list(agg["combined"]))
    return "\n".join(lines) + "\n"


def update_between_markers(path: str | Path, text: str) -> bool:
    """Replace what lies between SCORECARD_BEGIN and SCORECARD_END in ``path``; False if there are no markers."""
    p = Path(path)
    if not p.is_file():
        return False
    s = p.read_text()
    i, j = s.find(SCORECARD_BEGIN), s.find(SCORECARD_END)
    if i < 0 or j < i:
        return False
    p.write_text(s[:i + len(SCORECARD_BEGIN)] + "\n" + text + s[j:])
    return True


# plots ----------------------------------------------------------------------------------------------------------
def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_hota_by_condition(path: Path, agg: dict, cfg: EvalConfig) -> Path | None:
    conds = list(agg["conditions"])
    methods = list(agg["combined"])
    if not conds or not methods:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(conds) + 2), 4))
    width = 0.8 / len(methods)
    for i, m in enumerate(methods):
        ys = []
        for c in conds:
            s = ((agg["conditions"][c].get(m) or {}).get("scores") or {}).get(ALL_CLASSES)
            ys.append((s or {}).get("HOTA") or 0.0)
        ax.bar([k + i * width for k in range(len(conds))], [y * PERCENT for y in ys], width, label=m)
    ax.set_xticks([k + 0.4 - width / 2 for k in range(len(conds))])
    ax.set_xticklabels(conds, rotation=30, ha="right")
    ax.set_ylabel("HOTA (%)")
    ax.set_title("HOTA per condition and method")
    ax.legend(fontsize="small")
    return _save(plt, fig, path, cfg)


def _save(plt, fig, path: Path, cfg: EvalConfig) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=cfg.report.dpi)
    plt.close(fig)
    return path


def plot_latency(path: Path, results: Sequence[BagResult], cfg: EvalConfig) -> Path | None:
    data = {}
    for r in results:
        for m, mr in r.methods.items():
            data.setdefault(m, []).extend(x * 1000.0 for x in mr.latencies_s)
    data = {m: v for m, v in data.items() if v}
    if not data:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for m, v in data.items():
        ax.hist(v, bins=cfg.report.latency_bins, alpha=0.6, label=m)
    ax.set_xlabel("latency (ms): output receive time - sensor stamp")
    ax.set_ylabel("frames")
    ax.legend(fontsize="small")
    return _save(plt, fig, path, cfg)


def plot_id_timeline(path: Path, res: BagResult, method: str, cfg: EvalConfig) -> Path | None:
    """One row per GT id (the longest ones, up to ``timeline_max_ids``), coloured by the matched track id
    (grey = missed): id switches show as colour changes."""
    tl = timeline_for(res, method, cfg)
    if not tl:
        return None
    ids = sorted(tl, key=lambda i: -len(tl[i]))[:cfg.report.timeline_max_ids]
    plt = _plt()
    cmap = plt.get_cmap("tab20")
    track_ids = sorted({t for i in ids for _, t in tl[i] if t is not None})
    colour = {t: cmap(k % cmap.N) for k, t in enumerate(track_ids)}
    fig, ax = plt.subplots(figsize=(8, max(2.0, 0.25 * len(ids) + 1)))
    for row, gid in enumerate(ids):
        for frame, t in tl[gid]:
            ax.broken_barh([(frame - 0.5, 1.0)], (row - 0.4, 0.8), color=colour.get(t, (0.85, 0.85, 0.85)))
    ax.set_yticks(range(len(ids)))
    ax.set_yticklabels(ids, fontsize="x-small")
    ax.set_xlabel("GT frame")
    ax.set_title(f"{res.name}: matched track id per GT object ({method}; grey = missed)")
    return _save(plt, fig, path, cfg)


def write_report(out_dir: str | Path, results: Sequence[BagResult], agg: dict, cfg: EvalConfig,
                 meta: dict | None = None) -> Path:
    """report.md + plots/ in ``out_dir``."""
    out = Path(out_dir)
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    lines = ["# Tracking evaluation", ""]
    if meta:
        lines += [f"- {k}: {v}" for k, v in meta.items()] + [""]
    lines += ["## Scorecard", "", scorecard_markdown(agg, cfg)]
    figs = []
    p = plot_hota_by_condition(plots / "hota_by_condition.png", agg, cfg)
    if p:
        figs.append(("HOTA per condition", p))
    p = plot_latency(plots / "latency_hist.png", results, cfg)
    if p:
        figs.append(("Latency", p))
    for r in results:
        method = next((m for m in r.methods if r.methods[m].scores is not None), None)
        if method:
            p = plot_id_timeline(plots / f"id_timeline_{r.name}.png", r, method, cfg)
            if p:
                figs.append((f"Id timeline: {r.name} ({method})", p))
            break
    for title, p in figs:
        lines += [f"### {title}", "", f"![{title}]({p.relative_to(out).as_posix()})", ""]
    cols = list(cfg.report.headline)
    lines += ["## Per bag", "", "| bag | condition | method | " + " | ".join(cols) + " | 3D err (m) | latency |",
              "|" + "---|" * (len(cols) + 5)]
    for r in results:
        for m, mr in r.methods.items():
            s = mr.scores.summary() if mr.scores is not None else None
            e = (mr.metrics3d or {}).get("mean_position_error_m")
            e_s = f"{e:.2f}" if e is not None else "–"
            lines.append(_row(f"{r.name} | {r.condition} | {m}", s, cols) + f" {e_s} | "
                         + _lat({"latency": mr.latency}) + " |")
    msgs = [f"- {r.name}: {x}" for r in results for x in r.messages]
    msgs += [f"- {r.name} / {m}: {x}" for r in results for m, mr in r.methods.items() for x in mr.messages]
    if msgs:
        lines += ["", "## Messages", ""] + msgs
    lines += ["", "Scores: TrackEval (HOTA averaged over alpha 0.05..0.95; CLEAR/Identity at IoU "
              f"{cfg.scoring.iou_threshold:g}); preprocessing as in docs/evaluation.md.", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
