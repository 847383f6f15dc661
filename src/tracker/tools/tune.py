"""`tracker-tune` (or `python -m tracker.tools.tune`): tracker.eval.tune's offline tuning with the node's own
config and detector, so that the replayed pipeline is the node's (docs/tracker-core.md "Tuning the tracker
offline"). tracker.eval sits below the nodes and imports neither them nor the tools; this is where they meet."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from tracker.core import TrackerConfig
from tracker.eval.config import EvalConfig
from tracker.eval.tune import (BagInputs, TuneError, bag_inputs, cache_path, parse_sets, row, score, table,
                               variants)
from tracker.nodes.config import default_config_path, node_config_from_mapping, resolve_model_path
from tracker.nodes.tracker_node import default_detector_factory


def build_parser():
    import argparse
    ap = argparse.ArgumentParser(
        prog="tracker-tune", description="Try tracker settings on labelled contract bags without a node replay per "
        "setting: the pipeline runs once per bag, then the tracker core is replayed per setting and scored like "
        "tracker-eval scores /tracker/tracks_2d (docs/tracker-core.md).")
    ap.add_argument("bags", nargs="*", help="contract bags with /ground_truth/tracks_2d")
    ap.add_argument("--bag-set", default=None, metavar="YAML",
                    help="tune on a rendered set instead (eval_set layout, e.g. config/tune_set.yaml): its bags "
                         "that are not in --bag-dir yet are rendered first")
    ap.add_argument("--bag-dir", default="build/tunebags", help="where the --bag-set bags are (default %(default)s)")
    ap.add_argument("--delete-rendered", action="store_true",
                    help="delete each bag --bag-set rendered once its pass is cached (needs --cache-dir)")
    ap.add_argument("--node-config", default=None, help="node YAML (default: config/tracker_node.yaml)")
    ap.add_argument("--model", default=None, help="model file (default: the node config's backend.model)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2",
                    help="a tracker.* or output.* setting of the node YAML and the values to try (repeatable: "
                         "every combination is tried)")
    ap.add_argument("--eval-config", default=None, help="scoring settings (default: config/eval.yaml)")
    ap.add_argument("--cache-dir", default=None, help="keep each bag's pipeline pass here and reuse it")
    ap.add_argument("--out", default=None, help="write the settings and scores as JSON here")
    return ap


def _set_inputs(args, cfg, node_yaml: Mapping, model: str, eval_cfg: EvalConfig,
                make_detector) -> list[BagInputs]:
    """The bags of ``--bag-set``, one at a time: rendered unless in --bag-dir (or cached), passed, and deleted
    again with --delete-rendered (a 10 s bag is ~0.6 GB; its cached pass ~1 MB)."""
    import shutil

    from tracker.eval.evalset import bag_name, load_eval_set, needs_render, plan, render
    if args.delete_rendered and not args.cache_dir:
        raise TuneError("--delete-rendered needs --cache-dir (the pass of a deleted bag is read from there)")
    set_cfg = load_eval_set(args.bag_set)
    jobs = plan(set_cfg, log=lambda t: print(f"tracker-tune: {t}", flush=True))
    out = []
    for k, job in enumerate(jobs, start=1):
        path = Path(args.bag_dir) / bag_name(job)
        cached = args.cache_dir and cache_path(path, node_yaml, model, args.cache_dir).is_file()
        rendered = not cached and needs_render(path)
        if rendered:
            print(f"tracker-tune: rendering {path.name} ({k}/{len(jobs)})", flush=True)
            path = render(job, set_cfg, Path(args.bag_dir))
        print(f"tracker-tune: pipeline pass {k}/{len(jobs)}: {path}", flush=True)
        out.append(bag_inputs(path, cfg, node_yaml, model, eval_cfg, make_detector, args.cache_dir))
        if rendered and args.delete_rendered:
            shutil.rmtree(path, ignore_errors=True)
    return out


def load_inputs(args):
    """(cached tracker inputs of every bag, the node's NodeConfig, the eval config, [(changes, NodeConfig) per
    --set variant]): the pipeline passes ``run`` scores, for tools that score them otherwise
    (scripts/box_ceiling.py)."""
    from tracker.common.config import load_yaml
    from tracker.eval.config import load_eval_config
    node_path = args.node_config or default_config_path()
    node_yaml = load_yaml(node_path) or {}
    cfg = node_config_from_mapping(node_yaml, source=str(node_path))
    model = str(resolve_model_path(args.model or cfg.backend.model))
    eval_cfg = load_eval_config(args.eval_config)
    tries = variants(node_yaml, parse_sets(args.set))

    def make_detector():
        return default_detector_factory(cfg, model)

    checked = [(c, node_config_from_mapping(d, source=f"{node_path} with {c}")) for c, d in tries]
    inputs = []
    for k, bag in enumerate(args.bags, start=1):
        print(f"tracker-tune: pipeline pass {k}/{len(args.bags)}: {bag}", flush=True)
        inputs.append(bag_inputs(bag, cfg, node_yaml, model, eval_cfg, make_detector, args.cache_dir))
    if args.bag_set:
        inputs += _set_inputs(args, cfg, node_yaml, model, eval_cfg, make_detector)
    if not inputs:
        raise TuneError("no bags: give BAG... or --bag-set")
    return inputs, cfg, eval_cfg, checked


def run(args) -> list[tuple[dict, dict]]:
    inputs, _, eval_cfg, checked = load_inputs(args)
    rows = []
    for changes, c in checked:
        res = score(inputs, TrackerConfig.from_mapping(c.tracker), c.processor.output, eval_cfg)
        rows.append((changes, res))
        print("tracker-tune: " + " ".join(row(changes, res)), flush=True)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    import json
    import sys
    args = build_parser().parse_args(argv)
    try:
        rows = run(args)
    except (TuneError, ValueError, OSError) as e:
        print(f"tracker-tune: {e}", file=sys.stderr)
        return 2
    print(table(rows))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps([{"changes": c, "scores": r} for c, r in rows], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
