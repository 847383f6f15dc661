"""python -m tracker.sim_gl: render a world B (rasterised meshes) scene into a contract bag."""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from tracker.common.config import ConfigError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tracker.sim_gl", description=__doc__)
    p.add_argument("--preset", default="day", help="comma-separated presets applied left to right "
                   "(day, night, smoke, crowd, crossover)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of scene (default 10)")
    p.add_argument("--seed", type=int, default=0, help="scene seed (same seed + args = same bag)")
    p.add_argument("-o", "--out", default=".", help="output directory (the bag is a folder inside it)")
    p.add_argument("--name", default=None, help="bag folder name (default simgl_<presets>_s<seed>)")
    p.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    p.add_argument("--config", default=None, help="YAML with a 'sim_gl' section (overrides the defaults)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing bag of the same name")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--list-presets", action="store_true", help="describe the presets and exit")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from .config import describe_presets, load_config
    if args.list_presets:
        print(describe_presets())
        return 0
    from .gl import ContextError
    from .simulate import bag_name, simulate
    try:
        cfg = load_config(args.config)
        name = args.name or bag_name(args.preset, args.seed)
        target = Path(args.out) / name
        if target.exists():
            if not args.overwrite:
                print(f"sim_gl: {target} exists (use --overwrite)", file=sys.stderr)
                return 2
            shutil.rmtree(target)
        path = simulate(args.preset, args.duration, args.seed, args.out, args.storage, config=cfg, name=name,
                        progress=not args.no_progress)
    except (ConfigError, ValueError, ContextError) as e:
        print(f"sim_gl: {e}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
