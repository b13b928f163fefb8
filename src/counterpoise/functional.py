"""Every loss as a pure function, as :mod:`torch.nn.functional` offers PyTorch's.

The functions live with their modules in the loss families of :mod:`counterpoise.losses`
(:mod:`~counterpoise.losses.softmax`, :mod:`~counterpoise.losses.sigmoid`,
:mod:`~counterpoise.losses.detection`); this module gathers them under one name. The maps
from counts to the vectors that some losses take (:func:`ldam_margins`, :func:`label_alpha`,
:func:`focal_alpha`, :func:`log_class_weights`) live in :mod:`counterpoise.weights` and are
imported here too.

Conventions shared by all of them:

* ``input`` holds logits of shape (N, C) or (N, C, d1, ..., dK) (segmentation); class-index
  targets have shape (N,) or (N, d1, ..., dK), and elements equal to ``ignore_index`` contribute
  neither loss nor weight nor gradient.
* Binary and multilabel losses (sigmoid family) take logits (N,), (N, L) or (N, L, d1, ..., dK)
  and targets in [0, 1] of the same shape (soft targets allowed); with ``ignore_value``, the
  elements whose target equals it (labels that were not annotated) contribute neither loss nor
  weight nor gradient.
* ``sample_weight`` (the shape of the target, non-negative, e.g. a pixel weight map) multiplies
  each element's loss *and* its weight in the mean, so ``"mean"`` is a weighted mean.
* ``reduction="mean"`` divides by the summed weights of the elements that count (class weight of
  the target times sample weight; 1 each when there are none), or by ``denominator`` when it is
  given: the same sum over all micro-batches or ranks, so that micro-batch means add up to the
  mean of the whole batch. A batch in which nothing counts gives 0 with a zero gradient.
* float16 and bfloat16 inputs are computed in float32; results and gradients come back in the
  input's dtype. Class weights, priors and counts never receive gradients.

The softmax-family losses share one custom autograd function, which
saves one number per element between the forward and backward passes; the sigmoid family
shares another, which computes the gradient with the loss and keeps only it, and so does the
cost-sensitive loss. So a sigmoid-family loss (binary cross-entropy, the sigmoid and anchor
focal losses, the asymmetric and distribution-balanced losses) and the cost-sensitive loss cost
the gradient's work whenever ``input`` requires grad and grad mode is on: evaluate them under
``torch.no_grad()`` when no gradient is needed (validation).

Every loss works under :mod:`torch.func`: :func:`~torch.func.grad`, :func:`~torch.func.vmap`
(over logits, targets, sample weights and denominators; not over class weights, priors, counts
or costs), per-sample gradients as ``vmap(grad(...))``, :func:`~torch.func.vjp`,
:func:`~torch.func.jacrev` and :func:`~torch.func.functional_call` of the modules. Under
``vmap``, checks of values are assertions over the whole batch, as on accelerators. Every loss
is differentiable once: a first derivative may be taken with ``create_graph=True`` (as
``torch.func.grad`` does), but differentiating that gradient again (double backward, a
gradient penalty, ``grad`` of ``grad``) raises a ``RuntimeError`` rather than return a second
derivative without its second-order terms; forward mode (``jvp``, ``jacfwd``, ``hessian``) is
not supported. Cross-entropy with probability targets is made of PyTorch operations and
differentiable twice.

What each weighting argument means, loss by loss (:mod:`counterpoise.losses.registry` records
what each mean divides by, and :func:`counterpoise.distributed.ddp_denominator` and the
integrations read it from there). "In the mean" means that the argument also enters the sum
that ``reduction="mean"`` divides by, so that the mean is a weighted mean:

====================================  ============================================  ========================
loss                                  weighting arguments                           ``"mean"`` divides by
====================================  ============================================  ========================
``cross_entropy``                     ``weight`` (C,): class weight of each         :math:`\\sum w_{y_i} s_i`
                                      target, in the mean
``focal_loss``                        ``alpha`` (C,): the same role as              :math:`\\sum \\alpha_{y_i} s_i`
                                      ``weight``, in the mean
``logit_adjusted_loss``               ``weight`` (C,): class weight, in the mean    :math:`\\sum w_{y_i} s_i`
                                      (``priors`` shift the logits)
``balanced_softmax_loss``             ``weight`` (C,): class weight, in the mean    :math:`\\sum w_{y_i} s_i`
                                      (``counts`` shift the logits)
``ldam_loss``                         ``weight`` (C,): class weight, in the mean    :math:`\\sum w_{y_i} s_i`
                                      (``counts`` set the margins)
``cost_sensitive_loss``               ``cost`` (C, C): the cost of each             :math:`\\sum s_i`
                                      prediction; not in the mean
``binary_cross_entropy_with_logits``  ``pos_weight``, ``neg_weight`` (L,):          :math:`\\sum s_i`
                                      multiply the positive / negative terms;
                                      not in the mean
``sigmoid_focal_loss``                ``alpha`` (number or (L,)): positives         :math:`\\sum s_i`
                                      weigh alpha, negatives 1 - alpha;
                                      ``weight`` (L,): every term of a
                                      label; neither in the mean
``asymmetric_loss``                   none                                          :math:`\\sum s_i`
``distribution_balanced_loss``        re-balancing weights from ``counts``;         :math:`\\sum s_i`
                                      not in the mean
``anchor_focal_loss``                 ``alpha`` (number or (C,)), ``weight``        positive anchors
                                      (C,) per output; not in the count
====================================  ============================================  ========================

The sums run over the elements that count: targets other than ``ignore_index``, labels other
than ``ignore_value``; for the anchor loss, its default ``reduction="positives"``.

``sample_weight`` :math:`s` (the target's shape; 1 each when not given) always multiplies the
loss of its element and enters the mean, except in the count of positive anchors.
"""

from __future__ import annotations

from ._checks import VectorLike
from .losses.detection import ANCHOR_REDUCTIONS, AnchorReduction, anchor_focal_loss
from .losses.sigmoid import (
    asymmetric_loss,
    binary_cross_entropy_with_logits,
    distribution_balanced_loss,
    sigmoid_focal_loss,
)
from .losses.softmax import (
    balanced_softmax_loss,
    cost_matrix,
    cost_sensitive_loss,
    cross_entropy,
    focal_loss,
    ldam_loss,
    logit_adjusted_loss,
)
from .weights import focal_alpha, label_alpha, ldam_margins, log_class_weights

__all__ = [
    "ANCHOR_REDUCTIONS",
    "AnchorReduction",
    "VectorLike",
    "anchor_focal_loss",
    "asymmetric_loss",
    "balanced_softmax_loss",
    "binary_cross_entropy_with_logits",
    "cost_matrix",
    "cost_sensitive_loss",
    "cross_entropy",
    "distribution_balanced_loss",
    "focal_alpha",
    "focal_loss",
    "label_alpha",
    "ldam_loss",
    "ldam_margins",
    "log_class_weights",
    "logit_adjusted_loss",
    "sigmoid_focal_loss",
]
