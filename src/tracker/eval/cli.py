"""tracker-eval: replay bags through the node suite, score the outputs against the GT, write metrics.json and a
Markdown report with plots.

    tracker-eval BAG... --out DIR [--realtime] [--gt gt.txt ...] [--pred OUTPUT ...] [--methods ...] [--jobs N]
    tracker-eval --eval-set config/eval_set.yaml --out DIR [--jobs N] [--update-docs README.md docs/evaluation.md]
    tracker-eval --gt gt.txt --pred result.txt --out DIR          (MOTChallenge files only, no bag)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tracker.common.config import ConfigError
from tracker.data.bag import BagReadError
from tracker.data.motchallenge import FORMATS, MOTFormatError

from .bagio import EvalDataError
from .config import load_eval_config
from .evaluate import METHODS, Replayer, aggregate, evaluate_bag, evaluate_mot
from .parallel import BagTask, WorkerError, evaluate_parallel
from .report import SCORECARD_BEGIN, SCORECARD_END, scorecard_markdown, update_between_markers, write_metrics_json, \
    write_report
from .scoring import ScoringError


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="tracker-eval", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bags", nargs="*", type=Path, help="input contract bags (simulator, VT-MOT/MOT converted)")
    ap.add_argument("--out", type=Path, required=True, help="output folder (metrics.json, report.md, plots/)")
    ap.add_argument("--realtime", action="store_true", help="replay at the recorded rate (default: as fast as "
                    "processing allows, sim time)")
    ap.add_argument("--gt", type=Path, action="append", default=[],
                    help="MOTChallenge gt.txt instead of the bag's GT (one per bag, in order; frame k = k-th RGB "
                         "frame); without bags: score --pred files against these")
    ap.add_argument("--gt-format", choices=FORMATS, default="auto", help="MOT column layout of --gt files")
    ap.add_argument("--pred", type=Path, action="append", default=[],
                    help="existing suite output (output bag, or MOT result file) per bag: no replay")
    ap.add_argument("--methods", default=",".join(METHODS),
                    help=f"comma-separated subset of {', '.join(METHODS)}")
    ap.add_argument("--config", type=Path, default=None, help="evaluation config (default config/eval.yaml)")
    ap.add_argument("--node-config", type=Path, default=None, help="node suite config given to the replay")
    ap.add_argument("--model", type=Path, default=None, help="model given to the replay")
    ap.add_argument("--condition", default=None, help="condition name of all BAGs (default: simulator presets "
                    "from the bag's sidecar, else 'external')")
    ap.add_argument("--eval-set", type=Path, default=None, help="evaluate the fixed set (config/eval_set.yaml): "
                    "renders missing bags into OUT/bags")
    ap.add_argument("--update-docs", type=Path, nargs="*", default=None,
                    help=f"write the scorecard between {SCORECARD_BEGIN} and {SCORECARD_END} in these files")
    ap.add_argument("--jobs", type=int, default=1, help="bags evaluated at once, each in a worker process on a "
                    "ROS domain of its own (default 1: in this process)")
    ap.add_argument("--first-domain-id", type=int, default=None, help="ROS_DOMAIN_ID of the first worker (the "
                    "others count up; default eval.parallel.first_domain_id of the config)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bars")
    return ap


def _check_counts(args, n_bags: int) -> None:
    for name in ("gt", "pred"):
        v = getattr(args, name)
        if v and len(v) != n_bags:
            raise ConfigError(f"--{name} given {len(v)} time(s) for {n_bags} bag(s): give one per bag, in order")


def _tasks(args, jobs: list, methods: list) -> list[BagTask]:
    """evaluate_bag's arguments of every bag (a --gt / --pred file belongs to the BAG of the same position)."""
    def nth(files, k):
        return files[k] if k < len(files) and k < len(args.bags) else None
    return [BagTask(Path(bag), dict(methods=methods, realtime=args.realtime, gt_file=nth(args.gt, k),
                                    gt_format=args.gt_format, pred=nth(args.pred, k), condition=cond,
                                    node_config=args.node_config, model=args.model))
            for k, (bag, cond) in enumerate(jobs)]


def _evaluate_bags(args, jobs: list, cfg, methods: list, out: Path, replayer: Replayer | None) -> list:
    """Every bag, in this process (--jobs 1) or by worker processes (tracker.eval.parallel)."""
    from tqdm import tqdm
    if args.jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {args.jobs}")
    tasks = _tasks(args, jobs, methods)
    if args.jobs > 1:
        bar = tqdm(total=len(tasks), desc=f"evaluating ({args.jobs} jobs)", unit="bag", disable=args.no_progress)
        bar.write(f"[tracker-eval] {len(tasks)} bag(s) over {min(args.jobs, len(tasks))} worker process(es); "
                  f"their logs: {out / 'logs'}", file=sys.stderr)
        with bar:
            return evaluate_parallel(tasks, out, cfg, args.jobs, args.first_domain_id, replayer,
                                     on_done=lambda r: (bar.update(1), bar.set_postfix_str(r.name)))
    results = []
    bar = tqdm(tasks, desc="evaluating", unit="bag", disable=args.no_progress)
    for t in bar:
        bar.set_postfix_str(t.bag.name)
        results.append(evaluate_bag(t.bag, out, cfg, log=bar.write, replayer=replayer, **t.kwargs))
    return results


def run(args, replayer: Replayer | None = None) -> int:
    cfg = load_eval_config(args.config)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ConfigError(f"--methods: unknown {', '.join(unknown)}; valid: {', '.join(METHODS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(b, args.condition) for b in args.bags]
    if args.eval_set is not None:
        from .evalset import generate, load_eval_set
        jobs += generate(load_eval_set(args.eval_set), out / "bags")
    results = []
    t0 = time.time()
    if not jobs:
        if not (args.gt and args.pred):
            raise ConfigError("give BAG(s), --eval-set, or --gt and --pred MOT files")
        if len(args.gt) != len(args.pred):
            raise ConfigError("--gt and --pred must be given the same number of times")
        for g, p in zip(args.gt, args.pred):
            results.append(evaluate_mot(g, p, cfg, condition=args.condition or "external",
                                        gt_format=args.gt_format))
    else:
        _check_counts(args, len(args.bags))
        results = _evaluate_bags(args, jobs, cfg, methods, out, replayer)
    agg = aggregate(results, cfg)
    meta = {"bags": len(results), "realtime": bool(args.realtime), "methods": ", ".join(methods),
            "jobs": args.jobs, "wall_time_s": round(time.time() - t0, 1)}
    write_metrics_json(out / "metrics.json", results, agg, cfg, meta)
    report = write_report(out, results, agg, cfg, meta)
    for r in results:
        for m in r.messages:
            print(f"[tracker-eval] {r.name}: {m}", file=sys.stderr)
        for name, mr in r.methods.items():
            for m in mr.messages:
                print(f"[tracker-eval] {r.name}/{name}: {m}", file=sys.stderr)
    card = scorecard_markdown(agg, cfg)
    print(card)
    for doc in args.update_docs or []:
        if update_between_markers(doc, card):
            print(f"[tracker-eval] scorecard written into {doc}", file=sys.stderr)
        else:
            print(f"[tracker-eval] {doc}: no {SCORECARD_BEGIN} / {SCORECARD_END} markers; not changed",
                  file=sys.stderr)
    print(f"[tracker-eval] wrote {out / 'metrics.json'} and {report}", file=sys.stderr)
    return 0


def main(argv=None, replayer: Replayer | None = None) -> int:
    """The command line; ``replayer`` (tracker.eval.evaluate.Replayer) runs the node suite (without one, the
    replayed methods are skipped: the tools layer passes tracker.tools.replay.replay_bag)."""
    args = build_parser().parse_args(argv)
    try:
        return run(args, replayer)
    except (ConfigError, BagReadError, EvalDataError, MOTFormatError, ScoringError) as e:
        print(f"tracker-eval: error: {e}", file=sys.stderr)
        return 2
    except WorkerError as e:
        print(f"tracker-eval: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
