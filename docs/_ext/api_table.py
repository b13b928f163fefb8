"""The table of the top-level names of ``counterpoise`` for the reference's index page."""

from __future__ import annotations

import importlib
import inspect
import re
from types import ModuleType

import counterpoise


def documented_path(name: str) -> str:
    """The path under which the reference documents the top-level name ``name``.

    Functions and classes live in the module that defines them; a module is its own path; any
    other value (a constant) in the submodule whose ``__all__`` lists it, or in the package.
    """
    value = getattr(counterpoise, name)
    if isinstance(value, ModuleType):
        return value.__name__
    if inspect.isfunction(value) or inspect.isclass(value):
        return f"{value.__module__}.{value.__name__}"
    for module_name in sorted(_submodules()):
        module = importlib.import_module(module_name)
        if name in getattr(module, "__all__", ()) and getattr(module, name) is value:
            return f"{module_name}.{name}"
    return f"counterpoise.{name}"


def _submodules() -> set[str]:
    return {
        f"counterpoise.{name}"
        for name, value in vars(counterpoise).items()
        if isinstance(value, ModuleType) and value.__name__ == f"counterpoise.{name}"
    }


def summary(value: object) -> str:
    """The first paragraph of a docstring, or the value of a constant."""
    if isinstance(value, ModuleType):
        doc = value.__doc__
    elif inspect.isfunction(value) or inspect.isclass(value):
        doc = inspect.getdoc(value)
    else:  # a constant: its value
        text = repr(value)
        return "`" + (text if len(text) <= 60 else text[:57] + "...") + "`"
    if not doc:
        return ""
    first = doc.strip().split("\n\n")[0].replace("\n", " ")
    first = re.sub(r":math:`([^`]+)`", r"\\(\1\\)", first)
    first = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", first)
    return first.replace("``", "`").replace("|", "\\|")


def table() -> str:
    """A Markdown table: every name of ``counterpoise.__all__``, linked to its documentation."""
    rows = ["| name | documented as | summary |", "|---|---|---|"]
    for name in sorted(counterpoise.__all__, key=str.lower):
        path = documented_path(name)
        rows.append(
            f"| `cp.{name}` | [`{path}`][{path}] | {summary(getattr(counterpoise, name))} |"
        )
    return "\n".join(rows) + "\n"
