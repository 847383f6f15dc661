"""Check that the console scripts a distribution declares (its installed entry_points metadata, i.e. what
setup.py's entry_points produced) exist in a bin directory. Used by scripts/setup.sh before it says "ready".

    python scripts/check_console_scripts.py DIST BIN_DIR

Exit 0 when every declared script is in BIN_DIR; 1 naming the missing ones (or when DIST is not installed).
"""
from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path


def declared_scripts(dist: str) -> list[str]:
    """Names of the console_scripts entry points of the installed distribution ``dist``."""
    return sorted(ep.name for ep in metadata.distribution(dist).entry_points if ep.group == "console_scripts")


def missing_scripts(dist: str, bin_dir: str | Path) -> list[str]:
    bin_dir = Path(bin_dir)
    return [name for name in declared_scripts(dist) if not (bin_dir / name).is_file()]


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    dist, bin_dir = args
    try:
        declared = declared_scripts(dist)
        missing = missing_scripts(dist, bin_dir)
    except metadata.PackageNotFoundError:
        print(f"{dist} is not installed in {sys.prefix}", file=sys.stderr)
        return 1
    if not declared:
        print(f"{dist} declares no console scripts (entry_points metadata missing?)", file=sys.stderr)
        return 1
    if missing:
        print(f"console scripts of {dist} missing from {bin_dir}: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
