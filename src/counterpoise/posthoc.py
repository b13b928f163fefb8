r"""Post-hoc corrections: change a trained model's decisions or probabilities without retraining.

A model trained on long-tailed data, or with class weights, or with a class-balanced sampler,
has learned the class prior of the data it saw. Bayes' rule says how to move its outputs to
another prior, and the functions here apply it:

- :func:`adjust_logits` and :func:`tune_tau`: post-hoc logit adjustment, :math:`x_c - \tau \log
  \pi_c`, which targets the balanced error (Menon et al., "Long-tail learning via logit
  adjustment", ICLR 2021).
- :func:`prior_correction` and :func:`prior_shift`: the probabilities of a model trained under one
  prior turned into those for another (Saerens, Latinne & Decaestecker, "Adjusting the outputs of
  a classifier to new a priori probabilities", Neural Computation 2002; Elkan, "The foundations
  of cost-sensitive learning", IJCAI 2001).
- :func:`tune_thresholds`: exact per-label decision thresholds for binary and multilabel outputs.
- :class:`TemperatureScaling`: calibration by temperature or vector scaling (Guo et al., "On
  calibration of modern neural networks", ICML 2017).

Tensors with a class dimension follow PyTorch's layout: (N, C) or (N, C, d1, ..., dK), classes
on dimension 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NamedTuple, get_args

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import (
    PROBABILITY_TOLERANCE,
    check_1d,
    check_choice,
    check_finite,
    check_nonnegative,
    check_number,
    check_positive_int,
    check_state_tensor,
    class_indices,
    describe_tensor,
    fail,
    real_tensor,
    real_values,
    resolve_option,
)
from .metrics import imbalance_report
from .metrics.multilabel import Thresholds
from .weights import ArrayLike

__all__ = [
    "TAU_METRICS",
    "CalibrationKind",
    "TauMetric",
    "TauSearch",
    "TemperatureScaling",
    "ThresholdMetric",
    "Thresholds",
    "adjust_logits",
    "prior_correction",
    "prior_shift",
    "tune_tau",
    "tune_thresholds",
]

TauMetric = Literal[
    "balanced_accuracy", "macro_f1", "worst_class_recall", "gmean_recall", "accuracy", "mcc"
]
ThresholdMetric = Literal["f1", "fbeta", "cost"]
CalibrationKind = Literal["temperature", "vector"]

#: The metrics :func:`tune_tau` can maximise (fields of :class:`~counterpoise.metrics.ImbalanceReport`).
TAU_METRICS: tuple[str, ...] = get_args(TauMetric)
_DEFAULT_TAUS = tuple(i / 10 for i in range(21))
_DEFAULT_BETA = 1.0


def adjust_logits(logits: torch.Tensor, priors: ArrayLike, *, tau: float = 1.0) -> torch.Tensor:
    r"""Post-hoc logit adjustment: subtract the scaled log-prior from every logit.

    .. math::

        \tilde{x}_c = x_c - \tau \log \pi_c, \qquad \pi_c = \frac{p_c}{\sum_j p_j}

    from Menon et al., "Long-tail learning via logit adjustment" (ICLR 2021). A model trained
    with plain cross-entropy estimates :math:`P(y \mid x) \propto P(x \mid y)\, \pi_y`; with
    :math:`\tau = 1` the argmax of the adjusted logits is the Bayes-optimal prediction for the
    balanced error (equal class priors). The softmax of the adjusted logits is the model's
    probability under a uniform prior, when :math:`\tau = 1`.

    Args:
        logits: float tensor of shape (N, C) or (N, C, d1, ..., dK).
        priors: the training class prior :math:`\pi`, shape (C,): probabilities, or class
            counts (only ratios matter); finite and positive.
        tau: the scaling :math:`\tau \ge 0` (default 1; 0 leaves the logits unchanged).

    Returns:
        Tensor of the shape and dtype of ``logits``.

    Raises:
        ValueError: for logits that are not at least 2-D or not finite, priors of the wrong
            shape or not positive, or a negative ``tau``.
        TypeError: for logits that are not a floating tensor or priors that are not numbers.

    Example:
        >>> logits = torch.tensor([[2.0, 1.0, 0.5]])
        >>> adjust_logits(logits, [90, 9, 1])
        tensor([[2.1054, 3.4079, 5.1052]])
        >>> adjust_logits(logits, [90, 9, 1]).argmax(1)
        tensor([2])
    """
    x = _class_scores("logits", logits)
    tau = check_number("tau", tau, low=0.0)
    log_prior = _normalized_priors("priors", priors, x.shape[1]).log()
    shift = (tau * log_prior).to(device=x.device, dtype=x.dtype)
    return x - _along_classes(shift, x.ndim)


class TauSearch(NamedTuple):
    """The result of :func:`tune_tau`.

    Attributes:
        tau: the best :math:`\\tau`.
        value: the metric at ``tau``.
        taus: every :math:`\\tau` tried, in the order given.
        values: the metric at each of ``taus``.
    """

    tau: float
    value: float
    taus: tuple[float, ...]
    values: tuple[float, ...]


def tune_tau(
    logits: torch.Tensor,
    targets: torch.Tensor,
    priors: ArrayLike,
    *,
    metric: TauMetric = "balanced_accuracy",
    taus: Sequence[float] | None = None,
) -> TauSearch:
    r"""Choose the :math:`\tau` of :func:`adjust_logits` that maximises a metric on validation data.

    Every candidate is tried: the prediction is :math:`\arg\max_c (x_c - \tau \log \pi_c)` and
    the metric is computed by :func:`counterpoise.metrics.imbalance_report`. Among candidates
    with the same best value, the one closest to 1 (the value that is optimal for a calibrated
    model and the balanced error, Menon et al., ICLR 2021) is chosen, then the smaller one.

    Args:
        logits: validation logits, float tensor of shape (N, C).
        targets: validation class indices, integer tensor of shape (N,), values in [0, C).
        priors: the training class prior or class counts, shape (C,), positive.
        metric: one of :data:`TAU_METRICS`, all "higher is better". Default
            ``"balanced_accuracy"``.
        taus: candidates, each >= 0. Default 0, 0.1, ..., 2.

    Returns:
        A :class:`TauSearch` with the best ``tau``, its ``value`` and every value tried.

    Raises:
        ValueError: for an unknown metric, mismatched or invalid inputs (see
            :func:`adjust_logits`), or an empty or negative candidate.
        TypeError: for tensors of the wrong kind.

    Example:
        >>> logits = torch.tensor([[2.0, 1.0], [2.0, 1.5], [0.0, 1.0], [1.0, 0.0]])
        >>> targets = torch.tensor([0, 1, 1, 0])
        >>> tune_tau(logits, targets, [3, 1], taus=[0.0, 0.5, 1.0])
        TauSearch(tau=0.5, value=1.0, taus=(0.0, 0.5, 1.0), values=(0.75, 1.0, 0.5))
    """
    check_choice("metric", metric, TAU_METRICS)
    x = _class_scores("logits", logits)
    if x.ndim != 2:
        fail("logits", "a tensor of shape (N, C)", describe_tensor(x))
    y = _index_vector("targets", targets, x.shape[0], x.shape[1])
    grid = _DEFAULT_TAUS if taus is None else tuple(taus)
    if not grid:
        fail("taus", "a non-empty sequence", taus)
    grid = tuple(check_number(f"taus[{i}]", t, low=0.0) for i, t in enumerate(grid))
    truth = y.cpu().numpy()
    values = []
    for tau in grid:
        pred = adjust_logits(x, priors, tau=tau).argmax(1).cpu().numpy()
        report = imbalance_report(truth, pred, num_classes=x.shape[1])
        values.append(float(getattr(report, metric)))
    # values equal up to rounding (1e-12) are ties: the same score reached through different
    # confusion matrices may differ in its last bits
    best = max(
        range(len(grid)), key=lambda i: (round(values[i], 12), -abs(grid[i] - 1.0), -grid[i])
    )
    return TauSearch(grid[best], values[best], grid, tuple(values))


def tune_thresholds(
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    metric: ThresholdMetric = "f1",
    beta: float | None = None,
    cost_ratio: float | None = None,
) -> Thresholds:
    r"""Per-label decision thresholds that maximise F-beta or minimise the expected cost, exactly.

    A sample is predicted positive when its score is >= the threshold. The candidate
    thresholds of a label are its distinct validation scores, all of them, and :math:`+\infty`
    (no sample predicted positive): every threshold makes the same predictions as one of
    these. One sort and one cumulative sum per label give the counts :math:`TP, FP, FN` at
    every candidate, in :math:`O(N \log N)`, so the result is the exact optimum over all
    thresholds (not a grid search). The objectives, with :math:`P = TP + FN` the positives:

    .. math::

        F_\beta = \frac{(1 + \beta^2)\, TP}{(1 + \beta^2)\, TP + \beta^2 FN + FP}, \qquad
        \text{cost} = \frac{c_{FP}\, FP + c_{FN}\, FN}{c_{FP}\, N}
                    = \frac{FP + r\, FN}{N}, \quad r = \frac{c_{FN}}{c_{FP}}

    ``"f1"`` is :math:`F_1`, ``"fbeta"`` uses ``beta`` (:math:`\beta > 1` favours recall),
    ``"cost"`` minimises the expected misclassification cost for the cost ratio ``cost_ratio``
    (a missed positive costs ``cost_ratio`` times a false alarm), the empirical version of the
    Bayes threshold :math:`P(y = 1 \mid x) \ge 1 / (1 + r)` of Elkan (IJCAI 2001); when
    predicting no positive costs least, the threshold is ``inf``. F-beta needs a positive in
    every label (it is undefined, 0 / 0, without one); predicting no positive then scores
    :math:`F_\beta = 0`, below the threshold that predicts every sample positive, so
    F-beta thresholds are always finite. When several candidates reach the optimum, the
    largest threshold wins (the fewest positive predictions).

    Args:
        scores: validation scores (probabilities, logits or any monotone score), float, of
            shape (N,) for one binary label or (N, L) for L labels; finite.
        targets: the true labels, shape like ``scores``, with values 0 or 1 (bool, integer or
            float).
        metric: ``"f1"`` (default), ``"fbeta"`` or ``"cost"``.
        beta: :math:`\beta > 0` of ``"fbeta"`` (default 1); must be None for the other
            metrics.
        cost_ratio: :math:`r = c_{FN} / c_{FP} > 0`, required for ``"cost"`` and only for it.

    Returns:
        :class:`Thresholds` ``(thresholds, values)``, of shape (L,), or 0-d for scores of shape
        (N,).

    Raises:
        ValueError: for an unknown metric, an option that the metric does not use, scores that
            are empty, not finite or not 1-D/2-D, targets of another shape or not 0/1, or (for
            F-beta, which is then 0 at every threshold) a label without positives.
        TypeError: for scores or targets that are not real numbers.

    Example:
        >>> scores = torch.tensor([0.1, 0.4, 0.35, 0.8])
        >>> targets = torch.tensor([0, 0, 1, 1])
        >>> tune_thresholds(scores, targets)
        Thresholds(thresholds=tensor(0.3500), values=tensor(0.8000, dtype=torch.float64))
        >>> tune_thresholds(scores, targets, metric="cost", cost_ratio=0.5).thresholds
        tensor(0.8000)
        >>> no_positives = torch.tensor([0, 0])  # predicting none is free
        >>> tune_thresholds(torch.tensor([0.9, 0.1]), no_positives, metric="cost", cost_ratio=1.0)
        Thresholds(thresholds=tensor(inf), values=tensor(0., dtype=torch.float64))
    """
    check_choice("metric", metric, get_args(ThresholdMetric))
    beta = resolve_option("beta", beta, "metric", metric, ("fbeta",), _DEFAULT_BETA)
    if beta is not None:
        beta = check_number("beta", beta, low=0.0, low_open=True)
    cost_ratio = resolve_option("cost_ratio", cost_ratio, "metric", metric, ("cost",))
    if cost_ratio is not None:
        cost_ratio = check_number("cost_ratio", cost_ratio, low=0.0, low_open=True)

    s = real_values("scores", scores, booleans=True)
    if not s.is_floating_point():
        s = s.double()
    if s.ndim not in (1, 2) or s.shape[0] == 0:
        fail("scores", "a non-empty tensor of shape (N,) or (N, L)", describe_tensor(s))
    check_finite("scores", s)
    y = real_values("targets", targets, booleans=True).to(s.device)
    if y.shape != s.shape:
        fail("targets", f"of the shape of `scores` {tuple(s.shape)}", describe_tensor(y))
    if not bool(((y == 0) | (y == 1)).all()):
        fail("targets", "0 or 1", y[(y != 0) & (y != 1)][0].item())

    s2 = s.reshape(s.shape[0], -1)
    order = s2.argsort(dim=0, descending=True, stable=True)
    # Row 0 is the candidate +inf (nothing predicted positive), row k the k-th largest score:
    # TP, FP and FN of "predict the top k samples" for k = 0, ..., N.
    infinity = torch.full_like(s2[:1], torch.inf)
    ranked = torch.cat([infinity, s2.gather(0, order)])
    hits = y.reshape(s2.shape).to(torch.float64).gather(0, order)
    tp = torch.cat([torch.zeros_like(hits[:1]), hits.cumsum(0)])
    predicted = torch.arange(s2.shape[0] + 1, dtype=torch.float64, device=s.device)
    fp = predicted[:, None] - tp
    positives = tp[-1]
    fn = positives - tp
    if cost_ratio is not None:
        objective = -(fp + cost_ratio * fn) / s2.shape[0]
    else:
        if not bool((positives > 0).all()):
            label = int((positives == 0).nonzero()[0])
            fail("targets", "at least one positive per label for F-beta", f"none for label {label}")
        b2 = 1.0 if beta is None else beta * beta  # "f1" is F-beta with beta = 1
        # the denominator equals TP + FP + beta^2 P >= beta^2 P > 0 at every candidate
        objective = (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp)
    # only the last sample of a run of equal scores is a valid cut: ">=" takes all of the run
    cut = torch.ones_like(ranked, dtype=torch.bool)
    cut[:-1] = ranked[:-1] != ranked[1:]
    objective = objective.masked_fill(~cut, -torch.inf)
    best = objective.argmax(0, keepdim=True)  # the first maximum: the largest threshold
    thresholds = ranked.gather(0, best)[0]
    values = objective.gather(0, best)[0]
    if cost_ratio is not None:
        values = -values
    if s.ndim == 1:
        return Thresholds(thresholds[0], values[0])
    return Thresholds(thresholds, values)


def prior_correction(probs: torch.Tensor, weights: ArrayLike) -> torch.Tensor:
    r"""Undo class weighting: probabilities for the true class prior from a weighted model.

    Training with class weights :math:`w_c` (or a sampler that draws class :math:`c` with
    probability proportional to :math:`w_c \pi_c`) fits the posterior of a data set whose
    prior is :math:`\pi'_c \propto w_c \pi_c`, so the model over-predicts up-weighted classes.
    Bayes' rule (Saerens et al., Neural Computation 2002; Elkan, IJCAI 2001) recovers the
    posterior under the true prior:

    .. math::

        q_c = \frac{p_c / w_c}{\sum_j p_j / w_j}

    For a class-balanced sampler pass ``weights = 1 / counts``. To go the other way, from the
    true prior to a new deployment prior, see :func:`prior_shift`.

    Args:
        probs: probabilities of the weighted model, float of shape (N, C) or
            (N, C, d1, ..., dK), in [0, 1], summing to 1 over dimension 1.
        weights: the class weights used in training, shape (C,), finite and positive; their
            scale does not matter.

    Returns:
        The corrected probabilities, of the shape and dtype of ``probs``.

    Raises:
        ValueError: for probabilities that are not at least 2-D, not finite or not
            normalised, or weights of the wrong shape or not positive.
        TypeError: for inputs that are not real numbers.

    Example:
        >>> probs = torch.tensor([[0.2, 0.8], [0.5, 0.5]])
        >>> prior_correction(probs, [1.0, 4.0])
        tensor([[0.5000, 0.5000],
                [0.8000, 0.2000]])
    """
    x = _probabilities(probs)
    w = _positive_vector("weights", weights, x.shape[1])
    return _reweighted(x, -w.log())


def prior_shift(probs: torch.Tensor, source: ArrayLike, target: ArrayLike) -> torch.Tensor:
    r"""Move probabilities from the class prior they were trained under to another prior.

    .. math::

        q_c = \frac{p_c\, \pi^{new}_c / \pi_c}{\sum_j p_j\, \pi^{new}_j / \pi_j}

    (Saerens, Latinne & Decaestecker, Neural Computation 2002). With a uniform ``target``, the
    argmax of the result is the prediction of :func:`adjust_logits` with :math:`\tau = 1`.

    Args:
        probs: float of shape (N, C) or (N, C, d1, ..., dK), in [0, 1], summing to 1 over
            dimension 1.
        source: the prior :math:`\pi` the model was trained under (probabilities or class
            counts), shape (C,), positive.
        target: the deployment prior :math:`\pi^{new}` (probabilities or counts), shape (C,),
            positive.

    Returns:
        The shifted probabilities, of the shape and dtype of ``probs``.

    Raises:
        ValueError: for invalid probabilities or priors (see :func:`prior_correction`).
        TypeError: for inputs that are not real numbers.

    Example:
        >>> probs = torch.tensor([[0.5, 0.5]])
        >>> prior_shift(probs, source=[0.5, 0.5], target=[0.9, 0.1])
        tensor([[0.9000, 0.1000]])
    """
    x = _probabilities(probs)
    old = _positive_vector("source", source, x.shape[1]).log()
    new = _positive_vector("target", target, x.shape[1]).log()
    return _reweighted(x, new - old)  # the scales of the priors cancel in the normalisation


class TemperatureScaling(nn.Module):
    r"""Calibrate logits by temperature scaling, or per class by vector scaling.

    From Guo et al., "On calibration of modern neural networks" (ICML 2017):

    .. math::

        \text{temperature:}\ \tilde{x}_c = x_c / T, \qquad
        \text{vector:}\ \tilde{x}_c = x_c / T_c + b_c

    with :math:`T, T_c > 0` (stored as their logarithms) and :math:`b_c` fitted by
    :meth:`fit`, which minimises the negative log-likelihood of validation logits with L-BFGS.
    A single temperature never changes the argmax; vector scaling is Guo et al.'s vector
    scaling with a positive diagonal, and its biases can change predictions (they act like a
    fitted logit adjustment).

    Args:
        kind: ``"temperature"`` (default, one parameter) or ``"vector"`` (2C parameters).
        num_classes: C, required for ``"vector"`` and only for it.

    Shape:
        - Input: (N, C) or (N, C, d1, ..., dK) logits.
        - Output: same shape.

    Raises:
        ValueError: for an unknown kind or a ``num_classes`` that the kind does not use.

    Example:
        >>> logits = torch.tensor([[4.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 0.0]])
        >>> targets = torch.tensor([0, 1, 1, 0])
        >>> scaler = TemperatureScaling().fit(logits, targets)
        >>> round(scaler.temperature.item(), 3)
        3.641
        >>> scaler(logits).softmax(1)[0].detach()
        tensor([0.7500, 0.2500])
    """

    def __init__(self, kind: CalibrationKind = "temperature", *, num_classes: int | None = None):
        super().__init__()
        check_choice("kind", kind, get_args(CalibrationKind))
        num_classes = resolve_option("num_classes", num_classes, "kind", kind, ("vector",))
        if num_classes is not None:
            num_classes = check_positive_int("num_classes", num_classes)
        self.kind = kind
        self.num_classes = num_classes
        shape: tuple[int, ...] = () if num_classes is None else (num_classes,)
        self.log_temperature = nn.Parameter(torch.zeros(shape))
        self.bias = nn.Parameter(torch.zeros(shape)) if kind == "vector" else None

    @property
    def temperature(self) -> torch.Tensor:
        """The temperature :math:`T` (0-d), or :math:`T_c` of shape (C,) for ``"vector"``."""
        return self.log_temperature.detach().exp()

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        x = self._check_logits(logits)
        return self._scale(x, self.log_temperature.to(x.dtype), self._bias(x.dtype))

    def fit(
        self, logits: torch.Tensor, targets: torch.Tensor, *, max_iter: int = 100
    ) -> TemperatureScaling:
        """Fit the parameters on validation data by minimising the mean negative log-likelihood.

        The optimisation starts from the identity (:math:`T = 1`, :math:`b = 0`) and runs
        L-BFGS with a strong-Wolfe line search in float64.

        Args:
            logits: validation logits, float of shape (N, C), finite.
            targets: validation class indices, integer of shape (N,), in [0, C).
            max_iter: the most L-BFGS iterations (default 100).

        Returns:
            ``self``, fitted.

        Raises:
            ValueError: for invalid logits, targets or ``max_iter``, or when the fit diverges.
        """
        x = self._check_logits(logits).detach().to(torch.float64)
        if x.ndim != 2:
            fail("logits", "a tensor of shape (N, C)", describe_tensor(x))
        y = _index_vector("targets", targets, x.shape[0], x.shape[1]).to(x.device)
        max_iter = check_positive_int("max_iter", max_iter)
        log_t = torch.zeros_like(self.log_temperature, dtype=torch.float64, device=x.device)
        log_t.requires_grad_(True)
        params = [log_t]
        bias = None
        if self.bias is not None:
            bias = torch.zeros_like(self.bias, dtype=torch.float64, device=x.device)
            params.append(bias.requires_grad_(True))
        optimizer = torch.optim.LBFGS(
            params,
            lr=1.0,
            max_iter=max_iter,
            tolerance_grad=1e-9,
            tolerance_change=1e-12,
            line_search_fn="strong_wolfe",
        )

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            loss = F.cross_entropy(self._scale(x, log_t, bias), y)
            loss.backward()
            return loss

        optimizer.step(closure)
        if not all(bool(torch.isfinite(p).all()) for p in params):
            fail("logits", "logits on which the NLL fit converges", "a diverging fit")
        with torch.no_grad():
            self.log_temperature.copy_(log_t)
            if self.bias is not None:
                self.bias.copy_(params[1])
        return self

    def _load_from_state_dict(self, state_dict: Any, prefix: str, *args: Any) -> None:
        # checked before copying: a state of another kind or number of classes, or a NaN
        # temperature, is refused and leaves the calibration as it was
        for name, current in self.named_parameters(recurse=False):
            if prefix + name in state_dict:
                check_state_tensor(prefix + name, state_dict[prefix + name], current)
        super()._load_from_state_dict(state_dict, prefix, *args)

    def _check_logits(self, logits: torch.Tensor) -> torch.Tensor:
        x = _class_scores("logits", logits)
        if self.num_classes is not None and x.shape[1] != self.num_classes:
            fail("logits", f"{self.num_classes} classes on dimension 1", describe_tensor(x))
        return x

    def _bias(self, dtype: torch.dtype) -> torch.Tensor | None:
        return None if self.bias is None else self.bias.to(dtype)

    @staticmethod
    def _scale(
        x: torch.Tensor, log_temperature: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        out = x * _along_classes(torch.exp(-log_temperature), x.ndim)
        return out if bias is None else out + _along_classes(bias, x.ndim)


def _class_scores(name: str, value: Any) -> torch.Tensor:
    """A finite floating tensor of shape (N, C, ...)."""
    if not isinstance(value, torch.Tensor) or not value.is_floating_point():
        actual = describe_tensor(value) if isinstance(value, torch.Tensor) else type(value).__name__
        fail(name, "a floating-point tensor", actual, error=TypeError)
    if value.ndim < 2:
        fail(name, "a tensor of shape (N, C) or (N, C, d1, ..., dK)", describe_tensor(value))
    check_finite(name, value)
    return value


def _index_vector(name: str, value: Any, n: int, num_classes: int) -> torch.Tensor:
    """Integer class indices of shape (n,) in [0, num_classes), as int64."""
    t = real_values(name, value, booleans=True)
    if t.is_floating_point() or t.dtype == torch.bool:
        fail(name, "integer class indices", describe_tensor(t), error=TypeError)
    if t.shape != (n,):
        fail(name, f"a tensor of shape ({n},), one index per row", describe_tensor(t))
    if n == 0:
        fail(name, "non-empty", describe_tensor(t))
    return class_indices(name, t, num_classes)


def _positive_vector(name: str, value: Any, num_classes: int) -> torch.Tensor:
    """A float64 CPU vector of ``num_classes`` finite positive numbers."""
    v = real_tensor(name, value)
    check_1d(name, v, length=num_classes)
    check_nonnegative(name, v)
    if not bool((v > 0).all()):
        fail(name, "positive for every class", f"0 at index {int((v == 0).nonzero()[0])}")
    return v


def _normalized_priors(name: str, value: Any, num_classes: int) -> torch.Tensor:
    v = _positive_vector(name, value, num_classes)
    return v / v.sum()


def _along_classes(v: torch.Tensor, ndim: int) -> torch.Tensor:
    """View a per-class vector so that it broadcasts along dimension 1 of an ``ndim`` tensor."""
    return v.reshape(v.shape + (1,) * (ndim - 2)) if v.ndim else v


def _probabilities(value: Any) -> torch.Tensor:
    x = _class_scores("probs", value)
    if x.numel() == 0:
        return x
    low, high = float(x.min()), float(x.max())
    if low < -PROBABILITY_TOLERANCE or high > 1 + PROBABILITY_TOLERANCE:
        fail(
            "probs", "probabilities in [0, 1] (pass logits.softmax(1))", f"[{low:.3g}, {high:.3g}]"
        )
    error = float((x.sum(1, dtype=torch.float64) - 1).abs().max())
    if error > PROBABILITY_TOLERANCE:
        fail("probs", "rows that sum to 1 over dimension 1", f"a sum off by {error:.3g}")
    return x


def _reweighted(probs: torch.Tensor, log_ratio: torch.Tensor) -> torch.Tensor:
    """``probs * exp(log_ratio)`` renormalised over dimension 1, computed in at least float32.

    In log space, ``softmax(log p + log r)``: the ratios themselves can underflow or overflow
    (weights 1 and 1e-50 in float32), which would make rows NaN, but their logarithms cannot,
    so every row is finite and sums to 1 (a row of probabilities has a positive entry).
    """
    work = probs.float() if probs.dtype in (torch.float16, torch.bfloat16) else probs
    log_r = log_ratio.to(device=work.device, dtype=work.dtype)
    logits = work.clamp(0, 1).log() + _along_classes(log_r, work.ndim)
    return logits.softmax(1).to(probs.dtype)
