"""The strategies ``compare`` can try, in one registry that every capability adds to.

A strategy either trains a model (a loss, optionally a sampler) or corrects the outputs of
another strategy's trained model after training (``base`` and ``correct``), which isolates the
effect of the correction: the corrected model is exactly the base model.

Every strategy is for one task: ``"multiclass"`` (one class per sample, softmax outputs) or
``"multilabel"`` (several 0/1 labels per sample, one sigmoid output per label). Multilabel data
has no post-hoc strategies: average precision ranks each label's scores, which any monotone
per-label correction (a threshold, a logit shift) leaves unchanged. Instead every multilabel
strategy is also scored with per-label thresholds tuned on validation (see
:func:`label_thresholds`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, get_args

import numpy as np
import torch
from torch import nn

from .._checks import check_choice, check_number, fail
from ..losses.registry import LOSSES
from ..posthoc import adjust_logits, prior_shift, tune_thresholds
from ..samplers import ClassBalancedSampler
from ..schedules import DeferredReweighting
from ..weights import class_weights
from .data import UNKNOWN

__all__ = [
    "DRW_AT",
    "STRATEGIES",
    "TASKS",
    "DeferredWeights",
    "LabelStats",
    "Outputs",
    "Prediction",
    "Sampling",
    "Strategy",
    "Task",
    "get_strategies",
    "label_probabilities",
    "label_thresholds",
    "register",
]

#: What a strategy is for: one class per sample, or several 0/1 labels per sample.
Task = Literal["multiclass", "multilabel"]
TASKS: tuple[str, ...] = get_args(Task)

#: LDAM-DRW switches to re-weighted loss after this fraction of the budget (160 of 200 epochs
#: in Cao et al., 2019).
DRW_AT = 0.8


class LabelStats(NamedTuple):
    """The training split's label statistics, handed to a multilabel strategy's loss.

    Attributes:
        positives: int64 (L,), rows annotated 1 for each label.
        negatives: int64 (L,), rows annotated 0 for each label.
        rows: N, the training rows (more than ``positives + negatives`` where some entries
            are not annotated).
    """

    positives: torch.Tensor
    negatives: torch.Tensor
    rows: int

    @property
    def counts(self) -> torch.Tensor:
        """Positives per label among all ``rows``, float64 (L,): each label's rate of
        positives among its annotated rows, times ``rows``. Equal to ``positives`` when every
        entry is annotated; otherwise the entries that are not annotated count neither as
        positives nor as negatives in the weights derived from it (``pos_weight``, alpha,
        priors), which see each label's own rate."""
        # multiplied first: exactly the positives when every entry is annotated
        return self.positives.double() * self.rows / (self.positives + self.negatives)

    @property
    def num_samples(self) -> int:
        """``rows``: with :attr:`counts`, what a multilabel loss's ``from_counts`` reads."""
        return self.rows


class Outputs(NamedTuple):
    """A trained model's outputs, handed to a post-hoc correction.

    Attributes:
        val_logits, y_val: validation logits (N_val, C) and labels.
        test_logits: test logits (N_test, C).
        counts: training samples per class.
        deployment_prior: the class prior of the data the model is evaluated on (the test
            split's design: uniform for a balanced test split, else the data's class shares).
    """

    val_logits: np.ndarray
    y_val: np.ndarray
    test_logits: np.ndarray
    counts: np.ndarray
    deployment_prior: np.ndarray


class Prediction(NamedTuple):
    """Test-set probabilities (N, C) and predicted classes (N,); for multilabel data, sigmoid
    probabilities (N, L), 0/1 predictions at 0.5 (N, L) and the per-label thresholds tuned on
    validation (L,)."""

    probs: np.ndarray
    pred: np.ndarray
    thresholds: np.ndarray | None = None


@dataclass(frozen=True)
class DeferredWeights:
    """Class weights switched on late in training: deferred re-weighting (Cao et al., 2019).

    Attributes:
        scheme: the scheme of :func:`counterpoise.weights.class_weights` from the training
            counts, e.g. ``"effective"``.
        options: the scheme's options, e.g. ``{"beta": 0.9999}``.
        at: the fraction of the budget after which the weights apply (uniform before), through
            :class:`counterpoise.schedules.DeferredReweighting`.
    """

    scheme: str
    options: Mapping[str, Any] = field(default_factory=dict)
    at: float = DRW_AT

    def schedule(self, counts: torch.Tensor, epochs: int) -> DeferredReweighting:
        """The schedule of the class weights over a budget of ``epochs``."""
        weights = class_weights(counts, self.scheme, **self.options)  # type: ignore[arg-type]
        return DeferredReweighting(weights, start_epoch=first_epoch_of(self.at, epochs))


@dataclass(frozen=True)
class Strategy:
    """One way to handle imbalance.

    Attributes:
        name: stable identifier used on the command line and in results.
        summary: one line for ``compare --list`` and the report.
        loss: the name of the training loss in :data:`counterpoise.losses.registry.LOSSES`;
            None for post-hoc strategies.
        loss_options: what the loss is built with from the training counts: the keywords of
            its ``from_counts`` (e.g. ``{"scheme": "effective", "beta": 0.9999}``).
        deferred: class weights that the loss's class-weight vector takes late in training
            (deferred re-weighting), or None.
        make_sampler: ``(train_labels, seed) -> sampler`` with ``set_epoch``; None to shuffle.
        normed_head: train with a cosine classifier head (as LDAM is defined).
        logit_scale: the model's outputs times this are its logits (LDAM's cosines are scaled
            by ``s`` inside its loss; the same scale turns them into probabilities).
        select_after: fraction of the epochs before which no checkpoint is selected.
        base: the strategy whose trained model a post-hoc strategy corrects.
        correct: the post-hoc correction of the base model's outputs.
        same_as: a strategy that trains exactly the same model by construction (e.g. weights
            that differ only by a constant factor, which a weighted mean ignores); its results
            are reused instead of training again, and the report says so.
        binary_only: applies only to two-class data.
        task: ``"multiclass"`` or ``"multilabel"``, the data the strategy is for.
    """

    name: str
    summary: str
    loss: str | None = None
    loss_options: Mapping[str, Any] = field(default_factory=dict)
    deferred: DeferredWeights | None = None
    make_sampler: Callable[[np.ndarray, int], Any] | None = None
    normed_head: bool = False
    logit_scale: float = 1.0
    select_after: float = 0.0
    base: str | None = None
    correct: Callable[[Outputs], Prediction] | None = None
    same_as: str | None = None
    binary_only: bool = False
    task: Task = "multiclass"

    @property
    def trains(self) -> bool:
        """Whether the strategy trains a model of its own."""
        return self.loss is not None

    def build_loss(self, counts: Any, *, ignore_value: float | None = None) -> nn.Module:
        """The strategy's loss module, built from the training ``counts`` (class counts (C,),
        or :class:`LabelStats` for multilabel data) by its registry entry; multilabel losses
        mask the targets equal to ``ignore_value``."""
        if self.loss is None:
            fail("strategy", "a strategy that trains a model (one with a loss)", self.name)
        options = dict(self.loss_options)
        if ignore_value is not None:
            options["ignore_value"] = ignore_value
        return LOSSES[self.loss].build(counts, **options)

    @property
    def depends_on(self) -> str | None:
        """The strategy whose model this one reuses, if any."""
        return self.base or self.same_as


STRATEGIES: dict[str, Strategy] = {}


def register(strategy: Strategy) -> Strategy:
    """Add a strategy to :data:`STRATEGIES` (names are unique)."""
    if strategy.name in STRATEGIES:
        fail("strategy.name", "a name not registered yet", strategy.name)
    kinds = [
        strategy.loss is not None,
        strategy.base is not None and strategy.correct is not None,
        strategy.same_as is not None,
    ]
    if sum(kinds) != 1 or (strategy.base is None) != (strategy.correct is None):
        fail(
            "strategy",
            "exactly one of: a loss, a base strategy and a correction, or `same_as`",
            strategy.name,
        )
    if strategy.loss is not None and strategy.loss not in LOSSES:
        fail("strategy.loss", f"a registered loss ({', '.join(LOSSES)})", strategy.loss)
    if strategy.deferred is not None:
        if strategy.loss is None or LOSSES[strategy.loss].weight is None:
            fail("strategy.deferred", "None unless the loss has class weights", strategy.name)
        check_number("strategy.deferred.at", strategy.deferred.at, low=0.0, high=1.0)
    if strategy.depends_on is not None and strategy.depends_on not in STRATEGIES:
        fail("strategy.base", "a registered strategy", strategy.depends_on)
    check_choice("strategy.task", strategy.task, TASKS)
    depends = STRATEGIES[strategy.depends_on] if strategy.depends_on is not None else None
    if depends is not None and depends.task != strategy.task:
        fail("strategy.base", f"a strategy for {strategy.task} data", strategy.depends_on)
    STRATEGIES[strategy.name] = strategy
    return strategy


def get_strategies(
    names: Iterable[str] | None = None,
    *,
    num_classes: int | None = None,
    task: Task = "multiclass",
) -> list[Strategy]:
    """The strategies to run, in registry order, with the base strategies they need.

    Args:
        names: strategy names (default: all that apply to ``task`` and ``num_classes``).
        num_classes: C of the data; strategies for binary data only are left out of the default
            set for C > 2 and rejected when named.
        task: ``"multiclass"`` (default) or ``"multilabel"``: strategies for the other task are
            left out of the default set and rejected when named.

    Raises:
        ValueError: for an unknown name (listing the known ones), a strategy for the other
            task, or a binary-only strategy named for multiclass data.
    """
    check_choice("task", task, TASKS)
    if names is None:
        chosen = [
            s
            for s in STRATEGIES.values()
            if s.task == task and not (s.binary_only and num_classes not in (None, 2))
        ]
    else:
        wanted = list(dict.fromkeys(names))
        unknown = [n for n in wanted if n not in STRATEGIES]
        if unknown:
            known = ", ".join(n for n, s in STRATEGIES.items() if s.task == task)
            fail("strategies", f"names from {known}", ", ".join(unknown))
        other = [n for n in wanted if STRATEGIES[n].task != task]
        if other:
            fail(
                "strategies",
                f"strategies for {task} data",
                ", ".join(f"{n} ({STRATEGIES[n].task} data only)" for n in other),
            )
        binary = [n for n in wanted if STRATEGIES[n].binary_only and num_classes not in (None, 2)]
        if binary:
            fail(
                "strategies",
                f"strategies that apply to {num_classes} classes",
                ", ".join(binary) + " (binary data only)",
            )
        if not wanted:
            fail("strategies", "at least one strategy name", "none")
        needed = set(wanted) | {d for n in wanted if (d := STRATEGIES[n].depends_on)}
        chosen = [s for s in STRATEGIES.values() if s.name in needed]
    return chosen


# --- losses ----------------------------------------------------------------------------------


def first_epoch_of(fraction: float, epochs: int) -> int:
    """The first (0-based) epoch at or after ``fraction`` of a budget of ``epochs``: where a
    deferred phase starts, and the first epoch whose checkpoint may be selected."""
    return int(fraction * epochs)


#: LDAM's scale s of the cosine logits (Cao et al., 2019).
LDAM_SCALE = 30.0


@dataclass(frozen=True)
class Sampling:
    """Class-balanced sampling of the training rows by a weighting scheme: called with the
    training labels and a seed, it gives the :class:`~counterpoise.ClassBalancedSampler`."""

    scheme: str

    def __call__(self, labels: np.ndarray, seed: int) -> Any:
        return ClassBalancedSampler(torch.from_numpy(labels), weights=self.scheme, seed=seed)


# --- post-hoc corrections --------------------------------------------------------------------


def probabilities(logits: np.ndarray) -> np.ndarray:
    """Softmax of logits (N, C), in float64."""
    return torch.from_numpy(logits).double().softmax(1).numpy()


def label_probabilities(logits: np.ndarray) -> np.ndarray:
    """Sigmoid of multilabel logits (N, L), in float64."""
    return torch.from_numpy(logits).double().sigmoid().numpy()


def _posthoc_adjusted(out: Outputs) -> Prediction:
    priors = torch.from_numpy(out.counts / out.counts.sum())
    adjusted = adjust_logits(torch.from_numpy(out.test_logits).double(), priors, tau=1.0)
    probs = adjusted.softmax(1).numpy()
    return Prediction(probs, probs.argmax(1))


def _prior_corrected(out: Outputs) -> Prediction:
    counts = torch.from_numpy(out.counts).double()
    weights = class_weights(counts, "balanced").double()
    # A model trained with class weights w learns the prior n_c w_c (uniform for "balanced");
    # move its probabilities to the prior of the data it is deployed on.
    probs = prior_shift(
        torch.from_numpy(probabilities(out.test_logits)),
        counts * weights,
        torch.from_numpy(out.deployment_prior),
    ).numpy()
    return Prediction(probs, probs.argmax(1))


def _threshold_tuned(out: Outputs) -> Prediction:
    val = probabilities(out.val_logits)[:, 1]
    tuned = tune_thresholds(torch.from_numpy(val), torch.from_numpy(out.y_val), metric="f1")
    probs = probabilities(out.test_logits)
    threshold = float(torch.as_tensor(tuned.thresholds).reshape(-1)[0])
    return Prediction(probs, (probs[:, 1] >= threshold).astype(np.int64))


# --- multilabel ------------------------------------------------------------------------------


def label_thresholds(val_probs: np.ndarray, y_val: np.ndarray) -> np.ndarray:
    """Per-label decision thresholds that maximise F1 on the validation split.

    Each label's threshold is :func:`counterpoise.posthoc.tune_thresholds` on its annotated
    validation rows; a label without a positive there (F1 undefined) keeps 0.5.

    Args:
        val_probs: validation probabilities (N, L).
        y_val: validation targets (N, L): 1, 0 or :data:`~counterpoise.compare.data.UNKNOWN`.

    Returns:
        float64 thresholds (L,), on the probability scale.
    """
    thresholds = np.full(y_val.shape[1], 0.5)
    for label in range(y_val.shape[1]):
        known = y_val[:, label] != UNKNOWN
        scores, truth = val_probs[known, label], y_val[known, label]
        if (truth == 1).any():
            tuned = tune_thresholds(torch.from_numpy(scores), torch.from_numpy(truth))
            thresholds[label] = float(tuned.thresholds)
    return thresholds


def _multilabel() -> Sequence[Strategy]:
    def ml(name: str, summary: str, loss: str, **options: Any) -> Strategy:
        return Strategy(name, summary, loss, options, task="multilabel")

    return (
        ml("bce", "binary cross-entropy per label (the baseline)", "bce", scheme="none"),
        ml(
            "bce_pos_weight",
            "binary cross-entropy, pos_weight = negatives / positives of each label",
            "bce",
        ),
        ml(
            "sigmoid_focal",
            "sigmoid focal loss, gamma 2, no alpha (Lin et al., 2017)",
            "sigmoid_focal",
            scheme="none",
            gamma=2.0,
            reduction="mean",
        ),
        ml(
            "sigmoid_focal_alpha",
            "sigmoid focal loss, gamma 2, per-label alpha = negatives / rows, so that the "
            "positives and negatives of every label weigh the same in total",
            "sigmoid_focal",
            gamma=2.0,
            reduction="mean",
        ),
        ml(
            "cb_sigmoid_focal",
            "class-balanced sigmoid focal loss, gamma 2, label weights from effective numbers "
            "of positives, beta 0.999 (Cui et al., 2019)",
            "sigmoid_focal",
            scheme="effective",
            beta=0.999,
            normalize="classes",
            apply_to="weight",
            gamma=2.0,
            reduction="mean",
        ),
        ml(
            "asl",
            "asymmetric loss, gamma+ 0, gamma- 4, margin 0.05 (Ridnik et al., 2021)",
            "asymmetric",
        ),
        ml(
            "db",
            "distribution-balanced loss: re-balanced weights and negative-tolerant "
            "regularisation (Wu et al., 2020)",
            "distribution_balanced",
        ),
    )


def _builtin() -> Sequence[Strategy]:
    def ce(scheme: str = "none", **options: Any) -> tuple[str, dict[str, Any]]:
        return "cross_entropy", {"scheme": scheme, **options}

    return (
        Strategy("ce", "plain cross-entropy (the baseline)", *ce()),
        Strategy(
            "ce_balanced", "cross-entropy, scikit-learn 'balanced' weights N/(C n)", *ce("balanced")
        ),
        Strategy(
            "ce_inverse",
            "cross-entropy, inverse-frequency weights 1/n: the same model as ce_balanced, "
            "since the weighted mean ignores the weights' scale",
            same_as="ce_balanced",
        ),
        Strategy("ce_sqrt", "cross-entropy, weights 1/sqrt(n)", *ce("sqrt")),
        Strategy(
            "ce_effective",
            "cross-entropy, effective-number weights, beta 0.999",
            *ce("effective", beta=0.999),
        ),
        Strategy(
            "ce_effective_0.99",
            "cross-entropy, effective-number weights, beta 0.99",
            *ce("effective", beta=0.99),
        ),
        Strategy(
            "ce_effective_0.9999",
            "cross-entropy, effective-number weights, beta 0.9999",
            *ce("effective", beta=0.9999),
        ),
        Strategy(
            "sampler_balanced",
            "plain cross-entropy, class-balanced sampling",
            *ce(),
            make_sampler=Sampling("balanced"),
        ),
        Strategy(
            "sampler_sqrt",
            "plain cross-entropy, square-root sampling",
            *ce(),
            make_sampler=Sampling("sqrt"),
        ),
        Strategy(
            "focal",
            "softmax focal loss, gamma 2 (Lin et al., 2017)",
            "focal",
            {"scheme": "none", "gamma": 2.0},
        ),
        Strategy(
            "cb_focal",
            "class-balanced focal loss, gamma 1, effective weights beta 0.9999 (Cui et al., 2019)",
            "focal",
            {"scheme": "effective", "beta": 0.9999, "gamma": 1.0},
        ),
        Strategy(
            "logit_adjusted",
            "logit-adjusted loss, tau 1 (Menon et al., 2021)",
            "logit_adjusted",
            {"tau": 1.0},
        ),
        Strategy(
            "balanced_softmax",
            "balanced softmax (Ren et al., 2020): the same model as logit_adjusted with tau 1, "
            "since log n and log(n / N) differ by a constant",
            same_as="logit_adjusted",
        ),
        Strategy(
            "ldam_drw",
            "LDAM loss with deferred re-weighting (Cao et al., 2019)",
            "ldam",
            {"max_margin": 0.5, "scale": LDAM_SCALE},
            deferred=DeferredWeights("effective", {"beta": 0.9999}, at=DRW_AT),
            normed_head=True,
            logit_scale=LDAM_SCALE,
            select_after=DRW_AT,
        ),
        Strategy(
            "posthoc_adjusted",
            "plain cross-entropy model, logits adjusted by -log prior after training",
            base="ce",
            correct=_posthoc_adjusted,
        ),
        Strategy(
            "prior_corrected",
            "'balanced'-weighted model, probabilities moved to the test data's class prior "
            "(unchanged when the test split is balanced)",
            base="ce_balanced",
            correct=_prior_corrected,
        ),
        Strategy(
            "threshold_tuned",
            "plain cross-entropy model, decision threshold tuned for F1 on validation",
            base="ce",
            correct=_threshold_tuned,
            binary_only=True,
        ),
    )


for _s in (*_builtin(), *_multilabel()):
    register(_s)
