r"""Class-weighted losses for the Hugging Face ``Trainer``, exact under gradient accumulation.

``Trainer(compute_loss_func=...)`` calls ``compute_loss_func(outputs, labels,
num_items_in_batch=...)`` on every micro-batch. ``num_items_in_batch`` is computed once per
optimizer step: the Trainer gathers the micro-batches of the accumulation window, counts their
labels that are not -100 and, with ``average_tokens_across_devices`` (the default), sums the
count over the processes. It then adds up the gradients of the micro-batch losses, multiplied
by the number of processes (whose gradients data parallelism averages) and *not* divided by
the number of accumulation steps. A loss that divides its sum by ``num_items_in_batch`` is
therefore the sum over the whole accumulated, global batch divided by one number, whatever the
micro-batch size or the number of processes.

That number decides what the loss is. For a class-weighted loss, PyTorch's mean (and the mean
of every loss of counterpoise) is the weighted mean

.. math::

    L = \frac{\sum_i w_{y_i} \ell_i}{\sum_i w_{y_i}},

over the whole batch, and the label count :math:`N` is the wrong denominator:
:math:`\sum_i w_{y_i} \ell_i / N` is a different objective, whose scale changes from step to
step with the class mix. :class:`TrainerLoss` turns any counterpoise loss into a
``compute_loss_func`` that divides by the denominator it receives;
:class:`WeightedLossTrainer` (or :class:`WeightedLossMixin` for a ``Trainer`` subclass of your
own) replaces the label count by the summed normalising weights of the accumulation window,
summed over the processes in the same way. Gradient accumulation of ``K`` micro-batches and
any number of processes then give exactly the gradient of :math:`L` over the global batch of
the step, as one batch of that size on one device would.

Which weights normalise the mean is the loss's own rule, recorded for every loss in
:mod:`counterpoise.losses.registry`: the class weights of the targets for
:class:`~counterpoise.WeightedCrossEntropyLoss`, :class:`~counterpoise.LogitAdjustedLoss`,
:class:`~counterpoise.BalancedSoftmaxLoss` and :class:`~counterpoise.LDAMLoss` (``weight``)
and :class:`~counterpoise.FocalLoss` (``alpha``); one per labelled element for
:class:`~counterpoise.CostSensitiveLoss` and the binary and multilabel losses
(:class:`~counterpoise.WeightedBCEWithLogitsLoss`, :class:`~counterpoise.SigmoidFocalLoss`,
:class:`~counterpoise.AsymmetricLoss`, :class:`~counterpoise.DistributionBalancedLoss`), whose
labels equal to their ``ignore_value`` do not count. For the latter the plain ``Trainer`` is
exact when every label is annotated: its label count is then their denominator.

Three label layouts are understood, from the shapes:

* sequence classification: logits (N, C), class indices (N,);
* token classification: logits (N, T, C), class indices (N, T) with -100 where a token has
  no label (padding, special tokens, continued words);
* multilabel classification (``problem_type="multi_label_classification"``): logits (N, L),
  float 0/1 targets (N, L), with :class:`~counterpoise.WeightedBCEWithLogitsLoss` (its
  ``pos_weight`` from the label counts by :meth:`TrainerLoss.from_dataset`).

Typical use (``train_ds`` yields dictionaries with ``"labels"``)::

    import counterpoise as cp
    from counterpoise.integrations.transformers import TrainerLoss, WeightedLossTrainer

    loss = TrainerLoss.from_dataset(
        train_ds, cp.FocalLoss, num_classes=model.config.num_labels,
        scheme="effective", beta=0.999, gamma=2.0,
    )
    trainer = WeightedLossTrainer(
        model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
        compute_loss_func=loss,
    )
    trainer.train()

The mixin overrides ``Trainer._get_num_items_in_batch``, the one place where the ``Trainer``
computes ``num_items_in_batch``, for training and for evaluation alike: each evaluation
batch's loss is its weighted mean too. The ``eval_loss`` that ``Trainer.evaluate`` reports
is the ``Trainer``'s own average of these batch losses, weighted by the batches' numbers of
samples, :math:`\sum_b n_b L_b / \sum_b n_b`: the weighted mean of the whole evaluation set
when it fits in one batch (``per_device_eval_batch_size`` at least its size), and close to
it, but not equal, otherwise. Not covered: ``torch.nn.DataParallel`` (several devices driven
by one process; run one process per device, e.g. with ``torchrun``, instead), and, for an
exact global mean under data parallelism, ``average_tokens_across_devices=False`` (each
process then normalises by its own weights, as the ``Trainer`` does with its label counts).

With a ``compute_loss_func`` the ``Trainer`` skips its own label smoother, so
``TrainingArguments(label_smoothing_factor=...)`` would have no effect: :class:`WeightedLossMixin`
refuses it. Smooth in the loss instead (``label_smoothing`` of
:class:`~counterpoise.WeightedCrossEntropyLoss` and of the logit-adjusted, balanced-softmax and
LDAM losses), whose weighted mean then stays exact.

:func:`compare_trainer` ranks the imbalance strategies on a sequence classifier of yours,
trained by a :class:`WeightedLossTrainer`: :func:`counterpoise.compare_custom`'s protocol, with
each run's loss as the ``compute_loss_func`` and its sampler as the training sampler.

Requires ``transformers>=5.0`` and ``accelerate`` (``pip install "counterpoise[transformers]"``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from .._checks import class_indices, describe_tensor, fail
from ..compare.model import TrainingRun, compare_custom, cosine_head
from ..compare.runner import CompareResult
from ..compare.strategies import STRATEGIES
from ..counts import count_labels
from ..losses import WeightedCrossEntropyLoss
from ..losses.registry import LOSSES, LossEntry, find_entry

try:
    import transformers
except ImportError as error:
    raise ImportError(
        "counterpoise.integrations.transformers needs the transformers package: "
        'pip install "counterpoise[transformers]"'
    ) from error

# The hook through which the Trainer computes `num_items_in_batch` for training and evaluation.
if not hasattr(transformers.Trainer, "_get_num_items_in_batch"):
    raise ImportError(
        "counterpoise.integrations.transformers needs transformers>=5.0, found "
        f'{transformers.__version__}: pip install -U "counterpoise[transformers]"'
    )

__all__ = ["TrainerLoss", "WeightedLossMixin", "WeightedLossTrainer", "compare_trainer"]


def _entry(loss: nn.Module | type[nn.Module]) -> LossEntry:
    """The registry entry of a loss for class indices or labels (not anchors)."""
    entry = find_entry(loss)
    if entry is None or entry.task == "detection":
        supported = ", ".join(e.module.__name__ for e in LOSSES.values() if e.task != "detection")
        fail("loss", f"one of the losses {supported}", loss, error=TypeError)
    return entry


class TrainerLoss:
    r"""A counterpoise loss as the ``compute_loss_func`` of a Hugging Face ``Trainer``.

    Called as ``loss(outputs, labels, num_items_in_batch=D)``, it takes the logits from the
    model's outputs, arranges them with the labels (see the module docstring for the three
    layouts) and returns the loss's sum divided by :math:`D`:

    .. math::

        L = \frac{\sum_i v_i \ell_i}{D}

    with :math:`v_i` the normalising weight of element :math:`i` (its target's class weight,
    or 1). With :class:`WeightedLossTrainer`, :math:`D` is :meth:`denominator` summed over the
    accumulation window and the processes, so that the micro-batch losses add up to the
    weighted mean of the whole step. With the plain ``Trainer``, :math:`D` is the number of
    labels that are not -100: exact for losses normalised by counts, and
    :math:`\sum_i w_{y_i} \ell_i / N` for class-weighted ones. Without ``num_items_in_batch``
    (None), the loss is the mean of the batch alone.

    The ``Trainer`` does not apply ``TrainingArguments.label_smoothing_factor`` when a
    ``compute_loss_func`` is given, and this loss cannot see the arguments: with the plain
    ``Trainer`` leave the factor at 0 and pass ``label_smoothing`` to the loss (e.g.
    ``cp.WeightedCrossEntropyLoss(weight, label_smoothing=0.1)``). :class:`WeightedLossMixin`
    checks it.

    Args:
        loss: A loss module of :mod:`counterpoise.losses.registry` for class indices or
            labels (every loss of the library but the anchor focal loss), with
            ``reduction="mean"``. Its weights are read at every call, so a schedule that
            changes them (such as deferred re-weighting) takes effect at once.

    Raises:
        TypeError: ``loss`` is not such a loss.
        ValueError: ``loss.reduction`` is not ``"mean"``.

    Example:
        >>> import torch
        >>> import counterpoise as cp
        >>> loss = TrainerLoss(cp.WeightedCrossEntropyLoss(torch.tensor([1.0, 2.0, 5.0])))
        >>> labels = torch.tensor([0, 2, 2, 1])
        >>> loss.denominator(labels)
        tensor(13., dtype=torch.float64)
        >>> outputs = {"logits": torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0],
        ...                                    [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])}
        >>> full = loss(outputs, labels, num_items_in_batch=13)
        >>> first = loss({"logits": outputs["logits"][:2]}, labels[:2], num_items_in_batch=13)
        >>> second = loss({"logits": outputs["logits"][2:]}, labels[2:], num_items_in_batch=13)
        >>> torch.allclose(first + second, full)
        True
        >>> torch.allclose(full, torch.nn.functional.cross_entropy(
        ...     outputs["logits"], labels, weight=torch.tensor([1.0, 2.0, 5.0])))
        True
    """

    def __init__(self, loss: nn.Module) -> None:
        self._entry = _entry(loss)
        if loss.reduction != "mean":
            fail("loss.reduction", '"mean"', loss.reduction)
        self.loss = loss

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r})"

    @classmethod
    def from_dataset(
        cls,
        dataset: Any,
        loss: type[nn.Module] = WeightedCrossEntropyLoss,
        *,
        key: int | str | Callable[[Any], Any] | None = "labels",
        num_classes: int | None = None,
        **options: Any,
    ) -> TrainerLoss:
        """Build ``loss`` with class weights (or ``pos_weight``) from a data set's labels.

        The labels are counted by :func:`counterpoise.count_labels` (-100, or the
        ``ignore_index`` among ``options``, is not counted, so token-classification labels
        count their labelled tokens), and the loss is built from the counts by its entry in
        :mod:`counterpoise.losses.registry`, i.e. by ``loss.from_counts(counts, **options)``
        (class weights by :func:`counterpoise.class_weights` with ``scheme`` and its options,
        e.g. ``scheme="effective", beta=0.999``; priors for LogitAdjustedLoss; for the
        multilabel losses, positives per label of 0/1 targets, e.g. ``pos_weight`` =
        negatives / positives per label for WeightedBCEWithLogitsLoss).

        Args:
            dataset: The training data: a sequence or iterable of samples such as a
                ``datasets.Dataset`` or a list of dictionaries, or anything else
                :func:`counterpoise.count_labels` counts (with ``key=None`` for the labels
                themselves).
            loss: The loss class: WeightedCrossEntropyLoss (default) or any other registered
                loss for class indices or labels.
            key: Picks the labels out of each sample. Default ``"labels"``.
            num_classes: C (L for multilabel data); pass the model's ``num_labels`` so that a
                class absent from the data is an error rather than a shorter weight vector.
            **options: The scheme and the loss's own options, passed on.

        Returns:
            A :class:`TrainerLoss` around the new loss.

        Raises:
            TypeError: An unsupported ``loss`` class.
            ValueError: As :func:`counterpoise.count_labels` and the loss's constructor
                (e.g. a class without samples under a scheme that divides by the counts).

        Example:
            >>> import counterpoise as cp
            >>> train = [{"labels": 0}, {"labels": 0}, {"labels": 0}, {"labels": 1}]
            >>> TrainerLoss.from_dataset(train, scheme="balanced").loss.weight
            tensor([0.6667, 2.0000])
            >>> tags = [{"labels": [1.0, 0.0]}, {"labels": [0.0, 0.0]}, {"labels": [1.0, 1.0]}]
            >>> TrainerLoss.from_dataset(tags, cp.WeightedBCEWithLogitsLoss).loss.pos_weight
            tensor([0.5000, 2.0000])
        """
        entry = _entry(loss)
        multilabel = entry.task == "multilabel"
        counts = count_labels(
            dataset,
            key=key,
            num_classes=num_classes,
            multilabel=multilabel,
            ignore_index=None if multilabel else options.get("ignore_index", -100),
        )
        return cls(entry.build(counts, **options))

    def __call__(
        self,
        outputs: Any,
        labels: torch.Tensor | None,
        num_items_in_batch: float | torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The loss of a batch: its weighted sum over ``num_items_in_batch``."""
        if isinstance(outputs, Mapping):
            if "logits" not in outputs:
                fail("outputs", "model outputs with `logits`", f"keys {list(outputs)}")
            logits = outputs["logits"]
        else:  # a tuple, from a model called with return_dict=False
            logits = outputs[0]
        input, target = self._arrange(logits, self._labels(labels))
        loss: torch.Tensor = self.loss(input, target, denominator=num_items_in_batch)
        return loss

    def denominator(self, labels: torch.Tensor) -> torch.Tensor:
        """The summed normalising weights of a batch's labels on their device (in float64 on
        the CPU, float32 on accelerators).

        For class indices: the class weight of each label that is not ``ignore_index``
        (1 each without class weights, or for CostSensitiveLoss); for float targets: one per
        element of the binary losses, one per row of cross-entropy's probability targets.
        """
        labels = self._labels(labels)
        entry = self._entry
        if not labels.is_floating_point() and entry.weight is not None:
            weight = getattr(self.loss, entry.weight)
            if isinstance(weight, torch.Tensor):  # labels outside the classes: a clear error
                ignore_index = cast(int, self.loss.ignore_index)
                class_indices(
                    "labels", torch.where(labels != ignore_index, labels, 0), weight.numel()
                )
        return entry.denominator(self.loss, labels)

    def _labels(self, labels: Any) -> torch.Tensor:
        if labels is None:
            fail("labels", "a tensor (the batches must hold `labels`)", None)
        if not isinstance(labels, torch.Tensor):
            fail("labels", "a tensor", type(labels).__name__, error=TypeError)
        return labels

    def _arrange(
        self, logits: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and labels in the loss's layout: (M, C) and (M,), or both (N, L)."""
        if labels.is_floating_point():
            if logits.shape == (*labels.shape, 1):  # one logit per sample: binary
                logits = logits.squeeze(-1)
            if logits.shape != labels.shape:
                fail("labels", f"targets of shape {tuple(logits.shape)}", describe_tensor(labels))
            return logits, labels
        if self._entry.task == "multilabel":
            fail("labels", f"float targets for {type(self.loss).__name__}", describe_tensor(labels))
        if logits.shape[:-1] != labels.shape:
            fail(
                "labels",
                f"class indices of shape {tuple(logits.shape[:-1])}",
                describe_tensor(labels),
            )
        return logits.reshape(-1, logits.shape[-1]), labels.reshape(-1)


if TYPE_CHECKING:
    _TrainerBase = transformers.Trainer
else:
    _TrainerBase = object


class WeightedLossMixin(_TrainerBase):
    r"""Makes a ``Trainer``'s ``num_items_in_batch`` the summed weights of :class:`TrainerLoss`.

    Put it before the ``Trainer`` class among the bases of your own trainer
    (``class MyTrainer(WeightedLossMixin, Trainer)``); :class:`WeightedLossTrainer` is the
    plain case. Where the ``Trainer`` counts the labels of the accumulation window (and sums
    the count over the processes), this mixin sums
    :meth:`TrainerLoss.denominator` instead and sums it over the processes in the
    same way. The ``compute_loss_func`` then divides every micro-batch's weighted sum by

    .. math::

        D = \sum_{r} \sum_{b=1}^{K} \sum_{i \in b, r} v_i,

    the weights of all :math:`K` micro-batches of all processes :math:`r` of the step, and the
    accumulated gradient is that of the weighted mean of the global batch.

    The micro-batch losses are scaled for gradient accumulation already (they add up to the
    step's weighted mean), so the mixin sets the ``Trainer``'s ``loss_is_scaled_for_ga`` to
    True: the ``Trainer`` never divides them by the number of accumulation steps again, rather
    than deciding from the model and ``compute_loss_func`` (a subclass that computes another
    loss in ``compute_loss`` must set it back).

    Raises:
        TypeError: ``compute_loss_func`` is not a :class:`TrainerLoss`.
        ValueError: The ``Trainer`` drives several devices from one process
            (``torch.nn.DataParallel``, ``args.n_gpu > 1``), or
            ``args.label_smoothing_factor`` is not 0 (the ``Trainer`` ignores it with a
            ``compute_loss_func``; pass ``label_smoothing`` to the loss instead).
    """

    loss_is_scaled_for_ga: bool | None = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.compute_loss_func, TrainerLoss):
            fail(
                "compute_loss_func",
                "a counterpoise TrainerLoss",
                type(self.compute_loss_func).__name__,
                error=TypeError,
            )
        if self.args.label_smoothing_factor != 0:
            fail(
                "args.label_smoothing_factor",
                "0 with a compute_loss_func, which the Trainer does not smooth: pass "
                "`label_smoothing` to the loss instead, e.g. "
                "cp.WeightedCrossEntropyLoss(weight, label_smoothing=0.1)",
                self.args.label_smoothing_factor,
            )
        if self.args.n_gpu > 1:
            fail(
                "args.n_gpu",
                "1 (one process per device, e.g. with torchrun: DataParallel is not supported)",
                self.args.n_gpu,
            )

    def _get_num_items_in_batch(
        self, batch_samples: list[Any], device: torch.device
    ) -> torch.Tensor | int | None:
        if not batch_samples or not all(
            isinstance(b, Mapping) and "labels" in b for b in batch_samples
        ):
            return None
        loss_func = cast(TrainerLoss, self.compute_loss_func)  # checked in __init__
        total = torch.stack(
            [loss_func.denominator(b["labels"]).to(device) for b in batch_samples]
        ).sum()
        if self.args.average_tokens_across_devices and self.args.world_size > 1:
            total = self.accelerator.gather(total.reshape(1)).sum()
        # Processes that share one batch (tensor, context or sequence parallelism) each add
        # it once more: the Trainer divides its label count by their number, and so do we.
        shared = 1
        for size in ("get_tp_size", "get_cp_size", "get_sp_size"):
            get_size = getattr(self, size, None)
            if get_size is not None:
                shared *= int(get_size())
        return total / shared


class WeightedLossTrainer(WeightedLossMixin, transformers.Trainer):
    """A ``transformers.Trainer`` whose class-weighted loss is an exact weighted mean.

    Takes the ``Trainer``'s arguments, with a :class:`TrainerLoss` as ``compute_loss_func``;
    see :class:`WeightedLossMixin` for what changes.
    """


# --- compare ----------------------------------------------------------------------------------


def _logits_of(model: nn.Module, loader: DataLoader[Any]) -> torch.Tensor:
    """The model's logits on every batch of ``loader`` (dictionaries of tensors; ``labels``
    left out), in order, float32 on the CPU; the model's mode is left as it was."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    parts = []
    with torch.no_grad():
        for batch in loader:
            inputs = {k: v.to(device) for k, v in batch.items() if k != "labels"}
            parts.append(model(**inputs).logits.float().cpu())
    model.train(was_training)
    return torch.cat(parts)


class _RunCallback(transformers.TrainerCallback):
    """A comparison's run inside ``Trainer.train``: the strategy's epoch hook at the start of
    every epoch, the validation score and the checkpoint selection at its end."""

    def __init__(self, run: TrainingRun, keep: Any, val: DataLoader[Any]) -> None:
        self.run, self.keep, self.val = run, keep, val

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.run.begin_epoch(round(state.epoch))

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        model = kwargs["model"]
        score = self.run.score(_logits_of(model, self.val))
        if self.keep.update(round(state.epoch), score, model):
            control.should_training_stop = True


class _TrainerRuns:
    """The training function of :func:`compare_trainer` (picklable when ``model_init`` is)."""

    def __init__(
        self,
        model_init: Callable[[], nn.Module],
        args: Any,
        datasets: tuple[Any, Any, Any],
        *,
        data_collator: Callable[[list[Any]], Any],
        trainer_class: type[WeightedLossTrainer],
        patience: int | None,
        head: str | None,
    ) -> None:
        self.model_init = model_init
        self.args = args
        self.datasets = datasets
        self.data_collator = data_collator
        self.trainer_class = trainer_class
        self.patience = patience
        self.head = head

    def __call__(self, run: TrainingRun) -> tuple[torch.Tensor, torch.Tensor]:
        train, val, test = self.datasets
        torch.manual_seed(run.seed)
        model = self.model_init()
        if run.normed_head:
            if self.head is None:
                fail("head", "the name of the model's output nn.Linear layer", None)
            cosine_head(model, self.head)
        args = dataclasses.replace(
            self.args,
            num_train_epochs=run.epochs,
            max_steps=-1,
            seed=run.seed,
            data_seed=run.seed,
            eval_strategy="no",
            save_strategy="no",
            load_best_model_at_end=False,
            report_to=[],
        )
        sampler = run.sampler

        class RunTrainer(self.trainer_class):  # type: ignore[name-defined]
            def _get_train_sampler(self, train_dataset: Any = None) -> Any:
                return sampler if sampler is not None else super()._get_train_sampler(train_dataset)

        def loader(data: Any) -> DataLoader[Any]:
            return DataLoader(
                data, batch_size=args.per_device_eval_batch_size, collate_fn=self.data_collator
            )

        keep = run.selection(model, patience=self.patience)
        trainer = RunTrainer(
            model=model,
            args=args,
            train_dataset=train,
            data_collator=self.data_collator,
            compute_loss_func=TrainerLoss(run.loss),
            callbacks=[_RunCallback(run, keep, loader(val))],
        )
        trainer.train()
        keep.restore(model)
        return _logits_of(model, loader(val)), _logits_of(model, loader(test))


def _labels_of(dataset: Any, name: str) -> np.ndarray:
    """The ``labels`` of every sample of a data set of dictionaries (a ``datasets.Dataset``'s
    column, read without loading the inputs)."""
    if "labels" in getattr(dataset, "column_names", ()):
        return np.asarray(dataset["labels"])
    try:
        values = [dataset[i]["labels"] for i in range(len(dataset))]
    except (TypeError, KeyError, IndexError):
        fail(name, "a data set of dictionaries with `labels`", type(dataset).__name__)
    return np.asarray([v.numpy() if isinstance(v, torch.Tensor) else v for v in values])


def compare_trainer(
    model_init: Callable[[], nn.Module],
    args: transformers.TrainingArguments,
    train: Any,
    val: Any,
    test: Any,
    *,
    data_collator: Callable[[list[Any]], Any] | None = None,
    trainer_class: type[WeightedLossTrainer] = WeightedLossTrainer,
    patience: int | None = None,
    head: str | None = None,
    **options: Any,
) -> CompareResult:
    """Rank the imbalance strategies on your sequence classifier, trained by the ``Trainer``.

    :func:`counterpoise.compare_custom`'s protocol: for every (strategy, seed) run,
    ``model_init()`` is called after ``torch.manual_seed(seed)`` and a ``trainer_class``
    (default :class:`WeightedLossTrainer`) trains the model for ``epochs`` epochs with
    ``args``, the strategy's loss as ``compute_loss_func`` (a :class:`TrainerLoss`, an exact
    weighted mean) and the strategy's sampler as the training sampler (else the ``Trainer``'s
    own, seeded by the run's seed). The strategy's epoch hook (deferred re-weighting) runs at
    the start of every epoch; at its end, the validation score of the model's logits selects
    the checkpoint. The logits of the selected checkpoint on the validation and test sets are
    scored, and the report is the comparison's.

    ``args`` is used as given but for what the comparison sets: ``num_train_epochs`` (the
    budget), ``seed`` and ``data_seed`` (the run's seed), no evaluation or saving during
    training, and no reporting.

    Args:
        model_init: returns a fresh model whose outputs have ``.logits`` (N, C), e.g. a
            ``...ForSequenceClassification`` (with ``problem_type="multi_label_classification"``
            for multilabel float targets).
        args: the ``TrainingArguments``; ``per_device_eval_batch_size`` batches the logits.
        train, val, test: data sets of dictionaries with the model's inputs and ``labels``
            (a class index, or a float vector of 0/1 targets); a ``datasets.Dataset``'s
            ``labels`` column is read without loading the inputs.
        data_collator: makes batches of samples (default ``transformers.default_data_collator``).
        trainer_class: a subclass of :class:`WeightedLossTrainer` to train with.
        patience: epochs without a better validation score before a run stops; None trains
            every epoch.
        head: the name of the model's output ``nn.Linear`` layer (e.g. ``"classifier"``),
            which a cosine classifier replaces for ``ldam_drw``; needed only when
            ``ldam_drw`` is named among ``strategies`` (it is left out by default).
        **options: the keywords of :func:`counterpoise.compare_custom`: ``strategies``,
            ``seeds``, ``epochs``, ``metric``, ``out``, ``executor``... ``device`` is the
            ``Trainer``'s, ``args.device``.

    Returns:
        The :class:`~counterpoise.compare.runner.CompareResult`.
    """
    if "device" in options:
        fail("device", "left to `args` (the comparison trains on args.device)", options["device"])
    named = options.get("strategies") or ()
    cosine = [n for n in named if getattr(STRATEGIES.get(n), "normed_head", False)]
    if cosine and head is None:
        fail(
            "head",
            f"the name of the model's output nn.Linear layer, for {', '.join(cosine)} "
            "(a cosine classifier replaces it)",
            None,
        )
    runs = _TrainerRuns(
        model_init,
        args,
        (train, val, test),
        data_collator=data_collator or transformers.default_data_collator,
        trainer_class=trainer_class,
        patience=patience,
        head=head,
    )
    labels = [_labels_of(d, k) for k, d in zip(("train", "val", "test"), (train, val, test))]
    options.setdefault("description", f"{trainer_class.__name__} of Hugging Face transformers.")
    options.setdefault("inputs", "those of the model's data sets")
    return compare_custom(runs, *labels, device=str(args.device), **options)
