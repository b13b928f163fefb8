"""The strategies ``compare`` can try, in one registry that every capability adds to.

A strategy either trains a model (a loss, optionally a sampler) or corrects the outputs of
another strategy's trained model after training (``base`` and ``correct``), which isolates the
effect of the correction: the corrected model is exactly the base model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import numpy as np
import torch

from .._checks import fail

__all__ = [
    "STRATEGIES",
    "Outputs",
    "Prediction",
    "Strategy",
    "get_strategies",
    "register",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: Builds the loss of an epoch from the training class counts, the epoch (0-based) and the budget.
LossFactory = Callable[[torch.Tensor, int, int], LossFn]


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
    """Test-set probabilities (N, C) and predicted classes (N,)."""

    probs: np.ndarray
    pred: np.ndarray


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
    STRATEGIES[strategy.name] = strategy
    return strategy


def get_strategies(
    names: Iterable[str] | None = None, *, num_classes: int | None = None
) -> list[Strategy]:
    """The strategies to run, in registry order, with the base strategies they need.

    Args:
        names: strategy names (default: all that apply to ``num_classes``).
        num_classes: C of the data; strategies for binary data only are left out of the default
            set for C > 2 and rejected when named.

    Raises:
        ValueError: for an unknown name (listing the known ones) or a binary-only strategy
            named for multiclass data.
    """
    if names is None:
        chosen = [
            s for s in STRATEGIES.values() if not (s.binary_only and num_classes not in (None, 2))
        ]
    else:
        wanted = list(dict.fromkeys(names))
        unknown = [n for n in wanted if n not in STRATEGIES]
        if unknown:
            fail("strategies", f"names from {', '.join(STRATEGIES)}", ", ".join(unknown))
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


for _s in _builtin():
    register(_s)
