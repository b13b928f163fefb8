"""Tests of counterpoise.segmentation: mask statistics, class weights from masks, weight maps."""

from __future__ import annotations

import math
import sys
from functools import partial
from itertools import product

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch.utils.data import DataLoader, TensorDataset

from counterpoise.functional import cross_entropy
from counterpoise.segmentation import (
    MaskStatistics,
    WeightMapDataset,
    border_weight_map,
    distance_weight_map,
    mask_class_weights,
    mask_statistics,
)
from counterpoise.weights import class_weights

SETTINGS = settings(max_examples=50, deadline=None)
IGNORE = 255


# ---------------------------------------------------------------------------------------------
# Plain references, written out from the definitions
# ---------------------------------------------------------------------------------------------


def reference_statistics(masks: list[np.ndarray], num_classes: int) -> tuple[list[int], ...]:
    """Pixels per class, labelled pixels of the images containing it, images containing it."""
    counts = [0] * num_classes
    image_pixels = [0] * num_classes
    images = [0] * num_classes
    for mask in masks:
        labelled = [int(v) for v in mask.ravel() if v != IGNORE]
        for c in range(num_classes):
            n = labelled.count(c)
            counts[c] += n
            if n:
                image_pixels[c] += len(labelled)
                images[c] += 1
    return counts, image_pixels, images


def coordinates(shape: tuple[int, ...], spacing: tuple[float, ...]) -> np.ndarray:
    """(P, ndim) physical coordinates of every pixel, in C order."""
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1)
    return grid.reshape(-1, len(shape)) * np.asarray(spacing)


def brute_distance(
    shape: tuple[int, ...], spacing: tuple[float, ...], to: np.ndarray
) -> np.ndarray:
    """For every pixel, the Euclidean distance to the nearest pixel where ``to`` (flat) holds."""
    points = coordinates(shape, spacing)
    if not to.any():
        return np.full(len(points), np.inf)
    diff = points[:, None, :] - points[to][None, :, :]
    return np.sqrt((diff**2).sum(-1)).min(1)


def reference_border(labels, w0, sigma, wc, spacing, ignore=None):
    flat = labels.ravel()
    valid = flat != ignore if ignore is not None else np.ones(flat.shape, bool)
    ids = sorted(set(flat[valid].tolist()) - {0})
    dist = [brute_distance(labels.shape, spacing, (flat == k) & valid) for k in ids]
    dist += [np.full(flat.shape, np.inf)] * 2
    ordered = np.sort(np.stack(dist), axis=0)
    d1, d2 = ordered[0], ordered[1]
    background = valid & (flat == 0)
    term = np.where(background, w0 * np.exp(-((d1 + d2) ** 2) / (2 * sigma**2)), 0.0)
    base = np.where(background, wc[0], wc[1]) * valid
    return (base + term).reshape(labels.shape)


def reference_boundary(labels: np.ndarray) -> np.ndarray:
    """Pixels with a face neighbour of another value, by looping over every pixel."""
    edge = np.zeros(labels.shape, bool)
    for index in product(*[range(s) for s in labels.shape]):
        for axis in range(labels.ndim):
            for step in (-1, 1):
                other = list(index)
                other[axis] += step
                if 0 <= other[axis] < labels.shape[axis] and labels[tuple(other)] != labels[index]:
                    edge[index] = True
    return edge


def reference_distance_map(labels, distance_to, w0, sigma, wc, spacing, ignore=None):
    flat = labels.ravel()
    valid = flat != ignore if ignore is not None else np.ones(flat.shape, bool)
    to = reference_boundary(labels).ravel() if distance_to == "boundary" else valid & (flat != 0)
    d = brute_distance(labels.shape, spacing, to)
    base = np.array([wc[v] if ok else 0.0 for v, ok in zip(flat, valid)])
    return ((base + w0 * np.exp(-(d**2) / (2 * sigma**2))) * valid).reshape(labels.shape)


# ---------------------------------------------------------------------------------------------
# Mask statistics
# ---------------------------------------------------------------------------------------------

mask_lists = st.lists(
    arrays(
        np.int64,
        st.tuples(st.integers(1, 5), st.integers(1, 5)),
        elements=st.sampled_from([0, 1, 2, 3, IGNORE]),
    ),
    min_size=1,
    max_size=5,
)


@SETTINGS
@given(mask_lists)
def test_statistics_match_counting_by_hand(masks):
    if all((m == IGNORE).all() for m in masks):
        with pytest.raises(ValueError, match="at least one labelled pixel"):
            mask_statistics(masks, ignore_index=IGNORE)
        return
    stats = mask_statistics(masks, num_classes=4, ignore_index=IGNORE)
    counts, image_pixels, images = reference_statistics(masks, 4)
    assert stats.counts.tolist() == counts
    assert stats.image_pixels.tolist() == image_pixels
    assert stats.images.tolist() == images
    assert stats.num_images == len(masks)
    assert stats.num_samples == sum(counts)
    # without num_classes, C is the largest class seen + 1
    inferred = mask_statistics(masks, ignore_index=IGNORE)
    c = inferred.num_classes
    assert c == max(i for i in range(4) if counts[i]) + 1
    assert inferred.counts.tolist() == counts[:c]
    assert inferred.image_pixels.tolist() == image_pixels[:c]


@SETTINGS
@given(arrays(np.int64, (3, 4, 5), elements=st.integers(0, 3)))
def test_batched_sources_agree(batch):
    expected = mask_statistics(list(batch))
    tensor = torch.from_numpy(batch)
    sources = [
        mask_statistics(batch, batched=True),
        mask_statistics(tensor, batched=True),
        mask_statistics(
            DataLoader(TensorDataset(tensor.float(), tensor), batch_size=2), key=1, batched=True
        ),
        mask_statistics(TensorDataset(tensor.float(), tensor), key=1),
        mask_statistics(iter([{"mask": m} for m in tensor]), key="mask"),
    ]
    for stats in sources:
        assert torch.equal(stats.counts, expected.counts)
        assert torch.equal(stats.image_pixels, expected.image_pixels)
        assert torch.equal(stats.images, expected.images)
        assert stats.num_images == 3
    # one (3, 4, 5) mask, not three
    single = mask_statistics(batch)
    assert single.num_images == 1
    assert torch.equal(single.counts, expected.counts)
    assert single.images.max() <= 1


def test_statistics_errors():
    good, bad = np.zeros((2, 2), np.int64), np.array([[0, 7]])
    with pytest.raises(
        ValueError, match=r"below num_classes=3, got '7 at index \(0, 1\)' in item 1"
    ):
        mask_statistics([good, bad], num_classes=3)
    with pytest.raises(ValueError, match="in item 1"):
        mask_statistics([good, -bad])
    with pytest.raises(TypeError, match="in item 0"):
        mask_statistics([np.array([[0.5, 1.0]])])
    with pytest.raises(TypeError, match="in item 0"):
        mask_statistics([np.array([[True, False]])])
    with pytest.raises(TypeError, match="`batched` must be True or False"):
        mask_statistics(good, batched=1)
    with pytest.raises(ValueError, match="`num_classes` must be an integer larger than 0"):
        mask_statistics(good, num_classes=0)
    with pytest.raises(ValueError, match="at least one labelled pixel"):
        mask_statistics([np.full((2, 2), IGNORE)] * 2, ignore_index=IGNORE, num_classes=2)


def test_only_ignored_masks_count_as_images_but_not_pixels():
    stats = mask_statistics([np.full((2, 2), IGNORE), np.array([[0, 1]])], ignore_index=IGNORE)
    assert stats.num_images == 2
    assert stats.counts.tolist() == [1, 1]
    assert stats.image_pixels.tolist() == [2, 2]


# ---------------------------------------------------------------------------------------------
# Class weights from masks
# ---------------------------------------------------------------------------------------------


def test_median_frequency_worked_example():
    # Image A: 3 background + 1 road; image B: 3 background + 1 sign; image C: 4 road.
    # f_background = 6 / 8, f_road = 5 / 8 (images A and C), f_sign = 1 / 4 (image B only);
    # median 5 / 8, so w = (5/8) / (6/8), 1, (5/8) / (1/4).
    masks = [np.array([[0, 0], [0, 1]]), np.array([[0, 0], [0, 2]]), np.ones((2, 2), np.int64)]
    w = mask_class_weights(mask_statistics(masks), normalize=None)
    assert torch.allclose(w, torch.tensor([5 / 6, 1.0, 2.5]))
    # the plain "median" scheme of class_weights would use whole-data-set frequencies instead
    assert not torch.allclose(w, class_weights([6, 5, 1], "median", normalize=None))


@SETTINGS
@given(mask_lists, st.sampled_from(["samples", "classes", "max", None]))
def test_median_frequency_matches_formula(masks, normalize):
    if all((m == IGNORE).all() for m in masks):
        return
    stats = mask_statistics(masks, num_classes=4, ignore_index=IGNORE)
    counts, image_pixels, _ = reference_statistics(masks, 4)
    present = [c for c in range(4) if counts[c]]
    freq = {c: counts[c] / image_pixels[c] for c in present}
    median = float(np.median([freq[c] for c in present]))
    raw = np.array([median / freq[c] if c in freq else 0.0 for c in range(4)])
    if normalize == "samples":
        raw *= sum(counts) / float(np.dot(raw, counts))
    elif normalize == "classes":
        raw *= len(present) / raw.sum()
    elif normalize == "max":
        raw /= raw.max()
    w = mask_class_weights(stats, zero_counts="zero", normalize=normalize)
    assert np.allclose(w.numpy(), raw, rtol=1e-6)
    if len(present) < 4:
        with pytest.raises(ValueError, match=r"no pixels of classes \["):
            mask_class_weights(stats)


@SETTINGS
@given(st.lists(st.integers(1, 1000), min_size=2, max_size=6))
def test_other_schemes_are_class_weights_of_pixel_counts(sizes):
    masks = [np.full(n, c) for c, n in enumerate(sizes)]
    stats = mask_statistics(masks)
    n = np.array(sizes, float)
    enet = 1 / np.log(1.02 + n / n.sum())
    assert np.allclose(mask_class_weights(stats, "log", normalize=None).numpy(), enet, rtol=1e-6)
    for scheme in ("balanced", "inverse", "sqrt"):
        assert torch.equal(mask_class_weights(stats, scheme), class_weights(sizes, scheme))
    assert torch.equal(class_weights(stats, "balanced"), class_weights(sizes, "balanced"))


def test_mask_class_weights_errors():
    stats = mask_statistics(np.array([[0, 1]]))
    with pytest.raises(ValueError, match="`scheme` must be one of 'median_frequency'"):
        mask_class_weights(stats, "mode")
    with pytest.raises(ValueError, match="`beta` must be not given with scheme='median_frequency'"):
        mask_class_weights(stats, beta=0.9)
    with pytest.raises(ValueError, match="`zero_counts` must be one of 'error', 'zero'"):
        mask_class_weights(stats, zero_counts="smooth")
    with pytest.raises(TypeError, match="`statistics` must be a MaskStatistics"):
        mask_class_weights(torch.tensor([1, 2]))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`beta` must be given"):
        mask_class_weights(stats, "power")
    assert isinstance(stats, MaskStatistics)


# ---------------------------------------------------------------------------------------------
# Border weight map (U-Net)
# ---------------------------------------------------------------------------------------------


def test_border_map_two_squares_at_a_known_gap():
    labels = np.zeros((12, 16), np.int64)
    labels[3:7, 2:6] = 1  # columns 2-5
    labels[3:7, 9:13] = 2  # columns 9-12: a gap of columns 6, 7, 8
    w = border_weight_map(labels, w0=10, sigma=2).numpy()
    # On the rows of the squares, a gap pixel is d1 + d2 = 4 from both (e.g. 1 + 3 or 2 + 2).
    expected = 1 + 10 * math.exp(-(4**2) / (2 * 2**2))
    assert np.allclose(w[3:7, 6:9], expected)
    # One row above the squares, column 7: d1 = d2 = sqrt(2**2 + 1).
    assert w[2, 7] == pytest.approx(1 + 10 * math.exp(-((2 * math.sqrt(5)) ** 2) / 8), rel=1e-6)
    # Inside the objects the weight is the class weight alone.
    assert np.all(w[labels > 0] == 1)
    weighted = border_weight_map(labels, w0=10, sigma=2, class_weights=[0.5, 3.0]).numpy()
    assert np.allclose(weighted[labels > 0], 3.0)
    assert np.allclose(weighted[3:7, 6:9], expected - 0.5)


def test_border_map_single_object_empty_and_ignored():
    single = np.zeros((5, 6), np.int64)
    single[1:3, 1:4] = 7
    w = border_weight_map(single, class_weights=[0.25, 2.0])
    assert torch.equal(w, torch.where(torch.from_numpy(single) > 0, 2.0, 0.25))
    empty = torch.zeros(4, 4, dtype=torch.uint8)
    assert torch.equal(border_weight_map(empty, class_weights=[0.5, 1]), torch.full((4, 4), 0.5))
    ignored = torch.full((3, 4, 4), IGNORE)
    assert torch.equal(border_weight_map(ignored, ignore_index=IGNORE), torch.zeros(3, 4, 4))
    # ignored pixels are neither object nor background
    two = np.array([[1, 0, IGNORE, 0, 0, 2]])
    w = border_weight_map(two, w0=1, sigma=1, ignore_index=IGNORE).numpy()
    assert w[0, 2] == 0
    assert w[0, 1] == pytest.approx(1 + math.exp(-((1 + 4) ** 2) / 2))


label_maps = st.one_of(
    arrays(
        np.int64,
        st.tuples(st.integers(1, 7), st.integers(1, 7)),
        elements=st.sampled_from([0, 0, 0, 1, 2, 3, 9]),
    ),
    arrays(
        np.int64,
        st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
        elements=st.sampled_from([0, 0, 1, 2, 5]),
    ),
)


@SETTINGS
@given(
    label_maps,
    st.floats(0.0, 20.0),
    st.floats(0.3, 4.0),
    st.lists(st.floats(0.1, 3.0), min_size=3, max_size=3),
    st.booleans(),
)
def test_border_map_matches_brute_force(labels, w0, sigma, spacing, use_ignore):
    spacing = tuple(spacing[: labels.ndim])
    ignore = 9 if use_ignore else None
    expected = reference_border(labels, w0, sigma, (0.5, 2.0), spacing, ignore)
    exact = border_weight_map(
        labels,
        w0=w0,
        sigma=sigma,
        class_weights=[0.5, 2.0],
        spacing=spacing,
        truncate=None,
        ignore_index=ignore,
    )
    assert exact.shape == labels.shape and exact.dtype == torch.float32
    assert np.allclose(exact.numpy(), expected, rtol=1e-5, atol=1e-6)
    # the default cut-off differs by less than its documented bound
    windowed = border_weight_map(
        labels, w0=w0, sigma=sigma, class_weights=[0.5, 2.0], spacing=spacing, ignore_index=ignore
    )
    assert np.allclose(windowed.numpy(), expected, rtol=1e-5, atol=1e-6 + 1.6e-8 * w0)
    # a short cut-off is exact where d1 + d2 <= truncate * sigma and 0 beyond
    short = border_weight_map(
        labels,
        w0=w0,
        sigma=sigma,
        class_weights=[0.5, 2.0],
        spacing=spacing,
        truncate=1.0,
        ignore_index=ignore,
    ).numpy()
    term = (
        expected
        - border_weight_map(labels, w0=0, class_weights=[0.5, 2.0], ignore_index=ignore).numpy()
    )
    kept = term >= w0 * math.exp(-0.5) * (1 - 1e-6)
    assert np.allclose(short[kept], expected[kept], rtol=1e-5, atol=1e-6)
    assert np.all(short <= expected + 1e-5)


@SETTINGS
@given(
    arrays(
        np.int64,
        st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(1, 6)),
        elements=st.sampled_from([0, 0, 1, 2, 3]),
    )
)
def test_batched_maps_are_the_single_maps_stacked(batch):
    stacked = torch.stack([border_weight_map(m, sigma=1.5) for m in batch])
    assert torch.equal(border_weight_map(batch, sigma=1.5, batched=True), stacked)
    stacked = torch.stack([distance_weight_map(m, sigma=1.5) for m in batch])
    assert torch.equal(
        distance_weight_map(torch.from_numpy(batch), sigma=1.5, batched=True), stacked
    )


def test_sparse_instance_ids():
    labels = np.zeros((6, 6), np.int64)
    labels[1, 1:3], labels[4, 1:3] = 10**12, 3
    renumbered = np.where(labels == 10**12, 1, labels)
    assert torch.equal(border_weight_map(labels, sigma=1), border_weight_map(renumbered, sigma=1))


# ---------------------------------------------------------------------------------------------
# Distance weight map
# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(
    label_maps,
    st.sampled_from(["boundary", "foreground"]),
    st.floats(0.0, 20.0),
    st.floats(0.3, 4.0),
    st.lists(st.floats(0.1, 3.0), min_size=3, max_size=3),
    st.booleans(),
)
def test_distance_map_matches_brute_force(labels, distance_to, w0, sigma, spacing, use_ignore):
    spacing = tuple(spacing[: labels.ndim])
    ignore = 9 if use_ignore else None
    wc = np.linspace(0.5, 2.0, 10)
    expected = reference_distance_map(labels, distance_to, w0, sigma, wc, spacing, ignore)
    w = distance_weight_map(
        labels,
        distance_to=distance_to,
        w0=w0,
        sigma=sigma,
        class_weights=wc,
        spacing=spacing,
        ignore_index=ignore,
    )
    assert w.shape == labels.shape and w.dtype == torch.float32
    assert np.allclose(w.numpy(), expected, rtol=1e-5, atol=1e-6)
    valid = labels != ignore
    assert np.all(w.numpy()[valid] >= 0.5 - 1e-6) and np.all(w.numpy() <= 2.0 + w0 + 1e-5)


def test_distance_map_hand_built_masks():
    # a 1-D strip: background 0, 1, 2 | object 3, 4, 5
    mask = torch.tensor([[0, 0, 0, 1, 1, 1]])
    w = distance_weight_map(mask, w0=1, sigma=1)
    boundary_distance = torch.tensor([[2.0, 1.0, 0.0, 0.0, 1.0, 2.0]])
    assert torch.allclose(w, 1 + torch.exp(-(boundary_distance**2) / 2))
    w = distance_weight_map(mask, distance_to="foreground", w0=1, sigma=1)
    foreground_distance = torch.tensor([[3.0, 2.0, 1.0, 0.0, 0.0, 0.0]])
    assert torch.allclose(w, 1 + torch.exp(-(foreground_distance**2) / 2))
    # anisotropic voxels: along the first axis a step is 4 units
    volume = np.zeros((3, 1, 1), np.int64)
    volume[0] = 1
    w = distance_weight_map(volume, distance_to="foreground", w0=1, sigma=4, spacing=(4, 1, 1))
    assert torch.allclose(w.flatten(), 1 + torch.exp(-torch.tensor([0.0, 16, 64]) / 32))
    # no boundary / no foreground: class weights alone; only ignored pixels: zero
    flat = torch.zeros(3, 3, dtype=torch.long)
    assert torch.equal(distance_weight_map(flat), torch.ones(3, 3))
    assert torch.equal(
        distance_weight_map(flat, distance_to="foreground", class_weights=[0.5]),
        torch.full((3, 3), 0.5),
    )
    assert torch.equal(
        distance_weight_map(torch.full((2, 3), -1), ignore_index=-1), torch.zeros(2, 3)
    )
    # a bool mask is classes 0 and 1
    assert torch.equal(
        distance_weight_map(mask.bool(), w0=1, sigma=1), distance_weight_map(mask, w0=1, sigma=1)
    )


def test_weight_map_errors():
    good = np.zeros((4, 4), np.int64)
    for weight_map in (border_weight_map, distance_weight_map):
        with pytest.raises(TypeError, match="must be a tensor or a NumPy array"):
            weight_map([[0, 1]])  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"must be integer .*dtype torch.float32"):
            weight_map(torch.zeros(4, 4))
        with pytest.raises(ValueError, match=r"must be of shape \(H, W\) or \(D, H, W\)"):
            weight_map(np.zeros(4, np.int64))
        with pytest.raises(ValueError, match=r"must be of shape \(N, H, W\) or \(N, D, H, W\)"):
            weight_map(good, batched=True)
        with pytest.raises(ValueError, match="must be non-empty"):
            weight_map(np.zeros((0, 4), np.int64))
        with pytest.raises(
            ValueError,
            match=r"must be non-negative \(or ignore_index\), got '-3 at index \(1, 2\)'",
        ):
            weight_map(np.array([[0, 0, 0], [0, 0, -3]]), ignore_index=-1)
        with pytest.raises(ValueError, match="`sigma` must be in"):
            weight_map(good, sigma=0)
        with pytest.raises(ValueError, match="`w0` must be in"):
            weight_map(good, w0=-1)
        with pytest.raises(ValueError, match="`spacing` must be one number or 2"):
            weight_map(good, spacing=(1, 1, 1))
        with pytest.raises(ValueError, match="`spacing` must be in"):
            weight_map(good, spacing=(1, 0))
        with pytest.raises(ValueError, match="`class_weights` must be non-negative"):
            weight_map(good, class_weights=[1.0, -1.0])
        with pytest.raises(TypeError, match="`ignore_index` must be an integer or None"):
            weight_map(good, ignore_index=0.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be integer instance ids"):
        border_weight_map(good.astype(bool))
    with pytest.raises(ValueError, match=r"`class_weights` must be a 1-D tensor of length 2"):
        border_weight_map(good, class_weights=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="`truncate` must be in"):
        border_weight_map(good, truncate=0)
    with pytest.raises(
        ValueError,
        match=r"`mask` must be class indices in \[0, 2\) \(or ignore_index\), got '5 at index \(1, 0\)'",
    ):
        distance_weight_map(np.array([[0, 0], [1, 0]]) * 5, class_weights=[1, 2])
    with pytest.raises(ValueError, match="`distance_to` must be one of 'boundary', 'foreground'"):
        distance_weight_map(good, distance_to="edge")  # type: ignore[arg-type]


def test_weight_maps_without_scipy_name_the_extra(monkeypatch):
    for name in [n for n in sys.modules if n == "scipy" or n.startswith("scipy.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "scipy", None)  # `import scipy` now raises
    mask = np.array([[0, 1, 1], [0, 0, 2]])
    extra = (
        r"^scipy is needed here and is not installed: pip install 'counterpoise\[segmentation\]'$"
    )
    with pytest.raises(ModuleNotFoundError, match=extra):
        border_weight_map(mask)
    with pytest.raises(ModuleNotFoundError, match=extra):
        distance_weight_map(mask)
    assert mask_statistics(mask).counts.tolist() == [3, 2, 1]  # counting needs no SciPy


# ---------------------------------------------------------------------------------------------
# Cached maps for a data set
# ---------------------------------------------------------------------------------------------


def test_weight_map_dataset_caches_each_map():
    masks = torch.randint(0, 3, (4, 5, 6))
    calls = []

    def counted(mask):
        calls.append(mask)
        return border_weight_map(mask, sigma=1)

    data = WeightMapDataset(TensorDataset(torch.rand(4, 1, 5, 6), masks), counted)
    for _ in range(2):  # two epochs
        for _, mask, weight in DataLoader(data, batch_size=3):
            assert torch.equal(weight, border_weight_map(mask, sigma=1, batched=True))
    assert len(calls) == 4
    assert data[-1][2] is data[3][2]
    assert len(calls) == 4

    items = [{"image": torch.rand(5, 6), "mask": m} for m in masks]
    as_dicts = WeightMapDataset(items, partial(distance_weight_map, sigma=2), key="mask")
    item = as_dicts[1]
    assert set(item) == {"image", "mask", "sample_weight"}
    assert torch.equal(item["sample_weight"], distance_weight_map(masks[1], sigma=2))
    with pytest.raises(ValueError, match="`key` must be an index or key of every item"):
        WeightMapDataset(items, counted)[0]
    with pytest.raises(TypeError, match="`weight_map` must be a function"):
        WeightMapDataset(items, "border")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Example: border weights teach a tiny segmenter the gaps between touching objects
# ---------------------------------------------------------------------------------------------


def touching_shapes(n: int, seed: int, size: int = 24):
    """Images of two rectangles one pixel apart; the gap is dimmer than the objects but far
    brighter than the background, and makes up about 1 % of the pixels."""
    rng = np.random.default_rng(seed)
    instances = np.zeros((n, size, size), np.int64)
    gap = np.zeros((n, size, size), bool)
    for i in range(n):
        top, left = rng.integers(1, 5, 2)
        h, w = rng.integers(5, 10, 2)
        instances[i, top : top + h, left : left + w] = 1
        if rng.random() < 0.5:  # the second object to the right
            instances[i, top : top + h, left + w + 1 : left + 2 * w + 1] = 2
            gap[i, top : top + h, left + w] = True
        else:  # below
            instances[i, top + h + 1 : top + 2 * h + 1, left : left + w] = 2
            gap[i, top + h, left : left + w] = True
    objects = instances > 0
    image = objects + 0.7 * gap + rng.normal(0, 0.2, instances.shape)
    return (
        torch.from_numpy(image.astype(np.float32))[:, None],
        torch.from_numpy(objects.astype(np.int64)),
        torch.from_numpy(instances),
        torch.from_numpy(gap),
    )


def gap_error(border_weights: bool) -> float:
    """Train a two-layer segmenter (foreground / background) and return its error on the gaps
    between objects of unseen images."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 2, 1)
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=0.03)
    images, target, instances, _ = touching_shapes(32, seed=0)
    weight = border_weight_map(instances, w0=10, sigma=2, batched=True) if border_weights else None
    for _ in range(60):
        optimizer.zero_grad()
        cross_entropy(net(images), target, sample_weight=weight).backward()
        optimizer.step()
    images, target, _, gap = touching_shapes(64, seed=1)
    with torch.no_grad():
        wrong = net(images).argmax(1) != target
    return wrong[gap].float().mean().item()


def test_border_weights_lower_the_error_on_gaps():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small convolutions: more threads only contend on a shared machine
    try:
        plain, weighted = gap_error(border_weights=False), gap_error(border_weights=True)
    finally:
        torch.set_num_threads(threads)
    # measured: about 0.6 without the map, 0.25 to 0.3 with it
    assert plain > 0.4
    assert weighted < 0.6 * plain
