"""What ``import counterpoise`` costs, and how much the core installs, against another checkout.

Usage::

    python benchmarks/bench_import.py --baseline PATH [--runs 15]

``PATH`` is another checkout of the project (e.g. ``git worktree add /tmp/base <commit>``). Both
are imported from their ``src`` folders in fresh processes, alternately, in the current
environment. The installed size of each checkout's required dependencies (its
``[project.dependencies]`` and everything they require in turn, without extras) is summed from the
files that the installed distributions record, with torch and its own requirements, which both
need, shown apart.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = ("sklearn", "scipy", "pyarrow", "rich", "typer", "matplotlib", "PIL")
PROBE = f"""
import sys, time
start = time.perf_counter()
import counterpoise
elapsed = time.perf_counter() - start
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({OPTIONAL!r}))
print(elapsed, len(sys.modules), ",".join(loaded) or "-")
"""


def import_time(src: Path) -> tuple[float, int, str]:
    """Seconds to import the package (torch already cached by the OS), modules, optional
    packages loaded."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    seconds, modules, loaded = out.stdout.split()
    return float(seconds), int(modules), loaded


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def closure(requirements: list[str]) -> set[str]:
    """The distributions that ``requirements`` install, without extras."""
    todo, seen = [_name(r) for r in requirements], set()
    while todo:
        name = todo.pop()
        if name in seen or name == "counterpoise":
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo.extend(_name(r) for r in requires if "extra ==" not in r)
    return seen


def installed_bytes(name: str) -> int:
    """The bytes of the files that an installed distribution records."""
    try:
        files = metadata.files(name) or []
    except metadata.PackageNotFoundError:
        return 0
    total = 0
    for f in files:
        path = Path(str(f.locate()))
        if path.is_file():
            total += path.stat().st_size
    return total


def dependencies(checkout: Path) -> list[str]:
    project = tomllib.loads((checkout / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="another checkout")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    checkouts = {"baseline": args.baseline.resolve(), "this": ROOT}
    for checkout in checkouts.values():
        import_time(checkout / "src")  # warm the file cache
    samples: dict[str, list[float]] = {k: [] for k in checkouts}
    facts: dict[str, tuple[int, str]] = {}
    for _ in range(args.runs):
        for key, checkout in checkouts.items():
            seconds, modules, loaded = import_time(checkout / "src")
            samples[key].append(seconds)
            facts[key] = (modules, loaded)
    print("| checkout | import counterpoise (median s) | / baseline | modules | optional loaded |")
    print("|---|---:|---:|---:|---|")
    base = statistics.median(samples["baseline"])
    for key in checkouts:
        median = statistics.median(samples[key])
        modules, loaded = facts[key]
        print(f"| {key} | {median:.3f} | {median / base:.2f} | {modules} | {loaded} |")
    print()
    print(
        "| checkout | required distributions | MiB beyond torch and its requirements "
        "| MiB in all | / baseline (beyond torch) |"
    )
    print("|---|---:|---:|---:|---:|")
    sizes = {}
    for key, checkout in checkouts.items():
        names = closure(dependencies(checkout))
        torch_like = closure(["torch"])  # torch and what it requires: the same for both
        rest = sum(installed_bytes(n) for n in names - torch_like)
        sizes[key] = (len(names), rest, rest + sum(installed_bytes(n) for n in torch_like))
    for key, (count, rest, total) in sizes.items():
        ratio = rest / sizes["baseline"][1]
        print(f"| {key} | {count} | {rest / 2**20:.1f} | {total / 2**20:.1f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
