"""Running every strategy on every seed and summarising the results."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .._checks import check_choice, check_positive_int
from ..metrics import SUMMARY_METRICS, ImbalanceReport, imbalance_report
from .data import Splits
from .strategies import STRATEGIES, Outputs, Prediction, Strategy, get_strategies, probabilities
from .training import RunResult, TrainConfig, train_run

__all__ = ["CompareConfig", "CompareResult", "run_compare"]

#: Metrics for which lower is better.
LOWER_IS_BETTER = frozenset({"ece"})


@dataclass(frozen=True)
class CompareConfig:
    """Settings of a comparison.

    Attributes:
        seeds: how many seeds each strategy is trained with (seeds 0..seeds-1).
        metric: the metric that ranks strategies and selects checkpoints on validation.
        strategies: strategy names (default: all that apply to the data).
        train: model and optimisation settings.
    """

    seeds: int = 3
    metric: str = "balanced_accuracy"
    strategies: tuple[str, ...] | None = None
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        check_positive_int("seeds", self.seeds)
        check_choice("metric", self.metric, SUMMARY_METRICS)


@dataclass
class CompareResult:
    """Everything a comparison measured.

    Attributes:
        splits: the data.
        config: the settings.
        strategies: the strategies, in the order run.
        reports: per strategy, the test-set report of each seed.
        runs: per training strategy, the run of each seed (outputs, history, timing).
        predictions: per strategy, the test-set prediction of each seed.
        seconds: total wall-clock time.
    """

    splits: Splits
    config: CompareConfig
    strategies: list[Strategy]
    reports: dict[str, list[ImbalanceReport]]
    runs: dict[str, list[RunResult]]
    predictions: dict[str, list[Prediction]]
    seconds: float = 0.0

    def values(self, name: str, metric: str) -> list[float]:
        """The metric of strategy ``name`` on each seed."""
        return [float(getattr(r, metric)) for r in self.reports[name]]

    def stats(self, name: str, metric: str) -> dict[str, Any]:
        """Mean, standard deviation (ddof=1; 0 for one seed) and per-seed values."""
        v = self.values(name, metric)
        std = float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
        return {"mean": float(np.mean(v)), "std": std, "values": v}

    def ranking(self, metric: str | None = None) -> list[str]:
        """Strategy names from best to worst by the mean of ``metric`` (default: the
        comparison's metric)."""
        metric = metric or self.config.metric
        sign = 1.0 if metric in LOWER_IS_BETTER else -1.0
        return sorted(self.reports, key=lambda n: sign * self.stats(n, metric)["mean"])

    def within_spread(self, a: str, b: str, metric: str | None = None) -> bool:
        """Whether the means of ``a`` and ``b`` differ by less than their combined spread
        (sqrt(std_a^2 + std_b^2)); always False with a single seed (no spread is known)."""
        metric = metric or self.config.metric
        sa, sb = self.stats(a, metric), self.stats(b, metric)
        spread = math.hypot(sa["std"], sb["std"])
        return self.config.seeds > 1 and abs(sa["mean"] - sb["mean"]) < spread

    def mean_recall(self, name: str) -> np.ndarray:
        """Per-class recall of a strategy, averaged over seeds."""
        return np.mean([r.recall for r in self.reports[name]], axis=0)

    def to_json(self) -> dict[str, Any]:
        """results.json: every number of the comparison."""
        s = self.splits
        metrics = [
            m
            for m in SUMMARY_METRICS
            if getattr(next(iter(self.reports.values()))[0], m) is not None
        ]
        return {
            "dataset": {
                "name": s.name,
                "classes": [c if isinstance(c, (str, int)) else str(c) for c in s.classes],
                "split_sizes": s.sizes(),
                "class_counts": {k: s.class_counts(k).tolist() for k in ("train", "val", "test")},
                "test_balanced": s.test_balanced,
                "notes": list(s.notes),
            },
            "settings": {
                "seeds": self.config.seeds,
                "metric": self.config.metric,
                "train": asdict(self.config.train),
                "strategies": [st.name for st in self.strategies],
            },
            "ranking": self.ranking(),
            "strategies": {
                name: {
                    **{m: self.stats(name, m) for m in metrics},
                    "per_class_recall": self.mean_recall(name).tolist(),
                    "summary": next(st.summary for st in self.strategies if st.name == name),
                }
                for name in self.reports
            },
            "timings": {
                "total_seconds": self.seconds,
                "per_strategy_seconds": {
                    name: float(sum(r.seconds for r in runs)) for name, runs in self.runs.items()
                },
            },
            "best_epochs": {name: [r.best_epoch for r in runs] for name, runs in self.runs.items()},
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
        ValueError: for unknown strategies or a metric that is not one of
            :data:`counterpoise.metrics.SUMMARY_METRICS`, before any training starts.
    """
    config = config or CompareConfig()
    strategies = get_strategies(config.strategies, num_classes=splits.num_classes)
    start = time.perf_counter()
    trained = [st for st in strategies if st.trains]
    task = None
    if progress is not None:
        task = progress.add_task(
            "training", total=len(trained) * config.seeds * config.train.epochs
        )

    runs: dict[str, list[RunResult]] = {st.name: [] for st in trained}
    predictions: dict[str, list[Prediction]] = {st.name: [] for st in strategies}
    counts = splits.class_counts("train")
    for st in trained:
        for seed in range(config.seeds):
            done = 0
            if progress is not None:
                progress.update(task, description=f"{st.name} (seed {seed})")

            def advance(epoch: int) -> None:
                nonlocal done
                if progress is not None:
                    progress.advance(task, epoch - done)
                done = epoch

            run = train_run(
                st, splits, config.train, seed=seed, metric=config.metric, on_epoch=advance
            )
            if progress is not None:  # a run that stopped early skips the rest of its budget
                progress.advance(task, config.train.epochs - done)
            runs[st.name].append(run)
            probs = probabilities(run.test_logits)
            predictions[st.name].append(Prediction(probs, probs.argmax(1)))

    def model_of(name: str) -> str:
        """The strategy whose training produced ``name``'s model."""
        same = STRATEGIES[name].same_as
        return name if same is None else model_of(same)

    for st in strategies:
        if st.same_as is not None:
            predictions[st.name] = predictions[model_of(st.name)]
    deployment = splits.deployment_prior()
    for st in strategies:
        if st.correct is None:
            continue
        for run in runs[model_of(st.base or "")]:
            out = Outputs(run.val_logits, splits.y_val, run.test_logits, counts, deployment)
            predictions[st.name].append(st.correct(out))

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
