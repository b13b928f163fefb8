import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from counterpoise import class_weights, count_labels
from counterpoise.describe import DEFAULT_SCHEMES, describe

counts_st = st.lists(st.integers(1, 10_000), min_size=2, max_size=30)


@settings(max_examples=60, deadline=None)
@given(counts_st)
def test_statistics_match_their_formulas(counts):
    n = np.array(counts, dtype=np.float64)
    d = describe(counts)
    p = n / n.sum()
    assert d.num_samples == int(n.sum())
    assert d.imbalance_ratio == pytest.approx(n.max() / n.min())
    assert d.effective_num_classes == pytest.approx(math.exp(-(p * np.log(p)).sum()))
    np.testing.assert_allclose(d.share, p)
    assert [s.label for s in d.schemes] == [
        k + (f"(beta={v['beta']})" if v else "") for k, v in DEFAULT_SCHEMES.items()
    ]
    for s in d.schemes:
        w = class_weights(torch.tensor(counts), s.scheme, **s.options).double().numpy()
        np.testing.assert_allclose(s.weights, w)
        np.testing.assert_allclose(s.loss_share, w * n / (w * n).sum())
        assert s.loss_share.sum() == pytest.approx(1.0)
    by_name = {s.scheme: s for s in d.schemes}
    np.testing.assert_allclose(by_name["none"].loss_share, p)
    np.testing.assert_allclose(
        by_name["balanced"].loss_share, np.full(len(counts), 1 / len(counts))
    )
    np.testing.assert_allclose(by_name["inverse"].loss_share, np.full(len(counts), 1 / len(counts)))


def test_balanced_data_has_c_effective_classes_and_no_warning():
    d = describe([50] * 8)
    assert d.effective_num_classes == pytest.approx(8.0)
    assert d.imbalance_ratio == 1.0
    assert d.warnings == ()


def test_zero_count_classes_are_reported_not_raised():
    d = describe([100, 0, 10], classes=["cat", "dog", "eel"])
    assert d.zero_count_classes == ("dog",)
    assert any("dog" in w for w in d.warnings)
    for s in d.schemes:
        assert s.weights[1] == 0.0 and s.loss_share[1] == 0.0
    assert d.imbalance_ratio == 10.0


def test_extreme_imbalance_warns():
    d = describe([1_000_000, 1])
    assert any("Imbalance ratio" in w for w in d.warnings)
    # schemes with the same weights share one note
    assert any("'inverse', 'balanced', 'max', 'median' weights span" in w for w in d.warnings)
    assert not any(w.startswith("'balanced' weights") for w in d.warnings)


def test_saturating_effective_weights_warn_and_name_a_beta_that_works():
    counts = [2741, 37919, 22858, 31235, 5499]
    d = describe(counts)
    (note,) = [w for w in d.warnings if "'effective'" in w]
    assert "beta=0.999 are nearly uniform" in note and "13.8:1" in note
    assert "beta=0.9999 gives a weight ratio of 4.1:1" in note
    # the named beta is not nearly uniform, and describe issues no Python warning itself
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = describe(counts, schemes={"effective": {"beta": 0.9999}})
    assert not any("nearly uniform" in w for w in d.warnings)
    assert d.schemes[0].weight_ratio == pytest.approx(4.1, abs=0.05)
    # small counts: beta=0.999 is not saturated, nothing to say
    assert not any("nearly uniform" in w for w in describe([124, 30, 5, 1]).warnings)


def test_label_counts_carry_class_names_and_to_dict_is_json():
    labels = count_labels(["b", "a", "b", "c", "b", "a"])
    d = describe(labels)
    assert d.classes == ("a", "b", "c")
    payload = json.loads(json.dumps(d.to_dict()))
    assert payload["counts"] == [2, 3, 1]
    assert payload["classes"] == ["a", "b", "c"]
    assert set(payload["schemes"]) == {s.label for s in d.schemes}
    assert payload["schemes"]["balanced"]["loss_share"] == pytest.approx([1 / 3] * 3)


def test_custom_schemes_and_normalisation():
    d = describe([10, 30], schemes={"power": {"beta": 0.25}}, normalize="max")
    (s,) = d.schemes
    assert s.label == "power(beta=0.25)"
    np.testing.assert_allclose(s.weights, [1.0, (10 / 30) ** 0.25], rtol=1e-6)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ([[[1, 2]]], {}, "counts"),
        ([[]], {}, "counts"),
        ([[1, 2]], {"classes": ["a"]}, "classes"),
        ([[1, 2]], {"extreme_ratio": 0.5}, "extreme_ratio"),
        ([[1, -2]], {}, "counts"),
    ],
)
def test_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        describe(*args, **kwargs)


def test_fractional_counts_keep_their_values():
    d = describe([2.7, 1.0])
    assert d.imbalance_ratio == pytest.approx(2.7)
    np.testing.assert_allclose(d.share, [2.7 / 3.7, 1 / 3.7])
    assert d.counts.dtype == np.float64
    d = describe([0.5, 0.5])
    assert d.effective_num_classes == pytest.approx(2.0)


def test_multilabel_counts_use_the_number_of_rows():
    from counterpoise import LabelCounts

    lc = LabelCounts(torch.tensor([3, 1]), ("a", "b"), num_samples=4, multilabel=True)
    d = describe(lc)
    assert d.num_samples == 4
    np.testing.assert_allclose(d.share, [0.75, 0.25])
    balanced = next(s for s in d.schemes if s.scheme == "balanced")
    np.testing.assert_allclose(balanced.weights, class_weights(lc, "balanced").double().numpy())


@pytest.mark.parametrize(
    ("counts", "error"),
    [
        (["a", "b"], TypeError),
        ([0.0, 0.0], ValueError),
        ([-1, 3], ValueError),
        ([[1, 2]], ValueError),
    ],
)
def test_counts_are_validated_up_front(counts, error):
    with pytest.raises(error, match="counts"):
        describe(counts, schemes={})
