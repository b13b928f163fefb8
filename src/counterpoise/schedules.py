r"""Class weights that change with the epoch.

Re-weighting from the first epoch can hurt representation learning; Cao et al. ("Learning
imbalanced datasets with label-distribution-aware margin loss", NeurIPS 2019) train unweighted
first and switch the weights on late (deferred re-weighting, DRW). The schedules here give the
class-weight vector of every epoch:

- :class:`DeferredReweighting`: uniform weights until an epoch, then the given weights;
- :class:`InterpolatedWeights`: a linear or cosine ramp from one weight vector to another;
- :class:`EffectiveNumberSchedule`: effective-number weights (Cui et al., CVPR 2019) whose
  :math:`\beta` grows from ``beta_start`` to ``beta_end``.

The weight vectors come from :func:`counterpoise.weights.class_weights` (any scheme) or
anywhere else; the output is a plain (C,) tensor, so it can be passed as the ``weight`` of any
loss of the library or of PyTorch. A schedule counts epochs like a PyTorch learning-rate
scheduler: read :attr:`~WeightSchedule.weights` during an epoch, call
:meth:`~WeightSchedule.step` at its end, and save :meth:`~WeightSchedule.state_dict` with the
checkpoint so that a resumed run continues exactly.
"""

from __future__ import annotations

import copy
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Literal, get_args

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
)
from .weights import ArrayLike, HasCounts, Normalize, class_weights

__all__ = [
    "Curve",
    "DeferredReweighting",
    "EffectiveNumberSchedule",
    "InterpolatedWeights",
    "WeightSchedule",
]

Curve = Literal["linear", "cosine"]


class WeightSchedule(ABC):
    """Class weights as a function of the epoch, with a resumable epoch counter.

    Subclasses define ``_weights(epoch)``; the counter starts at epoch 0.
    """

    def __init__(self) -> None:
        self.epoch = 0

    @abstractmethod
    def _weights(self, epoch: int) -> torch.Tensor:
        """The weights of ``epoch`` (already validated)."""

    def weights_at(self, epoch: int) -> torch.Tensor:
        """The class weights of ``epoch`` (an integer >= 0), float32 of shape (C,)."""
        return self._weights(check_positive_int("epoch", epoch, allow_zero=True))

    @property
    def weights(self) -> torch.Tensor:
        """The class weights of the current epoch, float32 of shape (C,)."""
        return self._weights(self.epoch)

    def step(self) -> torch.Tensor:
        """Advance to the next epoch and return its weights."""
        self.epoch += 1
        return self.weights

    def state_dict(self) -> dict[str, Any]:
        """The state to checkpoint: the current epoch."""
        return {"epoch": self.epoch}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore the state saved by :meth:`state_dict`."""
        if not isinstance(state_dict, Mapping) or set(state_dict) != {"epoch"}:
            fail("state_dict", "a mapping with the key 'epoch'", state_dict)
        self.epoch = check_positive_int("state_dict['epoch']", state_dict["epoch"], allow_zero=True)


class DeferredReweighting(WeightSchedule):
    r"""Deferred re-weighting (DRW): uniform weights until ``start_epoch``, then ``weights``.

    .. math::

        w(e) = \begin{cases} \mathbf{1} & e < e_0 \\ w & e \ge e_0 \end{cases}

    From Cao et al., "Learning imbalanced datasets with label-distribution-aware margin loss"
    (NeurIPS 2019), who pair it with the LDAM loss and effective-number weights
    (:math:`\beta = 0.9999`, switched on at epoch 160 of 200 on CIFAR).

    Args:
        weights: the class weights from ``start_epoch`` on, shape (C,), finite and
            non-negative, e.g. ``class_weights(counts, "effective", beta=0.9999)``.
        start_epoch: :math:`e_0`, the first weighted epoch (an integer >= 0).

    Raises:
        ValueError: for weights that are not a finite, non-negative 1-D vector, or a negative
            ``start_epoch``.
        TypeError: for weights that are not real numbers or a ``start_epoch`` that is not an
            integer.

    Example:
        >>> drw = DeferredReweighting(torch.tensor([0.5, 2.0]), start_epoch=2)
        >>> [drw.weights_at(e).tolist() for e in range(4)]
        [[1.0, 1.0], [1.0, 1.0], [0.5, 2.0], [0.5, 2.0]]
    """

    def __init__(self, weights: ArrayLike, *, start_epoch: int):
        super().__init__()
        self.deferred = _weight_vector("weights", weights)
        self.start_epoch = check_positive_int("start_epoch", start_epoch, allow_zero=True)

    def _weights(self, epoch: int) -> torch.Tensor:
        return (
            self.deferred.clone() if epoch >= self.start_epoch else torch.ones_like(self.deferred)
        )


class InterpolatedWeights(WeightSchedule):
    r"""A linear or cosine ramp from one class-weight vector to another.

    .. math::

        w(e) = w^{start} + f(t)\,(w^{end} - w^{start}), \qquad
        t = \min\!\Big(1, \max\!\Big(0, \frac{e - e_0}{E}\Big)\Big)

    with :math:`f(t) = t` (``"linear"``) or :math:`f(t) = (1 - \cos \pi t) / 2` (``"cosine"``),
    :math:`e_0` = ``start_epoch`` and :math:`E` = ``epochs``: the weights are ``start`` until
    :math:`e_0` and ``end`` from :math:`e_0 + E` on. With ``start`` all ones this is a smooth
    version of :class:`DeferredReweighting`.

    Args:
        start: the weights before the ramp, shape (C,), finite and non-negative.
        end: the weights after it, same shape.
        epochs: :math:`E`, the length of the ramp in epochs (an integer > 0).
        start_epoch: :math:`e_0`, the epoch the ramp starts (default 0).
        curve: ``"linear"`` (default) or ``"cosine"``.

    Raises:
        ValueError: for invalid weight vectors, vectors of different lengths, a non-positive
            ``epochs``, a negative ``start_epoch`` or an unknown curve.
        TypeError: for arguments of the wrong type.

    Example:
        >>> ramp = InterpolatedWeights([1.0, 1.0], [0.5, 3.0], epochs=4)
        >>> [ramp.weights_at(e).tolist() for e in (0, 2, 4, 9)]
        [[1.0, 1.0], [0.75, 2.0], [0.5, 3.0], [0.5, 3.0]]
        >>> InterpolatedWeights([1.0, 1.0], [0.5, 3.0], epochs=4, curve="cosine").weights_at(1)
        tensor([0.9268, 1.2929])
    """

    def __init__(
        self,
        start: ArrayLike,
        end: ArrayLike,
        *,
        epochs: int,
        start_epoch: int = 0,
        curve: Curve = "linear",
    ):
        super().__init__()
        self.start = _weight_vector("start", start)
        self.end = _weight_vector("end", end)
        if self.end.shape != self.start.shape:
            fail(
                "end",
                f"of the shape of `start` {tuple(self.start.shape)}",
                describe_tensor(self.end),
            )
        self.end = self.end.to(self.start.device)
        self.ramp = _Ramp(epochs, start_epoch, curve)

    def _weights(self, epoch: int) -> torch.Tensor:
        return torch.lerp(self.start, self.end, self.ramp(epoch))


class EffectiveNumberSchedule(WeightSchedule):
    r"""Effective-number class weights whose :math:`\beta` grows during training.

    The weights of each epoch are ``class_weights(counts, "effective", beta=beta(e))``, that is
    :math:`w_c \propto (1 - \beta) / (1 - \beta^{n_c})` (Cui et al., "Class-balanced loss based
    on effective number of samples", CVPR 2019). :math:`\beta = 0` gives uniform weights and
    :math:`\beta \to 1` inverse-frequency weights; since the effect of :math:`\beta` is
    logarithmic in :math:`1 - \beta` (the paper tries 0.9, 0.99, 0.999, 0.9999), the ramp
    interpolates :math:`\log(1 - \beta)`:

    .. math::

        1 - \beta(e) = (1 - \beta_{start})^{1 - f(t)}\, (1 - \beta_{end})^{f(t)}

    with :math:`t` and :math:`f` as in :class:`InterpolatedWeights`.

    Args:
        counts: samples per class, shape (C,), as accepted by
            :func:`counterpoise.weights.class_weights`; copied, so that changing it later
            does not change the schedule.
        epochs: the length of the ramp in epochs (an integer > 0).
        beta_start: :math:`\beta` before the ramp, in [0, 1) (default 0: uniform weights).
        beta_end: :math:`\beta` after it, in [0, 1) (default 0.9999).
        start_epoch: the epoch the ramp starts (default 0).
        curve: ``"linear"`` (default) or ``"cosine"``, applied to :math:`\log(1 - \beta)`.
        normalize: passed to ``class_weights``; default ``"classes"`` (the weights sum to C, as
            in Cui et al.'s code).

    Raises:
        ValueError: for invalid counts (see ``class_weights``), betas outside [0, 1), or an
            invalid ramp.

    Example:
        >>> schedule = EffectiveNumberSchedule([100, 10, 1], epochs=2, beta_end=0.99)
        >>> [round(schedule.beta_at(e), 4) for e in range(3)]
        [0.0, 0.9, 0.99]
        >>> schedule.weights_at(2)
        tensor([0.0422, 0.2800, 2.6777])
    """

    def __init__(
        self,
        counts: ArrayLike | HasCounts,
        *,
        epochs: int,
        beta_start: float = 0.0,
        beta_end: float = 0.9999,
        start_epoch: int = 0,
        curve: Curve = "linear",
        normalize: Normalize | None = "classes",
    ):
        super().__init__()
        self.beta_start = check_number("beta_start", beta_start, low=0.0, high=1.0, high_open=True)
        self.beta_end = check_number("beta_end", beta_end, low=0.0, high=1.0, high_open=True)
        self.ramp = _Ramp(epochs, start_epoch, curve)
        self.counts = (
            counts.detach().clone() if isinstance(counts, torch.Tensor) else copy.deepcopy(counts)
        )
        self.normalize = normalize
        self._weights(0)  # validates the counts and normalisation now, not at the first epoch

    def beta_at(self, epoch: int) -> float:
        """:math:`\\beta` of ``epoch`` (an integer >= 0)."""
        return self._beta(check_positive_int("epoch", epoch, allow_zero=True))

    def _beta(self, epoch: int) -> float:
        f = self.ramp(epoch)
        # log1p / expm1 keep 1 - beta accurate for beta close to 1
        return -math.expm1((1 - f) * math.log1p(-self.beta_start) + f * math.log1p(-self.beta_end))

    def _weights(self, epoch: int) -> torch.Tensor:
        beta = self._beta(epoch)
        return class_weights(self.counts, "effective", beta=beta, normalize=self.normalize)


class _Ramp:
    """The ramp :math:`f(t)` in [0, 1] shared by the interpolating schedules."""

    def __init__(self, epochs: int, start_epoch: int, curve: str):
        self.epochs = check_positive_int("epochs", epochs)
        self.start_epoch = check_positive_int("start_epoch", start_epoch, allow_zero=True)
        check_choice("curve", curve, get_args(Curve))
        self.curve = curve

    def __call__(self, epoch: int) -> float:
        t = min(1.0, max(0.0, (epoch - self.start_epoch) / self.epochs))
        return t if self.curve == "linear" else (1.0 - math.cos(math.pi * t)) / 2.0


def _weight_vector(name: str, value: Any) -> torch.Tensor:
    """A float32 copy of a finite, non-negative 1-D weight vector, on its device."""
    if isinstance(value, torch.Tensor):
        t = value.detach()
    else:
        try:
            t = torch.as_tensor(np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError):
            fail(name, "a vector of real numbers", type(value).__name__, error=TypeError)
    if t.dtype == torch.bool or t.is_complex():
        fail(name, "a vector of real numbers", describe_tensor(t), error=TypeError)
    check_1d(name, t)
    check_nonnegative(name, t)
    return t.to(torch.float32, copy=True)
