import itertools
import json
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from counterpoise.metrics import SUMMARY_METRICS, imbalance_report


def ece_reference(probs, y, n_bins):
    conf = probs.max(1)
    correct = probs.argmax(1) == y
    edges = np.linspace(0, 1, n_bins + 1)
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - conf[inside].mean())
    return total


@st.composite
def scored_problem(draw):
    c = draw(st.integers(2, 6))
    n = draw(st.integers(c, 80))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    y[:c] = np.arange(c)
    logits = rng.normal(size=(n, c)) * draw(st.floats(0.1, 5))
    logits[np.arange(n), y] += draw(st.floats(0, 3))
    return y, torch.from_numpy(logits).softmax(-1).numpy(), c


@settings(max_examples=60, deadline=None)
@given(scored_problem(), st.integers(1, 20))
def test_matches_scikit_learn_and_the_ece_formula(problem, n_bins):
    y, probs, c = problem
    r = imbalance_report(y, probs, n_bins=n_bins)
    pred = probs.argmax(1)
    labels = np.arange(c)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert r.balanced_accuracy == pytest.approx(skm.balanced_accuracy_score(y, pred))
        assert r.macro_f1 == pytest.approx(
            skm.f1_score(y, pred, labels=labels, average="macro", zero_division=0)
        )
        assert r.mcc == pytest.approx(skm.matthews_corrcoef(y, pred))
    assert r.accuracy == pytest.approx(skm.accuracy_score(y, pred))
    recall = skm.recall_score(y, pred, labels=labels, average=None, zero_division=0)
    np.testing.assert_allclose(r.recall, recall)
    assert r.worst_class_recall == pytest.approx(recall.min())
    assert r.gmean_recall == pytest.approx(np.prod(recall) ** (1 / c))
    for k in range(c):
        assert r.average_precision[k] == pytest.approx(
            skm.average_precision_score(y == k, probs[:, k])
        )
    assert r.ece == pytest.approx(ece_reference(probs, y, n_bins), abs=1e-5)
    np.testing.assert_array_equal(r.confusion, skm.confusion_matrix(y, pred, labels=labels))
    np.testing.assert_allclose(r.confusion_normalized.sum(1), 1.0)


def test_predictions_only_and_absent_classes():
    r = imbalance_report(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 2, 1, 1]), num_classes=3)
    assert r.support.tolist() == [2, 2, 0]
    assert r.balanced_accuracy == pytest.approx(0.75)  # class 2 is absent from y_true
    assert r.worst_class_recall == 0.5
    assert r.ece is None and r.average_precision is None
    assert set(r.summary()) == set(SUMMARY_METRICS) - {"ece", "macro_average_precision"}
    assert r.confusion_normalized[2].tolist() == [0, 0, 0]
    json.dumps(r.to_dict())


def test_binary_probability_vector():
    y = np.array([0, 0, 1, 1])
    r = imbalance_report(y, np.array([0.1, 0.6, 0.8, 0.4]))
    assert r.recall.tolist() == [0.5, 0.5]
    assert r.average_precision[1] == pytest.approx(
        skm.average_precision_score(y, [0.1, 0.6, 0.8, 0.4])
    )


def test_print_renders(capsys):
    from rich.console import Console

    r = imbalance_report(
        [0, 1, 1], np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), classes=["a", "b"]
    )
    console = Console(record=True, width=120)
    r.print(console)
    text = console.export_text()
    assert "balanced_accuracy" in text and "AP" in text and "b" in text


@pytest.mark.parametrize(
    ("y", "s", "kwargs", "match"),
    [
        ([], [], {}, "y_true"),
        ([0, 1], [0], {}, "rows"),
        ([0.0, 1.0], [0, 1], {}, "integer"),
        ([0, 3], [0, 1], {"num_classes": 2}, "y_true"),
        ([0, 1], [[2.0, -1.0], [0.0, 1.0]], {}, "softmax"),
        ([0, 1], [[0.5, 0.4], [0.0, 1.0]], {}, "sum to 1"),
        ([0, 1], [[np.nan, 1.0], [0.0, 1.0]], {}, "finite"),
        ([0, 1], [[0.5, 0.5], [0.0, 1.0]], {"num_classes": 3}, "shape"),
        ([0, 1], [0, 1], {"classes": ["a"], "num_classes": 2}, "classes"),
        ([0, 1], [0, 5], {"num_classes": 2}, "y_score_or_pred"),
    ],
)
def test_bad_input(y, s, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        imbalance_report(np.asarray(y), np.asarray(s), **kwargs)
