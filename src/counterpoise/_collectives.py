"""The few ``torch.distributed`` collectives the package needs, as no-ops without a process
group. They live below everything else (counts, samplers and metrics sum over ranks with them);
:mod:`counterpoise.distributed` offers them to users, with what they do in one process.
"""

from __future__ import annotations

import numbers
from typing import overload

import torch
import torch.distributed as dist

from ._checks import fail

__all__ = [
    "all_reduce_max",
    "all_reduce_sum",
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
    if not isinstance(tensor, torch.Tensor):
        fail("tensor", "a tensor", type(tensor).__name__, error=TypeError)
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
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        fail("value", "an integer or a tensor", value, error=TypeError)
    return int(all_reduce_max(torch.tensor([int(value)], dtype=torch.int64)).item())
