"""tracker-sim: render a multi-modal scenario into a contract bag."""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from tracker.common.config import ConfigError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tracker-sim", description=__doc__)
    p.add_argument("--preset", default="day", help="comma-separated presets applied left to right (day,night,...)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of scene (default 10)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed + args = same bag)")
    p.add_argument("-o", "--out", default=".", help="output directory (the bag is a folder inside it)")
    p.add_argument("--name", default=None, help="bag folder name (default sim_<presets>_s<seed>)")
    p.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    p.add_argument("--randomize", action="store_true", help="randomise intrinsics, extrinsics, noise, "
                   "temperatures, light, timing (training data)")
    p.add_argument("--config", default=None, help="YAML with a 'sim' section (default config/sim.yaml)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing bag of the same name")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--render-mode", choices=("processes", "serial"), default="processes",
                   help="processes: one process per camera, all cores (default); serial: one core. Same bag.")
    p.add_argument("--list-presets", action="store_true", help="describe the presets and exit")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from .presets import describe_presets
    if args.list_presets:
        print("Presets (compose with commas, e.g. --preset night,dropout):")
        print(describe_presets())
        return 0
    if args.render_mode == "processes":
        from .parallel import prestart
        prestart()  # the workers' server imports the simulator while this process does the same
    from .config import load_sim_config
    from .simulate import bag_name, simulate
    try:
        cfg = load_sim_config(args.config)
        name = args.name or bag_name(args.preset, args.seed, args.randomize)
        target = Path(args.out) / name
        if target.exists():
            if not args.overwrite:
                print(f"tracker-sim: {target} exists (use --overwrite)", file=sys.stderr)
                return 2
            shutil.rmtree(target)
        path = simulate(args.preset, args.duration, args.seed, args.randomize, args.out, args.storage,
                        config=cfg, name=name, progress=None if not args.no_progress else False,
                        render_mode=args.render_mode)
    except (ConfigError, ValueError) as e:
        print(f"tracker-sim: {e}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
