"""``tracker-adapt``: adapt a model to unlabelled bags by self-training on tracker-vouched pseudo labels.

    tracker-adapt 'mine/*' --init models/embedded.pt --out build/adapt/mine                   # images only
    tracker-adapt 'B/*' --init A.pt --labelled 'A/*' --val 'B_val/*' --rounds 3 --out RUN    # mix + stop rule
    tracker-adapt --resume RUN                                                               # continue

Every error a user can cause is one line ``tracker-adapt: ...`` on stderr and exit status 2 (docs/adaptation.md).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

from tracker.common.config import ConfigError, load_yaml

from .config import load_adapt_config
from .rounds import RUN_FILE, Plan, run_adaptation

log = logging.getLogger("tracker.adapt")
PROG = "tracker-adapt"
#: options that define a run: not accepted with --resume
RUN_OPTIONS = ("bags", "init", "labelled", "val", "rounds", "steps_per_round", "config", "network_config")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[2:]))
    ap.add_argument("bags", nargs="*", metavar="BAG", help="unlabelled bags (folders / globs): images only are read")
    ap.add_argument("--init", metavar="MODEL.pt", help="the model to adapt (a .pt training checkpoint)")
    ap.add_argument("--out", metavar="RUN", help="run directory")
    ap.add_argument("--labelled", nargs="+", action="extend", metavar="BAG", help="bags with ground truth mixed "
                    "into every round (e.g. simulator bags), rounds.labelled_share of the clips")
    ap.add_argument("--val", nargs="+", action="extend", metavar="BAG", help="held-out bags with ground truth: the "
                    "stop rule's person AP and the tracking metrics")
    ap.add_argument("--rounds", type=int, default=None, help="rounds.rounds")
    ap.add_argument("--steps-per-round", type=int, default=None, help="rounds.steps_per_round")
    ap.add_argument("--config", default=None, help="adapt config (default: config/adapt.yaml when present)")
    ap.add_argument("--network-config", default=None, help="training, augmentation and cache settings "
                    "(default config/network.yaml)")
    ap.add_argument("--resume", metavar="RUN", default=None, help="continue the run in RUN (completed rounds kept)")
    return ap


def _sources(patterns, what: str, ground_truth: bool) -> list:
    from tracker.network.sources import BagSource, resolve_bags
    out = [BagSource(s.path, s.condition, ground_truth) for s in resolve_bags(patterns or [])]
    if not ground_truth:
        return out
    from tracker.network.sources import check_bag
    for s in out:
        check_bag(s.path)  # DataError naming the bag when it has no ground truth
    return out


def _check_init(path: str) -> None:
    from tracker.network.checkpoint import init_weights
    init_weights(path)  # ConfigError: missing, ONNX, not a checkpoint


def build_plan(a, argv_text: str) -> Plan:
    if not a.bags:
        raise ConfigError("give the unlabelled bags (BAG...) or --resume RUN")
    if not a.init or not a.out:
        raise ConfigError("--init MODEL.pt and --out RUN are required")
    if (Path(a.out) / RUN_FILE).is_file():
        raise ConfigError(f"{a.out} already holds a run: continue it with --resume {a.out} or choose another --out")
    _check_init(a.init)
    path = a.config or ("config/adapt.yaml" if Path("config/adapt.yaml").is_file() else None)
    cfg = load_adapt_config(path)
    over = {k: v for k, v in (("rounds", a.rounds), ("steps_per_round", a.steps_per_round)) if v is not None}
    if over:
        from tracker.common.config import from_mapping
        cfg = replace(cfg, rounds=from_mapping(type(cfg.rounds), over, where="rounds", base=cfg.rounds))
    network = load_yaml(a.network_config or "config/network.yaml")
    return Plan(_sources(a.bags, "BAG", False), _sources(a.labelled, "--labelled", True),
                _sources(a.val, "--val", True), str(a.init), Path(a.out), cfg, network, f"{PROG} {argv_text}")


def _plan(a, argv_text: str) -> Plan:
    if not a.resume:
        return build_plan(a, argv_text)
    given = [k for k in RUN_OPTIONS if getattr(a, k) not in (None, False, [])] + (["out"] if a.out else [])
    if given:
        raise ConfigError(f"--resume continues the run as it was set up: drop {', '.join(given)}")
    f = Path(a.resume) / RUN_FILE
    if not f.is_file():
        raise ConfigError(f"--resume {a.resume}: no {RUN_FILE} there")
    return Plan.from_json(json.loads(f.read_text()), Path(a.resume))


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(message)s")
    argv_text = " ".join(argv if argv is not None else sys.argv[1:])
    from tracker.network.sources import DataError
    try:
        plan = _plan(a, argv_text)
        report = run_adaptation(plan)
    except (ConfigError, DataError, FileNotFoundError) as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    best = report["summary"][report["best_round"]]
    log.info("best: round %d (val person AP %s); model %s; report %s", report["best_round"], best["val_person_ap"],
             report["model"]["onnx"], plan.out / "report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
