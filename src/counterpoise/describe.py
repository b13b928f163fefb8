"""Imbalance statistics, and what each weighting scheme does to the loss.

A class weight changes how much each class contributes to the total loss. With counts
:math:`n_c` and weights :math:`w_c`, class :math:`c` receives the share

.. math::

    s_c = \\frac{w_c n_c}{\\sum_j w_j n_j}

of the summed (or weighted-mean) loss weight. Unweighted, :math:`s_c = n_c / N`; with
``"balanced"`` weights every class receives :math:`1 / C`. :func:`describe` reports these shares
for every scheme, so that a user sees what a scheme does before training with it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ._checks import check_1d, check_nonnegative, check_number, fail, real_tensor
from .weights import DOMINANT_WEIGHT_RATIO, WeightingWarning, class_weights, weighting_notes

__all__ = ["DEFAULT_SCHEMES", "Description", "SchemeEffect", "describe", "fold_schemes"]

#: The schemes that :func:`describe` and ``counterpoise inspect`` show, with their options.
DEFAULT_SCHEMES: Mapping[str, Mapping[str, Any]] = {
    "none": {},
    "inverse": {},
    "balanced": {},
    "max": {},
    "median": {},
    "sqrt": {},
    "effective": {"beta": 0.999},
    "log": {},
}

#: A scheme whose largest weight exceeds its smallest by more than this earns a warning
#: (:data:`counterpoise.weights.DOMINANT_WEIGHT_RATIO`).
EXTREME_WEIGHT_RATIO = DOMINANT_WEIGHT_RATIO


@dataclass(frozen=True)
class SchemeEffect:
    """The weights of one scheme and the share of the loss weight they give each class.

    Attributes:
        scheme: the scheme's name.
        options: the options it was computed with (e.g. ``{"beta": 0.999}``).
        weights: float64 array (C,), the class weights under the description's normalisation.
        loss_share: float64 array (C,), :math:`w_c n_c / \\sum_j w_j n_j`; sums to 1.
    """

    scheme: str
    options: Mapping[str, Any]
    weights: np.ndarray
    loss_share: np.ndarray

    @property
    def label(self) -> str:
        """The scheme and its options, e.g. ``effective(beta=0.999)``."""
        if not self.options:
            return self.scheme
        opts = ", ".join(f"{k}={v}" for k, v in self.options.items())
        return f"{self.scheme}({opts})"

    @property
    def weight_ratio(self) -> float:
        """Largest over smallest positive weight (1 for uniform weights)."""
        positive = self.weights[self.weights > 0]
        return float(positive.max() / positive.min()) if positive.size else 1.0


@dataclass(frozen=True)
class Description:
    """Imbalance statistics of a label distribution (see :func:`describe`).

    Attributes:
        counts: int64 array (C,), samples per class (float64 for fractional counts, e.g.
            from soft labels); for multilabel data, positives per label.
        classes: the class each entry stands for.
        num_samples: N, the total of ``counts``, or for multilabel counts the number of rows.
        imbalance_ratio: largest over smallest count among classes with samples.
        effective_num_classes: :math:`\\exp(H(p))`, the perplexity of the class distribution
            :math:`p_c = n_c / \\sum_j n_j`: C for balanced data, 1 when one class holds
            everything.
        share: float64 array (C,), :math:`n_c / N` (for multilabel data the fraction of rows
            with the label, so the shares need not sum to 1).
        schemes: one :class:`SchemeEffect` per scheme, in order.
        normalize: the normalisation the weights were computed with.
        warnings: plain-language warnings: classes without samples, an extreme imbalance,
            and the notes of :func:`counterpoise.weights.weighting_notes` (``effective``
            weights left nearly uniform by a small beta, weights far enough apart to dominate
            the loss), one per group of schemes with the same weights.
    """

    counts: np.ndarray
    classes: tuple[Hashable, ...]
    num_samples: int | float
    imbalance_ratio: float
    effective_num_classes: float
    share: np.ndarray
    schemes: tuple[SchemeEffect, ...]
    normalize: str | None
    warnings: tuple[str, ...] = field(default=())

    @property
    def num_classes(self) -> int:
        """C, the number of classes."""
        return int(self.counts.shape[0])

    @property
    def zero_count_classes(self) -> tuple[Hashable, ...]:
        """The classes without a single sample."""
        return tuple(c for c, n in zip(self.classes, self.counts.tolist()) if n == 0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dictionary of every number."""
        return {
            "num_classes": self.num_classes,
            "num_samples": self.num_samples,
            "classes": [_jsonable(c) for c in self.classes],
            "counts": self.counts.tolist(),
            "share": self.share.tolist(),
            "imbalance_ratio": self.imbalance_ratio,
            "effective_num_classes": self.effective_num_classes,
            "zero_count_classes": [_jsonable(c) for c in self.zero_count_classes],
            "normalize": self.normalize,
            "schemes": {
                s.label: {
                    "scheme": s.scheme,
                    "options": dict(s.options),
                    "weights": s.weights.tolist(),
                    "loss_share": s.loss_share.tolist(),
                    "weight_ratio": s.weight_ratio,
                }
                for s in self.schemes
            },
            "warnings": list(self.warnings),
        }


def _jsonable(value: Hashable) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def describe(
    counts: Any,
    *,
    classes: Sequence[Hashable] | None = None,
    schemes: Mapping[str, Mapping[str, Any]] | None = None,
    normalize: str | None = "samples",
    extreme_ratio: float = 100.0,
) -> Description:
    """Imbalance statistics of class counts and the effect of each weighting scheme.

    Args:
        counts: samples per class, shape (C,): a tensor, array, sequence, or the result of
            :func:`counterpoise.count_labels` (whose classes are then used).
        classes: the name of each class (default: those of ``counts``, else 0..C-1).
        schemes: scheme name to options for :func:`counterpoise.class_weights`
            (default :data:`DEFAULT_SCHEMES`).
        normalize: normalisation of the shown weights, as in :func:`counterpoise.class_weights`.
        extreme_ratio: an imbalance ratio above this earns a warning (default 100).

    Returns:
        A :class:`Description`. Classes with zero samples get weight 0 under every scheme and a
        warning, instead of an error. The weights' notes are listed in its ``warnings`` rather
        than issued as :class:`~counterpoise.weights.WeightingWarning`.

    Raises:
        ValueError: for counts that :func:`counterpoise.class_weights` rejects, or ``classes``
            of the wrong length.

    Example:
        >>> d = describe([90, 9, 1])
        >>> d.imbalance_ratio
        90.0
        >>> round(d.effective_num_classes, 3)
        1.43
        >>> [round(float(x), 3) for x in d.schemes[2].loss_share]  # "balanced": equal shares
        [0.333, 0.333, 0.333]
    """
    names = getattr(counts, "classes", None)
    values = getattr(counts, "counts", counts)
    n = real_tensor("counts", values)
    check_1d("counts", n)
    check_nonnegative("counts", n)
    if not bool((n > 0).any()):
        fail("counts", "positive for at least one class", "all zeros")
    extreme_ratio = check_number("extreme_ratio", extreme_ratio, low=1.0)
    if classes is None:
        classes = tuple(names) if names is not None else tuple(range(n.numel()))
    classes = tuple(classes)
    if len(classes) != n.numel():
        fail("classes", f"a sequence of {n.numel()} class names", f"{len(classes)} names")
    # N: the samples behind the counts (for multilabel counts, the rows, not the positives)
    total = float(getattr(counts, "num_samples", None) or n.sum())
    # class_weights reads num_samples from a counts object itself
    source = counts if hasattr(counts, "counts") else n

    effects = []
    for scheme, options in (DEFAULT_SCHEMES if schemes is None else schemes).items():
        with warnings.catch_warnings():  # listed in the description's warnings instead
            warnings.simplefilter("ignore", WeightingWarning)
            w = class_weights(source, scheme, normalize=normalize, zero_counts="zero", **options)  # type: ignore[arg-type]
        w64 = w.to(torch.float64).numpy()
        mass = w64 * n.numpy()
        effects.append(SchemeEffect(scheme, dict(options), w64, mass / mass.sum()))

    counts_np = n.numpy()
    if np.all(counts_np == np.round(counts_np)):
        counts_np = counts_np.astype(np.int64)
    share = n.numpy() / total
    present = counts_np[counts_np > 0]
    ratio = float(present.max() / present.min())
    p = n.numpy() / n.numpy().sum()
    nz = p[p > 0]
    effective = math.exp(float(-(nz * np.log(nz)).sum()))

    notes = []
    zero = [c for c, k in zip(classes, n.tolist()) if k == 0]
    if zero:
        notes.append(
            f"{len(zero)} class(es) have no samples: {', '.join(map(str, zero[:10]))}"
            f"{' ...' if len(zero) > 10 else ''}. No weight can make a model learn them; "
            'the weights shown give them 0 (`zero_counts="zero"`).'
        )
    if ratio > extreme_ratio:
        notes.append(
            f"Imbalance ratio {ratio:,.0f}:1 is extreme: pure inverse-frequency weights will be "
            "large and noisy; consider 'sqrt', 'effective' or `max_ratio`, or a sampler."
        )
    for group in fold_schemes(effects):
        for note in weighting_notes(
            n, group[0].weights, group[0].scheme, beta=group[0].options.get("beta")
        ):
            if len(group) > 1:  # one note for the schemes with the same weights
                names = ", ".join(f"'{e.scheme}'" for e in group)
                note = note.replace(f"'{group[0].scheme}' weights", f"{names} weights", 1)
            notes.append(note)
    return Description(
        counts=counts_np,
        classes=classes,
        num_samples=int(total) if total == int(total) else total,
        imbalance_ratio=ratio,
        effective_num_classes=effective,
        share=share,
        schemes=tuple(effects),
        normalize=normalize,
        warnings=tuple(notes),
    )


def fold_schemes(effects: Sequence[SchemeEffect]) -> list[list[SchemeEffect]]:
    """The schemes grouped by their weights: schemes whose weights agree to six significant
    digits share a group (under ``normalize="samples"``, ``inverse``, ``balanced``, ``max`` and
    ``median`` are one), in the order of their first member."""
    groups: list[list[SchemeEffect]] = []
    for e in effects:
        for g in groups:
            if np.allclose(g[0].weights, e.weights, rtol=1e-6, atol=0.0):
                g.append(e)
                break
        else:
            groups.append([e])
    return groups
