"""The losses under torch.func: grad, vmap, vmap of grad (per-sample gradients), jacrev and
functional_call give what eager autograd and Python loops give, for every registered loss as a
function and as a module; a second derivative raises where it is taken."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch.func import functional_call, grad, jacrev, vjp, vmap
from torch.utils._python_dispatch import TorchDispatchMode

import counterpoise as cp
from counterpoise.losses.registry import LOSSES

B, N, C = 3, 6, 4
WEIGHT = torch.tensor([0.3, 1.0, 2.5, 0.7])
COUNTS = torch.tensor([60.0, 25.0, 8.0, 3.0])
COST = torch.rand(C, C, generator=torch.Generator().manual_seed(0)) * 3
LABEL_COUNTS = cp.count_labels(
    torch.tensor([[1, 0, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1], [1, 1, 0, 0]] * 5), multilabel=True
)

#: The options of each registered loss as a function call (scalar reductions).
FUNCTION_OPTIONS: dict[str, dict[str, Any]] = {
    "cross_entropy": {"weight": WEIGHT, "label_smoothing": 0.1},
    "focal": {"alpha": WEIGHT, "gamma": 1.5},
    "logit_adjusted": {"priors": COUNTS, "weight": WEIGHT, "tau": 0.7},
    "balanced_softmax": {"counts": COUNTS, "label_smoothing": 0.1},
    "ldam": {"counts": COUNTS, "weight": WEIGHT, "scale": 5.0},
    "cost_sensitive": {"cost": COST, "cross_entropy_weight": 0.2},
    "bce": {"pos_weight": WEIGHT, "neg_weight": WEIGHT.flip(0), "ignore_value": -1},
    "sigmoid_focal": {
        "alpha": WEIGHT / 3,
        "weight": WEIGHT,
        "ignore_value": -1,
        "reduction": "mean",
    },
    "asymmetric": {"ignore_value": -1, "gamma_pos": 1.0},
    "distribution_balanced": {
        "counts": COUNTS,
        "num_samples": 200,
        "gamma": 2.0,
        "ignore_value": -1,
    },
    "anchor_focal": {"alpha": WEIGHT / 3, "weight": WEIGHT},
}


def test_every_registered_loss_is_covered() -> None:
    assert set(FUNCTION_OPTIONS) == set(LOSSES)


def _batch(name: str, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """B calls' logits and targets (ignored or unannotated elements among them)."""
    g = torch.Generator().manual_seed(seed)
    task = LOSSES[name].task
    if task == "multilabel":
        x = torch.randn(B, N, C, generator=g) * 2
        y = (torch.rand(B, N, C, generator=g) < 0.4).float()
        y[:, 0, 1] = -1.0
        return x, y
    if task == "detection":
        x = torch.randn(B, 2, N // 2, C, generator=g) * 2
        y = torch.randint(0, C + 1, (B, 2, N // 2), generator=g)  # C: background
        y[:, 0, 0] = -100
        return x, y
    x = torch.randn(B, N, C, generator=g) * 2
    y = torch.randint(0, C, (B, N), generator=g)
    y[:, 0] = -100
    return x, y


def _function(name: str, **extra: Any) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    entry, options = LOSSES[name], {**FUNCTION_OPTIONS[name], **extra}
    return lambda x, y: entry.function(x, y, **options)


def _module(name: str, **options: Any) -> torch.nn.Module:
    entry = LOSSES[name]
    if entry.task == "multilabel":
        options.setdefault("reduction", "mean")
        return entry.build(LABEL_COUNTS, ignore_value=-1.0, **options)
    if entry.task == "multiclass":
        options |= {"scheme": "effective", "beta": 0.99}
    return entry.build(COUNTS, **options)


def _callables(name: str) -> dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]:
    module = _module(name)
    return {"function": _function(name), "module": lambda x, y: module(x, y)}


def _eager_grad(loss: Callable[..., torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> Any:
    x = x.detach().requires_grad_()
    return torch.autograd.grad(loss(x, y), x)[0]


@pytest.mark.parametrize("kind", ["function", "module"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_grad_equals_eager_autograd(name: str, kind: str) -> None:
    loss = _callables(name)[kind]
    x, y = _batch(name, 1)
    got = grad(loss)(x[0], y[0])
    torch.testing.assert_close(got, _eager_grad(loss, x[0], y[0]), rtol=0, atol=0)
    assert torch.count_nonzero(got) > 0
    value, pullback = vjp(lambda z: loss(z, y[0]), x[0])
    torch.testing.assert_close(value, loss(x[0], y[0]), rtol=0, atol=0)
    torch.testing.assert_close(pullback(torch.tensor(2.0))[0], 2 * got)


@pytest.mark.parametrize("kind", ["function", "module"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_vmap_equals_a_loop(name: str, kind: str) -> None:
    loss = _callables(name)[kind]
    x, y = _batch(name, 2)
    # over the logits with shared targets, and over both
    shared = vmap(loss, in_dims=(0, None))(x, y[0])
    torch.testing.assert_close(shared, torch.stack([loss(xi, y[0]) for xi in x]))
    both = vmap(loss)(x, y)
    torch.testing.assert_close(both, torch.stack([loss(xi, yi) for xi, yi in zip(x, y)]))
    # over the targets alone
    targets = vmap(loss, in_dims=(None, 0))(x[0], y)
    torch.testing.assert_close(targets, torch.stack([loss(x[0], yi) for yi in y]))


@pytest.mark.parametrize("name", list(LOSSES))
def test_vmap_of_unreduced_losses_equals_a_loop(name: str) -> None:
    loss = _function(name, reduction="none")
    x, y = _batch(name, 3)
    got = vmap(loss)(x, y)
    expected = torch.stack([loss(xi, yi) for xi, yi in zip(x, y)])
    assert got.shape == expected.shape == (B, *expected.shape[1:])
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("kind", ["function", "module"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_per_sample_gradients_equal_a_loop_of_eager_gradients(name: str, kind: str) -> None:
    loss = _callables(name)[kind]
    x, y = _batch(name, 4)
    got = vmap(grad(loss))(x, y)
    expected = torch.stack([_eager_grad(loss, xi, yi) for xi, yi in zip(x, y)])
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("name", [n for n, e in LOSSES.items() if e.task == "multiclass"])
def test_segmentation_inputs_under_vmap_and_per_sample_gradients(name: str) -> None:
    # (N, C, d1, d2) per call: the class dimension stays dimension 1 of every call
    loss = _function(name)
    g = torch.Generator().manual_seed(12)
    x = torch.randn(B, 2, C, 3, 2, generator=g) * 2
    y = torch.randint(0, C, (B, 2, 3, 2), generator=g)
    y[:, 0, 0, 0] = -100
    torch.testing.assert_close(vmap(loss)(x, y), torch.stack([loss(*a) for a in zip(x, y)]))
    expected = torch.stack([_eager_grad(loss, *a) for a in zip(x, y)])
    torch.testing.assert_close(vmap(grad(loss))(x, y), expected)


@pytest.mark.parametrize("name", list(LOSSES))
def test_sample_weights_and_denominators_can_be_vmapped(name: str) -> None:
    x, y = _batch(name, 5)
    g = torch.Generator().manual_seed(5)
    shape = y.shape if LOSSES[name].task != "detection" else x.shape
    sw = torch.rand(shape, generator=g) + 0.1
    denominator = torch.rand(B, generator=g) + 1.0

    def call(xi: torch.Tensor, yi: torch.Tensor, si: torch.Tensor, di: torch.Tensor) -> Any:
        return LOSSES[name].function(
            xi, yi, **FUNCTION_OPTIONS[name], sample_weight=si, denominator=di
        )

    got = vmap(call)(x, y, sw, denominator)
    expected = torch.stack([call(*args) for args in zip(x, y, sw, denominator)])
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("name", list(LOSSES))
def test_modules_under_functional_call_grad_and_jacrev(name: str) -> None:
    # A model's parameters trained through a loss module, all functional: the gradient of
    # grad(functional_call(...)) is autograd's, and jacrev of the unreduced module is the
    # Jacobian that autograd builds row by row.
    x, y = _batch(name, 6)
    features = torch.randn(*x.shape[1:-1], 5, generator=torch.Generator().manual_seed(6))
    model = torch.nn.Linear(5, C)
    loss_fn = _module(name)
    params = dict(model.named_parameters())
    buffers = dict(loss_fn.named_buffers())

    def objective(p: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = functional_call(model, p, (features,))
        return functional_call(loss_fn, buffers, (logits, y[0]))

    got = grad(objective)(params)
    expected = torch.autograd.grad(loss_fn(model(features), y[0]), list(params.values()))
    for key, value in zip(params, expected):
        torch.testing.assert_close(got[key], value, rtol=1e-6, atol=1e-7)
    unreduced = _module(name, reduction="none")
    logits = x[0]

    def elementwise(z: torch.Tensor) -> torch.Tensor:
        return functional_call(unreduced, dict(unreduced.named_buffers()), (z, y[0]))

    jacobian = jacrev(elementwise)(logits)
    torch.testing.assert_close(jacobian, torch.autograd.functional.jacobian(elementwise, logits))


@pytest.mark.parametrize("name", list(LOSSES))
def test_a_second_derivative_raises_where_it_is_taken(name: str, raises: Any) -> None:
    loss = _function(name)
    x, y = _batch(name, 7)
    message = (RuntimeError, "create_graph", "False when a gradient of the loss")
    # a graph of the gradient may be built (the first derivative is right) ...
    xr = x[0].clone().requires_grad_()
    (first,) = torch.autograd.grad(loss(xr, y[0]), xr, create_graph=True)
    torch.testing.assert_close(first.detach(), _eager_grad(loss, x[0], y[0]))
    # ... but differentiating it raises: double backward, a gradient penalty, grad of grad
    with raises(*message):
        torch.autograd.grad(first.square().sum(), xr)
    with raises(*message):
        (loss(xr, y[0]) + first.norm()).backward()
    with raises(*message):
        grad(lambda z: grad(loss)(z, y[0]).square().sum())(x[0])
    # forward mode (torch.func.hessian is forward over reverse) has no rule
    with pytest.raises(NotImplementedError, match="implement the jvp function"):
        torch.func.hessian(lambda z: loss(z, y[0]))(x[0])


def test_soft_target_cross_entropy_has_exact_second_derivatives() -> None:
    # Made of PyTorch operations only: differentiable twice.
    g = torch.Generator().manual_seed(8)
    x = torch.randn(5, C, generator=g, dtype=torch.float64, requires_grad=True)
    q = torch.softmax(torch.randn(5, C, generator=g, dtype=torch.float64), dim=1)
    loss = LOSSES["cross_entropy"].function
    assert torch.autograd.gradgradcheck(lambda z: loss(z, q, WEIGHT.double()), (x,))


def test_data_checks_under_vmap_are_assertions_with_the_template() -> None:
    x, y = _batch("cross_entropy", 9)
    y[1, 2] = C  # out of range in one call of the batch
    with pytest.raises(RuntimeError, match=r"`target` must be class indices in \[0, 4\)"):
        vmap(_function("cross_entropy"))(x, y)
    bad = torch.ones(B, N, C)
    bad[2, 0, 0] = 3.0
    with pytest.raises(RuntimeError, match=r"`target` must be values in \[0, 1\]"):
        vmap(lambda a, b: cp.functional.binary_cross_entropy_with_logits(a, b))(x, bad)
    with pytest.raises(RuntimeError, match="`sample_weight` must be non-negative"):
        vmap(lambda a, s: cp.functional.focal_loss(a, y[0], sample_weight=s))(
            x, torch.full((B, N), -1.0)
        )


def test_vmap_over_class_weights_is_refused(raises: Any) -> None:
    x, y = _batch("focal", 10)
    weights = torch.rand(B, C) + 0.1
    with raises(ValueError, "in_dims", "None for a loss's class weights", "a batched weight"):
        vmap(lambda w: cp.functional.focal_loss(x[0], y[0], alpha=w))(weights)


class _Allocations(TorchDispatchMode):
    """Records the sizes of the new tensors that operations return (not their arguments, in
    place, nor views of them)."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        given = {
            t.untyped_storage().data_ptr()
            for t in torch.utils._pytree.tree_leaves((args, kwargs))
            if isinstance(t, torch.Tensor)
        }
        if isinstance(out, torch.Tensor) and out.untyped_storage().data_ptr() not in given:
            self.sizes.append(out.numel())
        return out


@pytest.mark.parametrize("name", list(LOSSES))
def test_the_backward_pass_allocates_one_tensor_of_the_input_size(name: str) -> None:
    # the gradient; no zeros for the outputs an autograd function keeps for itself (nothing
    # is ignored: masking the loss of a multilabel or anchor batch would take another)
    loss = _function(name, reduction="sum")
    x, y = _batch(name, 11)
    y = torch.where(y < 0, 0, y)
    xr = x[0].clone().requires_grad_()
    out = loss(xr, y[0])
    with _Allocations() as mode:
        out.backward()
    assert [n for n in mode.sizes if n == xr.numel()] == [xr.numel()]
