"""Fixtures shared by the tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from counterpoise import _checks


@pytest.fixture
def raises() -> Callable[..., Any]:
    """``with raises(ValueError, "name", "expected"):``: the error of the package's one
    template, "`{name}` must be {expected}, got {actual!r}", checked literally (no regular
    expression): ``expected`` may be the start of the expectation, and ``actual``, when given,
    the value received.

    >>> with raises(ValueError, "gamma", "in [0.0, inf]", -1.0):  # doctest: +SKIP
    ...     FocalLoss(gamma=-1)
    """

    def check(error: type[Exception], name: str, expected: str = "", actual: Any = ...) -> Any:
        pattern = re.escape(f"`{name}` must be {expected}")
        if actual is not ...:
            pattern += ".*" + re.escape(f", got {actual!r}") + "$"
        return pytest.raises(error, match=pattern)

    return check


@pytest.fixture
def device_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every check takes the branch it takes on an accelerator (device-side assertions, no
    value read on the host), here on the CPU, where a device-side assertion fails at once:
    what a GPU reports at its next synchronisation."""
    original = _checks.eager_checks
    for module in list(sys.modules.values()):
        if getattr(module, "eager_checks", None) is original:
            monkeypatch.setattr(module, "eager_checks", lambda *tensors: False)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site, built once per test session by ``mkdocs build --strict``."""
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python", "markdown_exec"):
        pytest.importorskip(module)
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    start = time.perf_counter()
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml", "-d", str(out)],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.perf_counter() - start
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stderr[-6000:]}"
    print(f"mkdocs build --strict: {seconds:.1f} s")
    return out
