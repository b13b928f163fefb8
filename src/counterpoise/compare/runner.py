"""Running every strategy on every seed and summarising the results."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, cast

import numpy as np

from .._checks import check_choice, check_positive_int, fail
from ..metrics import (
    MULTILABEL_SUMMARY_METRICS,
    SUMMARY_METRICS,
    ImbalanceReport,
    MultilabelReport,
    _check_boundaries,
    imbalance_report,
    multilabel_report,
)
from .data import UNKNOWN, Splits
from .strategies import (
    STRATEGIES,
    Outputs,
    Prediction,
    Strategy,
    Task,
    get_strategies,
    label_probabilities,
    label_thresholds,
    probabilities,
)
from .training import RunResult, TrainConfig, train_run

__all__ = ["DEFAULT_METRICS", "CompareConfig", "CompareResult", "resolve_config", "run_compare"]

#: The test-set report of one run: classes or labels.
Report = ImbalanceReport | MultilabelReport
#: Metrics for which lower is better.
LOWER_IS_BETTER = frozenset({"ece"})
#: The ranking metric of each task when none is chosen: balanced accuracy for classes, mean
#: average precision (macro over labels) for multilabel data.
DEFAULT_METRICS: dict[str, str] = {"multiclass": "balanced_accuracy", "multilabel": "map"}
#: The metrics each task can be ranked by.
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "multiclass": SUMMARY_METRICS,
    "multilabel": MULTILABEL_SUMMARY_METRICS,
}


@dataclass(frozen=True)
class CompareConfig:
    """Settings of a comparison.

    Attributes:
        seeds: how many seeds each strategy is trained with (seeds 0..seeds-1).
        metric: the metric that ranks strategies and selects checkpoints on validation; None
            for the task's default (:data:`DEFAULT_METRICS`: ``balanced_accuracy`` for
            classes, ``map`` for multilabel data).
        strategies: strategy names (default: all that apply to the data).
        train: model and optimisation settings.
        boundaries: ``(low, high)``, the label groups of multilabel data by training
            positives: tail below ``low``, medium from ``low`` to ``high``, head above
            ``high``; None for (20, 100) (see :func:`~counterpoise.metrics.multilabel_report`).
            They decide the ``head_*``, ``medium_*`` and ``tail_*`` metrics, in the report and
            on validation. None for multiclass data.
    """

    seeds: int = 3
    metric: str | None = None
    strategies: tuple[str, ...] | None = None
    train: TrainConfig = field(default_factory=TrainConfig)
    boundaries: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        check_positive_int("seeds", self.seeds)
        if self.metric is not None:
            check_choice(
                "metric", self.metric, dict.fromkeys(m for t in TASK_METRICS.values() for m in t)
            )
        if self.boundaries is not None:
            object.__setattr__(self, "boundaries", _check_boundaries(self.boundaries))


def task_of(splits: Splits | None) -> Task:
    """``"multilabel"`` for multilabel splits, else ``"multiclass"``."""
    return "multilabel" if splits is not None and splits.multilabel else "multiclass"


def resolve_config(config: CompareConfig, splits: Splits) -> CompareConfig:
    """``config`` with its metric set (the task's default when None), after checking that the
    metric and the strategies apply to the data, so that bad settings fail before training.

    For multilabel data a metric of a label group (e.g. ``tail_map``) must be defined on both
    the validation and the test split: the group must hold a label with a positive in each.

    Raises:
        ValueError: for a metric of the other task or undefined on this data, strategies
            that are unknown or for the other task, or ``boundaries`` for multiclass data.
    """
    task = task_of(splits)
    metric = config.metric or DEFAULT_METRICS[task]
    check_choice("metric", metric, TASK_METRICS[task])
    get_strategies(config.strategies, num_classes=splits.num_classes, task=task)
    if task == "multiclass" and config.boundaries is not None:
        fail(
            "boundaries",
            "None for multiclass data (label groups are multilabel)",
            config.boundaries,
        )
    if task == "multilabel":
        for split in ("val", "test"):
            y = splits.targets(split)
            constant = np.full(y.shape, 0.5)
            defined = multilabel_report(
                y,
                constant,
                counts=splits.class_counts("train"),
                thresholds=constant[0],
                boundaries=config.boundaries,
                ignore_value=UNKNOWN,
            ).summary()
            if metric not in defined:
                fail(
                    "metric",
                    f"defined on the {split} split (its label group has no label with a "
                    f"positive there): one of {', '.join(defined)}",
                    metric,
                )
    return replace(config, metric=metric)


@dataclass
class CompareResult:
    """Everything a comparison measured.

    Attributes:
        splits: the data.
        config: the settings.
        strategies: the strategies, in the order run.
        reports: per strategy, the test-set report of each seed (a
            :class:`~counterpoise.metrics.MultilabelReport` for multilabel data).
        runs: per training strategy, the run of each seed (outputs, history, timing).
        predictions: per strategy, the test-set prediction of each seed.
        seconds: total wall-clock time.
    """

    splits: Splits
    config: CompareConfig
    strategies: list[Strategy]
    reports: dict[str, list[Report]]
    runs: dict[str, list[RunResult]]
    predictions: dict[str, list[Prediction]]
    seconds: float = 0.0

    @property
    def task(self) -> Task:
        """``"multiclass"`` or ``"multilabel"``."""
        return task_of(self.splits)

    @property
    def metric(self) -> str:
        """The ranking metric (the task's default when the settings leave it None)."""
        return self.config.metric or DEFAULT_METRICS[self.task]

    def values(self, name: str, metric: str) -> list[float]:
        """The metric of strategy ``name`` on each seed."""
        return [
            r.summary()[metric] if isinstance(r, MultilabelReport) else float(getattr(r, metric))
            for r in self.reports[name]
        ]

    def metrics(self) -> list[str]:
        """The metrics every report has, in the order of the task's metrics."""
        present = [set(r.summary()) for runs in self.reports.values() for r in runs]
        return [m for m in TASK_METRICS[self.task] if all(m in p for p in present)]

    def stats(self, name: str, metric: str) -> dict[str, Any]:
        """Mean, standard deviation (ddof=1; 0 for one seed) and per-seed values."""
        v = self.values(name, metric)
        std = float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
        return {"mean": float(np.mean(v)), "std": std, "values": v}

    def ranking(self, metric: str | None = None) -> list[str]:
        """Strategy names from best to worst by the mean of ``metric`` (default: the
        comparison's metric)."""
        metric = metric or self.metric
        sign = 1.0 if metric in LOWER_IS_BETTER else -1.0
        return sorted(self.reports, key=lambda n: sign * self.stats(n, metric)["mean"])

    def within_spread(self, a: str, b: str, metric: str | None = None) -> bool:
        """Whether the means of ``a`` and ``b`` differ by less than their combined spread
        (sqrt(std_a^2 + std_b^2)); always False with a single seed (no spread is known)."""
        metric = metric or self.metric
        sa, sb = self.stats(a, metric), self.stats(b, metric)
        spread = math.hypot(sa["std"], sb["std"])
        return self.config.seeds > 1 and abs(sa["mean"] - sb["mean"]) < spread

    def mean_recall(self, name: str) -> np.ndarray:
        """Per-class recall of a strategy, averaged over seeds (multiclass data)."""
        return np.mean([cast(ImbalanceReport, r).recall for r in self.reports[name]], axis=0)

    def mean_average_precision(self, name: str) -> np.ndarray:
        """Per-label test average precision of a strategy, averaged over seeds (multilabel
        data); NaN for the labels without a positive in the test split."""
        reports = [cast(MultilabelReport, r) for r in self.reports[name]]
        return np.mean([r.average_precision for r in reports], axis=0)

    def to_json(self) -> dict[str, Any]:
        """results.json: every number of the comparison."""
        if self.task == "multilabel":
            return self._multilabel_json()
        s = self.splits
        metrics = [
            m
            for m in SUMMARY_METRICS
            if getattr(next(iter(self.reports.values()))[0], m) is not None
        ]
        return {
            "dataset": {
                "name": s.name,
                "task": "multiclass",
                "classes": [c if isinstance(c, (str, int)) else str(c) for c in s.classes],
                "split_sizes": s.sizes(),
                "class_counts": {k: s.class_counts(k).tolist() for k in ("train", "val", "test")},
                "test_balanced": s.test_balanced,
                "features": list(s.features),
                "notes": list(s.notes),
            },
            **self._common_json(),
            "strategies": {
                name: {
                    **{m: self.stats(name, m) for m in metrics},
                    "per_class_recall": self.mean_recall(name).tolist(),
                    "summary": next(st.summary for st in self.strategies if st.name == name),
                }
                for name in self.reports
            },
        }

    def _common_json(self) -> dict[str, Any]:
        return {
            "settings": {
                "seeds": self.config.seeds,
                "metric": self.metric,
                "train": asdict(self.config.train),
                "strategies": [st.name for st in self.strategies],
            },
            "ranking": self.ranking(),
            "timings": {
                "total_seconds": self.seconds,
                "per_strategy_seconds": {
                    name: float(sum(r.seconds for r in runs)) for name, runs in self.runs.items()
                },
            },
            "best_epochs": {name: [r.best_epoch for r in runs] for name, runs in self.runs.items()},
        }

    def _multilabel_json(self) -> dict[str, Any]:
        s = self.splits
        first = cast(MultilabelReport, next(iter(self.reports.values()))[0])
        names = first.to_dict()  # labels, groups and test positives are those of every report

        def finite(values: np.ndarray) -> list[float | None]:
            return [float(v) if np.isfinite(v) else None for v in values]

        return {
            "dataset": {
                "name": s.name,
                "task": "multilabel",
                "labels": names["labels"],
                "split_sizes": s.sizes(),
                "positives": {k: s.class_counts(k).tolist() for k in ("train", "val", "test")},
                "label_groups": {
                    "by": "training positives",
                    "boundaries": list(first.boundaries),
                    "group": list(first.label_groups),
                    "rules": {g.name: g.rule for g in first.groups},
                },
                "undefined_in_test": names["undefined_labels"],
                "features": list(s.features),
                "notes": list(s.notes),
            },
            **self._common_json(),
            "strategies": {
                name: {
                    **{m: self.stats(name, m) for m in self.metrics()},
                    "per_label_average_precision": finite(self.mean_average_precision(name)),
                    "summary": next(st.summary for st in self.strategies if st.name == name),
                }
                for name in self.reports
            },
        }


def run_compare(
    splits: Splits,
    config: CompareConfig | None = None,
    *,
    progress: Any = None,
) -> CompareResult:
    """Train and evaluate every chosen strategy on every seed.

    Args:
        splits: the data (see :mod:`counterpoise.compare.data`).
        config: the settings (default :class:`CompareConfig`).
        progress: a ``rich.progress.Progress`` to report to, or None.

    Returns:
        A :class:`CompareResult`.

    Raises:
        ValueError: for unknown strategies, strategies or a metric of the other task (see
            :func:`resolve_config`), before any training starts.
    """
    config = resolve_config(config or CompareConfig(), splits)
    metric = config.metric or DEFAULT_METRICS[task_of(splits)]  # set by resolve_config
    strategies = get_strategies(
        config.strategies, num_classes=splits.num_classes, task=task_of(splits)
    )
    start = time.perf_counter()
    trained = [st for st in strategies if st.trains]
    bar = None
    if progress is not None:
        bar = progress.add_task("training", total=len(trained) * config.seeds * config.train.epochs)

    runs: dict[str, list[RunResult]] = {st.name: [] for st in trained}
    predictions: dict[str, list[Prediction]] = {st.name: [] for st in strategies}
    counts = splits.class_counts("train")
    for st in trained:
        for seed in range(config.seeds):
            done = 0
            if progress is not None:
                progress.update(bar, description=f"{st.name} (seed {seed})")

            def advance(epoch: int) -> None:
                nonlocal done
                if progress is not None:
                    progress.advance(bar, epoch - done)
                done = epoch

            run = train_run(
                st,
                splits,
                config.train,
                seed=seed,
                metric=metric,
                boundaries=config.boundaries,
                on_epoch=advance,
            )
            if progress is not None:  # a run that stopped early skips the rest of its budget
                progress.advance(bar, config.train.epochs - done)
            runs[st.name].append(run)
            predictions[st.name].append(_prediction(run, splits))

    def model_of(name: str) -> str:
        """The strategy whose training produced ``name``'s model."""
        same = STRATEGIES[name].same_as
        return name if same is None else model_of(same)

    for st in strategies:
        if st.same_as is not None:
            predictions[st.name] = predictions[model_of(st.name)]
    for st in strategies:
        if st.correct is None:
            continue
        deployment = splits.deployment_prior()
        for run in runs[model_of(st.base or "")]:
            out = Outputs(run.val_logits, splits.y_val, run.test_logits, counts, deployment)
            predictions[st.name].append(st.correct(out))

    reports: dict[str, list[Report]]
    if splits.multilabel:
        reports = {
            name: [
                multilabel_report(
                    splits.y_test,
                    p.probs,
                    counts=counts,
                    thresholds=p.thresholds,
                    boundaries=config.boundaries,
                    label_names=splits.classes,
                    ignore_value=UNKNOWN,
                )
                for p in preds
            ]
            for name, preds in predictions.items()
        }
    else:
        reports = {
            name: [
                imbalance_report(splits.y_test, p.probs, y_pred=p.pred, classes=splits.classes)
                for p in preds
            ]
            for name, preds in predictions.items()
        }
    return CompareResult(
        splits=splits,
        config=config,
        strategies=strategies,
        reports=reports,
        runs=runs,
        predictions=predictions,
        seconds=time.perf_counter() - start,
    )


def _prediction(run: RunResult, splits: Splits) -> Prediction:
    """The test prediction of a trained model: softmax probabilities and their argmax, or
    for multilabel data sigmoid probabilities, predictions at 0.5 and per-label thresholds
    tuned for F1 on validation (:func:`~counterpoise.compare.strategies.label_thresholds`)."""
    if splits.multilabel:
        probs = label_probabilities(run.test_logits)
        thresholds = label_thresholds(label_probabilities(run.val_logits), splits.y_val)
        return Prediction(probs, probs >= 0.5, thresholds)
    probs = probabilities(run.test_logits)
    return Prediction(probs, probs.argmax(1))
