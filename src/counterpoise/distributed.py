"""Helpers for ``torch.distributed`` that do nothing without a process group.

Statistics such as class counts must often be summed over every rank of a data-parallel job
before they are used (each rank sees only its shard of the data). These helpers wrap the few
collectives the package needs so that the same code runs unchanged in a single process: when
``torch.distributed`` is unavailable or no process group is initialised, the world has one
rank (rank 0) and every reduction returns its input.

Tensors are moved to the device the backend communicates on (the current CUDA device for
``nccl``, the CPU otherwise) and the result is returned on the input's device. The reductions
run on the default process group and must be called by every rank, in the same order.
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import (
    check_ignore_index,
    check_ignore_value,
    class_vector,
    describe_tensor,
    device_assert,
    eager_checks,
    fail,
)
from ._collectives import all_reduce_max, all_reduce_sum, get_rank, get_world_size, is_initialized
from .losses.registry import class_denominator, element_denominator, entry_of

__all__ = [
    "all_reduce_max",
    "all_reduce_sum",
    "ddp_denominator",
    "get_rank",
    "get_world_size",
    "is_initialized",
]


def ddp_denominator(
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    loss: nn.Module | None = None,
    ignore_index: int | None = None,
    sample_weight: torch.Tensor | None = None,
    ignore_value: float | None = None,
    num_classes: int | None = None,
) -> torch.Tensor:
    """The ``denominator`` that makes a weighted-mean loss exact under DistributedDataParallel.

    A weighted mean computed on each rank, :math:`\\sum_{i \\in r} w_i l_i / \\sum_{i \\in r} w_i`,
    and then averaged over ranks is not the weighted mean of the global batch when the ranks
    hold different class mixes. Passing this function's result as the ``denominator`` of any
    loss of :mod:`counterpoise.functional` makes each rank's loss

    .. math::

        L_r = \\frac{R \\sum_{i \\in r} w_i l_i}{\\sum_{i} w_i}, \\qquad
        \\frac{1}{R} \\sum_r \\nabla L_r = \\nabla \\frac{\\sum_i w_i l_i}{\\sum_i w_i},

    so that DDP's averaging of the gradients over the :math:`R` ranks yields exactly the
    gradient of the global weighted mean (and the mean of the :math:`L_r` is its value).

    Given a loss module (``loss``), what its mean divides by comes from its entry in
    :mod:`counterpoise.losses.registry`: its own class weights, ``ignore_index`` and
    ``ignore_value`` (unannotated labels do not count). Without one, the weight of an element
    is its class weight (``weight``) times its sample weight, 0 where the target is
    ``ignore_index``; for floating (binary or multilabel) targets every element counts with its
    sample weight, as in :func:`counterpoise.functional.binary_cross_entropy_with_logits`.
    Every rank must call it, in the same order as its other collectives. Without a process
    group it is the local sum of the weights.

    Args:
        target: class indices (N,) or (N, d1, ...), or floating binary targets.
        weight: class weights (C,) of the loss (its ``weight`` or ``alpha``), or None; not
            with ``loss``.
        loss: the loss module whose denominator this is, or None.
        ignore_index: the target value that does not count (class-index targets); default
            -100; not with ``loss`` (its own counts).
        sample_weight: per-element weights of the target's shape, or None.
        ignore_value: for binary or multilabel targets, the value of labels that were not
            annotated (-1, or NaN), which do not count; not with ``loss`` (its own counts).
        num_classes: C, for the anchor focal loss with its default background (C).

    Returns:
        A scalar tensor on the target's device, without gradient: float64 on the CPU (so that
        large batches add up exactly), float32 on accelerators (some have no float64).

    Raises:
        ValueError: ``weight`` or ``ignore_index`` together with ``loss``, ``num_classes``
            without it; ``weight`` with floating targets; a ``weight`` that is not a finite,
            non-negative vector; class indices outside ``[0, len(weight))`` (or negative,
            without ``weight``) other than ``ignore_index``; a ``sample_weight`` of another
            shape than the target.
        TypeError: a ``target`` that is not a tensor, a non-integer ``ignore_index``, a
            ``loss`` that is not registered.

    Example:
        >>> from counterpoise.functional import cross_entropy
        >>> logits, target = torch.randn(4, 3), torch.tensor([0, 2, 2, -100])
        >>> w = torch.tensor([1.0, 2.0, 4.0])
        >>> d = ddp_denominator(target, w)
        >>> d
        tensor(9., dtype=torch.float64)
        >>> torch.allclose(cross_entropy(logits, target, w, denominator=d), cross_entropy(logits, target, w))
        True
        >>> from counterpoise import FocalLoss
        >>> ddp_denominator(target, loss=FocalLoss(w))
        tensor(9., dtype=torch.float64)
    """
    if not isinstance(target, torch.Tensor) or target.is_complex():
        actual = (
            describe_tensor(target) if isinstance(target, torch.Tensor) else type(target).__name__
        )
        fail("target", "a tensor of class indices or of binary targets", actual, error=TypeError)
    if loss is None and num_classes is not None:
        fail("num_classes", "None unless `loss` is given (its default background)", num_classes)
    if loss is not None:
        if weight is not None:
            fail("weight", "None when `loss` is given (its own class weights count)", "a tensor")
        if ignore_index is not None:
            fail("ignore_index", "None when `loss` is given (its own counts)", ignore_index)
        if ignore_value is not None:
            fail("ignore_value", "None when `loss` is given (its own counts)", ignore_value)
        local = entry_of(loss).denominator(
            loss, target, sample_weight=sample_weight, num_classes=num_classes
        )
    elif target.is_floating_point() or target.dtype == torch.bool:
        if weight is not None:
            fail(
                "weight",
                "None for binary targets, whose elements count with their sample weight "
                "(pass `loss` for probability targets)",
                "a class weight",
            )
        ignore = check_ignore_value(ignore_value)
        local = element_denominator(target, ignore, sample_weight=sample_weight)
    else:
        ignore = check_ignore_index(-100 if ignore_index is None else ignore_index)
        checked = None if weight is None else class_vector("weight", weight)
        _check_class_targets(target, ignore, None if checked is None else len(checked))
        local = class_denominator(target, checked, ignore_index=ignore, sample_weight=sample_weight)
    return all_reduce_sum(local) / get_world_size()


def _check_class_targets(target: torch.Tensor, ignore_index: int, num_classes: int | None) -> None:
    """Class indices in ``[0, num_classes)`` (``>= 0`` without it), or ``ignore_index``."""
    top = "" if num_classes is None else f", {num_classes}"
    expected = f"class indices in [0{top or ', inf'}) or ignore_index={ignore_index}"
    index = target.long()
    bad = (index != ignore_index) & (
        (index < 0) | (index >= num_classes if num_classes is not None else False)
    )
    if not eager_checks(target):
        device_assert(~bad, "target", expected)
    elif bool(bad.any()):
        first = tuple(int(i) for i in bad.nonzero()[0])
        fail("target", expected, f"{target[first].item()} at index {first}")
