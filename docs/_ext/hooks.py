"""MkDocs hooks: make the build's executed code blocks reproducible.

The guides' code blocks run at build time (markdown-exec). Before any page is rendered, this
puts the helpers of this folder on the import path and fixes the environment that the output
depends on: plain text from rich (no colours, whatever the terminal or CI variables say),
matplotlib's non-interactive backend, and one PyTorch thread. One thread makes the numbers
independent of the machine's core count (the order of floating-point sums depends on it) and
keeps the build fast on a busy machine, where several threads per process wait on each other.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def on_startup(**kwargs: Any) -> None:
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        os.environ.pop(name, None)
    os.environ["NO_COLOR"] = "1"
    os.environ["MPLBACKEND"] = "Agg"

    import torch

    torch.set_num_threads(1)
