"""Class-balanced, progressively balanced and repeat-factor samplers.

Oversampling rare classes is the other half of the answer to imbalance. These samplers draw a
class first, by its class weight, and then a sample uniformly within that class, so they hold one
index permutation grouped by class plus per-class offsets, never one float weight per sample;
they work beyond the :math:`2^{24}` samples at which
:class:`torch.utils.data.WeightedRandomSampler` fails.

Class weights here mean what they mean for a loss (see :func:`counterpoise.weights.class_weights`):
a weight :math:`w_c` multiplies every sample of class :math:`c`. Sample :math:`i` is therefore
drawn with probability :math:`w_{y_i} / \\sum_j w_{y_j}` and class :math:`c` with probability

.. math::

    p_c = \\frac{n_c w_c}{\\sum_k n_k w_k},

exactly what ``WeightedRandomSampler(w[labels])`` draws. ``"balanced"`` weights
:math:`N / (C n_c)` make :math:`p_c = 1 / C`, ``"sqrt"`` weights :math:`n_c^{-1/2}` give
square-root sampling :math:`p_c \\propto \\sqrt{n_c}`, and no weights give instance-balanced
sampling :math:`p_c = n_c / N`.

Every sampler draws an *epoch plan*, a sequence of dataset indices that depends only on
``(seed, epoch)``:

- ``set_epoch(epoch)`` selects the plan, as for :class:`torch.utils.data.DistributedSampler`.
- With ``num_replicas`` ranks, every rank computes the same global plan (the one a single process
  would draw) and takes a contiguous block of it: rank :math:`r` takes positions
  :math:`[rL, (r + 1)L)`. With ``drop_last=False``, :math:`L = \\lceil G / R \\rceil` for a plan
  of length :math:`G` and the plan wraps around to pad the last blocks; with ``drop_last=True``,
  :math:`L = \\lfloor G / R \\rfloor` and the tail of the plan is dropped. ``num_replicas`` and
  ``rank`` default to the default process group of :mod:`torch.distributed` when one is
  initialised.
- ``state_dict()`` records the epoch, the position in this rank's share of it and a
  fingerprint of the labels, weights and settings. ``load_state_dict()`` on a sampler built with
  the same arguments (on any rank: ranks advance in lockstep) makes its next iteration yield
  exactly the rest of that epoch; it refuses the state of a sampler that draws other plans.
- :class:`EpochBatchSampler` slices whole batches from the plan for a loader's
  ``batch_sampler``.

To resume mid-epoch behind a :class:`~torch.utils.data.DataLoader` with workers, tell
``state_dict`` what training has consumed: the workers fetch batches ahead of training, so the
sampler has yielded more indices than training has used. ``consumed`` counts the samples of the
batches the loop has finished in the current pass (from the loaded position, after a resume), or
the batches for an :class:`EpochBatchSampler`; the loop calls ``set_epoch`` as usual, which keeps
a loaded position of the epoch it selects::

    loader = DataLoader(dataset, batch_size=64, sampler=sampler, num_workers=4)
    if checkpoint is not None:
        sampler.load_state_dict(checkpoint["sampler"])
    for epoch in range(start_epoch, num_epochs):
        sampler.set_epoch(epoch)
        consumed = 0
        for inputs, targets in loader:
            train_step(inputs, targets)
            consumed += len(targets)
            if time_to_save():
                state = sampler.state_dict(consumed=consumed)
                torch.save({"sampler": state, "epoch": epoch}, path)

torchdata's ``StatefulDataLoader`` needs no count: it takes the sampler's state as it draws each
batch and keeps the one of the last batch it yielded, for any number of workers::

    loader = StatefulDataLoader(dataset, batch_size=64, sampler=sampler, num_workers=4)
    if checkpoint is not None:
        loader.load_state_dict(checkpoint["loader"])
    for epoch in range(start_epoch, num_epochs):
        sampler.set_epoch(epoch)
        for inputs, targets in loader:
            train_step(inputs, targets)
            if time_to_save():
                torch.save({"loader": loader.state_dict(), "epoch": epoch}, path)

``start_epoch`` is the checkpoint's epoch (or the next one, for a state saved after its epoch
ended). ``set_epoch`` and ``load_state_dict`` must agree, in either order: selecting another
epoch than a loaded state's, or loading a state of another epoch than the selected one, is an
error, unless the state's epoch is complete and the selected one later. Without workers,
``state_dict()`` with no argument is exact.
"""

from __future__ import annotations

import array
import hashlib
import itertools
import math
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Sampler

from ._checks import (
    check_1d,
    check_nonnegative,
    check_number,
    check_positive_int,
    describe_tensor,
    fail,
    real_tensor,
)
from ._collectives import get_rank, get_world_size
from .weights import class_weights

__all__ = [
    "ClassBalancedSampler",
    "EpochBatchSampler",
    "ProgressivelyBalancedSampler",
    "RepeatFactorSampler",
]

#: Draws with replacement come in blocks of this many plan positions, each from its own random
#: stream seeded with ``(seed, epoch, block)``: any part of a plan is drawn without the rest.
_BLOCK = 1 << 16

#: Class indices and categories must be below this: the samplers hold arrays of one entry per
#: class (counts, probabilities, tables), so a label id such as 2**40 is not a class index.
MAX_CLASSES = 2**24
#: Labels are grouped by class in slices of this many samples, to bound temporary memory.
_GROUP_SLICE = 1 << 20

ClassWeights = str | torch.Tensor | np.ndarray | Sequence[float] | None

#: thresholds, sizes (float64) and offsets of an alias table, see ClassBalancedSampler._alias
_AliasTable = tuple[np.ndarray, np.ndarray, np.ndarray]


class _EpochSampler(Sampler[int]):
    """What every sampler shares: epochs, the rank's share of the plan, iteration and state.

    A subclass defines the global plan of an epoch through :meth:`_epoch_size` and
    :meth:`_draw`, or through :meth:`_make_plan` when it builds the whole plan at once.
    """

    def __init__(
        self, *, seed: int, num_replicas: int | None, rank: int | None, drop_last: bool
    ) -> None:
        super().__init__()
        self.seed = check_positive_int("seed", seed, allow_zero=True)
        replicas = get_world_size() if num_replicas is None else num_replicas
        self.num_replicas = check_positive_int("num_replicas", replicas)
        self.rank = check_positive_int(
            "rank", get_rank() if rank is None else rank, allow_zero=True
        )
        if self.rank >= self.num_replicas:
            fail(
                "rank", f"in [0, {self.num_replicas - 1}] (num_replicas={self.num_replicas})", rank
            )
        if not isinstance(drop_last, bool):
            fail("drop_last", "a bool", drop_last, error=TypeError)
        self.drop_last = drop_last
        self.epoch = 0
        #: the position in this rank's share of the epoch where the next pass starts
        self._resume = 0
        #: the latest pass that has started: its first position and its cursor
        self._pass: tuple[int, _Cursor] | None = None
        #: ``_resume`` and ``epoch`` come from load_state_dict, and no pass has started since
        self._loaded = False
        #: set_epoch chose ``epoch``, and no pass has started since
        self._selected = False
        self._cached_plan: tuple[int, np.ndarray] | None = None
        self._digest: bytes | None = None

    # -- the global plan -------------------------------------------------------------------
    def _epoch_size(self, epoch: int) -> int:
        """The length of the global plan of ``epoch``."""
        return len(self._plan(epoch))

    def _draw(self, epoch: int, start: int, stop: int) -> Iterator[np.ndarray]:
        """The global plan of ``epoch`` at positions ``[start, stop)``, in consecutive pieces."""
        plan = self._plan(epoch)
        for lo in range(start, stop, _BLOCK):
            yield plan[lo : min(lo + _BLOCK, stop)]

    def _make_plan(self, epoch: int) -> np.ndarray:
        raise NotImplementedError

    def _plan(self, epoch: int) -> np.ndarray:
        if self._cached_plan is None or self._cached_plan[0] != epoch:
            self._cached_plan = (epoch, self._make_plan(epoch))
        return self._cached_plan[1]

    # -- this rank's share -----------------------------------------------------------------
    def _share(self, total: int) -> int:
        return total // self.num_replicas if self.drop_last else -(-total // self.num_replicas)

    def _local_chunks(self, epoch: int, start: int) -> Iterator[np.ndarray]:
        """This rank's indices of ``epoch`` from its ``start``-th on, in consecutive pieces."""
        total = self._epoch_size(epoch)
        length = self._share(total)
        pos, end = self.rank * length + start, (self.rank + 1) * length
        while pos < end:  # positions past the plan's end wrap around to its start
            lo = pos % total
            hi = min(total, lo + end - pos)
            yield from self._draw(epoch, lo, hi)
            pos += hi - lo

    def _begin(self) -> tuple[int, int, _Cursor]:
        """Start a pass over the current epoch: its number, its first position, its cursor."""
        start = self._resume
        self._resume, self._loaded, self._selected = 0, False, False
        cursor = _Cursor(start)
        self._pass = (start, cursor)
        return self.epoch, start, cursor

    def _yielded(self) -> tuple[int, int]:
        """The first position of the current pass and how many indices it has yielded."""
        if self._pass is None:  # no pass has started: the next one starts at _resume
            return self._resume, 0
        start, cursor = self._pass
        return start, cursor.position() - start

    # -- the Sampler protocol --------------------------------------------------------------
    @property
    def num_samples(self) -> int:
        """The length of the current epoch's global plan (all ranks together)."""
        return self._epoch_size(self.epoch)

    def __len__(self) -> int:
        """The number of indices this rank yields per epoch."""
        return self._share(self.num_samples)

    def __iter__(self) -> Iterator[int]:
        # The pass starts at its first index, not here: a DataLoader with workers makes an
        # iterator that it drops unused before the one it reads, and the dropped one must not
        # take the position of a loaded state.
        self._pass = None
        # chain and array iterators run in C: no Python code runs per index
        return itertools.chain.from_iterable(self._pieces())

    def _pieces(self) -> Iterator[Iterator[int]]:
        epoch, start, cursor = self._begin()
        for chunk in self._local_chunks(epoch, start):
            yield cursor.enter(chunk)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose plan the next iteration yields, from its start.

        After :meth:`load_state_dict`, selecting the state's epoch keeps its position (the
        next iteration yields the rest of the epoch) and selecting a later one starts that
        epoch when the state's epoch is complete.

        Raises:
            ValueError: for a negative epoch, or after :meth:`load_state_dict`, for an epoch
                other than the state's while the state's has indices left (or an earlier one).
        """
        epoch = check_positive_int("epoch", epoch, allow_zero=True)
        if self._loaded and epoch != self.epoch:
            complete = self._resume == len(self)
            if epoch < self.epoch or not complete:
                later = ", or a later one" if complete else ""
                fail(
                    "epoch",
                    f"{self.epoch}{later}, the epoch of the state given to load_state_dict "
                    f"(at position {self._resume} of {len(self)})",
                    epoch,
                )
        if not (self._loaded and epoch == self.epoch):
            self.epoch, self._resume, self._loaded = epoch, 0, False
        self._selected, self._pass = True, None

    def state_dict(self, consumed: int | None = None) -> dict[str, Any]:
        """The epoch and the position in it from which a resumed sampler continues.

        Args:
            consumed: how many indices of the current pass (the latest iteration, counted
                from where it started) training has consumed. Give it when a
                :class:`~torch.utils.data.DataLoader` with workers fetches ahead of training:
                the sampler then has yielded more than training has used. Default None: every
                index yielded so far counts, exact for a loader without workers and for
                torchdata's ``StatefulDataLoader``, which takes this state as each batch is
                drawn.

        Returns:
            A dict of ``epoch`` and ``position`` (in this rank's share of the epoch), and
            ``seed``, ``num_replicas``, ``num_samples`` and a ``fingerprint`` of the labels,
            weights and settings, which :meth:`load_state_dict` checks against the sampler it
            is loaded into. Plain integers and a string: it can be saved as JSON.

        Raises:
            ValueError: for ``consumed`` negative or larger than the indices yielded.
        """
        start, yielded = self._yielded()
        if consumed is not None:
            consumed = check_positive_int("consumed", consumed, allow_zero=True)
            if consumed > yielded:
                fail("consumed", f"at most {yielded}, the indices this pass has yielded", consumed)
            yielded = consumed
        return {
            "seed": self.seed,
            "epoch": self.epoch,
            "position": start + yielded,
            "num_samples": self.num_samples,
            "num_replicas": self.num_replicas,
            "fingerprint": self._fingerprint(self.epoch),
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Resume from :meth:`state_dict`: the next iteration yields the rest of its epoch.

        The state may come from any rank (ranks advance in lockstep). After
        :meth:`set_epoch`, the state must be of the selected epoch, or of an earlier one that
        it completes (the selected epoch then starts from its beginning).

        Raises:
            ValueError: for other keys, a state taken from a sampler with another seed, number
                of replicas, epoch length, other labels, weights or settings (its
                ``fingerprint``), a position past the end of the epoch, or an epoch that
                disagrees with :meth:`set_epoch`.
        """
        keys = ("seed", "epoch", "position", "num_samples", "num_replicas", "fingerprint")
        if not isinstance(state_dict, Mapping) or set(state_dict) != set(keys):
            shown = sorted(map(str, state_dict)) if isinstance(state_dict, Mapping) else state_dict
            listed = ", ".join(repr(k) for k in keys)
            fail("state_dict", f"a mapping with the keys {listed}", shown)
        for key in ("seed", "num_replicas"):
            if state_dict[key] != getattr(self, key):
                fail(
                    f"state_dict[{key!r}]",
                    f"{getattr(self, key)} as in this sampler",
                    state_dict[key],
                )
        epoch = check_positive_int("state_dict['epoch']", state_dict["epoch"], allow_zero=True)
        total = self._epoch_size(epoch)
        if state_dict["num_samples"] != total:
            fail(
                "state_dict['num_samples']",
                f"{total}, this sampler's length of epoch {epoch}",
                state_dict["num_samples"],
            )
        if state_dict["fingerprint"] != self._fingerprint(epoch):
            fail(
                "state_dict",
                "the state of a sampler with these labels, weights and settings (fingerprint "
                f"{self._fingerprint(epoch)!r})",
                f"fingerprint {state_dict['fingerprint']!r}",
            )
        position = check_positive_int(
            "state_dict['position']", state_dict["position"], allow_zero=True
        )
        share = self._share(total)
        if position > share:
            fail("state_dict['position']", f"at most {share}, this rank's share", position)
        self._pass = None
        if self._selected and epoch != self.epoch:
            if epoch > self.epoch or position < share:
                fail(
                    "state_dict['epoch']",
                    f"{self.epoch}, the epoch given to set_epoch (or an earlier one that the "
                    "state completes)",
                    epoch,
                )
            self._resume = 0  # the state's epoch is done: the selected one starts
            return
        self.epoch, self._resume, self._loaded = epoch, position, True

    # -- the fingerprint of a state --------------------------------------------------------
    def _identity(self) -> Iterator[bytes]:
        """What the plans of every epoch depend on beside the epoch, the seed and the share."""
        raise NotImplementedError

    def _epoch_identity(self, epoch: int) -> bytes:
        """What the plan of ``epoch`` depends on beside :meth:`_identity`."""
        return b""

    def _fingerprint(self, epoch: int) -> str:
        if self._digest is None:  # hashes the labels once, on the first state
            whole = hashlib.blake2b(digest_size=16)
            for part in self._identity():
                whole.update(len(part).to_bytes(8, "little") + part)
            self._digest = whole.digest()
        settings = (type(self).__name__, self.seed, self.num_replicas, self.drop_last)
        epoch_part = hashlib.blake2b(self._digest, digest_size=8)
        epoch_part.update(repr((settings, self._epoch_size(epoch))).encode())
        epoch_part.update(self._epoch_identity(epoch))
        return epoch_part.hexdigest()


class _Cursor:
    """How far one pass over an epoch got, for :meth:`_EpochSampler.state_dict`.

    ``done`` counts the indices handed out before the current chunk, ``items`` iterates over
    that chunk of ``size`` indices.
    """

    __slots__ = ("done", "items", "size")

    def __init__(self, start: int) -> None:
        self.done = start
        self.size = 0
        self.items: Iterator[int] = iter(array.array("q"))

    def enter(self, chunk: np.ndarray) -> Iterator[int]:
        """Iterate over the next chunk; the previous one has been consumed in full."""
        self.done += self.size
        self.size = len(chunk)
        # an array iterator makes each int as it is consumed, faster than a list of them all
        self.items = iter(array.array(chunk.dtype.char, chunk.tobytes()))
        return self.items

    def position(self) -> int:
        # an array iterator's pickle state is its index; an exhausted one has none
        state = self.items.__reduce__()
        return self.done + (int(state[2]) if len(state) == 3 else self.size)


class ClassBalancedSampler(_EpochSampler):
    """Draw a class by its class weight, then a sample uniformly within that class.

    Class :math:`c` with :math:`n_c` samples and class weight :math:`w_c` is drawn with
    probability

    .. math::

        p_c = \\frac{n_c w_c}{\\sum_k n_k w_k},

    so every sample of class :math:`c` has probability :math:`w_c / \\sum_j w_{y_j}`, as in
    ``WeightedRandomSampler(w[labels])``. ``"balanced"`` gives every class the same expected
    frequency (class-balanced sampling); ``"sqrt"`` gives :math:`p_c \\propto \\sqrt{n_c}`, the
    square-root sampling of Mahajan et al., "Exploring the Limits of Weakly Supervised
    Pretraining" (ECCV 2018), studied with the other strategies by Kang et al., "Decoupling
    Representation and Classifier for Long-Tailed Recognition" (ICLR 2020); None draws every
    sample with the same probability (instance-balanced).

    With replacement the classes are drawn with Walker's alias method and the plan is drawn in
    blocks, never held whole: memory is one index permutation (int32 below :math:`2^{31}`
    samples) and per-class offsets. Without replacement every sample appears at most once per
    epoch: class :math:`c` receives :math:`m_c = \\min(n_c, \\lambda p_c)` samples, with
    :math:`\\lambda` such that the :math:`m_c` sum to ``num_samples`` (classes that run out
    give their share to the others) and largest remainders deciding the rounding; the
    :math:`m_c` samples are chosen uniformly within each class and the plan shuffled. This is
    random undersampling of the frequent classes.

    Args:
        labels: class index of every sample, shape (N,), integers in [0, C) with C at most
            :data:`MAX_CLASSES` (the sampler holds arrays of C entries: other ids, such as
            hashes, are not class indices and must be encoded first). A tensor, array or
            sequence; it is not kept.
        weights: how to weigh the classes. A scheme name of
            :func:`~counterpoise.weights.class_weights` (default ``"balanced"``; schemes that
            need options, such as ``"power"``, take the tensor that ``class_weights`` returns);
            None for instance-balanced sampling; or per-class weights :math:`w_c` of shape (C,)
            with at least :math:`\\max(\\text{labels}) + 1` entries, finite, non-negative, and
            positive for at least one class present in ``labels``. A weight multiplies every
            sample of its class; it is not a class probability.
        num_samples: length of the global epoch plan (all ranks together). Default: N with
            replacement; without, the longest plan in which every class with
            :math:`p_c > 0` keeps its share, :math:`\\min_c n_c / p_c` (equal within float32
            precision), e.g. :math:`C n_{\\min}` for ``"balanced"`` and N for None.
        replacement: draw with replacement (default True).
        seed: seed of the plans, an integer >= 0 (default 0).
        num_replicas: number of ranks sharing the plan; default the world size of the
            initialised process group, else 1.
        rank: this process's rank in [0, num_replicas); default from the process group, else 0.
        drop_last: drop the tail of the plan to share it equally (True) or wrap around and pad
            (False, default).

    Raises:
        ValueError: for labels that are not 1-D, empty, negative or not below
            :data:`MAX_CLASSES`; weights of the wrong length,
            negative, non-finite or zero for every present class; an unknown scheme; a
            ``num_samples`` larger than the samples that can be drawn without replacement;
            ``rank >= num_replicas``.
        TypeError: for labels that are not integers or arguments of the wrong type.

    Example:
        >>> import torch
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> labels = torch.tensor([0] * 900 + [1] * 90 + [2] * 10)
        >>> sampler = ClassBalancedSampler(labels, "balanced", seed=0)
        >>> loader = DataLoader(TensorDataset(labels), batch_size=1000, sampler=sampler)
        >>> (batch,) = next(iter(loader))
        >>> torch.bincount(batch)
        tensor([302, 340, 358])
        >>> sampler.class_probabilities
        tensor([0.3333, 0.3333, 0.3333], dtype=torch.float64)
        >>> len(ClassBalancedSampler(labels, replacement=False))  # undersampling: 3 x 10
        30
    """

    def __init__(
        self,
        labels: torch.Tensor | np.ndarray | Sequence[int],
        weights: ClassWeights = "balanced",
        *,
        num_samples: int | None = None,
        replacement: bool = True,
        seed: int = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
    ) -> None:
        super().__init__(seed=seed, num_replicas=num_replicas, rank=rank, drop_last=drop_last)
        if not isinstance(replacement, bool):
            fail("replacement", "a bool", replacement, error=TypeError)
        self.replacement = replacement
        label_array = _label_array(labels)
        counts = _bincount(label_array, int(label_array.max()) + 1)
        self._mass, self._counts = _class_mass(counts, weights)
        self._order, self._offsets = _group_by_class(label_array, self._counts)
        self._fixed_size = (
            None if num_samples is None else check_positive_int("num_samples", num_samples)
        )
        self._cached_alias: tuple[int, _AliasTable] | None = None
        self._epoch_size(self.epoch)  # validates num_samples against the classes

    @property
    def class_counts(self) -> torch.Tensor:
        """int64 tensor (C,): the number of samples of each class."""
        return torch.from_numpy(self._counts.copy())

    @property
    def class_probabilities(self) -> torch.Tensor:
        """float64 tensor (C,): the probability :math:`p_c` of drawing each class this epoch."""
        return torch.from_numpy(self._probabilities(self.epoch).copy())

    def _probabilities(self, epoch: int) -> np.ndarray:
        return self._mass / self._mass.sum()

    def _identity(self) -> Iterator[bytes]:
        yield bytes([self.replacement])
        yield self._counts.tobytes()
        yield self._order.tobytes()  # with the counts, the labels

    def _epoch_identity(self, epoch: int) -> bytes:
        return self._probabilities(epoch).tobytes()  # the weights (and schedule) at ``epoch``

    def _epoch_size(self, epoch: int) -> int:
        if self.replacement:
            return len(self._order) if self._fixed_size is None else self._fixed_size
        p = self._probabilities(epoch)
        drawn = p > 0
        available = int(self._counts[drawn].sum())
        if self._fixed_size is None:
            # the largest plan without a capped class; class weights are float32, so a ratio
            # within float32 precision of an integer is that integer
            ratio = float(np.min(self._counts[drawn] / p[drawn]))
            nearest = round(ratio)
            return min(
                available, nearest if abs(ratio - nearest) <= 1e-6 * ratio else math.floor(ratio)
            )
        if self._fixed_size > available:
            fail(
                "num_samples",
                f"at most {available} (the samples of the drawn classes) without replacement",
                self._fixed_size,
            )
        return self._fixed_size

    def _alias(self, epoch: int) -> _AliasTable:
        """The alias table of the classes drawn in ``epoch``, laid out for :meth:`_draw`.

        Column ``j`` is kept when ``x < threshold[j]`` for ``x`` uniform in ``[j, j + 1)``, and
        slot ``2j + kept`` holds the size and offset of the class then drawn.
        """
        if self._cached_alias is None or self._cached_alias[0] != epoch:
            p = self._probabilities(epoch)
            drawn = np.flatnonzero(p)
            keep, alias = _alias_table(p[drawn])
            columns = np.arange(len(drawn))
            slot_class = drawn[np.stack((alias, columns), axis=1).ravel()]
            table = (columns + keep, self._counts[slot_class] * 1.0, self._offsets[slot_class])
            self._cached_alias = (epoch, table)
        return self._cached_alias[1]

    def _draw(self, epoch: int, start: int, stop: int) -> Iterator[np.ndarray]:
        if not self.replacement:
            yield from super()._draw(epoch, start, stop)
            return
        threshold, sizes, offsets = self._alias(epoch)
        for block in range(start // _BLOCK, -(-stop // _BLOCK)):
            u = np.random.default_rng((self.seed, epoch, block)).random((2, _BLOCK))
            # For u <= 1 - 2**-53 and an integer n < 2**53, u * n rounds to below n, so both
            # floors are valid indices without clamping.
            x = u[0] * len(threshold)
            column = x.astype(np.intp)
            slot = (column << 1) | (x < threshold[column])  # the alias method's biased coin
            position = offsets[slot] + (u[1] * sizes[slot]).astype(np.intp)
            lo = block * _BLOCK
            yield self._order[position[max(start, lo) - lo : min(stop, lo + _BLOCK) - lo]]

    def _make_plan(self, epoch: int) -> np.ndarray:
        rng = np.random.default_rng((self.seed, epoch))
        quotas = _quotas(self._epoch_size(epoch), self._probabilities(epoch), self._counts)
        chosen = []
        for c in np.flatnonzero(quotas):
            within = rng.choice(self._counts[c], quotas[c], replace=False)
            chosen.append(self._order[self._offsets[c] + within])
        plan = np.concatenate(chosen)
        rng.shuffle(plan)
        return plan


class ProgressivelyBalancedSampler(ClassBalancedSampler):
    """Move from instance-balanced to class-balanced sampling over the epochs.

    The progressively-balanced sampling of Kang et al., "Decoupling Representation and
    Classifier for Long-Tailed Recognition" (ICLR 2020): at epoch :math:`t` of :math:`T`,

    .. math::

        p_c(t) = (1 - \\alpha) \\frac{n_c}{N} + \\alpha\\, p_c^{\\text{target}}, \\qquad
        \\alpha = s\\!\\left(\\min(t / T, 1)\\right),

    with :math:`p^{\\text{target}}` the class probabilities of :class:`ClassBalancedSampler` for
    ``weights`` (uniform for ``"balanced"``) and :math:`s` the schedule, the identity by default
    (the paper's linear interpolation). Each epoch is then drawn as by
    :class:`ClassBalancedSampler`.

    Args:
        labels: class index of every sample, shape (N,), integers in [0, C).
        num_epochs: :math:`T`, the epoch at which the schedule's progress reaches 1; an integer
            larger than 0.
        schedule: maps the progress :math:`\\min(t / T, 1)` to :math:`\\alpha` in [0, 1].
            Default None: :math:`\\alpha = \\min(t / T, 1)`.
        weights: the class weights of the target, as for :class:`ClassBalancedSampler`
            (default ``"balanced"``).
        num_samples, replacement, seed, num_replicas, rank, drop_last: as for
            :class:`ClassBalancedSampler`. Without replacement and without ``num_samples``, the
            epoch length follows :math:`p(t)` and shrinks as the sampling becomes balanced.

    Raises:
        ValueError: as :class:`ClassBalancedSampler`, and for a schedule value outside [0, 1]
            (when the epoch is used).
        TypeError: for a schedule that is not callable or returns no number.

    Example:
        >>> import torch
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> labels = torch.tensor([0] * 900 + [1] * 100)
        >>> sampler = ProgressivelyBalancedSampler(labels, num_epochs=4)
        >>> loader = DataLoader(TensorDataset(labels), batch_size=1000, sampler=sampler)
        >>> for epoch in range(5):
        ...     sampler.set_epoch(epoch)
        ...     (batch,) = next(iter(loader))
        ...     p = sampler.class_probabilities
        ...     print(epoch, [round(x, 3) for x in p.tolist()], torch.bincount(batch).tolist())
        0 [0.9, 0.1] [892, 108]
        1 [0.8, 0.2] [798, 202]
        2 [0.7, 0.3] [731, 269]
        3 [0.6, 0.4] [616, 384]
        4 [0.5, 0.5] [491, 509]
    """

    def __init__(
        self,
        labels: torch.Tensor | np.ndarray | Sequence[int],
        num_epochs: int,
        *,
        schedule: Callable[[float], float] | None = None,
        weights: ClassWeights = "balanced",
        num_samples: int | None = None,
        replacement: bool = True,
        seed: int = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
    ) -> None:
        self.num_epochs = check_positive_int("num_epochs", num_epochs)
        if schedule is not None and not callable(schedule):
            fail("schedule", "a callable or None", schedule, error=TypeError)
        self.schedule = schedule
        super().__init__(
            labels,
            weights,
            num_samples=num_samples,
            replacement=replacement,
            seed=seed,
            num_replicas=num_replicas,
            rank=rank,
            drop_last=drop_last,
        )

    def alpha(self, epoch: int) -> float:
        """The weight :math:`\\alpha` of the class-balanced target at ``epoch``."""
        progress = min(check_positive_int("epoch", epoch, allow_zero=True) / self.num_epochs, 1.0)
        if self.schedule is None:
            return progress
        return check_number(f"schedule({progress})", self.schedule(progress), low=0.0, high=1.0)

    def _probabilities(self, epoch: int) -> np.ndarray:
        alpha = self.alpha(epoch)
        instance = self._counts / self._counts.sum()
        return (1.0 - alpha) * instance + alpha * (self._mass / self._mass.sum())


class RepeatFactorSampler(_EpochSampler):
    """Repeat-factor sampling for multilabel and detection data.

    From Gupta et al., "LVIS: A Dataset for Large Vocabulary Instance Segmentation" (CVPR
    2019). With :math:`f_c` the fraction of samples (images) that contain category :math:`c`
    and threshold :math:`t`, each category has the repeat factor and each sample the maximum
    over its categories (1 for a sample without any):

    .. math::

        r_c = \\max\\left(1, \\sqrt{t / f_c}\\right), \\qquad r_i = \\max_{c \\in i} r_c.

    Every epoch, sample :math:`i` appears :math:`\\lfloor r_i \\rfloor` times plus once more with
    probability :math:`r_i - \\lfloor r_i \\rfloor` (stochastic rounding), in a shuffled order;
    the epoch's length varies around :math:`\\sum_i r_i`.

    Args:
        multilabel_targets: a multi-hot matrix of shape (N, C) (0/1 or bool; a tensor or array),
            or a sequence of N sequences of category indices >= 0 (detection annotations; a
            repeated category counts once).
        threshold: :math:`t` in [0, 1]; categories in a smaller fraction of samples are
            oversampled. Default 0.001, the value of the paper.
        seed, num_replicas, rank, drop_last: as for :class:`ClassBalancedSampler`.

    Raises:
        ValueError: for targets that are not a 2-D multi-hot matrix or a sequence of category
            lists, negative categories or categories not below :data:`MAX_CLASSES`, a threshold outside [0, 1], ``rank >= num_replicas``.
        TypeError: for arguments of the wrong type.

    Example:
        >>> import torch
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> annotations = [[0], [0], [0], [0, 1], [0]] * 20  # category 1 in 20 of 100 images
        >>> sampler = RepeatFactorSampler(annotations, threshold=0.8, seed=0)
        >>> sampler.repeat_factors[:4]
        tensor([1., 1., 1., 2.], dtype=torch.float64)
        >>> len(sampler)
        120
        >>> loader = DataLoader(TensorDataset(torch.arange(100)), batch_size=8, sampler=sampler)
        >>> sum(len(batch) for (batch,) in loader)
        120
    """

    def __init__(
        self,
        multilabel_targets: torch.Tensor | np.ndarray | Sequence[Sequence[int]],
        threshold: float = 0.001,
        *,
        seed: int = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
    ) -> None:
        super().__init__(seed=seed, num_replicas=num_replicas, rank=rank, drop_last=drop_last)
        self.threshold = check_number("threshold", threshold, low=0.0, high=1.0)
        sample, category, num_samples = _label_pairs(multilabel_targets)
        fraction = np.bincount(category) / num_samples  # positive for every listed category
        self._factors = np.ones(num_samples)
        np.maximum.at(self._factors, sample, np.sqrt(self.threshold / fraction[category]))

    @property
    def repeat_factors(self) -> torch.Tensor:
        """float64 tensor (N,): the repeat factor :math:`r_i` of every sample."""
        return torch.from_numpy(self._factors.copy())

    def _identity(self) -> Iterator[bytes]:
        yield self._factors.tobytes()

    def _make_plan(self, epoch: int) -> np.ndarray:
        rng = np.random.default_rng((self.seed, epoch))
        whole = np.floor(self._factors)
        repeats = (whole + (rng.random(len(self._factors)) < self._factors - whole)).astype(
            np.int64
        )
        plan = np.repeat(np.arange(len(self._factors)), repeats)
        rng.shuffle(plan)
        return plan


class EpochBatchSampler(Sampler[list[int]]):
    """Whole batches sliced from the epoch plan of a sampler of this module.

    For a :class:`~torch.utils.data.DataLoader`'s ``batch_sampler``: the batches are consecutive
    slices of the plan the sampler yields, cut without a Python loop over indices. Epochs and
    state are the sampler's: :meth:`set_epoch`, :meth:`state_dict` and :meth:`load_state_dict`
    act on it, and a state records the indices of the batches yielded so far.

    Args:
        sampler: a :class:`ClassBalancedSampler`, :class:`ProgressivelyBalancedSampler` or
            :class:`RepeatFactorSampler` (with its distributed share).
        batch_size: indices per batch, an integer larger than 0.
        drop_last: drop the last batch of the epoch when it is smaller than ``batch_size``
            (default False).

    Raises:
        TypeError: for a sampler from elsewhere or a ``batch_size`` that is not an integer.
        ValueError: for a ``batch_size`` smaller than 1.

    Example:
        >>> import torch
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> labels = torch.tensor([0] * 90 + [1] * 10)
        >>> batches = EpochBatchSampler(ClassBalancedSampler(labels, seed=1), batch_size=32)
        >>> loader = DataLoader(TensorDataset(labels), batch_sampler=batches)
        >>> [len(y) for (y,) in loader]
        [32, 32, 32, 4]
        >>> (first,) = next(iter(loader))
        >>> torch.bincount(first)
        tensor([17, 15])
    """

    def __init__(self, sampler: _EpochSampler, batch_size: int, *, drop_last: bool = False) -> None:
        super().__init__()
        if not isinstance(sampler, _EpochSampler):
            fail(
                "sampler",
                "a sampler of counterpoise.samplers",
                type(sampler).__name__,
                error=TypeError,
            )
        if not isinstance(drop_last, bool):
            fail("drop_last", "a bool", drop_last, error=TypeError)
        self.sampler = sampler
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.drop_last = drop_last

    def __len__(self) -> int:
        """The number of batches this rank yields per epoch."""
        size = len(self.sampler)
        return size // self.batch_size if self.drop_last else -(-size // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        self.sampler._pass = None  # the pass starts at its first batch, as for the sampler
        return self._batches()

    def _batches(self) -> Iterator[list[int]]:
        epoch, start, cursor = self.sampler._begin()
        pending = np.empty(0, dtype=np.int64)
        for chunk in self.sampler._local_chunks(epoch, start):
            data = np.concatenate((pending, chunk)) if len(pending) else chunk
            full = len(data) - len(data) % self.batch_size
            for lo in range(0, full, self.batch_size):
                cursor.done += self.batch_size
                yield data[lo : lo + self.batch_size].tolist()
            pending = data[full:]
        if len(pending) and not self.drop_last:
            cursor.done += len(pending)
            yield pending.tolist()

    def set_epoch(self, epoch: int) -> None:
        """Select the sampler's epoch (see :meth:`ClassBalancedSampler.set_epoch`)."""
        self.sampler.set_epoch(epoch)

    def state_dict(self, consumed: int | None = None) -> dict[str, Any]:
        """The sampler's state, its position after the batches yielded (or consumed).

        Args:
            consumed: how many batches of the current pass training has consumed, for a
                :class:`~torch.utils.data.DataLoader` with workers (which fetch ahead). Default
                None: every batch yielded so far counts.

        Raises:
            ValueError: for ``consumed`` negative or larger than the batches yielded.
        """
        if consumed is None:
            return self.sampler.state_dict()
        consumed = check_positive_int("consumed", consumed, allow_zero=True)
        _, yielded = self.sampler._yielded()
        batches = -(-yielded // self.batch_size)
        if consumed > batches:
            fail("consumed", f"at most {batches}, the batches this pass has yielded", consumed)
        return self.sampler.state_dict(consumed=min(consumed * self.batch_size, yielded))

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Resume the sampler: the next iteration yields the batches of the rest of the epoch."""
        self.sampler.load_state_dict(state_dict)


def _label_array(labels: Any) -> np.ndarray:
    """Labels as a 1-D array of non-negative integers (no copy for CPU tensors and arrays)."""
    if isinstance(labels, torch.Tensor):
        check_1d("labels", labels)
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            fail("labels", "integer class indices", describe_tensor(labels), error=TypeError)
        array = labels.detach().cpu().numpy()
    else:
        array = np.asarray(labels)
        if array.ndim != 1 or array.size == 0:
            fail("labels", "a non-empty 1-D sequence", f"array of shape {array.shape}")
        if array.dtype.kind not in "iu":
            fail(
                "labels", "integer class indices", f"array of dtype {array.dtype}", error=TypeError
            )
    low, high = array.min(), array.max()
    if low < 0:
        first = int(np.argmax(array < 0))
        fail("labels", "class indices >= 0", f"{int(low)} at index {first}")
    if high >= MAX_CLASSES:
        first = int(np.argmax(array >= MAX_CLASSES))
        fail(
            "labels",
            f"class indices in [0, {MAX_CLASSES}) (a label indexes the class weights and the "
            "counts; encode other ids first, e.g. np.unique(ids, return_inverse=True)[1])",
            f"{int(high)} at index {first}",
        )
    return array


def _class_mass(counts: np.ndarray, weights: ClassWeights) -> tuple[np.ndarray, np.ndarray]:
    """:math:`n_c w_c` (float64, not all zero) and :math:`n_c` for every class of ``weights``."""
    if weights is None:
        w = np.ones(len(counts))
    elif isinstance(weights, str):
        w = class_weights(counts, weights, zero_counts="zero").double().numpy()  # type: ignore[arg-type]
    else:
        # float64 for sequences of numbers: float32 would turn a finite 1e39 into infinity
        given = real_tensor("weights", weights)
        check_1d("weights", given)
        if len(given) < len(counts):
            fail(
                "weights",
                f"a 1-D tensor with one weight per class (at least {len(counts)}, as `labels` "
                f"holds class {len(counts) - 1})",
                describe_tensor(given),
            )
        check_nonnegative("weights", given)
        w = given.double().numpy()
        counts = np.pad(counts, (0, len(w) - len(counts)))
    mass = counts * w
    if not mass.sum() > 0:
        shown = w.tolist() if len(w) <= 10 else describe_tensor(torch.from_numpy(w))
        fail("weights", "positive for at least one class present in `labels`", shown)
    return mass, counts


def _bincount(labels: np.ndarray, num_classes: int) -> np.ndarray:
    counts = np.zeros(num_classes, dtype=np.int64)
    for lo in range(0, len(labels), _GROUP_SLICE):
        counts += np.bincount(labels[lo : lo + _GROUP_SLICE], minlength=num_classes)
    return counts


def _group_by_class(labels: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An index permutation grouping the samples by class, and the classes' offsets in it.

    Samples of class ``c`` are ``order[offsets[c] : offsets[c] + counts[c]]``, in increasing
    order. Built slice by slice, so that temporary memory stays small beside ``order``.
    """
    num_classes = len(counts)
    offsets = np.cumsum(counts) - counts
    order = np.empty(len(labels), dtype=np.int32 if len(labels) < 2**31 else np.int64)
    free = offsets.copy()
    sort_dtype = np.uint16 if num_classes <= 2**16 else np.int64  # 16 bits sort by radix
    for lo in range(0, len(labels), _GROUP_SLICE):
        part = labels[lo : lo + _GROUP_SLICE]
        by_class = np.argsort(part.astype(sort_dtype), kind="stable")
        sorted_labels = part[by_class]
        part_counts = np.bincount(part, minlength=num_classes)
        first_in_part = np.cumsum(part_counts) - part_counts
        rank_in_class = np.arange(len(part)) - first_in_part[sorted_labels]
        order[free[sorted_labels] + rank_in_class] = by_class + lo
        free += part_counts
    return order, offsets


def _alias_table(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table (Vose's construction) for the positive probabilities ``p``.

    Column ``j`` is drawn uniformly, then kept with probability ``keep[j]`` or replaced by
    ``alias[j]``; class ``c`` results with probability ``p[c] / p.sum()``.
    """
    size = len(p)
    scaled = (p * (size / p.sum())).tolist()
    keep = [1.0] * size
    alias = list(range(size))
    small = [j for j, s in enumerate(scaled) if s < 1.0]
    large = [j for j, s in enumerate(scaled) if s >= 1.0]
    while small and large:
        j, big = small.pop(), large[-1]
        keep[j], alias[j] = scaled[j], big
        scaled[big] -= 1.0 - scaled[j]
        if scaled[big] < 1.0:
            small.append(large.pop())
    # what is left holds probability 1 up to rounding
    return np.array(keep), np.array(alias, dtype=np.intp)


def _quotas(total: int, p: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Samples per class without replacement: ``min(counts, lam * p)`` summing to ``total``."""
    quotas = np.zeros(len(p), dtype=np.int64)
    open_ = p > 0
    remaining = total
    while True:
        share = remaining * p[open_] / p[open_].sum()
        full = share >= counts[open_]
        if not full.any():
            break
        capped = np.flatnonzero(open_)[full]
        quotas[capped] = counts[capped]
        remaining -= int(counts[capped].sum())
        open_[capped] = False
    whole = np.floor(share).astype(np.int64)
    # largest remainders; the stable sort breaks ties by class index
    extra = np.argsort(-(share - whole), kind="stable")[: remaining - int(whole.sum())]
    whole[extra] += 1
    quotas[open_] = whole
    return quotas


def _label_pairs(targets: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """(sample, category) of every distinct label of multilabel targets, and the sample count."""
    if isinstance(targets, (torch.Tensor, np.ndarray)):
        matrix = torch.as_tensor(targets).detach().cpu()
        if matrix.ndim != 2 or matrix.shape[0] == 0:
            fail("multilabel_targets", "a 2-D multi-hot matrix (N, C)", describe_tensor(matrix))
        if matrix.is_complex() or not bool(((matrix == 0) | (matrix == 1)).all()):
            fail("multilabel_targets", "a multi-hot matrix of 0 and 1", describe_tensor(matrix))
        sample, category = np.nonzero(matrix.numpy())
        return sample, category, matrix.shape[0]
    if isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence) or not targets:
        fail(
            "multilabel_targets",
            "a multi-hot matrix or a non-empty sequence of category lists",
            type(targets).__name__,
            error=TypeError if not isinstance(targets, Sequence) else ValueError,
        )
    lengths = [
        len(t) if isinstance(t, (Sequence, np.ndarray)) and not isinstance(t, str) else -1
        for t in targets
    ]
    if min(lengths) < 0:
        bad = lengths.index(-1)
        fail(f"multilabel_targets[{bad}]", "a sequence of category indices", targets[bad])
    values = []
    for item in itertools.chain.from_iterable(targets):
        try:  # integers of Python, NumPy or a 0-d tensor; not booleans, floats or lists
            if isinstance(item, (bool, np.bool_)) or getattr(item, "dtype", None) == torch.bool:
                raise TypeError
            values.append(operator.index(item))
        except TypeError:
            shown = item.item() if isinstance(item, np.generic) else item
            fail("multilabel_targets", "category indices: integers >= 0", shown)
    if values and min(values) < 0:
        fail("multilabel_targets", "category indices: integers >= 0", min(values))
    if values and max(values) >= MAX_CLASSES:
        fail("multilabel_targets", f"category indices in [0, {MAX_CLASSES})", max(values))
    flat = np.array(values, dtype=np.int64)
    sample = np.repeat(np.arange(len(targets)), lengths)
    category = flat
    num_categories = int(category.max()) + 1 if flat.size else 1
    distinct = np.unique(sample * num_categories + category)
    return distinct // num_categories, distinct % num_categories, len(targets)
