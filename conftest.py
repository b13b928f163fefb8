"""Skip the doctests of the integrations whose framework is not installed."""

import importlib.util

collect_ignore = [
    f"src/counterpoise/integrations/{name}.py"
    for name in ("transformers", "lightning")
    if importlib.util.find_spec(name) is None
]
