"""The house rules, checked on the source text of src/ with `ast` (nothing of the product is imported).

- no file under src/ over MAX_FILE_LINES lines, no function or method over MAX_FUNCTION_LINES lines (from its
  ``def`` line to the last line of its body);
- ROS (rclpy and the ROS message/launch packages) is imported only in tracker.nodes; no package below the nodes
  imports tracker.nodes or tracker.tools, and tracker.nodes imports nothing from eval, sim or tools;
- no import cycle between the packages, counting function-local (lazy) imports too: a cycle hidden in a lazy
  import is still a cycle (each edge says whether it is lazy).

Every failure lists all offenders (file:line, name, length or imported module) so that it is actionable.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PRODUCT = "tracker"
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60
#: top-level modules that need a ROS 2 installation (rclpy, generated message packages, launch)
ROS_MODULES = ("rclpy", "sensor_msgs", "vision_msgs", "tf2_msgs", "std_msgs", "builtin_interfaces",
               "diagnostic_msgs", "visualization_msgs", "tracker_msgs", "geometry_msgs", "rosidl_runtime_py",
               "message_filters")
ROS_PREFIXES = ("launch",)  # launch, launch_ros, launch_testing, ...
ROS_PACKAGE = "nodes"
#: the packages of the product, lowest first; "below the nodes" is every package but nodes and tools
PACKAGES = ("common", "core", "pipeline", "network", "backends", "data", "eval", "sim", "sim_gl", "nodes", "tools")
TOP = ("nodes", "tools")
NOT_FROM_NODES = ("eval", "sim", "sim_gl", "tools")


@dataclass(frozen=True)
class Import:
    file: str  # relative to the repository
    line: int
    module: str  # absolute dotted name of what is imported
    lazy: bool  # inside a function (imported when it runs)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}{' (lazy)' if self.lazy else ''}"


def _sources() -> list[Path]:
    return sorted(p for p in (SRC / PRODUCT).rglob("*.py") if "__pycache__" not in p.parts)


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(module: str) -> str | None:
    """The product package (tracker.<package>) a dotted module name belongs to, None outside the product."""
    parts = module.split(".")
    return parts[1] if parts[0] == PRODUCT and len(parts) > 1 else None


def _resolve(node: ast.ImportFrom, path: Path) -> list[str]:
    """Absolute names imported by a ``from ... import ...`` (relative levels resolved against ``path``)."""
    if node.level == 0:
        base = node.module or ""
    else:
        pkg = _module_name(path).split(".")
        if path.name != "__init__.py":
            pkg = pkg[:-1]
        pkg = pkg[:len(pkg) - (node.level - 1)]
        base = ".".join(pkg + ([node.module] if node.module else []))
    if node.module is None or base == PRODUCT:  # `from . import x`, `from tracker import eval`: x is a module
        return [f"{base}.{a.name}" for a in node.names]
    return [base]


def _imports(path: Path, tree: ast.AST) -> list[Import]:
    out = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                out.extend(Import(_rel(path), child.lineno, a.name, lazy) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                out.extend(Import(_rel(path), child.lineno, m, lazy) for m in _resolve(child, path))
            visit(child, inner)

    visit(tree, False)
    return out


def _parsed() -> list[tuple[Path, str, ast.AST]]:
    out = []
    for p in _sources():
        text = p.read_text()
        out.append((p, text, ast.parse(text, filename=str(p))))
    return out


PARSED = _parsed()
IMPORTS = [imp for p, _, tree in PARSED for imp in _imports(p, tree)]


def _file_package(imp: Import) -> str | None:
    return _package_of(_module_name(ROOT / imp.file))


def _fail_list(title: str, offenders: list[str]) -> str:
    return f"{title} ({len(offenders)}):\n  " + "\n  ".join(offenders)


# ------------------------------------------------------------------------------------------------- sizes
def test_no_file_over_the_line_limit():
    offenders = [f"{_rel(p)}: {n} lines" for p, text, _ in PARSED if (n := len(text.splitlines())) > MAX_FILE_LINES]
    assert not offenders, _fail_list(f"files over {MAX_FILE_LINES} lines", offenders)


def _functions(tree: ast.AST):
    """(qualified name, def line, lines from def to the end of the body) of every function and method."""
    def walk(node: ast.AST, prefix: str):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                yield name, child.lineno, child.end_lineno - child.lineno + 1
                yield from walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)
    yield from walk(tree, "")


def test_no_function_over_the_line_limit():
    offenders = [f"{_rel(p)}:{line} {name} ({n} lines)" for p, _, tree in PARSED
                 for name, line, n in _functions(tree) if n > MAX_FUNCTION_LINES]
    assert not offenders, _fail_list(f"functions over {MAX_FUNCTION_LINES} lines", offenders)


# ------------------------------------------------------------------------------------------------ layers
def _is_ros(module: str) -> bool:
    top = module.split(".")[0]
    return top in ROS_MODULES or top.startswith(ROS_PREFIXES)


def test_only_the_nodes_import_ros():
    offenders = [f"{imp.where}: {imp.module}" for imp in IMPORTS
                 if _is_ros(imp.module) and _file_package(imp) != ROS_PACKAGE]
    assert not offenders, _fail_list(f"ROS imports outside tracker.{ROS_PACKAGE}", offenders)


def test_no_package_below_the_nodes_imports_nodes_or_tools():
    offenders = [f"{imp.where}: tracker.{_file_package(imp)} imports {imp.module}" for imp in IMPORTS
                 if _file_package(imp) not in (None,) + TOP and _package_of(imp.module) in TOP]
    assert not offenders, _fail_list("imports of tracker.nodes / tracker.tools from below them", offenders)


def test_the_nodes_import_nothing_from_eval_sim_or_tools():
    offenders = [f"{imp.where}: {imp.module}" for imp in IMPORTS
                 if _file_package(imp) == ROS_PACKAGE and _package_of(imp.module) in NOT_FROM_NODES]
    assert not offenders, _fail_list(f"tracker.nodes imports of {', '.join(NOT_FROM_NODES)}", offenders)


# ------------------------------------------------------------------------------------------------ cycles
def package_graph() -> dict[str, dict[str, list[Import]]]:
    """{package: {imported package: [the imports that make the edge]}} between the product's packages."""
    graph: dict[str, dict[str, list[Import]]] = defaultdict(lambda: defaultdict(list))
    for imp in IMPORTS:
        src, dst = _file_package(imp), _package_of(imp.module)
        if src in PACKAGES and dst in PACKAGES and src != dst:
            graph[src][dst].append(imp)
    return graph


def simple_cycles(graph) -> list[list[str]]:
    """Every elementary cycle of the package graph, each starting at its first package in PACKAGES order."""
    order = {p: i for i, p in enumerate(PACKAGES)}
    out = []

    def walk(start: str, path: list[str]) -> None:
        for w in graph.get(path[-1], {}):
            if w == start:
                out.append(list(path))
            elif order[w] > order[start] and w not in path:
                walk(start, path + [w])

    for v in PACKAGES:
        walk(v, [v])
    return out


def test_simple_cycles_finds_cycles_made_of_lazy_imports():
    """The checker itself: a cycle made of one top-level and one lazy edge is found, an acyclic graph has none."""
    imp = Import("x.py", 1, "tracker.core", True)
    assert simple_cycles({"common": {"core": [imp]}, "core": {"common": [imp], "eval": [imp]},
                          "eval": {"common": [imp]}}) == [["common", "core"], ["common", "core", "eval"]]
    assert simple_cycles({"common": {"core": [imp]}, "core": {"eval": [imp]}}) == []


def test_no_import_cycle_between_packages():
    graph = package_graph()
    offenders = []
    for cyc in simple_cycles(graph):
        hops = list(zip(cyc, cyc[1:] + cyc[:1]))
        edges = [f"tracker.{a} -> tracker.{b}: " + ", ".join(f"{i.where} {i.module}" for i in graph[a][b])
                 for a, b in hops]
        offenders.append(" -> ".join(f"tracker.{p}" for p in cyc + cyc[:1]) + "\n    " + "\n    ".join(edges))
    assert not offenders, _fail_list("import cycles between packages (lazy imports included)", offenders)
