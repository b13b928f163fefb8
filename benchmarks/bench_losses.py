"""Speed and memory of the losses against F.cross_entropy and plain compositions of PyTorch ops.

For every loss and shape, three implementations run forward + backward in float32 (or, with
``--mode bf16-autocast``, on bfloat16 logits under ``torch.autocast``; with ``--mode compiled``,
each one through ``torch.compile`` with inductor):

* ``ours``: the function from :mod:`counterpoise.functional`;
* ``F.ce``: ``F.cross_entropy`` with the same class weights and label smoothing (for the
  sigmoid losses: ``F.binary_cross_entropy_with_logits`` with the same ``pos_weight``);
* ``plain``: the loss written the obvious way with PyTorch ops, as libraries publish it.

Time is the median over repeats, the implementations interleaved so that drift of a shared
machine hits them alike. Memory is the peak extra memory of one forward + backward in a fresh
process: on CUDA ``torch.cuda.max_memory_allocated`` above what the inputs hold; on CPU (Linux)
the peak resident set size (``VmHWM``, reset through ``/proc/self/clear_refs`` once the inputs
exist) above the resident size at that moment, with glibc's mmap threshold fixed at 64 KiB so that
every tensor is its own mapping and returns to the system when freed: the peak then follows the
live tensors, including temporaries inside PyTorch's kernels, and includes the gradient of the
logits.

Usage::

    python benchmarks/bench_losses.py [--device cuda] [--repeats 15] [--output FILE]
        [--mode float32|bf16-autocast|compiled] [--only NAME[,NAME...]] [--shapes KIND[,KIND]]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from _timing import peak_memory_in_child, peak_step_memory

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from counterpoise import functional as cf
from counterpoise.losses import CostSensitiveLoss

SHAPES = {"classification": (8192, 1000), "segmentation": (8, 19, 128, 128)}
Fn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _vector(c: int, low: float, high: float, device: str) -> torch.Tensor:
    g = torch.Generator().manual_seed(c)
    return (torch.rand(c, generator=g) * (high - low) + low).to(device)


def _per_class(v: torch.Tensor, ndim: int) -> torch.Tensor:
    return v.view((1, -1) + (1,) * (ndim - 2))


def implementations(c: int, device: str) -> dict[str, dict[str, Fn]]:
    """loss name -> {"ours", "F.ce", "plain"} -> f(logits, targets) returning a scalar."""
    w = _vector(c, 0.1, 3.0, device)
    counts = _vector(c, 1.0, 5000.0, device).round()
    log_prior = (counts / counts.sum()).log()
    margins = cf.ldam_margins(counts).to(device)
    cost = torch.rand(c, c, generator=torch.Generator().manual_seed(1)).to(device)
    pos = _vector(c, 0.5, 5.0, device)
    neg = _vector(c, 0.1, 1.0, device)

    def ce(x: torch.Tensor, y: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
        return F.cross_entropy(x, y, weight=w, label_smoothing=smoothing)

    def plain_ce(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(x, dim=1).gather(1, y.unsqueeze(1)).squeeze(1)
        return -(w[y] * logp).sum() / w[y].sum()

    def plain_smoothed(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(x, dim=1)
        nll = -logp.gather(1, y.unsqueeze(1)).squeeze(1) * w[y]
        smooth = -(logp * _per_class(w, x.ndim)).sum(1)
        return (0.9 * nll + 0.1 / x.shape[1] * smooth).sum() / w[y].sum()

    def plain_focal(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # The usual published form: probabilities, a one-hot mask and powers of shape (N, C).
        logp = F.log_softmax(x, dim=1)
        p = logp.exp()
        onehot = F.one_hot(y, x.shape[1]).movedim(-1, 1).to(x.dtype)
        loss = -(onehot * (1 - p) ** 2 * logp).sum(1) * w[y]
        return loss.sum() / w[y].sum()

    def plain_ldam(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # As in the authors' code: a one-hot mask, margins subtracted, scaled, F.cross_entropy.
        onehot = F.one_hot(y, x.shape[1]).movedim(-1, 1).bool()
        shifted = torch.where(onehot, x - margins[y].unsqueeze(1), x)
        return F.cross_entropy(30.0 * shifted, y, weight=w)

    def plain_cost(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        p = F.softmax(x, dim=1)
        expected = (p * cost[y].movedim(-1, 1)).sum(1)
        return (expected + 0.1 * F.cross_entropy(x, y, reduction="none")).mean()

    def bce_ref(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(x, y, pos_weight=_per_class(pos, x.ndim))

    def plain_bce(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        a, b = _per_class(pos, x.ndim), _per_class(neg, x.ndim)
        return -(a * y * F.logsigmoid(x) + b * (1 - y) * F.logsigmoid(-x)).mean()

    def plain_sigmoid_focal(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # torchvision.ops.sigmoid_focal_loss, then the mean.
        p = torch.sigmoid(x)
        ce_loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
        p_t = p * y + (1 - p) * (1 - y)
        loss = ce_loss * (1 - p_t) ** 2
        return ((0.25 * y + 0.75 * (1 - y)) * loss).mean()

    def smoothed(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ce(x, y, smoothing=0.1)

    # a module checks and keeps its cost matrix once; a function call checks it every time
    cost_module = CostSensitiveLoss(cost, cross_entropy_weight=0.1).to(device)

    return {
        "cross_entropy": {
            "ours": lambda x, y: cf.cross_entropy(x, y, w),
            "F.ce": ce,
            "plain": plain_ce,
        },
        "cross_entropy (smoothing 0.1)": {
            "ours": lambda x, y: cf.cross_entropy(x, y, w, label_smoothing=0.1),
            "F.ce": smoothed,
            "plain": plain_smoothed,
        },
        "focal_loss (gamma 2)": {
            "ours": lambda x, y: cf.focal_loss(x, y, gamma=2.0, alpha=w),
            "F.ce": ce,
            "plain": plain_focal,
        },
        "logit_adjusted_loss": {
            "ours": lambda x, y: cf.logit_adjusted_loss(x, y, counts, weight=w),
            "F.ce": ce,
            "plain": lambda x, y: ce(x + _per_class(log_prior, x.ndim), y),
        },
        "balanced_softmax_loss": {
            "ours": lambda x, y: cf.balanced_softmax_loss(x, y, counts, weight=w),
            "F.ce": ce,
            "plain": lambda x, y: ce(x + _per_class(counts.log(), x.ndim), y),
        },
        "ldam_loss": {
            "ours": lambda x, y: cf.ldam_loss(x, y, counts, weight=w),
            "F.ce": ce,
            "plain": plain_ldam,
        },
        "cost_sensitive_loss (matrix, +0.1 CE)": {
            "ours": lambda x, y: cf.cost_sensitive_loss(x, y, cost, cross_entropy_weight=0.1),
            "F.ce": ce,
            "plain": plain_cost,
        },
        "CostSensitiveLoss module (matrix, +0.1 CE)": {
            "ours": cost_module,
            "F.ce": ce,
            "plain": plain_cost,
        },
        "binary_cross_entropy_with_logits (pos+neg)": {
            "ours": lambda x, y: cf.binary_cross_entropy_with_logits(
                x, y, pos_weight=pos, neg_weight=neg
            ),
            "F.bce": bce_ref,
            "plain": plain_bce,
        },
        "sigmoid_focal_loss": {
            "ours": lambda x, y: cf.sigmoid_focal_loss(x, y, reduction="mean"),
            "F.bce": bce_ref,
            "plain": plain_sigmoid_focal,
        },
    }


MODES = ("float32", "bf16-autocast", "compiled")


def prepared(impls: dict[str, Fn], mode: str, device: str) -> dict[str, Fn]:
    """The implementations as ``mode`` runs them: under autocast, or compiled."""
    if mode == "compiled":
        return {k: torch.compile(fn, backend="inductor", dynamic=False) for k, fn in impls.items()}
    if mode == "bf16-autocast":

        def autocast(fn: Fn) -> Fn:
            def run(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
                with torch.autocast(device, dtype=torch.bfloat16):
                    return fn(x, y)

            return run

        return {k: autocast(fn) for k, fn in impls.items()}
    return impls


def make_inputs(
    shape: tuple[int, ...], binary: bool, device: str, mode: str = "float32"
) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=g)
    if mode == "bf16-autocast":
        x = x.bfloat16()
    c = shape[1]
    y = torch.randint(0, c, shape[:1] + shape[2:], generator=g)
    if binary:
        y = F.one_hot(y, c).movedim(-1, 1).float()
    return x.to(device).requires_grad_(), y.to(device)


def step(fn: Fn, x: torch.Tensor, y: torch.Tensor) -> None:
    x.grad = None
    fn(x, y).backward()


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_all(
    impls: dict[str, Fn],
    shape: tuple[int, ...],
    binary: bool,
    device: str,
    repeats: int,
    mode: str = "float32",
) -> dict[str, float]:
    """Median (and, under "best ...", the least) seconds of forward + backward for each
    implementation, the implementations interleaved."""
    x, y = make_inputs(shape, binary, device, mode)
    times: dict[str, list[float]] = {k: [] for k in impls}
    for fn in impls.values():  # warm-up
        step(fn, x, y)
    for _ in range(repeats):
        for key, fn in impls.items():
            sync(device)
            start = time.perf_counter()
            step(fn, x, y)
            sync(device)
            times[key].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()} | {
        f"best {k}": min(v) for k, v in times.items()
    }


def peak_memory_child(loss: str, impl: str, kind: str, device: str, mode: str) -> int:
    """In a fresh process: bytes of peak memory that one forward + backward adds."""
    shape = SHAPES[kind]
    binary = "binary" in loss or "sigmoid" in loss
    fn = prepared(implementations(shape[1], device)[loss], mode, device)[impl]
    small = shape if mode == "compiled" else (4, *shape[1:2], *(2 for _ in shape[2:]))
    step(fn, *make_inputs(small, binary, device, mode))  # initialise autograd and kernels
    x, y = make_inputs(shape, binary, device, mode)
    return peak_step_memory(lambda: step(fn, x, y), device)


def peak_memory(loss: str, impl: str, kind: str, device: str, mode: str) -> int:
    args = ["--child", loss, impl, kind, "--device", device, "--mode", mode]
    return peak_memory_in_child(__file__, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument(
        "--only",
        default=None,
        help="run only losses whose name contains this (or one of these, comma-separated)",
    )
    parser.add_argument("--mode", default="float32", choices=MODES)
    parser.add_argument("--shapes", default=",".join(SHAPES), help="kinds of shape to run")
    parser.add_argument("--child", nargs=3, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child is not None:
        print(peak_memory_child(*args.child, args.device, args.mode))
        return

    lines = [
        f"Forward + backward, {args.mode}, device {args.device}"
        + (f" ({torch.cuda.get_device_name()})" if args.device == "cuda" else "")
        + f", {args.threads} threads, torch {torch.__version__}, {platform.machine()}; "
        f"time: median of {args.repeats} (and the ratio of the best times); memory: peak extra bytes of one step in a fresh "
        "process (see the module docstring). Ratios are ours / reference and plain / reference, "
        "the reference being F.cross_entropy (softmax losses) or "
        "F.binary_cross_entropy_with_logits (sigmoid losses) with the same class weights and "
        "label smoothing, in the same run.",
        "",
        "| shape | loss (reference) | reference ms | ours ms | plain ms | ours time | plain time "
        "| ours time, best | reference MiB | ours MiB | plain MiB | ours memory | plain memory |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    print("\n".join(lines), flush=True)
    for kind, shape in SHAPES.items():
        if kind not in args.shapes.split(","):
            continue
        registry = implementations(shape[1], args.device)
        for loss, impls in registry.items():
            if args.only is not None and not any(part in loss for part in args.only.split(",")):
                continue
            binary = "binary" in loss or "sigmoid" in loss
            ref = "F.bce" if binary else "F.ce"
            runs = prepared(impls, args.mode, args.device)
            t = time_all(runs, shape, binary, args.device, args.repeats, args.mode)
            m = {k: peak_memory(loss, k, kind, args.device, args.mode) for k in impls}
            mib = {k: v / 2**20 for k, v in m.items()}
            row = (
                f"| {'x'.join(map(str, shape))} | {loss} ({ref}) | {t[ref] * 1e3:.1f} "
                f"| {t['ours'] * 1e3:.1f} | {t['plain'] * 1e3:.1f} "
                f"| {t['ours'] / t[ref]:.2f}x | {t['plain'] / t[ref]:.2f}x "
                f"| {t['best ours'] / t[f'best {ref}']:.2f}x "
                f"| {mib[ref]:.0f} | {mib['ours']:.0f} | {mib['plain']:.0f} "
                f"| {m['ours'] / m[ref]:.2f}x | {m['plain'] / m[ref]:.2f}x |"
            )
            lines.append(row)
            print(row, flush=True)
    if args.output is not None:
        args.output.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
