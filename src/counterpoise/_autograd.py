r"""One custom autograd function for every softmax-family loss.

Cross-entropy, focal, logit-adjusted, balanced-softmax, LDAM and cost-sensitive losses all
apply a softmax to adjusted logits

.. math::

    z_{ic} = s \, (x_{ic} + b_c - m_{y_i} [c = y_i]),

with a bias :math:`b` (logit adjustment), a target margin :math:`m` (LDAM) and a scale
:math:`s`. Writing :math:`p_{ic} = \operatorname{softmax}(z_i)_c` and
:math:`\mathrm{nll}_i = \operatorname{logsumexp}(z_i) - z_{iy_i}`, the per-element loss is

.. math::

    \ell_i = \lambda \Big[(1 - \varepsilon)\, w_{y_i} (1 - p_{iy_i})^\gamma \, \mathrm{nll}_i
      + \frac{\varepsilon}{C} \sum_c w_c (\operatorname{logsumexp}(z_i) - z_{ic})\Big]
      + \sum_c M_{y_i c}\, p_{ic}

(class weights :math:`w`, label smoothing :math:`\varepsilon`, focal exponent :math:`\gamma`,
cross-entropy coefficient :math:`\lambda`, cost matrix :math:`M`). Its gradient has one
structure for all of them:

.. math::

    \frac{\partial \ell_i}{\partial z_{ik}} = (A_i + \lambda \varepsilon W / C)\, p_{ik}
      - A_i [k = y_i] - \lambda \frac{\varepsilon}{C} w_k + p_{ik} (M_{y_i k} - E_i),

with :math:`A_i = \lambda (1 - \varepsilon) w_{y_i} \frac{d}{d\,\mathrm{nll}}
\big[(1 - p_{iy_i})^\gamma \mathrm{nll}_i\big]`, :math:`W = \sum_c w_c` and the expected cost
:math:`E_i = \sum_c M_{y_i c}\, p_{ic}`, times :math:`s` for :math:`x`. So the forward pass
saves only the input and :math:`\operatorname{logsumexp}(z_i)`, one number per element, and the
backward pass rebuilds :math:`p` in a single buffer that becomes the gradient: no probabilities,
one-hot masks or powers of shape (N, C) are kept between the passes.

Everything is computed in float32 (float64 for float64 inputs); gradients come back in the
input's dtype. The class dimension is dimension 1 of an (N, C, d1, ..., dK) input, so
segmentation inputs need no transposed copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.autograd.function import once_differentiable

__all__ = ["SoftmaxTerms", "compute_dtype", "softmax_family_loss"]


@dataclass(frozen=True)
class SoftmaxTerms:
    """What a softmax-family loss adds to plain cross-entropy.

    Tensors are validated by the caller and already in the compute dtype, on the input's
    device. Gradients flow to the input only.

    Attributes:
        weight: (C,) class weights :math:`w`, or None for all ones.
        bias: (C,) added to every row of logits, or None.
        margin: (C,) subtracted from the target logit, or None.
        scale: Multiplies the adjusted logits.
        smoothing: Label smoothing :math:`\\varepsilon` in [0, 1].
        gamma: Focal exponent, >= 0.
        cost: (C, C) cost matrix, row = true class, or None.
        ce: Coefficient :math:`\\lambda` of the cross-entropy part.
    """

    weight: torch.Tensor | None = None
    bias: torch.Tensor | None = None
    margin: torch.Tensor | None = None
    scale: float = 1.0
    smoothing: float = 0.0
    gamma: float = 0.0
    cost: torch.Tensor | None = None
    ce: float = 1.0


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype losses accumulate in: float64 stays, everything else becomes float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def softmax_family_loss(
    input: torch.Tensor, target: torch.Tensor, terms: SoftmaxTerms
) -> torch.Tensor:
    """Unreduced loss of shape (N, d1, ..., dK) in the compute dtype.

    ``input`` is (N, C, d1, ..., dK); ``target`` holds class indices in [0, C) of shape
    (N, d1, ..., dK) (ignored elements replaced by any valid class by the caller, who masks
    them afterwards).
    """
    loss: torch.Tensor = _SoftmaxFamily.apply(input, target, terms)
    return loss


def _per_class(v: torch.Tensor, ndim: int) -> torch.Tensor:
    """View a (C,) vector so that it broadcasts along dimension 1 of an ``ndim`` tensor."""
    return v.view((1, -1) + (1,) * (ndim - 2))


def _adjusted(x: torch.Tensor, t: torch.Tensor, terms: SoftmaxTerms) -> torch.Tensor:
    """The adjusted logits z; ``x`` itself when there is nothing to adjust, else a new tensor."""
    if terms.bias is None and terms.margin is None and terms.scale == 1.0:
        return x
    z = x.clone() if terms.bias is None else x + _per_class(terms.bias, x.ndim)
    if terms.margin is not None:
        z.scatter_add_(1, t, -terms.margin[t])
    if terms.scale != 1.0:
        z.mul_(terms.scale)
    return z


def _weighted_sum(z: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """sum_c w_c z_c along dimension 1, as a batched matrix product (no (N, C) temporary)."""
    n, c = z.shape[:2]
    return torch.matmul(w, z.reshape(n, c, -1)).reshape(z.shape[:1] + z.shape[2:])


def _cost_rows(cost: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """M[y_i] arranged like the input: (N, C, d1, ..., dK)."""
    return cost[target].movedim(-1, 1)


def _focal(nll: torch.Tensor, gamma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(1 - p_t)^gamma and the derivative of (1 - p_t)^gamma * nll with respect to nll."""
    p_t = torch.exp(-nll)
    q = -torch.expm1(-nll)  # 1 - p_t, accurate when p_t is close to 1
    factor = q.pow(gamma)
    # d/dnll [q^g nll] = q^g + g p_t q^(g-1) nll = q^g (1 + g p_t nll / q); nll / q -> 1 as
    # q -> 0, which avoids 0 * inf for 0 < gamma < 1.
    ratio = torch.where(q > 0, nll / torch.where(q > 0, q, 1.0), 1.0)
    return factor, factor * (1 + gamma * p_t * ratio)


class _SoftmaxFamily(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, input: torch.Tensor, target: torch.Tensor, terms: SoftmaxTerms
    ) -> torch.Tensor:
        x = input.to(compute_dtype(input.dtype))
        t = target.unsqueeze(1)
        z = _adjusted(x, t, terms)
        lse = torch.logsumexp(z, dim=1)
        nll = lse - z.gather(1, t).squeeze(1)
        loss = nll if terms.gamma == 0 else _focal(nll, terms.gamma)[0] * nll
        if terms.weight is not None:
            loss = loss * terms.weight[target]
        loss = loss * (terms.ce * (1.0 - terms.smoothing))
        if terms.smoothing > 0:
            # sum_c w_c (lse - z_c) = W lse - sum_c w_c z_c
            if terms.weight is None:
                smooth = z.shape[1] * lse - z.sum(dim=1)
            else:
                smooth = terms.weight.sum() * lse - _weighted_sum(z, terms.weight)
            loss = loss + (terms.ce * terms.smoothing / z.shape[1]) * smooth
        if terms.cost is not None:
            p = z.sub(lse.unsqueeze(1)).exp_()
            loss = loss + p.mul_(_cost_rows(terms.cost, target)).sum(dim=1)
        ctx.save_for_backward(input, target, lse)
        ctx.terms = terms
        return loss

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        input, target, lse = ctx.saved_tensors
        terms: SoftmaxTerms = ctx.terms
        x = input.to(lse.dtype)
        t = target.unsqueeze(1)
        z = _adjusted(x, t, terms)
        nll = lse - z.gather(1, t).squeeze(1)
        # p = softmax(z), built in place when z is already a private buffer.
        p = z.sub_(lse.unsqueeze(1)) if z is not input else z - lse.unsqueeze(1)
        p.exp_()
        a = torch.ones_like(nll) if terms.gamma == 0 else _focal(nll, terms.gamma)[1]
        if terms.weight is not None:
            a = a * terms.weight[target]
        a = a * (terms.ce * (1.0 - terms.smoothing))
        n_classes = p.shape[1]
        coef = a
        if terms.smoothing > 0:
            total = n_classes if terms.weight is None else terms.weight.sum()
            coef = a + terms.ce * terms.smoothing * total / n_classes
        if terms.cost is None:
            p.mul_(coef.unsqueeze(1))
        else:
            # p * (M[y] - E + coef), with E = sum_c M[y, c] p_c
            weighted = _cost_rows(terms.cost, target).mul(p)
            p.mul_((coef - weighted.sum(dim=1)).unsqueeze(1)).add_(weighted)
            del weighted
        p.scatter_add_(1, t, -a.unsqueeze(1))
        if terms.smoothing > 0:
            shift = terms.ce * terms.smoothing / n_classes
            p.sub_(shift if terms.weight is None else shift * _per_class(terms.weight, p.ndim))
        p.mul_((grad * terms.scale).unsqueeze(1))
        return p.to(input.dtype), None, None
