import numpy as np
import pytest

from counterpoise.datasets import load_dataset, load_digits_lt, long_tailed_counts


@pytest.mark.parametrize("factor", [1.0, 10.0, 50.0, 100.0, 200.0])
def test_profile_follows_exponential_formula(factor):
    ds = load_digits_lt(imbalance_factor=factor, seed=3)
    counts = np.bincount(ds.y_train, minlength=10)
    n_max = counts[0]
    expected = [max(1, int(np.floor(n_max * factor ** (-i / 9) + 1e-9))) for i in range(10)]
    assert counts.tolist() == expected
    assert counts[0] / counts[-1] == pytest.approx(factor, rel=0.6)  # rounding of the tail


def test_held_out_splits_are_balanced_and_disjoint():
    ds = load_digits_lt(seed=0, val_per_class=10, test_per_class=25)
    assert np.bincount(ds.y_test).tolist() == [25] * 10
    assert np.bincount(ds.y_val).tolist() == [10] * 10
    # the splits are drawn from disjoint indices of the digits set: every image of the three
    # splits is found in the set as often as the splits use it (the set holds a few duplicates)
    from collections import Counter

    from sklearn.datasets import load_digits

    available = Counter((r / 16.0).astype(np.float32).tobytes() for r in load_digits().data)
    used = Counter(r.tobytes() for r in np.concatenate([ds.X_train, ds.X_val, ds.X_test]))
    assert all(available[k] >= n for k, n in used.items())
    assert ds.X_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert 0.0 <= ds.X_train.min() and ds.X_train.max() <= 1.0
    assert ds.X_train.shape[1] == 64 and ds.num_classes == 10


def test_deterministic_given_seed_and_varies_with_seed():
    a, b, c = load_digits_lt(seed=7), load_digits_lt(seed=7), load_digits_lt(seed=8)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.X_train, c.X_train)


def test_long_tailed_counts_monotone_and_bounded():
    sizes = long_tailed_counts(1000, 100, 1000)
    assert sizes[0] == 1000 and sizes[-1] == 1
    assert np.all(np.diff(sizes) <= 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"imbalance_factor": 0.5}, "imbalance_factor"),
        ({"imbalance_factor": float("nan")}, "imbalance_factor"),
        ({"test_per_class": 500}, "test_per_class"),
        ({"val_per_class": 150}, "val_per_class"),
        ({"val_per_class": -1}, "val_per_class"),
        ({"val_per_class": 0}, "val_per_class"),
        ({"test_per_class": 0}, "test_per_class"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_digits_lt(**kwargs)


def test_load_dataset_by_name():
    assert load_dataset("digits-lt", imbalance_factor=10).imbalance_factor == 10
    with pytest.raises(ValueError, match="digits-lt"):
        load_dataset("cifar")


def test_images_layout_holds_the_same_images_as_8x8_grids():
    flat, images = load_digits_lt(seed=2), load_digits_lt(seed=2, layout="images")
    assert images.X_train.shape == (len(flat.y_train), 1, 8, 8)
    # row r of the flat layout is the image read row by row, pixel (i, j) at column 8 i + j
    for split in ("train", "val", "test"):
        X, Xi = getattr(flat, f"X_{split}"), getattr(images, f"X_{split}")
        assert Xi.shape[1:] == (1, 8, 8)
        for i, j in ((0, 0), (3, 5), (7, 7)):
            np.testing.assert_array_equal(Xi[:, 0, i, j], X[:, 8 * i + j])
        np.testing.assert_array_equal(getattr(flat, f"y_{split}"), getattr(images, f"y_{split}"))
    with pytest.raises(ValueError, match="`layout` must be one of 'flat', 'images'"):
        load_digits_lt(layout="grid")


def test_tensor_datasets_yield_the_arrays():
    ds = load_digits_lt(layout="images")
    for data, X, y in zip(
        ds.tensor_datasets(), (ds.X_train, ds.X_val, ds.X_test), (ds.y_train, ds.y_val, ds.y_test)
    ):
        assert len(data) == len(y)
        image, label = data[len(y) - 1]
        np.testing.assert_array_equal(image.numpy(), X[-1])
        assert int(label) == y[-1]
