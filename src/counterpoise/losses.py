"""The losses as :class:`torch.nn.Module` s.

Each module holds its configuration and its tensors (class weights, priors, counts, costs) as
registered float32 buffers, so ``.to(device)`` moves them and ``state_dict`` saves them. They
keep float32 through every dtype conversion of the module (``.half()``, ``.bfloat16()``,
``.double()``, ``.to(dtype)``, also of a model that holds the loss): half precision would
overflow counts above 65504 and round weights, and the losses compute in float32 (float64 for
float64 inputs) whatever the buffers' dtype. Neither does autocast change them. ``forward`` is
one call of the function of the same name in :mod:`counterpoise.functional`, whose docstring
gives the formula. Arguments are checked when the module is built; tensors when it is called.

``forward(input, target, *, sample_weight=None, denominator=None)`` takes the per-element
weights and the externally computed denominator of a weighted mean (gradient accumulation,
data parallelism) as call arguments, as they change from batch to batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from . import functional as cf
from ._checks import check_choice, check_number
from .functional import VectorLike, _anchor_alpha, _class_vector, _ignore_value
from .reduction import REDUCTIONS, Reduction

__all__ = [
    "AnchorFocalLoss",
    "AsymmetricLoss",
    "BalancedSoftmaxLoss",
    "CostSensitiveLoss",
    "DistributionBalancedLoss",
    "FocalLoss",
    "LDAMLoss",
    "LogitAdjustedLoss",
    "SigmoidFocalLoss",
    "WeightedBCEWithLogitsLoss",
    "WeightedCrossEntropyLoss",
]

Denominator = float | torch.Tensor | None


def _buffer(name: str, value: VectorLike | None, *, positive: bool = False) -> torch.Tensor | None:
    """A checked per-class vector as a float32 tensor for ``register_buffer``."""
    if value is None:
        return None
    return _class_vector(name, value, positive=positive).to(torch.float32)


def _counts_of(counts: Any) -> Any:
    """The per-class counts of a counts object (anything with ``.counts``), or ``counts``."""
    return getattr(counts, "counts", counts)


def _weights_from_counts(counts: Any, scheme: str, options: dict[str, Any]) -> torch.Tensor:
    # Imported here: the weighting schemes are optional for using the losses.
    from .weights import class_weights

    return class_weights(counts, scheme, **options)  # type: ignore[arg-type]


class _Buffers(nn.Module):
    """A module whose buffers follow its device but keep their dtype (float32)."""

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


class _Loss(_Buffers):
    def __init__(self, reduction: Reduction) -> None:
        super().__init__()
        check_choice("reduction", reduction, REDUCTIONS)
        self.reduction: Reduction = reduction


class WeightedCrossEntropyLoss(_Loss):
    """Class-weighted cross-entropy: :func:`counterpoise.functional.cross_entropy` as a module.

    Args:
        weight: (C,) non-negative class weights, or None.
        ignore_index: Target value that is ignored. Default -100.
        label_smoothing: In [0, 1]. Default 0.
        reduction: ``"none"``, ``"mean"`` (default, weighted by the targets' class weights) or
            ``"sum"``.

    Example:
        >>> import torch
        >>> loss_fn = WeightedCrossEntropyLoss.from_counts([90, 9, 1])
        >>> loss_fn.weight
        tensor([ 0.3704,  3.7037, 33.3333])
        >>> x = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]], requires_grad=True)
        >>> loss_fn(x, torch.tensor([0, 2])).backward()
    """

    weight: torch.Tensor | None

    def __init__(
        self,
        weight: VectorLike | None = None,
        *,
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", _buffer("weight", weight))
        self.ignore_index = ignore_index
        self.label_smoothing = check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)

    @classmethod
    def from_counts(
        cls,
        counts: Any,
        scheme: str = "balanced",
        *,
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
        **scheme_options: Any,
    ) -> WeightedCrossEntropyLoss:
        """Weights from class counts by :func:`counterpoise.weights.class_weights`
        (``scheme`` and its options, e.g. ``beta`` for ``"effective"``)."""
        weight = _weights_from_counts(counts, scheme, scheme_options)
        return cls(
            weight, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction
        )

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
        denominator: Denominator = None,
    ) -> torch.Tensor:
        return cf.cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
        )


class FocalLoss(_Loss):
    """Softmax focal loss with per-class alpha: :func:`counterpoise.functional.focal_loss`.

    Alpha acts as a class weight, also in the normaliser of the mean, so ``gamma=0`` gives
    weighted cross-entropy exactly.

    Args:
        alpha: (C,) non-negative class weights, or None.
        gamma: Focusing parameter >= 0. Default 2.
        ignore_index: Target value that is ignored. Default -100.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.

    Example:
        >>> import torch
        >>> loss_fn = FocalLoss.from_counts([900, 90, 10], scheme="effective", beta=0.999)
        >>> x = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]], requires_grad=True)
        >>> loss_fn(x, torch.tensor([0, 2])).backward()
    """

    alpha: torch.Tensor | None

    def __init__(
        self,
        alpha: VectorLike | None = None,
        *,
        gamma: float = 2.0,
        ignore_index: int = -100,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(reduction)
        self.register_buffer("alpha", _buffer("alpha", alpha))
        self.gamma = check_number("gamma", gamma, low=0.0)
        self.ignore_index = ignore_index

    @classmethod
    def from_counts(
        cls,
        counts: Any,
        scheme: str = "balanced",
        *,
        gamma: float = 2.0,
        ignore_index: int = -100,
        reduction: Reduction = "mean",
        **scheme_options: Any,
    ) -> FocalLoss:
        """Alpha from class counts by :func:`counterpoise.weights.class_weights`."""
        alpha = _weights_from_counts(counts, scheme, scheme_options)
        return cls(alpha, gamma=gamma, ignore_index=ignore_index, reduction=reduction)

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
        denominator: Denominator = None,
    ) -> torch.Tensor:
        return cf.focal_loss(
            input,
            target,
            gamma=self.gamma,
            alpha=self.alpha,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
        )


class LogitAdjustedLoss(_Loss):
    """Logit-adjusted cross-entropy: :func:`counterpoise.functional.logit_adjusted_loss`.

    Args:
        priors: (C,) positive class priors (or counts: only ratios matter).
        tau: Temperature >= 0. Default 1.
        weight: (C,) non-negative class weights, or None.
        label_smoothing: Label smoothing in [0, 1] on the adjusted logits. Default 0.
        ignore_index: Target value that is ignored. Default -100.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.

    Example:
        >>> import torch
        >>> loss_fn = LogitAdjustedLoss.from_counts([700, 200, 100])
        >>> loss_fn.priors
        tensor([0.7000, 0.2000, 0.1000])
        >>> x = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]], requires_grad=True)
        >>> loss_fn(x, torch.tensor([0, 2]))
        tensor(1.5565, grad_fn=<DivBackward0>)
    """

    priors: torch.Tensor
    weight: torch.Tensor | None

    def __init__(
        self,
        priors: VectorLike,
        *,
        tau: float = 1.0,
        weight: VectorLike | None = None,
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(reduction)
        self.register_buffer("priors", _buffer("priors", priors, positive=True))
        self.register_buffer("weight", _buffer("weight", weight))
        self.tau = check_number("tau", tau, low=0.0)
        self.label_smoothing = check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)
        self.ignore_index = ignore_index

    @classmethod
    def from_counts(
        cls,
        counts: Any,
        *,
        tau: float = 1.0,
        weight: VectorLike | None = None,
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
        reduction: Reduction = "mean",
    ) -> LogitAdjustedLoss:
        """Priors from training counts per class: :math:`\\pi_c = n_c / \\sum_j n_j`."""
        n = _class_vector("counts", _counts_of(counts), positive=True)
        return cls(
            n / n.sum(),
            tau=tau,
            weight=weight,
            label_smoothing=label_smoothing,
            ignore_index=ignore_index,
            reduction=reduction,
        )

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
        denominator: Denominator = None,
    ) -> torch.Tensor:
        return cf.logit_adjusted_loss(
            input,
            target,
            self.priors,
            tau=self.tau,
            weight=self.weight,
            label_smoothing=self.label_smoothing,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
        )


class BalancedSoftmaxLoss(_Loss):
    """Balanced softmax: :func:`counterpoise.functional.balanced_softmax_loss`.

    Args:
        counts: (C,) positive training counts per class.
        weight: (C,) non-negative class weights, or None.
        label_smoothing: Label smoothing in [0, 1] on the adjusted logits. Default 0.
        ignore_index: Target value that is ignored. Default -100.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.

    Example:
        >>> import torch
        >>> loss_fn = BalancedSoftmaxLoss([700, 200, 100])
        >>> x = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]], requires_grad=True)
        >>> loss_fn(x, torch.tensor([0, 2]))
        tensor(1.5565, grad_fn=<DivBackward0>)
    """

    counts: torch.Tensor
    weight: torch.Tensor | None

    def __init__(
        self,
        counts: VectorLike,
        *,
        weight: VectorLike | None = None,
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(reduction)
        self.register_buffer("counts", _buffer("counts", counts, positive=True))
        self.register_buffer("weight", _buffer("weight", weight))
        self.label_smoothing = check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)
        self.ignore_index = ignore_index

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
        denominator: Denominator = None,
    ) -> torch.Tensor:
        return cf.balanced_softmax_loss(
            input,
            target,
            self.counts,
            weight=self.weight,
            label_smoothing=self.label_smoothing,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
        )


class LDAMLoss(_Loss):
    """LDAM loss: :func:`counterpoise.functional.ldam_loss`.

    Args:
        counts: (C,) positive training counts per class; margins follow
            :func:`counterpoise.functional.ldam_margins`.
        max_margin: Margin of the rarest class, > 0. Default 0.5.
        scale: Logit scale > 0. Default 30.
        weight: (C,) non-negative class weights, or None (set it late in training for DRW).
        label_smoothing: Label smoothing in [0, 1] on the adjusted logits. Default 0.
        ignore_index: Target value that is ignored. Default -100.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.

    Example:
        >>> import torch
        >>> loss_fn = LDAMLoss.from_counts([10000, 625, 16], scheme="effective", beta=0.9999)
        >>> loss_fn.weight
        tensor([  0.4658,   4.8593, 184.1515])
        >>> x = torch.tensor([[0.9, 0.1, -0.3], [0.2, 0.4, 0.1]], requires_grad=True)
        >>> loss_fn(x, torch.tensor([0, 2])).backward()
    """

    counts: torch.Tensor
    weight: torch.Tensor | None

    def __init__(
        self,
        counts: VectorLike,
        *,
        max_margin: float = 0.5,
        scale: float = 30.0,
        weight: VectorLike | None = None,
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(reduction)
        self.register_buffer("counts", _buffer("counts", counts, positive=True))
        self.register_buffer("weight", _buffer("weight", weight))
        self.max_margin = check_number("max_margin", max_margin, low=0.0, low_open=True)
        self.scale = check_number("scale", scale, low=0.0, low_open=True)
        self.label_smoothing = check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)
        self.ignore_index = ignore_index

    @classmethod
    def from_counts(
        cls,
        counts: Any,
        scheme: str = "none",
        *,
        max_margin: float = 0.5,
        scale: float = 30.0,
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
        reduction: Reduction = "mean",
        **scheme_options: Any,
    ) -> LDAMLoss:
        """Margins from the counts, and class weights from them by
        :func:`counterpoise.weights.class_weights` unless ``scheme="none"`` (the default)."""
        n = _counts_of(counts)
        weight = None if scheme == "none" else _weights_from_counts(counts, scheme, scheme_options)
        return cls(
            n,
            max_margin=max_margin,
            scale=scale,
            weight=weight,
            label_smoothing=label_smoothing,
            ignore_index=ignore_index,
            reduction=reduction,
        )

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
        denominator: Denominator = None,
    ) -> torch.Tensor:
        return cf.ldam_loss(
            input,
            target,
            self.counts,
            max_margin=self.max_margin,
            scale=self.scale,
            weight=self.weight,
            label_smoothing=self.label_smoothing,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
        )


class CostSensitiveLoss(_Loss):
    """Expected misclassification cost: :func:`counterpoise.functional.cost_sensitive_loss`.

    Args:
        cost: (C, C) cost matrix (row: true class) or (C,) cost of missing each class; kept
            as the matrix (see :func:`counterpoise.functional.cost_matrix`).
        cross_entropy_weight: Coefficient >= 0 of the added cross-entropy. Default 0.
        ignore_index: Target value that is ignored. Default -100.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.

    Example:
        >>> import torch
        >>> loss_fn = CostSensitiveLoss([1.0, 1.0, 5.0], cross_entropy_weight=0.1)
        >>> x = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]], requires_grad=True)
        >>> loss_fn(x, torch.tensor([0, 2])).backward()
    """

    cost: torch.Tensor

    def __init__(
        self,
        cost: VectorLike,
        *,
        cross_entropy_weight: float = 0.0,
        ignore_index: int = -100,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(reduction)
        self.register_buffer("cost", cf.cost_matrix(cost).to(torch.float32))
        self.cross_entropy_weight = check_number(
            "cross_entropy_weight", cross_entropy_weight, low=0.0
        )
        self.ignore_index = ignore_index

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
        denominator: Denominator = None,
    ) -> torch.Tensor:
        return cf.cost_sensitive_loss(
            input,
            target,
            self.cost,
            cross_entropy_weight=self.cross_entropy_weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
        )


class WeightedBCEWithLogitsLoss(_Loss):
    """BCE on logits with per-label positive and negative weights.

    :func:`counterpoise.functional.binary_cross_entropy_with_logits` as a module.

    Args:
        pos_weight: Weight of the positives, length L or 1, or None.
        neg_weight: Weight of the negatives, length L or 1, or None.
        ignore_value: Target value of unknown labels (outside [0, 1], or NaN), or None.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.

    Example:
        >>> import torch
        >>> targets = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
        >>> loss_fn = WeightedBCEWithLogitsLoss.from_counts(targets)
        >>> loss_fn.pos_weight
        tensor([3., 1.])
        >>> loss_fn(torch.zeros(4, 2, requires_grad=True), targets).backward()
    """

    pos_weight: torch.Tensor | None
    neg_weight: torch.Tensor | None

    def __init__(
        self,
        pos_weight: VectorLike | None = None,
        neg_weight: VectorLike | None = None,
        *,
        ignore_value: float | None = None,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(reduction)
        self.register_buffer("pos_weight", _buffer("pos_weight", pos_weight))
        self.register_buffer("neg_weight", _buffer("neg_weight", neg_weight))
        self.ignore_value = _ignore_value(ignore_value)

    @classmethod
    def from_counts(
        cls,
        targets_or_counts: Any,
        num_samples: int | None = None,
        *,
        ignore_value: float | None = None,
        reduction: Reduction = "mean",
    ) -> WeightedBCEWithLogitsLoss:
        """``pos_weight`` = negatives / positives per label, by
        :func:`counterpoise.weights.pos_weight` (targets, or positives with ``num_samples``)."""
        from .weights import pos_weight

        return cls(
            pos_weight(targets_or_counts, num_samples),
            ignore_value=ignore_value,
            reduction=reduction,
        )

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
        denominator: Denominator = None,
    ) -> torch.Tensor:
        return cf.binary_cross_entropy_with_logits(
            input,
            target,
            pos_weight=self.pos_weight,
            neg_weight=self.neg_weight,
            ignore_value=self.ignore_value,
            sample_weight=sample_weight,
            reduction=self.reduction,
            denominator=denominator,
        )


class SigmoidFocalLoss(_Loss):
    """Sigmoid focal loss (detection form): :func:`counterpoise.functional.sigmoid_focal_loss`.

    Args:
        alpha: Weight of the positives in [0, 1] (negatives: 1 - alpha): a number, a per-label
            vector (kept as a buffer), or None. Default 0.25.
        gamma: Focusing parameter >= 0. Default 2.
        weight: Non-negative weight of each label (length L or 1), or None.
        ignore_value: Target value of unknown labels (outside [0, 1], or NaN), or None.
        reduction: ``"none"`` (default), ``"mean"`` or ``"sum"``.

    Example:
        >>> import torch
        >>> loss_fn = SigmoidFocalLoss(reduction="sum")
        >>> x = torch.tensor([[3.0, -1.0], [0.5, -4.0]], requires_grad=True)
        >>> loss_fn(x, torch.tensor([[1.0, 0.0], [1.0, 1.0]])).backward()
        >>> loss_fn = SigmoidFocalLoss.from_counts([10, 500], num_samples=1000, reduction="mean")
        >>> loss_fn.alpha
        tensor([0.9900, 0.5000])
    """

    alpha: torch.Tensor | float | None
    weight: torch.Tensor | None

    def __init__(
        self,
        *,
        alpha: float | VectorLike | None = 0.25,
        gamma: float = 2.0,
        weight: VectorLike | None = None,
        ignore_value: float | None = None,
        reduction: Reduction = "none",
    ) -> None:
        super().__init__(reduction)
        if isinstance(alpha, torch.Tensor) and alpha.ndim == 0:
            alpha = check_number("alpha", alpha, low=0.0, high=1.0)
        checked = _anchor_alpha(alpha)
        if isinstance(checked, torch.Tensor):
            self.register_buffer("alpha", checked.to(torch.float32))
        else:
            self.alpha = checked
        self.gamma = check_number("gamma", gamma, low=0.0)
        self.register_buffer("weight", _buffer("weight", weight))
        self.ignore_value = _ignore_value(ignore_value)

    @classmethod
    def from_counts(
        cls,
        counts: Any,
        num_samples: int | None = None,
        scheme: str = "balanced",
        *,
        gamma: float = 2.0,
        weight: VectorLike | None = None,
        ignore_value: float | None = None,
        reduction: Reduction = "none",
        **scheme_options: Any,
    ) -> SigmoidFocalLoss:
        """Per-label alpha from the positives per label (and the number of samples) by
        :func:`counterpoise.functional.label_alpha`: ``scheme="effective"`` with ``beta``
        damps it with effective numbers of samples."""
        alpha = cf.label_alpha(counts, num_samples, scheme, **scheme_options)
        return cls(
            alpha=alpha,
            gamma=gamma,
            weight=weight,
            ignore_value=ignore_value,
            reduction=reduction,
        )

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
        denominator: Denominator = None,
    ) -> torch.Tensor:
        return cf.sigmoid_focal_loss(
            input,
            target,
            alpha=self.alpha,
            gamma=self.gamma,
            weight=self.weight,
            ignore_value=self.ignore_value,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
        )


class AsymmetricLoss(_Loss):
    """Asymmetric loss (Ridnik et al., ICCV 2021): :func:`counterpoise.functional.asymmetric_loss`.

    Args:
        gamma_pos: Focusing of the positives, >= 0. Default 0.
        gamma_neg: Focusing of the negatives, >= 0. Default 4.
        clip: Probability margin of the negatives in [0, 1), or None. Default 0.05.
        ignore_value: Target value of unknown labels (outside [0, 1], or NaN), or None.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.

    Example:
        >>> import torch
        >>> loss_fn = AsymmetricLoss()
        >>> x = torch.tensor([[2.0, -1.0, 0.5], [-3.0, 1.0, -0.2]], requires_grad=True)
        >>> loss_fn(x, torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])).backward()
    """

    def __init__(
        self,
        *,
        gamma_pos: float = 0.0,
        gamma_neg: float = 4.0,
        clip: float | None = 0.05,
        ignore_value: float | None = None,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(reduction)
        self.gamma_pos = check_number("gamma_pos", gamma_pos, low=0.0)
        self.gamma_neg = check_number("gamma_neg", gamma_neg, low=0.0)
        self.clip = (
            None if clip is None else check_number("clip", clip, low=0.0, high=1.0, high_open=True)
        )
        self.ignore_value = _ignore_value(ignore_value)

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
        denominator: Denominator = None,
    ) -> torch.Tensor:
        return cf.asymmetric_loss(
            input,
            target,
            gamma_pos=self.gamma_pos,
            gamma_neg=self.gamma_neg,
            clip=self.clip,
            ignore_value=self.ignore_value,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
        )


class DistributionBalancedLoss(_Loss):
    """Distribution-balanced loss (Wu et al., ECCV 2020):
    :func:`counterpoise.functional.distribution_balanced_loss`.

    Args:
        counts: Training positives per label (L,), all positive, or a multilabel
            :class:`counterpoise.counts.LabelCounts` (which also gives ``num_samples``); kept
            as a float32 buffer (exact up to 2**24).
        num_samples: The number of training samples, at least every count; required for
            ``kappa > 0`` (unless ``counts`` carries it), and then above every count.
        alpha: Lift of the smoothed re-balancing weight, >= 0. Default 0.1.
        beta: Its steepness, > 0. Default 10.
        mu: Its midpoint, >= 0. Default 0.2.
        neg_scale: Scale lambda > 0 of the negative term. Default 2.
        kappa: Strength of the prior bias, >= 0. Default 0.05.
        gamma: Focal exponent, >= 0 (2 for DB-Focal). Default 0.
        ignore_value: Target value of unknown labels (outside [0, 1], or NaN), or None.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.

    Example:
        >>> import torch
        >>> loss_fn = DistributionBalancedLoss([900, 90, 10], num_samples=1000)
        >>> x = torch.tensor([[2.0, -1.0, 0.5], [-3.0, 1.0, -0.2]], requires_grad=True)
        >>> loss_fn(x, torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])).backward()
    """

    counts: torch.Tensor

    def __init__(
        self,
        counts: Any,
        num_samples: int | None = None,
        *,
        alpha: float = 0.1,
        beta: float = 10.0,
        mu: float = 0.2,
        neg_scale: float = 2.0,
        kappa: float = 0.05,
        gamma: float = 0.0,
        ignore_value: float | None = None,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(reduction)
        self.alpha = check_number("alpha", alpha, low=0.0)
        self.beta = check_number("beta", beta, low=0.0, low_open=True)
        self.mu = check_number("mu", mu, low=0.0)
        self.neg_scale = check_number("neg_scale", neg_scale, low=0.0, low_open=True)
        self.kappa = check_number("kappa", kappa, low=0.0)
        self.gamma = check_number("gamma", gamma, low=0.0)
        self.ignore_value = _ignore_value(ignore_value)
        # checked here once (forward does not check them again)
        n, total = cf._balanced_counts(counts, num_samples, self.kappa)
        self.register_buffer("counts", n.to(torch.float32))
        self.num_samples = None if total is None else int(total)

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
        denominator: Denominator = None,
    ) -> torch.Tensor:
        return cf._distribution_balanced(
            input,
            target,
            self.counts,
            self.num_samples,
            alpha=self.alpha,
            beta=self.beta,
            mu=self.mu,
            neg_scale=self.neg_scale,
            kappa=self.kappa,
            gamma=self.gamma,
            ignore_value=self.ignore_value,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
        )


class AnchorFocalLoss(_Buffers):
    """Sigmoid focal loss on (N, A, C) anchor logits with class-index targets, normalised by
    the number of positive anchors: :func:`counterpoise.functional.anchor_focal_loss`.

    Args:
        alpha: A number in [0, 1] (RetinaNet's, default 0.25), a (C,) vector in [0, 1] (kept
            as a buffer), or None.
        gamma: Focusing parameter >= 0. Default 2.
        weight: (C,) non-negative class weights per output, or None.
        ignore_index: Target value of ignored anchors. Default -100.
        background: Target value of background anchors; None (default) for C.
        reduction: ``"positives"`` (default), ``"mean"``, ``"sum"`` or ``"none"``.

    Example:
        >>> import torch
        >>> loss_fn = AnchorFocalLoss.from_counts([1000, 100, 10], base=0.5)
        >>> loss_fn.alpha
        tensor([0.0909, 0.5000, 0.9091])
        >>> x = torch.zeros(2, 4, 3, requires_grad=True)
        >>> loss_fn(x, torch.tensor([[0, 3, 3, 2], [3, 1, -100, 3]])).backward()
    """

    alpha: torch.Tensor | float | None
    weight: torch.Tensor | None

    def __init__(
        self,
        alpha: float | VectorLike | None = 0.25,
        *,
        gamma: float = 2.0,
        weight: VectorLike | None = None,
        ignore_index: int = -100,
        background: int | None = None,
        reduction: cf.AnchorReduction = "positives",
    ) -> None:
        super().__init__()
        check_choice("reduction", reduction, cf.ANCHOR_REDUCTIONS)
        self.reduction: cf.AnchorReduction = reduction
        checked = _anchor_alpha(alpha)
        if isinstance(checked, torch.Tensor):
            self.register_buffer("alpha", checked.to(torch.float32))
        else:
            self.alpha = checked
        self.register_buffer("weight", _buffer("weight", weight))
        self.gamma = check_number("gamma", gamma, low=0.0)
        self.ignore_index = ignore_index
        self.background = background

    @classmethod
    def from_counts(
        cls,
        counts: Any,
        scheme: str = "balanced",
        *,
        base: float = 0.25,
        gamma: float = 2.0,
        weight: VectorLike | None = None,
        ignore_index: int = -100,
        background: int | None = None,
        reduction: cf.AnchorReduction = "positives",
        **scheme_options: Any,
    ) -> AnchorFocalLoss:
        """Per-class alpha from class counts by :func:`counterpoise.functional.focal_alpha`
        (``scheme``, ``base`` and the scheme's options). For log-scaled class weights pass
        ``weight=counterpoise.functional.log_class_weights(counts)``."""
        alpha = cf.focal_alpha(counts, scheme, base=base, **scheme_options)
        return cls(
            alpha,
            gamma=gamma,
            weight=weight,
            ignore_index=ignore_index,
            background=background,
            reduction=reduction,
        )

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
        denominator: Denominator = None,
    ) -> torch.Tensor:
        return cf.anchor_focal_loss(
            input,
            target,
            alpha=self.alpha,
            gamma=self.gamma,
            weight=self.weight,
            ignore_index=self.ignore_index,
            background=self.background,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
        )
