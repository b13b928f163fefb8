"""Matplotlib figures. Every function returns a :class:`matplotlib.figure.Figure` and never
opens a window (the non-interactive Agg canvas is used), so it works on servers and in CI.

The functions take the numbers they draw (arrays, mappings of names to values); the reports of
:mod:`counterpoise.metrics` draw themselves through them. matplotlib is an optional dependency
(the ``plots`` extra), imported when a figure is made.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._checks import check_positive_int, fail
from ._optional import require

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "plot_class_distribution",
    "plot_confusion_matrix",
    "plot_group_scores",
    "plot_label_average_precision",
    "plot_per_class_recall",
    "plot_reliability_bins",
    "plot_reliability_diagram",
    "plot_training_curves",
    "save_figure",
]

_MAX_TICK_LABELS = 40
# Colours of the label-frequency groups (head, medium, tail) and of any other group.
_GROUP_COLOURS = {"head": "#4C72B0", "medium": "#DD8452", "tail": "#C44E52"}
_OTHER_COLOUR = "#8C8C8C"


#: A class distribution whose largest count exceeds the smallest by at most this is drawn on a
#: linear axis (every bar visible); beyond it, on a logarithmic one.
LINEAR_UP_TO_RATIO = 100.0


def plot_class_distribution(
    counts: Any,
    classes: Sequence[Hashable] | None = None,
    *,
    log: bool | None = None,
    sort: bool = True,
    title: str | None = None,
) -> Figure:
    """Bar chart of samples per class, largest first, with each count printed on its bar.

    The axis suits the data: linear when the largest count is at most
    :data:`LINEAR_UP_TO_RATIO` times the smallest (every bar is then tall enough to see), and
    logarithmic from 1 beyond that, saying so under the axis, so that a class of 3 samples
    still shows as a bar.

    Args:
        counts: samples per class, shape (C,), or the result of :func:`counterpoise.count_labels`.
        classes: class names for the x axis (default: those of ``counts``, else 0..C-1); the names
            and the counts are shown when there are at most 40 classes.
        log: True or False to force a logarithmic or linear y axis; None (default) chooses as
            above. On a logarithmic axis, classes with zero samples are drawn as empty.
        sort: order the bars from the largest class to the smallest.
        title: the figure's title (default: C, N and the imbalance ratio).

    Returns:
        The figure.
    """
    names = getattr(counts, "classes", None)
    n = np.asarray(getattr(counts, "counts", counts), dtype=np.float64)
    if n.ndim != 1 or n.size == 0:
        fail("counts", "a non-empty 1-D sequence of class counts", n.shape)
    labels = [str(c) for c in (classes if classes is not None else names or range(n.size))]
    if len(labels) != n.size:
        fail("classes", f"a sequence of {n.size} class names", f"{len(labels)} names")
    order = np.argsort(-n, kind="stable") if sort else np.arange(n.size)
    present = n[n > 0]
    ratio = present.max() / present.min() if present.size else float("nan")
    if log is None:
        log = bool(present.size) and ratio > LINEAR_UP_TO_RATIO

    fig = _figure(max(6.0, min(14.0, 0.35 * n.size)), 4.0)
    ax = fig.add_subplot()
    bars = ax.bar(np.arange(n.size), n[order], color="#4C72B0", width=0.85)
    if log:
        ax.set_yscale("log")
        ax.set_ylim(bottom=0.8, top=max(present.max(), 1.0) * 3 if present.size else 10.0)
    else:
        ax.set_ylim(0, max(n.max(), 1.0) * 1.12)
    if n.size <= _MAX_TICK_LABELS:
        ax.set_xticks(
            np.arange(n.size), [labels[i] for i in order], rotation=90 if n.size > 12 else 0
        )
        ax.set_xlabel("class (sorted by count)" if sort else "class")
        whole = bool(np.all(n == np.round(n)))
        ax.bar_label(
            bars,
            [f"{v:,.0f}" if whole else f"{v:,.3g}" for v in n[order]],
            fontsize=7 if n.size <= 20 else 6,
            rotation=90 if n.size > 20 else 0,
            padding=2,
        )
    else:
        ax.set_xticks([])
        ax.set_xlabel(f"{n.size} classes, sorted by count" if sort else f"{n.size} classes")
    ax.set_ylabel("samples (log scale: each step is 10×)" if log else "samples")
    ax.set_title(
        title or f"{n.size} classes, {int(n.sum()):,} samples, imbalance ratio {ratio:,.1f}:1"
    )
    ax.grid(axis="y", alpha=0.3, which="major")
    return fig


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix, e.g. .png, .svg, .pdf) and return it.

    Raises:
        ValueError: for a path in a directory that does not exist, a directory, or a suffix
            that is not an image format matplotlib writes (none, too: the file would get
            another name).
    """
    path = figure_path(path)
    fig.savefig(path, dpi=dpi)
    return path


def figure_path(path: str | Path, *, name: str = "path") -> Path:
    """``path`` checked to take a figure (see :func:`save_figure`), the argument called
    ``name`` in errors."""
    path = Path(path)
    if path.is_dir():
        fail(name, "a file name, not a directory", str(path))
    if path.parent and not path.parent.exists():
        fail(name, "in an existing directory", str(path))
    backends = require("matplotlib.backend_bases", extra="plots")
    formats = sorted(backends.FigureCanvasBase.get_supported_filetypes())
    if path.suffix.lower().lstrip(".") not in formats:
        listed = ", ".join("." + f for f in formats)
        fail(name, f"a file name ending in an image format ({listed})", str(path))
    return path


def _figure(width: float, height: float) -> Figure:
    """An empty figure on the non-interactive Agg canvas."""
    figure = require("matplotlib.figure", extra="plots")
    agg = require("matplotlib.backends.backend_agg", extra="plots")
    fig = figure.Figure(figsize=(width, height), layout="constrained")
    agg.FigureCanvasAgg(fig)
    return fig


def plot_per_class_recall(
    recalls: Mapping[str, Any], classes: Sequence[Hashable], *, title: str = "Recall per class"
) -> Figure:
    """Heat map of per-class recall, one row per strategy (or model), one column per class.

    Args:
        recalls: name to recall per class, shape (C,), values in [0, 1].
        classes: the class names, length C.
        title: the figure's title.
    """
    names = list(recalls)
    if not names:
        fail("recalls", "at least one entry", {})
    grid = np.array([np.asarray(recalls[n], dtype=np.float64) for n in names])
    if grid.ndim != 2 or grid.shape[1] != len(classes):
        fail("recalls", f"vectors of length {len(classes)} (one per class)", grid.shape)
    fig = _figure(max(6.0, 0.45 * len(classes) + 3.0), max(2.5, 0.32 * len(names) + 1.5))
    ax = fig.add_subplot()
    image = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
    ax.set_yticks(np.arange(len(names)), names)
    if len(classes) <= _MAX_TICK_LABELS:
        ax.set_xticks(np.arange(len(classes)), [str(c) for c in classes])
        if len(classes) * len(names) <= 400:
            for (i, j), v in np.ndenumerate(grid):
                ax.text(
                    j,
                    i,
                    f"{v:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if v < 0.6 else "black",
                )
    ax.set_xlabel("class")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="recall")
    return fig


def plot_confusion_matrix(
    confusion: Any, classes: Sequence[Hashable], *, title: str = "Confusion matrix"
) -> Figure:
    """The confusion matrix normalised per true class (each row sums to 1).

    Args:
        confusion: counts (C, C), rows true classes and columns predictions.
        classes: the class names, length C.
        title: the figure's title.
    """
    cm = np.asarray(confusion, dtype=np.float64)
    if cm.ndim != 2 or cm.shape != (len(classes), len(classes)):
        fail("confusion", f"a ({len(classes)}, {len(classes)}) matrix", cm.shape)
    rows = cm.sum(1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    size = max(4.0, 0.45 * len(classes) + 2.0)
    fig = _figure(size + 1.0, size)
    ax = fig.add_subplot()
    image = ax.imshow(norm, vmin=0.0, vmax=1.0, cmap="Blues")
    if len(classes) <= _MAX_TICK_LABELS:
        ticks = np.arange(len(classes))
        ax.set_xticks(ticks, [str(c) for c in classes])
        ax.set_yticks(ticks, [str(c) for c in classes])
        if len(classes) <= 20:
            for (i, j), v in np.ndenumerate(norm):
                if v >= 0.005:
                    ax.text(
                        j,
                        i,
                        f"{v:.2f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if v > 0.5 else "black",
                    )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="share of the true class")
    return fig


def plot_reliability_diagram(
    models: Mapping[str, tuple[Any, Any]], *, n_bins: int = 15, title: str = "Reliability"
) -> Figure:
    """Accuracy against confidence of the top-label probability, per model.

    Args:
        models: name to ``(probs, y_true)``: probabilities (N, C) and true classes (N,).
        n_bins: equal-width confidence bins.
        title: the figure's title.
    """
    bins = {
        name: _ReliabilityBins.of(np.asarray(p, dtype=np.float64), np.asarray(y), n_bins)
        for name, (p, y) in models.items()
    }
    return plot_reliability_bins(bins, title=title)


@dataclass(frozen=True)
class _ReliabilityBins:
    """Per-bin sums of the top-label probability, with the binning rule of
    :class:`counterpoise.metrics.calibration.CalibrationBins` (bin ``b`` of ``B`` holds the
    confidences in :math:`(b / B, (b + 1) / B]`, 0 goes to the first)."""

    count: np.ndarray
    confidence: np.ndarray
    correct: np.ndarray

    @classmethod
    def of(cls, probs: np.ndarray, y: np.ndarray, n_bins: int) -> _ReliabilityBins:
        n_bins = check_positive_int("n_bins", n_bins)
        conf = probs.max(axis=1)
        which = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], conf, side="left")
        return cls(
            count=np.bincount(which, minlength=n_bins),
            confidence=np.bincount(which, weights=conf, minlength=n_bins),
            correct=np.bincount(which, weights=probs.argmax(axis=1) == y, minlength=n_bins),
        )

    @property
    def ece(self) -> float:
        return float(np.abs(self.correct - self.confidence).sum() / self.count.sum())


def _fold(series: Mapping[str, Any], same: Any) -> list[tuple[str, Any]]:
    """The entries of ``series`` with those that ``same`` finds equal to an earlier one folded
    into it, named together ("a = b"): identical lines would hide each other."""
    groups: list[tuple[list[str], Any]] = []
    for name, value in series.items():
        for names, first in groups:
            if same(first, value):
                names.append(name)
                break
        else:
            groups.append(([name], value))
    return [(" = ".join(names), value) for names, value in groups]


#: Reliability points closer than this (in confidence and in accuracy) are drawn as one.
_SAME_POINT = 2e-3


def _points(b: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bins' counts, and the mean confidence and accuracy of each non-empty bin."""
    count = np.asarray(b.count)
    used = count > 0
    conf = np.asarray(b.confidence)[used] / count[used]
    return count, conf, np.asarray(b.correct)[used] / count[used]


def _same_bins(a: Any, b: Any) -> bool:
    """Whether two models' reliability lines would be drawn on top of each other."""
    (ca, xa, ya), (cb, xb, yb) = _points(a), _points(b)
    return (
        np.array_equal(ca, cb)
        and np.allclose(xa, xb, rtol=0.0, atol=_SAME_POINT)
        and np.allclose(ya, yb, rtol=0.0, atol=_SAME_POINT)
    )


def plot_reliability_bins(bins: Mapping[str, Any], *, title: str = "Reliability") -> Figure:
    """Reliability diagram from :class:`counterpoise.metrics.CalibrationBins`, one line per
    model: the accuracy of each non-empty bin against its mean confidence. Models whose lines
    would lie on top of each other (the same bins, points within 0.002) share one line, named
    together ("a = b"), instead of one hiding the other.

    Args:
        bins: name to calibration bins (any object with the per-bin arrays ``count``,
            ``confidence`` and ``correct`` and the float ``ece`` of
            :class:`~counterpoise.metrics.CalibrationBins`).
        title: the figure's title.
    """
    if not bins:
        fail("bins", "at least one entry", {})
    fig = _figure(5.5, 5.0)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="calibrated")
    markers = "osD^v<>p"
    for k, (names, b) in enumerate(_fold(bins, _same_bins)):
        eces = [f"{bins[n].ece:.3f}" for n in names.split(" = ")]
        if len(set(eces)) == 1:
            label = f"{names} (ECE {eces[0]})"
        else:
            label = " = ".join(f"{n} (ECE {e})" for n, e in zip(names.split(" = "), eces))
        _, x, y = _points(b)
        ax.plot(x, y, marker=markers[k % len(markers)], markersize=4, label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top-label probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


#: Training curves of more strategies than this are drawn as small multiples.
_CURVES_IN_ONE_PANEL = 5


def _mean_curve(runs: Sequence[Sequence[float]]) -> np.ndarray:
    """The mean over runs per epoch (runs that stopped early leave the later epochs)."""
    length = max(len(r) for r in runs)
    padded = np.full((len(runs), length), np.nan)
    for i, r in enumerate(runs):
        padded[i, : len(r)] = r
    return np.nanmean(padded, axis=0)


def plot_training_curves(
    curves: Mapping[str, Sequence[Sequence[float]]],
    *,
    ylabel: str = "validation score",
    title: str = "Training curves",
    baseline: str | None = None,
) -> Figure:
    """Validation score per epoch for each strategy (the mean over its runs, which may have
    stopped at different epochs).

    Up to five strategies share one plot. More are drawn as small multiples, one panel per
    strategy on shared axes, each with the baseline in grey behind it, so that every curve can
    be told apart. Strategies with identical curves share a line (or a panel), named together.

    Args:
        curves: name to a list of per-epoch series (one per run).
        ylabel: the y axis label.
        title: the figure's title.
        baseline: the strategy drawn in grey in every panel (default: the first of ``curves``).
    """
    if not curves:
        fail("curves", "at least one entry", {})
    if baseline is not None and baseline not in curves:
        fail("baseline", f"one of the names of `curves` ({', '.join(curves)})", baseline)
    means = _fold(
        {name: _mean_curve(runs) for name, runs in curves.items()},
        lambda a, b: a.shape == b.shape and np.allclose(a, b, equal_nan=True),
    )
    if len(means) <= _CURVES_IN_ONE_PANEL:
        fig = _figure(7.0, 4.5)
        ax = fig.add_subplot()
        for name, mean in means:
            ax.plot(np.arange(1, mean.size + 1), mean, label=name, linewidth=1.4)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        return fig

    base_name = baseline if baseline is not None else next(iter(curves))
    base_key, base = next((k, m) for k, m in means if base_name in k.split(" = "))
    others = [(k, m) for k, m in means if k != base_key]
    cols = 4
    rows = -(-len(others) // cols)
    fig = _figure(10.0, 1.2 + 2.0 * rows)
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
    for ax, (name, mean) in zip(axes.flat, others):
        ax.plot(np.arange(1, base.size + 1), base, color="#8C8C8C", linewidth=1.0)
        ax.plot(np.arange(1, mean.size + 1), mean, color="#4C72B0", linewidth=1.4)
        ax.set_title(name, fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(others) :]:
        ax.set_visible(False)
    fig.supxlabel("epoch", fontsize=9)
    fig.supylabel(ylabel, fontsize=9)
    fig.suptitle(f"{title}: each strategy (blue) against {base_key} (grey)", fontsize=10)
    return fig


def plot_label_average_precision(
    average_precision: Any,
    frequency: Any,
    groups: Sequence[str],
    *,
    boundaries: tuple[float, float] | None = None,
    xlabel: str = "training positives",
    title: str = "Average precision per label",
) -> Figure:
    """Average precision of each label against its frequency, one colour per group.

    The x axis is logarithmic (symmetric-logarithmic, linear below 1, when a frequency is 0).
    Labels whose average precision is undefined (NaN) are not drawn; the title says how many.

    Args:
        average_precision: per label, shape (L,), in [0, 1] or NaN.
        frequency: per label, shape (L,), non-negative (e.g. training positives).
        groups: the group of each label (e.g. ``"head"``, ``"medium"``, ``"tail"``), length L.
        boundaries: ``(low, high)`` group boundaries, drawn as dashed vertical lines.
        xlabel: what ``frequency`` counts.
        title: the figure's title.

    Returns:
        The figure.
    """
    ap = np.asarray(average_precision, dtype=np.float64)
    n = np.asarray(frequency, dtype=np.float64)
    if ap.ndim != 1 or ap.size == 0:
        fail("average_precision", "a non-empty 1-D sequence", ap.shape)
    if n.shape != ap.shape:
        fail("frequency", f"one value per label, of shape {ap.shape}", n.shape)
    if len(groups) != ap.size:
        fail("groups", f"one group per label ({ap.size})", len(groups))
    ticker = require("matplotlib.ticker", extra="plots")
    fig = _figure(7.0, 4.5)
    ax = fig.add_subplot()
    names = np.asarray(groups, dtype=object)
    drawn = np.isfinite(ap)
    for name in dict.fromkeys(groups):
        points = drawn & (names == name)
        ax.scatter(
            n[points],
            ap[points],
            s=18,
            alpha=0.8,
            color=_GROUP_COLOURS.get(name, _OTHER_COLOUR),
            label=f"{name} ({int(points.sum())})",
        )
    if n.min() > 0:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    else:
        ax.set_xscale("symlog", linthresh=1.0)
    # counts as plain numbers; minor ticks unlabelled (their labels collide)
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    if boundaries is not None:
        for b in boundaries:
            ax.axvline(b, color="grey", linestyle="--", linewidth=1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"{xlabel} (log scale)")
    ax.set_ylabel("average precision")
    missing = int((~drawn).sum())
    ax.set_title(f"{title} ({missing} without positives not shown)" if missing else title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig


def plot_group_scores(
    scores: Mapping[str, Mapping[str, float | None]],
    *,
    ylabel: str = "score",
    title: str = "Scores by label group",
) -> Figure:
    """Grouped bars: one cluster per label group, one bar per series (a metric or a model).

    A group without a value in a series (None or missing) gets no bar but an "n/a" mark.

    Args:
        scores: series name to (group name to value in [0, 1] or None); the groups appear in
            the order first seen.
        ylabel: the y axis label.
        title: the figure's title.

    Returns:
        The figure.
    """
    if not scores:
        fail("scores", "at least one series", {})
    groups = list(dict.fromkeys(g for series in scores.values() for g in series))
    if not groups:
        fail("scores", "series with at least one group", dict(scores))
    fig = _figure(max(5.0, 1.2 * len(groups) * max(1, len(scores)) ** 0.5 + 2.0), 4.0)
    ax = fig.add_subplot()
    width = 0.8 / len(scores)
    for k, (name, series) in enumerate(scores.items()):
        x = np.arange(len(groups)) - 0.4 + (k + 0.5) * width
        values = [series.get(g) for g in groups]
        present = [v is not None for v in values]
        ax.bar(
            x[present],
            [float(v) for v in values if v is not None],
            width=width * 0.95,
            label=name,
        )
        for xi, ok in zip(x, present):
            if not ok:
                ax.text(xi, 0.01, "n/a", ha="center", va="bottom", fontsize=7, rotation=90)
    ax.set_xticks(np.arange(len(groups)), groups)
    ax.set_xlim(-0.5, len(groups) - 0.5)  # every cluster, also one that has no bar
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("label group")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return fig
