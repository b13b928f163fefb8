import json
import sys
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from counterpoise.counts import LabelCounts
from counterpoise.metrics import (
    LABEL_GROUPS,
    MULTILABEL_SUMMARY_METRICS,
    multilabel_report,
)
from counterpoise.posthoc import tune_thresholds


@st.composite
def multilabel_problem(draw):
    """Targets (N, L) with -1 where ignored (if any), probabilities with many ties, training
    counts, thresholds taken from the scores themselves (so that ties with ">=" occur)."""
    n = draw(st.integers(1, 50))
    num_labels = draw(st.integers(1, 7))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    rate = rng.uniform(0.0, 0.6, num_labels)
    y = (rng.random((n, num_labels)) < rate).astype(np.int64)
    y[0, 0] = 1  # at least one positive somewhere
    levels = draw(st.sampled_from([3, 5, 11, None]))  # few levels: many ties, 0.5 included
    if levels is None:
        s = rng.random((n, num_labels))
    else:
        s = rng.integers(0, levels, (n, num_labels)) / (levels - 1)
    if draw(st.booleans()):
        ignored = rng.random((n, num_labels)) < 0.2
        ignored[0, 0] = False
        y[ignored] = -1
    counts = rng.integers(0, 300, num_labels)
    thresholds = s[rng.integers(0, n, num_labels), np.arange(num_labels)]
    return y, s, counts, thresholds


def reference_ap(y, s):
    """Per-label AP by scikit-learn and torchmetrics over the entries that are not ignored."""
    from torchmetrics.classification import BinaryAveragePrecision, MultilabelAveragePrecision

    ours = np.full(y.shape[1], np.nan)
    for label in range(y.shape[1]):
        keep = y[:, label] != -1
        if (y[keep, label] == 1).any():
            ours[label] = skm.average_precision_score(y[keep, label], s[keep, label])
    # torchmetrics fails on a label whose entries are all ignored, and its multilabel metric
    # needs two labels
    theirs = np.full(y.shape[1], np.nan)
    seen = np.flatnonzero((y != -1).any(0))
    if seen.size == 1:
        metric = BinaryAveragePrecision(ignore_index=-1)
        s, y = s[:, seen[0]], y[:, seen[0]]
    else:
        metric = MultilabelAveragePrecision(seen.size, average=None, ignore_index=-1)
        s, y = s[:, seen], y[:, seen]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchmetrics warns about labels without positives
        theirs[seen] = metric(torch.from_numpy(s), torch.from_numpy(y)).double().numpy()
    return ours, theirs


def reference_f1(y, predicted):
    """F1 per label by scikit-learn over the entries that are not ignored; NaN without a
    positive."""
    out = np.full(y.shape[1], np.nan)
    for label in range(y.shape[1]):
        keep = y[:, label] != -1
        if (y[keep, label] == 1).any():
            out[label] = skm.f1_score(y[keep, label], predicted[keep, label], zero_division=0)
    return out


@settings(max_examples=80, deadline=None)
@given(multilabel_problem())
def test_matches_scikit_learn_torchmetrics_and_the_group_rule(problem):
    y, s, counts, thresholds = problem
    r = multilabel_report(y, s, counts=counts, thresholds=thresholds, ignore_value=-1)

    defined = np.array([(y[:, j] == 1).any() for j in range(y.shape[1])])
    sk_ap, tm_ap = reference_ap(y, s)
    np.testing.assert_allclose(r.average_precision, sk_ap, rtol=1e-12, atol=1e-12)
    # torchmetrics returns float32
    np.testing.assert_allclose(r.average_precision[defined], tm_ap[defined], rtol=1e-6)
    assert r.map == pytest.approx(sk_ap[defined].mean(), rel=1e-12)

    f1 = reference_f1(y, (s >= 0.5).astype(int))
    f1_tuned = reference_f1(y, (s >= thresholds).astype(int))
    np.testing.assert_allclose(r.f1, f1, rtol=1e-12)
    np.testing.assert_allclose(r.f1_tuned, f1_tuned, rtol=1e-12)
    assert r.macro_f1 == pytest.approx(f1[defined].mean(), rel=1e-12)
    assert r.macro_f1_tuned == pytest.approx(f1_tuned[defined].mean(), rel=1e-12)

    assert r.positives.tolist() == (y == 1).sum(0).tolist()
    assert r.annotated.tolist() == (y != -1).sum(0).tolist()
    assert r.undefined_labels == tuple(int(j) for j in np.flatnonzero(~defined))
    rule = {"head": counts > 100, "medium": (counts >= 20) & (counts <= 100), "tail": counts < 20}
    summary = r.summary()
    for name in LABEL_GROUPS:
        g = r.group(name)
        assert g.indices == tuple(np.flatnonzero(rule[name]).tolist())
        scored = rule[name] & defined
        if scored.any():
            assert g.map == pytest.approx(sk_ap[scored].mean(), rel=1e-12)
            assert summary[f"{name}_macro_f1"] == pytest.approx(f1[scored].mean(), rel=1e-12)
            assert summary[f"{name}_macro_f1_tuned"] == pytest.approx(f1_tuned[scored].mean())
        else:
            assert g.map is None and f"{name}_map" not in summary
    assert list(summary) == [k for k in MULTILABEL_SUMMARY_METRICS if k in summary]
    assert all(np.isfinite(v) for v in summary.values())
    json.dumps(r.to_dict(), allow_nan=False)


@settings(max_examples=30, deadline=None)
@given(multilabel_problem())
def test_without_ignored_entries_macro_f1_is_scikit_learns_over_the_labels_with_positives(
    problem,
):
    y, s, _, thresholds = problem
    y = np.where(y == -1, 0, y)
    r = multilabel_report(y, s, thresholds=thresholds)
    keep = y.sum(0) > 0
    cases = ((s >= 0.5, r.f1, r.macro_f1), (s >= thresholds, r.f1_tuned, r.macro_f1_tuned))
    for predicted, f1, macro in cases:
        y_kept, predicted_kept = y[:, keep], predicted[:, keep].astype(int)
        if keep.sum() == 1:  # scikit-learn reads one column as binary labels
            y_kept, predicted_kept = y_kept[:, 0], predicted_kept[:, 0]
            expected = per_label = skm.f1_score(y_kept, predicted_kept)
        else:
            expected = skm.f1_score(y_kept, predicted_kept, average="macro", zero_division=0)
            per_label = skm.f1_score(y_kept, predicted_kept, average=None, zero_division=0)
        assert macro == pytest.approx(expected, rel=1e-12)
        np.testing.assert_allclose(f1[keep], per_label, rtol=1e-12)
        assert np.isnan(f1[~keep]).all()


def test_a_score_equal_to_the_threshold_is_positive():
    y = np.array([[1], [0], [1]])
    r = multilabel_report(y, np.array([[0.5], [0.2], [0.7]]), thresholds=[0.7])
    assert r.f1.tolist() == [1.0]  # 0.5 >= 0.5
    assert r.f1_tuned.tolist() == [pytest.approx(2 / 3)]  # only 0.7 >= 0.7


def test_thresholds_tuned_by_tune_thresholds_reproduce_its_f1():
    rng = np.random.default_rng(1)
    y = (rng.random((200, 5)) < [0.5, 0.2, 0.1, 0.05, 0.03]).astype(np.int64)
    y[0] = 1
    s = np.clip(0.3 * y + rng.random((200, 5)) * 0.8, 0, 1).astype(np.float32)
    tuned = tune_thresholds(torch.from_numpy(s), torch.from_numpy(y))
    r = multilabel_report(y, s, thresholds=tuned)
    np.testing.assert_allclose(r.f1_tuned, tuned.values.numpy(), rtol=1e-12)
    same = multilabel_report(y, s, thresholds=tuned.thresholds.numpy())
    np.testing.assert_array_equal(same.f1_tuned, r.f1_tuned)
    assert r.macro_f1_tuned >= r.macro_f1  # the optimum on these data


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_scores_give_the_float32_result(dtype):
    rng = np.random.default_rng(2)
    y = torch.from_numpy((rng.random((64, 4)) < 0.3).astype(np.int64))
    y[0] = 1
    s = torch.rand(64, 4, generator=torch.Generator().manual_seed(0)).to(dtype)
    r = multilabel_report(y, s)
    exact = multilabel_report(y.numpy(), s.float().numpy())
    np.testing.assert_array_equal(r.average_precision, exact.average_precision)
    np.testing.assert_array_equal(r.f1, exact.f1)


def test_labels_without_positives_are_named_and_left_out():
    y = np.array([[1, 0, 0, -1], [0, 0, 1, -1], [1, 0, 0, -1]])
    s = np.array([[0.9, 0.8, 0.1, 0.5], [0.2, 0.7, 0.6, 0.5], [0.7, 0.1, 0.2, 0.5]])
    r = multilabel_report(y, s, label_names=["a", "b", "c", "d"], ignore_value=-1)
    assert r.undefined_labels == ("b", "d")
    assert np.isnan(r.average_precision[[1, 3]]).all() and np.isnan(r.f1[[1, 3]]).all()
    assert r.map == 1.0 and r.macro_f1 == pytest.approx((1.0 + 1.0) / 2)
    d = r.to_dict()
    assert d["undefined_labels"] == ["b", "d"] and d["average_precision"][1] is None
    assert d["annotated"] == [3, 3, 3, 0]
    with pytest.raises(ValueError, match="y_true"):
        multilabel_report(np.zeros((3, 2)), np.full((3, 2), 0.5))


def test_groups_without_counts_are_the_tertiles_of_the_positives():
    rng = np.random.default_rng(3)
    positives = np.array([1, 2, 3, 5, 8, 13, 21, 34, 40])
    y = (np.arange(50)[:, None] < positives).astype(np.int64)
    s = rng.random(y.shape)
    r = multilabel_report(y, s)
    low, high = np.quantile(positives, [1 / 3, 2 / 3])
    assert r.group_by == "y_true" and r.boundaries == (low, high)
    assert r.label_groups == ("tail",) * 3 + ("medium",) * 3 + ("head",) * 3
    assert "positives in y_true" in r.group("head").rule
    explicit = multilabel_report(y, s, boundaries=(5, 5))
    assert explicit.group("medium").indices == (3,)


def test_label_counts_name_the_labels_and_set_the_groups():
    y = np.array([[1, 0, 1], [0, 1, 1]])
    counts = LabelCounts(torch.tensor([150, 100, 19]), ("x", "y", "z"), 400, multilabel=True)
    r = multilabel_report(y, np.array([[0.9, 0.1, 0.6], [0.2, 0.8, 0.7]]), counts=counts)
    assert r.labels == ("x", "y", "z")
    assert r.label_groups == ("head", "medium", "tail")  # 100 is medium, 19 is tail
    assert r.counts.tolist() == [150, 100, 19] and r.group_by == "counts"
    assert r.boundaries == (20.0, 100.0)
    assert r.group("head").rule == "more than 100 training positives"
    assert r.group("medium").rule == "20 to 100 training positives"
    r = multilabel_report(y, np.eye(2, 3), counts=counts, label_names=["p", "q", "r"])
    assert r.labels == ("p", "q", "r")


def test_summary_drops_what_does_not_exist():
    y = np.array([[1, 0], [0, 1], [1, 1]])
    s = np.array([[0.9, 0.4], [0.3, 0.6], [0.6, 0.8]])
    r = multilabel_report(y, s, counts=[500, 300])
    assert set(r.summary()) == {"map", "macro_f1", "head_map", "head_macro_f1"}
    assert r.group("tail").indices == () and r.group("tail").map is None
    d = r.to_dict()
    assert d["groups"]["tail"] == {
        "rule": "fewer than 20 training positives",
        "labels": [],
        "map": None,
        "macro_f1": None,
        "macro_f1_tuned": None,
    }
    assert d["thresholds"] is None and d["f1_tuned"] is None
    inf = multilabel_report(y, s, thresholds=[0.5, np.inf]).to_dict()
    assert inf["thresholds"] == [0.5, None] and inf["f1_tuned"] == [1.0, 0.0]


@pytest.mark.parametrize(
    ("y", "s", "kwargs", "match", "error"),
    [
        ([[1, 0]], [[0.5, 0.5, 0.5]], {}, "y_score", ValueError),
        ([1, 0], [0.5, 0.5], {}, "y_true", ValueError),
        (np.zeros((0, 2)), np.zeros((0, 2)), {}, "y_true", ValueError),
        ([[1, 2]], [[0.5, 0.5]], {}, "0 or 1", ValueError),
        ([[1, -1]], [[0.5, 0.5]], {}, "y_true", ValueError),
        ([[1, -2]], [[0.5, 0.5]], {"ignore_value": -1}, "ignore_value", ValueError),
        ([[1, 0]], [[0.5, 0.5]], {"ignore_value": 1}, "ignore_value", ValueError),
        ([["a", "b"]], [[0.5, 0.5]], {}, "y_true", TypeError),
        ([[1, 0]], [[np.nan, 0.5]], {}, "finite", ValueError),
        ([[1, 0]], [[2.0, -1.0]], {}, "sigmoid", ValueError),
        ([[1, 0]], [[0.5, 0.5]], {"counts": [3]}, "counts", ValueError),
        ([[1, 0]], [[0.5, 0.5]], {"counts": [3, -1]}, "counts", ValueError),
        ([[1, 0]], [[0.5, 0.5]], {"counts": [3, 1.5]}, "counts", ValueError),
        ([[1, 0]], [[0.5, 0.5]], {"thresholds": [0.5]}, "thresholds", ValueError),
        ([[1, 0]], [[0.5, 0.5]], {"thresholds": [0.5, -2.0]}, "thresholds", ValueError),
        ([[1, 0]], [[0.5, 0.5]], {"thresholds": [0.5, np.nan]}, "thresholds", ValueError),
        ([[1, 0]], [[0.5, 0.5]], {"boundaries": (100, 20)}, "boundaries", ValueError),
        ([[1, 0]], [[0.5, 0.5]], {"boundaries": (-1, 20)}, "boundaries", ValueError),
        ([[1, 0]], [[0.5, 0.5]], {"boundaries": (1, np.inf)}, "boundaries", ValueError),
        ([[1, 0]], [[0.5, 0.5]], {"boundaries": 20}, "boundaries", ValueError),
        ([[1, 0]], [[0.5, 0.5]], {"label_names": ["a"]}, "label_names", ValueError),
    ],
)
def test_bad_input(y, s, kwargs, match, error):
    with pytest.raises(error, match=match):
        multilabel_report(np.asarray(y), np.asarray(s), **kwargs)


@settings(max_examples=30, deadline=None)
@given(multilabel_problem())
def test_nan_marks_unknown_entries_as_minus_one_does(problem):
    y, s, counts, thresholds = problem
    marked = multilabel_report(y, s, counts=counts, thresholds=thresholds, ignore_value=-1)
    y_nan = np.where(y == -1, np.nan, y.astype(np.float64))
    for targets in (y_nan, torch.from_numpy(y_nan), torch.from_numpy(y_nan).float()):
        nan = multilabel_report(
            targets, s, counts=counts, thresholds=thresholds, ignore_value=float("nan")
        )
        assert nan.to_dict() == marked.to_dict()
        np.testing.assert_array_equal(nan.annotated, marked.annotated)


def test_ignore_value_follows_the_rule_of_the_losses():
    from counterpoise import functional as cf

    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    s = np.array([[0.9, 0.2], [0.1, 0.8]])
    x, target = torch.zeros(2, 2), torch.from_numpy(y).float()
    for value in (-1, -1.0, 2, 255, np.int64(-1), float("nan"), float("-inf"), None):
        multilabel_report(y, s, ignore_value=value)
        cf.asymmetric_loss(x, target, ignore_value=value)
    for value in (0, 1, 0.5, 1e-9, np.float64(0.25)):
        for call in (
            lambda v=value: multilabel_report(y, s, ignore_value=v),
            lambda v=value: cf.asymmetric_loss(x, target, ignore_value=v),
        ):
            with pytest.raises(
                ValueError, match=r"`ignore_value` must be a number outside \[0, 1\]"
            ):
                call()
    for value in (True, "-1", [-1]):
        for call in (
            lambda v=value: multilabel_report(y, s, ignore_value=v),
            lambda v=value: cf.asymmetric_loss(x, target, ignore_value=v),
        ):
            with pytest.raises(TypeError, match="`ignore_value` must be a number or None"):
                call()
    # NaN targets are an error unless NaN is the ignore value
    with pytest.raises(ValueError, match="`y_true` must be 0 or 1"):
        multilabel_report([[1.0, np.nan], [0.0, 1.0]], s, ignore_value=-1)


def test_error_messages_say_where_and_what():
    with pytest.raises(ValueError, match=r"`y_true` must be 0 or 1, got '2 at index \(1, 0\)'"):
        multilabel_report([[1, 0], [2, 0]], [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match=r"of shape \(2,\), got \(3,\)"):
        multilabel_report([[1, 0]], [[0.5, 0.5]], counts=[1, 2, 3])


def report_with_many_labels(num_labels=60):
    rng = np.random.default_rng(4)
    rate = np.geomspace(0.5, 0.002, num_labels)
    y = (rng.random((400, num_labels)) < rate).astype(np.int64)
    s = np.clip(0.4 * y + 0.6 * rng.random(y.shape), 0, 1)
    counts = np.round(rate * 2000).astype(int)
    names = [f"label{i}" for i in range(num_labels)]
    return multilabel_report(
        y, s, counts=counts, thresholds=np.full(num_labels, 0.4), label_names=names
    )


def test_print_renders_groups_summary_and_the_excluded_labels():
    from rich.console import Console

    r = report_with_many_labels()
    assert r.undefined_labels  # the rarest labels have no positive in 400 rows
    console = Console(record=True, width=160)
    r.print(console, max_labels=10)
    text = console.export_text()
    for word in ("Groups", "tail", "head", "AP", "F1@thr.", "map", "left out of every average"):
        assert word in text
    assert "label0 " in text and "label59" in text and "label30 " not in text
    assert "50 more" in text


def test_average_precision_plot_draws_every_defined_label_by_group():
    r = report_with_many_labels()
    fig = r.plot_average_precision()
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "average precision"
    assert "training positives" in ax.get_xlabel()
    drawn = sum(len(c.get_offsets()) for c in ax.collections)
    assert drawn == r.num_labels - len(r.undefined_labels)
    assert f"{len(r.undefined_labels)} without positives" in ax.get_title()
    head = ax.collections[LABEL_GROUPS.index("head")]
    defined_head = [i for i in r.group("head").indices if r.positives[i] > 0]
    np.testing.assert_allclose(head.get_offsets()[:, 1], r.average_precision[defined_head])
    assert sorted(line.get_xdata()[0] for line in ax.get_lines()) == [20, 100]


def test_average_precision_plot_handles_zero_frequencies():
    from counterpoise.plots import plot_label_average_precision

    fig = plot_label_average_precision([0.5, 1.0, np.nan], [0, 10, 3], ["tail", "medium", "tail"])
    assert fig.axes[0].get_xscale() == "symlog"
    with pytest.raises(ValueError, match="frequency"):
        plot_label_average_precision([0.5, 1.0], [1], ["a", "b"])
    with pytest.raises(ValueError, match="groups"):
        plot_label_average_precision([0.5, 1.0], [1, 2], ["a"])


def test_group_plot_bars_are_the_group_scores():
    r = report_with_many_labels()
    fig = r.plot_groups()
    (ax,) = fig.axes
    assert ax.get_ylabel() == "score" and ax.get_xlabel() == "label group"
    maps = [p.get_height() for p in ax.containers[0]]
    assert maps == pytest.approx([g.map for g in r.groups])
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        f"{g.name} ({len(g.indices)})" for g in r.groups
    ]
    assert len(ax.containers) == 3  # mAP, F1 at 0.5, F1 at the thresholds


def test_group_plot_marks_missing_values():
    from counterpoise.plots import plot_group_scores

    fig = plot_group_scores({"a": {"head": 0.5, "tail": None}, "b": {"head": 0.7}})
    ax = fig.axes[0]
    assert [p.get_height() for c in ax.containers for p in c] == [0.5, 0.7]
    assert sum(t.get_text() == "n/a" for t in ax.texts) == 2
    # the cluster without any bar is inside the axes, with its marks
    low, high = ax.get_xlim()
    assert all(low < t.get_position()[0] < high for t in ax.texts)
    with pytest.raises(ValueError, match="scores"):
        plot_group_scores({})


def test_labels_scored_in_several_blocks_give_the_same_average_precision(monkeypatch):
    import counterpoise.metrics.multilabel as metrics

    rng = np.random.default_rng(5)
    y = (rng.random((30, 7)) < 0.3).astype(np.int64)
    y[rng.random(y.shape) < 0.2] = -1
    y[0] = 1
    s = rng.integers(0, 4, y.shape) / 3
    whole = multilabel_report(y, s, ignore_value=-1).average_precision
    monkeypatch.setattr(metrics, "_AP_BLOCK", 2 * 30)  # two labels per block
    blocks = multilabel_report(y, s, ignore_value=-1).average_precision
    np.testing.assert_array_equal(blocks, whole)
    np.testing.assert_allclose(blocks, reference_ap(y, s)[0], rtol=1e-12)


def test_without_rich_or_matplotlib_the_error_names_the_extra(monkeypatch):
    r = multilabel_report([[1, 0], [0, 1], [1, 1]], [[0.9, 0.2], [0.3, 0.6], [0.7, 0.4]])
    for name in [m for m in sys.modules if m == "rich" or m.startswith("rich.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "rich", None)
    with pytest.raises(ModuleNotFoundError, match=r"rich .*'counterpoise\[cli\]'"):
        r.print()
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ModuleNotFoundError, match=r"matplotlib .*'counterpoise\[plots\]'"):
        r.plot_average_precision()
    with pytest.raises(ModuleNotFoundError, match=r"matplotlib .*'counterpoise\[plots\]'"):
        r.plot_groups()
