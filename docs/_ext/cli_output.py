"""Run ``counterpoise`` commands inside the documentation build and show them as console blocks.

A command runs in-process (the package is already imported, so this costs no start-up time)
with a fixed terminal width (that of the pages' code blocks) and no colours, so that the page is plain text of a fixed width.
It runs in a temporary folder, so that ``compare`` writes its report there; the report's
``results.json`` is kept. Input files that a page generates (a small table for ``compare``) are
written into that folder first, so that the command names them by a relative path. Each distinct
command (with its files) runs once per build: pages that show the same run, or numbers from it,
share it.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from counterpoise.cli import app

#: The width of the terminal the commands run in: what a code block of the docs' theme shows
#: without a sideways scrollbar on a laptop's screen (1280 px: about 81 characters).
DOCS_COLUMNS = 80

_ENV = {"COLUMNS": str(DOCS_COLUMNS), "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}

#: The one comparison that the guides show and quote.
QUICK_COMPARE = "counterpoise compare --quick"


#: Input files of a command: their names (relative to its folder) and text.
Files = Mapping[str, str]


def _key(files: Files | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((files or {}).items()))


@functools.cache
def _run(
    command: str, files: tuple[tuple[str, str], ...] = ()
) -> tuple[str, dict[str, Any] | None]:
    words = shlex.split(command)
    if words[0] != "counterpoise":
        raise ValueError(f"`command` must start with 'counterpoise', got {command!r}")
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        for name, text in files:
            Path(folder, name).write_text(text)
        os.chdir(folder)
        try:
            result = CliRunner().invoke(app, words[1:], env=_ENV, catch_exceptions=False)
            report = Path("counterpoise-report", "results.json")
            results = json.loads(report.read_text()) if report.exists() else None
        finally:
            os.chdir(here)
    if result.exit_code != 0:
        raise RuntimeError(f"{command} exited with {result.exit_code}:\n{result.output}")
    output = "\n".join(line.rstrip() for line in result.output.rstrip().split("\n"))
    return output, results


def console(command: str, files: Files | None = None) -> str:
    """Markdown for a console block: ``$ command`` and its output (stdout and stderr).

    ``files`` maps file names to their text, written into the command's folder before it runs.
    """
    output, _ = _run(command, _key(files))
    return f"```console\n$ {command}\n{output}\n```\n"


def compare_results(command: str = QUICK_COMPARE, files: Files | None = None) -> dict[str, Any]:
    """The ``results.json`` written by a ``counterpoise compare`` command."""
    _, results = _run(command, _key(files))
    if results is None:
        raise RuntimeError(f"{command} wrote no results.json")
    return results


def compare_table(strategies: list[str], metrics: list[str], command: str = QUICK_COMPARE) -> str:
    """A text table of some strategies' test metrics (mean over seeds) from a comparison."""
    results = compare_results(command)["strategies"]
    width = max(len(s) for s in strategies)
    lines = [f"{'strategy':{width}s}  " + "  ".join(f"{m:>18s}" for m in metrics)]
    for name in strategies:
        cells = [f"{results[name][m]['mean']:18.3f}" for m in metrics]
        lines.append(f"{name:{width}s}  " + "  ".join(cells))
    return "\n".join(lines)
