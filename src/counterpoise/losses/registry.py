"""Every loss by name: its function, its module, how to build it from counts, and what its mean
divides by.

This registry is the one place that says these things. ``counterpoise compare`` builds its
strategies' losses from it, the Hugging Face integration builds :class:`TrainerLoss` losses and
their accumulated denominators from it, and :func:`counterpoise.distributed.ddp_denominator`
computes a loss module's global denominator from it; a loss registered here works in all of
them.

What ``reduction="mean"`` divides by (the *normaliser*) is one of:

* ``"class_weight"``: class-index targets; every element whose target is not the loss's
  ``ignore_index`` counts with its target's entry of the loss's per-class vector named by
  :attr:`LossEntry.weight` (1 where the loss has none) times its sample weight. Probability
  targets (cross-entropy) count one per row times its sample weight.
* ``"element"``: binary or multilabel targets; every element whose target is known (not the
  loss's ``ignore_value``) counts with its sample weight.
* ``"positives"``: anchor targets; the number of positive anchors (RetinaNet's normaliser,
  of the anchor focal loss's default ``reduction="positives"``).

Example:
    >>> import torch
    >>> entry = LOSSES["focal"]
    >>> loss_fn = entry.build(torch.tensor([90, 9, 1]), scheme="inverse", normalize="classes")
    >>> type(loss_fn).__name__, entry.weight
    ('FocalLoss', 'alpha')
    >>> target = torch.tensor([0, 2, 2, -100])
    >>> entry.denominator(loss_fn, target)
    tensor(5.3762, dtype=torch.float64)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

import torch
from torch import nn

from .._checks import check_choice, describe_tensor, fail
from .detection import AnchorFocalLoss, anchor_focal_loss
from .sigmoid import (
    AsymmetricLoss,
    DistributionBalancedLoss,
    SigmoidFocalLoss,
    WeightedBCEWithLogitsLoss,
    asymmetric_loss,
    binary_cross_entropy_with_logits,
    distribution_balanced_loss,
    sigmoid_focal_loss,
)
from .softmax import (
    BalancedSoftmaxLoss,
    CostSensitiveLoss,
    FocalLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    WeightedCrossEntropyLoss,
    balanced_softmax_loss,
    cost_sensitive_loss,
    cross_entropy,
    focal_loss,
    ldam_loss,
    logit_adjusted_loss,
)

__all__ = [
    "LOSSES",
    "NORMALISERS",
    "TASKS",
    "LossEntry",
    "Normaliser",
    "Task",
    "entry_of",
    "find_entry",
    "register",
]

#: The targets a loss takes: class indices, 0/1 (or soft) labels, or anchor class indices.
Task = Literal["multiclass", "multilabel", "detection"]
TASKS: tuple[str, ...] = get_args(Task)
#: What a loss's ``reduction="mean"`` divides by (see the module's description).
Normaliser = Literal["class_weight", "element", "positives"]
NORMALISERS: tuple[str, ...] = get_args(Normaliser)


@dataclass(frozen=True)
class LossEntry:
    """One registered loss.

    Attributes:
        name: The loss's name, e.g. ``"focal"``.
        module: Its :class:`torch.nn.Module` class.
        function: Its pure function.
        task: ``"multiclass"``, ``"multilabel"`` or ``"detection"``: the targets it takes.
        normaliser: What its mean divides by: ``"class_weight"``, ``"element"`` or
            ``"positives"``.
        weight: For ``"class_weight"``: the name of the module's per-class vector that weighs
            each target in the mean (``"weight"``, or ``"alpha"`` for the focal loss), or None
            when every target counts once (the cost-sensitive loss).
        builder: Builds the module from training counts and options; None for the module's
            ``from_counts``, or, for a loss without one (that does not depend on the counts),
            its constructor with the options alone.
    """

    name: str
    module: type[nn.Module]
    function: Callable[..., torch.Tensor]
    task: Task
    normaliser: Normaliser
    weight: str | None = None
    builder: Callable[..., nn.Module] | None = None

    def __post_init__(self) -> None:
        check_choice("task", self.task, TASKS)
        check_choice("normaliser", self.normaliser, NORMALISERS)
        if self.weight is not None and self.normaliser != "class_weight":
            fail("weight", 'None unless the normaliser is "class_weight"', self.weight)

    def build(self, counts: Any, **options: Any) -> nn.Module:
        """The loss module from training counts (a vector, or an object with ``counts`` and
        ``num_samples`` such as :class:`~counterpoise.counts.LabelCounts`) and its options
        (``scheme`` and the loss's keyword arguments, as its ``from_counts`` takes them)."""
        if self.builder is not None:
            return self.builder(counts, **options)
        from_counts = getattr(self.module, "from_counts", None)
        if from_counts is None:
            return self.module(**options)
        module: nn.Module = from_counts(counts, **options)
        return module

    def denominator(
        self,
        loss: nn.Module,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
        num_classes: int | None = None,
    ) -> torch.Tensor:
        """What ``loss`` (a module of this entry) divides the sum of a batch by for its mean.

        Args:
            loss: The loss module, whose ``ignore_index`` / ``ignore_value`` and per-class
                vector decide what counts.
            target: The batch's targets, as the loss takes them.
            sample_weight: Per-element weights of the target's shape, or None.
            num_classes: C, needed only for the ``"positives"`` normaliser of a loss whose
                background is C (its default).

        Returns:
            A scalar tensor on the target's device, without gradient, in float64 on the CPU
            and float32 on accelerators (some have no float64): the summed
            weights of the elements that count. Summed over micro-batches or ranks and passed
            as the loss's ``denominator``, it makes their losses add up to the global mean.
        """
        if self.normaliser == "positives":
            return positives_denominator(
                target,
                ignore_index=getattr(loss, "ignore_index", -100),
                background=getattr(loss, "background", None),
                num_classes=num_classes,
            )
        if self.normaliser == "element":
            return element_denominator(
                target, getattr(loss, "ignore_value", None), sample_weight=sample_weight
            )
        vector = None if self.weight is None else getattr(loss, self.weight)
        return class_denominator(
            target,
            vector if isinstance(vector, torch.Tensor) else None,
            ignore_index=getattr(loss, "ignore_index", -100),
            sample_weight=sample_weight,
        )


def sum_dtype(t: torch.Tensor) -> torch.dtype:
    """What denominators are summed in: float64 on the CPU (large batches add up exactly),
    float32 on accelerators (Apple's MPS has no float64; float32 counts exactly to 2**24)."""
    return torch.float64 if t.device.type == "cpu" else torch.float32


def class_denominator(
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    ignore_index: int = -100,
    sample_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """The ``"class_weight"`` normaliser: the summed weights ``w[y] * sample_weight`` of the
    elements whose class-index target is not ``ignore_index``; for probability targets, one
    per row times its sample weight. On the target's device, in :func:`sum_dtype`."""
    dtype = sum_dtype(target)
    with torch.no_grad():
        if target.is_floating_point():
            if sample_weight is not None:
                return sample_weight.detach().to(dtype).sum()
            rows = target[..., 0].numel() if target.ndim > 1 else target.numel()
            return target.new_full((), float(rows), dtype=dtype)
        _check_sample_weight(sample_weight, target)
        counted = target != ignore_index
        local = counted.to(dtype)
        if weight is not None:
            index = torch.where(counted, target, torch.zeros_like(target))
            local = local * weight.detach().to(device=target.device, dtype=dtype)[index]
        if sample_weight is not None:
            local = local * sample_weight.detach().to(dtype)
        return local.sum()


def _check_sample_weight(sample_weight: torch.Tensor | None, target: torch.Tensor) -> None:
    if sample_weight is not None and sample_weight.shape != target.shape:
        fail(
            "sample_weight",
            f"a tensor of the target's shape {tuple(target.shape)}",
            describe_tensor(sample_weight),
        )


def element_denominator(
    target: torch.Tensor,
    ignore_value: float | None = None,
    *,
    sample_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """The ``"element"`` normaliser: the summed sample weights (1 each without) of the
    elements whose target is known, i.e. not ``ignore_value`` (NaN matches NaN). On the
    target's device, in :func:`sum_dtype`."""
    dtype = sum_dtype(target)
    with torch.no_grad():
        known = None
        if ignore_value is not None and target.is_floating_point():
            known = ~(torch.isnan(target) if math.isnan(ignore_value) else target == ignore_value)
        elif ignore_value is not None:
            known = target != ignore_value
        if sample_weight is not None:
            _check_sample_weight(sample_weight, target)
            local = sample_weight.detach().to(dtype)
            return (local if known is None else torch.where(known, local, 0.0)).sum()
        if known is None:
            return target.new_full((), float(target.numel()), dtype=dtype)
        return known.sum().to(dtype)


def positives_denominator(
    target: torch.Tensor,
    *,
    ignore_index: int = -100,
    background: int | None = None,
    num_classes: int | None = None,
) -> torch.Tensor:
    """The ``"positives"`` normaliser: the number of positive anchors, whose targets are
    classes in [0, C) (neither ``background``, C when None, nor ``ignore_index``). On the
    target's device, in :func:`sum_dtype`."""
    if background is None and num_classes is None:
        fail("num_classes", "C when the loss's background is None (it is then C)", None)
    with torch.no_grad():
        positive = (target >= 0) & (target != ignore_index)
        if background is not None:
            positive &= target != background
        if num_classes is not None:
            positive &= target < num_classes
        return positive.sum().to(sum_dtype(target))


#: Every registered loss by name, in registration order.
LOSSES: dict[str, LossEntry] = {}


def register(entry: LossEntry) -> LossEntry:
    """Add a loss to :data:`LOSSES` (names and module classes are unique)."""
    if not isinstance(entry, LossEntry):
        fail("entry", "a LossEntry", type(entry).__name__, error=TypeError)
    if entry.name in LOSSES:
        fail("entry.name", "a name not registered yet", entry.name)
    if any(e.module is entry.module for e in LOSSES.values()):
        fail("entry.module", "a module class not registered yet", entry.module.__name__)
    LOSSES[entry.name] = entry
    return entry


def find_entry(loss: Any) -> LossEntry | None:
    """The registry entry of a loss module (or module class), by its class or nearest base;
    None for anything else."""
    cls = loss if isinstance(loss, type) else type(loss)
    by_module = {e.module: e for e in LOSSES.values()}
    return next((by_module[base] for base in cls.__mro__ if base in by_module), None)


def entry_of(loss: nn.Module | type[nn.Module]) -> LossEntry:
    """The registry entry of a loss module (or module class), by its class or nearest base."""
    entry = find_entry(loss)
    if entry is None:
        known = ", ".join(e.module.__name__ for e in LOSSES.values())
        cls = loss if isinstance(loss, type) else type(loss)
        fail("loss", f"a registered loss module ({known})", cls.__name__, error=TypeError)
    return entry


for _entry in (
    LossEntry(
        "cross_entropy",
        WeightedCrossEntropyLoss,
        cross_entropy,
        "multiclass",
        "class_weight",
        "weight",
    ),
    LossEntry("focal", FocalLoss, focal_loss, "multiclass", "class_weight", "alpha"),
    LossEntry(
        "logit_adjusted",
        LogitAdjustedLoss,
        logit_adjusted_loss,
        "multiclass",
        "class_weight",
        "weight",
    ),
    LossEntry(
        "balanced_softmax",
        BalancedSoftmaxLoss,
        balanced_softmax_loss,
        "multiclass",
        "class_weight",
        "weight",
    ),
    LossEntry("ldam", LDAMLoss, ldam_loss, "multiclass", "class_weight", "weight"),
    LossEntry(
        "cost_sensitive", CostSensitiveLoss, cost_sensitive_loss, "multiclass", "class_weight"
    ),
    LossEntry(
        "bce",
        WeightedBCEWithLogitsLoss,
        binary_cross_entropy_with_logits,
        "multilabel",
        "element",
    ),
    LossEntry("sigmoid_focal", SigmoidFocalLoss, sigmoid_focal_loss, "multilabel", "element"),
    LossEntry("asymmetric", AsymmetricLoss, asymmetric_loss, "multilabel", "element"),
    LossEntry(
        "distribution_balanced",
        DistributionBalancedLoss,
        distribution_balanced_loss,
        "multilabel",
        "element",
    ),
    LossEntry("anchor_focal", AnchorFocalLoss, anchor_focal_loss, "detection", "positives"),
):
    register(_entry)
