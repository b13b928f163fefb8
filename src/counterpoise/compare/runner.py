"""Running every strategy on every seed and summarising the results."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
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
from . import statistics
from .data import UNKNOWN, Splits
from .execution import (
    Executor,
    Job,
    LocalExecutor,
    RunJob,
    RunSettings,
    RunsFailed,
    TableRun,
    available_cores,
)
from .references import REFERENCES
from .run_store import RunStore, fingerprint
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
from .training import RunResult, TrainConfig

__all__ = [
    "BASELINES",
    "DEFAULT_METRICS",
    "CompareConfig",
    "CompareResult",
    "TrainingSummary",
    "resolve_config",
    "run_compare",
    "run_strategies",
]

#: The test-set report of one run: classes or labels.
Report = ImbalanceReport | MultilabelReport
#: The baseline of each task: plain cross-entropy, plain binary cross-entropy.
BASELINES = {"multiclass": "ce", "multilabel": "bce"}
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
        splits: how many splits of the data each strategy is trained on, with every seed
            (1: the split given; more: repeated random splits, see
            :meth:`~counterpoise.compare.data.Splits.resplit`).
        jobs: worker processes that train at once, each with one PyTorch thread; None for the
            CPU cores available, 1 to train in this process.
        resamples: bootstrap replicates of the intervals.
        references: also train the reference models of
            :data:`~counterpoise.compare.references.REFERENCES` (scikit-learn, on tables and
            arrays; never selected), on the same splits and seeds. The command line does, unless
            ``--no-reference``.
    """

    seeds: int = 3
    metric: str | None = None
    strategies: tuple[str, ...] | None = None
    train: TrainConfig = field(default_factory=TrainConfig)
    boundaries: tuple[float, float] | None = None
    splits: int = 1
    jobs: int | None = None
    resamples: int = statistics.RESAMPLES
    references: bool = False

    def __post_init__(self) -> None:
        check_positive_int("seeds", self.seeds)
        check_positive_int("splits", self.splits)
        if self.jobs is not None:
            check_positive_int("jobs", self.jobs)
        check_positive_int("resamples", self.resamples)
        if self.metric is not None:
            check_choice(
                "metric", self.metric, dict.fromkeys(m for t in TASK_METRICS.values() for m in t)
            )
        if self.boundaries is not None:
            object.__setattr__(self, "boundaries", _check_boundaries(self.boundaries))


@dataclass(frozen=True)
class TrainingSummary:
    """What trained a comparison's models when it is not the built-in MLP (the user's own
    model, or their own training loop).

    Attributes:
        text: the report's sentence on the model and its training.
        inputs: the model's inputs in words (the report's line on the data's features).
        settings: the training settings as results.json shows them (``settings.train``).
    """

    text: str
    inputs: str
    settings: dict[str, Any] = field(default_factory=dict)


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
    if config.splits > 1 and not splits.can_resplit:
        fail(
            "splits",
            "1 when the data gives the splits (a `split` column, or X_train...)",
            config.splits,
        )
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

    Runs are the (split, seed) pairs, split by split (:attr:`keys`); every list below holds
    one entry per run in that order.

    Attributes:
        splits: the data, as its first split (every split has the same classes and features).
        config: the settings.
        strategies: the strategies, in the order run.
        reports: per strategy, the test-set report of each run (a
            :class:`~counterpoise.metrics.MultilabelReport` for multilabel data).
        runs: per training strategy, the training run of each run (outputs, history, timing).
        predictions: per strategy, the test-set prediction of each run.
        seconds: total wall-clock time.
        val_reports: per strategy, the validation-set report of each run (at the selected
            checkpoint; post-hoc corrections fitted on one half of the validation rows and
            scored on the other, both ways).
        val_predictions: per strategy, the validation-set prediction of each run.
        keys: ``(split, seed)`` of each run.
        split_list: each split, without its features (labels and notes only).
        bootstrap: per strategy and metric, the bootstrap replicates of its mean test score
            (:mod:`~counterpoise.compare.statistics`), paired across strategies.
        references: the reference models among the results (not PyTorch strategies: ranked
            beside them, never selected).
        training: what trained the models when it is not the built-in MLP of
            ``config.train`` (the user's model or training loop), else None.
    """

    splits: Splits
    config: CompareConfig
    strategies: list[Strategy]
    reports: dict[str, list[Report]]
    runs: dict[str, list[RunResult]]
    predictions: dict[str, list[Prediction]]
    seconds: float = 0.0
    val_reports: dict[str, list[Report]] = field(default_factory=dict)
    val_predictions: dict[str, list[Prediction]] = field(default_factory=dict)
    keys: list[tuple[int, int]] = field(default_factory=list)
    split_list: list[Splits] = field(default_factory=list)
    bootstrap: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    training: TrainingSummary | None = None
    references: list[str] = field(default_factory=list)

    @property
    def task(self) -> Task:
        """``"multiclass"`` or ``"multilabel"``."""
        return task_of(self.splits)

    @property
    def metric(self) -> str:
        """The ranking metric (the task's default when the settings leave it None)."""
        return self.config.metric or DEFAULT_METRICS[self.task]

    @property
    def baseline(self) -> str:
        """The baseline strategy of the task (``ce``; ``bce`` for multilabel data)."""
        return BASELINES[self.task]

    @property
    def num_runs(self) -> int:
        """Runs per strategy: splits times seeds."""
        return len(self.keys) or self.config.seeds

    def values(self, name: str, metric: str, split: str = "test") -> list[float]:
        """The metric of strategy ``name`` on each run, on ``"test"`` or ``"val"``."""
        reports = (self.reports if split == "test" else self.val_reports)[name]
        return [
            r.summary()[metric] if isinstance(r, MultilabelReport) else float(getattr(r, metric))
            for r in reports
        ]

    def metrics(self) -> list[str]:
        """The metrics every report has, in the order of the task's metrics."""
        present = [set(r.summary()) for runs in self.reports.values() for r in runs]
        return [m for m in TASK_METRICS[self.task] if all(m in p for p in present)]

    def stats(self, name: str, metric: str, split: str = "test") -> dict[str, Any]:
        """Mean, standard deviation over runs (ddof=1; 0 for one run) and per-run values."""
        v = self.values(name, metric, split)
        std = float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
        return {"mean": float(np.mean(v)), "std": std, "values": v}

    def ranking(self, metric: str | None = None) -> list[str]:
        """Strategy names from best to worst by the mean validation score of ``metric``
        (default: the comparison's metric); by the test score when no validation score is
        known. Ties keep the order the strategies ran in."""
        metric = metric or self.metric
        sign = 1.0 if metric in LOWER_IS_BETTER else -1.0
        split = "val" if self.val_reports else "test"
        return sorted(self.reports, key=lambda n: sign * self.stats(n, metric, split)["mean"])

    @property
    def selected(self) -> str:
        """The strategy the validation score selects: the first of :meth:`ranking` that is
        not a reference model."""
        return next(n for n in self.ranking() if n not in self.references)

    def within_spread(self, a: str, b: str, metric: str | None = None) -> bool:
        """Whether the means of ``a`` and ``b`` differ by less than their combined spread
        (sqrt(std_a^2 + std_b^2)); always False with a single run (no spread is known)."""
        metric = metric or self.metric
        sa, sb = self.stats(a, metric), self.stats(b, metric)
        spread = math.hypot(sa["std"], sb["std"])
        return self.num_runs > 1 and abs(sa["mean"] - sb["mean"]) < spread

    def interval(self, name: str, metric: str | None = None) -> list[float] | None:
        """The 95% bootstrap interval of a strategy's mean test score (over splits, seeds and
        test rows), or None when it was not computed."""
        replicates = self.bootstrap.get(name, {}).get(metric or self.metric)
        return None if replicates is None else statistics.interval(replicates)

    def difference(
        self, name: str, metric: str | None = None, baseline: str | None = None
    ) -> dict[str, Any] | None:
        """The paired difference of a strategy's mean test score to the baseline's:
        ``{"difference", "interval", "within_noise", "better"}``, or None when the baseline
        did not run."""
        metric, baseline = metric or self.metric, baseline or self.baseline
        if baseline not in self.reports:
            return None
        diff = self.stats(name, metric)["mean"] - self.stats(baseline, metric)["mean"]
        ours, theirs = (self.bootstrap.get(n, {}).get(metric) for n in (name, baseline))
        band = None if ours is None or theirs is None else statistics.interval(ours - theirs)
        return statistics.describe_difference(diff, band, lower_is_better=metric in LOWER_IS_BETTER)

    def folded(self) -> dict[str, str]:
        """Strategies whose predictions equal an earlier strategy's on every run, validation
        and test (equal classes, probabilities within 1e-6): the same model by construction,
        such as ``ce_inverse`` and ``ce_balanced``, or a correction that changes nothing on
        this data, such as ``prior_corrected`` on a balanced test split. Name -> the earlier
        strategy; reference models are not folded."""
        out: dict[str, str] = {}
        names = [n for n in self.reports if n not in self.references]
        for i, name in enumerate(names):
            for earlier in names[:i]:
                if earlier not in out and self._same_predictions(name, earlier):
                    out[name] = earlier
                    break
        return out

    def _same_predictions(self, a: str, b: str) -> bool:
        pairs = [*zip(self.predictions[a], self.predictions[b])]
        pairs += zip(self.val_predictions.get(a, []), self.val_predictions.get(b, []))
        return all(
            np.array_equal(p.pred, q.pred) and np.allclose(p.probs, q.probs, rtol=0, atol=1e-6)
            for p, q in pairs
        )

    def identical_metrics(self) -> dict[str, str]:
        """Metrics equal to an earlier metric of :meth:`metrics` on every run of every
        strategy (such as ``accuracy`` and ``balanced_accuracy`` on a balanced test split):
        metric -> the earlier metric."""
        out: dict[str, str] = {}
        names = self.metrics()
        table = {m: np.array([self.values(n, m) for n in self.reports]) for m in names}
        for i, m in enumerate(names):
            for earlier in names[:i]:
                if earlier not in out and np.allclose(table[m], table[earlier], rtol=0, atol=1e-12):
                    out[m] = earlier
                    break
        return out

    def mean_recall(self, name: str) -> np.ndarray:
        """Per-class test recall of a strategy, averaged over runs (multiclass data)."""
        return np.mean([cast(ImbalanceReport, r).recall for r in self.reports[name]], axis=0)

    def mean_average_precision(self, name: str) -> np.ndarray:
        """Per-label test average precision of a strategy, averaged over runs (multilabel
        data); NaN for the labels without a positive in the test split."""
        reports = [cast(MultilabelReport, r) for r in self.reports[name]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a label undefined on every run
            return np.nanmean([r.average_precision for r in reports], axis=0)

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
                **_data_json(s),
            },
            **self._common_json(),
            "strategies": {
                name: {
                    **self._strategy_json(name, metrics),
                    "per_class_recall": self.mean_recall(name).tolist(),
                }
                for name in self.reports
            },
        }

    def _strategy_json(self, name: str, metrics: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {m: self.stats(name, m) for m in metrics}
        if self.val_reports:
            out["validation"] = {m: self.stats(name, m, "val") for m in metrics}
        if self.bootstrap:
            out["interval"] = {m: self.interval(name, m) for m in metrics}
            if self.baseline in self.reports:
                out[f"vs_{self.baseline}"] = {m: self.difference(name, m) for m in metrics}
        out["folded_into"] = self.folded().get(name)
        out["reference"] = name in self.references
        out["summary"] = (
            REFERENCES[name]
            if name in self.references
            else next(st.summary for st in self.strategies if st.name == name)
        )
        return out

    def _common_json(self) -> dict[str, Any]:
        return {
            "settings": {
                "seeds": self.config.seeds,
                "splits": len({k for k, _ in self.keys}) or 1,
                "metric": self.metric,
                "train": (
                    asdict(self.config.train)
                    if self.training is None
                    else dict(self.training.settings)
                ),
                "strategies": [st.name for st in self.strategies],
                "resamples": self.config.resamples,
            },
            "selected": self.selected,
            "selected_by": f"mean validation {self.metric}",
            "baseline": self.baseline,
            "ranking": self.ranking(),
            "runs": [{"split": k, "seed": j} for k, j in self.keys],
            "identical_metrics": self.identical_metrics(),
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
                **_data_json(s),
            },
            **self._common_json(),
            "strategies": {
                name: {
                    **self._strategy_json(name, self.metrics()),
                    "per_label_average_precision": finite(self.mean_average_precision(name)),
                }
                for name in self.reports
            },
        }


def run_compare(
    splits: Splits,
    config: CompareConfig | None = None,
    *,
    progress: Any = None,
    executor: Executor | None = None,
    runs: str | Path | None = None,
) -> CompareResult:
    """Train and evaluate every chosen strategy on every split and seed.

    Runs are independent: they execute in ``config.jobs`` worker processes at once, each with
    one PyTorch thread, and give the same numbers as when run one after another.

    Args:
        splits: the data (see :mod:`counterpoise.compare.data`); its repeated splits (when
            ``config.splits`` > 1) are made by :meth:`~counterpoise.compare.data.Splits.resplit`.
        config: the settings (default :class:`CompareConfig`).
        progress: a ``rich.progress.Progress`` to report to, or None.
        executor: what runs the jobs (default: local worker processes); e.g. a
            :class:`~counterpoise.compare.ray_executor.RayExecutor`.
        runs: a folder where every finished run is saved as it finishes, and from which the
            runs of an interrupted comparison of the same data and settings are loaded instead
            of trained again (:class:`~counterpoise.compare.run_store.RunStore`); None to keep
            none.

    Returns:
        A :class:`CompareResult`.

    Raises:
        ValueError: for unknown strategies, strategies or a metric of the other task (see
            :func:`resolve_config`), before any training starts.
    """
    config = resolve_config(config or CompareConfig(), splits)
    metric = config.metric or DEFAULT_METRICS[task_of(splits)]  # set by resolve_config
    train_job = TableRun(RunSettings(splits, config.train, metric, config.boundaries))
    references = tuple(REFERENCES) if config.references else ()
    store = None
    if runs is not None:
        settings = {
            "version": _version(),
            "data": splits.name,
            "features": list(splits.features),
            "train": asdict(config.train),
            "metric": metric,
            "boundaries": config.boundaries,
        }
        s = splits
        arrays = (s.X_train, s.y_train, s.X_val, s.y_val, s.X_test, s.y_test)
        store = RunStore(runs, settings, key=fingerprint(settings, *arrays))
    return run_strategies(
        splits,
        config,
        train_job,
        progress=progress,
        references=references,
        executor=executor,
        store=store,
    )


def _version() -> str:
    """The installed counterpoise's version (saved runs of another version are not reused)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("counterpoise")
    except PackageNotFoundError:
        return "unknown"


def run_strategies(
    splits: Splits,
    config: CompareConfig,
    train_job: RunJob,
    *,
    progress: Any = None,
    executor: Executor | None = None,
    store: RunStore | None = None,
    training: TrainingSummary | None = None,
    references: Sequence[str] = (),
) -> CompareResult:
    """Run every (strategy, split, seed) job with ``train_job`` and score the outputs: the
    part of a comparison that is the same whatever the model.

    Args:
        splits: the data's first split (its labels describe the data).
        config: the settings, resolved (:func:`resolve_config`).
        train_job: trains one job and returns its validation and test outputs.
        progress: a ``rich.progress.Progress`` to report to, or None.
        executor: what runs the jobs (default: a
            :class:`~counterpoise.compare.execution.LocalExecutor` with ``config.jobs``
            worker processes, on ``config.train.device``).
        store: where finished runs are saved as they finish, and loaded from instead of
            training again (see :mod:`~counterpoise.compare.run_store`); None to keep none.
        training: what trained the models when it is not the built-in MLP, for the report.
        references: reference models that ``train_job`` also runs (on tables: those of
            :data:`~counterpoise.compare.references.REFERENCES`), scored beside the strategies
            and never selected.

    Returns:
        A :class:`CompareResult`.

    Raises:
        RunsFailed: when some runs failed for good; the others finished (and are saved in
            ``store``).
    """
    strategies = get_strategies(
        config.strategies, num_classes=splits.num_classes, task=task_of(splits)
    )
    start = time.perf_counter()
    trained = [st for st in strategies if st.trains]
    keys = [(k, j) for k in range(config.splits) for j in range(config.seeds)]
    jobs = [Job(st.name, k, j) for k, j in keys for st in trained]
    jobs += [Job(name, k, j) for k, j in keys for name in references]
    epochs = config.train.epochs
    bar = None if progress is None else progress.add_task("training", total=len(jobs) * epochs)
    done: dict[Job, int] = {}

    def on_epoch(job: Job, epoch: int) -> None:
        if bar is not None:
            progress.update(bar, description=f"{job.strategy} (split {job.split}, seed {job.seed})")
            progress.advance(bar, epoch - done.get(job, 0))
        done[job] = epoch

    def on_done(job: Job, run: RunResult) -> None:
        if bar is not None:  # a run that stopped early skips the rest of its budget
            progress.update(bar, description=f"{len(done) + 1} of {len(jobs)} runs")
            progress.advance(bar, epochs - done.get(job, 0))
        done[job] = epochs

    saved = {} if store is None else store.load(jobs)
    for job in saved:
        on_done(job, saved[job])

    def finished(job: Job, run: RunResult) -> None:
        if store is not None:
            store.save(job, run)
        on_done(job, run)

    if executor is None:
        workers = available_cores() if config.jobs is None else config.jobs
        executor = LocalExecutor(workers, config.train.device)
    try:
        results = executor(
            [j for j in jobs if j not in saved], train_job, on_epoch=on_epoch, on_done=finished
        )
    except RunsFailed as error:
        where = None if store is None else str(store.folder)
        raise RunsFailed(error.failures, error.finished + len(saved), where) from None
    results.update(saved)

    runs: dict[str, list[RunResult]] = {st.name: [] for st in trained}
    predictions: dict[str, list[Prediction]] = {st.name: [] for st in strategies}
    val_predictions: dict[str, list[Prediction]] = {st.name: [] for st in strategies}
    split_list = [_without_features(splits.resplit(k)) for k in range(config.splits)]
    for k, j in keys:
        split = split_list[k]
        for st in trained:
            run = results[Job(st.name, k, j)]
            runs[st.name].append(run)
            predictions[st.name].append(_prediction(run.test_logits, run.val_logits, split))
            val_predictions[st.name].append(_prediction(run.val_logits, run.val_logits, split))
        for st in strategies:
            if st.correct is not None:
                base = results[Job(_model_of(st.name), k, j)]
                out = Outputs(
                    base.val_logits,
                    split.y_val,
                    base.test_logits,
                    split.class_counts("train"),
                    split.deployment_prior(),
                )
                predictions[st.name].append(st.correct(out))
                val_predictions[st.name].append(_crossfitted(st, out, seed=j))
    for st in strategies:
        if st.same_as is not None:
            predictions[st.name] = predictions[_model_of(st.name)]
            val_predictions[st.name] = val_predictions[_model_of(st.name)]
    for name in references:
        outputs = [(results[Job(name, k, j)], split_list[k]) for k, j in keys]
        predictions[name] = [_prediction(r.test_logits, r.val_logits, s) for r, s in outputs]
        val_predictions[name] = [_prediction(r.val_logits, r.val_logits, s) for r, s in outputs]

    reports = {n: _reports(p, split_list, keys, config, "test") for n, p in predictions.items()}
    val_reports = {
        n: _reports(p, split_list, keys, config, "val") for n, p in val_predictions.items()
    }
    result = CompareResult(
        splits=splits,
        config=config,
        strategies=strategies,
        reports=reports,
        runs=runs,
        predictions=predictions,
        val_reports=val_reports,
        val_predictions=val_predictions,
        keys=keys,
        split_list=split_list,
        training=training,
        references=list(references),
    )
    result.bootstrap = _bootstrap(result)
    result.seconds = time.perf_counter() - start
    return result


def _data_json(s: Splits) -> dict[str, Any]:
    """What was done to the data, for results.json: the rare classes (absent from the
    validation or test split; the metrics of a split cover the classes present in it) and
    the preparation of each table column."""
    return {
        "rare_classes": [_json_name(s.classes[c]) for c in s.rare_classes],
        "preprocessing": [asdict(step) for step in s.preprocessing],
    }


def _json_name(c: Any) -> Any:
    return c if isinstance(c, (str, int)) else str(c)


def _model_of(name: str) -> str:
    """The strategy whose training produced ``name``'s model."""
    st = STRATEGIES[name]
    same = st.same_as or st.base
    return name if same is None else _model_of(same)


def _without_features(splits: Splits) -> Splits:
    """``splits`` with no feature rows (its labels and notes are what the results need)."""
    return replace(
        splits, X_train=splits.X_train[:0], X_val=splits.X_val[:0], X_test=splits.X_test[:0]
    )


def _reports(
    predictions: list[Prediction],
    split_list: list[Splits],
    keys: list[tuple[int, int]],
    config: CompareConfig,
    part: str,
) -> list[Report]:
    out: list[Report] = []
    for p, (k, _) in zip(predictions, keys):
        s = split_list[k]
        y = s.targets(part)
        if s.multilabel:
            out.append(
                multilabel_report(
                    y,
                    p.probs,
                    counts=s.class_counts("train"),
                    thresholds=p.thresholds,
                    boundaries=config.boundaries,
                    label_names=s.classes,
                    ignore_value=UNKNOWN,
                )
            )
        else:
            out.append(imbalance_report(y, p.probs, y_pred=p.pred, classes=s.classes))
    return out


def _halves(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two halves of the validation rows, each class (each row's first positive label, for
    multilabel targets) dealt to them alternately in a random order."""
    rng = np.random.default_rng(seed)
    key = y if y.ndim == 1 else np.argmax(y == 1, axis=1)
    order = rng.permutation(len(y))
    order = order[np.argsort(key[order], kind="stable")]
    return np.sort(order[0::2]), np.sort(order[1::2])


def _crossfitted(st: Strategy, out: Outputs, *, seed: int) -> Prediction:
    """A post-hoc strategy's validation prediction, fitted on one half of the validation rows
    and applied to the other, both ways: an honest validation score for a correction tuned on
    validation (a threshold), and the plain correction for one that is not."""
    correct = cast(Any, st.correct)
    a, b = _halves(out.y_val, seed)
    probs = np.empty(out.val_logits.shape)
    pred = np.empty(len(out.y_val), dtype=np.int64)
    for fit, score in ((a, b), (b, a)):
        part = out._replace(
            val_logits=out.val_logits[fit], y_val=out.y_val[fit], test_logits=out.val_logits[score]
        )
        try:
            p = correct(part)
        except ValueError:  # a half too small to fit on (a class missing): fit on all rows
            p = correct(out._replace(test_logits=out.val_logits[score]))
        probs[score], pred[score] = p.probs, p.pred
    return Prediction(probs, pred)


def _bootstrap(result: CompareResult) -> dict[str, dict[str, np.ndarray]]:
    """Per strategy and metric, the bootstrap replicates of the mean test score: the same row
    resamples of each split and the same draws of splits and seeds for every strategy."""
    config, keys = result.config, result.keys
    resamples = config.resamples
    weights = {
        k: statistics.row_weights(len(s.y_test), resamples, seed=k)
        for k, s in enumerate(result.split_list)
    }
    metrics = result.metrics()
    out: dict[str, dict[str, np.ndarray]] = {}
    shape = (config.splits, config.seeds, resamples)
    for name, preds in result.predictions.items():
        table = {m: np.full(shape, np.nan) for m in metrics}
        for p, report, (k, j) in zip(preds, result.reports[name], keys):
            s = result.split_list[k]
            if s.multilabel:
                r = cast(MultilabelReport, report)
                members = {g.name: np.isin(np.arange(s.num_classes), g.indices) for g in r.groups}
                scores = statistics.multilabel_scores(
                    s.y_test,
                    p.probs,
                    weights[k],
                    members=members,
                    thresholds=p.thresholds,
                    ignore_value=UNKNOWN,
                )
            else:
                scores = statistics.multiclass_scores(s.y_test, p.probs, p.pred, weights[k])
            for m in metrics:
                table[m][k, j] = scores[m]
        out[name] = {m: statistics.combine_runs(v, seed=0) for m, v in table.items()}
    return out


def _prediction(logits: np.ndarray, val_logits: np.ndarray, splits: Splits) -> Prediction:
    """The prediction of a trained model from its ``logits``: softmax probabilities and their
    argmax, or for multilabel data sigmoid probabilities, predictions at 0.5 and per-label
    thresholds tuned for F1 on validation
    (:func:`~counterpoise.compare.strategies.label_thresholds`)."""
    if splits.multilabel:
        probs = label_probabilities(logits)
        thresholds = label_thresholds(label_probabilities(val_logits), splits.y_val)
        return Prediction(probs, probs >= 0.5, thresholds)
    probs = probabilities(logits)
    return Prediction(probs, probs.argmax(1))
