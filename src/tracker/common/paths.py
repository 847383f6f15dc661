"""Where the package's data lives: config/, models/, launch/ and msg/ of the source checkout (development), or
share/tracker of an install (colcon with or without --symlink-install, pip, a Debian package). The one locator
every default path is built from (docs/ros-install.md "Where config and model are found")."""
from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGE = "tracker"
#: the file that marks a folder holding the package's data
DATA_MARKER = Path("config") / "tracker_node.yaml"
ROOT_VARIABLE = "TRACKER_ROOT"


def _nearest_data_root(module_file: Path) -> Path | None:
    """Walking up from this module: a source checkout (setup.py beside config/) or an install prefix
    (<prefix>/share/tracker beside <prefix>/lib/pythonX.Y/site-packages); the nearest one is the code's own."""
    for p in module_file.parents:
        if (p / "setup.py").is_file() and (p / DATA_MARKER).is_file():
            return p
        if (p / "share" / PACKAGE / DATA_MARKER).is_file():
            return p / "share" / PACKAGE
    return None


def _ament_share() -> Path | None:
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:
        return None
    try:
        return Path(get_package_share_directory(PACKAGE))
    except (PackageNotFoundError, ValueError):
        return None


def data_root_candidates() -> list[tuple[str, Path | None]]:
    """[(how, folder)] in the order data_root() tries them."""
    env = os.environ.get(ROOT_VARIABLE)
    return [(ROOT_VARIABLE, Path(env) if env else None),
            ("the package's checkout or install prefix", _nearest_data_root(Path(__file__).resolve())),
            ("ament index (AMENT_PREFIX_PATH)", _ament_share()),
            ("sys.prefix", Path(sys.prefix) / "share" / PACKAGE)]


def data_root() -> Path:
    """The folder holding config/, models/, launch/ and msg/: the source checkout (development) or the installed
    share/tracker. Tried in order: $TRACKER_ROOT; walking up from this module (the nearest checkout or
    <prefix>/share/tracker: the data of the code that runs); the ament index; sys.prefix/share/tracker."""
    tried = []
    for how, folder in data_root_candidates():
        if folder is not None and (folder / DATA_MARKER).is_file():
            return folder
        tried.append(f"{how}: {folder or '(not set / not found)'}")
    raise FileNotFoundError(f"{PACKAGE}: no folder with {DATA_MARKER} (the package's data) found; tried "
                            + "; ".join(tried) + ". Install the package (colcon build / pip install) or set "
                            f"{ROOT_VARIABLE} to the repository")
