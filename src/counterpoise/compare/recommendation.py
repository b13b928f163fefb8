"""What a comparison says to do: the strategy validation selects, how sure its gain is, and the
code that applies it.

The recommendation never comes from the test split: the strategy is the one with the best mean
validation score, and the test split then says how it does against the baseline, with the
paired bootstrap interval of the difference (:mod:`~counterpoise.compare.statistics`). A gain
whose interval holds 0 is reported as within noise, and one run per strategy gives no verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from ..metrics import ImbalanceReport
from .data import UNKNOWN
from .runner import LOWER_IS_BETTER, CompareResult
from .snippets import snippet
from .strategies import STRATEGIES, LabelStats
from .training import label_stats

__all__ = ["NOISY_TEST", "Recommendation", "recommend", "weighting_strategies"]

#: Half-width of the baseline's test interval from which the test split is called too small
#: to separate strategies.
NOISY_TEST = 0.05


@dataclass(frozen=True)
class Recommendation:
    """The advice of a comparison.

    Attributes:
        strategy: the strategy the validation score selects.
        metric: the ranking metric.
        baseline: the baseline strategy (``ce``, or ``bce`` for multilabel data).
        test: the selected strategy's mean test score and its 95% interval.
        vs_baseline: its paired difference to the baseline (see
            :meth:`~counterpoise.compare.runner.CompareResult.difference`), or None.
        verdict: the finding in words.
        code: the snippet that applies the selected strategy.
        simpler: the best pure class-weight strategy by validation (a weight vector and the
            usual loss), when the selected strategy is not one; else None.
        simpler_vs_baseline: its paired difference to the baseline, or None.
        simpler_code: its snippet, or None.
        worst: the baseline's worst class (or label) and its test recall (average precision)
            before (baseline) and after (selected), or None.
        warnings: what limits the finding (one run, a small test split).
    """

    strategy: str
    metric: str
    baseline: str
    test: dict[str, Any]
    vs_baseline: dict[str, Any] | None
    verdict: str
    code: str
    simpler: str | None = None
    simpler_vs_baseline: dict[str, Any] | None = None
    simpler_code: str | None = None
    worst: dict[str, Any] | None = None
    warnings: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The recommendation as results.json holds it."""
        return {
            "strategy": self.strategy,
            "metric": self.metric,
            "test": self.test,
            f"vs_{self.baseline}": self.vs_baseline,
            "verdict": self.verdict,
            "code": self.code,
            "simpler": self.simpler,
            f"simpler_vs_{self.baseline}": self.simpler_vs_baseline,
            "simpler_code": self.simpler_code,
            "worst": self.worst,
            "warnings": list(self.warnings),
        }

    def markdown(self) -> list[str]:
        """The report's opening section."""
        lines = ["## Recommendation", "", self.verdict, "", "```python", self.code, "```"]
        if self.simpler is not None:
            lines += ["", self.simpler_text(), "", "```python", cast(str, self.simpler_code)]
            lines += ["```"]
        if self.worst is not None:
            lines += ["", self.worst_text()]
        lines += [f"\n**Note:** {w}" for w in self.warnings]
        return lines

    def simpler_text(self) -> str:
        """The simpler option in words."""
        if self.simpler is None:
            return ""
        runs = self.test.get("runs", 1)
        return (
            f"The simplest option, class weights in the usual loss: `{self.simpler}`, "
            + difference_words(self.simpler_vs_baseline, self.baseline, runs)
            + "."
        )

    def worst_text(self) -> str:
        """The worst class (or label) before and after, in words."""
        if self.worst is None:
            return ""
        w = self.worst
        what = "recall" if w["kind"] == "class" else "average precision"
        return (
            f"The worst {w['kind']} of `{self.baseline}`, {w['name']!r}, has a test {what} of "
            f"{w['before']:.3f}; with `{self.strategy}` it has {w['after']:.3f}."
        )


def _interval_words(band: list[float] | None) -> str:
    return "" if band is None else f" (95% interval {band[0]:.3f} to {band[1]:.3f})"


def difference_words(vs: dict[str, Any] | None, baseline: str, runs: int) -> str:
    """A paired difference in words: the number, its interval and whether it is beyond
    noise (no verdict from one run)."""
    if vs is None:
        return f"`{baseline}` did not run"
    band = vs["interval"]
    text = f"{vs['difference']:+.3f} against `{baseline}`"
    if band is not None:
        text += f" (95% interval {band[0]:+.3f} to {band[1]:+.3f})"
    if runs < 2:
        return text + ": one run, no verdict"
    if vs["within_noise"]:
        return text + f": within noise, not reliably different from `{baseline}`"
    return text + (": better beyond noise" if vs["better"] else ": worse beyond noise")


def weighting_strategies(result: CompareResult) -> list[str]:
    """The strategies of the comparison that only weigh the classes in the usual loss
    (cross-entropy or binary cross-entropy with a weighting scheme; no sampler, schedule or
    other loss)."""
    out = []
    for name in result.reports:
        st = STRATEGIES.get(name)
        if st is None or st.same_as is not None or st.make_sampler is not None:
            continue
        if st.deferred is None and st.loss in ("cross_entropy", "bce"):
            scheme = st.loss_options.get("scheme", "balanced" if st.loss == "bce" else "none")
            if scheme != "none":
                out.append(name)
    return out


def recommend(result: CompareResult) -> Recommendation:
    """The recommendation of a comparison (see the module's documentation)."""
    metric, baseline = result.metric, result.baseline
    name = result.selected
    runs = result.num_runs
    test = {
        "mean": result.stats(name, metric)["mean"],
        "interval": result.interval(name, metric),
        "runs": runs,
    }
    vs = result.difference(name, metric)
    direction = "lower" if metric in LOWER_IS_BETTER else "higher"
    if name == baseline:
        verdict = (
            f"Validation selects plain `{baseline}`: no strategy scored a {direction} mean "
            f"validation {metric}. Its test {metric} is {test['mean']:.3f}"
            + _interval_words(test["interval"])
            + "."
        )
    else:
        verdict = (
            f"Use `{name}`: it has the best mean validation {metric}. On the test split its "
            f"{metric} is {test['mean']:.3f}"
            + _interval_words(test["interval"])
            + ", "
            + difference_words(vs, baseline, runs)
            + "."
        )
    counts: np.ndarray | LabelStats = result.splits.class_counts("train")
    ignore = None
    if result.splits.multilabel:
        counts = label_stats(result.splits)
        ignore = UNKNOWN if (result.splits.y_train == UNKNOWN).any() else None
    epochs = result.config.train.epochs
    weighting = [n for n in result.ranking() if n in weighting_strategies(result)]
    simpler = None if not weighting or name in weighting else weighting[0]
    return Recommendation(
        strategy=name,
        metric=metric,
        baseline=baseline,
        test=test,
        vs_baseline=vs,
        verdict=verdict,
        code=snippet(name, counts, epochs=epochs, ignore_value=ignore),
        simpler=simpler,
        simpler_vs_baseline=None if simpler is None else result.difference(simpler, metric),
        simpler_code=None
        if simpler is None
        else snippet(simpler, counts, epochs=epochs, ignore_value=ignore),
        worst=_worst(result, name),
        warnings=_warnings(result),
    )


def _worst(result: CompareResult, name: str) -> dict[str, Any] | None:
    """The baseline's worst class (among those in every run's test split) or label, before
    and after."""
    baseline = result.baseline
    if baseline not in result.reports or name == baseline:
        return None
    if result.splits.multilabel:
        before = result.mean_average_precision(baseline)
        after = result.mean_average_precision(name)
        kind = "label"
    else:
        reports = [cast(ImbalanceReport, r) for r in result.reports[baseline]]
        present = np.all([r.support > 0 for r in reports], axis=0)
        before = np.where(present, result.mean_recall(baseline), np.nan)
        after = result.mean_recall(name)
        kind = "class"
    if not np.isfinite(before).any():
        return None
    worst = int(np.nanargmin(before))
    label = result.splits.classes[worst]
    return {
        "kind": kind,
        "name": label if isinstance(label, (str, int)) else str(label),
        "before": float(before[worst]),
        "after": float(after[worst]),
    }


def _warnings(result: CompareResult) -> tuple[str, ...]:
    out = []
    metric, baseline = result.metric, result.baseline
    if result.num_runs < 2:
        out.append(
            "One run per strategy (one split, one seed): the intervals cover the test rows "
            "only, not the training noise; run more seeds (`--seeds`) before acting on a gap."
        )
    band = result.interval(baseline, metric) if baseline in result.reports else None
    if band is not None and (band[1] - band[0]) / 2 > NOISY_TEST:
        s = result.splits
        y = s.y_test
        if s.multilabel:
            smallest = f"its rarest label has {int((y == 1).sum(0).min())} positive(s)"
        else:
            smallest = f"its smallest class has {int(np.bincount(y).min())} row(s)"
        out.append(
            f"The test split is too small to separate strategies: {len(y)} rows ({smallest}) "
            f"measure `{baseline}`'s {metric} only to within ±{(band[1] - band[0]) / 2:.3f}."
        )
    return tuple(out)
