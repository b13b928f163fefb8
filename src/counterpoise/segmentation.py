r"""Mask statistics and pixel weight maps for segmentation.

In segmentation the imbalance is between pixels: background dwarfs thin structures, and the
pixels that decide a good segmentation (the narrow gaps between touching objects, the contours)
are the rarest of all. This module gives the two remedies of the field.

**Class weights from masks.** :func:`mask_statistics` streams over a data set of masks (tensors,
NumPy arrays, image files read with Pillow, a :class:`~torch.utils.data.DataLoader`) in constant
memory and counts, for each class :math:`c`, its pixels :math:`n_c`, the labelled pixels
:math:`P_c` of the images in which it appears, and the number of such images.
:func:`mask_class_weights` turns them into class weights: median-frequency balancing (Eigen &
Fergus, ICCV 2015),

.. math::

    f_c = \frac{n_c}{P_c}, \qquad w_c = \frac{\operatorname{median}_j f_j}{f_c},

ENet's :math:`w_c = 1 / \ln(1.02 + n_c / N)` (Paszke et al., 2016; scheme ``"log"``), and every
other scheme of :func:`counterpoise.weights.class_weights`.

**Pixel weight maps.** :func:`border_weight_map` (the U-Net map of Ronneberger et al., MICCAI
2015) and :func:`distance_weight_map` weigh each pixel by its distance to objects or to
contours; the maps feed the ``sample_weight`` argument of the losses in
:mod:`counterpoise.functional`, and :class:`WeightMapDataset` computes each map once and caches
it. Distances are Euclidean, exact, and computed by :func:`scipy.ndimage.distance_transform_edt`;
``spacing`` gives the (possibly anisotropic) size of a pixel or voxel along each axis, and
distances and ``sigma`` are in its units.

The weight maps need SciPy and mask files need Pillow (both in the ``segmentation`` extra);
they are imported when first needed. Masks are read by :mod:`counterpoise._io`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from ._checks import (
    check_1d,
    check_choice,
    check_nonnegative,
    check_number,
    check_positive_int,
    describe_tensor,
    fail,
    real_tensor,
)
from ._io import iter_masks
from ._optional import require
from .counts import count_labels
from .weights import SCHEMES, class_weights

__all__ = [
    "MASK_SCHEMES",
    "MaskStatistics",
    "WeightMapDataset",
    "border_weight_map",
    "distance_weight_map",
    "mask_class_weights",
    "mask_statistics",
]

#: ``"median_frequency"`` and every scheme of :func:`counterpoise.weights.class_weights`.
MASK_SCHEMES: tuple[str, ...] = ("median_frequency", *SCHEMES)

# The options of class_weights that mean something for median-frequency weights.
_MEDIAN_FREQUENCY_OPTIONS = ("normalize", "clip", "max_ratio", "zero_counts")


@dataclass(frozen=True, eq=False)
class MaskStatistics:
    """Pixel statistics of a data set of masks, per class.

    It has the ``counts`` and ``num_samples`` of :class:`counterpoise.counts.LabelCounts`, so
    :func:`counterpoise.weights.class_weights` accepts it directly (pixels as samples).

    Attributes:
        counts: int64 tensor of shape (C,): :math:`n_c`, the pixels of class :math:`c`.
        image_pixels: int64 tensor of shape (C,): :math:`P_c`, the labelled pixels (those
            not equal to ``ignore_index``) of the images in which class :math:`c` appears.
        images: int64 tensor of shape (C,): the number of images in which class :math:`c`
            appears.
        num_images: the number of masks read (those with only ignored pixels included).
        num_samples: :math:`N`, the labelled pixels of all masks.
    """

    counts: torch.Tensor
    image_pixels: torch.Tensor
    images: torch.Tensor
    num_images: int
    num_samples: int

    @property
    def num_classes(self) -> int:
        """C, the number of classes."""
        return self.counts.numel()

    @property
    def frequencies(self) -> torch.Tensor:
        """:math:`f_c = n_c / P_c` as float64, 0 for classes that appear in no image."""
        return self.counts.double() / self.image_pixels.clamp(min=1).double()


def mask_statistics(
    source: Any,
    *,
    num_classes: int | None = None,
    ignore_index: int | None = None,
    batched: bool = False,
    key: int | str | Callable[[Any], Any] | None = None,
) -> MaskStatistics:
    """Pixels per class, and pixels and number of the images containing each class.

    .. math::

        n_c = \\sum_{m} \\sum_{x} [y_m(x) = c], \\qquad
        P_c = \\sum_{m:\\, n_{mc} > 0} \\sum_{x} [y_m(x) \\ne \\mathrm{ignore}], \\qquad
        I_c = \\sum_{m} [n_{mc} > 0]

    over masks :math:`m` and their pixels :math:`x`, where :math:`n_{mc}` is the number of
    pixels of class :math:`c` in mask :math:`m`. Each mask is counted by
    :func:`counterpoise.counts.count_labels` (same checks and errors), one at a time, so memory
    stays constant however many masks there are.

    ``source`` is one of:

    * a tensor or NumPy array: one mask of any shape, or with ``batched=True`` a batch whose
      first dimension indexes the masks, such as (N, H, W) or (N, D, H, W);
    * a path to an image file read with Pillow (mode ``L``, ``P``, ``I`` or ``I;16``: one
      class index per pixel, as in palette PNG masks), or to a directory, whose image files
      are read in sorted order;
    * a :class:`PIL.Image.Image`;
    * any other iterable (a list, a generator, a :class:`~torch.utils.data.Dataset` or
      :class:`~torch.utils.data.DataLoader`) of the above; ``key`` picks the mask out of each
      item (``key=1`` for ``(image, mask)`` pairs, ``key="mask"`` for dictionaries, or a
      function), and ``batched=True`` says that each tensor or array is a batch of masks (as a
      DataLoader yields them).

    Args:
        source: the masks, as above.
        num_classes: C; class indices must be below it. Default: the largest index + 1.
        ignore_index: a value that marks unlabelled pixels (e.g. 255): not counted, and not
            part of :math:`P_c`. Default None.
        batched: whether tensors and arrays hold a batch of masks along their first
            dimension. Default False.
        key: picks the mask out of each item of an iterable. Default None (the item is it).

    Returns:
        The statistics (see :class:`MaskStatistics`).

    Raises:
        TypeError: for a source or item that is not a mask, masks of bools or of floats that
            are not whole numbers, or options of the wrong type.
        ValueError: for a mask with a label out of range (negative other than
            ``ignore_index``, or not below ``num_classes``), an image that is not one class
            index per pixel, or a source without any labelled pixel. Errors about a mask name
            the mask by its position in the source.
        FileNotFoundError: for a path that does not exist.

    Example:
        >>> masks = [torch.tensor([[0, 0], [0, 1]]), torch.tensor([[0, 0], [0, 2]]),
        ...          torch.tensor([[1, 1], [1, 1]])]
        >>> stats = mask_statistics(masks)
        >>> stats.counts, stats.image_pixels, stats.images
        (tensor([6, 5, 1]), tensor([8, 8, 4]), tensor([2, 2, 1]))
        >>> stats.frequencies
        tensor([0.7500, 0.6250, 0.2500], dtype=torch.float64)
    """
    if num_classes is not None:
        num_classes = check_positive_int("num_classes", num_classes)
    _check_flags(ignore_index, batched)
    if (
        key is not None
        and not callable(key)
        and (isinstance(key, bool) or not isinstance(key, (int, str)))
    ):
        fail("key", "an index, a key, a function or None", key, error=TypeError)

    counts = np.zeros(num_classes or 0, dtype=np.int64)
    image_pixels = np.zeros_like(counts)
    images = np.zeros_like(counts)
    num_images = 0
    for where, mask in iter_masks(source, batched=batched, key=key):
        num_images += 1
        if num_classes is None and ignore_index is not None and bool((mask == ignore_index).all()):
            continue  # nothing labelled (count_labels could not infer C from it)
        try:
            n = count_labels(
                mask, num_classes=num_classes, ignore_index=ignore_index
            ).counts.numpy()
        except (TypeError, ValueError) as error:
            raise type(error)(f"{error} in {where}") from None
        if n.size > counts.size:
            grow = (0, n.size - counts.size)
            counts, image_pixels, images = (np.pad(a, grow) for a in (counts, image_pixels, images))
        present = np.flatnonzero(n)
        counts[: n.size] += n
        image_pixels[present] += n.sum()
        images[present] += 1
    if not counts.any():
        fail("source", "masks with at least one labelled pixel", f"{num_images} masks without")
    return MaskStatistics(
        counts=torch.from_numpy(counts),
        image_pixels=torch.from_numpy(image_pixels),
        images=torch.from_numpy(images),
        num_images=num_images,
        num_samples=int(counts.sum()),
    )


def mask_class_weights(
    statistics: MaskStatistics, scheme: str = "median_frequency", **options: Any
) -> torch.Tensor:
    """Class weights from mask statistics.

    ``"median_frequency"`` is the median-frequency balancing of Eigen & Fergus, "Predicting
    Depth, Surface Normals and Semantic Labels with a Common Multi-Scale Convolutional
    Architecture" (ICCV 2015):

    .. math::

        f_c = \\frac{n_c}{P_c}, \\qquad w_c = \\frac{\\operatorname{median}_j f_j}{f_c}

    with :math:`n_c` the pixels of class :math:`c` and :math:`P_c` the labelled pixels of the
    images in which it appears (the median of an even number of classes averages the middle
    two). Unlike the ``"median"`` scheme of :func:`~counterpoise.weights.class_weights`, the
    frequency of a class is taken over the images that contain it, so a class that fills the
    few images it appears in is not up-weighted as if it were rare. Every other scheme is
    :func:`~counterpoise.weights.class_weights` of the pixel counts, :math:`N` being all
    labelled pixels: ``"log"`` is ENet's :math:`1 / \\ln(c + n_c / N)` (Paszke et al., "ENet:
    A Deep Neural Network Architecture for Real-Time Semantic Segmentation", 2016).

    The weights then go through the options of
    :func:`~counterpoise.weights.class_weights`; for ``"median_frequency"`` these are
    ``normalize`` (``"samples"`` by default makes the mean weight of a labelled pixel 1; None
    gives the paper's raw weights), ``clip``, ``max_ratio`` and ``zero_counts`` (``"error"``
    or ``"zero"``: classes absent from every mask get weight 0, and the median is over the
    classes present).

    Args:
        statistics: from :func:`mask_statistics`.
        scheme: one of :data:`MASK_SCHEMES`. Default ``"median_frequency"``.
        **options: keyword arguments of :func:`~counterpoise.weights.class_weights`.

    Returns:
        float32 tensor of shape (C,).

    Raises:
        TypeError: if ``statistics`` is not a :class:`MaskStatistics`.
        ValueError: for an unknown scheme, an option that the scheme does not use, a class
            without pixels under ``zero_counts="error"``, and the errors of
            :func:`~counterpoise.weights.class_weights`.

    Example:
        >>> masks = torch.tensor([[[0, 0], [0, 1]], [[0, 0], [0, 2]], [[1, 1], [1, 1]]])
        >>> stats = mask_statistics(masks, batched=True)
        >>> mask_class_weights(stats, normalize=None)  # f = (0.75, 0.625, 0.25), median 0.625
        tensor([0.8333, 1.0000, 2.5000])
        >>> mask_class_weights(stats, "log", normalize=None)
        tensor([ 2.3883,  2.7599, 10.1692])
    """
    if not isinstance(statistics, MaskStatistics):
        fail(
            "statistics",
            "a MaskStatistics (from mask_statistics)",
            type(statistics).__name__,
            error=TypeError,
        )
    check_choice("scheme", scheme, MASK_SCHEMES)
    if scheme != "median_frequency":
        return class_weights(statistics, scheme, **options)  # type: ignore[arg-type]
    for name, value in options.items():
        if name not in _MEDIAN_FREQUENCY_OPTIONS:
            fail(name, "not given with scheme='median_frequency'", value)
    zero_counts = options.get("zero_counts", "error")
    check_choice("zero_counts", zero_counts, ("error", "zero"))
    present = statistics.counts > 0
    if zero_counts == "error" and not bool(present.all()):
        missing = (~present).nonzero().flatten().tolist()
        fail(
            "statistics",
            "pixels of every class (or pass zero_counts='zero')",
            f"no pixels of classes {missing}",
        )
    f = statistics.frequencies
    raw = torch.zeros_like(f)
    raw[present] = torch.quantile(f[present], 0.5) / f[present]
    # Given raw weights are the "cost" scheme; class_weights then caps, normalises and clips.
    return class_weights(statistics, "cost", cost=raw, **options)


def border_weight_map(
    instance_labels: torch.Tensor | np.ndarray,
    *,
    w0: float = 10.0,
    sigma: float = 5.0,
    class_weights: Sequence[float] | torch.Tensor | None = None,
    spacing: float | Sequence[float] | None = None,
    truncate: float | None = 6.0,
    ignore_index: int | None = None,
    batched: bool = False,
) -> torch.Tensor:
    """The U-Net weight map, which weighs the gaps between touching objects.

    From Ronneberger et al., "U-Net: Convolutional Networks for Biomedical Image
    Segmentation" (MICCAI 2015):

    .. math::

        w(x) = w_c(x) + w_0 \\exp\\left(-\\frac{(d_1(x) + d_2(x))^2}{2 \\sigma^2}\\right)

    where :math:`w_c(x)` is the class weight of pixel :math:`x` (background or object) and
    :math:`d_1(x)`, :math:`d_2(x)` are its distances to the nearest and the second-nearest
    object. The second term is added on background pixels (the separating gaps; inside an
    object :math:`d_1 = 0`), and is 0 where fewer than two objects exist. Ignored pixels get
    weight 0 and are neither object nor background. The map is bounded:
    :math:`\\min w_c \\le w \\le \\max w_c + w_0`.

    Each object gets one exact Euclidean distance transform, restricted to its bounding box
    widened by :math:`R = \\mathrm{truncate} \\cdot \\sigma` (in ``spacing`` units): a pixel
    outside the window of an object is farther than :math:`R` from it, so :math:`d_1` and
    :math:`d_2` are exact wherever :math:`d_1 + d_2 \\le R`, and the term is set to 0 where
    :math:`d_1 + d_2 > R`, where it is below :math:`w_0 e^{-\\mathrm{truncate}^2 / 2}`
    (:math:`1.5 \\cdot 10^{-8} w_0` for the default 6). The cost is
    :math:`O(\\sum_k |\\mathrm{window}_k|)` for objects :math:`k`, at most :math:`O(K \\cdot HW)`;
    ``truncate=None`` computes every distance over the whole map (exact everywhere).

    Args:
        instance_labels: integer instance ids, (H, W) or (D, H, W); 0 is background, each
            positive id one object (ids need not be consecutive). With ``batched=True``,
            (N, H, W) or (N, D, H, W). A tensor (any device) or a NumPy array.
        w0: :math:`w_0 \\ge 0`. Default 10.
        sigma: :math:`\\sigma > 0`, in ``spacing`` units. Default 5.
        class_weights: :math:`(w_\\text{background}, w_\\text{object})`, non-negative.
            Default (1, 1).
        spacing: size of a pixel (voxel) along each spatial axis, one positive number for all
            or one per axis. Default 1.
        truncate: :math:`R / \\sigma > 0`, or None for no cut-off. Default 6.
        ignore_index: an id marking pixels to ignore (weight 0). Default None.
        batched: whether the first dimension indexes independent maps. Default False.

    Returns:
        float32 tensor of the shape of ``instance_labels``, on its device.

    Raises:
        TypeError: for labels that are not an integer tensor or array, or options of the
            wrong type.
        ValueError: for labels of the wrong number of dimensions, empty, or negative (other
            than ``ignore_index``), and options out of range.

    Example:
        >>> labels = torch.tensor([[1, 1, 0, 2, 2]])  # two objects, a gap of one pixel
        >>> border_weight_map(labels, w0=10, sigma=1)
        tensor([[1.0000, 1.0000, 2.3534, 1.0000, 1.0000]])
    """
    w0 = check_number("w0", w0, low=0.0)
    sigma = check_number("sigma", sigma, low=0.0, low_open=True)
    if truncate is not None:
        truncate = check_number("truncate", truncate, low=0.0, low_open=True)
    radius = math.inf if truncate is None else truncate * sigma
    base = _class_weights(class_weights, 2)
    labels, device = _maps("instance_labels", instance_labels, batched, ignore_index)
    sampling = _spacing(spacing, labels.ndim - 1)

    out = np.empty(labels.shape, dtype=np.float32)
    for single, weight in zip(labels, out):
        valid = None if ignore_index is None else single != ignore_index
        objects = single if valid is None else np.where(valid, single, 0)
        background = objects == 0 if valid is None else (objects == 0) & valid
        weight[...] = np.where(background, base[0], base[1])
        if valid is not None:
            weight[~valid] = 0.0
        d1, d2 = _two_nearest(objects, sampling, radius)
        total = np.add(d1, d2, out=d1)
        _add_bump(weight, total, background & (total <= radius), w0, sigma)
    return _result(out, instance_labels, device)


def _two_nearest(
    labels: np.ndarray, sampling: tuple[float, ...], radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """Distances to the nearest and second-nearest object (exact where their sum <= radius)."""
    ndimage = require("scipy.ndimage", extra="segmentation")
    d1 = np.full(labels.shape, np.inf)
    d2 = np.full(labels.shape, np.inf)
    if labels.max(initial=0) > labels.size:  # sparse ids: renumber so find_objects stays small
        labels = np.unique(labels, return_inverse=True)[1].reshape(labels.shape)
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        window = tuple(
            slice(max(0, s.start - _reach(radius, h)), min(size, s.stop + _reach(radius, h)))
            for s, h, size in zip(box, sampling, labels.shape)
        )
        d = ndimage.distance_transform_edt(labels[window] != index, sampling=sampling)
        near, second = d1[window], d2[window]  # views: updated in place
        np.minimum(second, np.maximum(near, d), out=second)
        np.minimum(near, d, out=near)
    return d1, d2


def _reach(radius: float, step: float) -> int:
    """Pixels along an axis of the given spacing that lie within ``radius``; unbounded if inf."""
    return (1 << 62) if math.isinf(radius) else math.ceil(radius / step)


def distance_weight_map(
    mask: torch.Tensor | np.ndarray,
    *,
    distance_to: Literal["boundary", "foreground"] = "boundary",
    w0: float = 10.0,
    sigma: float = 5.0,
    class_weights: Sequence[float] | torch.Tensor | None = None,
    background: int = 0,
    spacing: float | Sequence[float] | None = None,
    ignore_index: int | None = None,
    batched: bool = False,
) -> torch.Tensor:
    """A weight map from the distance to class boundaries or to the foreground.

    .. math::

        w(x) = w_c(x) + w_0 \\exp\\left(-\\frac{d(x)^2}{2 \\sigma^2}\\right),
        \\qquad \\min_c w_c \\le w(x) \\le \\max_c w_c + w_0

    with :math:`w_c(x)` the weight of the class of pixel :math:`x` and :math:`d(x)` its
    Euclidean distance to

    * ``"boundary"``: the nearest boundary pixel, a pixel with a face neighbour of another
      value (so both sides of a contour have :math:`d = 0`; an ignored pixel counts as another
      value, as the ignored bands that trace object contours in Pascal VOC masks). This
      emphasises contours, as the boundary-aware weightings of e.g. Caliva et al.,
      "Distance Map Loss Penalty Term for Semantic Segmentation" (MIDL 2019), and the
      contour term of the U-Net map.
    * ``"foreground"``: the nearest foreground pixel (one not of class ``background`` and not
      ignored): a geometric prior that weighs objects by :math:`w_c + w_0` and the background
      less the farther it lies from any object.

    Where there is no boundary (or no foreground), :math:`d = \\infty` and :math:`w = w_c`.
    Ignored pixels get weight 0. One exact Euclidean distance transform per map, :math:`O(HW)`.

    Args:
        mask: integer class indices (a bool mask is class 0 / 1), (H, W) or (D, H, W); with
            ``batched=True``, (N, H, W) or (N, D, H, W). A tensor (any device) or a NumPy
            array.
        distance_to: ``"boundary"`` (default) or ``"foreground"``.
        w0: :math:`w_0 \\ge 0`. Default 10.
        sigma: :math:`\\sigma > 0`, in ``spacing`` units. Default 5.
        class_weights: (C,) non-negative weights :math:`w_c`; class indices must then be below
            C. Default: 1 for every class.
        background: the background class for ``"foreground"``. Default 0.
        spacing: size of a pixel (voxel) along each spatial axis, one positive number for all
            or one per axis. Default 1.
        ignore_index: a value marking pixels to ignore (weight 0). Default None.
        batched: whether the first dimension indexes independent maps. Default False.

    Returns:
        float32 tensor of the shape of ``mask``, on its device.

    Raises:
        TypeError: for a mask that is not an integer (or bool) tensor or array, or options of
            the wrong type.
        ValueError: for a mask of the wrong number of dimensions, empty, with negative
            classes (other than ``ignore_index``) or classes not below the length of
            ``class_weights``, and options out of range.

    Example:
        >>> mask = torch.tensor([[0, 0, 0, 1, 1]])
        >>> distance_weight_map(mask, w0=1, sigma=1)
        tensor([[1.1353, 1.6065, 2.0000, 2.0000, 1.6065]])
        >>> distance_weight_map(mask, distance_to="foreground", w0=1, sigma=1)
        tensor([[1.0111, 1.1353, 1.6065, 2.0000, 2.0000]])
    """
    check_choice("distance_to", distance_to, ("boundary", "foreground"))
    w0 = check_number("w0", w0, low=0.0)
    sigma = check_number("sigma", sigma, low=0.0, low_open=True)
    if isinstance(background, bool) or not isinstance(background, (int, np.integer)):
        fail("background", "an integer", background, error=TypeError)
    weights = None if class_weights is None else _class_weights(class_weights, None)
    num_classes = None if weights is None else weights.size
    labels, device = _maps("mask", mask, batched, ignore_index, num_classes, booleans=True)
    sampling = _spacing(spacing, labels.ndim - 1)
    ndimage = require("scipy.ndimage", extra="segmentation")

    out = np.empty(labels.shape, dtype=np.float32)
    for single, weight in zip(labels, out):
        valid = None if ignore_index is None else single != ignore_index
        if distance_to == "boundary":
            target = _boundary(single)
        else:
            target = single != background if valid is None else (single != background) & valid
        if weights is None:
            weight.fill(1.0)
        else:
            weight[...] = weights[single if valid is None else np.where(valid, single, 0)]
        if valid is not None:
            weight[~valid] = 0.0
        if target.any():  # else d is infinite and the term 0
            d = ndimage.distance_transform_edt(~target, sampling=sampling)
            _add_bump(weight, d, valid, w0, sigma)
    return _result(out, mask, device)


def _add_bump(
    out: np.ndarray, distance: np.ndarray, where: np.ndarray | None, w0: float, sigma: float
) -> None:
    """``out += w0 * exp(-distance^2 / (2 sigma^2))`` at the pixels ``where`` holds (all when
    None), computed in float32, the precision of the map, and in place."""
    term = (distance if where is None else distance[where]).astype(np.float32)
    np.square(term, out=term)
    term *= -0.5 / (sigma * sigma)
    np.exp(term, out=term)
    term *= w0
    if where is None:
        out += term
    else:
        out[where] += term


def _boundary(labels: np.ndarray) -> np.ndarray:
    """Pixels with a face neighbour (along any axis) of another value."""
    edge = np.zeros(labels.shape, dtype=bool)
    for axis in range(labels.ndim):
        before = [slice(None)] * labels.ndim
        after = [slice(None)] * labels.ndim
        before[axis], after[axis] = slice(None, -1), slice(1, None)
        differs = labels[tuple(before)] != labels[tuple(after)]
        edge[tuple(before)] |= differs
        edge[tuple(after)] |= differs
    return edge


def _maps(
    name: str,
    value: Any,
    batched: bool,
    ignore_index: int | None,
    num_classes: int | None = None,
    *,
    booleans: bool = False,
) -> tuple[np.ndarray, torch.device | None]:
    """Labels as an int64 array of shape (N, *spatial), checked to be non-negative (and below
    ``num_classes``) except for ``ignore_index``, and the device of a tensor input."""
    _check_flags(ignore_index, batched)
    if isinstance(value, torch.Tensor):
        device: torch.device | None = value.device
        described = describe_tensor(value)
        array = value.detach().cpu().numpy()
    elif isinstance(value, np.ndarray):
        device, array = None, value
        described = f"array of shape {value.shape} and dtype {value.dtype}"
    else:
        fail(name, "a tensor or a NumPy array", type(value).__name__, error=TypeError)
    kinds = "biu" if booleans else "iu"
    if array.dtype.kind not in kinds:
        expected = "integer (or bool) class indices" if booleans else "integer instance ids"
        fail(name, expected, described, error=TypeError)
    dims = "(N, H, W) or (N, D, H, W)" if batched else "(H, W) or (D, H, W)"
    if array.ndim - batched not in (2, 3):
        fail(name, f"of shape {dims}", described)
    if array.size == 0:
        fail(name, "non-empty", described)
    labels = array.astype(np.int64, copy=False)  # read only: no copy of int64 labels
    bad = labels < 0 if num_classes is None else (labels < 0) | (labels >= num_classes)
    if ignore_index is not None:
        bad &= labels != ignore_index
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        expected = "non-negative" if num_classes is None else f"class indices in [0, {num_classes})"
        fail(name, f"{expected} (or ignore_index)", f"{labels[first]} at index {first}")
    return (labels if batched else labels[None]), device


def _check_flags(ignore_index: Any, batched: Any) -> None:
    if ignore_index is not None and (
        isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer))
    ):
        fail("ignore_index", "an integer or None", ignore_index, error=TypeError)
    if not isinstance(batched, bool):
        fail("batched", "True or False", batched, error=TypeError)


def _spacing(spacing: Any, ndim: int) -> tuple[float, ...]:
    """One positive finite size per spatial axis."""
    if spacing is None:
        return (1.0,) * ndim
    values = (
        [spacing] * ndim
        if not isinstance(spacing, (Sequence, np.ndarray, torch.Tensor))
        else list(spacing)
    )
    if len(values) != ndim:
        fail("spacing", f"one number or {ndim} (one per spatial axis)", spacing)
    return tuple(check_number("spacing", s, low=0.0, low_open=True) for s in values)


def _class_weights(value: Any, length: int | None) -> np.ndarray:
    """(background, object) or per-class weights as a float64 array; all 1 when None."""
    if value is None:
        return np.ones(length or 1)
    w = real_tensor("class_weights", value)
    check_1d("class_weights", w, length=length)
    check_nonnegative("class_weights", w)
    return w.numpy()


def _result(out: np.ndarray, like: Any, device: torch.device | None) -> torch.Tensor:
    result = torch.from_numpy(out.reshape(like.shape))
    return result if device is None else result.to(device)


class WeightMapDataset(torch.utils.data.Dataset):
    """A data set that adds a cached weight map to each item of another.

    The map of item ``i`` is computed once, by ``weight_map(mask)``, the first time the item
    is read, and reused in every later epoch. Tuples and lists get it appended,
    ``(image, mask) -> (image, mask, weight)``; dictionaries get it under
    ``"sample_weight"``. Pass it as the ``sample_weight`` of a loss.

    The cache is only right when item ``i`` has the same mask in every epoch: wrap the data set
    before random augmentations that move the mask, not after. Each DataLoader worker process
    holds its own cache, so use ``persistent_workers=True`` (or ``num_workers=0``) to keep it
    between epochs. It holds one float32 map per item (1 MiB for 512 x 512).

    Args:
        dataset: a map-style data set with ``__len__`` whose items are tuples, lists or
            dictionaries.
        weight_map: computes a map from a mask, e.g.
            ``functools.partial(border_weight_map, w0=10, sigma=5)``.
        key: where the mask is in each item: an index or a dictionary key. Default 1.

    Raises:
        TypeError: if ``weight_map`` is not callable or ``key`` is not an index or key.
        ValueError: when reading an item whose mask cannot be found by ``key``.

    Example:
        >>> from functools import partial
        >>> from torch.utils.data import TensorDataset
        >>> data = TensorDataset(torch.rand(2, 1, 5), torch.tensor([[[1, 1, 0, 2, 2]]] * 2))
        >>> cached = WeightMapDataset(data, partial(border_weight_map, w0=10, sigma=1))
        >>> image, mask, weight = cached[0]
        >>> weight
        tensor([[1.0000, 1.0000, 2.3534, 1.0000, 1.0000]])
    """

    def __init__(
        self, dataset: Any, weight_map: Callable[[Any], torch.Tensor], *, key: int | str = 1
    ) -> None:
        if not callable(weight_map):
            fail("weight_map", "a function of a mask", type(weight_map).__name__, error=TypeError)
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            fail("key", "an index or a dictionary key", key, error=TypeError)
        self.dataset = dataset
        self.weight_map = weight_map
        self.key = key
        self._cache: dict[int, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        item = self.dataset[index]
        position = index % len(self)  # -1 and len - 1 share one entry
        try:
            mask = item[self.key]
        except (KeyError, IndexError, TypeError):
            fail(
                "key",
                "an index or key of every item",
                f"{self.key!r} for item {index} of type {type(item).__name__}",
            )
        if position not in self._cache:
            self._cache[position] = self.weight_map(mask)
        weight = self._cache[position]
        if isinstance(item, Mapping):
            return {**item, "sample_weight": weight}
        return (*item, weight)
