"""The layering of metrics, plots and posthoc: which modules import which, and that none of
them needs an optional dependency to be imported."""

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "counterpoise"
METRICS = sorted((SRC / "metrics").glob("*.py"))
LAYERED = [*METRICS, SRC / "plots.py", SRC / "posthoc.py"]
OPTIONAL = ("matplotlib", "sklearn", "scipy", "rich")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path) -> list[tuple[str, ast.AST, str]]:
    """The absolute name of every module that ``path`` imports, the import node, and where:
    ``"top"`` (runs when the module is imported), ``"hints"`` (in an ``if TYPE_CHECKING:``
    block) or ``"inner"`` (inside a function or class). Its own parent packages are left out:
    importing a module imports them."""
    tree = ast.parse(path.read_text())
    own = _module_name(path)
    package = own.split(".")
    if path.name != "__init__.py":
        package = package[:-1]
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
            # `from . import x` imports the submodule x when there is one
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.extend(
            (name, node, where.get(node, "inner"))
            for name in names
            if not own.startswith(name + ".")
        )
    return found


def _counterpoise_imports(path: Path) -> set[str]:
    """The package modules that importing ``path`` imports."""
    known = {_module_name(p) for p in SRC.rglob("*.py")}
    return {name for name, _, where in _imported(path) if where == "top" and name in known}


@pytest.mark.parametrize("path", LAYERED, ids=lambda p: p.relative_to(SRC).as_posix())
def test_package_modules_are_imported_at_the_top_only(path):
    # inside a function only optional dependencies are imported (through _optional.require)
    nested = [
        f"line {node.lineno}: {name}"
        for name, node, where in _imported(path)
        if name.startswith("counterpoise") and where == "inner"
    ]
    assert not nested, f"{path.name} imports package modules inside functions: {nested}"


def test_the_imports_point_one_way():
    # posthoc -> metrics -> plots, calibration a leaf of metrics
    graph = {_module_name(p): _counterpoise_imports(p) for p in LAYERED}
    assert not any(m.startswith("counterpoise.metrics") for m in graph["counterpoise.plots"])
    for path in METRICS:
        assert "counterpoise.posthoc" not in graph[_module_name(path)], path.name
    assert graph["counterpoise.metrics.calibration"] <= {"counterpoise._checks"}
    # and there is no cycle among them
    seen: dict[str, int] = {}

    def visit(module: str, trail: tuple[str, ...]) -> None:
        assert module not in trail, f"import cycle: {' -> '.join((*trail, module))}"
        if seen.get(module):
            return
        for other in graph.get(module, ()):
            visit(other, (*trail, module))
        seen[module] = 1

    for module in graph:
        visit(module, ())


@pytest.mark.parametrize("module", ["metrics", "plots", "posthoc"])
def test_importing_needs_no_optional_dependency(module):
    # A finder records who imports an optional dependency: `import counterpoise` itself may
    # import other modules that need one, but no line of metrics, plots or posthoc may.
    code = textwrap.dedent(
        f"""
        import sys

        files = {[str(p) for p in LAYERED]!r}
        optional = {OPTIONAL!r}
        culprits = []

        class Recorder:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in optional:
                    frame = sys._getframe(1)
                    while frame is not None:
                        if frame.f_code.co_filename in files:
                            culprits.append((name, frame.f_code.co_filename, frame.f_lineno))
                        frame = frame.f_back
                return None

        sys.meta_path.insert(0, Recorder())
        import counterpoise.{module}

        loaded = [m for m in ("matplotlib", "sklearn", "rich") if m in sys.modules]
        assert not culprits, culprits
        assert not loaded, loaded
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC.parent)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
