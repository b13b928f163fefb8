"""Labels of the user's data sets: read without loading inputs where exposed, checked."""

import numpy as np
import pytest
import torch
from torch.utils.data import ConcatDataset, Dataset, Subset, TensorDataset

from counterpoise.compare.torch_data import dataset_labels, label_array, label_splits


class Counted(Dataset):
    """Samples (input, label) that count the inputs loaded; ``targets`` when ``expose``."""

    def __init__(self, labels, *, expose=True, shift=0):
        self._labels = list(labels)
        self.loaded = []
        self.shift = shift
        if expose:
            self.targets = list(labels)

    def __len__(self):
        return len(self._labels)

    def __getitem__(self, i):
        self.loaded.append(i)
        return torch.full((3,), float(i)), self._labels[i] + self.shift


def test_exposed_labels_are_read_without_loading_inputs():
    data = Counted([2, 0, 1, 1, 0])
    assert dataset_labels(data).tolist() == [2, 0, 1, 1, 0]
    assert data.loaded == [0]  # the first sample only, to check the labels it holds
    subset = Subset(Counted([2, 0, 1, 1, 0]), [4, 2, 0])
    assert dataset_labels(subset).tolist() == [0, 1, 2]
    assert subset.dataset.loaded == [4]
    joined = ConcatDataset([Counted([1, 1]), Subset(Counted([0, 2, 2]), [2, 0])])
    assert dataset_labels(joined).tolist() == [1, 1, 2, 0]
    tensors = TensorDataset(torch.zeros(3, 2), torch.tensor([1, 0, 1]))
    assert dataset_labels(tensors).dtype == np.int64


def test_labels_not_exposed_are_read_in_one_pass():
    data = Counted([1, 0, 1], expose=False)
    assert dataset_labels(data).tolist() == [1, 0, 1]
    assert data.loaded == [0, 1, 2]
    tags = [(torch.zeros(2), torch.tensor([1.0, 0.0, -1.0])), (torch.zeros(2), [0, 1, 1])]
    assert dataset_labels(tags).tolist() == [[1.0, 0.0, -1.0], [0.0, 1.0, 1.0]]


def test_exposed_labels_that_differ_from_the_samples_are_an_error(raises):
    with raises(ValueError, "val", "a data set whose samples hold the labels it exposes"):
        dataset_labels(Counted([2, 0, 1], shift=1), name="val")


@pytest.mark.parametrize(
    ("labels", "expected", "actual"),
    [
        ([0, -1, 2], "class indices: whole numbers from 0", [-1]),
        ([0.5, 1.0], "class indices: whole numbers from 0", [0.5]),
        ([[1, 2], [0, 1]], "multilabel targets of 1 (positive), 0 (negative) or -1", [2.0]),
        (["a", "b"], "numeric labels (class indices, or 0/1 targets)", "dtype <U1"),
        ([[[0]]], "labels that are class indices (N,) or vectors of L targets (N, L)", None),
    ],
)
def test_bad_labels(raises, labels, expected, actual):
    with raises(ValueError, "train", expected, ... if actual is None else actual):
        label_array(labels, "train")


def test_samples_that_are_not_pairs_are_an_error(raises):
    with raises(TypeError, "train", "a data set whose samples are (input, label) pairs"):
        dataset_labels([torch.zeros(3)] * 2, name="train")
    with raises(TypeError, "train", "a map-style data set"):
        dataset_labels(iter([]), name="train")
    with raises(ValueError, "train", "a data set with at least one sample"):
        dataset_labels([], name="train")


def test_label_splits_checks_what_a_comparison_needs(raises):
    ok = np.array([0, 1, 2, 0])
    with raises(
        ValueError, "val", "a data set with a sample of every class", "no sample of class(es) [2]"
    ):
        label_splits([ok, np.array([0, 1]), ok], name="x")
    with raises(ValueError, "labels", "labels of one kind in the train, val and test sets"):
        label_splits([ok, ok, np.zeros((4, 2), np.float32)], name="x")
    with raises(ValueError, "classes", "a name for every class index up to 2"):
        label_splits([ok, ok, ok], name="x", classes=["a", "b"])
    tags = np.array([[1, 0], [0, 1], [1, 1]], np.float32)
    with raises(ValueError, "train", "a data set with a negative of every label"):
        label_splits([tags[[0, 2]], tags, tags], name="x")
    with raises(ValueError, "test", "a data set with a positive of some label"):
        label_splits([tags, tags, np.zeros((2, 2), np.float32)], name="x")
    s = label_splits([tags, tags, tags], name="x", classes=["cat", "dog"])
    assert s.multilabel and s.classes == ("cat", "dog") and s.class_counts().tolist() == [2, 2]
    assert s.negative_counts().tolist() == [1, 1] and not s.test_balanced
    s = label_splits([tags, tags, tags[[0]]], name="x", classes=["cat", "dog"])
    assert s.notes == (
        "No positive in the test set for 'dog': average precision is undefined there, so they "
        "are left out of the test averages.",
    )
