"""Training one strategy on one seed: a small MLP, the same budget for every strategy."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch import nn

from .._checks import check_number, check_positive_int, fail
from ..losses.registry import LOSSES
from ..metrics import CONFUSION_METRICS, confusion_metrics, imbalance_report, multilabel_report
from .data import UNKNOWN
from .strategies import LabelStats, Strategy, first_epoch_of, label_probabilities, label_thresholds

if TYPE_CHECKING:
    from .data import Splits

__all__ = [
    "CheckpointSelection",
    "NormedLinear",
    "RunResult",
    "StrategyRun",
    "TrainConfig",
    "auto_batch_size",
    "label_stats",
    "make_model",
    "multilabel_score",
    "train_run",
    "validation_score",
    "validation_scorer",
]


@dataclass(frozen=True)
class TrainConfig:
    """Model and optimisation settings shared by every strategy of a comparison.

    Attributes:
        hidden: width of the hidden layers.
        depth: number of hidden layers (0 gives a linear model).
        epochs: the most epochs a run trains.
        patience: epochs without a better validation score before a run stops.
        batch_size: samples per step; None for :func:`auto_batch_size` of the training rows
            (64, or about a hundredth of the rows for large tables).
        lr: Adam's learning rate.
        weight_decay: Adam's (L2) weight decay.
        device: where to train, e.g. ``"cpu"`` or ``"cuda"``.
    """

    hidden: int = 128
    depth: int = 1
    epochs: int = 100
    patience: int = 20
    batch_size: int | None = None
    lr: float = 3e-3
    weight_decay: float = 1e-4
    device: str = "cpu"

    def __post_init__(self) -> None:
        check_positive_int("hidden", self.hidden)
        check_positive_int("depth", self.depth, allow_zero=True)
        check_positive_int("epochs", self.epochs)
        check_positive_int("patience", self.patience)
        if self.batch_size is not None:
            check_positive_int("batch_size", self.batch_size)
        check_number("lr", self.lr, low=0.0, low_open=True)
        check_number("weight_decay", self.weight_decay, low=0.0)

    def batch_size_for(self, rows: int) -> int:
        """The batch size of a training split of ``rows`` rows."""
        return self.batch_size if self.batch_size is not None else auto_batch_size(rows)


#: The batch size of small training splits, and the steps an epoch of a large one takes.
SMALL_BATCH = 64
#: The largest batch size :func:`auto_batch_size` chooses.
LARGEST_BATCH = 1024


def auto_batch_size(rows: int) -> int:
    """64 for up to 6,400 training rows; above, the power of two nearest to ``rows / 100``
    (about 100 steps an epoch), at most 1024. A large table then trains in a time that grows
    with its rows far more slowly, for the same number of epochs.

    Example:
        >>> [auto_batch_size(n) for n in (500, 6_400, 60_000, 1_000_000)]
        [64, 64, 512, 1024]
    """
    if rows <= SMALL_BATCH * 100:
        return SMALL_BATCH
    return int(min(LARGEST_BATCH, 2 ** round(math.log2(rows / 100))))


@dataclass
class RunResult:
    """What one (strategy, seed) run produced.

    Attributes:
        val_logits, test_logits: float32 (N, C) outputs of the selected checkpoint.
        best_epoch: the epoch (1-based) whose checkpoint was selected.
        epochs_run: epochs trained before stopping.
        history: per epoch, the mean training loss and the validation score.
        seconds: wall-clock training time.
    """

    val_logits: np.ndarray
    test_logits: np.ndarray
    best_epoch: int
    epochs_run: int
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0


class NormedLinear(nn.Module):
    """Cosine classifier: logits are cosines between normalised features and class vectors,
    in [-1, 1] (the head LDAM is defined with; its loss scales them by ``s``)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features).uniform_(-1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(x, dim=1) @ nn.functional.normalize(self.weight, dim=0)


def make_model(
    in_features: int, num_classes: int, config: TrainConfig, *, normed_head: bool = False
) -> nn.Module:
    """An MLP with ``config.depth`` ReLU hidden layers of ``config.hidden`` units."""
    layers: list[nn.Module] = []
    width = in_features
    for _ in range(config.depth):
        layers += [nn.Linear(width, config.hidden), nn.ReLU()]
        width = config.hidden
    layers.append(
        NormedLinear(width, num_classes) if normed_head else nn.Linear(width, num_classes)
    )
    return nn.Sequential(*layers)


def _confusion(y: torch.Tensor, pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    return torch.bincount(y * num_classes + pred, minlength=num_classes**2).view(
        num_classes, num_classes
    )


def validation_score(y: torch.Tensor, logits: torch.Tensor, metric: str) -> float:
    """The comparison's metric on validation outputs, oriented so that higher is better.

    The label metrics come from the confusion matrix by
    :func:`counterpoise.metrics.confusion_metrics` (fast enough for every epoch); the others
    from :func:`counterpoise.metrics.imbalance_report`. ``ece`` is negated.
    """
    num_classes = logits.shape[1]
    if metric in CONFUSION_METRICS:
        confusion = _confusion(y, logits.argmax(1), num_classes).numpy()
        return float(confusion_metrics(confusion)[metric])
    probs = logits.double().softmax(1).numpy()
    value = getattr(imbalance_report(y.numpy(), probs, num_classes=num_classes), metric)
    return -float(value) if metric == "ece" else float(value)


def multilabel_score(
    y: np.ndarray,
    logits: torch.Tensor,
    metric: str,
    counts: np.ndarray,
    boundaries: tuple[float, float] | None = None,
) -> float:
    """The comparison's metric on multilabel validation outputs (higher is better), from
    :func:`counterpoise.metrics.multilabel_report` with the labels grouped by their training
    positives ``counts`` at ``boundaries`` (None: its default). For a ``*_tuned`` metric, the
    thresholds are tuned on these same outputs (the best F1 a checkpoint can reach on
    validation).
    """
    probs = label_probabilities(logits.double().numpy())
    thresholds = label_thresholds(probs, y) if metric.endswith("_tuned") else None
    report = multilabel_report(
        y,
        probs,
        counts=counts,
        thresholds=thresholds,
        boundaries=boundaries,
        ignore_value=UNKNOWN,
    )
    return report.summary()[metric]


def label_stats(splits: Splits) -> LabelStats:
    """The training split's positives and negatives per label (multilabel data)."""
    return LabelStats(
        positives=torch.from_numpy(splits.class_counts("train")),
        negatives=torch.from_numpy(splits.negative_counts("train")),
        rows=len(splits.y_train),
    )


#: Rows evaluated at once: memory for the activations stays bounded on large splits.
EVAL_CHUNK = 8192


def _outputs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model's float32 outputs for the rows of ``x`` on the CPU, :data:`EVAL_CHUNK` rows at a
    time (call under ``torch.no_grad()``)."""
    return torch.cat([model(part).float().cpu() for part in x.split(EVAL_CHUNK)])


class StrategyRun:
    """What a strategy brings to one training run, whatever the loop: its loss built from the
    training counts, its sampler (or None, to shuffle), and the class weights that change with
    the epoch (deferred re-weighting).

    Call :meth:`begin_epoch` at the start of every epoch: it sets the loss's class-weight vector
    to the schedule's value for the epoch (as :class:`~counterpoise.schedules.DeferredReweighting`
    gives it) and moves the sampler to the epoch.

    Args:
        strategy: a strategy that trains a model.
        splits: the data; only its training labels are read.
        seed: the run's seed (the sampler's, and the shuffled order's).
        epochs: the budget, which places the deferred phase.
        device: where the loss lives.

    Example:
        >>> from counterpoise.compare.strategies import STRATEGIES
        >>> from counterpoise.compare.data import load_builtin
        >>> run = StrategyRun(STRATEGIES["ldam_drw"], load_builtin(), seed=0, epochs=10)
        >>> run.begin_epoch(0); run.loss.weight.tolist() == [1.0] * 10  # uniform before epoch 8
        True
        >>> run.begin_epoch(8); run.loss.weight[[0, 9]]  # effective-number weights from it on
        tensor([ 0.2463, 30.3553])
    """

    def __init__(
        self,
        strategy: Strategy,
        splits: Splits,
        *,
        seed: int,
        epochs: int,
        device: str | torch.device = "cpu",
    ) -> None:
        if not strategy.trains:
            fail("strategy", "a strategy that trains a model (one with a loss)", strategy.name)
        self.strategy = strategy
        self.device = torch.device(device)
        self.multilabel = splits.multilabel
        self.rows = len(splits.y_train)
        # what a strategy's loss is built from: class counts, or positives and negatives per label
        stats: Any = (
            label_stats(splits)
            if splits.multilabel
            else torch.from_numpy(splits.class_counts("train")).to(self.device)
        )
        self.stats = stats
        self.loss = strategy.build_loss(
            self.stats, ignore_value=UNKNOWN if splits.multilabel else None
        ).to(self.device)
        # deferred re-weighting: the loss's class-weight vector follows the schedule
        self.schedule = (
            None if strategy.deferred is None else strategy.deferred.schedule(self.stats, epochs)
        )
        self.weight_name = LOSSES[cast(str, strategy.loss)].weight
        self.sampler = (
            strategy.make_sampler(splits.y_train, seed) if strategy.make_sampler else None
        )
        self._order = torch.Generator().manual_seed(seed)

    def begin_epoch(self, epoch: int) -> None:
        """Set the loss's class weights and the sampler for ``epoch`` (0-based)."""
        if self.schedule is not None and self.weight_name is not None:
            setattr(self.loss, self.weight_name, self.schedule.weights_at(epoch).to(self.device))
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)

    def order(self) -> torch.Tensor:
        """The training rows of the epoch begun last, in the order they are seen: the
        sampler's plan, or a permutation of the rows drawn from the run's seed."""
        if self.sampler is not None:
            return torch.as_tensor(list(self.sampler), dtype=torch.long)
        return torch.randperm(self.rows, generator=self._order)


class CheckpointSelection:
    """The checkpoint a run keeps: the one with the best validation score among the eligible
    epochs (those after ``select_after`` of the budget), and when to stop early.

    Example:
        >>> model = nn.Linear(2, 2)
        >>> keep = CheckpointSelection(model, epochs=10, patience=2)
        >>> [keep.update(e, s, model) for e, s in enumerate([0.5, 0.7, 0.6, 0.6], 1)]
        [False, False, False, True]
        >>> keep.best_epoch
        2
    """

    def __init__(
        self, model: nn.Module, *, epochs: int, patience: int, select_after: float = 0.0
    ) -> None:
        self.best_score = -float("inf")
        self.best_epoch = 0
        self.best_state = copy.deepcopy(model.state_dict())
        self.eligible_from = first_epoch_of(select_after, epochs) + 1  # 1-based
        self.patience = patience

    def update(self, epoch: int, score: float, model: nn.Module) -> bool:
        """Record the validation ``score`` of ``epoch`` (1-based), keeping the model's state
        when it is the best eligible one so far; True when the run should stop."""
        if epoch >= self.eligible_from and score > self.best_score:
            self.best_score, self.best_epoch = score, epoch
            self.best_state = copy.deepcopy(model.state_dict())
        since = epoch - max(self.best_epoch, self.eligible_from)
        return epoch >= self.eligible_from and since >= self.patience

    def restore(self, model: nn.Module) -> None:
        """Load the kept checkpoint into ``model``."""
        model.load_state_dict(self.best_state)


def train_run(
    strategy: Strategy,
    splits: Splits,
    config: TrainConfig,
    *,
    seed: int,
    metric: str = "balanced_accuracy",
    boundaries: tuple[float, float] | None = None,
    on_epoch: Callable[[int], Any] | None = None,
) -> RunResult:
    """Train ``strategy``'s model on ``splits`` and return the best checkpoint's outputs.

    Every strategy gets the same initial weights for a seed (``torch.manual_seed(seed)`` before
    the model is built), the same sequence of shuffled epochs (unless it samples), and the same
    budget. The checkpoint with the best validation ``metric`` is kept; with
    ``strategy.select_after`` only epochs after that fraction of the budget are eligible (so that
    a deferred re-weighting phase is reached). Multilabel data trains one sigmoid output per
    label, on targets whose entries that are not annotated are masked out by the loss; its
    label groups (for a metric such as ``tail_map``) are split at ``boundaries``.
    """
    start = time.perf_counter()
    if not strategy.trains:
        fail("strategy", "a strategy that trains a model (one with a loss)", strategy.name)
    device = torch.device(config.device)
    mean = splits.X_train.mean(0)
    std = splits.X_train.std(0)
    std[std == 0] = 1.0

    def tensor(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy((x - mean) / std).float().to(device)

    X, Xv, Xt = tensor(splits.X_train), tensor(splits.X_val), tensor(splits.X_test)
    y = torch.from_numpy(splits.y_train).to(device)
    run = StrategyRun(strategy, splits, seed=seed, epochs=config.epochs, device=device)
    score_of = validation_scorer(splits, metric, boundaries)

    torch.manual_seed(seed)
    model = make_model(
        splits.num_features, splits.num_classes, config, normed_head=strategy.normed_head
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    keep = CheckpointSelection(
        model, epochs=config.epochs, patience=config.patience, select_after=strategy.select_after
    )
    history: dict[str, list[float]] = {"loss": [], "val_score": []}
    batch_size = config.batch_size_for(len(y))
    epoch = 0
    for epoch in range(1, config.epochs + 1):
        run.begin_epoch(epoch - 1)
        idx = run.order()
        model.train()
        total, seen = 0.0, 0
        for batch in idx.split(batch_size):
            batch = batch.to(device)
            loss = run.loss(model(X[batch]), y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(batch)
            seen += len(batch)
        model.eval()
        with torch.no_grad():
            score = score_of(strategy.logit_scale * _outputs(model, Xv))
        history["loss"].append(total / max(seen, 1))
        history["val_score"].append(score)
        if on_epoch is not None:
            on_epoch(epoch)
        if keep.update(epoch, score, model):
            break
    keep.restore(model)
    model.eval()
    with torch.no_grad():
        val_logits = (strategy.logit_scale * _outputs(model, Xv)).numpy()
        test_logits = (strategy.logit_scale * _outputs(model, Xt)).numpy()
    return RunResult(
        val_logits=val_logits,
        test_logits=test_logits,
        best_epoch=keep.best_epoch,
        epochs_run=epoch,
        history=history,
        seconds=time.perf_counter() - start,
    )


def validation_scorer(
    splits: Splits, metric: str, boundaries: tuple[float, float] | None = None
) -> Callable[[torch.Tensor], float]:
    """The comparison's ``metric`` of validation logits (higher is better): by
    :func:`validation_score` for classes, :func:`multilabel_score` for multilabel data."""
    train_counts = splits.class_counts("train")
    yv = torch.from_numpy(splits.y_val)

    def score_of(logits: torch.Tensor) -> float:
        if splits.multilabel:
            return multilabel_score(splits.y_val, logits, metric, train_counts, boundaries)
        return validation_score(yv, logits, metric)

    return score_of
