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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, NamedTuple, get_args

import numpy as np
import torch

from .._checks import check_choice, fail
from .data import UNKNOWN

__all__ = [
    "STRATEGIES",
    "TASKS",
    "LabelStats",
    "Outputs",
    "Prediction",
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

#: A loss of logits and targets: class indices (N,), or multilabel targets (N, L) holding 1, 0
#: or :data:`~counterpoise.compare.data.UNKNOWN` (not annotated: masked out).
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: Builds the loss of an epoch from the training statistics (class counts (C,) for multiclass
#: strategies, :class:`LabelStats` for multilabel ones), the epoch (0-based) and the budget.
LossFactory = Callable[[Any, int, int], LossFn]


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
class Strategy:
    """One way to handle imbalance.

    Attributes:
        name: stable identifier used on the command line and in results.
        summary: one line for ``compare --list`` and the report.
        make_loss: the training loss (see :data:`LossFactory`); None for post-hoc strategies.
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
    make_loss: LossFactory | None = None
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
        return self.make_loss is not None

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
        strategy.make_loss is not None,
        strategy.base is not None and strategy.correct is not None,
        strategy.same_as is not None,
    ]
    if sum(kinds) != 1 or (strategy.base is None) != (strategy.correct is None):
        fail(
            "strategy",
            "exactly one of: a loss, a base strategy and a correction, or `same_as`",
            strategy.name,
        )
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


def _weights(counts: torch.Tensor, scheme: str | None, **options: Any) -> torch.Tensor | None:
    from ..weights import class_weights

    if scheme is None:
        return None
    return class_weights(counts, scheme, **options).to(counts.device)  # type: ignore[arg-type]


def _cross_entropy(scheme: str | None = None, **options: Any) -> LossFactory:
    def make(counts: torch.Tensor, epoch: int, epochs: int) -> LossFn:
        from ..functional import cross_entropy

        return partial(cross_entropy, weight=_weights(counts, scheme, **options))

    return make


def _focal(gamma: float, scheme: str | None = None, **options: Any) -> LossFactory:
    def make(counts: torch.Tensor, epoch: int, epochs: int) -> LossFn:
        from ..functional import focal_loss

        return partial(focal_loss, gamma=gamma, alpha=_weights(counts, scheme, **options))

    return make


def _logit_adjusted(counts: torch.Tensor, epoch: int, epochs: int) -> LossFn:
    from ..functional import logit_adjusted_loss

    priors = counts.double() / counts.sum()
    return partial(logit_adjusted_loss, priors=priors.float(), tau=1.0)


def first_epoch_of(fraction: float, epochs: int) -> int:
    """The first (0-based) epoch at or after ``fraction`` of a budget of ``epochs``: where a
    deferred phase starts, and the first epoch whose checkpoint may be selected."""
    return int(fraction * epochs)


#: LDAM-DRW switches to re-weighted loss after this fraction of the budget (160 of 200 epochs
#: in Cao et al., 2019).
DRW_AT = 0.8


#: LDAM's scale s of the cosine logits (Cao et al., 2019).
LDAM_SCALE = 30.0


def _ldam_drw(counts: torch.Tensor, epoch: int, epochs: int) -> LossFn:
    from ..functional import ldam_loss

    deferred = epoch >= first_epoch_of(DRW_AT, epochs)
    weight = _weights(counts, "effective", beta=0.9999) if deferred else None
    return partial(ldam_loss, counts=counts, max_margin=0.5, scale=LDAM_SCALE, weight=weight)


def _sampler(scheme: str) -> Callable[[np.ndarray, int], Any]:
    def make(labels: np.ndarray, seed: int) -> Any:
        from ..samplers import ClassBalancedSampler

        return ClassBalancedSampler(torch.from_numpy(labels), weights=scheme, seed=seed)

    return make


# --- post-hoc corrections --------------------------------------------------------------------


def probabilities(logits: np.ndarray) -> np.ndarray:
    """Softmax of logits (N, C), in float64."""
    return torch.from_numpy(logits).double().softmax(1).numpy()


def label_probabilities(logits: np.ndarray) -> np.ndarray:
    """Sigmoid of multilabel logits (N, L), in float64."""
    return torch.from_numpy(logits).double().sigmoid().numpy()


def _posthoc_adjusted(out: Outputs) -> Prediction:
    from ..posthoc import adjust_logits

    priors = torch.from_numpy(out.counts / out.counts.sum())
    adjusted = adjust_logits(torch.from_numpy(out.test_logits).double(), priors, tau=1.0)
    probs = adjusted.softmax(1).numpy()
    return Prediction(probs, probs.argmax(1))


def _prior_corrected(out: Outputs) -> Prediction:
    from ..posthoc import prior_shift
    from ..weights import class_weights

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
    from ..posthoc import tune_thresholds

    val = probabilities(out.val_logits)[:, 1]
    tuned = tune_thresholds(torch.from_numpy(val), torch.from_numpy(out.y_val), metric="f1")
    probs = probabilities(out.test_logits)
    threshold = float(torch.as_tensor(tuned.thresholds).reshape(-1)[0])
    return Prediction(probs, (probs[:, 1] >= threshold).astype(np.int64))


# --- multilabel ------------------------------------------------------------------------------


def _bce(weighted: bool = False) -> LossFactory:
    def make(stats: LabelStats, epoch: int, epochs: int) -> LossFn:
        from ..functional import binary_cross_entropy_with_logits
        from ..weights import pos_weight

        weight = pos_weight(stats.counts, num_samples=stats.rows) if weighted else None

        def loss(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return binary_cross_entropy_with_logits(
                input,
                target,
                pos_weight=None if weight is None else weight.to(input.device),
                ignore_value=UNKNOWN,
            )

        return loss

    return make


def _sigmoid_focal(gamma: float, weighting: str | None = None) -> LossFactory:
    """Sigmoid focal loss without alpha; ``weighting`` ``"alpha"`` sets a per-label alpha from
    the counts (:func:`~counterpoise.functional.label_alpha`, "balanced"), ``"effective"``
    class-balanced label weights (effective number, beta 0.999, summing to L, as Cui et al.)."""

    def make(stats: LabelStats, epoch: int, epochs: int) -> LossFn:
        from ..functional import label_alpha, sigmoid_focal_loss
        from ..weights import class_weights

        alpha = label_alpha(stats.counts, stats.rows) if weighting == "alpha" else None
        weight = (
            class_weights(stats.counts, "effective", beta=0.999, normalize="classes")
            if weighting == "effective"
            else None
        )

        def loss(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return sigmoid_focal_loss(
                input,
                target,
                alpha=None if alpha is None else alpha.to(input.device),
                gamma=gamma,
                weight=None if weight is None else weight.to(input.device),
                ignore_value=UNKNOWN,
                reduction="mean",
            )

        return loss

    return make


def _asymmetric(stats: LabelStats, epoch: int, epochs: int) -> LossFn:
    from ..functional import asymmetric_loss

    return partial(asymmetric_loss, ignore_value=UNKNOWN)


def _distribution_balanced(stats: LabelStats, epoch: int, epochs: int) -> LossFn:
    from ..functional import distribution_balanced_loss

    return partial(
        distribution_balanced_loss,
        counts=stats.counts,
        num_samples=stats.rows,
        ignore_value=UNKNOWN,
    )


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
    from ..posthoc import tune_thresholds

    thresholds = np.full(y_val.shape[1], 0.5)
    for label in range(y_val.shape[1]):
        known = y_val[:, label] != UNKNOWN
        scores, truth = val_probs[known, label], y_val[known, label]
        if (truth == 1).any():
            tuned = tune_thresholds(torch.from_numpy(scores), torch.from_numpy(truth))
            thresholds[label] = float(tuned.thresholds)
    return thresholds


def _multilabel() -> Sequence[Strategy]:
    def ml(name: str, summary: str, make_loss: LossFactory) -> Strategy:
        return Strategy(name, summary, make_loss, task="multilabel")

    return (
        ml("bce", "binary cross-entropy per label (the baseline)", _bce()),
        ml(
            "bce_pos_weight",
            "binary cross-entropy, pos_weight = negatives / positives of each label",
            _bce(weighted=True),
        ),
        ml(
            "sigmoid_focal",
            "sigmoid focal loss, gamma 2, no alpha (Lin et al., 2017)",
            _sigmoid_focal(2.0),
        ),
        ml(
            "sigmoid_focal_alpha",
            "sigmoid focal loss, gamma 2, per-label alpha = negatives / rows, so that the "
            "positives and negatives of every label weigh the same in total",
            _sigmoid_focal(2.0, "alpha"),
        ),
        ml(
            "cb_sigmoid_focal",
            "class-balanced sigmoid focal loss, gamma 2, label weights from effective numbers "
            "of positives, beta 0.999 (Cui et al., 2019)",
            _sigmoid_focal(2.0, "effective"),
        ),
        ml(
            "asl",
            "asymmetric loss, gamma+ 0, gamma- 4, margin 0.05 (Ridnik et al., 2021)",
            _asymmetric,
        ),
        ml(
            "db",
            "distribution-balanced loss: re-balanced weights and negative-tolerant "
            "regularisation (Wu et al., 2020)",
            _distribution_balanced,
        ),
    )


def _builtin() -> Sequence[Strategy]:
    return (
        Strategy("ce", "plain cross-entropy (the baseline)", _cross_entropy()),
        Strategy(
            "ce_balanced",
            "cross-entropy, scikit-learn 'balanced' weights N/(C n)",
            _cross_entropy("balanced"),
        ),
        Strategy(
            "ce_inverse",
            "cross-entropy, inverse-frequency weights 1/n: the same model as ce_balanced, "
            "since the weighted mean ignores the weights' scale",
            same_as="ce_balanced",
        ),
        Strategy("ce_sqrt", "cross-entropy, weights 1/sqrt(n)", _cross_entropy("sqrt")),
        Strategy(
            "ce_effective",
            "cross-entropy, effective-number weights, beta 0.999",
            _cross_entropy("effective", beta=0.999),
        ),
        Strategy(
            "ce_effective_0.99",
            "cross-entropy, effective-number weights, beta 0.99",
            _cross_entropy("effective", beta=0.99),
        ),
        Strategy(
            "ce_effective_0.9999",
            "cross-entropy, effective-number weights, beta 0.9999",
            _cross_entropy("effective", beta=0.9999),
        ),
        Strategy(
            "sampler_balanced",
            "plain cross-entropy, class-balanced sampling",
            _cross_entropy(),
            make_sampler=_sampler("balanced"),
        ),
        Strategy(
            "sampler_sqrt",
            "plain cross-entropy, square-root sampling",
            _cross_entropy(),
            make_sampler=_sampler("sqrt"),
        ),
        Strategy("focal", "softmax focal loss, gamma 2 (Lin et al., 2017)", _focal(2.0)),
        Strategy(
            "cb_focal",
            "class-balanced focal loss, gamma 1, effective weights beta 0.9999 (Cui et al., 2019)",
            _focal(1.0, "effective", beta=0.9999),
        ),
        Strategy(
            "logit_adjusted", "logit-adjusted loss, tau 1 (Menon et al., 2021)", _logit_adjusted
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
            _ldam_drw,
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
