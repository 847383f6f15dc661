"""`tracker-config [YAML]` (or `python -m tracker.tools.config`): every setting the tracker node runs with.

config/tracker_node.yaml states only what the node sets differently from the code defaults (the param()
defaults of each section's dataclass are the one home of every default). This prints the full effective
configuration, one line per setting with its unit, range and description; `*` marks what the YAML sets.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any, Mapping

from tracker.common.config import ConfigError, describe_values, iter_values, load_yaml
from tracker.nodes.config import default_config_path
from tracker.nodes.settings import effective_sections


def yaml_leaves(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of the values a YAML mapping sets (a non-empty mapping is expanded)."""
    out = []
    for k, v in data.items():
        path = f"{prefix}{k}"
        out += yaml_leaves(v, f"{path}.") if isinstance(v, Mapping) and v else [path]
    return out


def flat_values(sections: Mapping[str, Any]) -> dict[str, Any]:
    """{dotted path: value} of every leaf setting of ``effective_sections``."""
    out: dict[str, Any] = {}
    for name, value in sections.items():
        if isinstance(value, Mapping):
            out.update({p: v for k, sec in value.items() for p, v, _ in iter_values(sec, f"{name}.{k}.")})
            out.update({} if value else {name: {}})
        elif dataclasses.is_dataclass(value):
            out.update({p: v for p, v, _ in iter_values(value, f"{name}.")})
        else:
            out[name] = value
    return out


def describe_effective(sections: Mapping[str, Any], marked=()) -> list[str]:
    lines = []
    for name, value in sections.items():
        if isinstance(value, Mapping):  # mapping of sections (fallback_extrinsics)
            lines += [f"  {name} = {{}}"] if not value else []
            for k, v in value.items():
                lines += describe_values(v, f"{name}.{k}.", marked)
        elif dataclasses.is_dataclass(value):
            lines += describe_values(value, f"{name}.", marked)
        else:
            lines.append(f"{'*' if name in marked else ' '} {name} = {value!r}")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="tracker-config", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", nargs="?", default=None, help="node YAML (default config/tracker_node.yaml)")
    a = ap.parse_args(argv)
    path = Path(a.config) if a.config else default_config_path()
    try:
        data = load_yaml(path)
        sections = effective_sections(data, str(path))
    except ConfigError as e:
        print(f"tracker-config: {e}", file=sys.stderr)
        return 2
    print(f"# effective configuration of the tracker node from {path} (* = set in that file)")
    leaves = yaml_leaves(data)
    marked = {".".join(p.split(".")[:i]) for p in leaves for i in range(1, p.count(".") + 2)}
    print("\n".join(describe_effective(sections, marked)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
