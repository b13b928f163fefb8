"""Detection: the sigmoid focal loss on anchor logits (N, A, C) with class-index targets.

RetinaNet's loss (Lin et al., 2017), normalised by the number of positive anchors, with per-class
alpha and class weights; as a pure function (documented with :mod:`counterpoise.functional`) and as
a module whose ``forward`` is one call of it.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import torch

from .._checks import (
    VectorLike,
    check_alpha,
    check_choice,
    check_input,
    check_integer_target,
    check_length,
    check_number,
    class_vector_or_none,
    describe_tensor,
    device_assert,
    eager_checks,
    fail,
    result_dtype,
)
from ..reduction import denominator_tensor, reduce_elements
from ..weights import focal_alpha
from ._autograd import (
    SigmoidTerms,
    sigmoid_family_loss,
)
from ._base import Denominator, FloatBuffers, buffer

__all__ = [
    "ANCHOR_REDUCTIONS",
    "AnchorFocalLoss",
    "AnchorReduction",
    "anchor_focal_loss",
]


#: The reductions of :func:`anchor_focal_loss`: RetinaNet's ``"positives"`` and the usual three.
AnchorReduction = Literal["positives", "mean", "sum", "none"]


ANCHOR_REDUCTIONS: tuple[str, ...] = get_args(AnchorReduction)


def anchor_focal_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    alpha: float | VectorLike | None = 0.25,
    gamma: float = 2.0,
    weight: VectorLike | None = None,
    ignore_index: int = -100,
    background: int | None = None,
    reduction: AnchorReduction = "positives",
    sample_weight: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Sigmoid focal loss on anchor logits with class-index targets, normalised as RetinaNet.

    Lin et al., "Focal Loss for Dense Object Detection" (ICCV 2017). Every anchor :math:`i`
    has :math:`C` sigmoid outputs (the class dimension is the *last* one, as detection heads
    lay them out). Its target :math:`y_i` is a class in [0, C) for a positive anchor, whose
    output :math:`y_i` is a positive and the other :math:`C - 1` outputs are negatives;
    ``background`` for a negative anchor, all of whose outputs are negatives; or
    ``ignore_index`` for an anchor that contributes nothing (no loss, no gradient, not counted).
    With the one-hot targets :math:`t_{ic} = [y_i = c]`, :math:`p = \sigma(x)` and
    :math:`p_t = p\,t + (1 - p)(1 - t)`,

    .. math::

        \ell_{ic} = -w_c\, \alpha_{t,ic} (1 - p_{t,ic})^\gamma
                    \big[t_{ic} \log p_{ic} + (1 - t_{ic}) \log (1 - p_{ic})\big],
        \qquad
        \alpha_{t,ic} = \alpha_c\, t_{ic} + (1 - \alpha_c)(1 - t_{ic}),

        \text{positives} = \frac{\sum_{i\, \text{not ignored}} \sum_c \ell_{ic}}
                                {\max(1, P)},
        \qquad P = \#\{i : 0 \le y_i < C\}.

    So on the one-hot targets this is :func:`sigmoid_focal_loss` (the same computation), and
    the default reduction is RetinaNet's: the sum over all non-ignored anchors and classes
    divided by the number of positive anchors. A batch without positive anchors gives the sum
    of its negative terms (divided by 1): finite, never NaN, and the negatives still train.

    ``alpha`` is a number (RetinaNet: :math:`\alpha` for every positive, :math:`1 - \alpha`
    for every negative; 0.25 by default) or a (C,) vector in [0, 1]: the positives of class
    :math:`c` weigh :math:`\alpha_c`, the negatives of output :math:`c` weigh
    :math:`1 - \alpha_c` (see :func:`focal_alpha` to derive it from class counts). ``weight``
    :math:`w` (e.g. :func:`log_class_weights`) scales every term of output :math:`c`, positive
    and negative alike: it changes how much each class's output counts, ``alpha`` its balance of
    positives and negatives.

    Args:
        input: Logits, (N, A, C): N images, A anchors, C classes (any (..., C) with at least
            two dimensions works the same way, e.g. (P, C) for flattened anchors).
        target: Integer class indices of shape ``input.shape[:-1]``: in [0, C) for positive
            anchors, ``background`` for negative anchors, ``ignore_index`` for ignored ones.
        alpha: A number in [0, 1], a (C,) vector in [0, 1], or None for no
            :math:`\alpha_t`. Default 0.25.
        gamma: Focusing parameter :math:`\gamma \ge 0`. Default 2.
        weight: (C,) non-negative class weights :math:`w`, one per output. Default: all 1.
        ignore_index: Target value of ignored anchors. Default -100.
        background: Target value of negative (background) anchors, outside [0, C) and other
            than ``ignore_index``. Default None: C, the convention of detectron2 and
            mmdetection (torchvision's matcher marks background with -1: pass ``-1``).
        reduction: ``"positives"`` (default, see above), ``"mean"`` (over the non-ignored
            elements, anchors times classes; with ``sample_weight`` a weighted mean),
            ``"sum"`` or ``"none"``.
        sample_weight: Non-negative weights, per anchor (the shape of ``target``) or per
            element (the shape of ``input``); they multiply the loss, and the normaliser of
            ``"mean"`` but not the count :math:`P` of ``"positives"``.
        denominator: With ``"positives"``: the number of positive anchors to use for
            :math:`P` instead of this batch's, e.g. summed over micro-batches or averaged
            over ranks (still floored at 1, as detectron2 and mmdetection do). With
            ``"mean"``: the normaliser, as in :func:`counterpoise.reduction.reduce`.

    Shape:
        Output: the shape of ``input`` for ``"none"`` (ignored anchors are 0), otherwise a
        scalar.

    Returns:
        The loss, in the dtype of ``input`` (computed in float32 for half inputs).

    Raises:
        ValueError: ``input`` with fewer than two dimensions; ``target`` of another shape or
            with values that are neither classes, ``background`` nor ``ignore_index``; a
            ``background`` inside [0, C) or equal to ``ignore_index``; ``alpha`` outside
            [0, 1] or a vector of another length than C; bad ``weight``, ``gamma``,
            ``sample_weight`` or ``reduction``; a ``denominator`` with ``"sum"`` or ``"none"``.
        TypeError: A non-floating ``input`` or a non-integer ``target``.

    Example:
        >>> import torch
        >>> x = torch.tensor([[[2.0, -1.0, -3.0], [-2.0, 0.5, -1.0], [0.0, -4.0, 1.0]]],
        ...                  requires_grad=True)
        >>> y = torch.tensor([[0, 3, -100]])  # a positive of class 0, background, ignored
        >>> loss = anchor_focal_loss(x, y)
        >>> loss
        tensor(0.3189, grad_fn=<DivBackward0>)
        >>> loss.backward()
        >>> y = torch.tensor([[0, -1, -100]])  # background marked -1, as torchvision
        >>> anchor_focal_loss(x, y, alpha=torch.tensor([0.5, 0.25, 0.1]), background=-1)
        tensor(0.3223, grad_fn=<DivBackward0>)
    """
    return _anchor_focal(
        input,
        target,
        check_alpha(alpha),
        check_number("gamma", gamma, low=0.0),
        class_vector_or_none("weight", weight),
        ignore_index=ignore_index,
        background=background,
        reduction=reduction,
        sample_weight=sample_weight,
        denominator=denominator,
    )


def _anchor_focal(
    input: torch.Tensor,
    target: torch.Tensor,
    alpha: float | torch.Tensor | None,
    gamma: float,
    weight: torch.Tensor | None,
    *,
    ignore_index: int,
    background: int | None,
    reduction: AnchorReduction,
    sample_weight: torch.Tensor | None,
    denominator: float | torch.Tensor | None,
) -> torch.Tensor:
    """:func:`anchor_focal_loss` for ``alpha``, ``gamma`` and ``weight`` already checked (a
    module's): per call only the lengths of the vectors."""
    check_choice("reduction", reduction, ANCHOR_REDUCTIONS)
    dtype = check_input(input, min_ndim=0)
    if input.ndim < 2:
        fail("input", "of shape (N, A, C) (or (..., C), 2-D or more)", describe_tensor(input))
    num_classes = input.shape[-1]
    if denominator is not None and reduction not in ("positives", "mean"):
        fail("denominator", 'None unless reduction is "positives" or "mean"', denominator)
    one_hot, valid, positive = _anchor_target(target, input, ignore_index, background, dtype)
    terms = _anchor_terms(alpha, weight, gamma, num_classes, dtype, input.device)
    loss = sigmoid_family_loss(input, one_hot, terms)
    mask = None if valid is None else valid.unsqueeze(-1).expand(loss.shape)
    if sample_weight is not None and isinstance(sample_weight, torch.Tensor):
        if sample_weight.shape == target.shape:
            sample_weight = sample_weight.unsqueeze(-1).expand(loss.shape)
        elif sample_weight.shape != loss.shape:
            shapes = f"{tuple(target.shape)} (per anchor) or {tuple(loss.shape)}"
            fail("sample_weight", f"a tensor of shape {shapes}", describe_tensor(sample_weight))
    if reduction != "positives":
        return reduce_elements(
            loss, reduction, None, mask, sample_weight, denominator, result_dtype(input)
        )
    total = reduce_elements(loss, "sum", None, mask, sample_weight, None, loss.dtype)
    if denominator is None:
        count = positive.sum().to(loss.dtype)  # a tensor: no host synchronisation
    else:
        count = denominator_tensor(denominator, loss)
    return (total / count.clamp_min(1.0)).to(result_dtype(input))


def _anchor_target(
    target: torch.Tensor,
    input: torch.Tensor,
    ignore_index: int,
    background: int | None,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Class-index anchor targets (class dimension last) as (one-hot targets of the shape of
    ``input`` in ``dtype``, mask of non-ignored anchors or None when none is ignored, mask of
    positive anchors)."""
    check_integer_target(target)
    num_classes = input.shape[-1]
    if target.shape != input.shape[:-1]:
        fail("target", f"a tensor of shape {tuple(input.shape[:-1])}", describe_tensor(target))
    if isinstance(background, bool) or not isinstance(background, (int, type(None))):
        fail("background", "an integer or None", background, error=TypeError)
    bg = num_classes if background is None else background
    if 0 <= bg < num_classes or bg == ignore_index:
        fail("background", f"outside [0, {num_classes}) and other than ignore_index", bg)
    target = target.long()
    positive = (target >= 0) & (target < num_classes)
    ignored = target == ignore_index
    bad = (positive | ignored | (target == bg)).logical_not()
    expected = (
        f"class indices in [0, {num_classes}), background={bg} or ignore_index={ignore_index}"
    )
    eager = eager_checks(target, input)
    if not eager:
        device_assert(bad.logical_not(), "target", expected)
    elif bool(bad.any()):
        first = tuple(int(i) for i in bad.nonzero()[0])
        fail("target", expected, f"{target[first].item()} at index {first}")
    # out of place (no scatter into a new tensor), so that targets may be vmapped
    classes = torch.arange(num_classes, device=input.device)
    one_hot = (target.unsqueeze(-1) == classes).to(dtype)  # background and ignored: all 0
    # on the CPU, a batch without ignored anchors skips the masking passes
    unmasked = eager and not bool(ignored.any())
    return one_hot, (None if unmasked else ignored.logical_not()), positive


def _anchor_terms(
    alpha: float | torch.Tensor | None,
    weight: torch.Tensor | None,
    gamma: float,
    num_classes: int,
    dtype: torch.dtype,
    device: torch.device,
) -> SigmoidTerms:
    """The sigmoid-family terms of :func:`anchor_focal_loss`.

    A number ``alpha`` without class weights is the focal :math:`\\alpha_t` itself (exactly
    :func:`sigmoid_focal_loss`'s computation). Otherwise it goes into the per-output weights of
    the positive and negative terms, :math:`A_c = w_c \\alpha_c` and
    :math:`B_c = w_c (1 - \\alpha_c)`: for 0/1 targets, :math:`\\alpha_t \\cdot w_c` times the
    unweighted terms, the same loss and gradient.
    """
    w = None
    if weight is not None:
        check_length("weight", weight, num_classes)
        w = weight.to(dtype=dtype, device=device)
    a = alpha
    if not isinstance(a, torch.Tensor):
        if w is None:
            return SigmoidTerms(gamma=gamma, alpha=a)
        if a is None:
            return SigmoidTerms(gamma=gamma, pos_weight=w, neg_weight=w)
        return SigmoidTerms(gamma=gamma, pos_weight=w * a, neg_weight=w * (1 - a))
    check_length("alpha", a, num_classes)
    v = a.to(dtype=dtype, device=device)
    pos, neg = v, 1 - v
    if w is not None:
        pos, neg = pos * w, neg * w
    return SigmoidTerms(gamma=gamma, pos_weight=pos, neg_weight=neg)


class AnchorFocalLoss(FloatBuffers):
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
        reduction: AnchorReduction = "positives",
    ) -> None:
        super().__init__()
        check_choice("reduction", reduction, ANCHOR_REDUCTIONS)
        self.reduction: AnchorReduction = reduction
        checked = check_alpha(alpha)
        if isinstance(checked, torch.Tensor):
            self.register_buffer("alpha", checked.to(torch.float32))
        else:
            self.alpha = checked
        self.register_buffer("weight", buffer("weight", weight))
        self.gamma = check_number("gamma", gamma, low=0.0)
        self.ignore_index = ignore_index
        self.background = background

    def check_buffers(self) -> None:
        """Weights finite and non-negative, a per-class alpha in [0, 1]."""
        super().check_buffers()
        if isinstance(self.alpha, torch.Tensor):
            check_alpha(self.alpha)

    @classmethod
    def from_counts(
        cls,
        counts: Any,
        *,
        scheme: str = "balanced",
        base: float = 0.25,
        gamma: float = 2.0,
        weight: VectorLike | None = None,
        ignore_index: int = -100,
        background: int | None = None,
        reduction: AnchorReduction = "positives",
        **scheme_options: Any,
    ) -> AnchorFocalLoss:
        """Per-class alpha from class counts by :func:`counterpoise.functional.focal_alpha`
        (``scheme``, ``base`` and the scheme's options). For log-scaled class weights pass
        ``weight=counterpoise.functional.log_class_weights(counts)``."""
        alpha = focal_alpha(counts, scheme, base=base, **scheme_options)
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
        return _anchor_focal(
            input,
            target,
            self.alpha,
            self.gamma,
            self.weight,
            ignore_index=self.ignore_index,
            background=self.background,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
        )
