"""The imports of the package's modules, read from their source (nothing is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "counterpoise"
ROOT_PACKAGE = "counterpoise"


def module_name(path: Path) -> str:
    """``src/counterpoise/losses/softmax.py`` -> ``counterpoise.losses.softmax``."""
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


#: Every module of the package by name, with its file.
MODULES: dict[str, Path] = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def imported(path: Path) -> list[tuple[str, int, str]]:
    """Every module name that ``path`` imports, with its line and where the import is:
    ``"top"`` (runs when the module is imported), ``"hints"`` (in an ``if TYPE_CHECKING:``
    block) or ``"inner"`` (inside a function or class). ``from a import b`` yields ``a`` and
    ``a.b`` (b may be a submodule); the module itself and its own parents are left out."""
    tree = ast.parse(path.read_text())
    own = module_name(path)
    package = own.split(".") if path.name == "__init__.py" else own.split(".")[:-1]
    where: dict[ast.AST, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            where.update((n, "hints") for n in ast.walk(node))
        elif isinstance(node, ast.Import | ast.ImportFrom | ast.If | ast.Try):
            where.update((n, "top") for n in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.extend(
            (name, node.lineno, where.get(node, "inner"))
            for name in names
            if name != own and not own.startswith(name + ".")
        )
    return found


def import_graph() -> dict[str, set[str]]:
    """Which package modules importing each module runs, at its top (type hints left out).

    Importing ``a.b.c`` also runs the package ``a.b``. The root package is left out: Python
    initialises it before any of its modules, and it imports every public one (the curated
    API), so an edge to it is never the first import of anything.
    """
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets: set[str] = set()
        for target, _, where in imported(path):
            if where != "top" or target not in MODULES:
                continue
            parts = target.split(".")
            targets.update(".".join(parts[:i]) for i in range(2, len(parts) + 1))
        targets.discard(name)
        targets.discard(ROOT_PACKAGE)
        graph[name] = {t for t in targets if not name.startswith(t + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a list of modules, or None."""
    done: set[str] = set()

    def visit(module: str, trail: list[str]) -> list[str] | None:
        if module in trail:
            return [*trail[trail.index(module) :], module]
        if module in done:
            return None
        for other in sorted(graph.get(module, ())):
            cycle = visit(other, [*trail, module])
            if cycle:
                return cycle
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module, [])
        if cycle:
            return cycle
    return None


def reaches(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module that importing ``start`` imports, directly or not."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for other in graph.get(todo.pop(), ()):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen
