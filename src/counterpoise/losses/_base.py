"""What every loss module shares: float32 buffers that follow the device, and the reduction.

Each module holds its configuration and its tensors (class weights, priors, counts, costs) as
registered float32 buffers, so ``.to(device)`` moves them and ``state_dict`` saves them. They
keep float32 through every dtype conversion of the module (``.half()``, ``.bfloat16()``,
``.double()``, ``.to(dtype)``, also of a model that holds the loss): half precision would
overflow counts above 65504 and round weights, and the losses compute in float32 (float64 for
float64 inputs) whatever the buffers' dtype. Neither does autocast change them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .._checks import (
    VectorLike,
    check_choice,
    check_nonnegative,
    check_state_tensor,
    class_vector,
    eager_checks,
    fail,
)
from ..reduction import REDUCTIONS, Reduction
from ..weights import class_weights

Denominator = float | torch.Tensor | None


def buffer(name: str, value: VectorLike | None, *, positive: bool = False) -> torch.Tensor | None:
    """A checked per-class vector as a float32 tensor for ``register_buffer``."""
    if value is None:
        return None
    checked = class_vector(name, value, positive=positive)
    kept = checked.to(torch.float32)
    if eager_checks(kept) and not bool(torch.isfinite(kept).all()):
        big = checked.abs().max().item()
        fail(name, f"at most {torch.finfo(torch.float32).max:.4g} (kept in float32)", big)
    return kept


def counts_of(counts: Any) -> Any:
    """The per-class counts of a counts object (anything with ``.counts``), or ``counts``."""
    return getattr(counts, "counts", counts)


def weights_from_counts(counts: Any, scheme: str, options: dict[str, Any]) -> torch.Tensor | None:
    """Class weights by :func:`counterpoise.weights.class_weights`, or None for ``"none"``."""
    if scheme == "none":
        if options:
            fail("scheme", 'a weighting scheme when its options are given, not "none"', options)
        return None
    return class_weights(counts, scheme, **options)  # type: ignore[arg-type]


#: Buffers that must be positive (they enter a logarithm or a division), not merely >= 0.
_POSITIVE = frozenset({"priors", "counts"})


class FloatBuffers(nn.Module):
    """A module whose buffers follow its device but keep their dtype (float32).

    Its buffers (class weights, alphas, priors, counts, costs) are checked when they enter:
    when the module is built, and again when a state dict is loaded into it, before anything
    is copied, so that a checkpoint with a NaN or a negative weight, or of a loss with another
    number of classes, is refused at loading, naming the buffer, and leaves the module as it was.
    """

    def _load_from_state_dict(self, state_dict: Any, prefix: str, *args: Any) -> None:
        for name, current in self._buffers.items():
            if current is not None and prefix + name in state_dict:
                _check_loaded_buffer(prefix + name, state_dict[prefix + name], current)
        super()._load_from_state_dict(state_dict, prefix, *args)

    def _apply(self, fn: Callable[[torch.Tensor], torch.Tensor], recurse: bool = True) -> Any:
        # Every conversion of a module (.to, .cuda, .half, .double, ...) goes through _apply;
        # a converted buffer whose dtype changed is replaced by the original on the new device.
        before = dict(self._buffers)
        super()._apply(fn, recurse)
        for name, old in before.items():
            new = self._buffers[name]
            if old is not None and new is not None and new.dtype != old.dtype:
                self._buffers[name] = old.to(device=new.device)
        return self


class LossModule(FloatBuffers):
    def __init__(self, reduction: Reduction) -> None:
        super().__init__()
        check_choice("reduction", reduction, REDUCTIONS)
        self.reduction: Reduction = reduction


def _check_loaded_buffer(key: str, value: Any, current: torch.Tensor) -> None:
    """A buffer of a state dict before ``load_state_dict`` copies it: as
    :func:`~counterpoise._checks.check_state_tensor` checks it, and non-negative (positive for
    priors and counts)."""
    check_state_tensor(key, value, current)
    if value.is_floating_point():
        check_nonnegative(key, value)
        if key.rpartition(".")[2] in _POSITIVE:
            class_vector(key, value, positive=True)
