r"""Custom autograd functions: one for every softmax-family loss, one for the binary losses.

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
saves only the input, :math:`\operatorname{logsumexp}(z_i)` and, where they are not constants,
:math:`A_i` and :math:`E_i`: a few numbers per element. The backward pass rebuilds :math:`p =
\exp(z - \operatorname{logsumexp}(z))` in a single buffer that becomes the gradient: no
probabilities, one-hot masks or powers of shape (N, C) are kept between the passes. Both passes
use explicit elementwise operations along dimension 1 rather than PyTorch's (log-)softmax, which
is slow along dimension 1 of (N, C, d1, ..., dK) inputs and on logits whose exponentials
underflow.

The binary losses get the same treatment from a second, elementwise function: with
:math:`\sigma = \sigma(x)`, positive and negative weights :math:`A, B`,
:math:`q = \sigma (1 - y) + y (1 - \sigma)` and the focal :math:`\alpha_t`,

.. math::

    \ell = \alpha_t q^\gamma c, \qquad
    c = A\, y \operatorname{softplus}(-x) + B (1 - y) \operatorname{softplus}(x),

    \frac{\partial \ell}{\partial x} = \alpha_t \big[\gamma q^{\gamma - 1}
      \sigma (1 - \sigma)(1 - 2y)\, c + q^\gamma (\sigma (A y + B (1 - y)) - A y)\big],

saving nothing but the input and the target.

Everything is computed in float32 (float64 for float64 inputs); gradients come back in the
input's dtype. The class dimension is dimension 1 of an (N, C, d1, ..., dK) input, so
segmentation inputs need no transposed copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

__all__ = [
    "SigmoidTerms",
    "SoftmaxTerms",
    "compute_dtype",
    "per_target",
    "sigmoid_family_loss",
    "softmax_family_loss",
]


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
    input: torch.Tensor,
    target: torch.Tensor,
    terms: SoftmaxTerms,
    target_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Unreduced loss of shape (N, d1, ..., dK) in the compute dtype.

    ``input`` is (N, C, d1, ..., dK); ``target`` holds class indices in [0, C) of shape
    (N, d1, ..., dK) (ignored elements replaced by any valid class by the caller, who masks
    them afterwards). ``target_weight``, ``terms.weight[target]``, may be passed when the
    caller has it anyway (for the mean's normaliser), to save a look-up.
    """
    loss: torch.Tensor = _SoftmaxFamily.apply(input, target, terms, target_weight)
    return loss


def per_target(v: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``v[target]`` for a per-class vector ``v``, of the shape of ``target``.

    ``index_select`` rather than indexing: the latter is parallelised with an overhead of
    milliseconds for a few thousand elements on a busy CPU.
    """
    return v.index_select(0, target.reshape(-1)).view(target.shape)


def _per_class(v: torch.Tensor, ndim: int) -> torch.Tensor:
    """View a (C,) vector so that it broadcasts along dimension 1 of an ``ndim`` tensor."""
    return v.view((1, -1) + (1,) * (ndim - 2))


def _adjusted(
    x: torch.Tensor, t: torch.Tensor, terms: SoftmaxTerms, lse: torch.Tensor | None = None
) -> torch.Tensor:
    """The adjusted logits z, less ``lse`` (one number per element) when it is given.

    ``x`` itself when there is nothing to adjust or subtract, else a new tensor written in as
    few passes as possible: s x + s b (- lse), then - s m at the targets.
    """
    s = terms.scale
    row = None if lse is None else lse.unsqueeze(1).neg()
    if terms.bias is not None:
        z = torch.add(_per_class(terms.bias * s, x.ndim), x, alpha=s)
        if row is not None:
            z.add_(row)
    elif row is not None:
        z = torch.add(row, x, alpha=s)  # -lse + s x in one pass
    elif terms.margin is not None or s != 1.0:
        z = x * s if s != 1.0 else x.clone()
    else:
        return x
    if terms.margin is not None:
        z.scatter_add_(1, t, per_target(-s * terms.margin, t))
    return z


def _weighted_sum(z: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """sum_c w_c z_c along dimension 1, as a batched matrix product (no (N, C) temporary)."""
    n, c = z.shape[:2]
    return torch.matmul(w, z.reshape(n, c, -1)).reshape(z.shape[:1] + z.shape[2:])


def _cost_rows(cost: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """M[y_i] arranged like the input: (N, C, d1, ..., dK), a new tensor."""
    rows = cost.index_select(0, target.reshape(-1))
    return rows.view(*target.shape, cost.shape[1]).movedim(-1, 1)


def _log_floor(dtype: torch.dtype) -> float:
    """log of the square root of the smallest normal number: about -43.7 in float32."""
    return 0.5 * math.log(torch.finfo(dtype).tiny)


def _floored_exp_(d: torch.Tensor) -> torch.Tensor:
    """``exp(d)`` in place, with results below ``sqrt(tiny)`` raised to it.

    Exponentials that underflow into subnormal numbers (or to 0 from far below) are some 20
    times slower on x86 CPUs, and so are products with them; large or scaled logits produce
    them in most rows. Raising them to the square root of the smallest normal number (about
    1e-19 in float32, 1e-154 in float64) keeps products of two such factors normal and moves a
    probability by less than that absolute amount: far below float32 resolution.
    """
    return d.clamp_min_(_log_floor(d.dtype)).exp_()


def _exp_(d: torch.Tensor) -> torch.Tensor:
    """``exp(d)`` in place, floored on a CPU (see ``_floored_exp_``)."""
    return _floored_exp_(d) if d.device.type == "cpu" else d.exp_()


def _probabilities(
    x: torch.Tensor, t: torch.Tensor, lse: torch.Tensor, terms: SoftmaxTerms
) -> torch.Tensor:
    """softmax(z) along dimension 1 as exp(z - lse), in a new tensor.

    Elementwise passes are cheaper than PyTorch's softmax along dimension 1, which is slow for
    the (N, C, d1, ..., dK) layout and, on a CPU, yields subnormal probabilities that slow down
    every later operation; on a CPU the exponential is floored (see ``_floored_exp_``).
    """
    return _exp_(_adjusted(x, t, terms, lse))  # always a new tensor


def _focal(nll: torch.Tensor, gamma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(1 - p_t)^gamma and the derivative of (1 - p_t)^gamma * nll with respect to nll."""
    neg_nll = -nll
    q = torch.expm1(neg_nll).neg_()  # 1 - p_t, accurate when p_t is close to 1
    factor = q.pow(gamma)
    # d/dnll [q^g nll] = q^g + g p_t q^(g-1) nll = q^g (1 + g p_t nll / q). nll / q -> 1 as
    # q -> 0, and where q = 0 so are nll and q^g: flooring q keeps 0 * inf out for gamma < 1.
    slope = nll / q.clamp_min(torch.finfo(q.dtype).tiny)
    slope.mul_(neg_nll.exp_()).mul_(gamma).add_(1.0).mul_(factor)
    return factor, slope


def _times(t: torch.Tensor, factor: float) -> torch.Tensor:
    """``t * factor``, skipping the pass over ``t`` when the factor is 1."""
    return t if factor == 1.0 else t * factor


def _target_weight(
    target: torch.Tensor, terms: SoftmaxTerms, w_y: torch.Tensor | None = None
) -> torch.Tensor | float:
    """lambda (1 - eps) w_y: a tensor of the target's shape, or a number without weights.

    ``w_y`` is w[target] if the caller has it. Otherwise the constant is applied to the (C,)
    weights, not to a tensor of the target's size: on a busy CPU, each elementwise operation
    on a segmentation batch costs milliseconds.
    """
    factor = terms.ce * (1.0 - terms.smoothing)
    if terms.weight is None:
        return factor
    if w_y is None:
        return per_target(terms.weight * factor, target)
    return _times(w_y, factor)


class _SoftmaxFamily(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        input: torch.Tensor,
        target: torch.Tensor,
        terms: SoftmaxTerms,
        target_weight: torch.Tensor | None,
    ) -> torch.Tensor:
        x = input.to(compute_dtype(input.dtype))
        t = target.unsqueeze(1)
        z = _adjusted(x, t, terms)
        z_target = z.gather(1, t)
        top = z.amax(dim=1, keepdim=True)
        # d = z - max(z) <= 0 in one buffer (z's own when it is a new tensor), then exp(d):
        # explicit passes rather than log_softmax, which slows down by 5 times on scaled logits
        # (LDAM) whose exponentials underflow into subnormal numbers; see _floored_exp_.
        d = z.sub_(top) if z is not x else z - top
        del z
        n_classes = d.shape[1]
        if terms.smoothing > 0:
            weighted_d = d.sum(dim=1) if terms.weight is None else _weighted_sum(d, terms.weight)
        e = _exp_(d)
        sum_e = e.sum(dim=1, keepdim=True)
        log_sum = sum_e.log()
        # The one statistic kept per element: logsumexp(z) = max(z) + log sum_c exp(z_c - max).
        lse = (top + log_sum).squeeze(1)
        # nll = logsumexp(z) - z_y = (max - z_y) + log sum: two non-negative terms, accurate
        # also when p_y is close to 1 (the order of operations of log_softmax).
        nll = top.sub_(z_target).add_(log_sum).squeeze(1)
        w_target = _target_weight(target, terms, target_weight)
        # a = lambda (1 - eps) w_y d/dnll[focal(nll) nll], the backward pass's coefficient
        a: torch.Tensor | float = w_target
        loss = nll
        if terms.gamma > 0:
            factor, slope = _focal(nll, terms.gamma)
            a = slope.mul_(w_target)
            loss = factor.mul_(nll)
        if isinstance(w_target, torch.Tensor):
            loss = loss * w_target
        else:
            loss = _times(loss, w_target)
        if terms.smoothing > 0:
            # + lambda eps / C * sum_c w_c (-log p_c), with -log p_c = log sum - d_c >= 0
            total = n_classes if terms.weight is None else terms.weight.sum()
            smooth = log_sum.squeeze(1).mul(total).sub_(weighted_d)
            loss = loss.add(smooth, alpha=terms.ce * terms.smoothing / n_classes)
        expected = None
        if terms.cost is not None:
            p = e.div_(sum_e)
            expected = _cost_rows(terms.cost, target).mul_(p).sum(dim=1)
            loss = loss + expected
        # Besides the logsumexp, the coefficient a when it is not a constant, and the expected
        # cost: vectors of the target's size.
        a_saved = a if isinstance(a, torch.Tensor) else None
        ctx.save_for_backward(input, target, lse, a_saved, expected)
        ctx.terms = terms
        return loss

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None, None]:
        input, target, lse, saved_a, expected = ctx.saved_tensors
        terms: SoftmaxTerms = ctx.terms
        t = target.unsqueeze(1)
        # p = softmax(z) becomes the gradient: the backward pass holds one (N, C) buffer.
        p = _probabilities(input.to(lse.dtype), t, lse, terms)
        g = _times(grad, terms.scale)  # chain factor of z = s (x + b - m)
        a = _target_weight(target, terms) if saved_a is None else saved_a
        ag = g * a  # a times the incoming gradient
        n_classes = p.shape[1]
        # The coefficient of p: a, plus lambda eps W / C from the smoothing term.
        pg = ag
        if terms.smoothing > 0:
            total = n_classes if terms.weight is None else terms.weight.sum()
            pg = ag + g * (terms.ce * terms.smoothing * total / n_classes)
        if terms.cost is None:
            p.mul_(pg.unsqueeze(1))
        else:
            # p * (coef - g E + g M[y]), with E = sum_c M[y, c] p_c from the forward pass
            factor = _cost_rows(terms.cost, target).mul_(g.unsqueeze(1))
            p.mul_(factor.add_((pg - expected * g).unsqueeze(1)))
            del factor
        p.scatter_add_(1, t, (-ag).unsqueeze(1))
        if terms.smoothing > 0:
            shift = (g * (terms.ce * terms.smoothing / n_classes)).unsqueeze(1)
            if terms.weight is None:
                p.sub_(shift)
            else:
                p.addcmul_(shift, _per_class(terms.weight, p.ndim), value=-1.0)
        return p.to(input.dtype), None, None, None


@dataclass(frozen=True)
class SigmoidTerms:
    """What a sigmoid-family loss adds to binary cross-entropy.

    Attributes:
        pos_weight: Weight :math:`A` of the positive term, broadcastable to the input, in the
            compute dtype, or None for 1.
        neg_weight: Weight :math:`B` of the negative term, or None for 1.
        gamma: Focal exponent, >= 0.
        alpha: Focal weight of the positives (negatives get 1 - alpha), or None for none.
    """

    pos_weight: torch.Tensor | None = None
    neg_weight: torch.Tensor | None = None
    gamma: float = 0.0
    alpha: float | None = None


def sigmoid_family_loss(
    input: torch.Tensor, target: torch.Tensor, terms: SigmoidTerms
) -> torch.Tensor:
    """Unreduced loss of the shape of ``input`` in the compute dtype; ``target`` in [0, 1]."""
    loss: torch.Tensor = _SigmoidFamily.apply(input, target, terms)
    return loss


def _mix(y: torch.Tensor, terms: SigmoidTerms) -> torch.Tensor | None:
    """A y + B (1 - y) = B + (A - B) y in one pass, or None when both weights are 1."""
    a, b = terms.pos_weight, terms.neg_weight
    if a is None and b is None:
        return None
    a_ = y.new_ones(()) if a is None else a
    b_ = y.new_ones(()) if b is None else b
    return torch.addcmul(b_, y, a_ - b_)


def _negative_part(y: torch.Tensor, terms: SigmoidTerms) -> torch.Tensor:
    """B (1 - y) = B - B y in one pass."""
    b = terms.neg_weight
    return torch.rsub(y, 1.0) if b is None else torch.addcmul(b, y, b, value=-1.0)


def _focusing(s: torch.Tensor, y: torch.Tensor, gamma: float) -> torch.Tensor:
    """q = 1 - p_t = s (1 - y) + y (1 - s) = s - 2 s y + y; for gamma < 1 raised to the
    smallest normal number: q^gamma keeps its value, and q^(gamma - 1), whose factors vanish
    where q does, stays finite."""
    q = torch.addcmul(s, s, y, value=-2.0).add_(y)
    return q.clamp_min_(torch.finfo(q.dtype).tiny) if gamma < 1 else q


def _alpha_t(y: torch.Tensor, alpha: float) -> torch.Tensor:
    """alpha y + (1 - alpha)(1 - y) = (1 - alpha) + (2 alpha - 1) y in one pass."""
    return torch.add(y.new_full((), 1 - alpha), y, alpha=2 * alpha - 1)


def _binary_ce(x: torch.Tensor, y: torch.Tensor, terms: SigmoidTerms) -> torch.Tensor:
    """c = A y softplus(-x) + B (1 - y) softplus(x) = softplus(-x) (A y + B (1 - y))
    + B (1 - y) x, with softplus(-x) = -logsigmoid(x)."""
    # logsigmoid, without F.softplus's linear cut-off at 20
    c = F.logsigmoid(x)
    mix = _mix(y, terms)
    c = c.neg_() if mix is None else c.mul_(mix.neg_())
    del mix  # before the next temporary
    return c.addcmul_(_negative_part(y, terms), x)


class _SigmoidFamily(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, input: torch.Tensor, target: torch.Tensor, terms: SigmoidTerms
    ) -> torch.Tensor:
        dtype = compute_dtype(input.dtype)
        x, y = input.to(dtype), target.to(dtype)
        loss = _binary_ce(x, y, terms)
        if terms.gamma > 0:
            loss.mul_(_focusing(torch.sigmoid(x), y, terms.gamma).pow_(terms.gamma))
        if terms.alpha is not None:
            loss.mul_(_alpha_t(y, terms.alpha))
        ctx.save_for_backward(input, target)
        ctx.terms = terms
        return loss

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        input, target = ctx.saved_tensors
        terms: SigmoidTerms = ctx.terms
        x, y = input.to(grad.dtype), target.to(grad.dtype)
        if terms.gamma > 0:
            # d/dx [q^g c] = q^(g - 1) [g dq/dx c + q dc/dx], dq/dx = s (1 - s)(1 - 2 y);
            # in an order that keeps few temporaries alive at once
            focus = _binary_ce(x, y, terms)
            s = torch.sigmoid(x)
            q = _focusing(s, y, terms.gamma)
            # c (1 - 2 y) s (1 - s), as f - 2 f y, then f s - f s s: in place, no temporary
            focus.addcmul_(focus, y, value=-2.0).mul_(s).addcmul_(focus, s, value=-1.0)
            dc = _dc(s, y, terms).mul_(q).add_(focus, alpha=terms.gamma)
            del focus
            dc.mul_(q if terms.gamma == 2 else q.pow_(terms.gamma - 1))
            del q
        else:
            dc = _dc(torch.sigmoid(x), y, terms)
        if terms.alpha is not None:
            dc.mul_(_alpha_t(y, terms.alpha))
        return dc.mul_(grad).to(input.dtype), None, None


def _dc(s: torch.Tensor, y: torch.Tensor, terms: SigmoidTerms) -> torch.Tensor:
    """dc/dx = s (A y + B (1 - y)) - A y, written into ``s``."""
    mix = _mix(y, terms)
    if mix is not None:
        s.mul_(mix)
    del mix
    if terms.pos_weight is None:
        return s.sub_(y)
    return s.addcmul_(y, terms.pos_weight, value=-1.0)
