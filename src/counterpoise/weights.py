r"""Class weights: weighting schemes, normalisation, ``pos_weight`` and per-sample weights.

:func:`class_weights` turns class counts :math:`n_c` (:math:`N` samples, :math:`C` classes) into
one weight per class, in three steps: a scheme gives raw weights, ``max_ratio`` caps them, and a
normalisation fixes their scale. The schemes:

=============  =================================================  ==========================
scheme         raw weight :math:`w_c`                             source
=============  =================================================  ==========================
``none``       :math:`1`                                          unweighted baseline
``inverse``    :math:`1 / n_c`                                    inverse class frequency
``balanced``   :math:`N / (C\, n_c)`                              King & Zeng (2001)
``max``        :math:`\max_j n_j / n_c`                           the largest class gets 1
``median``     :math:`\operatorname{median}_j n_j / n_c`          Eigen & Fergus (ICCV 2015)
``sqrt``       :math:`1 / \sqrt{n_c}`                             square-root inverse
``power``      :math:`1 / n_c^{\beta}`, :math:`\beta \in [0, 1]`  from none to inverse
``effective``  :math:`(1 - \beta) / (1 - \beta^{n_c})`            Cui et al. (CVPR 2019)
``log``        :math:`1 / \ln(c + n_c / N)`, :math:`c > 1`        Paszke et al. (ENet, 2016)
``cost``       :math:`\mathrm{cost}_c`, or for a matrix           Elkan (IJCAI 2001);
               :math:`\frac{1}{C-1} \sum_{j \ne c} K_{cj}`        Zhou & Liu (TKDE 2006)
=============  =================================================  ==========================

:func:`pos_weight` gives the ``pos_weight`` of :class:`torch.nn.BCEWithLogitsLoss`,
:func:`sample_weights` looks class weights up per sample, and :func:`compute_class_weight` /
:func:`compute_sample_weight` are drop-in replacements for scikit-learn's functions of the same
names that count integer labels with a bincount instead of sorting them.

The other maps from counts to the vectors that particular losses take live here too:
:func:`ldam_margins` (LDAM's per-class margins), :func:`label_alpha` (per-label alpha of the
sigmoid focal loss), :func:`focal_alpha` (per-class alpha of the anchor focal loss) and
:func:`log_class_weights` (log-scaled class weights for detection).
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, get_args

import numpy as np
import torch

from ._checks import (
    LABELS,
    VectorLike,
    check_1d,
    check_choice,
    check_entries,
    check_nonnegative,
    check_number,
    check_positive_int,
    class_indices,
    class_vector,
    counts_with_total,
    describe_tensor,
    fail,
    real_tensor,
    resolve_option,
)

__all__ = [
    "DOMINANT_WEIGHT_RATIO",
    "SCHEMES",
    "Normalize",
    "Scheme",
    "WeightingWarning",
    "ZeroCountPolicy",
    "class_weights",
    "compute_class_weight",
    "compute_sample_weight",
    "focal_alpha",
    "label_alpha",
    "ldam_margins",
    "log_class_weights",
    "pos_weight",
    "sample_weights",
    "weighting_notes",
]

Scheme = Literal[
    "none", "inverse", "balanced", "max", "median", "sqrt", "power", "effective", "log", "cost"
]
Normalize = Literal["samples", "classes", "sum", "max"]
ZeroCountPolicy = Literal["error", "smooth", "zero"]

#: Every scheme name, in a stable order.
SCHEMES: tuple[str, ...] = get_args(Scheme)

_NORMALIZE: tuple[str, ...] = get_args(Normalize)
_ZERO_COUNTS: tuple[str, ...] = get_args(ZeroCountPolicy)
_DEFAULT_BETA = 0.999
_DEFAULT_C = 1.02


#: Weights whose largest exceeds the smallest positive one by more than this let the few samples
#: of the most-weighted class dominate the loss and its gradient: :func:`class_weights` warns.
DOMINANT_WEIGHT_RATIO = 1000.0

#: ``effective`` weights count as nearly uniform when their spread, on a log scale, is less than
#: this fraction of the spread of the counts (``inverse`` weights have all of it).
_NEARLY_UNIFORM = 0.1

#: The betas that a note on nearly uniform ``effective`` weights picks from: 0.9, 0.99, 0.995, ...
_BETAS = tuple(
    sorted([1 - 10.0**-k for k in range(1, 10)] + [1 - 5 * 10.0**-k for k in range(3, 10)])
)


class WeightingWarning(UserWarning):
    """Class weights that will not do what they were chosen for.

    :func:`class_weights` warns when ``effective`` weights stay nearly uniform because beta is
    too small for the counts, and when the weights are so far apart (a ratio above
    :data:`DOMINANT_WEIGHT_RATIO`) that the samples of one class dominate the loss. The weights
    are returned all the same; silence the warning with
    ``warnings.filterwarnings("ignore", category=WeightingWarning)``.
    """


class HasCounts(Protocol):
    """Anything with per-class counts, such as :class:`counterpoise.counts.LabelCounts`."""

    @property
    def counts(self) -> Any: ...


ArrayLike = torch.Tensor | np.ndarray | Sequence[float]


def class_weights(
    counts: ArrayLike | HasCounts,
    scheme: Scheme = "balanced",
    *,
    beta: float | None = None,
    c: float | None = None,
    cost: ArrayLike | None = None,
    normalize: Normalize | None = "samples",
    clip: tuple[float, float] | None = None,
    max_ratio: float | None = None,
    zero_counts: ZeroCountPolicy = "error",
    smoothing: float | None = None,
) -> torch.Tensor:
    """Per-class weights from class counts, for the ``weight`` of a loss.

    The raw weight of each scheme is listed in the module's table. ``max_ratio`` :math:`\\rho`
    then caps the weights at :math:`\\rho \\min_c w_c` (over the positive weights), and
    ``normalize`` scales them:

    .. math::

        \\text{samples}: \\sum_c w_c n_c = N \\qquad
        \\text{classes}: \\sum_c w_c = C \\qquad
        \\text{sum}: \\sum_c w_c = 1 \\qquad
        \\text{max}: \\max_c w_c = 1

    ``"samples"`` makes the average weight of a training sample 1, so a weighted sum keeps the
    scale of the unweighted one; it leaves ``balanced`` unchanged and turns ``inverse``,
    ``max`` and ``median`` into ``balanced``. ``clip`` is applied last, so after clipping the
    normalisation may no longer hold exactly. PyTorch's weighted-mean cross-entropy divides by
    the sum of the targets' weights, so its value ignores the scale; that of a
    ``reduction="sum"`` loss does not.

    ``median`` is the median-frequency balancing of Eigen & Fergus, "Predicting Depth, Surface
    Normals and Semantic Labels with a Common Multi-Scale Convolutional Architecture"
    (ICCV 2015), with whole-data-set counts in place of their per-image pixel frequencies; the
    median averages the two middle counts when :math:`C` is even, as :func:`numpy.median`.

    ``effective`` uses the effective number of samples :math:`E_n = (1 - \\beta^n) / (1 - \\beta)`
    of Cui et al., "Class-Balanced Loss Based on Effective Number of Samples" (CVPR 2019),
    :math:`w_c = 1 / E_{n_c}`; their code normalises with ``"classes"``. ``beta = 0`` gives
    uniform weights, :math:`\\beta \\to 1` approaches ``inverse``.

    ``cost`` takes a vector of per-class misclassification costs, or a :math:`C \\times C` cost
    matrix :math:`K` (rows: true class, columns: predicted class) with a zero diagonal, weighting
    each class by its mean cost of being misclassified: the rescaling approach of Elkan, "The
    Foundations of Cost-Sensitive Learning" (IJCAI 2001) and Zhou & Liu (IEEE TKDE 2006). A
    non-zero diagonal is rejected: subtract each row's diagonal entry first (adding a constant
    to a row does not change the cost-optimal decisions).

    Classes with a zero count are handled by ``zero_counts``, for every scheme: ``"error"``
    raises, ``"smooth"`` adds ``smoothing`` to every count (and :math:`C` times it to
    :math:`N`), ``"zero"`` gives those classes weight 0 and weighs the others as if the absent
    classes did not exist (``balanced`` then divides by the number of present classes, and
    ``"classes"`` makes the mean over present classes 1).

    Args:
        counts: samples per class, shape (C,): a tensor, array or sequence of finite,
            non-negative numbers, at least one positive, or an object with a ``counts``
            attribute such as :class:`counterpoise.counts.LabelCounts`, whose ``num_samples``
            (if present) is used as :math:`N` (it differs from the sum of the counts for
            multilabel data). Non-integral counts (from soft labels) are accepted.
        scheme: the weighting scheme, one of :data:`SCHEMES`. Default ``"balanced"``.
        beta: exponent of ``power`` (required, in [0, 1]) or :math:`\\beta` of ``effective``
            (in [0, 1), default 0.999). Must be None for the other schemes.
        c: the constant of ``log`` (larger than 1, default 1.02). Must be None otherwise.
        cost: for ``cost`` (required): per-class costs of shape (C,), or a (C, C) cost matrix
            with a zero diagonal; finite, non-negative, at least one positive. Must be None
            otherwise.
        normalize: ``"samples"`` (default), ``"classes"``, ``"sum"``, ``"max"`` or None (raw).
        clip: ``(lo, hi)`` bounds for the normalised weights, ``0 <= lo <= hi``. Default None.
        max_ratio: at least 1; caps the largest weight at ``max_ratio`` times the smallest
            positive one, before normalising. Default None (no cap).
        zero_counts: ``"error"`` (default), ``"smooth"`` or ``"zero"``, see above.
        smoothing: the pseudo-count of ``"smooth"``, larger than 0 (default 1). Must be None
            for the other policies.

    Returns:
        float32 tensor of shape (C,), on the device of ``counts`` when it is a tensor, computed
        in float64.

    Raises:
        ValueError: for an unknown scheme, normalisation or policy (the message lists the
            valid ones), counts that are not 1-D, non-finite, negative or all zero, a class
            without samples under ``zero_counts="error"``, parameters out of range, a parameter
            given to a scheme that does not use it, or weights too large for float32.
        TypeError: for counts or costs that are not real numbers.

    Warns:
        WeightingWarning: when the weights will not do what they were chosen for (see
            :func:`weighting_notes`): ``effective`` weights left nearly uniform by a small beta
            (the message names a beta that is not), or a weight ratio above
            :data:`DOMINANT_WEIGHT_RATIO`.

    Example:
        >>> class_weights([90, 9, 1])
        tensor([ 0.3704,  3.7037, 33.3333])
        >>> class_weights([90, 9, 1], "effective", beta=0.9, normalize="classes")
        tensor([0.2375, 0.3877, 2.3748])
        >>> class_weights([90, 9, 0], "inverse", zero_counts="zero")
        tensor([0.5500, 5.5000, 0.0000])
    """
    check_choice("scheme", scheme, SCHEMES)
    check_choice("normalize", normalize, (*_NORMALIZE, None))
    check_choice("zero_counts", zero_counts, _ZERO_COUNTS)
    default_beta = _DEFAULT_BETA if scheme == "effective" else None  # 'power' requires it
    beta = resolve_option("beta", beta, "scheme", scheme, ("power", "effective"), default_beta)
    if beta is not None:
        beta = check_number("beta", beta, low=0.0, high=1.0, high_open=scheme == "effective")
    c = resolve_option("c", c, "scheme", scheme, ("log",), _DEFAULT_C)
    if c is not None:
        c = check_number("c", c, low=1.0, low_open=True)
    cost = resolve_option("cost", cost, "scheme", scheme, ("cost",))
    smoothing = _smoothing(zero_counts, smoothing)
    if max_ratio is not None:
        max_ratio = check_number("max_ratio", max_ratio, low=1.0)
    bounds = _check_clip(clip)

    n, total, device = _counts(counts)
    costs = None if cost is None else _cost_vector(cost, n.numel())
    if zero_counts == "smooth":
        n, total = n + smoothing, total + smoothing * n.numel()
    keep = n > 0
    if zero_counts == "error" and not bool(keep.all()):
        _fail_zero("counts", "positive for every class", keep, "a zero count")

    w = _raw_weights(scheme, n[keep], total, beta, c, None if costs is None else costs[keep])
    if max_ratio is not None:
        w = torch.minimum(w, w[w > 0].min() * max_ratio)
    w = _normalized(w, n[keep], total, normalize)
    if bounds is not None:
        w = w.clamp(*bounds)

    out = torch.zeros_like(n)
    out[keep] = w
    result = out.to(torch.float32)
    if not bool(torch.isfinite(result).all()):
        fail(
            "counts",
            "such that the weights fit in float32 (use max_ratio)",
            f"{out.max().item():g}",
        )
    for note in weighting_notes(n[keep], w, scheme, beta=beta):
        warnings.warn(note, WeightingWarning, stacklevel=2)
    return result if device is None else result.to(device)


def weighting_notes(
    counts: ArrayLike, weights: ArrayLike, scheme: str, *, beta: float | None = None
) -> tuple[str, ...]:
    """Plain-language notes on class weights that will not do what they were chosen for.

    Two cases are noted. ``effective`` weights are nearly uniform when beta is small for the
    counts: every class has many more than :math:`1 / (1 - \\beta)` samples, so every effective
    number is close to :math:`1 / (1 - \\beta)`; the note names the smallest beta of 0.9, 0.99,
    0.995, 0.999, ... whose weights span at least half of the counts' ratio on a log scale. And
    weights whose largest exceeds the smallest positive one by more than
    :data:`DOMINANT_WEIGHT_RATIO` let the few samples of one class dominate the loss.

    Args:
        counts: samples per class, shape (C,), of the classes that have weights.
        weights: their weights, shape (C,), under any normalisation.
        scheme: the scheme that gave the weights (named in the notes).
        beta: the beta of ``effective`` (ignored for the other schemes).

    Returns:
        The notes, empty when there is nothing to say. :func:`class_weights` issues each as a
        :class:`WeightingWarning`; :func:`counterpoise.describe` lists them.

    Example:
        >>> counts = [2741, 37919, 22858, 31235, 5499]
        >>> (note,) = weighting_notes(counts, [1.0, 1.0, 1.0, 1.0, 1.0], "effective", beta=0.999)
        >>> note[: note.index(" for")]
        "'effective' weights with beta=0.999 are nearly uniform"
        >>> note[note.index("beta=0.9999") :]
        'beta=0.9999 gives a weight ratio of 4.1:1.'
    """
    n = np.asarray(torch.as_tensor(counts, dtype=torch.float64).cpu(), dtype=np.float64)
    w = np.asarray(torch.as_tensor(weights, dtype=torch.float64).cpu(), dtype=np.float64)
    keep = (n > 0) & (w > 0)
    if keep.sum() < 2:
        return ()
    n, w = n[keep], w[keep]
    count_ratio = float(n.max() / n.min())
    weight_ratio = float(w.max() / w.min())
    notes = []
    if (
        scheme == "effective"
        and beta is not None
        and count_ratio >= 2
        and math.log(weight_ratio) < _NEARLY_UNIFORM * math.log(count_ratio)
    ):
        note = (
            f"'effective' weights with beta={beta:g} are nearly uniform for these counts "
            f"(largest/smallest {weight_ratio:.2f} against counts {count_ratio:,.1f}:1): the "
            f"smallest class has {n.min():,.0f} samples, more than 1/(1 - beta) = "
            f"{1 / (1 - beta):,.0f}, so every class's effective number is close to "
            f"{1 / (1 - beta):,.0f}."
        )
        better = _unsaturated_beta(n.min(), n.max(), count_ratio)
        if better is not None:
            b, ratio = better
            note += f" beta={b:g} gives a weight ratio of {ratio:,.1f}:1."
        notes.append(note)
    if weight_ratio > DOMINANT_WEIGHT_RATIO:
        notes.append(
            f"'{scheme}' weights span a ratio of {weight_ratio:,.0f}:1: the few samples of the "
            "most-weighted class will dominate the loss and its gradient; cap the ratio with "
            "`max_ratio` or use a milder scheme ('sqrt', 'effective')."
        )
    return tuple(notes)


def _unsaturated_beta(n_min: float, n_max: float, count_ratio: float) -> tuple[float, float] | None:
    """The smallest beta of :data:`_BETAS` whose ``effective`` weights span at least half of the
    counts' ratio on a log scale, with that weight ratio; None when none does."""
    for b in _BETAS:
        log_b = math.log(b)
        # E(n) = (1 - b**n) / (1 - b); the weight ratio is E(n_max) / E(n_min)
        ratio = math.expm1(n_max * log_b) / math.expm1(n_min * log_b)
        if math.log(ratio) >= 0.5 * math.log(count_ratio):
            return b, ratio
    return None


def pos_weight(
    targets_or_counts: ArrayLike | HasCounts,
    num_samples: int | None = None,
    *,
    zero_counts: ZeroCountPolicy = "error",
    smoothing: float | None = None,
) -> torch.Tensor:
    """Per-label ``pos_weight`` for :class:`torch.nn.BCEWithLogitsLoss`: negatives over positives.

    .. math::

        \\mathrm{pos\\_weight}_l = \\frac{N - P_l}{P_l}

    where :math:`P_l` is the number of positives of label :math:`l` among :math:`N` samples.
    It makes the positives of each label weigh as much in total as its negatives.

    A label without positives, or without negatives, has no meaningful ratio (division by zero,
    or a weight of 0 that silences the label's positives). ``zero_counts`` decides: ``"error"``
    (default) raises naming the labels, ``"smooth"`` adds ``smoothing`` to both the positives
    and the negatives (:math:`(N - P_l + s) / (P_l + s)`), ``"zero"`` gives such labels 0.

    Args:
        targets_or_counts: either 0/1 (or boolean) targets of shape (N,) or (N, L) (values in
            [0, 1]: soft targets count fractionally); or positives per label, shape (L,), with
            ``num_samples``; or an object with ``counts`` and ``num_samples`` attributes such as
            :class:`counterpoise.counts.LabelCounts`.
        num_samples: N when positives counts are given; None for targets and for objects that
            carry their own ``num_samples``.
        zero_counts: ``"error"`` (default), ``"smooth"`` or ``"zero"``, see above.
        smoothing: the pseudo-count of ``"smooth"``, larger than 0 (default 1). Must be None
            for the other policies.

    Returns:
        float32 tensor of shape (L,) (shape (1,) for (N,) targets), on the device of the input
        when it is a tensor.

    Raises:
        ValueError: for targets outside [0, 1], counts that are negative or exceed
            ``num_samples``, a degenerate label under ``zero_counts="error"``, or bad options.
        TypeError: for non-numeric input or a non-integer ``num_samples``.

    Example:
        >>> targets = torch.tensor([[1, 0], [0, 0], [0, 1], [0, 1]])
        >>> pos_weight(targets)
        tensor([3., 1.])
        >>> pos_weight([1, 2], num_samples=4)
        tensor([3., 1.])
        >>> x, y = torch.zeros(4, 2, requires_grad=True), targets.float()
        >>> torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight(targets))(x, y).backward()
    """
    check_choice("zero_counts", zero_counts, _ZERO_COUNTS)
    smoothing = _smoothing(zero_counts, smoothing)
    source: Any = targets_or_counts
    counted = hasattr(source, "counts") or num_samples is not None
    device = _device_of(getattr(source, "counts", source))
    if counted:
        positives, given = counts_with_total("targets_or_counts", source, num_samples)
        if given is None:
            fail("num_samples", "the number of samples (or counts that carry it)", None)
        total = given
    else:
        values = real_tensor("targets_or_counts", source, booleans=True)
        if values.ndim not in (1, 2) or values.shape[0] == 0:
            fail("targets_or_counts", "targets of shape (N,) or (N, L)", describe_tensor(values))
        check_nonnegative("targets_or_counts", values)
        if bool((values > 1).any()):
            fail("targets_or_counts", "targets in [0, 1]", f"maximum {values.max().item()}")
        positives = values.reshape(values.shape[0], -1).sum(0)
        total = float(values.shape[0])
    negatives = total - positives

    usable = (positives > 0) & (negatives > 0)
    if zero_counts == "error" and not bool(usable.all()):
        _fail_zero(
            "targets_or_counts",
            "such that every label has positives and negatives",
            usable,
            "no positives or no negatives",
        )
    if zero_counts == "smooth":
        positives, negatives = positives + smoothing, negatives + smoothing
    weight = negatives / positives
    if zero_counts == "zero":
        weight = torch.where(usable, weight, 0.0)
    result = weight.to(torch.float32)
    return result if device is None else result.to(device)


def sample_weights(labels: ArrayLike, class_weights: ArrayLike) -> torch.Tensor:
    """Each sample's class weight: ``class_weights[labels]``.

    .. math::

        s_i = w_{y_i}

    Args:
        labels: integer class indices in [0, C), any shape (a tensor, array or sequence).
        class_weights: finite, non-negative weights of shape (C,).

    Returns:
        float32 tensor of the shape of ``labels``, on the device of ``labels`` when it is a
        tensor, else on that of ``class_weights``.

    Raises:
        ValueError: for labels outside [0, C) (the message names the first one) or class
            weights that are not 1-D, finite and non-negative.
        TypeError: for labels that are not integers.

    Example:
        >>> sample_weights([0, 2, 1, 2], torch.tensor([0.5, 1.0, 4.0]))
        tensor([0.5000, 4.0000, 1.0000, 4.0000])
    """
    weights = real_tensor("class_weights", class_weights)
    check_1d("class_weights", weights)
    check_nonnegative("class_weights", weights)
    if isinstance(labels, torch.Tensor):
        index = labels
    else:
        array = np.asarray(labels)
        index = torch.from_numpy(array.astype(np.int64) if array.size == 0 else array)
    device = _device_of(labels) or _device_of(class_weights)
    if index.is_floating_point() or index.is_complex() or index.dtype == torch.bool:
        fail("labels", "integer class indices", describe_tensor(index), error=TypeError)
    index = class_indices("labels", index, weights.shape[0], kind="")
    return weights.to(device=device, dtype=torch.float32)[index.to(device)]


def compute_class_weight(
    class_weight: dict[Any, float] | Literal["balanced"] | None,
    *,
    classes: np.ndarray,
    y: Any,
    sample_weight: Any = None,
) -> np.ndarray:
    """Drop-in replacement for :func:`sklearn.utils.class_weight.compute_class_weight`.

    .. math::

        w_c = \\frac{N}{C\\, n_c} \\quad\\text{("balanced")}

    with :math:`n_c` the number of samples of class :math:`c` in ``y`` (the sum of their
    ``sample_weight`` when given), :math:`N` their total and :math:`C` the number of distinct
    labels in ``y``: the heuristic of King & Zeng, "Logistic Regression in Rare Events Data"
    (2001). The values, return type and error types are those of scikit-learn, but integer
    labels are counted with a bincount instead of being sorted.

    A dict maps labels to weights (classes it omits get 1; a label is looked up as ``int`` when
    ``int()`` accepts it, else as ``str``, as scikit-learn does); None gives uniform weights.
    Unlike scikit-learn, ``sample_weight`` with a class weight other than ``"balanced"``, and
    negative sample weights, raise instead of being ignored or used.

    Args:
        class_weight: ``"balanced"``, a dict ``{label: weight}``, or None.
        classes: NumPy array of the classes, including every label of ``y``.
        y: array-like of shape (n_samples,), the labels.
        sample_weight: array-like of shape (n_samples,), finite and non-negative, only with
            ``"balanced"``. Default None.

    Returns:
        float64 array of shape (len(classes),), the weight of each of ``classes``.

    Raises:
        ValueError: when ``y`` has labels missing from ``classes``, ``"balanced"`` meets a
            class absent from ``y`` (or whose samples weigh 0 in total), a dict misses classes
            while naming labels that are not classes, or an argument has a bad value.
        TypeError: for arguments of the wrong type.

    Example:
        >>> compute_class_weight("balanced", classes=np.array([0, 1]), y=[1, 1, 1, 1, 0, 0])
        array([1.5 , 0.75])
    """
    _check_class_weight(class_weight)
    if not isinstance(classes, np.ndarray):
        fail("classes", "a NumPy array", type(classes).__name__, error=TypeError)
    if classes.ndim != 1:
        fail("classes", "a 1-D array of class labels", f"an array of shape {classes.shape}")
    labels = _label_array(y)
    if labels.ndim != 1:
        fail("y", "1-D", f"an array of shape {labels.shape}")
    uniques, inverse, counts = _encode(labels)
    wanted = classes.tolist()
    unlisted = set(uniques.tolist()) - set(wanted)
    if unlisted:
        fail("classes", "a superset of the labels in `y`", f"no {sorted(unlisted, key=str)}")
    if class_weight != "balanced":
        if sample_weight is not None:
            fail("sample_weight", "None unless class_weight is 'balanced'", "sample weights")
        return _given_weights(class_weight, classes)

    if sample_weight is not None:
        counts = np.bincount(inverse, _sample_weight(sample_weight, len(labels)), len(uniques))
    if not bool((counts > 0).all()):
        empty = uniques[counts == 0].tolist()
        fail("sample_weight", "a positive total for every class in `y`", f"0 for {empty}")
    position = {label: i for i, label in enumerate(uniques.tolist())}
    absent = [label for label in wanted if label not in position]
    if absent:
        fail("classes", "labels that all occur in `y` for class_weight='balanced'", absent)
    return _balanced(counts)[[position[label] for label in wanted]]


def compute_sample_weight(
    class_weight: dict[Any, float] | list[Any] | Literal["balanced"] | None,
    y: Any,
    *,
    indices: Any = None,
) -> np.ndarray:
    """Drop-in replacement for :func:`sklearn.utils.class_weight.compute_sample_weight`.

    .. math::

        s_i = \\prod_k w^{(k)}_{y_{ik}}

    the product over the outputs :math:`k` of the class weight of sample :math:`i`'s label, as
    :func:`compute_class_weight` computes it from the output's labels. With ``indices`` (a
    subsample, e.g. a bootstrap with repeats) the ``"balanced"`` weights are computed from the
    labels ``y[indices]``, and classes absent from the subsample get 0. Same values, return type
    and error types as scikit-learn; integer labels are counted with a bincount.

    Args:
        class_weight: ``"balanced"``, a dict ``{label: weight}``, None, or for multi-output
            ``y`` a list with one of those per output.
        y: array-like or sparse matrix of shape (n_samples,) or (n_samples, n_outputs).
        indices: array-like of indices into ``y`` (or a boolean mask) of the subsample, only
            with ``"balanced"``. Default None.

    Returns:
        float64 array of shape (n_samples,).

    Raises:
        ValueError: for ``indices`` with a class weight other than ``"balanced"``, a dict or
            None for multi-output ``y``, a list whose length is not the number of outputs, or
            the errors of :func:`compute_class_weight`.
        TypeError: for arguments of the wrong type.
        IndexError: for indices out of range (as scikit-learn), with the package's message.

    Example:
        >>> compute_sample_weight("balanced", [1, 1, 1, 1, 0, 0])
        array([0.75, 0.75, 0.75, 0.75, 1.5 , 1.5 ])
    """
    _check_class_weight(class_weight, allow_list=True)
    labels = _label_array(y)
    if labels.ndim == 1:
        labels = labels.reshape(-1, 1)
    if labels.ndim != 2:
        fail("y", "of shape (n_samples,) or (n_samples, n_outputs)", f"shape {labels.shape}")
    n_outputs = labels.shape[1]
    if indices is not None and class_weight != "balanced":
        fail("class_weight", "'balanced' when `indices` is given", class_weight)
    subsample = None if indices is None else _subsample(indices, labels.shape[0])
    if n_outputs == 1 and isinstance(class_weight, list):
        if class_weight:
            fail("class_weight", "'balanced', a dict or None for single-output `y`", class_weight)
        class_weight = None  # as in scikit-learn, an empty list means no weights
    if n_outputs > 1 and class_weight != "balanced":
        if not isinstance(class_weight, list):
            fail("class_weight", "'balanced' or a list of dicts for multi-output `y`", class_weight)
        if len(class_weight) != n_outputs:
            fail("class_weight", f"a list of {n_outputs} dicts, one per output", class_weight)

    weights = np.ones(labels.shape[0])
    per_output = class_weight if isinstance(class_weight, list) else [class_weight] * n_outputs
    for k, chosen in enumerate(per_output):
        uniques, inverse, counts = _encode(labels[:, k])
        _check_class_weight(chosen)
        if chosen == "balanced":
            if subsample is not None:  # count the subsample's labels instead
                counts = np.bincount(inverse[subsample], minlength=len(uniques))
            per_class = _balanced(counts)
        else:
            per_class = _given_weights(chosen, uniques)
        weights *= per_class[inverse]
    return weights


def _subsample(indices: Any, n: int) -> np.ndarray:
    """``indices`` of :func:`compute_sample_weight` checked: integer indices into ``y`` (as
    NumPy reads them, negative from the end) or a boolean mask of its length. Out of range,
    an IndexError as scikit-learn's."""
    index = np.asarray(indices)
    if index.size == 0:
        return index.astype(np.intp)
    if index.dtype == np.bool_:
        if index.shape != (n,):
            fail("indices", f"a boolean mask of length {n}, like `y`", f"shape {index.shape}")
        return index
    if index.dtype.kind not in "iu" or index.ndim != 1:
        fail(
            "indices",
            "a 1-D array of integer indices into `y` or a boolean mask",
            f"an array of dtype {index.dtype} and shape {index.shape}",
            error=TypeError,
        )
    outside = (index < -n) | (index >= n)
    if outside.any():
        first = int(np.argmax(outside))
        fail(
            "indices",
            f"indices into `y` in [-{n}, {n})",
            f"{int(index[first])} at position {first}",
            error=IndexError,
        )
    return index


def _smoothing(zero_counts: str, smoothing: float | None) -> float:
    value = resolve_option("smoothing", smoothing, "zero_counts", zero_counts, ("smooth",), 1.0)
    return 0.0 if value is None else check_number("smoothing", value, low=0.0, low_open=True)


def _check_clip(clip: Any) -> tuple[float, float] | None:
    if clip is None:
        return None
    if not isinstance(clip, (tuple, list)) or len(clip) != 2:
        fail("clip", "a pair (lo, hi)", clip, error=TypeError)
    lo = check_number("clip[0]", clip[0], low=0.0)
    hi = check_number("clip[1]", clip[1], low=lo)
    return lo, hi


def _counts(counts: Any) -> tuple[torch.Tensor, float, torch.device | None]:
    """Validated float64 counts, the number of samples N, and the device of a tensor input."""
    num_samples = getattr(counts, "num_samples", None) if hasattr(counts, "counts") else None
    source = counts.counts if hasattr(counts, "counts") else counts
    n = real_tensor("counts", source)
    check_1d("counts", n)
    check_nonnegative("counts", n)
    if not bool((n > 0).any()):
        fail("counts", "positive for at least one class", "all zeros")
    total = float(n.sum())
    if num_samples is not None:
        total = float(check_positive_int("num_samples", num_samples))
        if total < n.max().item():
            fail("num_samples", f"at least the largest count {n.max().item():g}", num_samples)
    return n, total, _device_of(source)


def _device_of(value: Any) -> torch.device | None:
    return value.device if isinstance(value, torch.Tensor) else None


def _fail_zero(name: str, expected: str, ok: torch.Tensor, problem: str) -> None:
    """Raise naming the entries where ``ok`` is False, and point at the ``zero_counts`` policies."""
    check_entries(name, ok, f"{expected} (or pass zero_counts='smooth' or 'zero')", problem)


def _cost_vector(cost: Any, num_classes: int) -> torch.Tensor:
    """The per-class weight of a cost vector (C,) or cost matrix (C, C)."""
    k = real_tensor("cost", cost)
    if k.shape not in ((num_classes,), (num_classes, num_classes)):
        fail(
            "cost",
            f"of shape ({num_classes},) or ({num_classes}, {num_classes})",
            describe_tensor(k),
        )
    check_nonnegative("cost", k)
    if k.ndim == 2:
        if bool(k.diagonal().any()):
            fail("cost", "a matrix with a zero diagonal", f"diagonal {k.diagonal().tolist()}")
        # the diagonal is zero, so the row sum is the sum over the C - 1 wrong predictions
        k = k.sum(1) / max(num_classes - 1, 1)
    return k


def _raw_weights(
    scheme: str, n: torch.Tensor, total: float, beta: float | None, c: float | None, cost: Any
) -> torch.Tensor:
    """The raw weight of each class under ``scheme``; every count in ``n`` is positive."""
    if scheme == "none":
        return torch.ones_like(n)
    if scheme == "inverse":
        return 1.0 / n
    if scheme == "balanced":
        return total / (n.numel() * n)
    if scheme == "max":
        return n.max() / n
    if scheme == "median":
        return torch.quantile(n, 0.5) / n  # interpolates between the middle two, as np.median
    if scheme == "sqrt":
        return n.rsqrt()
    if scheme == "power":
        return n.pow(-float(beta))  # type: ignore[arg-type]
    if scheme == "effective":
        b = float(beta)  # type: ignore[arg-type]
        # 1 - b**n cancels catastrophically for b near 1 and n small; -expm1(n log b) does not.
        log_b = math.log(b) if b > 0 else -math.inf
        return (1.0 - b) / -torch.expm1(n * log_b)
    if scheme == "log":
        return 1.0 / torch.log(float(c) + n / total)  # type: ignore[arg-type]
    if not bool((cost > 0).any()):
        fail("cost", "positive for at least one class with samples", cost.tolist())
    return cost


def _normalized(
    w: torch.Tensor, n: torch.Tensor, total: float, normalize: str | None
) -> torch.Tensor:
    if normalize == "samples":
        return w * (total / torch.dot(w, n))
    if normalize == "classes":
        return w * (w.numel() / w.sum())
    if normalize == "sum":
        return w / w.sum()
    if normalize == "max":
        return w / w.max()
    return w


def _check_class_weight(class_weight: Any, *, allow_list: bool = False) -> None:
    if isinstance(class_weight, dict):
        for label, weight in class_weight.items():  # finite and non-negative, as float64
            check_number(f"class_weight[{label!r}]", weight, low=0.0)
        return
    if class_weight is None:
        return
    if allow_list and isinstance(class_weight, list):
        return
    expected = "'balanced', a dict" + (", a list of those" if allow_list else "") + " or None"
    if not isinstance(class_weight, str):
        fail("class_weight", expected, class_weight, error=TypeError)
    if class_weight != "balanced":
        fail("class_weight", expected, class_weight)


def _label_array(y: Any) -> np.ndarray:
    # a SciPy sparse matrix exists only once SciPy is loaded: no need to import it here
    sparse = sys.modules.get("scipy.sparse")
    if sparse is not None and sparse.issparse(y):
        return np.asarray(y.toarray())
    labels = np.asarray(y)
    if labels.ndim == 0:
        fail("y", "array-like", y, error=TypeError)
    if labels.dtype.kind in "fc" and labels.size:
        missing = np.isnan(labels)
        if missing.any():  # NaN is a missing label, not a class
            first = tuple(int(i) for i in np.argwhere(missing)[0])
            where = first[0] if len(first) == 1 else first
            fail(
                "y", "labels without NaN (a missing label is not a class)", f"nan at index {where}"
            )
    return labels


def _encode(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted distinct labels of 1-D ``y``, each sample's index into them, and their counts.

    Integer labels spanning a range not much wider than the number of samples are counted with
    a bincount, in linear time; anything else is sorted by ``np.unique``.
    """
    if y.dtype.kind in "iu" and y.size:
        low, high = int(y.min()), int(y.max())
        if high - low <= 2 * y.size + 65536:
            # Offsets from the smallest label, in intp. Casting with wrap-around is exact
            # because the true offsets are small: modular arithmetic recovers them.
            shift = np.array(low, dtype=y.dtype).astype(np.intp)
            offsets = (
                y
                if low == 0 and y.dtype == np.intp
                else np.subtract(y, shift, dtype=np.intp, casting="unsafe")
            )
            counts = np.bincount(offsets)
            present = counts > 0
            uniques = (np.flatnonzero(present) + shift).astype(y.dtype)
            rank = np.cumsum(present) - 1
            return uniques, rank[offsets], counts[present]
    uniques, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    return uniques, inverse.reshape(-1), counts


def _balanced(counts: np.ndarray) -> np.ndarray:
    """``N / (C n_c)`` over the classes with a positive count, where ``C`` counts those; else 0."""
    present = counts > 0
    weights = np.zeros(len(counts))
    weights[present] = counts.sum() / (np.count_nonzero(present) * counts[present])
    return weights


def _given_weights(class_weight: dict[Any, float] | None, classes: np.ndarray) -> np.ndarray:
    """Weights from a user's dict (1 for classes it omits), or uniform for None."""
    weights = np.ones(len(classes))
    if not class_weight:
        return weights
    unweighted = []
    for i, label in enumerate(classes):
        try:  # scikit-learn looks labels up as int where int() accepts them, else as str
            key: Any = int(label)
        except ValueError:
            key = str(label)
        if key in class_weight:
            weights[i] = class_weight[key]
        else:
            unweighted.append(key)
    if unweighted and len(classes) - len(unweighted) != len(class_weight):
        fail(
            "class_weight",
            "a dict whose keys are all classes, or that names every class",
            f"{class_weight}, which has no weight for classes {unweighted}",
        )
    return weights


def _sample_weight(sample_weight: Any, num_samples: int) -> np.ndarray:
    values = real_tensor("sample_weight", sample_weight)
    if values.shape != (num_samples,):
        fail("sample_weight", f"of shape ({num_samples},), like `y`", describe_tensor(values))
    check_nonnegative("sample_weight", values)
    return values.numpy()


# --------------------------------------------------------------------------- for the losses


def ldam_margins(counts: VectorLike, max_margin: float = 0.5) -> torch.Tensor:
    r"""LDAM's per-class margins: proportional to :math:`n_c^{-1/4}`, the largest ``max_margin``.

    .. math::

        m_c = m_{\max} \left(\frac{\min_j n_j}{n_c}\right)^{1/4}

    Args:
        counts: (C,) positive training counts per class.
        max_margin: The margin of the rarest class, > 0. Default 0.5.

    Returns:
        float32 tensor of shape (C,).

    Raises:
        ValueError: Counts that are not positive and finite; a ``max_margin`` that is not
            positive.

    Example:
        >>> ldam_margins([10000, 625, 16])
        tensor([0.1000, 0.2000, 0.5000])
    """
    max_margin = check_number("max_margin", max_margin, low=0.0, low_open=True)
    return margins_of_counts(class_vector("counts", counts, positive=True), max_margin)


def margins_of_counts(counts: torch.Tensor, max_margin: float) -> torch.Tensor:
    """:func:`ldam_margins` of counts and a margin already checked (an LDAM module's), on
    the device of the counts: computed in float64 on the CPU, in float32 elsewhere (some
    accelerators have no float64)."""
    n = counts.double() if counts.device.type == "cpu" else counts.float()
    return (max_margin * (n.min() / n) ** 0.25).float()


def label_alpha(
    counts: Any,
    num_samples: int | None = None,
    scheme: str = "balanced",
    **scheme_options: Any,
) -> torch.Tensor:
    r"""Per-label focal :math:`\alpha` from the positives of each label, for multilabel data.

    In the sigmoid focal loss, :math:`\alpha_l / (1 - \alpha_l)` is the weight of the
    positives of label :math:`l` relative to its negatives. This function sets it to the ratio
    of the weights that a weighting scheme of :func:`counterpoise.weights.class_weights` gives
    the two counts of the label, its :math:`P_l` positives and :math:`N - P_l` negatives:

    .. math::

        \alpha_l = \frac{w(P_l)}{w(P_l) + w(N - P_l)}.

    With ``"balanced"`` (or ``"inverse"``, ``"max"``, ``"median"``: :math:`w(n) \propto 1/n`)
    this is :math:`\alpha_l = (N - P_l) / N`, and the positives and the negatives of every label
    weigh the same in total; ``"effective"`` (Cui et al., CVPR 2019) damps it with effective
    numbers of samples, :math:`w(n) = (1 - \beta) / (1 - \beta^n)`, ``"sqrt"`` with square
    roots; ``"none"`` gives 0.5. Pass the result as ``alpha`` of :func:`sigmoid_focal_loss`.

    Args:
        counts: Positives per label, shape (L,), finite and non-negative (soft counts
            allowed), or a multilabel :class:`counterpoise.counts.LabelCounts` (from
            ``count_labels(targets, multilabel=True)``), which carries :math:`N`.
        num_samples: :math:`N`, the number of samples counted; None when ``counts`` carries
            it.
        scheme: A counting scheme of :func:`counterpoise.weights.class_weights` (not
            ``"cost"``). Default ``"balanced"``.
        **scheme_options: Passed to :func:`counterpoise.weights.class_weights` (``beta``,
            ``c``, ``zero_counts``, ``smoothing``; not ``normalize``, which the ratio
            ignores). With ``zero_counts="zero"`` a label without positives gets
            :math:`\alpha = 0`, one without negatives 1.

    Returns:
        float32 tensor of shape (L,) with values in [0, 1].

    Raises:
        ValueError: Counts that are not 1-D, negative, non-finite or above ``num_samples``; a
            label without positives or without negatives (named) unless ``zero_counts`` says
            otherwise; ``"cost"``, ``normalize`` or a bad scheme option.
        TypeError: Counts that are not numbers, or a ``num_samples`` that is not an integer.

    Example:
        >>> label_alpha([10, 100, 500], num_samples=1000)
        tensor([0.9900, 0.9000, 0.5000])
        >>> label_alpha([10, 100, 500], num_samples=1000, scheme="effective", beta=0.99)
        tensor([0.9127, 0.6120, 0.5000])
    """
    if scheme == "cost":
        fail("scheme", "a counting scheme (not 'cost')", scheme)
    if "normalize" in scheme_options:
        fail(
            "normalize",
            "not given to label_alpha (a ratio of weights)",
            scheme_options["normalize"],
        )
    positives, total = counts_with_total("counts", counts, num_samples)
    if total is None:
        fail("num_samples", "the number of samples (or counts that carry it)", None)
    negatives = total - positives
    if scheme_options.get("zero_counts", "error") == "error":
        policies = "(or pass zero_counts='smooth' or 'zero')"
        expected = f"positive for every label {policies}"
        check_entries("counts", positives > 0, expected, "none", noun=LABELS)
        expected = f"below num_samples for every label {policies}"
        check_entries("counts", negatives > 0, expected, "all", noun=LABELS)
    both = _Counts(torch.cat([positives, negatives]), int(total))
    w = class_weights(both, scheme, normalize=None, **scheme_options).double()  # type: ignore[arg-type]
    w_pos, w_neg = w[: len(positives)], w[len(positives) :]
    total_w = w_pos + w_neg
    return torch.where(total_w > 0, w_pos / torch.where(total_w > 0, total_w, 1.0), 0.5).float()


def focal_alpha(
    counts: Any,
    scheme: str = "balanced",
    *,
    base: float = 0.25,
    **scheme_options: Any,
) -> torch.Tensor:
    r"""Per-class focal :math:`\alpha` from class counts, for :func:`anchor_focal_loss`.

    In the sigmoid focal loss, :math:`\alpha_c / (1 - \alpha_c)` is the weight of the
    positives of class :math:`c` relative to its negatives. This function sets that odds ratio
    to RetinaNet's :math:`\alpha` (``base``) times a class weight, so that rarer classes get
    more weight on their positives and less on their negatives:

    .. math::

        \operatorname{logit} \alpha_c = \operatorname{logit}(\text{base}) + \log r_c,
        \quad\text{i.e.}\quad
        \alpha_c = \frac{\text{base}\; r_c}{\text{base}\; r_c + 1 - \text{base}},
        \qquad
        r_c = \frac{w_c}{\big(\prod_j w_j\big)^{1/C}},

    with :math:`w` the raw weights of :func:`counterpoise.weights.class_weights` for
    ``scheme`` (its options pass through: ``beta``, ``c``, ``max_ratio``, ``zero_counts``,
    ...). Dividing by the geometric mean makes the result independent of the weights' scale
    and the mean of :math:`\operatorname{logit} \alpha_c` equal to
    :math:`\operatorname{logit}(\text{base})`: with equal counts every class gets ``base``,
    i.e. RetinaNet's loss; with ``"balanced"`` (:math:`w_c \propto 1 / n_c`) the class whose
    count is the geometric mean of the counts gets ``base``, a ten times rarer class the odds
    of ``base`` times 10. With ``base=0.5`` this is :math:`\alpha_c = r_c / (1 + r_c)`. Damped
    schemes (``"sqrt"``, ``"effective"``, ``"log"``) or ``max_ratio`` keep the rarest classes'
    negatives from being switched off (:math:`\alpha_c \to 1`) under extreme imbalance.
    Classes with weight 0 (``zero_counts="zero"``) get :math:`\alpha_c = 0` and do not enter
    the geometric mean.

    Args:
        counts: (C,) class counts (positive anchors or annotated boxes per class), or an
            object with a ``counts`` attribute.
        scheme: A scheme of :func:`counterpoise.weights.class_weights`. Default
            ``"balanced"``.
        base: :math:`\alpha` of a class at the geometric-mean weight, in (0, 1). Default 0.25
            (RetinaNet's).
        **scheme_options: Passed to :func:`counterpoise.weights.class_weights` (not
            ``normalize``: the geometric mean is the normalisation here).

    Returns:
        float32 tensor of shape (C,) with values in [0, 1].

    Raises:
        ValueError: As :func:`counterpoise.weights.class_weights`; ``base`` outside (0, 1);
            a ``normalize`` option.

    Example:
        >>> focal_alpha([1000, 100, 10], base=0.5)
        tensor([0.0909, 0.5000, 0.9091])
        >>> focal_alpha([50, 50, 50])
        tensor([0.2500, 0.2500, 0.2500])
    """
    base = check_number("base", base, low=0.0, high=1.0, low_open=True, high_open=True)
    if "normalize" in scheme_options:
        fail(
            "normalize",
            "not given to focal_alpha (it divides by the geometric mean)",
            scheme_options["normalize"],
        )
    w = class_weights(counts, scheme, normalize=None, **scheme_options).double()  # type: ignore[arg-type]
    present = w > 0
    if not bool(present.any()):
        fail("counts", "such that some class has a positive weight", describe_tensor(w))
    log_w = torch.where(present, w, 1.0).log()
    log_r = log_w - log_w[present].mean()
    logit = math.log(base / (1 - base)) + log_r
    return torch.where(present, torch.sigmoid(logit), 0.0).to(torch.float32)


def log_class_weights(
    counts: Any,
    *,
    offset: float = 1.0,
    clip: tuple[float, float] | None = None,
) -> torch.Tensor:
    r"""Log-scaled class weights, the damped inverse frequency used with SSD/YOLO-style detectors.

    .. math::

        w_c = \text{offset} + \ln \frac{N}{n_c}, \qquad N = \sum_j n_j,

    clipped to ``clip`` if given. Since :math:`n_c \le N` the logarithm is non-negative, so
    ``offset > 0`` keeps every weight positive (a class holding almost every sample gets about
    ``offset``); a ten times rarer class gains :math:`\ln 10 \approx 2.3`, where inverse
    frequency would multiply its weight by 10. Pass the result as ``weight`` of
    :func:`anchor_focal_loss` (or of any loss taking class weights). The weights are not
    normalised: with ``reduction="positives"`` their scale multiplies the loss, so tune the
    learning rate or ``offset`` accordingly.

    Args:
        counts: (C,) positive class counts (smooth zero counts yourself: a class without
            samples has no finite log weight), or an object with a ``counts`` attribute.
        offset: Added to every weight, >= 0. Default 1.
        clip: ``(lo, hi)`` bounds with ``0 <= lo <= hi``, applied last. Default None.

    Returns:
        float32 tensor of shape (C,).

    Raises:
        ValueError: Counts that are not positive and finite, a negative ``offset``, bad
            ``clip`` bounds.
        TypeError: Counts that are not real numbers.

    Example:
        >>> log_class_weights([900, 90, 10])
        tensor([1.1054, 3.4079, 5.6052])
    """
    offset = check_number("offset", offset, low=0.0)
    n = class_vector("counts", getattr(counts, "counts", counts), positive=True).double()
    w = offset + torch.log(n.sum() / n)
    if clip is not None:
        if not isinstance(clip, tuple) or len(clip) != 2:
            fail("clip", "a pair (lo, hi)", clip, error=TypeError)
        lo = check_number("clip[0]", clip[0], low=0.0)
        hi = check_number("clip[1]", clip[1], low=lo)
        w = w.clamp(lo, hi)
    return w.to(torch.float32)


@dataclass(frozen=True)
class _Counts:
    """Counts with their number of samples, as :func:`counterpoise.weights.class_weights`
    reads them."""

    counts: torch.Tensor
    num_samples: int
