"""Speed and memory of the multilabel losses against F.binary_cross_entropy_with_logits.

For each shape, on 0/1 multilabel targets with long-tailed label frequencies (label l is
positive with probability 0.3 / (1 + l)^0.8, every label at least once), forward + backward
in float32 of:

* ``F.bce``: ``F.binary_cross_entropy_with_logits`` with a per-label ``pos_weight``, the
  reference;
* the asymmetric loss (defaults), the distribution-balanced loss (defaults, and DB-Focal with
  gamma 2), and the sigmoid focal loss with per-label alpha from ``label_alpha``, each from
  :mod:`counterpoise.functional`;
* the same losses written the obvious way with PyTorch ops ("plain"), as published.

Time is the best of ``--repeats`` rounds, the implementations interleaved (see ``_timing.py``),
and its ratio to the reference in the same run. Memory is the peak extra memory of one forward +
backward in a fresh process, measured as in ``bench_losses.py`` (CUDA: ``max_memory_allocated``;
CPU: the peak resident set size above the resident size once the inputs exist, with glibc's
mmap threshold at 64 KiB so that every tensor is its own mapping), and its ratio to the
reference's.

Usage::

    python benchmarks/bench_multilabel.py [--device cuda] [--repeats 15] [--output FILE]
"""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _timing import best_times, peak_memory_in_child, peak_step_memory

from counterpoise import functional as cf

SHAPES = ((8192, 80), (8192, 1000))
REFERENCE = "F.bce (pos_weight)"
Fn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def make_inputs(shape: tuple[int, int], device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits N(0, 1) and long-tailed 0/1 targets."""
    n, labels = shape
    g = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=g)
    prevalence = 0.3 / torch.arange(1, labels + 1, dtype=torch.float32) ** 0.8
    y = (torch.rand(shape, generator=g) < prevalence).float()
    y[torch.arange(labels) % n, torch.arange(labels)] = 1.0  # every label at least once
    return x.to(device).requires_grad_(), y.to(device)


def implementations(y: torch.Tensor) -> dict[str, Fn]:
    """name -> f(logits, targets) returning a scalar; per-label statistics from ``y``."""
    counts = y.sum(0)
    n = y.shape[0]
    pos_weight = (n - counts) / counts
    alpha = cf.label_alpha(counts, n).to(y.device)

    def plain_asl(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        # the authors' formulation (without their eps clamp), mean over elements
        p = torch.sigmoid(x)
        p_m = (p - 0.05).clamp(min=0)
        loss = t * torch.log(p) + (1 - t) * p_m**4 * torch.log(1 - p_m)
        return -loss.mean()

    def plain_db(x: torch.Tensor, t: torch.Tensor, gamma: float = 0.0) -> torch.Tensor:
        # the authors' formulation: re-balancing weight, prior bias, scaled negative logits
        inv = 1 / counts
        weight = 0.1 + torch.sigmoid(10 * (inv / (t * inv).sum(1, keepdim=True) - 0.2))
        z = x + 0.05 / 2 * torch.log(counts / (n - counts))
        z = z * t + 2 * z * (1 - t)
        weight = weight * t + weight / 2 * (1 - t)
        loss = F.binary_cross_entropy_with_logits(z, t, weight, reduction="none")
        if gamma > 0:
            p_t = torch.exp(-F.binary_cross_entropy_with_logits(z, t, reduction="none"))
            loss = (1 - p_t) ** gamma * loss
        return loss.mean()

    def plain_focal(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        # torchvision.ops.sigmoid_focal_loss with a per-label alpha, then the mean
        p = torch.sigmoid(x)
        ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
        p_t = p * t + (1 - p) * (1 - t)
        return ((alpha * t + (1 - alpha) * (1 - t)) * ce * (1 - p_t) ** 2).mean()

    return {
        REFERENCE: lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=pos_weight),
        "asymmetric_loss": lambda x, t: cf.asymmetric_loss(x, t),
        "asymmetric_loss, plain": plain_asl,
        "distribution_balanced_loss": lambda x, t: cf.distribution_balanced_loss(x, t, counts, n),
        "distribution_balanced_loss, plain": plain_db,
        "distribution_balanced_loss (gamma 2)": lambda x, t: cf.distribution_balanced_loss(
            x, t, counts, n, gamma=2.0
        ),
        "distribution_balanced_loss (gamma 2), plain": partial(plain_db, gamma=2.0),
        "sigmoid_focal_loss (per-label alpha)": lambda x, t: cf.sigmoid_focal_loss(
            x, t, alpha=alpha, reduction="mean"
        ),
        "sigmoid_focal_loss (per-label alpha), plain": plain_focal,
    }


def step(fn: Fn, x: torch.Tensor, y: torch.Tensor, device: str) -> None:
    x.grad = None
    fn(x, y).backward()
    if device == "cuda":
        torch.cuda.synchronize()


def peak_memory_child(name: str, index: int, device: str) -> int:
    """In a fresh process: bytes of peak memory that one forward + backward adds."""
    shape = SHAPES[index]
    small_x, small_y = make_inputs((16, shape[1]), device)
    step(implementations(small_y)[name], small_x, small_y, device)  # initialise kernels
    x, y = make_inputs(shape, device)
    return peak_step_memory(partial(step, implementations(y)[name], x, y, device), device)


def peak_memory(name: str, index: int, device: str, threads: int) -> int:
    args = ["--child", name, str(index), "--device", device, "--threads", str(threads)]
    return peak_memory_in_child(__file__, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--only", default=None, help="run only losses whose name contains this")
    parser.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child is not None:
        print(peak_memory_child(args.child[0], int(args.child[1]), args.device))
        return

    lines = [
        f"Forward + backward, float32, device {args.device}"
        + (f" ({torch.cuda.get_device_name()})" if args.device == "cuda" else "")
        + f", {args.threads} threads, torch {torch.__version__}, {platform.machine()}; "
        f"time: best of {args.repeats}; memory: peak extra bytes of one step in a fresh process. "
        f"Ratios are to {REFERENCE} in the same run.",
        "",
        "| shape | loss | ms | time | MiB | memory |",
        "|---|---|---:|---:|---:|---:|",
    ]
    print("\n".join(lines), flush=True)
    for index, shape in enumerate(SHAPES):
        x, y = make_inputs(shape, args.device)
        impls = {
            name: fn
            for name, fn in implementations(y).items()
            if name == REFERENCE or args.only is None or args.only in name
        }
        for fn in impls.values():  # warm-up
            step(fn, x, y, args.device)
        times = best_times(
            {name: partial(step, fn, x, y, args.device) for name, fn in impls.items()},
            args.repeats,
        )
        memory = {name: peak_memory(name, index, args.device, args.threads) for name in impls}
        for name in impls:
            row = (
                f"| {shape[0]}x{shape[1]} | {name} | {times[name] * 1e3:.2f} "
                f"| {times[name] / times[REFERENCE]:.2f}x | {memory[name] / 2**20:.1f} "
                f"| {memory[name] / memory[REFERENCE]:.2f}x |"
            )
            lines.append(row)
            print(row, flush=True)
    if args.output is not None:
        args.output.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
