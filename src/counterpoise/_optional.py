"""Optional dependencies: imported when a feature needs them, with an error naming the extra.

The core (counts, weights, losses, reduction, samplers, distributed helpers) needs only torch
and NumPy. Everything else is an extra of the package::

    io            pyarrow, Pillow        CSV/TSV/Parquet tables, image masks
    plots         matplotlib             figures
    metrics       scikit-learn           the imbalance and multilabel reports, digits-lt
    segmentation  SciPy, Pillow          pixel weight maps
    cli           typer, rich, and the above but segmentation
    ray           Ray                    comparisons run as Ray tasks, across a cluster
    all           everything a user may want (what README's first command installs)

>>> require("math", extra="plots").sqrt(4.0)
2.0
>>> require("no_such_module_xyz", extra="plots")
Traceback (most recent call last):
...
ModuleNotFoundError: no_such_module_xyz is needed here and is not installed: pip install 'counterpoise[plots]'
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: The extras of the package, each with the distributions it installs.
EXTRAS: dict[str, tuple[str, ...]] = {
    "io": ("pyarrow", "pillow"),
    "plots": ("matplotlib",),
    "metrics": ("scikit-learn",),
    "segmentation": ("scipy", "pillow"),
    "cli": ("typer", "rich"),
    "ray": ("ray",),
}


def require(module: str, *, extra: str) -> ModuleType:
    """Import ``module``; when it is missing, raise an error that names the extra to install."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        top = module.split(".")[0]
        if error.name is not None and error.name.split(".")[0] != top:
            raise  # a dependency of the module itself is broken: show the real error
        raise ModuleNotFoundError(
            f"{top} is needed here and is not installed: pip install 'counterpoise[{extra}]'",
            name=top,
        ) from error
