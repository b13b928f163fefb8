"""The one reduction step shared by every loss.

A loss computes its unreduced value, one number per element; :func:`reduce` turns it into what
the caller asked for. Keeping this in one place means that every loss handles ignored elements,
weighted means and externally supplied denominators (gradient accumulation, data parallelism) the
same way, and fails the same way on a bad ``reduction``.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch

from ._checks import (
    check_choice,
    check_nonnegative,
    check_number,
    describe_tensor,
    device_assert,
    eager_checks,
    fail,
)

__all__ = ["REDUCTIONS", "Reduction", "reduce"]

Reduction = Literal["none", "mean", "sum"]
#: The valid values of every ``reduction`` argument.
REDUCTIONS: tuple[str, ...] = get_args(Reduction)


def reduce(
    loss: torch.Tensor,
    reduction: Reduction,
    *,
    weight: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Reduce an unreduced, already weighted loss to ``"none"``, ``"sum"`` or ``"mean"``.

    With per-element losses :math:`\ell_i` (which already carry every weight), normalising
    weights :math:`v_i` and the mask :math:`m_i \in \{0, 1\}` of elements that count,

    .. math::

        \text{sum} = \sum_i m_i \ell_i, \qquad
        \text{mean} = \frac{\sum_i m_i \ell_i}{D}, \qquad
        D = \sum_i m_i v_i \ \text{ unless } ``denominator`` \text{ is given.}

    This is PyTorch's weighted mean: with class weights :math:`w` and targets :math:`y_i`, pass
    :math:`v_i = w_{y_i}` and the result equals ``F.cross_entropy(..., weight=w)``. Without
    ``weight`` every element counts once, so :math:`D` is the number of unmasked elements.

    Two rules differ from a plain division:

    * :math:`D = 0` (every element masked, or zero total weight) gives 0 with a zero gradient,
      where PyTorch gives NaN.
    * ``denominator`` replaces :math:`D` by a number computed elsewhere: the summed weights (or
      element count) of all micro-batches of an accumulation step, or of all ranks, as
      Hugging Face's ``num_items_in_batch``. The means of the micro-batches then add up to the
      mean of the whole batch.

    Args:
        loss: Unreduced loss, any shape, floating point.
        reduction: ``"none"`` returns ``loss`` with masked elements set to 0; ``"sum"`` and
            ``"mean"`` return a scalar.
        weight: Normalising weight of each element, the shape of ``loss``, non-negative. It
            only enters the denominator of ``"mean"``: multiply it into ``loss`` yourself.
            Default: every element has weight 1.
        mask: Boolean, the shape of ``loss``; ``False`` marks ignored elements, which
            contribute neither loss nor weight nor gradient. Default: nothing is ignored.
        denominator: Only with ``reduction="mean"``: the non-negative number to divide by
            instead of the summed weights, a Python number or a one-element tensor.

    Returns:
        A tensor of the shape of ``loss`` for ``"none"``, otherwise a scalar; the dtype of
        ``loss``.

    Raises:
        ValueError: Unknown ``reduction``; ``weight`` or ``mask`` of another shape than
            ``loss``; a negative or non-finite ``weight`` or ``denominator``; ``denominator``
            without ``reduction="mean"``.
        TypeError: A ``loss`` that is not a floating tensor, a ``weight`` or ``mask`` that is
            not a tensor, a ``mask`` that is not boolean, or a ``denominator`` that is not a
            number.

    Example:
        >>> import torch
        >>> loss = torch.tensor([1.0, 2.0, 4.0])
        >>> reduce(loss, "mean", weight=torch.tensor([1.0, 1.0, 2.0]))
        tensor(1.7500)
        >>> reduce(loss, "mean", mask=torch.tensor([True, False, True]))
        tensor(2.5000)
        >>> reduce(loss, "mean", mask=torch.zeros(3, dtype=torch.bool))
        tensor(0.)
        >>> reduce(loss, "mean", denominator=10)
        tensor(0.7000)
    """
    if not isinstance(loss, torch.Tensor) or not loss.is_floating_point():
        actual = describe_tensor(loss) if isinstance(loss, torch.Tensor) else type(loss).__name__
        fail("loss", "a floating-point tensor", actual, error=TypeError)
    for name, t in (("weight", weight), ("mask", mask)):
        if t is not None and not isinstance(t, torch.Tensor):
            fail(name, "a tensor or None", type(t).__name__, error=TypeError)
    if weight is not None:
        if weight.dtype == torch.bool or weight.is_complex():
            fail("weight", "real numbers", describe_tensor(weight), error=TypeError)
        check_nonnegative("weight", weight)
    return _reduce(loss, reduction, weight=weight, mask=mask, denominator=denominator)


def _reduce(
    loss: torch.Tensor,
    reduction: Reduction,
    *,
    weight: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    """:func:`reduce` of arguments that the losses have checked."""
    check_choice("reduction", reduction, REDUCTIONS)
    for name, t in (("weight", weight), ("mask", mask)):
        if t is not None and t.shape != loss.shape:
            fail(name, f"a tensor of shape {tuple(loss.shape)}", describe_tensor(t))
    if mask is not None:
        if mask.dtype != torch.bool:
            fail("mask", "a boolean tensor", describe_tensor(mask), error=TypeError)
        # `where`, not multiplication: a masked element contributes 0 and receives a zero
        # gradient even where its loss is not finite.
        loss = torch.where(mask, loss, loss.new_zeros(()))
    if denominator is not None and reduction != "mean":
        fail("denominator", 'None unless reduction="mean"', denominator)
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    return _divide(total, _denominator(loss, weight, mask, denominator))


def _denominator(
    loss: torch.Tensor,
    weight: torch.Tensor | None,
    mask: torch.Tensor | None,
    denominator: float | torch.Tensor | None,
) -> torch.Tensor:
    """The number the mean divides by, as a tensor on the device of ``loss``."""
    if denominator is not None:
        return denominator_tensor(denominator, loss)
    if weight is None:
        if mask is None:  # a fill on the device, not a copy from the host
            return loss.new_full((), float(loss.numel()))
        return mask.sum().to(loss.dtype)
    weight = weight.to(loss.dtype)
    if mask is not None:
        weight = torch.where(mask, weight, weight.new_zeros(()))
    return weight.sum()


def denominator_tensor(denominator: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A given ``denominator`` (a non-negative number or one-element tensor) as a scalar tensor
    of the dtype and device of ``like``. A tensor stays a tensor: off the CPU and under
    :func:`torch.compile` it is neither read (no synchronisation) nor turned into a constant
    (no recompilation per value), and its range is asserted on the device."""
    if isinstance(denominator, torch.Tensor) and not eager_checks(denominator):
        if denominator.numel() != 1 or denominator.dtype == torch.bool or denominator.is_complex():
            fail("denominator", "a one-element real tensor", describe_tensor(denominator))
        d = denominator.reshape(()).to(device=like.device, dtype=like.dtype)
        device_assert(torch.isfinite(d) & (d >= 0), "denominator", "finite and >= 0")
        return d
    value = check_number("denominator", denominator, low=0.0)
    return like.new_full((), value)  # a fill on the device, not a copy from the host


def _divide(total: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """``total / denominator``, and 0 with a zero gradient where the denominator is 0."""
    positive = denominator > 0
    # Both branches are made safe, so that neither the value nor the gradient sees 0 / 0.
    numerator = torch.where(positive, total, total.new_zeros(()))
    return numerator / torch.where(positive, denominator, denominator.new_ones(()))


def reduce_elements(
    loss: torch.Tensor,
    reduction: Reduction,
    weight: torch.Tensor | None,
    mask: torch.Tensor | None,
    sample_weight: torch.Tensor | None,
    denominator: float | torch.Tensor | None,
    dtype: torch.dtype,
) -> torch.Tensor:
    """Apply ``sample_weight`` to the loss and its normaliser, reduce, return in ``dtype``."""
    if sample_weight is not None:
        if not isinstance(sample_weight, torch.Tensor):
            fail("sample_weight", "a tensor", type(sample_weight).__name__, error=TypeError)
        if sample_weight.shape != loss.shape:
            fail(
                "sample_weight",
                f"a tensor of shape {tuple(loss.shape)}",
                describe_tensor(sample_weight),
            )
        check_nonnegative("sample_weight", sample_weight)
        s = sample_weight.to(loss.dtype)
        loss = loss * s
        weight = s if weight is None else weight * s
    return _reduce(loss, reduction, weight=weight, mask=mask, denominator=denominator).to(dtype)
