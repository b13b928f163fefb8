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
    when the module is built, and again when a state dict is loaded into it: before anything is
    copied, each loaded tensor's shape and values (:func:`~counterpoise._checks.
    check_state_tensor`: a loss with another number of classes, a NaN), and after the copy the
    buffer's own rules (:meth:`check_buffers`), so that a checkpoint with a NaN or a negative
    weight is refused at loading, naming the buffer, and the module keeps the values it held.
    Its ``forward`` does not check them again (on an accelerator, a device-side assertion per
    buffer and call): per call only what comes with the call (logits, targets, sample weights,
    a denominator) and the lengths of the buffers against the logits' classes. A buffer written
    in place (``module.weight[0] = -1``) bypasses the checks; assign through
    ``load_state_dict`` or a new module.
    """

    def __init__(self) -> None:
        super().__init__()
        self._held: dict[str, torch.Tensor] = {}
        self.register_load_state_dict_pre_hook(_hold_buffers)
        self.register_load_state_dict_post_hook(_check_loaded_buffers)

    def _load_from_state_dict(self, state_dict: Any, prefix: str, *args: Any) -> None:
        for name, current in self._buffers.items():
            if current is not None and prefix + name in state_dict:
                check_state_tensor(prefix + name, state_dict[prefix + name], current)
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

    def check_buffers(self) -> None:
        """Check the values of the module's own buffers as its constructor checks them:
        finite and non-negative, positive for priors and counts. Modules whose buffers
        have other rules (costs may be negative, alphas at most 1) extend it."""
        for name, value in self.named_buffers(recurse=False):
            if value is not None and value.is_floating_point():
                check_nonnegative(name, value)
                if name in _POSITIVE:
                    class_vector(name, value, positive=True)


class LossModule(FloatBuffers):
    def __init__(self, reduction: Reduction) -> None:
        super().__init__()
        check_choice("reduction", reduction, REDUCTIONS)
        self.reduction: Reduction = reduction


def _hold_buffers(module: FloatBuffers, *args: Any) -> None:
    """Before ``load_state_dict``: a copy of the module's own buffers, to restore should the
    loaded values be refused (they are per-class vectors and matrices: small)."""
    del args
    module._held = {
        name: value.clone()
        for name, value in module.named_buffers(recurse=False)
        if value is not None
    }


def _check_loaded_buffers(module: FloatBuffers, incompatible: Any) -> None:
    """After ``load_state_dict``: the loaded buffers checked as the constructor checks them;
    refused, the values held before are restored."""
    del incompatible  # missing or unexpected keys are load_state_dict's own errors
    held, module._held = module._held, {}
    try:
        module.check_buffers()
    except Exception:
        with torch.no_grad():
            for name, value in held.items():
                module._buffers[name].copy_(value)  # type: ignore[union-attr]
        raise
