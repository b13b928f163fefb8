"""Lightning: class weights as buffers, and the imbalance report after every validation.

Two small pieces for a :class:`lightning.pytorch.LightningModule`:

* :func:`register_class_weights` stores class weights as a float32 buffer of the module, so
  that they move with it to its device, are saved in and restored from checkpoints, and stay
  float32 under mixed precision (``precision="16-mixed"`` or ``"bf16-mixed"`` run the forward
  pass under autocast, which leaves buffers alone). Under ``"16-true"`` / ``"bf16-true"``
  Lightning casts the whole module, buffers included, to half precision: the weights are
  then rounded to it, while counterpoise's losses still compute in float32. The losses of
  :mod:`counterpoise.losses` register their own weights as buffers: assigned as attributes
  of the module, they need no further step.
* :class:`ImbalanceReportCallback` accumulates the validation predictions in a
  :class:`counterpoise.ImbalanceMetrics` and, at the end of each validation epoch, logs its
  summary (balanced accuracy, macro-F1, worst-class and geometric-mean recall, accuracy, MCC,
  expected calibration error) with ``pl_module.log_dict`` and keeps the whole report as
  ``callback.report`` (one report per validation dataloader, if there are several). It reads
  the logits and the targets from what ``validation_step`` returns: a dictionary with
  ``"logits"`` and ``"target"``.

A complete example (a sketch, not run as a doctest: it trains; the tests run the same code)::

    import lightning as L
    import torch
    import torch.nn.functional as F

    import counterpoise as cp
    from counterpoise.integrations.lightning import ImbalanceReportCallback, register_class_weights


    class Classifier(L.LightningModule):
        def __init__(self, counts):
            super().__init__()
            self.net = torch.nn.Linear(16, len(counts))
            register_class_weights(self, cp.class_weights(counts, "effective", beta=0.999))
            # or: self.loss = cp.FocalLoss.from_counts(counts)  (its weights are buffers too)

        def training_step(self, batch, batch_idx):
            x, y = batch
            return F.cross_entropy(self.net(x), y, weight=self.class_weights)

        def validation_step(self, batch, batch_idx):
            x, y = batch
            logits = self.net(x)
            self.log("val_loss", F.cross_entropy(logits, y, weight=self.class_weights))
            return {"logits": logits, "target": y}

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)


    counts = cp.class_counts(y_train)
    imbalance = ImbalanceReportCallback(num_classes=len(counts))
    trainer = L.Trainer(max_epochs=10, callbacks=[imbalance])
    trainer.fit(Classifier(counts), train_loader, val_loader)
    trainer.callback_metrics["val_balanced_accuracy"], imbalance.report.recall

The logged metrics can be monitored like any other, e.g.
``ModelCheckpoint(monitor="val_balanced_accuracy", mode="max")``. Under
DistributedDataParallel the report covers the predictions of every process (ImbalanceMetrics
sums its statistics over the processes), and every process logs the same numbers. (With
``accumulate_grad_batches``, Lightning divides each micro-batch's loss by their number: a
class-weighted loss then averages the micro-batches' weighted means, which is not the weighted
mean of the accumulated batch unless their weights add up to the same.)

:func:`compare_lightning` ranks the imbalance strategies on a LightningModule of yours, trained
by Lightning's ``Trainer``: :func:`counterpoise.compare_custom`'s protocol, with each run's loss
given to your module.

Only the unified ``lightning`` package (Lightning 2.x) is supported, not the older
``pytorch_lightning`` distribution: ``pip install "counterpoise[lightning]"``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from .. import _collectives as distributed
from .._checks import VectorLike, check_positive_int, class_vector, describe_tensor, fail
from ..compare.model import TrainingRun, compare_custom, cosine_head
from ..compare.runner import CompareResult
from ..compare.strategies import STRATEGIES
from ..metrics import CalibrationBins, ImbalanceMetrics, ImbalanceReport

try:
    import lightning.pytorch as pl
    from lightning.pytorch.utilities import rank_zero_warn
except ImportError as error:
    raise ImportError(
        "counterpoise.integrations.lightning needs the lightning package (2.x): "
        'pip install "counterpoise[lightning]"'
    ) from error

__all__ = ["ImbalanceReportCallback", "compare_lightning", "register_class_weights"]


def register_class_weights(
    module: nn.Module,
    weights: VectorLike,
    *,
    name: str = "class_weights",
    persistent: bool = True,
) -> torch.Tensor:
    """Register class weights as a float32 buffer of ``module`` (or replace them).

    The buffer is created on the device of the module's first parameter or buffer (the CPU
    for a module without any), so it can be registered, or replaced (e.g. when deferred
    re-weighting switches the weights on), at any time. A buffer follows ``module.to(...)``,
    keeps float32 under autocast and is part of ``state_dict()`` unless ``persistent`` is
    False (then a checkpoint neither saves nor restores it: recompute it in ``setup``).

    Args:
        module: The module, e.g. a ``LightningModule``.
        weights: (C,) finite, non-negative class weights.
        name: The attribute name of the buffer. Default ``"class_weights"``.
        persistent: Whether the weights belong to the module's ``state_dict``. Default True.

    Returns:
        The registered buffer.

    Raises:
        ValueError: Weights that are not a non-empty 1-D vector of finite, non-negative
            numbers.
        KeyError: ``name`` is already an attribute of ``module`` that is not a buffer (from
            ``register_buffer``).

    Example:
        >>> import torch
        >>> net = torch.nn.Linear(4, 3)
        >>> register_class_weights(net, [1.0, 2.0, 5.0])
        tensor([1., 2., 5.])
        >>> sorted(net.state_dict())
        ['bias', 'class_weights', 'weight']
        >>> with torch.autocast("cpu", dtype=torch.bfloat16):
        ...     net(torch.randn(2, 4)).dtype, net.class_weights.dtype
        (torch.bfloat16, torch.float32)
    """
    value = class_vector("weights", weights).to(torch.float32)
    anchor = next(itertools.chain(module.parameters(), module.buffers()), None)
    device = anchor.device if anchor is not None else torch.device("cpu")
    module.register_buffer(name, value.to(device), persistent=persistent)
    buffer: torch.Tensor = getattr(module, name)
    return buffer


class ImbalanceReportCallback(pl.Callback):
    """Logs the imbalance report of every validation epoch.

    ``validation_step`` returns a dictionary holding the batch's logits and targets. The
    layouts, read from the shapes:

    * logits (N, C) or (N, C, d1, ..., dK) (the class dimension second, as for PyTorch's
      losses; each position is a sample, e.g. a token or a pixel) with class indices (N,) or
      (N, d1, ..., dK): the probabilities are a softmax over dimension 1, in float32;
    * with ``num_classes=2``, binary logits of the targets' shape, (N,) or (N, d1, ..., dK)
      with 0/1 targets, or with one class column, (N, 1, d1, ..., dK): the probability of
      class 1 is their sigmoid. Logits (N, 2, ...) with targets of that same shape could be
      one-hot targets as well as binary ones and are refused: pass class indices (N, ...),
      or one binary logit per sample.

    Targets equal to ``ignore_index`` are left out. At the end of the epoch (not after the
    sanity check) the summary of the :class:`counterpoise.ImbalanceReport` is logged, each
    metric's name prefixed by ``prefix`` (``val_balanced_accuracy``, ``val_macro_f1``,
    ``val_worst_class_recall``, ``val_gmean_recall``, ``val_accuracy``, ``val_mcc``,
    ``val_ece``), and the report is kept as :attr:`report`.

    With several validation dataloaders, each gets its own report, logged with Lightning's
    suffix for them (``val_balanced_accuracy/dataloader_idx_1``, as ``self.log`` in
    ``validation_step`` names its metrics), and kept in :attr:`reports`. A dataloader whose
    targets of the epoch are all ``ignore_index`` logs nothing for that epoch (with a warning)
    and keeps its report of the epoch before.

    Args:
        num_classes: C, at least 2.
        classes: Class names for the report (default 0..C-1).
        n_bins: Bins of the calibration error. Default 15.
        prefix: Put before each metric's name. Default ``"val_"``.
        logits_key: Key of the logits in the dictionary ``validation_step`` returns.
            Default ``"logits"``.
        target_key: Key of the targets (class indices). Default ``"target"``.
        ignore_index: Target value that is not a sample. Default -100.

    Attributes:
        reports: The :class:`counterpoise.ImbalanceReport` of each validation dataloader (by
            its index) of the last validation epoch that had samples in it.
        metrics: The :class:`counterpoise.ImbalanceMetrics` accumulating the current epoch,
            one per dataloader index.

    Raises:
        ValueError: ``validation_step`` does not return such a dictionary, or logits and
            targets that do not fit together (and as :class:`counterpoise.ImbalanceMetrics`).
    """

    def __init__(
        self,
        num_classes: int,
        *,
        classes: Sequence[Hashable] | None = None,
        n_bins: int = 15,
        prefix: str = "val_",
        logits_key: str = "logits",
        target_key: str = "target",
        ignore_index: int = -100,
    ) -> None:
        super().__init__()
        first = ImbalanceMetrics(num_classes, classes=classes, n_bins=n_bins)  # checks them
        self.num_classes = first.num_classes
        self._new_metrics = partial(ImbalanceMetrics, num_classes, classes=classes, n_bins=n_bins)
        self.metrics: dict[int, ImbalanceMetrics] = {0: first}
        self.reports: dict[int, ImbalanceReport] = {}
        self.prefix = prefix
        self.logits_key = logits_key
        self.target_key = target_key
        self.ignore_index = ignore_index

    @property
    def report(self) -> ImbalanceReport | None:
        """The report of the (first) validation dataloader, or None before the first
        validation epoch with samples."""
        return self.reports.get(0)

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for metrics in self.metrics.values():
            metrics.reset()

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        target, probs = self._predictions(outputs)
        if dataloader_idx not in self.metrics:
            self.metrics[dataloader_idx] = self._new_metrics()
        if target.numel():
            self.metrics[dataloader_idx].update(target, probs)

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        # Every process takes part in the sums over the processes for every dataloader, in
        # the same order, even one that saw no batch of it.
        loaders = max(len(trainer.num_val_batches), max(self.metrics) + 1)
        for idx in range(loaders):
            metrics = self.metrics.setdefault(idx, self._new_metrics())
            samples = int(metrics.confusion.sum())
            if distributed.is_initialized():
                samples = int(distributed.all_reduce_sum(torch.tensor(samples)).item())
                if metrics.calibration is None:
                    # no sample here: empty bins, so that this process sums the calibration
                    # bins with the others too (compute sums them only where they exist)
                    empty = np.empty((0, self.num_classes))
                    metrics.calibration = CalibrationBins.of(empty, np.empty(0), metrics.n_bins)
            if samples == 0:
                rank_zero_warn(
                    f"ImbalanceReportCallback: validation dataloader {idx} had no target other "
                    f"than ignore_index={self.ignore_index} in this epoch; nothing is logged "
                    "for it and its report is the one of the epoch before."
                )
                continue
            self.reports[idx] = metrics.compute()
            suffix = f"/dataloader_idx_{idx}" if loaders > 1 else ""
            summary = {
                f"{self.prefix}{k}{suffix}": v for k, v in self.reports[idx].summary().items()
            }
            # The numbers are already those of all processes; syncing them (a mean of equal
            # values) only keeps Lightning from asking for it in distributed runs.
            pl_module.log_dict(summary, sync_dist=True, add_dataloader_idx=False)

    def _predictions(self, outputs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Targets (M,) and probabilities (M, C) (or (M,) of class 1) of the samples that count."""
        keys = (self.logits_key, self.target_key)
        if not isinstance(outputs, Mapping) or any(k not in outputs for k in keys):
            given = f"keys {list(outputs)}" if isinstance(outputs, Mapping) else outputs
            fail(
                "validation_step's output",
                f"a dictionary with {self.logits_key!r} and {self.target_key!r}",
                given,
            )
        logits = outputs[self.logits_key].detach().float()
        target = outputs[self.target_key].detach()
        c = self.num_classes
        # (N, 2, ...) logits with targets of their shape: one-hot or binary? Neither is read.
        class_dim = logits.ndim >= 2 and logits.shape[1] == c
        one_column = logits.ndim >= 2 and logits.shape[1] == 1
        if c == 2 and (
            (logits.shape == target.shape and not class_dim)
            or (one_column and logits.shape[:1] + logits.shape[2:] == target.shape)
        ):
            probs = torch.sigmoid(logits).reshape(-1)
        elif logits.ndim >= 2 and logits.shape[:1] + logits.shape[2:] == target.shape:
            if not class_dim:
                fail(
                    self.logits_key,
                    f"logits with {c} classes in dimension 1",
                    describe_tensor(logits),
                )
            probs = logits.softmax(dim=1).movedim(1, -1).reshape(-1, c)
        elif logits.ndim < 2:
            fail(
                self.logits_key,
                f"logits of shape (N, {c}, ...) (binary logits of the targets' shape need "
                "num_classes=2)",
                describe_tensor(logits),
            )
        else:
            binary = " (or 0/1 targets of the shape of binary logits (N, ...))" if c == 2 else ""
            fail(
                self.target_key,
                f"class indices of shape {(logits.shape[0], *logits.shape[2:])} for logits "
                f"of shape {tuple(logits.shape)}{binary}",
                describe_tensor(target),
            )
        target = target.reshape(-1)
        keep = target != self.ignore_index
        return target[keep].cpu(), probs[keep].cpu()


# --- compare ----------------------------------------------------------------------------------


def _outputs(module: nn.Module, loader: DataLoader[Any]) -> torch.Tensor:
    """The module's outputs on every batch ``(input, label)`` of ``loader``, in order, float32
    on the CPU (the module's training mode is left as it was)."""
    device = next(module.parameters()).device
    was_training = module.training
    module.eval()
    with torch.no_grad():
        out = torch.cat([module(x.to(device)).float().cpu() for x, _ in loader])
    module.train(was_training)
    return out


class _RunCallback(pl.Callback):
    """A comparison's run inside ``Trainer.fit``: the strategy's epoch hook at the start of
    every epoch, the validation score and the checkpoint selection at its end."""

    def __init__(self, run: TrainingRun, keep: Any, val: DataLoader[Any]) -> None:
        self.run, self.keep, self.val = run, keep, val

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.run.begin_epoch(trainer.current_epoch)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        score = self.run.score(_outputs(pl_module, self.val))
        if self.keep.update(trainer.current_epoch + 1, score, pl_module):
            trainer.should_stop = True


class _LightningRuns:
    """The training function of :func:`compare_lightning` (picklable when ``module`` is)."""

    def __init__(
        self,
        module: Callable[[nn.Module], pl.LightningModule],
        datasets: tuple[Any, Any, Any],
        *,
        batch_size: int,
        patience: int | None,
        trainer_options: Mapping[str, Any],
        loader_options: Mapping[str, Any],
        head: str | None,
    ) -> None:
        self.module = module
        self.datasets = datasets
        self.batch_size = batch_size
        self.patience = patience
        self.trainer_options = dict(trainer_options)
        self.loader_options = dict(loader_options)
        self.head = head

    def __call__(self, run: TrainingRun) -> tuple[torch.Tensor, torch.Tensor]:
        train, val, test = self.datasets
        torch.manual_seed(run.seed)
        module = self.module(run.loss)
        if not isinstance(module, pl.LightningModule):
            fail(
                "module",
                "a callable that takes the loss and returns a LightningModule",
                type(module).__name__,
                error=TypeError,
            )
        if run.normed_head:
            if self.head is None:
                fail(
                    "head",
                    f"the name of the module's output nn.Linear layer, for {run.strategy.name} "
                    "(a cosine classifier replaces it)",
                    None,
                )
            cosine_head(module, self.head)

        def loader(data: Any, **how: Any) -> DataLoader[Any]:
            return DataLoader(data, batch_size=self.batch_size, **self.loader_options, **how)

        keep = run.selection(module, patience=self.patience)
        gpu = run.device.type == "cuda"
        options: dict[str, Any] = {
            "max_epochs": run.epochs,
            "accelerator": "gpu" if gpu else "cpu",
            "devices": [run.device.index or 0] if gpu else 1,
            "logger": False,
            "enable_checkpointing": False,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "num_sanity_val_steps": 0,
            **self.trainer_options,
        }
        options["callbacks"] = [
            *options.get("callbacks", []),
            _RunCallback(run, keep, loader(val)),
        ]
        trainer = pl.Trainer(**options)
        trainer.fit(
            module,
            train_dataloaders=loader(
                train,
                sampler=run.sampler,
                shuffle=run.sampler is None,
                generator=torch.Generator().manual_seed(run.seed),
            ),
        )
        keep.restore(module)
        return _outputs(module, loader(val)), _outputs(module, loader(test))


def compare_lightning(
    module: Callable[[nn.Module], pl.LightningModule],
    train: Any,
    val: Any,
    test: Any,
    *,
    batch_size: int = 64,
    patience: int | None = None,
    trainer_options: Mapping[str, Any] | None = None,
    loader_options: Mapping[str, Any] | None = None,
    head: str | None = None,
    **options: Any,
) -> CompareResult:
    """Rank the imbalance strategies on your LightningModule, trained by Lightning's ``Trainer``.

    :func:`counterpoise.compare_custom`'s protocol: for every (strategy, seed) run,
    ``module(loss)`` is called after ``torch.manual_seed(seed)`` with the strategy's loss
    module and must return a fresh LightningModule that trains with that loss (its
    ``training_step`` returns ``loss(self(x), y)``; ``configure_optimizers`` is yours). A
    ``Trainer`` fits it for ``epochs`` epochs on the training set, in the order of the
    strategy's sampler or shuffled from the seed, calling the strategy's epoch hook (deferred
    re-weighting) at the start of every epoch; at the end of every epoch the validation score
    of ``module(x)`` on the validation set selects the checkpoint. The outputs of the selected
    checkpoint on the validation and test sets are scored, and the report is the comparison's.

    Args:
        module: takes the loss, returns a fresh LightningModule whose output, ``module(x)``,
            is logits (N, C) for a batch ``(x, y)``.
        train, val, test: map-style data sets yielding ``(input, label)``.
        batch_size: samples per batch of every DataLoader.
        patience: epochs without a better validation score before a run stops; None trains
            every epoch.
        trainer_options: keywords of ``lightning.pytorch.Trainer`` (e.g. ``precision``,
            ``gradient_clip_val``, ``callbacks``), over the comparison's: ``max_epochs`` the
            budget, one device of ``device``, no logger, checkpoints, progress bar or sanity
            check.
        loader_options: keywords of every DataLoader but ``batch_size``, ``sampler``,
            ``shuffle`` and ``generator`` (e.g. ``num_workers``).
        head: the name of the module's output ``nn.Linear`` layer (e.g. ``"net.3"``), which
            a cosine classifier replaces for ``ldam_drw``; needed only when ``ldam_drw`` is
            named among ``strategies`` (it is left out by default).
        **options: the keywords of :func:`counterpoise.compare_custom`: ``strategies``,
            ``seeds``, ``epochs``, ``device``, ``metric``, ``out``, ``executor``...

    Returns:
        The :class:`~counterpoise.compare.runner.CompareResult`.
    """
    check_positive_int("batch_size", batch_size)
    if patience is not None:
        check_positive_int("patience", patience)
    cosine = [
        n
        for n in options.get("strategies") or ()
        if getattr(STRATEGIES.get(n), "normed_head", False)
    ]
    if cosine and head is None:
        fail(
            "head",
            f"the name of the module's output nn.Linear layer, for {', '.join(cosine)} "
            "(a cosine classifier replaces it)",
            None,
        )
    runs = _LightningRuns(
        module,
        (train, val, test),
        batch_size=batch_size,
        patience=patience,
        trainer_options=trainer_options or {},
        loader_options=loader_options or {},
        head=head,
    )
    options.setdefault("description", "A LightningModule trained by Lightning's Trainer.")
    options.setdefault("inputs", "those of the LightningModule")
    return compare_custom(runs, train, val, test, **options)
