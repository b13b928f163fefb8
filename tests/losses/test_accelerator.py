"""The losses in a GPU training loop: no host-device synchronisation, torch.compile with one
graph, and data checks that become device-side assertions off the CPU.

Without a GPU, tensors on the ``meta`` device show that a loss never reads a value of its
tensors on the host (which on an accelerator waits for the device and breaks CUDA-graph
capture): they have no data at all, so ``.item()``, ``bool()``, ``nonzero``, boolean masks and
copies to the CPU raise, forward and backward, and every check takes the accelerator's branch
(``FakeTensorMode`` with ``cuda:0`` tensors would do the same, but a CPU-only build of PyTorch
cannot create views of them). A dispatch mode records blocking copies to the CPU as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import counterpoise as cp
from counterpoise import functional as cf
from counterpoise.losses.registry import LOSSES

N, C = 12, 5


class HostCopies(TorchDispatchMode):
    """Records every copy from another device to the CPU (a blocking transfer)."""

    def __init__(self) -> None:
        super().__init__()
        self.copies: list[str] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func is torch.ops.aten._to_copy.default and str(kwargs.get("device")) == "cpu":
            if args[0].device.type != "cpu":
                self.copies.append(str(func))
        if func is torch.ops.aten.copy_.default and args[0].device.type == "cpu":
            if args[1].device.type != "cpu":
                self.copies.append(str(func))
        return func(*args, **kwargs)


def _batch(device: str, multilabel: bool) -> dict[str, torch.Tensor]:
    """Logits, targets with ignored or unannotated elements, weights, sample weights and a
    tensor denominator, on ``device``."""
    shape = (N, C)
    if multilabel:
        target = (torch.rand(shape, device=device) < 0.4).float()
        target = torch.where(torch.rand(shape, device=device) < 0.1, -1.0, target)
        sample_weight = torch.rand(shape, device=device)
    else:
        target = torch.randint(0, C, (N,), device=device)
        target = torch.where(torch.rand(N, device=device) < 0.2, -100, target)
        sample_weight = torch.rand(N, device=device)
    return {
        "x": torch.randn(shape, device=device, requires_grad=True),
        "y": target,
        "w": torch.rand(C, device=device) + 0.1,
        "sw": sample_weight,
        "d": torch.tensor(7.0, device=device),
    }


#: Every loss function with every option that matters: (multilabel targets?, call).
FUNCTIONS: dict[str, tuple[bool, Callable[[dict[str, torch.Tensor]], torch.Tensor]]] = {
    "cross_entropy": (
        False,
        lambda b: cf.cross_entropy(
            b["x"], b["y"], b["w"], label_smoothing=0.1, sample_weight=b["sw"], denominator=b["d"]
        ),
    ),
    "focal_loss": (
        False,
        lambda b: cf.focal_loss(
            b["x"], b["y"], alpha=b["w"], sample_weight=b["sw"], denominator=b["d"]
        ),
    ),
    "logit_adjusted_loss": (
        False,
        lambda b: cf.logit_adjusted_loss(
            b["x"], b["y"], b["w"], weight=b["w"], label_smoothing=0.1, sample_weight=b["sw"]
        ),
    ),
    "balanced_softmax_loss": (
        False,
        lambda b: cf.balanced_softmax_loss(
            b["x"], b["y"], b["w"] * 100, weight=b["w"], denominator=b["d"]
        ),
    ),
    "ldam_loss": (
        False,
        lambda b: cf.ldam_loss(b["x"], b["y"], b["w"] * 100, weight=b["w"], sample_weight=b["sw"]),
    ),
    "cost_sensitive_loss": (
        False,
        lambda b: cf.cost_sensitive_loss(
            b["x"], b["y"], b["w"], sample_weight=b["sw"], denominator=b["d"]
        ),
    ),
    "binary_cross_entropy_with_logits": (
        True,
        lambda b: cf.binary_cross_entropy_with_logits(
            b["x"],
            b["y"],
            pos_weight=b["w"],
            neg_weight=b["w"],
            ignore_value=-1,
            sample_weight=b["sw"],
            denominator=b["d"],
        ),
    ),
    "sigmoid_focal_loss": (
        True,
        lambda b: cf.sigmoid_focal_loss(
            b["x"],
            b["y"],
            alpha=b["w"] / 2,
            weight=b["w"],
            ignore_value=-1,
            reduction="mean",
            sample_weight=b["sw"],
            denominator=b["d"],
        ),
    ),
    "asymmetric_loss": (
        True,
        lambda b: cf.asymmetric_loss(b["x"], b["y"], ignore_value=-1, sample_weight=b["sw"]),
    ),
    "distribution_balanced_loss": (
        True,
        lambda b: cf.distribution_balanced_loss(
            b["x"],
            b["y"],
            b["w"] * 10,
            num_samples=100,
            ignore_value=-1,
            gamma=2.0,
            sample_weight=b["sw"],
            denominator=b["d"],
        ),
    ),
    "anchor_focal_loss": (
        False,
        lambda b: cf.anchor_focal_loss(
            b["x"].view(3, -1, C),
            torch.where(b["y"] == -100, C, b["y"]).view(3, -1),
            alpha=b["w"] / 2,
            weight=b["w"],
            denominator=b["d"],
        ),
    ),
}

COUNTS = torch.tensor([50, 20, 10, 5, 2])
LABEL_COUNTS = cp.count_labels(
    torch.tensor([[1, 0, 1, 0, 0], [0, 1, 1, 0, 1], [1, 0, 0, 1, 0], [1, 1, 0, 0, 0]] * 5),
    multilabel=True,
)


def _module(name: str) -> tuple[torch.nn.Module, bool]:
    entry = LOSSES[name]
    if entry.task == "multilabel":
        options: dict[str, Any] = {"ignore_value": -1.0}
        if name == "sigmoid_focal":
            options["reduction"] = "mean"
        return entry.build(LABEL_COUNTS, **options), True
    options = {} if entry.task == "detection" else {"scheme": "effective", "beta": 0.99}
    if name in ("cross_entropy", "logit_adjusted", "balanced_softmax", "ldam"):
        options["label_smoothing"] = 0.1
    return entry.build(COUNTS, **options), False


def _call_module(module: torch.nn.Module, b: dict[str, torch.Tensor], detection: bool) -> Any:
    if detection:
        target = torch.where(b["y"] == -100, C, b["y"]).view(3, -1)
        return module(b["x"].view(3, -1, C), target, denominator=b["d"])
    return module(b["x"], b["y"], sample_weight=b["sw"], denominator=b["d"])


@pytest.mark.parametrize("name", FUNCTIONS)
def test_functions_never_read_their_tensors_forward_and_backward(name):
    multilabel, call = FUNCTIONS[name]
    b = _batch("meta", multilabel)
    with HostCopies() as mode:
        call(b).sum().backward()
    assert mode.copies == []
    assert b["x"].grad is not None and b["x"].grad.device.type == "meta"


@pytest.mark.parametrize("name", list(LOSSES))
def test_modules_never_read_their_tensors_forward_and_backward(name):
    module, multilabel = _module(name)
    module = module.to("meta")
    b = _batch("meta", multilabel)
    with HostCopies() as mode:
        _call_module(module, b, LOSSES[name].task == "detection").sum().backward()
    assert mode.copies == []


@pytest.mark.usefixtures("device_checks")
def test_off_the_cpu_a_data_check_is_a_device_assertion_with_the_same_message():
    x = torch.randn(4, 3)
    with pytest.raises(RuntimeError, match="`target` must be class indices in \\[0, 3\\)"):
        cf.cross_entropy(x, torch.tensor([0, 1, 3, 2]))
    with pytest.raises(RuntimeError, match="`weight` must be non-negative"):
        cf.cross_entropy(x, torch.tensor([0, 1, 2, 2]), torch.tensor([1.0, -1.0, 1.0]))
    with pytest.raises(RuntimeError, match="`target` must be values in \\[0, 1\\]"):
        cf.binary_cross_entropy_with_logits(x, torch.full((4, 3), 2.0))
    with pytest.raises(RuntimeError, match="`denominator` must be finite and >= 0"):
        cf.cross_entropy(x, torch.tensor([0, 1, 2, 2]), denominator=torch.tensor(-1.0))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_the_accelerator_branch_gives_the_same_values_and_gradients(name, request):
    # always masking, tensor denominators kept as tensors: the CPU's numbers all the same
    multilabel, call = FUNCTIONS[name]
    torch.manual_seed(0)
    b = _batch("cpu", multilabel)
    expected = call(b)
    expected.sum().backward()
    grad, b["x"].grad = b["x"].grad, None
    request.getfixturevalue("device_checks")
    got = call(b)
    got.sum().backward()
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(b["x"].grad, grad)


# --- torch.compile -----------------------------------------------------------------------------

BATCH_SIZES = (12, 6, 9, 15, 18, 24)  # multiples of 3 for the anchors' (3, N / 3, C)


def _sized(b: dict[str, torch.Tensor], n: int) -> dict[str, torch.Tensor]:
    sized = {k: (v[:n] if k in ("y", "sw") else v) for k, v in b.items()}
    sized["x"] = b["x"][:n].detach().clone().requires_grad_(True)
    return sized


@pytest.mark.parametrize("name", FUNCTIONS)
def test_functions_compile_to_one_graph_for_every_batch_size(name):
    # fullgraph (inductor, CPU): equal to eager in value and gradient, and after the first
    # batch size a second, dynamic graph serves all the others
    from torch._dynamo.testing import CompileCounterWithBackend

    multilabel, call = FUNCTIONS[name]
    torch.manual_seed(0)
    full = _batch("cpu", multilabel) if name != "anchor_focal_loss" else _anchor_batch()
    counter = CompileCounterWithBackend("inductor")
    compiled = torch.compile(call, fullgraph=True, backend=counter)
    for n in BATCH_SIZES:
        b = _sized(full, n)
        got = compiled(b)
        got.sum().backward()
        grad, b["x"].grad = b["x"].grad, None
        expected = call(b)
        expected.sum().backward()
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(grad, b["x"].grad, rtol=1e-5, atol=1e-6)
    assert counter.frame_count <= 2


def _anchor_batch() -> dict[str, torch.Tensor]:
    b = _batch("cpu", False)
    b["x"] = torch.randn(24, C, requires_grad=True)
    b["y"] = torch.randint(0, C + 1, (24,)).masked_fill_(torch.rand(24) < 0.1, -100)
    return b


@pytest.mark.parametrize("name", list(LOSSES))
def test_modules_compile_with_fullgraph(name):
    module, multilabel = _module(name)
    detection = LOSSES[name].task == "detection"
    torch.manual_seed(1)
    b = _batch("cpu", multilabel)
    compiled = torch.compile(module, fullgraph=True, backend="inductor")
    got = _call_module(compiled, b, detection)
    got.sum().backward()
    grad, b["x"].grad = b["x"].grad, None
    expected = _call_module(module, b, detection)
    expected.sum().backward()
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad, b["x"].grad, rtol=1e-5, atol=1e-6)


# --- mixed precision ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_under_autocast_every_loss_returns_float32_computed_in_float32(name, dtype):
    multilabel, call = FUNCTIONS[name]
    torch.manual_seed(2)
    b = _batch("cpu", multilabel)
    b["x"] = b["x"].detach().to(dtype).requires_grad_(True)
    with torch.autocast("cpu", dtype=dtype):
        got = call(b)
    got.sum().backward()
    assert got.dtype == torch.float32
    assert b["x"].grad is not None and b["x"].grad.dtype == dtype
    # what float64 gives on the same half-precision logits: no product ran in half precision
    exact = call({**b, "x": b["x"].detach().double()})
    torch.testing.assert_close(got.double(), exact, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("name", list(LOSSES))
def test_under_autocast_every_module_returns_float32(name):
    module, multilabel = _module(name)
    b = _batch("cpu", multilabel)
    b["x"] = b["x"].detach().bfloat16().requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = _call_module(module, b, LOSSES[name].task == "detection")
    assert got.dtype == torch.float32


def test_a_half_precision_sum_over_many_rows_stays_finite_under_autocast():
    torch.manual_seed(3)
    x = (torch.randn(40_000, 10) * 4).half()
    y = torch.randint(0, 10, (40_000,))
    with torch.autocast("cpu", dtype=torch.float16):
        ours = cf.cross_entropy(x, y, reduction="sum")
        torchs = torch.nn.functional.cross_entropy(x, y, reduction="sum")
    assert ours.dtype == torchs.dtype == torch.float32
    assert torch.isfinite(ours) and torch.isfinite(torchs)
    torch.testing.assert_close(ours, torchs, rtol=1e-5, atol=0)
    assert not torch.isfinite(cf.cross_entropy(x, y, reduction="sum"))  # half without autocast
