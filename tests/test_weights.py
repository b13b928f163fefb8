import warnings
from decimal import Decimal, getcontext
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from counterpoise.weights import SCHEMES, class_weights, pos_weight, sample_weights

counts_st = st.lists(st.integers(1, 10**6), min_size=1, max_size=20)
beta_st = st.floats(0.0, 0.9999)
fast = settings(max_examples=60, deadline=None)
devices = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


def options(scheme, num_classes):
    """The options a scheme needs to run."""
    if scheme == "cost":
        return {"cost": np.arange(1, num_classes + 1, dtype=float)}
    return {"beta": 0.5} if scheme == "power" else {}


def raw(counts, scheme, **kw):
    return class_weights(counts, scheme, normalize=None, **kw).double().numpy()


# ---------------------------------------------------------------- schemes against formulas


@fast
@given(counts_st, beta_st, st.floats(1.001, 3.0))
def test_every_scheme_matches_its_formula(counts, beta, c):
    n = np.array(counts, dtype=np.float64)
    N, C = n.sum(), len(n)
    expected = {
        "none": (np.ones(C), {}),
        "inverse": (1 / n, {}),
        "balanced": (N / (C * n), {}),
        "max": (n.max() / n, {}),
        "median": (np.median(n) / n, {}),
        "sqrt": (1 / np.sqrt(n), {}),
        "power": (n**-beta, {"beta": beta}),
        "effective": ((1 - beta) / (1 - beta**n), {"beta": beta}),
        "log": (1 / np.log(c + n / N), {"c": c}),
    }
    for scheme, (formula, kw) in expected.items():
        np.testing.assert_allclose(raw(counts, scheme, **kw), formula, rtol=2e-6, err_msg=scheme)


def test_defaults_of_effective_and_log():
    n = np.array([500.0, 20.0, 3.0])
    np.testing.assert_allclose(raw(n, "effective"), 0.001 / (1 - 0.999**n), rtol=2e-6)
    np.testing.assert_allclose(raw(n, "log"), 1 / np.log(1.02 + n / n.sum()), rtol=2e-6)


def test_median_averages_the_two_middle_counts_of_an_even_number_of_classes():
    w = raw([1, 3, 5, 100], "median")
    np.testing.assert_allclose(w, 4 / np.array([1, 3, 5, 100]), rtol=1e-6)


def test_median_ignores_classes_without_samples_under_zero_policy():
    w = raw([1, 0, 3, 0, 5], "median", zero_counts="zero")
    np.testing.assert_allclose(w, [3.0, 0.0, 1.0, 0.0, 0.6], rtol=1e-6)


@fast
@given(
    st.lists(st.integers(1, 10**9), min_size=1, max_size=8),
    st.sampled_from([0.9, 0.999, 0.9999999, 1 - 1e-12, 1 - 2**-52]),
)
def test_effective_is_accurate_for_beta_near_one_and_huge_counts(counts, beta):
    getcontext().prec = 60
    b = Decimal(beta)  # the exact binary value of beta
    expected = [float((1 - b) / (1 - b**k)) for k in counts]
    np.testing.assert_allclose(raw(counts, "effective", beta=beta), expected, rtol=2e-6)


@pytest.mark.parametrize(
    ("cost", "expected"),
    [
        ([2.0, 0.0, 5.0], [2.0, 0.0, 5.0]),
        ([[0, 1, 3], [2, 0, 2], [4, 8, 0]], [2.0, 2.0, 6.0]),  # mean off-diagonal of each row
    ],
)
def test_cost_vector_and_matrix(cost, expected):
    np.testing.assert_allclose(raw([10, 20, 30], "cost", cost=cost), expected)


@fast
@given(st.integers(2, 8), st.data())
def test_cost_matrix_weight_is_the_mean_cost_of_misclassifying_each_class(C, data):
    K = np.array(data.draw(st.lists(st.integers(0, 100), min_size=C * C, max_size=C * C)), float)
    K = K.reshape(C, C)
    np.fill_diagonal(K, 0.0)
    expected = [sum(K[i, j] for j in range(C) if j != i) / (C - 1) for i in range(C)]
    if max(expected) == 0:
        with pytest.raises(ValueError, match="cost"):
            raw(np.ones(C), "cost", cost=K)
    else:
        np.testing.assert_allclose(raw(np.ones(C), "cost", cost=K), expected, rtol=1e-6)


# ---------------------------------------------------------------- normalisation


@fast
@given(counts_st, st.sampled_from([s for s in SCHEMES if s != "cost"]))
def test_each_normalisation_holds_its_invariant_and_only_rescales(counts, scheme):
    n = np.array(counts, dtype=np.float64)
    kw = options(scheme, len(n))
    base = raw(counts, scheme, **kw)
    results = {
        norm: class_weights(counts, scheme, normalize=norm, **kw).double().numpy()
        for norm in ("samples", "classes", "sum", "max")
    }
    assert np.dot(results["samples"], n) == pytest.approx(n.sum(), rel=1e-5)
    assert results["classes"].sum() == pytest.approx(len(n), rel=1e-5)
    assert results["sum"].sum() == pytest.approx(1.0, rel=1e-5)
    assert results["max"].max() == pytest.approx(1.0, rel=1e-6)
    for w in results.values():
        np.testing.assert_allclose(w / base, np.full(len(n), w[0] / base[0]), rtol=1e-5)


def test_default_normalisation_is_samples():
    counts = [7, 40, 3]
    torch.testing.assert_close(
        class_weights(counts, "sqrt"), class_weights(counts, "sqrt", normalize="samples")
    )


@fast
@given(counts_st)
def test_inverse_max_and_median_under_samples_are_balanced(counts):
    balanced = class_weights(counts, "balanced")
    for scheme in ("inverse", "max", "median"):
        torch.testing.assert_close(class_weights(counts, scheme), balanced, rtol=1e-5, atol=0)
    n = np.array(counts, dtype=np.float64)
    np.testing.assert_allclose(balanced.double().numpy(), n.sum() / (len(n) * n), rtol=1e-6)


@fast
@given(counts_st, st.integers(2, 1000))
def test_balanced_is_invariant_to_scaling_the_counts(counts, k):
    torch.testing.assert_close(
        class_weights([k * x for x in counts]), class_weights(counts), rtol=1e-6, atol=0
    )


@fast
@given(counts_st)
def test_special_cases_of_power_and_effective(counts):
    C = len(counts)
    torch.testing.assert_close(raw_t(counts, "power", beta=0.5), raw_t(counts, "sqrt"))
    torch.testing.assert_close(raw_t(counts, "power", beta=1.0), raw_t(counts, "inverse"))
    torch.testing.assert_close(raw_t(counts, "power", beta=0.0), torch.ones(C))
    torch.testing.assert_close(raw_t(counts, "effective", beta=0.0), torch.ones(C))
    torch.testing.assert_close(class_weights(counts, "none"), torch.ones(C))
    # beta -> 1: (1 - beta) / (1 - beta^n) -> 1 / n
    torch.testing.assert_close(
        raw_t(counts, "effective", beta=1 - 1e-13), raw_t(counts, "inverse"), rtol=1e-4, atol=0
    )


def raw_t(counts, scheme, **kw):
    return class_weights(counts, scheme, normalize=None, **kw)


# ---------------------------------------------------------------- max_ratio and clip


@fast
@given(counts_st, st.floats(1.0, 50.0), st.sampled_from(["inverse", "sqrt", "effective"]))
def test_max_ratio_caps_the_spread_before_normalising(counts, ratio, scheme):
    w = raw(counts, scheme, max_ratio=ratio)
    uncapped = raw(counts, scheme)
    assert w.max() / w.min() <= ratio * (1 + 1e-6)
    cap = uncapped.min() * ratio
    np.testing.assert_allclose(w, np.minimum(uncapped, cap), rtol=1e-6)
    n = np.array(counts, dtype=np.float64)
    normalised = class_weights(counts, scheme, max_ratio=ratio).double().numpy()
    np.testing.assert_allclose(normalised, w * n.sum() / np.dot(w, n), rtol=1e-5)


def test_max_ratio_measures_from_the_smallest_positive_weight():
    w = raw([5, 5, 5], "cost", cost=[0.0, 1.0, 10.0], max_ratio=2.0)
    np.testing.assert_allclose(w, [0.0, 1.0, 2.0])


@fast
@given(counts_st, st.floats(0.0, 2.0), st.floats(0.0, 5.0))
def test_clip_is_applied_last(counts, lo, width):
    lo32, hi32 = np.float32(lo), np.float32(lo + width)
    w = class_weights(counts, "inverse", clip=(lo, lo + width)).numpy()
    # rounding to float32 is monotonic, so clipping commutes with it
    np.testing.assert_array_equal(w, np.clip(class_weights(counts, "inverse").numpy(), lo32, hi32))
    assert ((w >= lo32) & (w <= hi32)).all()


def test_zero_counts_raise_by_default_naming_the_classes_and_policies():
    with pytest.raises(ValueError, match=r"`counts`.*'smooth' or 'zero'.*2 indices: \[1, 3\]"):
        class_weights([4, 0, 2, 0])


@fast
@given(
    st.lists(st.integers(0, 1000), min_size=1, max_size=12).filter(any),
    st.sampled_from([s for s in SCHEMES if s != "cost"]),
    st.floats(0.1, 5.0),
)
def test_smooth_adds_the_pseudo_count_to_every_class(counts, scheme, s):
    kw = options(scheme, len(counts))
    n = np.array(counts, dtype=np.float64)
    smoothed = class_weights(counts, scheme, zero_counts="smooth", smoothing=s, **kw)
    torch.testing.assert_close(smoothed, class_weights(n + s, scheme, **kw), rtol=1e-5, atol=0)


def test_smooth_default_pseudo_count_is_one():
    torch.testing.assert_close(
        class_weights([3, 0, 5], zero_counts="smooth"), class_weights([4, 1, 6])
    )


@fast
@given(
    st.lists(st.integers(0, 1000), min_size=1, max_size=12).filter(any),
    st.sampled_from(SCHEMES),
    st.sampled_from(["samples", "classes", "sum", "max", None]),
)
def test_zero_policy_weighs_present_classes_as_if_absent_ones_did_not_exist(counts, scheme, norm):
    n = np.array(counts)
    present = n > 0
    kw = options(scheme, len(n))
    w = class_weights(counts, scheme, normalize=norm, zero_counts="zero", **kw)
    sub_kw = {"cost": kw["cost"][present]} if scheme == "cost" else kw
    expected = class_weights(n[present], scheme, normalize=norm, **sub_kw)
    assert w.shape == (len(n),)
    assert (w[torch.from_numpy(~present)] == 0).all()
    torch.testing.assert_close(w[torch.from_numpy(present)], expected)


def test_zero_policy_balanced_divides_by_the_number_of_present_classes():
    np.testing.assert_allclose(
        raw([6, 0, 2], "balanced", zero_counts="zero"), [8 / 12, 0, 8 / 4], rtol=1e-6
    )


def test_zero_policy_keeps_full_cost_matrix_rows_of_present_classes():
    cost = [[0, 2, 4], [1, 0, 1], [6, 0, 0]]
    np.testing.assert_allclose(
        raw([5, 0, 5], "cost", cost=cost, zero_counts="zero"), [3.0, 0.0, 3.0], rtol=1e-6
    )


# ---------------------------------------------------------------- inputs, dtype and device


def test_accepts_lists_arrays_tensors_and_objects_with_counts():
    expected = class_weights([30, 10, 5])
    for counts in (
        (30, 10, 5),
        np.array([30, 10, 5], dtype=np.int32),
        np.array([30.0, 10.0, 5.0]),
        torch.tensor([30, 10, 5]),
        torch.tensor([30.0, 10.0, 5.0], dtype=torch.float16),
        SimpleNamespace(counts=torch.tensor([30, 10, 5])),
        SimpleNamespace(counts=torch.tensor([30, 10, 5]), num_samples=45),
    ):
        w = class_weights(counts)
        assert w.dtype == torch.float32 and w.shape == (3,)
        torch.testing.assert_close(w, expected)


def test_num_samples_of_an_object_is_n_for_multilabel_counts():
    labels = SimpleNamespace(counts=torch.tensor([30, 10, 5]), num_samples=40)
    np.testing.assert_allclose(
        class_weights(labels).numpy(), 40 / (3 * np.array([30, 10, 5])), rtol=1e-6
    )
    w = class_weights(labels, "inverse").double().numpy()
    assert np.dot(w, [30, 10, 5]) == pytest.approx(40, rel=1e-6)
    np.testing.assert_allclose(
        raw(labels, "log"), 1 / np.log(1.02 + np.array([30, 10, 5]) / 40), rtol=1e-6
    )


def test_non_integral_counts_from_soft_labels_are_accepted():
    np.testing.assert_allclose(raw([2.5, 0.5], "inverse"), [0.4, 2.0], rtol=1e-6)


@pytest.mark.parametrize("device", devices)
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.float32, torch.float64])
def test_result_is_float32_on_the_device_of_the_counts(device, dtype):
    counts = torch.tensor([9, 3, 1], dtype=dtype, device=device)
    for scheme in SCHEMES:
        kw = options(scheme, 3)
        w = class_weights(counts, scheme, **kw)
        assert w.dtype == torch.float32 and w.device == counts.device
        torch.testing.assert_close(w.cpu(), class_weights([9, 3, 1], scheme, **kw))


def test_weights_too_large_for_float32_raise():
    with pytest.raises(ValueError, match="float32"):
        class_weights([1e-40, 1.0], "inverse", normalize=None)


def test_all_schemes_are_listed_in_a_stable_order():
    assert SCHEMES == (
        "none", "inverse", "balanced", "max", "median", "sqrt", "power", "effective", "log", "cost"
    )  # fmt: skip


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("counts", "error", "match"),
    [
        ([3.0, float("nan")], ValueError, "`counts` must be finite"),
        ([3.0, float("inf")], ValueError, "`counts` must be finite"),
        ([3, -1], ValueError, "`counts` must be non-negative"),
        ([0, 0], ValueError, "`counts` must be positive for at least one class"),
        ([], ValueError, "`counts` must be non-empty"),
        ([[1, 2], [3, 4]], ValueError, "`counts` must be a 1-D tensor"),
        (5, ValueError, "`counts` must be a 1-D tensor"),
        (["a", "b"], TypeError, "`counts` must be real numbers"),
        ([[1, 2], [3]], TypeError, "`counts` must be an array of real numbers"),
        (torch.tensor([True, False]), TypeError, "`counts` must be real numbers"),
        (
            SimpleNamespace(counts=[5, 3], num_samples=4),
            ValueError,
            "`num_samples` must be at least",
        ),
        (
            SimpleNamespace(counts=[5, 3], num_samples=4.0),
            TypeError,
            "`num_samples` must be an int",
        ),
    ],
)
def test_bad_counts(counts, error, match):
    with pytest.raises(error, match=match):
        class_weights(counts)


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        (
            {"scheme": "inv"},
            ValueError,
            "`scheme` must be one of 'none', 'inverse'.*'cost', got 'inv'",
        ),
        (
            {"normalize": "mean"},
            ValueError,
            "`normalize` must be one of 'samples'.*None, got 'mean'",
        ),
        (
            {"zero_counts": "drop"},
            ValueError,
            "`zero_counts` must be one of 'error', 'smooth', 'zero'",
        ),
        ({"scheme": "power"}, ValueError, "`beta` must be given when scheme='power'"),
        ({"scheme": "power", "beta": 1.5}, ValueError, r"`beta` must be in \[0.0, 1.0\]"),
        ({"scheme": "power", "beta": -0.1}, ValueError, r"`beta` must be in \[0.0, 1.0\]"),
        ({"scheme": "effective", "beta": 1.0}, ValueError, r"`beta` must be in \[0.0, 1.0\)"),
        ({"scheme": "effective", "beta": float("nan")}, ValueError, "`beta` must be a finite"),
        ({"scheme": "effective", "beta": "0.9"}, TypeError, "`beta` must be a real number"),
        (
            {"beta": 0.9},
            ValueError,
            "`beta` must be None when scheme='balanced' \\(only 'power' and 'effective'",
        ),
        ({"scheme": "log", "c": 1.0}, ValueError, r"`c` must be in \(1.0, inf\]"),
        ({"scheme": "log", "c": 0.5}, ValueError, "`c` must be in"),
        ({"scheme": "sqrt", "c": 1.02}, ValueError, "`c` must be None when scheme='sqrt'"),
        ({"scheme": "cost"}, ValueError, "`cost` must be given when scheme='cost'"),
        ({"cost": [1, 2, 3]}, ValueError, "`cost` must be None when scheme='balanced'"),
        (
            {"scheme": "cost", "cost": [1, 2]},
            ValueError,
            r"`cost` must be of shape \(3,\) or \(3, 3\)",
        ),
        ({"scheme": "cost", "cost": np.ones((3, 2))}, ValueError, "`cost` must be of shape"),
        ({"scheme": "cost", "cost": np.ones((3, 3))}, ValueError, "zero diagonal"),
        ({"scheme": "cost", "cost": [1, -2, 3]}, ValueError, "`cost` must be non-negative"),
        ({"scheme": "cost", "cost": [1, np.nan, 3]}, ValueError, "`cost` must be finite"),
        ({"scheme": "cost", "cost": [0, 0, 0]}, ValueError, "`cost` must be positive"),
        ({"scheme": "cost", "cost": ["a", "b", "c"]}, TypeError, "`cost` must be real numbers"),
        ({"smoothing": 0.5}, ValueError, "`smoothing` must be None when zero_counts='error'"),
        ({"zero_counts": "smooth", "smoothing": 0.0}, ValueError, r"`smoothing` must be in \(0.0"),
        ({"max_ratio": 0.5}, ValueError, r"`max_ratio` must be in \[1.0"),
        ({"clip": (2.0, 1.0)}, ValueError, r"`clip\[1\]` must be in \[2.0, inf\]"),
        ({"clip": (-1.0, 1.0)}, ValueError, r"`clip\[0\]` must be in \[0.0, inf\]"),
        ({"clip": 1.0}, TypeError, r"`clip` must be a pair \(lo, hi\)"),
        ({"clip": (0.1, float("inf"))}, ValueError, r"`clip\[1\]` must be a finite number"),
    ],
)
def test_bad_options(kw, error, match):
    kw = dict(kw)
    scheme = kw.pop("scheme", "balanced")
    with pytest.raises(error, match=match):
        class_weights([5, 3, 1], scheme, **kw)


def test_cost_positive_only_on_absent_classes_raises_under_zero_policy():
    with pytest.raises(ValueError, match="`cost` must be positive for at least one class with"):
        class_weights([0, 3], "cost", cost=[1.0, 0.0], zero_counts="zero")


# ---------------------------------------------------------------- pos_weight


targets_st = st.integers(1, 40).flatmap(
    lambda n: st.lists(st.lists(st.integers(0, 1), min_size=3, max_size=3), min_size=n, max_size=n)
)


@fast
@given(targets_st)
def test_pos_weight_is_negatives_over_positives(rows):
    y = np.array(rows)
    P = y.sum(0)
    N = len(y)
    ok = (P > 0) & (P < N)
    expected = np.where(ok, (N - P) / np.maximum(P, 1), 0.0)
    w = pos_weight(torch.tensor(rows), zero_counts="zero")
    assert w.dtype == torch.float32 and w.shape == (3,)
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-6)
    # the positives of each usable label then weigh as much as its negatives
    np.testing.assert_allclose((w.double().numpy() * P)[ok], (N - P)[ok], rtol=1e-6)
    torch.testing.assert_close(pos_weight(P, num_samples=N, zero_counts="zero"), w)
    torch.testing.assert_close(
        pos_weight(SimpleNamespace(counts=torch.from_numpy(P), num_samples=N), zero_counts="zero"),
        w,
    )
    if ok.all():
        torch.testing.assert_close(pos_weight(y), w)
        torch.testing.assert_close(pos_weight(y.astype(bool).tolist()), w)


def test_pos_weight_feeds_bce_with_logits():
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    x = torch.randn(4, 2, dtype=torch.float64)
    w = pos_weight(y)
    torch.testing.assert_close(w, torch.tensor([3.0, 1.0 / 3.0]))
    loss = torch.nn.functional.binary_cross_entropy_with_logits(
        x, y.double(), pos_weight=w.double()
    )
    p = torch.sigmoid(x)
    plain = -(w * y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
    torch.testing.assert_close(loss, plain)


def test_pos_weight_of_one_dimensional_targets_has_one_entry():
    torch.testing.assert_close(pos_weight([1, 0, 0, 0, 1]), torch.tensor([1.5]))


def test_pos_weight_counts_soft_targets_fractionally():
    torch.testing.assert_close(pos_weight(torch.tensor([0.5, 0.0, 0.0, 0.0])), torch.tensor([7.0]))


def test_pos_weight_degenerate_labels_follow_the_policy():
    y = torch.tensor([[1, 0, 1], [0, 0, 1], [1, 0, 1]])
    with pytest.raises(ValueError, match=r"positives and negatives.*2 indices: \[1, 2\]"):
        pos_weight(y)
    torch.testing.assert_close(pos_weight(y, zero_counts="zero"), torch.tensor([0.5, 0.0, 0.0]))
    torch.testing.assert_close(
        pos_weight(y, zero_counts="smooth"), torch.tensor([2 / 3, 4 / 1, 1 / 4])
    )
    torch.testing.assert_close(
        pos_weight(y, zero_counts="smooth", smoothing=0.5),
        torch.tensor([1.5 / 2.5, 3.5 / 0.5, 0.5 / 3.5]),
    )


@pytest.mark.parametrize("device", devices)
def test_pos_weight_stays_on_the_device_of_the_input(device):
    w = pos_weight(torch.tensor([[1, 0], [0, 1], [0, 1]], device=device))
    assert w.device.type == device and w.dtype == torch.float32


@pytest.mark.parametrize(
    ("args", "kw", "error", "match"),
    [
        ((torch.tensor([[2, 0], [0, 1]]),), {}, ValueError, r"targets in \[0, 1\]"),
        ((torch.tensor([[-1, 0], [0, 1]]),), {}, ValueError, "non-negative"),
        ((torch.zeros(2, 2, 2),), {}, ValueError, r"targets of shape \(N,\) or \(N, L\)"),
        ((torch.zeros(0, 2),), {}, ValueError, r"targets of shape \(N,\) or \(N, L\)"),
        (([3, 5], 4), {}, ValueError, "at most num_samples=4"),
        (([3, 1], 4.0), {}, TypeError, "`num_samples` must be an integer"),
        (([3, 1], 0), {}, ValueError, "`num_samples` must be an integer larger than 0"),
        (([[3, 1]], 4), {}, ValueError, "`targets_or_counts` must be a 1-D tensor"),
        (
            (SimpleNamespace(counts=[1], num_samples=3), 3),
            {},
            ValueError,
            "`num_samples` must be None",
        ),
        (([1, 0],), {"zero_counts": "ignore"}, ValueError, "`zero_counts` must be one of"),
        (([1, 0],), {"smoothing": 1.0}, ValueError, "`smoothing` must be None"),
        ((["x"],), {}, TypeError, "real numbers"),
    ],
)
def test_pos_weight_bad_input(args, kw, error, match):
    with pytest.raises(error, match=match):
        pos_weight(*args, **kw)


# ---------------------------------------------------------------- sample_weights


@fast
@given(st.integers(1, 10).flatmap(lambda C: st.tuples(
    st.lists(st.floats(0.0, 100.0), min_size=C, max_size=C),
    st.lists(st.integers(0, C - 1), max_size=50),
)))  # fmt: skip
def test_sample_weights_look_up_each_label(args):
    weights, labels = args
    expected = [weights[y] for y in labels]
    w = sample_weights(labels, weights)
    assert w.dtype == torch.float32 and w.shape == (len(labels),)
    np.testing.assert_allclose(w.numpy(), np.array(expected, dtype=np.float32))
    torch.testing.assert_close(sample_weights(np.array(labels, dtype=np.uint8), weights), w)


def test_sample_weights_keep_the_shape_of_the_labels():
    labels = torch.tensor([[0, 1, 1], [2, 0, 2]])
    w = sample_weights(labels, torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    torch.testing.assert_close(w, torch.tensor([[1.0, 2.0, 2.0], [3.0, 1.0, 3.0]]))


def test_sample_weights_of_class_weights_weigh_classes_equally():
    labels = torch.tensor([0] * 90 + [1] * 9 + [2])
    counts = torch.bincount(labels)
    w = sample_weights(labels, class_weights(counts))
    totals = torch.zeros(3).index_add_(0, labels, w)
    torch.testing.assert_close(totals, torch.full((3,), 100 / 3))


@pytest.mark.parametrize("device", devices)
def test_sample_weights_follow_the_labels_device(device):
    w = sample_weights(torch.tensor([1, 0], device=device), torch.tensor([0.5, 2.0]))
    assert w.device.type == device
    torch.testing.assert_close(w.cpu(), torch.tensor([2.0, 0.5]))


@pytest.mark.parametrize(
    ("labels", "weights", "error", "match"),
    [
        (
            [0, 3, 1],
            [1.0, 2.0, 3.0],
            ValueError,
            r"`labels` must be in \[0, 3\), got '3 at index \(1,\)'",
        ),
        ([0, -1], [1.0, 2.0], ValueError, r"`labels` must be in \[0, 2\), got '-1 at index"),
        ([0.0, 1.0], [1.0, 2.0], TypeError, "`labels` must be integer class indices"),
        (torch.tensor([True]), [1.0, 2.0], TypeError, "`labels` must be integer class indices"),
        ([0], [[1.0, 2.0]], ValueError, "`class_weights` must be a 1-D tensor"),
        ([0], [1.0, float("nan")], ValueError, "`class_weights` must be finite"),
        ([0], [1.0, -2.0], ValueError, "`class_weights` must be non-negative"),
    ],
)
def test_sample_weights_bad_input(labels, weights, error, match):
    with pytest.raises(error, match=match):
        sample_weights(labels, weights)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
def test_sample_weights_accept_unsigned_labels(dtype):
    weights = torch.tensor([0.5, 1.0, 4.0])
    labels = np.array([[0, 2], [1, 2]], dtype=dtype)
    expected = torch.tensor([[0.5, 4.0], [1.0, 4.0]])
    torch.testing.assert_close(sample_weights(labels, weights), expected)
    torch.testing.assert_close(sample_weights(torch.from_numpy(labels), weights), expected)
    bad = np.array([0, 3], dtype=dtype)
    for given_labels in (bad, torch.from_numpy(bad)):
        with pytest.raises(ValueError, match=r"`labels` must be in \[0, 3\), got '3 at index"):
            sample_weights(given_labels, weights)


def test_sample_weights_report_huge_uint64_labels_as_given():
    labels = np.array([1, 2**64 - 1], dtype=np.uint64)  # wraps to -1 as int64
    with pytest.raises(ValueError, match=rf"got '{2**64 - 1} at index \(1,\)'"):
        sample_weights(labels, [1.0, 2.0])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
def test_unsigned_counts_are_accepted(dtype):
    counts = np.array([90, 9, 1], dtype=dtype)
    expected = class_weights([90, 9, 1])
    torch.testing.assert_close(class_weights(counts), expected)
    torch.testing.assert_close(class_weights(torch.from_numpy(counts)), expected)


def test_an_option_of_another_choice_names_who_uses_it():
    with pytest.raises(
        ValueError, match=r"`c` must be None when scheme='balanced' \(only 'log' uses"
    ):
        class_weights([5, 3, 1], c=1.5)
    with pytest.raises(ValueError, match="only 'power' and 'effective' use it"):
        class_weights([5, 3, 1], beta=0.5)


def test_sample_weights_of_no_labels_is_empty():
    assert sample_weights([], [1.0, 2.0]).shape == (0,)


def test_weighting_warnings():
    from counterpoise.weights import DOMINANT_WEIGHT_RATIO, WeightingWarning

    assert issubclass(WeightingWarning, UserWarning)
    counts = [2741, 37919, 22858, 31235, 5499]
    with pytest.warns(WeightingWarning, match=r"nearly uniform.*beta=0\.9999 gives"):
        class_weights(counts, "effective", beta=0.999)
    with pytest.warns(WeightingWarning, match=r"span a ratio of 2,000:1.*max_ratio"):
        class_weights([2000, 1], "inverse")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        class_weights(counts, "effective", beta=0.9999)
        class_weights(counts, "balanced")
        class_weights([2000, 1], "inverse", max_ratio=DOMINANT_WEIGHT_RATIO)
