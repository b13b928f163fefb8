r"""Custom autograd functions: the softmax family, the expected cost, and the sigmoid family.

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
:math:`A_i`: a few numbers per element. The backward pass rebuilds :math:`p =
\exp(z - \operatorname{logsumexp}(z))` in a single buffer that becomes the gradient: no
probabilities, one-hot masks or powers of shape (N, C) are kept between the passes. Both passes
use explicit elementwise operations along dimension 1 rather than PyTorch's (log-)softmax, which
is slow along dimension 1 of (N, C, d1, ..., dK) inputs and on logits whose exponentials
underflow.

The expected cost (a cost matrix :math:`M`, the cost-sensitive loss, with :math:`\lambda` times
cross-entropy and nothing else) has a function of its own, which computes the gradient in the
forward pass, where :math:`p` and the rows :math:`M_{y_i}` are at hand anyway, and keeps it:
rebuilding both in the backward pass would take twice the passes over (N, C) data. On a CPU it
works in chunks of rows (see below), so that :math:`p` and the rows of :math:`M` stay in the
cache; the rows :math:`M_{y_i}` are gathered from the (C, C) matrix, never as an (N, C, C)
tensor.

The binary and multilabel losses share another, elementwise function, in two forms. The
joint form (binary cross-entropy, the sigmoid focal loss) has one modulating factor from the
soft target: with :math:`\sigma = \sigma(x)`, positive and negative weights :math:`A, B`,
:math:`q = \sigma (1 - y) + y (1 - \sigma)` and the focal :math:`\alpha_t`,

.. math::

    \ell = \alpha_t q^\gamma c, \qquad
    c = A\, y \operatorname{softplus}(-x) + B (1 - y) \operatorname{softplus}(x),

    \frac{\partial \ell}{\partial x} = \alpha_t \big[\gamma q^{\gamma - 1}
      \sigma (1 - \sigma)(1 - 2y)\, c + q^\gamma (\sigma (A y + B (1 - y)) - A y)\big].

The split form (the asymmetric and distribution-balanced losses) weights a positive and a
negative term, each with its own probability, by :math:`y` and :math:`1 - y` (see
:class:`SplitTerms`). Both compute the gradient in the forward pass, from the quantities the
loss needs anyway, and keep it for the backward pass, which only multiplies it by the incoming
gradient: one tensor of the input's size between the passes instead of a second evaluation.
On a CPU the work goes in chunks of rows of about ``_CHUNK`` elements, so that the
temporaries stay in the cache and the peak memory is the loss, the gradient and a few chunks.
For 0/1 targets (checked per chunk), every element has one term only, a softplus and a
sigmoid at a signed argument (``_single_term``), which halves the transcendental functions of
the focal and distribution-balanced losses.

Everything is computed in float32 (float64 for float64 inputs); gradients come back in the
input's dtype. The class dimension is dimension 1 of an (N, C, d1, ..., dK) input, so
segmentation inputs need no transposed copy.

Every function is written for :mod:`torch.func` (a ``setup_context`` and a ``forward``
without context) with a ``vmap`` rule: every tensor argument is per row (dimension 0), so a
vmapped batch of B calls is one call on B times the rows (``_by_rows``), and the kernels run on
plain tensors. The losses are differentiable once: the gradient is computed outside autograd,
so a graph built through it (``create_graph=True``, as :func:`torch.func.grad` builds it) holds
a node that raises when it is differentiated itself (``_first_derivative``), rather than give
a second derivative without its second-order terms.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import torch
import torch.nn.functional as F

from .._checks import autocast_enabled, compute_dtype, fail, vmapped

__all__ = [
    "Rebalance",
    "SigmoidTerms",
    "SoftmaxTerms",
    "SplitTerms",
    "per_target",
    "sigmoid_family_loss",
    "softmax_family_loss",
    "weighted_sum",
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


def _no_second_derivative() -> NoReturn:
    fail(
        "create_graph",
        "False when a gradient of the loss is differentiated again (the losses are "
        "differentiable once: no double backward)",
        True,
        error=RuntimeError,
    )


class _Rowwise(torch.autograd.Function):
    """The functions here: every tensor argument holds one row per element of dimension 0,
    and ``vmap`` runs them on all rows of the batch at once (see ``_by_rows``).

    They have no forward-mode rule (``jvp``): :func:`torch.compile` cannot trace a function
    that defines one, and PyTorch's error for the missing rule is clear.
    """

    @classmethod
    def vmap(cls, info: Any, in_dims: Any, *args: Any) -> Any:
        return _by_rows(cls, info, in_dims, *args)


class _FirstDerivative(_Rowwise):
    """A gradient computed outside autograd, as a node of a graph that refuses to be
    differentiated: ``compute(terms, *tensors)``."""

    @staticmethod
    def forward(compute: Callable[..., torch.Tensor], terms: Any, *tensors: Any) -> torch.Tensor:
        return compute(terms, *tensors)

    @staticmethod
    def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
        pass

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        _no_second_derivative()


def _first_derivative(
    compute: Callable[..., torch.Tensor], terms: Any, *tensors: torch.Tensor | None
) -> torch.Tensor:
    """``compute(terms, *tensors)``, the gradient of a backward pass from tensors that it
    saved, also where a graph is being built through it.

    PyTorch runs a backward pass with grad mode on to build a graph of the gradient:
    ``create_graph=True``, and :func:`torch.func.grad`, which always builds one for transforms
    that might follow. The gradients here are computed outside autograd, so such a graph would
    miss their dependence on the input: a second derivative (double backward, a Hessian, a
    gradient penalty) would silently lack its second-order terms. There the gradient becomes
    the output of ``_FirstDerivative``, connected to the tensors it depends on (the input
    among them), whose own derivative raises: a first derivative works under every transform,
    a second fails where it is taken. (PyTorch's ``once_differentiable`` connects only to the
    incoming gradient, which after a sum or a mean does not require grad: the second
    derivative would quietly miss the terms.)
    """
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors):
        result: torch.Tensor = _FirstDerivative.apply(compute, terms, *tensors)
        return result
    return compute(terms, *tensors)


def _by_rows(function: Any, info: Any, in_dims: Any, *args: Any) -> tuple[Any, Any]:
    """The ``vmap`` rule of the functions here: one call on B times the rows.

    Every tensor argument holds one row per element of dimension 0 (the input's samples), and
    the rows are independent; so B vmapped calls with N rows each are one call with B x N rows
    (the batch dimension moved first and merged with dimension 0, tensors that are not batched
    repeated), whose results are split again. For 0-d inputs (one logit per call) the batch
    dimension is the rows. The per-class tensors of the terms are shared by all rows and may
    not be batched.
    """
    for arg in args:
        if dataclasses.is_dataclass(arg):
            _refuse_batched(arg)
    size = info.batch_size
    lead, dim = next((a, d) for a, d in zip(args, in_dims, strict=True) if d is not None)
    shape = lead.shape[:dim] + lead.shape[dim + 1 :]  # of one call

    def merged(arg: Any, d: int | None) -> Any:
        if not isinstance(arg, torch.Tensor):
            return arg
        arg = arg.expand(size, *arg.shape) if d is None else arg.movedim(d, 0)
        return arg.flatten(0, 1) if shape else arg

    out = function.apply(*(merged(a, d) for a, d in zip(args, in_dims, strict=True)))

    def split(o: Any) -> Any:
        return o.unflatten(0, (size, shape[0])) if isinstance(o, torch.Tensor) and shape else o

    if isinstance(out, tuple):
        return tuple(split(o) for o in out), tuple(None if o is None else 0 for o in out)
    return split(out), 0


def _refuse_batched(terms: Any) -> None:
    """Raise when a tensor of ``terms`` (class weights, priors, counts, costs) is batched by
    :func:`torch.func.vmap`: they are the same for every call of a vmapped loss."""
    for field in dataclasses.fields(terms):
        value = getattr(terms, field.name)
        if dataclasses.is_dataclass(value):
            _refuse_batched(value)
        elif isinstance(value, torch.Tensor) and vmapped(value):
            fail(
                "in_dims",
                "None for a loss's class weights, priors, counts and costs (vmap over the "
                "logits, targets, sample weights and denominators)",
                f"a batched {field.name}",
            )


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
    caller has it anyway (for the mean's normaliser), to save a look-up. With a cost matrix,
    ``terms`` holds nothing but it and the cross-entropy coefficient (the cost-sensitive loss).
    """
    if terms.cost is not None:
        with_grad = input.requires_grad and torch.is_grad_enabled()
        cost: tuple[torch.Tensor, Any] = _ExpectedCost.apply(input, target, terms, with_grad)
        return cost[0]
    out: tuple[torch.Tensor, ...] = _SoftmaxFamily.apply(input, target, terms, target_weight)
    return out[0]


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


def weighted_sum(z: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """sum_c w_c z_c along dimension 1, as a batched matrix product (no (N, C) temporary)."""
    n, c = z.shape[:2]
    return full_matmul(w, z.reshape(n, c, -1)).reshape(z.shape[:1] + z.shape[2:])


def full_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b`` in the operands' dtype, also under autocast (which would run a matrix product
    in half precision: a loss computes in float32)."""
    if autocast_enabled(a):
        with torch.autocast(a.device.type, enabled=False):
            return torch.matmul(a, b)
    return torch.matmul(a, b)


def _cost_rows(
    cost: torch.Tensor, target: torch.Tensor, out: torch.Tensor | None = None
) -> torch.Tensor:
    """M[y_i] arranged like the input: (N, C, d1, ..., dK); written into ``out`` (of that
    shape, contiguous) for (N,) targets, else a new tensor."""
    if out is not None and target.ndim == 1:
        return torch.index_select(cost, 0, target, out=out)
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


class _SoftmaxFamily(_Rowwise):
    """The loss, logsumexp(z) and, where it is not a constant, the coefficient A (the last two
    kept for the backward pass)."""

    @staticmethod
    def forward(
        input: torch.Tensor,
        target: torch.Tensor,
        terms: SoftmaxTerms,
        target_weight: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
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
            weighted_d = d.sum(dim=1) if terms.weight is None else weighted_sum(d, terms.weight)
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
        # Besides the logsumexp, the coefficient a when it is not a constant: vectors of the
        # target's size. (Not the input target_weight itself, which the backward pass looks
        # up again: autograd cannot keep an input returned as an output.)
        kept = a if isinstance(a, torch.Tensor) and a is not target_weight else None
        return loss, lse, kept

    @staticmethod
    def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
        input, target, terms, _ = inputs
        _, lse, a = output
        ctx.mark_non_differentiable(*(t for t in (lse, a) if t is not None))
        ctx.set_materialize_grads(False)  # no zeros for the outputs that are kept, not used
        ctx.save_for_backward(input, target, lse, a)
        ctx.terms = terms

    @staticmethod
    def backward(
        ctx: Any, grad: torch.Tensor | None, *unused: Any
    ) -> tuple[torch.Tensor | None, None, None, None]:
        if grad is None:
            return None, None, None, None
        input, target, lse, a = ctx.saved_tensors
        return (
            _first_derivative(_softmax_gradient, ctx.terms, input, target, lse, a, grad),
            None,
            None,
            None,
        )


def _softmax_gradient(
    terms: SoftmaxTerms,
    input: torch.Tensor,
    target: torch.Tensor,
    lse: torch.Tensor,
    saved_a: torch.Tensor | None,
    grad: torch.Tensor,
) -> torch.Tensor:
    """The softmax family's gradient with respect to the input, for the incoming ``grad``."""
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
    p.mul_(pg.unsqueeze(1))
    p.scatter_add_(1, t, (-ag).unsqueeze(1))
    if terms.smoothing > 0:
        shift = (g * (terms.ce * terms.smoothing / n_classes)).unsqueeze(1)
        if terms.weight is None:
            p.sub_(shift)
        else:
            p.addcmul_(shift, _per_class(terms.weight, p.ndim), value=-1.0)
    return p.to(input.dtype)


class _KeptGradient(_Rowwise):
    """A function whose forward pass returns the loss and its gradient for an incoming
    gradient of 1 (None without ``with_grad``), which the backward pass only scales."""

    @staticmethod
    def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
        _, grad = output
        if grad is not None:
            ctx.mark_non_differentiable(grad)
        # no tensor of zeros, of the input's size, as the incoming gradient of the kept one
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(inputs[0], grad)
        ctx.inputs = len(inputs)

    @staticmethod
    def backward(
        ctx: Any, upstream: torch.Tensor | None, *unused: Any
    ) -> tuple[torch.Tensor | None, ...]:
        input, grad = ctx.saved_tensors
        scaled = None
        if upstream is not None:
            scaled = _first_derivative(_scaled, None, grad, upstream, input)
        return (scaled, *(None,) * (ctx.inputs - 1))


def _scaled(
    terms: None, grad: torch.Tensor, upstream: torch.Tensor, input: torch.Tensor
) -> torch.Tensor:
    """``grad`` times the incoming gradient (one per element of the loss, broadcast along the
    class dimension 1 where ``grad`` has one), in the input's dtype; ``input`` is there for
    the graph (see ``_first_derivative``)."""
    del terms
    if upstream.ndim < grad.ndim:
        upstream = upstream.unsqueeze(1)
    return torch.mul(grad, upstream).to(input.dtype)


class _ExpectedCost(_KeptGradient):
    """The cost-sensitive loss: sum_c M[y, c] p_c + lambda nll, and its gradient."""

    @staticmethod
    def forward(
        input: torch.Tensor, target: torch.Tensor, terms: SoftmaxTerms, with_grad: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        dtype = compute_dtype(input.dtype)
        loss = torch.empty(target.shape, dtype=dtype, device=input.device)
        grad = torch.empty(input.shape, dtype=dtype, device=input.device) if with_grad else None
        for rows in _row_chunks(input, _COST_CHUNK):
            _expected_cost(
                input[rows].to(dtype),
                target[rows],
                terms,
                loss[rows],
                None if grad is None else grad[rows],
            )
        return loss, grad


def _expected_cost(
    x: torch.Tensor,
    target: torch.Tensor,
    terms: SoftmaxTerms,
    loss: torch.Tensor,
    grad: torch.Tensor | None,
) -> None:
    """The expected cost plus lambda times cross-entropy on a chunk of rows, into ``loss``,
    and its gradient into ``grad``:

        l = E + lambda nll,  E = sum_c M[y, c] p_c,
        dl/dx_k = p_k (M[y, k] - E) + lambda (p_k - [k = y]).
    """
    assert terms.cost is not None
    t = target.unsqueeze(1)
    top = x.amax(dim=1, keepdim=True)
    e = _exp_(x - top)  # floored on a CPU, see _floored_exp_
    sum_e = e.sum(dim=1, keepdim=True)
    lam = terms.ce
    nll = None
    if lam > 0:
        # nll = (max - x_y) + log sum_c exp(x_c - max): two non-negative terms
        nll = top.sub_(x.gather(1, t)).add_(sum_e.log()).squeeze(1)
    p = e.div_(sum_e)
    # q = M[y] * p: the rows of the cost matrix, gathered once for the loss and the gradient
    # (for (N, C) inputs into the gradient's buffer, which then becomes the gradient in place)
    q = _cost_rows(terms.cost, target, grad).mul_(p)
    expected = torch.sum(q, dim=1, out=loss)
    if grad is not None:
        # p (M[y] - E) + lambda p = q + (lambda - E) p, then - lambda at the target
        coefficient = torch.rsub(expected, lam).unsqueeze(1)
        if q is grad:
            grad.addcmul_(p, coefficient)
        else:
            torch.addcmul(q, p, coefficient, out=grad)
        if lam > 0:
            grad.scatter_add_(1, t, grad.new_full((), -lam).expand(t.shape))
    if nll is not None:
        loss.add_(nll, alpha=lam)


@dataclass(frozen=True)
class SigmoidTerms:
    """What a sigmoid-family loss adds to binary cross-entropy, in the joint (torchvision) form.

    One modulating factor from the soft target's :math:`p_t`:
    :math:`\\ell = \\alpha_t q^\\gamma c` with :math:`q = 1 - p_t` (see the module docstring).

    Attributes:
        pos_weight: Weight :math:`A` of the positive term, broadcastable to the input, in the
            compute dtype, or None for 1.
        neg_weight: Weight :math:`B` of the negative term, or None for 1.
        gamma: Focal exponent, >= 0.
        alpha: Focal weight of the positives (negatives get 1 - alpha): a number, a tensor
            broadcastable to the input in the compute dtype (one per label), or None for none.
        weight: A factor of the whole loss, broadcastable to the input (one per label), or
            None for 1.
    """

    pos_weight: torch.Tensor | None = None
    neg_weight: torch.Tensor | None = None
    gamma: float = 0.0
    alpha: float | torch.Tensor | None = None
    weight: torch.Tensor | None = None


@dataclass(frozen=True)
class Rebalance:
    """A per-element weight :math:`\\alpha + \\sigma(\\beta (r_{kl} - \\mu))` with
    :math:`r_{kl} = c_l / R_k`, computed chunk by chunk (never as a whole (N, L) tensor) from
    the per-sample :math:`1 / R_k`, which :func:`sigmoid_family_loss` takes as ``inv_rate``.

    Attributes:
        scaled: :math:`\\beta c_l`, broadcastable along dimension 1 of the input.
        alpha: The lift :math:`\\alpha`.
        offset: :math:`\\beta \\mu`.
    """

    scaled: torch.Tensor
    alpha: float
    offset: float

    def weight(self, inv_rate: torch.Tensor) -> torch.Tensor:
        """The weights of the rows whose :math:`1 / R_k` is ``inv_rate``."""
        # beta c_l / R_k - beta mu; 1 / 0 = inf gives sigmoid(inf) = 1. (A broadcasting
        # multiplication then a subtraction: addcmul's broadcasting path is twice as slow.)
        w = torch.mul(inv_rate, self.scaled).sub_(self.offset)
        return w.sigmoid_().add_(self.alpha)


@dataclass(frozen=True)
class SplitTerms:
    """A positive and a negative term, each with its own probability (ASL, DB).

    With :math:`z = x + b` and :math:`p_m = \\max(\\sigma(\\lambda z) - m, 0)`,

    .. math::

        \\ell = w \\big[y\\, \\sigma(-z)^{\\gamma_+} \\operatorname{softplus}(-z)
          + (1 - y)\\, p_m^{\\gamma_-} \\big(-\\log(1 - p_m)\\big) / \\lambda\\big];

    with :math:`m = 0`, :math:`-\\log(1 - p_m) = \\operatorname{softplus}(\\lambda z)`.

    Attributes:
        gamma_pos: :math:`\\gamma_+ \\ge 0`.
        gamma_neg: :math:`\\gamma_- \\ge 0`.
        clip: The probability margin :math:`m` in [0, 1).
        neg_scale: :math:`\\lambda > 0`.
        bias: :math:`b`, broadcastable to the input in the compute dtype, or None.
        rebalance: The weight :math:`w`, or None for 1.
    """

    gamma_pos: float = 0.0
    gamma_neg: float = 0.0
    clip: float = 0.0
    neg_scale: float = 1.0
    bias: torch.Tensor | None = None
    rebalance: Rebalance | None = None


#: Elements per chunk of the sigmoid family on a CPU: about the size at which elementwise
#: operations are fastest per element (their temporaries stay in the cache, and the fixed cost
#: of each operation is spread over enough elements).
_CHUNK = 1 << 17
#: Elements per chunk of the expected cost on a CPU: its chunks hold more operations (a
#: softmax, a gather of cost rows, two reductions), whose fixed cost is spread over more rows.
_COST_CHUNK = 1 << 19


def sigmoid_family_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    terms: SigmoidTerms | SplitTerms,
    inv_rate: torch.Tensor | None = None,
) -> torch.Tensor:
    """Unreduced loss of the shape of ``input`` in the compute dtype; ``target`` in [0, 1].

    ``inv_rate`` is the :math:`1 / R_k` of ``terms.rebalance`` (see :class:`Rebalance`): of
    the input's shape with dimension 1 of size 1 (infinite where :math:`R_k = 0`), in the
    compute dtype; None without a rebalancing weight.
    """
    with_grad = input.requires_grad and torch.is_grad_enabled()
    out: tuple[torch.Tensor, Any] = _SigmoidFamily.apply(input, target, terms, with_grad, inv_rate)
    return out[0]


def _row_chunks(t: torch.Tensor, chunk: int = _CHUNK) -> list[Any]:
    """Slices of dimension 0 holding about ``chunk`` elements each on a CPU; ``[...]`` (the
    whole tensor) on other devices, for small tensors and for 0-d ones."""
    if t.ndim == 0 or t.device.type != "cpu" or t.numel() <= chunk:
        return [...]
    if torch.compiler.is_compiling():
        return [...]  # one graph for every batch size: the compiler fuses the passes anyway
    rows = t.shape[0]
    count = min(rows, -(-t.numel() // chunk))  # ceil; chunks of equal numbers of rows
    step = -(-rows // count)
    return [slice(i, i + step) for i in range(0, rows, step)]


def _logsigmoid(z: torch.Tensor, beta: float = -1.0) -> torch.Tensor:
    """``softplus(z, beta)``: ``log sigmoid(z)`` for ``beta = -1``, ``softplus(beta z) / beta``
    otherwise, a new tensor.

    ``F.softplus`` returns ``z`` where ``beta z`` exceeds a threshold; at 20 (float32) and 40
    (float64) that is exact to the dtype's precision (the neglected term is below
    ``exp(-threshold) / threshold`` relative). It is some three times faster than
    ``F.logsigmoid``, which also writes a second buffer.
    """
    return F.softplus(z, beta, 40.0 if z.dtype == torch.float64 else 20.0)


def _power(t: torch.Tensor, exponent: float) -> torch.Tensor:
    """``t ** exponent``: ``t`` itself for 1, else a new tensor (squares for 2 and 4, which
    ``pow`` computes several times slower)."""
    if exponent == 1:
        return t
    if exponent == 2:
        return torch.square(t)
    if exponent == 4:
        return torch.square(t).square_()
    return t.pow(exponent)


def _mix(y: torch.Tensor, terms: SigmoidTerms) -> torch.Tensor | None:
    """A y + B (1 - y) = B + (A - B) y in one pass, or None when both weights are 1."""
    a, b = terms.pos_weight, terms.neg_weight
    if a is None and b is None:
        return None
    a_ = y.new_ones(()) if a is None else a
    b_ = y.new_ones(()) if b is None else b
    return torch.addcmul(b_, y, a_ - b_)


def _focusing(s: torch.Tensor, y: torch.Tensor, gamma: float) -> torch.Tensor:
    """q = 1 - p_t = s (1 - y) + y (1 - s) = s - 2 s y + y; for gamma < 1 raised to the
    smallest normal number: q^gamma keeps its value, and q^(gamma - 1), whose factors vanish
    where q does, stays finite."""
    q = torch.addcmul(s, s, y, value=-2.0).add_(y)
    return q.clamp_min_(torch.finfo(q.dtype).tiny) if gamma < 1 else q


def _alpha_t(y: torch.Tensor, alpha: float | torch.Tensor) -> torch.Tensor:
    """alpha y + (1 - alpha)(1 - y) = (1 - alpha) + (2 alpha - 1) y in one pass."""
    if isinstance(alpha, torch.Tensor):
        return torch.addcmul(1 - alpha, y, 2 * alpha - 1)
    return torch.add(y.new_full((), 1 - alpha), y, alpha=2 * alpha - 1)


def _dc_(s: torch.Tensor, y: torch.Tensor, mix: torch.Tensor | None, terms: SigmoidTerms) -> None:
    """dc/dx = s (A y + B (1 - y)) - A y, written into ``s``."""
    if mix is not None:
        s.mul_(mix)
    if terms.pos_weight is None:
        s.sub_(y)
    else:
        s.addcmul_(y, terms.pos_weight, value=-1.0)


def _binary(y: torch.Tensor) -> bool:
    """Whether every target of a CPU chunk is 0 or 1: sum y (1 - y) = 0, a sum of terms that
    are positive for any y strictly between 0 and 1 (no cancellation). False off the CPU,
    where reading the answer would synchronise with the device."""
    if y.device.type != "cpu" or torch.compiler.is_compiling():
        return False  # (a traced graph cannot branch on data either)
    flat = y.reshape(-1)
    return not bool(torch.dot(flat, torch.rsub(flat, 1.0)))


def _single_term(
    z: torch.Tensor, y: torch.Tensor, lam: float, gamma: float, grad: torch.Tensor | None
) -> torch.Tensor:
    """For 0/1 targets, the one term that each element has: with a = -z for a positive and
    lambda z for a negative,

        loss = sigma(a)^g softplus(a) / (lambda for a negative),
        dloss/dz = (1 - 2 y) sigma(a)^g (g sigma(-a) softplus(a) + sigma(a))

    (da/dz = lambda cancels the 1 / lambda): one softplus and one sigmoid where both terms
    would cost two of each. Returns the loss (a new tensor); the gradient goes into ``grad``."""
    if lam == 1:
        a = torch.addcmul(z, z, y, value=-2.0)
    else:
        a = torch.mul(z, lam).addcmul_(y, z, value=-1.0 - lam)  # z (lambda - (1 + lambda) y)
    term = _logsigmoid(a, 1.0)  # softplus(a)
    a.sigmoid_()
    if gamma > 0:
        factor = _power(a, gamma)
        if grad is not None:
            # (g (1 - sigma) softplus + sigma) sigma^g (1 - 2 y)
            torch.mul(term, gamma, out=grad)
            grad.addcmul_(grad, a, value=-1.0).add_(a).mul_(factor)
            grad.addcmul_(grad, y, value=-2.0)
        term.mul_(factor)
        del factor
    elif grad is not None:
        torch.addcmul(a, a, y, value=-2.0, out=grad)
    if lam != 1:
        term.addcmul_(term, y, value=lam - 1.0).div_(lam)  # times (1 + (lambda - 1) y) / lambda
    return term


def _joint(
    x: torch.Tensor,
    y: torch.Tensor,
    terms: SigmoidTerms,
    inv_rate: torch.Tensor | None,
    loss: torch.Tensor,
    grad: torch.Tensor | None,
) -> None:
    """The joint form on one chunk: its loss into ``loss``, its gradient into ``grad``."""
    del inv_rate  # every weight of the joint form is per label
    mix = _mix(y, terms)
    factor = None
    term = None
    if terms.gamma > 0 and _binary(y):
        # For 0/1 targets q = 1 - p_t = sigmoid(x (1 - 2 y)) and c = mix softplus(x (1 - 2 y)).
        term = _single_term(x, y, 1.0, terms.gamma, grad)
        factor = mix
    else:
        _joint_terms(x, y, terms, mix, loss, grad)
    if terms.alpha is not None:
        a_t = _alpha_t(y, terms.alpha)
        factor = a_t if factor is None else a_t.mul_(factor)
    if terms.weight is not None:
        factor = terms.weight if factor is None else factor.mul_(terms.weight)
    _finish(term, factor, loss, grad)


def _finish(
    term: torch.Tensor | None,
    factor: torch.Tensor | None,
    loss: torch.Tensor,
    grad: torch.Tensor | None,
) -> None:
    """Multiply the loss (``term``, or ``loss`` itself when None) and the gradient by
    ``factor``, writing the loss into ``loss``."""
    if term is None:
        if factor is not None:
            loss.mul_(factor)
    elif factor is None:
        loss.copy_(term)
    else:
        torch.mul(term, factor, out=loss)
    if grad is not None and factor is not None:
        grad.mul_(factor)


def _joint_terms(
    x: torch.Tensor,
    y: torch.Tensor,
    terms: SigmoidTerms,
    mix: torch.Tensor | None,
    loss: torch.Tensor,
    grad: torch.Tensor | None,
) -> None:
    """q^g c and its gradient for any targets in [0, 1] (without alpha_t and the weight)."""
    # c = A y softplus(-x) + B (1 - y) softplus(x) = B x (1 - y) - mix log sigmoid(x),
    # as softplus(x) = softplus(-x) + x
    log_s = _logsigmoid(x)
    torch.addcmul(x, x, y, value=-1.0, out=loss)
    if terms.neg_weight is not None:
        loss.mul_(terms.neg_weight)
    if mix is None:
        loss.sub_(log_s)
    else:
        loss.addcmul_(mix, log_s, value=-1.0)
    del log_s
    gamma = terms.gamma
    if gamma > 0:
        s = torch.sigmoid(x) if grad is None else torch.sigmoid(x, out=grad)
        q = _focusing(s, y, gamma)
        if grad is not None:
            # d/dx [q^g c] = q^(g - 1) [g dq/dx c + q dc/dx], dq/dx = s (1 - s)(1 - 2 y)
            slope = torch.addcmul(s, s, s, value=-1.0)
            slope.addcmul_(slope, y, value=-2.0).mul_(loss)
            _dc_(s, y, mix, terms)
            s.mul_(q).add_(slope, alpha=gamma)
            del slope
            if gamma != 1:
                s.mul_(q if gamma == 2 else q.pow(gamma - 1))
        loss.mul_(q.square_() if gamma == 2 else q.pow_(gamma))
    elif grad is not None:
        _dc_(torch.sigmoid(x, out=grad), y, mix, terms)


def _positive_side(
    z: torch.Tensor,
    log_s: torch.Tensor,
    s: torch.Tensor,
    u: torch.Tensor | None,
    gamma: float,
    with_grad: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """-f and df/dz for f = u^g softplus(-z): -f = u^g log s and df/dz = u^g (g s log s - u).

    ``log_s`` is log sigmoid(z), ``s`` sigmoid(z) and ``u`` sigmoid(-z), or None to compute it
    here if needed: not 1 - s, which is 0 or a multiple of the dtype's resolution where s
    rounds near 1 (a well-classified positive). Consumes ``log_s`` and, for the gradient,
    ``s``; only reads ``u``."""
    if gamma == 0 and not with_grad:
        return log_s, None
    if u is None:
        u = torch.neg(z).sigmoid_()
    if gamma == 0:
        return log_s, torch.neg(u)
    factor = _power(u, gamma)
    grad = None
    if with_grad:
        grad = s.mul_(log_s).mul_(gamma).sub_(u).mul_(factor)
    return log_s.mul_(factor), grad


def _negative_side(
    z: torch.Tensor, s: torch.Tensor, u: torch.Tensor | None, terms: SplitTerms, with_grad: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The negative term at t = lambda z and its derivative with respect to z (lambda cancels
    there); ``s`` is sigmoid(z) and ``u`` sigmoid(-z) or None (computed here if needed)."""
    lam, margin, gamma = terms.neg_scale, terms.clip, terms.gamma_neg
    t = z if lam == 1 else z * lam
    s_t = s if lam == 1 else torch.sigmoid(t)
    if margin == 0:
        # f = s_t^g softplus(t) / lambda, df/dz = s_t^g (g u_t softplus(t) + s_t)
        scaled = _logsigmoid(z, lam)  # softplus(lambda z) / lambda
        if gamma == 0:
            return scaled, s_t
        factor = _power(s_t, gamma)
        grad = None
        if with_grad:
            grad = torch.rsub(s_t, 1.0).mul_(scaled).mul_(gamma * lam).add_(s_t).mul_(factor)
        return scaled.mul_(factor), grad
    u_t = u if lam == 1 and u is not None else torch.neg(t).sigmoid_()
    return _clipped_negative(s_t, u_t, margin, gamma, lam, with_grad)


def _clipped_negative(
    s_t: torch.Tensor, u_t: torch.Tensor, margin: float, gamma: float, lam: float, with_grad: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The negative term with a probability margin m > 0 and its derivative.

    With s_t = sigmoid(t) and u_t = sigmoid(-t): p_m = max(s_t - m, 0), 1 - p_m = u_t + m >= m
    where p_m > 0, c = -log(1 - p_m) = log1p(p_m / (1 - p_m)), f = p_m^g c / lambda and, where
    p_m > 0, df/dz = s_t u_t [g p_m^(g - 1) c + p_m^g / (1 - p_m)].

    Each quantity comes from the operands that give it to full relative precision: 1 - p_m
    from u_t, not as 1 - (s_t - m), which is 1 - (1 - m) where s_t rounds to 1 (t above about
    17 in float32) and log 0 for a margin below the dtype's resolution; p_m from s_t; c from
    their ratio, accurate for small p_m (where log(1 - p_m) would lose digits) and for p_m
    near 1 alike; the sigmoid's derivative as s_t u_t, not s_t (1 - s_t). u_t + m needs no
    clamp at 1: it exceeds 1 only where p_m = 0, which zeroes every term that uses it.
    ``_power`` may return its argument, and ``u_t`` may be shared with the positive term:
    neither is written.
    """
    rest = torch.add(u_t, margin)  # 1 - p_m where p_m > 0
    p_m = torch.sub(s_t, margin).clamp_min_(0.0)
    ratio = torch.div(p_m, rest)  # p_m / (1 - p_m)
    c = torch.log1p(ratio)
    if not with_grad:
        if gamma > 0:
            c.mul_(_power(p_m, gamma))
        return (c if lam == 1 else c.div_(lam)), None
    # grad = the bracket, times s_t u_t below
    if gamma == 0:
        grad = rest.reciprocal_().mul_(p_m > 0)  # the clamp's derivative: 0 where p_m = 0
    elif gamma == 1:
        grad = ratio.add_(c)
        c.mul_(p_m)
    else:
        # p_m^(g - 1), its base raised to the smallest normal number for g < 1 so that it
        # stays finite where p_m = 0 (and masked there); for g > 1 it is 0 there, and so is
        # the bracket
        base = p_m if gamma > 1 else p_m.clamp_min(torch.finfo(p_m.dtype).tiny)
        low = _power(base, gamma - 1)
        grad = ratio.mul_(low).addcmul_(low, c, value=gamma)
        c.mul_(low).mul_(p_m)  # p_m^g c
        if gamma < 1:
            grad.mul_(p_m > 0)
        del low, base
    grad.mul_(s_t).mul_(u_t)
    return (c if lam == 1 else c.div_(lam)), grad


def _split(
    x: torch.Tensor,
    y: torch.Tensor,
    terms: SplitTerms,
    inv_rate: torch.Tensor | None,
    loss: torch.Tensor,
    grad: torch.Tensor | None,
) -> None:
    """The split form on one chunk: its loss into ``loss``, its gradient into ``grad``."""
    z = x if terms.bias is None else x + terms.bias
    term = None
    if terms.clip == 0 and terms.gamma_pos == terms.gamma_neg and _binary(y):
        term = _single_term(z, y, terms.neg_scale, terms.gamma_pos, grad)
    else:
        _both_terms(z, y, terms, loss, grad)
    factor = None
    if terms.rebalance is not None:
        assert inv_rate is not None  # sigmoid_family_loss's caller gives it with a rebalance
        factor = terms.rebalance.weight(inv_rate)
    _finish(term, factor, loss, grad)


def _both_terms(
    z: torch.Tensor,
    y: torch.Tensor,
    terms: SplitTerms,
    loss: torch.Tensor,
    grad: torch.Tensor | None,
) -> None:
    """y f+ + (1 - y) f- and its gradient, computing both terms for every element."""
    s = torch.sigmoid(z)
    with_grad = grad is not None
    # sigmoid(-z) once, when both terms may need it: the margin (1 - p_m) and the positive term
    u = torch.neg(z).sigmoid_() if terms.clip > 0 and terms.neg_scale == 1 else None
    neg_loss, neg_grad = _negative_side(z, s, u, terms, with_grad)
    if grad is not None and neg_grad is s:
        if terms.gamma_pos == 0:  # plain cross-entropy: the gradient is s - y
            torch.sub(s, y, out=grad)
            with_grad = False
        else:  # the positive side consumes s
            neg_grad = s.clone()
    minus_pos, pos_grad = _positive_side(z, _logsigmoid(z), s, u, terms.gamma_pos, with_grad)
    del u
    # y f+ + (1 - y) f- as (f- - y f-) + y f+: two passes (faster than torch.lerp), and for a
    # 0/1 target exactly the one term, where f- - y (f- - f+) would leave a small f+ (a
    # well-classified positive) with the rounding error of a large f-
    torch.addcmul(neg_loss, neg_loss, y, value=-1.0, out=loss).addcmul_(y, minus_pos, value=-1.0)
    if grad is not None and pos_grad is not None and neg_grad is not None:
        torch.addcmul(neg_grad, neg_grad, y, value=-1.0, out=grad).addcmul_(y, pos_grad)


class _SigmoidFamily(_KeptGradient):
    @staticmethod
    def forward(
        input: torch.Tensor,
        target: torch.Tensor,
        terms: SigmoidTerms | SplitTerms,
        with_grad: bool,
        inv_rate: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        dtype = compute_dtype(input.dtype)
        loss = torch.empty(input.shape, dtype=dtype, device=input.device)
        # The gradient is computed here, from the quantities the loss needs anyway, and kept
        # for the backward pass: one tensor of the input's size in place of recomputing them.
        grad = torch.empty_like(loss) if with_grad else None
        kernel = _joint if isinstance(terms, SigmoidTerms) else _split
        for rows in _row_chunks(input):
            kernel(
                input[rows].to(dtype),
                target[rows].to(dtype),
                terms,  # type: ignore[arg-type]
                None if inv_rate is None else inv_rate[rows],
                loss[rows],
                None if grad is None else grad[rows],
            )
        return loss, grad
