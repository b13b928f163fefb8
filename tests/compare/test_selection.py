"""Selection on validation, intervals, paired differences, folding and parallel runs."""

from __future__ import annotations

import numpy as np
import pytest

from counterpoise.compare import CompareConfig, TrainConfig, load_builtin, run_compare
from counterpoise.compare.statistics import combine_runs, row_weights
from counterpoise.compare.strategies import probabilities
from counterpoise.metrics import imbalance_report

STRATEGIES = ("ce", "ce_balanced", "ce_inverse", "logit_adjusted", "posthoc_adjusted")


def config(**overrides):
    options = {
        "seeds": 2,
        "strategies": (*STRATEGIES, "prior_corrected"),
        "train": TrainConfig(epochs=6, patience=6, hidden=32),
        "resamples": 50,
        "jobs": 1,
    }
    return CompareConfig(**{**options, **overrides})


@pytest.fixture(scope="module")
def splits():
    return load_builtin(20)


@pytest.fixture(scope="module")
def result(splits):
    return run_compare(splits, config())


def test_every_run_has_a_validation_score_from_its_selected_checkpoint(result, splits):
    for name, runs in result.runs.items():
        for run, report in zip(runs, result.val_reports[name]):
            probs = probabilities(run.val_logits)
            expected = imbalance_report(splits.y_val, probs, y_pred=probs.argmax(1))
            assert report.summary() == pytest.approx(expected.summary(), abs=1e-12)


def test_the_selected_strategy_is_the_validation_best_not_the_test_best(result):
    payload = result.to_json()
    val = {n: np.mean(result.values(n, "balanced_accuracy", "val")) for n in payload["strategies"]}
    assert payload["selected"] == result.selected == max(val, key=lambda n: val[n])
    assert payload["ranking"] == sorted(val, key=lambda n: -val[n])
    for name, entry in payload["strategies"].items():
        assert entry["validation"]["balanced_accuracy"]["values"] == pytest.approx(
            result.values(name, "balanced_accuracy", "val")
        )
        assert entry["balanced_accuracy"]["values"] == pytest.approx(
            result.values(name, "balanced_accuracy")
        )


def test_paired_difference_to_ce_is_recomputed_from_the_runs(result):
    payload = result.to_json()
    base = np.mean(result.values("ce", "balanced_accuracy"))
    for name, entry in payload["strategies"].items():
        vs = entry["vs_ce"]["balanced_accuracy"]
        assert vs["difference"] == pytest.approx(
            np.mean(result.values(name, "balanced_accuracy")) - base
        )
        low, high = vs["interval"]
        assert vs["within_noise"] == (low <= 0 <= high)
        if name == "ce":
            assert vs["difference"] == 0 and vs["interval"] == [0.0, 0.0]
        low, high = entry["interval"]["balanced_accuracy"]
        assert low <= high


def test_interval_is_the_bootstrap_of_the_reports_on_resampled_rows(splits):
    # one split, one seed: the interval is the percentile interval of the report's metric on
    # the test rows drawn by the same multinomial weights
    res = run_compare(splits, config(seeds=1, strategies=("ce",), resamples=40))
    (pred,) = res.predictions["ce"]
    weights = row_weights(len(splits.y_test), 40, seed=0)
    values = []
    for w in weights.astype(np.int64):
        rows = np.repeat(np.arange(len(w)), w)
        r = imbalance_report(splits.y_test[rows], pred.probs[rows], y_pred=pred.pred[rows])
        values.append(r.macro_f1)
    expected = combine_runs(np.array(values)[None, None, :])
    assert res.interval("ce", "macro_f1") == pytest.approx(
        np.percentile(expected, [2.5, 97.5]).tolist()
    )


def test_identical_strategies_and_metrics_are_folded(result):
    folded = result.folded()
    assert folded["ce_inverse"] == "ce_balanced"  # the same model by construction
    assert folded["prior_corrected"] == "ce_balanced"  # balanced test split: no change
    assert "logit_adjusted" not in folded and "posthoc_adjusted" not in folded
    # a balanced test split: accuracy is balanced accuracy
    assert result.identical_metrics().get("accuracy") == "balanced_accuracy"
    assert result.to_json()["strategies"]["ce_inverse"]["folded_into"] == "ce_balanced"


def test_a_post_hoc_strategy_is_scored_on_validation_rows_it_was_not_fitted_on(result, splits):
    from counterpoise.compare.runner import _halves

    a, b = _halves(splits.y_val, seed=0)
    assert len(np.intersect1d(a, b)) == 0 and len(a) + len(b) == len(splits.y_val)
    # each class is dealt to both halves
    for c in range(splits.num_classes):
        assert abs((splits.y_val[a] == c).sum() - (splits.y_val[b] == c).sum()) <= 1
    # an untuned correction (subtract log priors) gives the plain correction of every row
    counts = splits.class_counts("train")
    for run, report in zip(result.runs["ce"], result.val_reports["posthoc_adjusted"]):
        probs = probabilities(run.val_logits - np.log(counts / counts.sum()))
        expected = imbalance_report(splits.y_val, probs)
        assert report.balanced_accuracy == pytest.approx(expected.balanced_accuracy)


def test_worker_processes_give_the_numbers_of_a_sequential_run(splits, result):
    parallel = run_compare(splits, config(jobs=2))
    a, b = result.to_json(), parallel.to_json()
    for payload in (a, b):
        del payload["timings"]
    assert a == b
