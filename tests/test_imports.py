"""The package's import graph: no cycles (imports inside functions included), and the modules
the command line loads at start-up stay light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "coco_convert"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: anywhere in the module, functions included, but
    not under ``if TYPE_CHECKING:`` (only the type checker follows those)."""
    found: list[ast.Import | ast.ImportFrom] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports, anywhere in its body (top level and inside
    functions): every edge an import statement can follow at run time."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from . import geometry` imports a module; `from .io import x` its module
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_graph_sees_lazy_imports() -> None:
    graph = import_graph()
    # imported inside functions only: the graph must still hold these edges
    assert "coco_convert.validate.checks" in graph["coco_convert.validate.engine"]
    assert "coco_convert.converters.yolo_write" in graph["coco_convert.converters.yolo"]
    assert "coco_convert.converters.masks" in graph["coco_convert.converters.voc"]


def test_no_import_cycles() -> None:
    cycle = _cycle(import_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_a_cycle_would_be_found() -> None:
    graph = import_graph()
    graph["coco_convert.palette"] = {"coco_convert.converters.voc"}
    assert _cycle(graph) is not None


def test_the_registry_imports_no_numeric_stack() -> None:
    """Every format module is imported when the command line lists the formats; each must
    leave numpy, Pillow, pycocotools and shapely to the functions that read or write."""
    probe = (
        "import sys\n"
        "from coco_convert import registry\n"
        "from coco_convert.cli.convert import conversion_verbs\n"
        "assert registry.FORMATS and conversion_verbs()\n"
        "heavy = {'numpy', 'shapely', 'pycocotools', 'PIL', 'dask', 'distributed', 'fsspec'}\n"
        "assert not heavy & set(sys.modules), heavy & set(sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
