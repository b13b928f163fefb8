"""Built-in data sets.

``digits-lt`` is scikit-learn's bundled handwritten digits (8x8 images, 10 classes, 1797 samples)
made long-tailed with the exponential profile used for CIFAR-10-LT and ImageNet-LT
(Cui et al., CVPR 2019; Cao et al., NeurIPS 2019):

.. math::

    n_i = \\left\\lfloor n_{max} \\cdot \\mathrm{IF}^{-i / (C - 1)} \\right\\rfloor, \\quad i = 0, \\dots, C - 1

where IF is the imbalance factor (ratio of the largest to the smallest class). Class 0 is the
head and class 9 the tail. Balanced validation and test splits are held out first, so that
accuracy on them is the balanced accuracy over classes (the usual protocol for long-tailed
benchmarks). Everything ships with scikit-learn: no network is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch.utils.data import TensorDataset

from ._checks import check_choice, check_number, check_positive_int, fail
from ._optional import require

__all__ = [
    "DATASETS",
    "LAYOUTS",
    "Dataset",
    "Layout",
    "load_dataset",
    "load_digits_lt",
    "long_tailed_counts",
]

DATASETS = ("digits-lt",)
#: How a data set's samples are laid out: feature rows (N, D), or images (N, channels, H, W).
Layout = Literal["flat", "images"]
LAYOUTS: tuple[str, ...] = ("flat", "images")


@dataclass(frozen=True)
class Dataset:
    """A classification data set with a long-tailed training split and a held-out test split.

    Attributes:
        name: the data set's name, e.g. ``"digits-lt"``.
        X_train: features of the training split, float32 of shape (N_train, D), or images
            (N_train, channels, H, W).
        y_train: labels of the training split, int64 of shape (N_train,).
        X_val: features (or images) of the validation split, float32, N_val rows.
        y_val: labels of the validation split, int64 of shape (N_val,).
        X_test: features (or images) of the test split, float32, N_test rows.
        y_test: labels of the test split, int64 of shape (N_test,).
        classes: the name of each class, in label order.
        imbalance_factor: largest over smallest training class size requested.
        seed: the seed that drew the subsets.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    imbalance_factor: float
    seed: int

    @property
    def num_classes(self) -> int:
        """The number of classes, C."""
        return len(self.classes)

    def tensor_datasets(self) -> tuple[TensorDataset, TensorDataset, TensorDataset]:
        """The train, validation and test splits as PyTorch data sets of ``(input, label)``
        (what :func:`~counterpoise.compare.model.compare_model` trains on).

        Example:
            >>> train, val, test = load_digits_lt(layout="images").tensor_datasets()
            >>> image, label = train[0]
            >>> image.shape, label.dtype, len(val), len(test)
            (torch.Size([1, 8, 8]), torch.int64, 200, 300)
        """
        return (
            TensorDataset(torch.from_numpy(self.X_train), torch.from_numpy(self.y_train)),
            TensorDataset(torch.from_numpy(self.X_val), torch.from_numpy(self.y_val)),
            TensorDataset(torch.from_numpy(self.X_test), torch.from_numpy(self.y_test)),
        )


def long_tailed_counts(n_max: int, num_classes: int, imbalance_factor: float) -> np.ndarray:
    """Class sizes of the exponential long-tailed profile.

    .. math::

        n_i = \\max\\left(1, \\left\\lfloor n_{max} \\cdot \\mathrm{IF}^{-i/(C-1)} \\right\\rfloor\\right)

    Args:
        n_max: size of the head class (class 0), at least 1.
        num_classes: the number of classes C, at least 2.
        imbalance_factor: IF >= 1, the ratio n_0 / n_{C-1} before rounding.

    Returns:
        int64 array of shape (C,), non-increasing.

    Example:
        >>> long_tailed_counts(500, 5, 100).tolist()
        [500, 158, 50, 15, 5]
    """
    n_max = check_positive_int("n_max", n_max)
    num_classes = check_positive_int("num_classes", num_classes)
    if num_classes < 2:
        fail("num_classes", "at least 2", num_classes)
    factor = check_number("imbalance_factor", imbalance_factor, low=1.0)
    exponents = np.arange(num_classes, dtype=np.float64) / (num_classes - 1)
    sizes = np.floor(n_max * factor ** (-exponents) + 1e-9).astype(np.int64)
    return np.maximum(sizes, 1)


def load_digits_lt(
    *,
    imbalance_factor: float = 100.0,
    val_per_class: int = 20,
    test_per_class: int = 30,
    seed: int = 0,
    layout: Layout = "flat",
) -> Dataset:
    """The long-tailed digits data set ``digits-lt``.

    From each class, ``val_per_class`` and ``test_per_class`` images are held out for balanced
    validation and test splits; the training split then keeps ``n_i`` images of class ``i`` (see
    :func:`long_tailed_counts`), with ``n_max`` the size of the smallest remaining class pool
    (124 for the defaults), so that the profile is exact. Pixel values are scaled to [0, 1].

    Args:
        imbalance_factor: ratio of the largest to the smallest training class, >= 1 (default 100).
        val_per_class: images per class in the balanced validation split (default 20).
        test_per_class: images per class in the balanced test split (default 30).
        seed: seed for the random choice of images; the same seed gives the same split.
        layout: ``"flat"`` (default): each image is a row of 64 features, (N, 64);
            ``"images"``: one-channel 8x8 images, (N, 1, 8, 8), for a convolutional network.
            The same images either way.

    Returns:
        A :class:`Dataset`.

    Raises:
        ValueError: when ``imbalance_factor`` < 1, the held-out splits leave no training
            images, or for an unknown ``layout``.

    Example:
        >>> ds = load_digits_lt(imbalance_factor=100, seed=0)
        >>> np.bincount(ds.y_train).tolist()
        [124, 74, 44, 26, 16, 9, 5, 3, 2, 1]
        >>> np.bincount(ds.y_test).tolist()
        [30, 30, 30, 30, 30, 30, 30, 30, 30, 30]
        >>> load_digits_lt(layout="images").X_train.shape
        (304, 1, 8, 8)
    """
    check_choice("layout", layout, LAYOUTS)
    load_digits = require("sklearn.datasets", extra="metrics").load_digits
    factor = check_number("imbalance_factor", imbalance_factor, low=1.0)
    val_per_class = check_positive_int("val_per_class", val_per_class)
    test_per_class = check_positive_int("test_per_class", test_per_class)
    seed = check_positive_int("seed", seed, allow_zero=True)

    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    num_classes = int(y.max()) + 1
    pool_min = int(np.bincount(y).min())
    held_out = val_per_class + test_per_class
    if held_out >= pool_min:
        fail(
            "val_per_class + test_per_class",
            f"smaller than the smallest class ({pool_min} images)",
            held_out,
        )
    sizes = long_tailed_counts(pool_min - held_out, num_classes, factor)

    rng = np.random.default_rng(seed)
    train_idx, val_idx, test_idx = [], [], []
    for c in range(num_classes):
        members = rng.permutation(np.flatnonzero(y == c))
        test_idx.append(members[:test_per_class])
        val_idx.append(members[test_per_class:held_out])
        train_idx.append(members[held_out : held_out + sizes[c]])
    train = rng.permutation(np.concatenate(train_idx))
    val, test = np.concatenate(val_idx), np.concatenate(test_idx)
    if layout == "images":
        X = X.reshape(-1, 1, 8, 8)
    return Dataset(
        name="digits-lt",
        X_train=X[train],
        y_train=y[train],
        X_val=X[val],
        y_val=y[val],
        X_test=X[test],
        y_test=y[test],
        classes=tuple(str(c) for c in range(num_classes)),
        imbalance_factor=factor,
        seed=seed,
    )


def load_dataset(name: str, *, imbalance_factor: float = 100.0, seed: int = 0) -> Dataset:
    """Load a built-in data set by name (one of :data:`DATASETS`)."""
    if name == "digits-lt":
        return load_digits_lt(imbalance_factor=imbalance_factor, seed=seed)
    fail("name", f"one of {', '.join(repr(d) for d in DATASETS)}", name)
