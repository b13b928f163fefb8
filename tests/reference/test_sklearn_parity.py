"""counterpoise.weights against scikit-learn's class_weight utilities: same values, same errors."""

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils import class_weight as sk

from counterpoise.weights import class_weights, compute_class_weight, compute_sample_weight

fast = settings(max_examples=80, deadline=None)

# label pools: contiguous, non-contiguous with negatives, a span too wide for a bincount,
# strings, and floats
POOLS = [
    [0, 1, 2, 3, 4],
    [-7, -1, 3, 10, 1000],
    [-(2**40), 5, 2**40],
    ["a", "b", "cat", "dog"],
    [0.5, 1.0, 2.25],
]
INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


@st.composite
def labels(draw, min_size=1, max_size=60):
    pool = draw(st.sampled_from(POOLS))
    return draw(st.lists(st.sampled_from(pool), min_size=min_size, max_size=max_size))


@st.composite
def class_weight_for(draw, present):
    """'balanced', None, {} or a dict over some of the labels (sometimes with a stranger key)."""
    kind = draw(st.sampled_from(["balanced", None, "empty", "some", "all", "extra"]))
    if kind in ("balanced", None):
        return kind
    if kind == "empty":
        return {}
    keys = present if kind == "all" else draw(st.lists(st.sampled_from(present), unique=True))
    weights = {k: draw(st.floats(0.01, 100.0)) for k in keys}
    if kind == "extra":
        weights["stranger" if isinstance(present[0], str) else 98765] = 2.0
    return weights


def outcome(fn):
    try:
        return fn(), None
    except Exception as error:
        return None, error


def assert_same(ours, theirs):
    """Same values, or errors of the same kind: any `except` that catches ours catches theirs."""
    expected, their_error = outcome(theirs)
    got, our_error = outcome(ours)
    if their_error is not None:
        assert our_error is not None, f"scikit-learn raised {their_error!r}, we returned {got!r}"
        assert type(our_error) in (ValueError, TypeError, IndexError), repr(our_error)
        assert isinstance(their_error, type(our_error)), f"{our_error!r} vs {their_error!r}"
        return
    assert our_error is None, f"we raised {our_error!r}, scikit-learn returned {expected!r}"
    assert isinstance(got, np.ndarray) and got.dtype == np.float64
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@fast
@given(labels(), st.data())
def test_compute_class_weight_matches(y, data):
    present = [v.item() for v in np.unique(y)]
    classes = data.draw(st.permutations(present))
    change = data.draw(st.sampled_from(["same", "extra", "missing"]))
    if change == "extra":
        classes = [*classes, "zzz" if isinstance(present[0], str) else 12345]
    elif change == "missing":
        classes = classes[1:]
    classes = np.array(classes)
    weight = data.draw(class_weight_for(present))
    assert_same(
        lambda: compute_class_weight(weight, classes=classes, y=y),
        lambda: sk.compute_class_weight(weight, classes=classes, y=y),
    )


@fast
@given(labels(), st.data())
def test_balanced_with_sample_weight_matches(y, data):
    sw = data.draw(st.lists(st.floats(0.1, 10.0), min_size=len(y), max_size=len(y)))
    classes = np.unique(y)
    assert_same(
        lambda: compute_class_weight("balanced", classes=classes, y=y, sample_weight=sw),
        lambda: sk.compute_class_weight("balanced", classes=classes, y=y, sample_weight=sw),
    )


@fast
@given(st.sampled_from(INT_DTYPES), st.lists(st.integers(0, 127), min_size=1, max_size=60))
def test_integer_dtypes_take_the_bincount_path_and_match(dtype, values):
    info = np.iinfo(dtype)
    # shift towards the bottom of the dtype's range to exercise the offset arithmetic
    y = (np.array(values, dtype=np.int64) + int(info.min)).astype(dtype)
    classes = np.unique(y)
    for weight in ("balanced", None, {int(classes[0]): 3.0}):
        assert_same(
            lambda weight=weight: compute_class_weight(weight, classes=classes, y=y),
            lambda weight=weight: sk.compute_class_weight(weight, classes=classes, y=y),
        )
    assert_same(
        lambda: compute_sample_weight("balanced", y),
        lambda: sk.compute_sample_weight("balanced", y),
    )


@st.composite
def multi_output(draw):
    n = draw(st.integers(1, 40))
    k = draw(st.integers(1, 3))
    pool = draw(st.sampled_from(POOLS))
    columns = [draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n)) for _ in range(k)]
    y = np.array(columns).T
    return y[:, 0] if k == 1 and draw(st.booleans()) else y


@fast
@given(multi_output(), st.data())
def test_compute_sample_weight_matches(y, data):
    columns = y.reshape(len(y), -1).T
    per_column = [data.draw(class_weight_for([v.item() for v in np.unique(c)])) for c in columns]
    form = data.draw(st.sampled_from(["balanced", "first", "list", "short list"]))
    weight = {
        "balanced": "balanced",
        "first": per_column[0],
        "list": per_column,
        "short list": per_column[:-1],
    }[form]
    indices = None
    if data.draw(st.booleans()):
        indices = data.draw(st.lists(st.integers(0, len(y) - 1), min_size=1, max_size=2 * len(y)))
    assert_same(
        lambda: compute_sample_weight(weight, y, indices=indices),
        lambda: sk.compute_sample_weight(weight, y, indices=indices),
    )


def test_sparse_multi_output_matches():
    rng = np.random.default_rng(0)
    y = scipy.sparse.csr_matrix(rng.integers(0, 3, size=(50, 2)))
    for weight in ("balanced", [{0: 1.0, 1: 2.0, 2: 4.0}, {1: 3.0, 0: 1.0, 2: 1.0}]):
        assert_same(
            lambda weight=weight: compute_sample_weight(weight, y),
            lambda weight=weight: sk.compute_sample_weight(weight, y),
        )


def test_an_empty_list_for_single_output_means_no_weights():
    assert_same(
        lambda: compute_sample_weight([], [0, 1, 1]),
        lambda: sk.compute_sample_weight([], [0, 1, 1]),
    )
    np.testing.assert_array_equal(compute_sample_weight([], [0, 1, 1]), np.ones(3))


def test_bootstrap_with_a_boolean_mask_matches():
    y = np.array([0, 0, 1, 2, 2, 2])
    mask = np.array([True, False, True, False, True, True])
    assert_same(
        lambda: compute_sample_weight("balanced", y, indices=mask),
        lambda: sk.compute_sample_weight("balanced", y, indices=mask),
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda f: f.compute_class_weight("balance", classes=np.array([0, 1]), y=[0, 1]),
        lambda f: f.compute_class_weight(3, classes=np.array([0, 1]), y=[0, 1]),
        lambda f: f.compute_class_weight([{0: 1}], classes=np.array([0, 1]), y=[0, 1]),
        lambda f: f.compute_class_weight("balanced", classes=[0, 1], y=[0, 1]),
        lambda f: f.compute_class_weight("balanced", classes=np.array([0, 1]), y=1),
        lambda f: f.compute_class_weight("balanced", classes=np.array([0]), y=[0, 1]),
        lambda f: f.compute_class_weight("balanced", classes=np.array([0, 1, 2]), y=[0, 1]),
        lambda f: f.compute_class_weight({0: 1, 5: 2}, classes=np.array([0, 1]), y=[0, 1]),
        lambda f: f.compute_class_weight(
            "balanced", classes=np.array([0, 1]), y=[0, 1], sample_weight=[1.0]
        ),
        lambda f: f.compute_class_weight(
            "balanced", classes=np.array([0, 1]), y=[0, 1], sample_weight=[1.0, np.nan]
        ),
        lambda f: f.compute_sample_weight("balance", [0, 1]),
        lambda f: f.compute_sample_weight(2.0, [0, 1]),
        lambda f: f.compute_sample_weight({0: 2.0}, [0, 1], indices=[0]),
        lambda f: f.compute_sample_weight(None, [0, 1], indices=[0]),
        lambda f: f.compute_sample_weight(None, [[0, 1], [1, 0]]),
        lambda f: f.compute_sample_weight({0: 2.0}, [[0, 1], [1, 0]]),
        lambda f: f.compute_sample_weight([{0: 2.0}], [[0, 1], [1, 0]]),
        lambda f: f.compute_sample_weight([{0: 2.0}], [0, 1]),
        lambda f: f.compute_sample_weight("balanced", [0, 1], indices=[0, 5]),
        lambda f: f.compute_sample_weight("balanced", 3),
    ],
)
def test_bad_input_raises_the_same_kind_of_error(call):
    import counterpoise.weights as ours

    assert_same(lambda: call(ours), lambda: call(sk))
    with pytest.raises((ValueError, TypeError, IndexError)):
        call(ours)


def test_deliberate_deviations_raise_where_scikit_learn_ignores_or_divides_by_zero():
    classes, y = np.array([0, 1]), [0, 1, 1]
    # scikit-learn ignores sample_weight unless class_weight is 'balanced'
    with pytest.raises(ValueError, match="`sample_weight` must be None unless"):
        compute_class_weight({0: 2.0}, classes=classes, y=y, sample_weight=[1.0, 1.0, 1.0])
    # ... and returns inf for a class whose samples weigh 0 in total
    with pytest.raises(ValueError, match=r"positive total for every class.*\[0\]"):
        compute_class_weight("balanced", classes=classes, y=y, sample_weight=[0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="`sample_weight` must be non-negative"):
        compute_class_weight("balanced", classes=classes, y=y, sample_weight=[3.0, -1.0, 1.0])


@fast
@given(st.integers(1, 30).flatmap(lambda C: st.lists(st.integers(0, C - 1), min_size=C)))
def test_class_weights_balanced_equals_scikit_learn_balanced(y):
    counts = np.bincount(y)
    if (counts == 0).any():  # every class 0..C-1 must be present for the comparison
        y = [*y, *np.flatnonzero(counts == 0).tolist()]
        counts = np.bincount(y)
    expected = sk.compute_class_weight("balanced", classes=np.arange(len(counts)), y=y)
    np.testing.assert_allclose(class_weights(counts, "balanced").numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(
        class_weights(counts, "inverse").numpy(), expected, rtol=1e-6
    )  # inverse, normalised to N samples
