"""Fixtures shared by the tests."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest


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
