"""The softmax family: one class per sample (or per pixel), logits (N, C, ...).

Cross-entropy with class weights, the focal loss (Lin et al., 2017), logit adjustment (Menon et
al., 2021), balanced softmax (Ren et al., 2020), LDAM (Cao et al., 2019) and the expected
misclassification cost; each as a pure function and as a module whose ``forward`` is one call of
it. They share one custom autograd function, which computes the gradient in closed form. The
conventions they follow are in :mod:`counterpoise.functional`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .._checks import (
    VectorLike,
    check_choice,
    check_finite,
    check_index_target,
    check_input,
    check_length,
    check_number,
    check_probability_rows,
    class_vector,
    class_vector_or_none,
    describe_tensor,
    fail,
    float_tensor,
    result_dtype,
)
from ..reduction import REDUCTIONS, Reduction, reduce_elements
from ..weights import ldam_margins, margins_of_counts
from ._autograd import (
    SoftmaxTerms,
    per_target,
    softmax_family_loss,
)
from ._base import Denominator, LossModule, buffer, counts_of, weights_from_counts

__all__ = [
    "BalancedSoftmaxLoss",
    "CostSensitiveLoss",
    "FocalLoss",
    "LDAMLoss",
    "LogitAdjustedLoss",
    "WeightedCrossEntropyLoss",
    "balanced_softmax_loss",
    "cost_matrix",
    "cost_sensitive_loss",
    "cross_entropy",
    "focal_loss",
    "ldam_loss",
    "logit_adjusted_loss",
]


def cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: VectorLike | None = None,
    *,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: Reduction = "mean",
    sample_weight: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Weighted cross-entropy, identical to :func:`torch.nn.functional.cross_entropy`.

    For class-index targets, with :math:`\log p_{ic} = \operatorname{log\_softmax}(x_i)_c`,
    class weights :math:`w` and label smoothing :math:`\varepsilon` over :math:`C` classes,

    .. math::

        \ell_i = -(1 - \varepsilon)\, w_{y_i} \log p_{iy_i}
                 - \frac{\varepsilon}{C} \sum_c w_c \log p_{ic},
        \qquad
        \text{mean} = \frac{\sum_i \ell_i}{\sum_i w_{y_i}}

    over the non-ignored elements (each smoothing column weighted by its own class weight, the
    mean normalised by the target weights: PyTorch's convention). For probability targets
    :math:`q`, :math:`\ell_i = -\sum_c w_c q'_{ic} \log p_{ic}` with
    :math:`q' = (1 - \varepsilon) q + \varepsilon / C`, and the mean divides by the number of
    elements.

    Every argument shared with PyTorch gives PyTorch's result, with one documented difference:
    when every target is ignored, ``"mean"`` gives 0 with a zero gradient instead of NaN.

    Args:
        input: Logits, (N, C) or (N, C, d1, ..., dK).
        target: Class indices, (N,) or (N, d1, ..., dK), integers in [0, C) or
            ``ignore_index``; or class probabilities of the shape of ``input``.
        weight: (C,) non-negative class weights. Default: all 1.
        ignore_index: Target value that is ignored (index targets only: probability targets
            raise unless it is left at -100, as in PyTorch). Default -100.
        label_smoothing: :math:`\varepsilon` in [0, 1]. Default 0.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.
        sample_weight: Non-negative weight per element, the shape of ``target`` without its
            class dimension; multiplies the loss and the mean's normaliser.
        denominator: With ``"mean"``: divide by this instead of the summed weights.

    Shape:
        Output: the shape of ``target`` (without the class dimension) for ``"none"``,
        otherwise a scalar.

    Returns:
        The loss, in the dtype of ``input``.

    Raises:
        ValueError: Shapes that do not match, targets outside [0, C), a weight vector of
            another length than C, negative or non-finite weights, ``label_smoothing`` outside
            [0, 1], an unknown ``reduction``.
        TypeError: A non-floating ``input``, or targets that are neither integer nor floating.

    Example:
        >>> import torch
        >>> x = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]], requires_grad=True)
        >>> y = torch.tensor([0, 2])
        >>> loss = cross_entropy(x, y, torch.tensor([1.0, 1.0, 4.0]))
        >>> loss
        tensor(1.6055, grad_fn=<DivBackward0>)
        >>> loss.backward()
        >>> cross_entropy(x, torch.tensor([-100, -100]))
        tensor(0., grad_fn=<DivBackward0>)
    """
    return _cross_entropy(
        input,
        target,
        class_vector_or_none("weight", weight),
        ignore_index=ignore_index,
        label_smoothing=check_number("label_smoothing", label_smoothing, low=0.0, high=1.0),
        reduction=reduction,
        sample_weight=sample_weight,
        denominator=denominator,
    )


def _cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    *,
    ignore_index: int,
    label_smoothing: float,
    reduction: Reduction,
    sample_weight: torch.Tensor | None,
    denominator: float | torch.Tensor | None,
) -> torch.Tensor:
    """:func:`cross_entropy` for a checked ``weight`` and ``label_smoothing`` (a module's)."""
    eps = label_smoothing
    if not isinstance(target, torch.Tensor):
        fail(
            "target",
            "a tensor of class indices or of probabilities",
            type(target).__name__,
            error=TypeError,
        )
    if target.is_floating_point():
        if ignore_index != -100:
            fail("ignore_index", "left at -100 with probability targets", ignore_index)
        return _soft_target_cross_entropy(
            input, target, weight, eps, reduction, sample_weight, denominator
        )
    return _softmax_family(
        input,
        target,
        ignore_index=ignore_index,
        reduction=reduction,
        sample_weight=sample_weight,
        denominator=denominator,
        weight=weight,
        smoothing=eps,
    )


def focal_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    gamma: float = 2.0,
    alpha: VectorLike | None = None,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    sample_weight: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Softmax focal loss (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017).

    With :math:`p_t = \operatorname{softmax}(x_i)_{y_i}` and per-class weights :math:`\alpha`,

    .. math::

        \ell_i = -\alpha_{y_i} (1 - p_t)^\gamma \log p_t,
        \qquad
        \text{mean} = \frac{\sum_i \ell_i}{\sum_i \alpha_{y_i}}.

    The paper leaves the normalisation open; here :math:`\alpha` plays exactly the role of the
    class weight of :func:`cross_entropy`, so ``focal_loss(x, y, gamma=0, alpha=w)`` equals
    ``cross_entropy(x, y, w)`` for every reduction, and scaling :math:`\alpha` leaves the mean
    unchanged. (kornia's and MONAI's focal losses instead divide the sum by :math:`N \cdot C`,
    which gives the focal loss divided by :math:`C` and ignores the weights in the
    normaliser.) RetinaNet-style normalisation by a count of your own is
    ``reduction="sum"`` divided by it, or ``denominator``.

    Args:
        input: Logits, (N, C) or (N, C, d1, ..., dK).
        target: Class indices, (N,) or (N, d1, ..., dK), in [0, C) or ``ignore_index``.
        gamma: Focusing parameter :math:`\gamma \ge 0`. Default 2; 0 gives cross-entropy.
        alpha: (C,) non-negative class weights. Default: all 1.
        ignore_index: Target value that is ignored. Default -100.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.
        sample_weight: Non-negative weight per element, the shape of ``target``.
        denominator: With ``"mean"``: divide by this instead of the summed weights.

    Returns:
        The loss, in the dtype of ``input``: the shape of ``target`` for ``"none"``, otherwise
        a scalar.

    Raises:
        ValueError: As :func:`cross_entropy`, and a negative or non-finite ``gamma``.
        TypeError: A non-floating ``input`` or non-integer ``target``.

    Example:
        >>> import torch
        >>> x = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]], requires_grad=True)
        >>> y = torch.tensor([0, 2])
        >>> loss = focal_loss(x, y, gamma=2.0, alpha=torch.tensor([1.0, 1.0, 4.0]))
        >>> loss
        tensor(1.1624, grad_fn=<DivBackward0>)
        >>> loss.backward()
    """
    return _softmax_family(
        input,
        target,
        ignore_index=ignore_index,
        reduction=reduction,
        sample_weight=sample_weight,
        denominator=denominator,
        weight=class_vector_or_none("alpha", alpha),
        gamma=check_number("gamma", gamma, low=0.0),
        weight_name="alpha",
    )


def logit_adjusted_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    priors: VectorLike,
    *,
    tau: float = 1.0,
    weight: VectorLike | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    sample_weight: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Logit-adjusted cross-entropy (Menon et al., ICLR 2021).

    From "Long-tail learning via logit adjustment":

    .. math::

        \ell_i = -w_{y_i} \log \operatorname{softmax}(x_i + \tau \log \pi)_{y_i},
        \qquad
        \text{mean} = \frac{\sum_i \ell_i}{\sum_i w_{y_i}}

    with class priors :math:`\pi`. Only their ratios matter (softmax ignores a constant shift),
    so counts may be passed as priors. At test time predict with
    :math:`\operatorname{argmax}(x - \tau \log \pi)`, or simply :math:`\operatorname{argmax} x`
    when the model was trained with this loss.

    Args:
        input: Logits, (N, C) or (N, C, d1, ..., dK).
        target: Class indices, (N,) or (N, d1, ..., dK), in [0, C) or ``ignore_index``.
        priors: (C,) positive class priors (or counts).
        tau: Temperature :math:`\tau \ge 0` of the adjustment. Default 1.
        weight: (C,) non-negative class weights. Default: all 1.
        label_smoothing: :math:`\varepsilon` in [0, 1], as in :func:`cross_entropy`, applied to
            the adjusted logits. Default 0.
        ignore_index: Target value that is ignored. Default -100.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.
        sample_weight: Non-negative weight per element, the shape of ``target``.
        denominator: With ``"mean"``: divide by this instead of the summed weights.

    Returns:
        The loss, in the dtype of ``input``.

    Raises:
        ValueError: As :func:`cross_entropy`; priors that are not positive and finite or not
            of length C; a negative ``tau``.

    Example:
        >>> import torch
        >>> x = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]], requires_grad=True)
        >>> y = torch.tensor([0, 2])
        >>> loss = logit_adjusted_loss(x, y, torch.tensor([0.7, 0.2, 0.1]))
        >>> loss
        tensor(1.5565, grad_fn=<DivBackward0>)
        >>> loss.backward()
    """
    tau = check_number("tau", tau, low=0.0)
    log_priors = class_vector("priors", priors, positive=True).log()
    eps = check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)
    return _softmax_family(
        input,
        target,
        ignore_index=ignore_index,
        reduction=reduction,
        sample_weight=sample_weight,
        denominator=denominator,
        weight=class_vector_or_none("weight", weight),
        smoothing=eps,
        bias=tau * log_priors,
    )


def balanced_softmax_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    counts: VectorLike,
    *,
    weight: VectorLike | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    sample_weight: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Balanced softmax loss (Ren et al., NeurIPS 2020).

    From "Balanced Meta-Softmax for Long-Tailed Visual Recognition":

    .. math::

        \ell_i = -w_{y_i} \log \frac{n_{y_i} e^{x_{iy_i}}}{\sum_c n_c e^{x_{ic}}}
               = -w_{y_i} \log \operatorname{softmax}(x_i + \log n)_{y_i},

    the logit-adjusted loss with :math:`\tau = 1` and the class counts :math:`n` as priors;
    ``"mean"`` divides by :math:`\sum_i w_{y_i}` (the number of elements without weights).

    Args:
        input: Logits, (N, C) or (N, C, d1, ..., dK).
        target: Class indices, (N,) or (N, d1, ..., dK), in [0, C) or ``ignore_index``.
        counts: (C,) positive training counts per class.
        weight: (C,) non-negative class weights. Default: all 1.
        label_smoothing: :math:`\varepsilon` in [0, 1], as in :func:`cross_entropy`, applied to
            the adjusted logits. Default 0.
        ignore_index: Target value that is ignored. Default -100.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.
        sample_weight: Non-negative weight per element, the shape of ``target``.
        denominator: With ``"mean"``: divide by this instead of the summed weights.

    Returns:
        The loss, in the dtype of ``input``.

    Raises:
        ValueError: As :func:`cross_entropy`; counts that are not positive and finite or not of
            length C.

    Example:
        >>> import torch
        >>> x = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]], requires_grad=True)
        >>> y = torch.tensor([0, 2])
        >>> loss = balanced_softmax_loss(x, y, torch.tensor([700, 200, 100]))
        >>> loss
        tensor(1.5565, grad_fn=<DivBackward0>)
        >>> loss.backward()
    """
    eps = check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)
    return _softmax_family(
        input,
        target,
        ignore_index=ignore_index,
        reduction=reduction,
        sample_weight=sample_weight,
        denominator=denominator,
        weight=class_vector_or_none("weight", weight),
        smoothing=eps,
        bias=class_vector("counts", counts, positive=True).log(),
        bias_name="counts",
    )


def ldam_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    counts: VectorLike,
    *,
    max_margin: float = 0.5,
    scale: float = 30.0,
    weight: VectorLike | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    sample_weight: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Label-distribution-aware margin (LDAM) loss (Cao et al., NeurIPS 2019).

    From "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss":
    cross-entropy on scaled logits with the target logit lowered by its class margin
    (:func:`ldam_margins`):

    .. math::

        \ell_i = -w_{y_i} \log \operatorname{softmax}\big(s\,(x_i - m_{y_i} e_{y_i})\big)_{y_i},
        \qquad
        \text{mean} = \frac{\sum_i \ell_i}{\sum_i w_{y_i}}

    with :math:`e_{y}` the one-hot vector of :math:`y` and scale :math:`s`. The paper's
    deferred re-weighting (DRW) passes effective-number ``weight`` in late epochs.

    Args:
        input: Logits, (N, C) or (N, C, d1, ..., dK); the paper uses normalised (cosine)
            logits, which is why they are scaled.
        target: Class indices, (N,) or (N, d1, ..., dK), in [0, C) or ``ignore_index``.
        counts: (C,) positive training counts per class.
        max_margin: Margin of the rarest class, > 0. Default 0.5.
        scale: :math:`s > 0`. Default 30.
        weight: (C,) non-negative class weights. Default: all 1.
        label_smoothing: :math:`\varepsilon` in [0, 1], as in :func:`cross_entropy`, applied to
            the adjusted logits. Default 0.
        ignore_index: Target value that is ignored. Default -100.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.
        sample_weight: Non-negative weight per element, the shape of ``target``.
        denominator: With ``"mean"``: divide by this instead of the summed weights.

    Returns:
        The loss, in the dtype of ``input``.

    Raises:
        ValueError: As :func:`cross_entropy` and :func:`ldam_margins`; a ``scale`` that is not
            positive.

    Example:
        >>> import torch
        >>> x = torch.tensor([[0.9, 0.1, -0.3], [0.2, 0.4, 0.1]], requires_grad=True)
        >>> y = torch.tensor([0, 2])
        >>> loss = ldam_loss(x, y, torch.tensor([10000, 625, 16]))
        >>> loss
        tensor(12.0012, grad_fn=<DivBackward0>)
        >>> loss.backward()
    """
    scale = check_number("scale", scale, low=0.0, low_open=True)
    eps = check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)
    return _softmax_family(
        input,
        target,
        ignore_index=ignore_index,
        reduction=reduction,
        sample_weight=sample_weight,
        denominator=denominator,
        weight=class_vector_or_none("weight", weight),
        smoothing=eps,
        margin=ldam_margins(counts, max_margin),
        scale=scale,
    )


def cost_sensitive_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    cost: VectorLike,
    *,
    cross_entropy_weight: float = 0.0,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    sample_weight: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Expected misclassification cost under the softmax, optionally plus cross-entropy.

    With a cost matrix :math:`M` (row: true class, column: predicted class) and
    :math:`p_i = \operatorname{softmax}(x_i)`,

    .. math::

        \ell_i = \sum_c M_{y_i c}\, p_{ic} - \lambda \log p_{iy_i},
        \qquad
        \text{mean} = \frac{\sum_i \ell_i}{N}

    over non-ignored elements (the summed sample weights with ``sample_weight``). A cost
    vector :math:`c` stands for :math:`M_{yk} = c_y` for :math:`k \ne y` and 0 on the
    diagonal: :math:`c_y` is the cost of missing class :math:`y`, and
    :math:`\ell_i = c_{y_i} (1 - p_{iy_i})`. The expected cost alone has small gradients for
    confidently wrong predictions; a little cross-entropy (:math:`\lambda > 0`) helps early
    training.

    The gradient, :math:`\partial \ell_i / \partial x_{ik} = p_{ik} (M_{y_i k} - E_i) +
    \lambda (p_{ik} - [k = y_i])` with :math:`E_i = \sum_c M_{y_i c} p_{ic}`, is computed with
    the loss from the rows :math:`M_{y_i}` of the batch (never an (N, C, C) tensor) and kept for
    the backward pass. This function checks (and builds, from a vector) the matrix on every
    call; :class:`~counterpoise.losses.CostSensitiveLoss` does it once.

    Args:
        input: Logits, (N, C) or (N, C, d1, ..., dK).
        target: Class indices, (N,) or (N, d1, ..., dK), in [0, C) or ``ignore_index``.
        cost: (C, C) finite cost matrix or (C,) finite per-class cost vector.
        cross_entropy_weight: :math:`\lambda \ge 0`. Default 0.
        ignore_index: Target value that is ignored. Default -100.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.
        sample_weight: Non-negative weight per element, the shape of ``target``.
        denominator: With ``"mean"``: divide by this instead of the element count.

    Returns:
        The loss, in the dtype of ``input``.

    Raises:
        ValueError: As :func:`cross_entropy`; a cost that is neither (C, C) nor (C,) or not
            finite; a negative ``cross_entropy_weight``.

    Example:
        >>> import torch
        >>> x = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]], requires_grad=True)
        >>> y = torch.tensor([0, 2])
        >>> cost = torch.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [5.0, 5.0, 0.0]])
        >>> loss = cost_sensitive_loss(x, y, cost)
        >>> loss
        tensor(2.2275, grad_fn=<DivBackward0>)
        >>> loss.backward()
    """
    lam = check_number("cross_entropy_weight", cross_entropy_weight, low=0.0)
    matrix = cost_matrix(cost)
    return _softmax_family(
        input,
        target,
        ignore_index=ignore_index,
        reduction=reduction,
        sample_weight=sample_weight,
        denominator=denominator,
        cost=matrix,
        ce=lam,
    )


def cost_matrix(cost: VectorLike) -> torch.Tensor:
    r"""The (C, C) cost matrix of a cost matrix or of a per-class cost vector.

    A vector :math:`c` becomes :math:`M_{yk} = c_y` for :math:`k \ne y` and 0 on the
    diagonal: missing class :math:`y` costs :math:`c_y`, whatever is predicted instead.

    Args:
        cost: (C, C) finite matrix (row: true class, column: prediction) or (C,) finite vector.

    Returns:
        The checked matrix, floating point (float64 for integer input), shape (C, C).

    Raises:
        ValueError: Another shape, or values that are not finite.
        TypeError: Something that is not numbers.

    Example:
        >>> cost_matrix([1.0, 5.0])
        tensor([[0., 1.],
                [5., 0.]])
    """
    matrix = float_tensor("cost", cost)
    if matrix.ndim == 1 and matrix.shape[0] > 0:
        matrix = matrix[:, None] * (
            1 - torch.eye(len(matrix), dtype=matrix.dtype, device=matrix.device)
        )
    elif matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        fail("cost", "a (C, C) matrix or a (C,) vector", describe_tensor(matrix))
    check_finite("cost", matrix)
    return matrix


def _softmax_family(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    ignore_index: int,
    reduction: Reduction,
    sample_weight: torch.Tensor | None,
    denominator: float | torch.Tensor | None,
    weight: torch.Tensor | None = None,
    weight_name: str = "weight",
    bias: torch.Tensor | None = None,
    bias_name: str = "priors",
    margin: torch.Tensor | None = None,
    cost: torch.Tensor | None = None,
    **options: Any,
) -> torch.Tensor:
    """Check the per-call arguments, run the shared autograd function, and reduce (weighted
    mean by w[y]).

    The per-class tensors (``weight``, ``bias``, ``margin``, ``cost``) come checked, by the
    public function or when they entered a module; here only their lengths are checked
    against the input's classes."""
    check_choice("reduction", reduction, REDUCTIONS)
    dtype = check_input(input, min_ndim=2)
    num_classes = input.shape[1]
    safe_target, valid = check_index_target(target, input, ignore_index)
    if weight is not None:
        check_length(weight_name, weight, num_classes)
    if bias is not None:
        check_length(bias_name, bias, num_classes)
    if margin is not None:
        check_length("counts", margin, num_classes)
    if cost is not None and cost.shape[0] != num_classes:
        fail("cost", f"of {num_classes} classes", describe_tensor(cost))

    def like(v: torch.Tensor | None) -> torch.Tensor | None:
        return None if v is None else v.to(dtype=dtype, device=input.device)

    terms = SoftmaxTerms(
        weight=like(weight), bias=like(bias), margin=like(margin), cost=like(cost), **options
    )
    target_weight = None if terms.weight is None else per_target(terms.weight, safe_target)
    loss = softmax_family_loss(input, safe_target, terms, target_weight)
    return reduce_elements(
        loss, reduction, target_weight, valid, sample_weight, denominator, result_dtype(input)
    )


def _soft_target_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    eps: float,
    reduction: Reduction,
    sample_weight: torch.Tensor | None,
    denominator: float | torch.Tensor | None,
) -> torch.Tensor:
    """Cross-entropy with class-probability targets: differentiable in both arguments."""
    check_choice("reduction", reduction, REDUCTIONS)
    x = input.to(check_input(input, min_ndim=2))
    if target.shape != input.shape:
        fail("target", f"probabilities of shape {tuple(input.shape)}", describe_tensor(target))
    if target.device != input.device:
        fail(
            "target", f"a tensor on the device of `input` ({input.device})", describe_tensor(target)
        )
    num_classes = input.shape[1]
    q = target.to(x.dtype)
    check_probability_rows("target", q)
    if eps > 0:
        q = (1 - eps) * q + eps / num_classes
    if weight is not None:
        check_length("weight", weight, num_classes)
        w = weight.to(dtype=x.dtype, device=input.device)
        q = q * w.view((1, -1) + (1,) * (input.ndim - 2))
    loss = -(q * F.log_softmax(x, dim=1)).sum(dim=1)
    return reduce_elements(
        loss, reduction, None, None, sample_weight, denominator, result_dtype(input)
    )


class WeightedCrossEntropyLoss(LossModule):
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
        self.register_buffer("weight", buffer("weight", weight))
        self.ignore_index = ignore_index
        self.label_smoothing = check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)

    @classmethod
    def from_counts(
        cls,
        counts: Any,
        *,
        scheme: str = "balanced",
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
        **scheme_options: Any,
    ) -> WeightedCrossEntropyLoss:
        """Weights from class counts by :func:`counterpoise.weights.class_weights`
        (``scheme`` and its options, e.g. ``beta`` for ``"effective"``; ``"none"`` for no
        weights)."""
        weight = weights_from_counts(counts, scheme, scheme_options)
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
        return _cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
        )


class FocalLoss(LossModule):
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
        self.register_buffer("alpha", buffer("alpha", alpha))
        self.gamma = check_number("gamma", gamma, low=0.0)
        self.ignore_index = ignore_index

    @classmethod
    def from_counts(
        cls,
        counts: Any,
        *,
        scheme: str = "balanced",
        gamma: float = 2.0,
        ignore_index: int = -100,
        reduction: Reduction = "mean",
        **scheme_options: Any,
    ) -> FocalLoss:
        """Alpha from class counts by :func:`counterpoise.weights.class_weights` (``scheme`` and
        its options; ``"none"`` for no alpha)."""
        alpha = weights_from_counts(counts, scheme, scheme_options)
        return cls(alpha, gamma=gamma, ignore_index=ignore_index, reduction=reduction)

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
        denominator: Denominator = None,
    ) -> torch.Tensor:
        return _softmax_family(
            input,
            target,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
            weight=self.alpha,
            gamma=self.gamma,
            weight_name="alpha",
        )


class LogitAdjustedLoss(LossModule):
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
        self.register_buffer("priors", buffer("priors", priors, positive=True))
        self.register_buffer("weight", buffer("weight", weight))
        self.tau = check_number("tau", tau, low=0.0)
        self.label_smoothing = check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)
        self.ignore_index = ignore_index

    @classmethod
    def from_counts(
        cls,
        counts: Any,
        *,
        scheme: str = "none",
        tau: float = 1.0,
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
        reduction: Reduction = "mean",
        **scheme_options: Any,
    ) -> LogitAdjustedLoss:
        """Priors from training counts per class, :math:`\\pi_c = n_c / \\sum_j n_j`, and class
        weights from them by :func:`counterpoise.weights.class_weights` unless
        ``scheme="none"`` (the default)."""
        n = class_vector("counts", counts_of(counts), positive=True)
        return cls(
            n / n.sum(),
            tau=tau,
            weight=weights_from_counts(counts, scheme, scheme_options),
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
        return _softmax_family(
            input,
            target,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
            weight=self.weight,
            smoothing=self.label_smoothing,
            bias=self.tau * self.priors.log(),
        )


class BalancedSoftmaxLoss(LossModule):
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
        self.register_buffer("counts", buffer("counts", counts, positive=True))
        self.register_buffer("weight", buffer("weight", weight))
        self.label_smoothing = check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)
        self.ignore_index = ignore_index

    @classmethod
    def from_counts(
        cls,
        counts: Any,
        *,
        scheme: str = "none",
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
        reduction: Reduction = "mean",
        **scheme_options: Any,
    ) -> BalancedSoftmaxLoss:
        """The loss of training counts per class (a vector or a
        :class:`~counterpoise.counts.LabelCounts`), with class weights from them by
        :func:`counterpoise.weights.class_weights` unless ``scheme="none"`` (the default)."""
        return cls(
            counts_of(counts),
            weight=weights_from_counts(counts, scheme, scheme_options),
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
        return _softmax_family(
            input,
            target,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
            weight=self.weight,
            smoothing=self.label_smoothing,
            bias=self.counts.log(),
            bias_name="counts",
        )


class LDAMLoss(LossModule):
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
        self.register_buffer("counts", buffer("counts", counts, positive=True))
        self.register_buffer("weight", buffer("weight", weight))
        self.max_margin = check_number("max_margin", max_margin, low=0.0, low_open=True)
        self.scale = check_number("scale", scale, low=0.0, low_open=True)
        self.label_smoothing = check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)
        self.ignore_index = ignore_index

    @classmethod
    def from_counts(
        cls,
        counts: Any,
        *,
        scheme: str = "none",
        max_margin: float = 0.5,
        scale: float = 30.0,
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
        reduction: Reduction = "mean",
        **scheme_options: Any,
    ) -> LDAMLoss:
        """Margins from the counts, and class weights from them by
        :func:`counterpoise.weights.class_weights` unless ``scheme="none"`` (the default)."""
        n = counts_of(counts)
        weight = weights_from_counts(counts, scheme, scheme_options)
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
        return _softmax_family(
            input,
            target,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
            weight=self.weight,
            smoothing=self.label_smoothing,
            margin=margins_of_counts(self.counts, self.max_margin),
            scale=self.scale,
        )


class CostSensitiveLoss(LossModule):
    """Expected misclassification cost: :func:`counterpoise.functional.cost_sensitive_loss`.

    The (C, C) cost matrix is built and checked once, when the module is built or a state dict
    is loaded, and kept as a float32 buffer; each call gathers its batch's rows of it.

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
        self.register_buffer("cost", cost_matrix(cost).to(torch.float32))
        check_finite("cost", self.cost)  # also in float32
        self.cross_entropy_weight = check_number(
            "cross_entropy_weight", cross_entropy_weight, low=0.0
        )
        self.ignore_index = ignore_index

    def check_buffers(self) -> None:
        """The cost matrix finite, as the constructor checks it (a negative cost is a
        reward)."""
        check_finite("cost", self.cost)

    @classmethod
    def from_counts(
        cls,
        counts: Any,
        *,
        scheme: str = "balanced",
        cross_entropy_weight: float = 0.0,
        ignore_index: int = -100,
        reduction: Reduction = "mean",
        **scheme_options: Any,
    ) -> CostSensitiveLoss:
        """The cost of missing each class from class counts: the class weights of
        :func:`counterpoise.weights.class_weights` (``scheme`` and its options), so that
        missing a rare class costs more."""
        cost = weights_from_counts(counts, scheme, scheme_options)
        if cost is None:
            fail("scheme", "a weighting scheme (the costs come from it)", scheme)
        return cls(
            cost,
            cross_entropy_weight=cross_entropy_weight,
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
        return _softmax_family(
            input,
            target,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
            cost=self.cost,
            ce=self.cross_entropy_weight,
        )
