r"""Class weights and priors estimated while training.

- :class:`AdaptiveClassWeights`: weights from the measured per-class recall or F-beta on
  validation batches, in the spirit of the class-wise difficulty-balanced loss (Sinha, Ohashi &
  Nakamura, ACCV 2020): classes the model gets wrong more often weigh more.
- :class:`BatchFrequencyWeights`: inverse class frequency of the recent batches, smoothed, for
  streams or samplers whose class distribution is not known in advance.
- :class:`OnlinePriors`: a running estimate of the class prior, for
  :func:`counterpoise.functional.logit_adjusted_loss` and :func:`counterpoise.posthoc.adjust_logits`.

Each object keeps a few (C,) tensors of state on a chosen device, returns float32 (C,) tensors,
and has ``state_dict()`` / ``load_state_dict()`` so that a resumed run continues exactly. Under
``torch.distributed`` the per-batch counts are summed over all ranks before they are used, so
every rank holds the same state; ``update`` must then be called on every rank in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

import torch

from ._checks import (
    check_choice,
    check_nonnegative,
    check_number,
    check_positive_int,
    class_indices,
    describe_tensor,
    device_assert,
    eager_checks,
    fail,
    resolve_option,
)
from ._collectives import all_reduce_sum
from .weights import class_weights

__all__ = ["AdaptiveClassWeights", "BatchFrequencyWeights", "OnlinePriors"]

PerformanceMetric = Literal["recall", "fbeta"]
Device = torch.device | str | None

_DEFAULT_BETA = 1.0


class OnlinePriors:
    r"""A running estimate of the class prior from a stream of labels.

    Each :meth:`update` decays the running counts and adds the batch's counts :math:`b_c`:

    .. math::

        n_c \leftarrow \gamma\, n_c + b_c, \qquad
        \hat\pi_c = \frac{n_c + \alpha}{\sum_j n_j + C \alpha}

    with decay :math:`\gamma` (1 keeps every label: exact frequencies of the whole stream;
    smaller values forget old batches, for drifting streams, with an effective memory of
    :math:`1 / (1 - \gamma)` batches) and additive (Laplace) smoothing :math:`\alpha > 0`, which
    keeps every prior positive so that :math:`\log \hat\pi_c` is finite. Before any update the
    estimate is uniform.

    Args:
        num_classes: C (an integer > 0).
        decay: :math:`\gamma` in (0, 1] (default 1).
        smoothing: :math:`\alpha > 0` (default 1).
        device: where the state lives and the priors are returned (default CPU).

    Raises:
        ValueError: for a ``num_classes``, ``decay`` or ``smoothing`` out of range.

    Example:
        >>> priors = OnlinePriors(3)
        >>> priors.update(torch.tensor([0, 0, 0, 1]))
        tensor([0.5714, 0.2857, 0.1429])
        >>> priors.counts
        tensor([3., 1., 0.], dtype=torch.float64)
    """

    def __init__(
        self, num_classes: int, *, decay: float = 1.0, smoothing: float = 1.0, device: Device = None
    ):
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.decay = check_number("decay", decay, low=0.0, high=1.0, low_open=True)
        self.smoothing = check_number("smoothing", smoothing, low=0.0, low_open=True)
        self.device = torch.device("cpu" if device is None else device)
        self._counts = torch.zeros(self.num_classes, dtype=torch.float64, device=self.device)

    @property
    def counts(self) -> torch.Tensor:
        """The running (decayed) counts :math:`n_c`, float64 of shape (C,)."""
        return self._counts.clone()

    @property
    def priors(self) -> torch.Tensor:
        """The estimated prior :math:`\\hat\\pi`, float32 of shape (C,), positive, summing to 1."""
        smoothed = self._counts + self.smoothing
        return (smoothed / smoothed.sum()).float()

    def update(self, targets: torch.Tensor) -> torch.Tensor:
        """Add a batch of class indices (any shape, values in [0, C)) and return :attr:`priors`."""
        batch = _bincount("targets", targets, self.num_classes, self.device)
        self._counts.mul_(self.decay).add_(batch)
        return self.priors

    def state_dict(self) -> dict[str, Any]:
        """The state to checkpoint: the running counts."""
        return {"counts": self.counts}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore the state saved by :meth:`state_dict`.

        Raises:
            ValueError: for other keys, or counts of another shape or dtype, NaN, infinite or
                negative.
        """
        (counts,) = _load(state_dict, {"counts": (self.num_classes, torch.float64)})
        check_nonnegative("state_dict['counts']", counts)
        self._counts.copy_(counts)


class BatchFrequencyWeights:
    r"""Inverse class frequency of the recent batches, smoothed, with a bounded ratio.

    The class frequencies :math:`\hat\pi_c` are those of :class:`OnlinePriors` with decay
    :math:`\gamma` and smoothing :math:`\alpha`; the weights are their inverse, with the
    largest capped at :math:`\rho` times the smallest and scaled to sum to C:

    .. math::

        u_c = \min\!\Big(\frac{1}{\hat\pi_c},\ \rho \min_j \frac{1}{\hat\pi_j}\Big), \qquad
        w_c = \frac{C\, u_c}{\sum_j u_j}

    This is ``class_weights(priors, "inverse", max_ratio=rho, normalize="classes")``. Call
    :meth:`update` with each batch's labels before computing its loss: the returned weights
    include that batch.

    Args:
        num_classes: C (an integer > 0).
        decay: :math:`\gamma` in (0, 1] (default 0.9: about the last 10 batches).
        smoothing: :math:`\alpha > 0` (default 1).
        max_ratio: :math:`\rho \ge 1`, the largest ratio of two weights (default 100).
        device: where the state lives and the weights are returned (default CPU).

    Raises:
        ValueError: for parameters out of range.

    Example:
        >>> weights = BatchFrequencyWeights(3, max_ratio=5)
        >>> weights.update(torch.tensor([0, 0, 0, 0, 0, 0, 1, 1]))
        tensor([0.3600, 0.8400, 1.8000])
    """

    def __init__(
        self,
        num_classes: int,
        *,
        decay: float = 0.9,
        smoothing: float = 1.0,
        max_ratio: float = 100.0,
        device: Device = None,
    ):
        self._priors = OnlinePriors(num_classes, decay=decay, smoothing=smoothing, device=device)
        self.max_ratio = check_number("max_ratio", max_ratio, low=1.0)

    @property
    def priors(self) -> torch.Tensor:
        """The smoothed class frequencies :math:`\\hat\\pi`, float32 of shape (C,)."""
        return self._priors.priors

    @property
    def weights(self) -> torch.Tensor:
        """The current class weights, float32 of shape (C,), summing to C."""
        return class_weights(
            self._priors.priors, "inverse", max_ratio=self.max_ratio, normalize="classes"
        )

    def update(self, targets: torch.Tensor) -> torch.Tensor:
        """Add a batch of class indices (any shape, values in [0, C)) and return :attr:`weights`."""
        self._priors.update(targets)
        return self.weights

    def state_dict(self) -> dict[str, Any]:
        """The state to checkpoint: the running counts."""
        return self._priors.state_dict()

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore the state saved by :meth:`state_dict`."""
        self._priors.load_state_dict(state_dict)


class AdaptiveClassWeights:
    r"""Class weights from the measured per-class performance, updated on validation batches.

    The update rule. Each :meth:`update` counts, per class, the true positives, false
    positives and false negatives of the batch's predictions (summed over ranks under
    ``torch.distributed``) and measures

    .. math::

        s_c = \frac{TP_c}{TP_c + FN_c} \ (\text{recall}) \quad \text{or} \quad
        s_c = \frac{(1 + \beta^2)\, TP_c}{(1 + \beta^2)\, TP_c + \beta^2 FN_c + FP_c}
        \ (F_\beta)

    for the classes where it is defined (recall: the class occurs in the batch; F-beta: it
    occurs or is predicted). Their exponential moving average is
    :math:`m_c \leftarrow \gamma\, m_c + (1 - \gamma)\, s_c`, started at the first measurement
    of each class. The weights follow the difficulty :math:`d_c = 1 - m_c` (Sinha, Ohashi &
    Nakamura, "Class-wise difficulty-balanced loss for solving class-imbalance", ACCV 2020),
    floored so that no weight is below :math:`1/\rho` of the largest, and scaled to sum to C:

    .. math::

        u_c = \max\!\big(d_c^{\,\tau},\ \max_j d_j^{\,\tau} / \rho\big), \qquad
        w_c = \frac{C\, u_c}{\sum_j u_j}

    A class not measured yet gets the largest difficulty of the measured ones (no evidence
    that it is learned); the weights are uniform before any measurement and when every
    measured class is perfect.

    Args:
        num_classes: C (an integer > 0).
        metric: ``"recall"`` (default) or ``"fbeta"``.
        beta: :math:`\beta > 0` of ``"fbeta"`` (default 1); must be None for ``"recall"``
            (the attribute ``beta`` is then None too).
        decay: :math:`\gamma` in [0, 1) (default 0.9; 0 keeps only the last measurement).
        power: the exponent :math:`\tau \ge 0` (default 1; 0 gives uniform weights).
        max_ratio: :math:`\rho \ge 1`, the largest ratio of two weights (default 10).
        device: where the state lives and the weights are returned (default CPU).

    Raises:
        ValueError: for parameters out of range, or ``beta`` with ``"recall"``.

    Example:
        >>> adaptive = AdaptiveClassWeights(3)
        >>> logits = torch.tensor([[2.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        >>> adaptive.update(logits, torch.tensor([0, 1, 1, 2]))
        tensor([0.2500, 2.5000, 0.2500])
        >>> adaptive.score
        tensor([1.0000, 0.5000, 1.0000], dtype=torch.float64)
    """

    def __init__(
        self,
        num_classes: int,
        *,
        metric: PerformanceMetric = "recall",
        beta: float | None = None,
        decay: float = 0.9,
        power: float = 1.0,
        max_ratio: float = 10.0,
        device: Device = None,
    ):
        self.num_classes = check_positive_int("num_classes", num_classes)
        check_choice("metric", metric, get_args(PerformanceMetric))
        self.metric = metric
        beta = resolve_option("beta", beta, "metric", metric, ("fbeta",), _DEFAULT_BETA)
        self.beta: float | None = (
            None if beta is None else check_number("beta", beta, low=0.0, low_open=True)
        )
        self.decay = check_number("decay", decay, low=0.0, high=1.0, high_open=True)
        self.power = check_number("power", power, low=0.0)
        self.max_ratio = check_number("max_ratio", max_ratio, low=1.0)
        self.device = torch.device("cpu" if device is None else device)
        self._score = torch.zeros(self.num_classes, dtype=torch.float64, device=self.device)
        self._seen = torch.zeros(self.num_classes, dtype=torch.bool, device=self.device)

    @property
    def score(self) -> torch.Tensor:
        """The smoothed per-class score :math:`m_c`, float64 (C,); NaN where not measured yet."""
        return self._score.masked_fill(~self._seen, float("nan"))

    @property
    def weights(self) -> torch.Tensor:
        """The current class weights, float32 of shape (C,), summing to C."""
        ones = torch.ones(self.num_classes, device=self.device)
        if not bool(self._seen.any()):
            return ones
        difficulty = (1.0 - self._score).clamp(min=0.0).pow(self.power)
        hardest = difficulty[self._seen].max()
        if float(hardest) == 0.0:
            return ones
        u = torch.where(self._seen, difficulty, hardest).clamp(min=hardest / self.max_ratio)
        return (u * (self.num_classes / u.sum())).float()

    def update(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Measure a validation batch and return the new :attr:`weights`.

        Args:
            predictions: class indices of shape (N, ...) (integers), or scores (logits or
                probabilities) of shape (N, C, ...) (floats) whose argmax over dimension 1 is
                the prediction.
            targets: true class indices, integers in [0, C), of the shape of the predicted
                indices.

        The two may live on different devices: both are moved to :attr:`device` first.

        Raises:
            ValueError: for shapes that do not match or indices out of range.
            TypeError: for tensors of the wrong kind.
        """
        pred = _predicted_classes(predictions, self.num_classes)
        if not isinstance(targets, torch.Tensor) or targets.shape != pred.shape:
            actual = describe_tensor(targets) if isinstance(targets, torch.Tensor) else targets
            fail("targets", f"a tensor of shape {tuple(pred.shape)} like the predictions", actual)
        c = self.num_classes
        truth = _indices("targets", targets, c, self.device)
        guess = _indices("predictions", pred, c, self.device)
        counts = torch.stack(
            [
                torch.bincount(truth[guess == truth], minlength=c),
                torch.bincount(truth, minlength=c),
                torch.bincount(guess, minlength=c),
            ]
        )
        counts = _all_reduce(counts.to(torch.float64))
        tp, fn, fp = counts[0], counts[1] - counts[0], counts[2] - counts[0]
        if self.beta is None:  # recall
            numerator, denominator = tp, tp + fn
        else:
            b2 = self.beta**2
            numerator = (1 + b2) * tp
            denominator = numerator + b2 * fn + fp
        measured = denominator > 0
        s = numerator / torch.where(measured, denominator, 1.0)
        smoothed = torch.where(self._seen, self.decay * self._score + (1 - self.decay) * s, s)
        self._score = torch.where(measured, smoothed, self._score)
        self._seen |= measured
        return self.weights

    def state_dict(self) -> dict[str, Any]:
        """The state to checkpoint: the smoothed scores and which classes were measured."""
        return {"score": self._score.clone(), "seen": self._seen.clone()}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore the state saved by :meth:`state_dict`.

        Raises:
            ValueError: for other keys, tensors of another shape or dtype, or scores that
                are NaN or outside [0, 1].
        """
        c = self.num_classes
        score, seen = _load(state_dict, {"score": (c, torch.float64), "seen": (c, torch.bool)})
        # a smoothed recall or F-beta: a value in [0, 1]
        check_nonnegative("state_dict['score']", score)
        if not eager_checks(score):
            device_assert(score <= 1, "state_dict['score']", "values in [0, 1]")
        elif bool((score > 1).any()):
            first = int((score > 1).nonzero()[0])
            fail(
                "state_dict['score']", "values in [0, 1]", f"{score[first].item()} at index {first}"
            )
        self._score.copy_(score)
        self._seen.copy_(seen)


def _predicted_classes(predictions: Any, num_classes: int) -> torch.Tensor:
    if not isinstance(predictions, torch.Tensor) or predictions.dtype == torch.bool:
        actual = (
            describe_tensor(predictions) if isinstance(predictions, torch.Tensor) else predictions
        )
        fail("predictions", "a tensor of class indices or scores", actual, error=TypeError)
    if not predictions.is_floating_point():
        return predictions
    if predictions.ndim < 2 or predictions.shape[1] != num_classes:
        fail(
            "predictions", f"scores of shape (N, {num_classes}, ...)", describe_tensor(predictions)
        )
    return predictions.argmax(1)


def _indices(name: str, targets: Any, num_classes: int, device: torch.device) -> torch.Tensor:
    """Integer class indices (any shape, any integer dtype) as a flat int64 tensor on ``device``,
    checked to be in [0, num_classes)."""
    if (
        not isinstance(targets, torch.Tensor)
        or targets.is_floating_point()
        or targets.is_complex()
        or targets.dtype == torch.bool
    ):
        actual = describe_tensor(targets) if isinstance(targets, torch.Tensor) else targets
        fail(name, "a tensor of integer class indices", actual, error=TypeError)
    return class_indices(name, targets.detach().flatten(), num_classes).to(device)


def _bincount(name: str, targets: Any, num_classes: int, device: torch.device) -> torch.Tensor:
    """Float64 counts of integer class indices (any shape), summed over ranks."""
    counts = torch.bincount(_indices(name, targets, num_classes, device), minlength=num_classes)
    return _all_reduce(counts.to(torch.float64))


def _all_reduce(counts: torch.Tensor) -> torch.Tensor:
    return all_reduce_sum(counts)


def _load(
    state_dict: Mapping[str, Any], spec: dict[str, tuple[int, torch.dtype]]
) -> list[torch.Tensor]:
    """The tensors of ``state_dict`` named in ``spec``, checked for shape (C,) and dtype."""
    if not isinstance(state_dict, Mapping) or set(state_dict) != set(spec):
        keys = ", ".join(repr(k) for k in spec)
        fail("state_dict", f"a mapping with the keys {keys}", state_dict)
    out = []
    for key, (length, dtype) in spec.items():
        value = state_dict[key]
        if not isinstance(value, torch.Tensor) or value.shape != (length,) or value.dtype != dtype:
            actual = describe_tensor(value) if isinstance(value, torch.Tensor) else value
            fail(f"state_dict[{key!r}]", f"a {dtype} tensor of shape ({length},)", actual)
        out.append(value)
    return out
