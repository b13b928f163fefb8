"""The bootstrap's weighted metrics against the reports on repeated rows, and its intervals."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from counterpoise.compare.statistics import (
    combine_runs,
    interval,
    multiclass_scores,
    multilabel_scores,
    row_weights,
    within_noise,
)
from counterpoise.metrics import SUMMARY_METRICS, imbalance_report, multilabel_report


@st.composite
def multiclass_problem(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    c = draw(st.integers(2, 6))
    n = draw(st.integers(c, 60))
    y = rng.integers(0, c, n)
    logits = rng.normal(size=(n, c)) * draw(st.floats(0.1, 4))
    if draw(st.booleans()):  # ties among scores
        logits = np.round(logits)
    probs = torch.from_numpy(logits).softmax(-1).numpy()
    pred = probs.argmax(1) if draw(st.booleans()) else rng.integers(0, c, n)
    return y, probs, pred, rng


@settings(max_examples=60, deadline=None)
@given(multiclass_problem(), st.integers(1, 20))
def test_weighted_multiclass_metrics_equal_the_report_on_the_repeated_rows(problem, n_bins):
    y, probs, pred, rng = problem
    weights = row_weights(len(y), 5, int(rng.integers(1000)))
    scores = multiclass_scores(y, probs, pred, weights, n_bins=n_bins)
    assert set(scores) == set(SUMMARY_METRICS)
    for b, w in enumerate(weights.astype(np.int64)):
        rows = np.repeat(np.arange(len(y)), w)
        r = imbalance_report(
            y[rows], probs[rows], y_pred=pred[rows], num_classes=probs.shape[1], n_bins=n_bins
        )
        for metric, value in r.summary().items():
            assert scores[metric][b] == pytest.approx(value, rel=1e-9, abs=1e-12), metric


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.booleans())
def test_weighted_multilabel_metrics_equal_the_report_on_the_repeated_rows(seed, tuned):
    rng = np.random.default_rng(seed)
    n, labels = int(rng.integers(4, 40)), int(rng.integers(1, 6))
    y = (rng.random((n, labels)) < rng.uniform(0.1, 0.6, labels)).astype(np.float64)
    y[rng.random((n, labels)) < 0.15] = -1.0  # not annotated
    y[0] = 1.0  # every label has a positive in the full data
    probs = np.round(rng.random((n, labels)), int(rng.integers(1, 4)))
    counts = rng.integers(0, 200, labels)
    thresholds = rng.uniform(0.2, 0.8, labels) if tuned else None
    full = multilabel_report(y, probs, counts=counts, thresholds=thresholds, ignore_value=-1.0)
    members = {g.name: np.isin(np.arange(labels), g.indices) for g in full.groups}
    weights = row_weights(n, 4, seed)
    scores = multilabel_scores(y, probs, weights, members=members, thresholds=thresholds)
    for b, w in enumerate(weights.astype(np.int64)):
        rows = np.repeat(np.arange(n), w)
        if not (y[rows] == 1).any():
            continue  # the report refuses targets without a positive
        r = multilabel_report(
            y[rows], probs[rows], counts=counts, thresholds=thresholds, ignore_value=-1.0
        )
        summary = r.summary()
        for metric, values in scores.items():
            if metric in summary:
                assert values[b] == pytest.approx(summary[metric], rel=1e-9), metric
            else:
                assert np.isnan(values[b]), metric


def test_row_weights_are_multinomial_counts_of_every_row():
    w = row_weights(50, 200, seed=3)
    assert w.shape == (200, 50) and (w.sum(1) == 50).all()
    assert w.mean() == pytest.approx(1.0)
    assert np.array_equal(w, row_weights(50, 200, seed=3))


def test_combine_runs_draws_splits_seeds_and_rows_with_replacement():
    # one run per (split, seed) with constant value: the replicate means are means of drawn runs
    values = np.array([[1.0, 2.0], [10.0, 20.0]])  # (K=2, S=2)
    replicates = np.repeat(values[:, :, None], 300, axis=2)
    means = combine_runs(replicates, seed=0)
    assert means.shape == (300,)
    # every replicate is the mean of 4 draws from within the drawn splits
    possible = {np.mean(c) for c in np.array(np.meshgrid(*[[1, 2, 10, 20]] * 4)).T.reshape(-1, 4)}
    assert all(any(abs(m - p) < 1e-9 for p in possible) for m in means)
    assert means.min() < 5 < means.max()  # splits really vary
    # the same seed draws the same runs: the difference of shifted copies is constant
    assert np.allclose(combine_runs(replicates + 1.0, seed=0) - means, 1.0)


def test_one_run_gives_the_row_bootstrap():
    replicates = np.random.default_rng(0).normal(size=(1, 1, 100))
    assert np.array_equal(combine_runs(replicates), replicates[0, 0])


def test_interval_and_noise():
    values = np.arange(1001, dtype=np.float64)
    assert interval(values) == pytest.approx([25.0, 975.0])
    assert interval(np.array([np.nan])) is None
    assert within_noise([-0.1, 0.2]) and not within_noise([0.01, 0.2]) and within_noise(None)


def test_a_paired_difference_is_narrower_than_either_interval():
    # two strategies that share the test rows' noise: the paired difference cancels it
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    probs_a = np.stack([1 - y * 0.8 - 0.1, y * 0.8 + 0.1], 1)
    flip = rng.random(n) < 0.25
    pred_a = np.where(flip, 1 - y, y)
    pred_b = pred_a.copy()
    pred_b[np.flatnonzero(flip)[:5]] = y[np.flatnonzero(flip)[:5]]  # b fixes 5 errors
    w = row_weights(n, 400, seed=1)
    a = multiclass_scores(y, probs_a, pred_a, w)["accuracy"]
    b = multiclass_scores(y, probs_a, pred_b, w)["accuracy"]
    width = np.diff(interval(a))[0]
    diff = interval(b - a)
    assert diff is not None and diff[1] - diff[0] < width / 3
    assert not within_noise(diff)  # 5 fixed errors and none made: always better
