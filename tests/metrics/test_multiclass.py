import itertools
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from counterpoise.metrics import SUMMARY_METRICS, ImbalanceMetrics, imbalance_report


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


def test_macro_f1_leaves_out_a_class_neither_present_nor_predicted():
    # class 2 has no sample and no prediction: scikit-learn's default labels leave it out
    y, pred = np.array([0, 0, 1, 1, 3]), np.array([0, 1, 1, 1, 3])
    r = imbalance_report(y, pred, num_classes=4)
    assert r.macro_f1 == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert r.macro_f1 == pytest.approx((2 / 3 + 0.8 + 1.0) / 3)


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
        assert r.macro_f1 == pytest.approx(skm.f1_score(y, pred, average="macro", zero_division=0))
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


def test_explicit_predictions_override_the_argmax():
    y = np.array([0, 0, 1, 1])
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.7, 0.3], [0.2, 0.8]])
    plain = imbalance_report(y, probs)
    tuned = imbalance_report(y, probs, y_pred=(probs[:, 1] >= 0.3).astype(np.int64))
    assert plain.recall.tolist() == [1.0, 0.5]
    assert tuned.recall.tolist() == [0.5, 1.0]
    assert tuned.ece == plain.ece  # calibration is a property of the probabilities
    with pytest.raises(ValueError, match="y_pred"):
        imbalance_report(y, probs, y_pred=np.array([0, 1]))
    with pytest.raises(ValueError, match="y_pred"):
        imbalance_report(y, np.array([0, 1, 1, 0]), y_pred=np.array([0, 1, 1, 0]))
    with pytest.raises(ValueError, match="y_pred"):
        imbalance_report(y, probs, y_pred=np.array([0, 1, 2, 0]))


def test_single_class_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = imbalance_report(np.array([1, 1]), np.array([1, 1]), num_classes=2)
    assert r.mcc == 0.0 and r.balanced_accuracy == 1.0


def test_absent_class_has_undefined_average_precision():
    y = np.array([0, 0, 1, 1])
    probs = np.array([[0.7, 0.2, 0.1], [0.5, 0.3, 0.2], [0.2, 0.7, 0.1], [0.3, 0.4, 0.3]])
    r = imbalance_report(y, probs)
    assert np.isnan(r.average_precision[2])
    assert r.macro_average_precision == pytest.approx(np.nanmean(r.average_precision[:2]))
    assert r.to_dict()["average_precision"][2] is None


@pytest.mark.parametrize(
    ("y", "s", "kwargs", "match"),
    [
        ([0], np.array(0), {}, "rows"),
        ([0, 1, 2], np.array([0.0, 1.0, 2.0]), {}, "1-D floats"),
        ([0, 1], np.array([[0, 1], [1, 0]]), {}, "shape"),
        (
            [0, 0],
            np.array([[1.0], [1.0]]),
            {},
            "`y_score_or_pred` must be probabilities of at least 2",
        ),
        ([0, 1], np.array([0, 1]), {"n_bins": 10}, "n_bins"),
    ],
)
def test_more_bad_input(y, s, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        imbalance_report(np.asarray(y), s, **kwargs)


@settings(max_examples=40, deadline=None)
@given(scored_problem(), st.integers(1, 5), st.booleans())
def test_accumulated_batches_equal_the_one_shot_report(problem, batches, scored):
    from counterpoise.metrics import ImbalanceMetrics

    y, probs, c = problem
    scores = probs if scored else probs.argmax(1)
    acc = ImbalanceMetrics(c, n_bins=7)
    for part in np.array_split(np.arange(len(y)), batches):
        if part.size:
            acc.update(y[part], scores[part])
    got = acc.compute()
    want = imbalance_report(y, scores, num_classes=c, **({"n_bins": 7} if scored else {}))
    np.testing.assert_array_equal(got.confusion, want.confusion)
    for name in ("precision", "recall", "f1"):
        np.testing.assert_allclose(getattr(got, name), getattr(want, name))
    for name, value in want.summary().items():
        if name != "macro_average_precision":
            assert got.summary()[name] == pytest.approx(value, abs=1e-12), name
    assert got.average_precision is None


def test_accumulator_rejects_mixed_batches_and_empty_compute():
    from counterpoise.metrics import ImbalanceMetrics

    acc = ImbalanceMetrics(2)
    with pytest.raises(ValueError, match="update"):
        acc.compute()
    acc.update([0, 1], [0, 1])
    with pytest.raises(ValueError, match="same kind"):
        acc.update([0, 1], [[0.9, 0.1], [0.2, 0.8]])
    with pytest.raises(ValueError, match="y_true"):
        acc.update([0, 2], [0, 1])
    acc.reset()
    acc.update([0, 1], [[0.9, 0.1], [0.2, 0.8]])
    assert acc.compute().ece == pytest.approx(0.15)
    with pytest.raises(ValueError, match="num_classes"):
        ImbalanceMetrics(1)


def test_report_plots():
    r = imbalance_report([0, 1, 1], np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]))
    assert r.plot_confusion_matrix().axes[0].images[0].get_array().shape == (2, 2)
    legend = [t.get_text() for t in r.plot_reliability().axes[0].get_legend().get_texts()]
    assert legend[1] == f"model (ECE {r.ece:.3f})"
    with pytest.raises(ValueError, match="calibration"):
        imbalance_report([0, 1], [0, 1]).plot_reliability()


def _accumulate_on_ranks(rank: int) -> None:
    from counterpoise.metrics import ImbalanceMetrics

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 100)
    probs = torch.from_numpy(rng.normal(size=(100, 3))).softmax(1).numpy()
    acc = ImbalanceMetrics(3)
    part = slice(0, 30) if rank == 0 else slice(30, 100)  # uneven shards
    acc.update(y[part], probs[part])
    got, want = acc.compute(), imbalance_report(y, probs)
    assert np.array_equal(got.confusion, want.confusion)
    assert abs(got.ece - want.ece) < 1e-12
    assert abs(got.balanced_accuracy - want.balanced_accuracy) < 1e-12
    # a rank that saw no sample still takes part in every sum
    acc = ImbalanceMetrics(3)
    if rank == 1:
        acc.update(y, probs)
    got = acc.compute()
    assert np.array_equal(got.confusion, want.confusion)
    assert abs(got.ece - want.ece) < 1e-12
    assert abs(got.balanced_accuracy - want.balanced_accuracy) < 1e-12


def test_accumulator_sums_over_a_gloo_group(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1]))
    from _groups import run_group

    run_group(_accumulate_on_ranks, tmp_path)


def _uninstall(monkeypatch, package):
    """Make ``package`` look not installed: every import of it or its submodules fails."""
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, package, None)


def test_without_an_optional_dependency_the_error_names_the_extra(monkeypatch):
    from counterpoise.metrics import ImbalanceMetrics

    accumulated = ImbalanceMetrics(2)
    accumulated.update([0, 1], [1, 1])  # counting needs no optional dependency
    scored = (np.array([0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]]))
    report = imbalance_report(*scored)
    with monkeypatch.context() as patch:
        _uninstall(patch, "sklearn")
        with pytest.raises(ModuleNotFoundError, match=r"sklearn .*'counterpoise\[metrics\]'"):
            imbalance_report(*scored)
        with pytest.raises(ModuleNotFoundError, match=r"counterpoise\[metrics\]"):
            accumulated.compute()
    with monkeypatch.context() as patch:
        _uninstall(patch, "rich")
        with pytest.raises(ModuleNotFoundError, match=r"rich .*'counterpoise\[cli\]'"):
            report.print()
    with monkeypatch.context() as patch:
        _uninstall(patch, "matplotlib")
        with pytest.raises(ModuleNotFoundError, match=r"'counterpoise\[plots\]'"):
            report.plot_confusion_matrix()
        with pytest.raises(ModuleNotFoundError, match=r"'counterpoise\[plots\]'"):
            report.plot_reliability()


def _batches(seed: int, scored: bool) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for n in (7, 20, 1, 13):
        y = torch.randint(0, 4, (n,), generator=g)
        logits = torch.randn(n, 4, generator=g, dtype=torch.float64) * 3
        out.append((y, logits.softmax(1) if scored else logits.argmax(1)))
    return out


@pytest.mark.parametrize("scored", [True, False])
def test_batches_on_an_accelerator_are_summed_there_and_give_the_same_report(scored, request):
    host = ImbalanceMetrics(4)
    for y, s in _batches(0, scored):
        host.update(y, s)
    expected = host.compute()
    request.getfixturevalue("device_checks")  # the accelerator's branch, here on the CPU
    device = ImbalanceMetrics(4)
    for y, s in _batches(0, scored):
        device.update(y, s)
    assert device._on_device is not None and device.confusion.sum() == 0  # nothing on the host
    got = device.compute()
    np.testing.assert_array_equal(got.confusion, expected.confusion)
    assert got.balanced_accuracy == expected.balanced_accuracy
    if scored:
        np.testing.assert_array_equal(got.calibration.count, expected.calibration.count)
        assert got.ece == pytest.approx(expected.ece, abs=1e-6)


def test_updates_on_an_accelerator_never_read_their_tensors():
    metrics = ImbalanceMetrics(4)
    y = torch.randint(0, 4, (16,), device="meta")
    metrics.update(y, torch.rand(16, 4, device="meta").softmax(1))
    metrics.update(y, torch.rand(16, 4, device="meta").softmax(1))
    assert metrics._on_device is not None
    assert metrics._on_device["confusion"].device.type == "meta"


@pytest.mark.usefixtures("device_checks")
def test_bad_batches_on_an_accelerator_fail_with_the_same_message():
    metrics = ImbalanceMetrics(3)
    with pytest.raises(RuntimeError, match=r"`y_true` must be class indices in \[0, 3\)"):
        metrics.update(torch.tensor([0, 3]), torch.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="`y_score` must be probabilities in"):
        ImbalanceMetrics(3).update(
            torch.tensor([0, 1]), torch.tensor([[2.0, 0.0, 0.0], [0.2, 0.3, 0.5]])
        )
