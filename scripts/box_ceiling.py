"""What better boxes would be worth (tracker.eval.ceiling): the node's pipeline pass of each bag, as tracker-tune
runs and caches it, scored as it is and with its detections' boxes corrected towards the matching ground truth
(centre, size, both, both and no false positives). Takes tracker-tune's arguments (bags, --bag-set, --model,
--node-config, --cache-dir ...), and --min-iou for the match.

    python scripts/box_ceiling.py --bag-set config/tune_set.yaml --bag-dir build/tunebags --cache-dir build/tune_cache
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from tracker.core import TrackerConfig
from tracker.eval.ceiling import MODES, corrected
from tracker.eval.tune import score
from tracker.tools.tune import build_parser, load_inputs


def main(argv=None) -> int:
    ap = build_parser()
    ap.add_argument("--min-iou", type=float, default=0.3,
                    help="a detection is corrected towards the GT box it overlaps at least this much (default 0.3)")
    args = ap.parse_args(argv)
    inputs, cfg, eval_cfg, _ = load_inputs(args)
    tracker_cfg = TrackerConfig.from_mapping(cfg.tracker)
    rows = {}
    for mode in ("as detected", *MODES):
        bags = inputs if mode == "as detected" else \
            [corrected(b, mode, eval_cfg, tracker_cfg.class_names, args.min_iou) for b in inputs]
        res = score(bags, tracker_cfg, cfg.processor.output, eval_cfg)
        rows[mode] = res
        c, w = res["combined"], res["worlds"]
        per_world = " ".join(f"{k} person {v['person']['HOTA']}" for k, v in w.items() if "person" in v)
        print(f"box_ceiling: {mode:12s} HOTA all {c['all']['HOTA']} person {c['person']['HOTA']} "
              f"(DetA {c['person']['DetA']}, AssA {c['person']['AssA']}) | {per_world}", flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
