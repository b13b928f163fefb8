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

from typing import overload

import torch
import torch.distributed as dist
from torch import nn

from ._checks import fail
from .losses.registry import class_denominator, element_denominator, entry_of

__all__ = [
    "all_reduce_max",
    "all_reduce_sum",
    "ddp_denominator",
    "get_rank",
    "get_world_size",
    "is_initialized",
]


def is_initialized() -> bool:
    """Whether a default process group is available and initialised.

    Example:
        >>> is_initialized()
        False
    """
    return dist.is_available() and dist.is_initialized()


def get_world_size() -> int:
    """The number of ranks in the default process group, 1 without one.

    Example:
        >>> get_world_size()
        1
    """
    return dist.get_world_size() if is_initialized() else 1


def get_rank() -> int:
    """This process's rank in the default process group, 0 without one.

    Example:
        >>> get_rank()
        0
    """
    return dist.get_rank() if is_initialized() else 0


def _communication_device() -> torch.device:
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """The element-wise sum of ``tensor`` over all ranks.

    .. math::

        \\mathrm{out} = \\sum_{r=0}^{R-1} \\mathrm{tensor}^{(r)}

    Every rank must pass a tensor of the same shape and dtype.

    Args:
        tensor: any shape and dtype supported by the backend. It is not modified.

    Returns:
        A new tensor with the sum, on the device and with the dtype of ``tensor``; a copy of
        ``tensor`` without a process group.

    Example:
        >>> all_reduce_sum(torch.tensor([3, 1, 2]))
        tensor([3, 1, 2])
    """
    if not is_initialized():
        return tensor.clone()
    out = tensor.to(_communication_device(), copy=True)
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out.to(tensor.device)


@overload
def all_reduce_max(value: int) -> int: ...


@overload
def all_reduce_max(value: torch.Tensor) -> torch.Tensor: ...


def all_reduce_max(value: int | torch.Tensor) -> int | torch.Tensor:
    """The largest of the integers (the element-wise maximum of the tensors) that the ranks pass.

    Several maxima can travel in one collective as the entries of one tensor.

    Args:
        value: this rank's integer, or a tensor of the same shape and dtype on every rank (it is
            not modified).

    Returns:
        The maximum over all ranks, an ``int`` for an integer and a new tensor on the device of
        ``value`` for a tensor; ``value`` itself (a copy of the tensor) without a process group.

    Example:
        >>> all_reduce_max(7)
        7
        >>> all_reduce_max(torch.tensor([3, -1]))
        tensor([ 3, -1])
    """
    if isinstance(value, torch.Tensor):
        if not is_initialized():
            return value.clone()
        out = value.to(_communication_device(), copy=True)
        dist.all_reduce(out, op=dist.ReduceOp.MAX)
        return out.to(value.device)
    return int(all_reduce_max(torch.tensor([int(value)], dtype=torch.int64)).item())


def ddp_denominator(
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    loss: nn.Module | None = None,
    ignore_index: int | None = None,
    sample_weight: torch.Tensor | None = None,
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
        num_classes: C, for the anchor focal loss with its default background (C).

    Returns:
        A float64 scalar tensor (summed in float64, so that large batches add up exactly) on
        the target's device, without gradient.

    Raises:
        ValueError: ``weight`` or ``ignore_index`` together with ``loss``; a ``sample_weight``
            of another shape than the binary target.
        TypeError: a ``loss`` that is not registered.

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
    if loss is not None:
        if weight is not None:
            fail("weight", "None when `loss` is given (its own class weights count)", "a tensor")
        if ignore_index is not None:
            fail("ignore_index", "None when `loss` is given (its own counts)", ignore_index)
        local = entry_of(loss).denominator(
            loss, target, sample_weight=sample_weight, num_classes=num_classes
        )
    elif target.is_floating_point():
        local = element_denominator(target, sample_weight=sample_weight)
    else:
        local = class_denominator(
            target,
            weight,
            ignore_index=-100 if ignore_index is None else ignore_index,
            sample_weight=sample_weight,
        )
    return all_reduce_sum(local) / get_world_size()
