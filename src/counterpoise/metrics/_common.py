"""Helpers shared by the multiclass and multilabel metrics."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._checks import fail


def _as_numpy(name: str, x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype in (torch.float16, torch.bfloat16):
            x = x.float()
        return x.numpy()
    try:
        return np.asarray(x)
    except Exception:
        fail(name, "an array-like", type(x).__name__, error=TypeError)
