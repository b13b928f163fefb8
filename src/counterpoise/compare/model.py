"""``compare`` on the user's own model and data, or with the user's own training loop.

:func:`compare_model` trains the user's PyTorch model with every strategy, on their map-style
data sets, by the same protocol as the command line's comparison of tables: every strategy
starts from the same weights for a seed, the checkpoint is selected on validation, the post-hoc
strategies correct the ``ce`` model's outputs, and the report holds the same metrics, intervals
and recommendation. :func:`compare_custom` leaves the training to a function of the user's,
which receives what a strategy needs (:class:`TrainingRun`) and returns the validation and test
outputs; the comparison does the rest.

Either runs its jobs on this machine (worker processes, as the command line does) or as Ray
tasks across a cluster (``executor="ray"``), and with ``out`` saves every finished run as it
finishes, so that an interrupted comparison run again trains only what is missing (see
:mod:`~counterpoise.compare.run_store`).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from .._checks import check_positive_int, fail
from .execution import Executor, Job, LocalExecutor, available_cores
from .ray_executor import RayExecutor
from .report import write_report
from .run_store import RunStore, fingerprint
from .runner import (
    DEFAULT_METRICS,
    CompareConfig,
    CompareResult,
    TrainingSummary,
    _halves,
    resolve_config,
    run_strategies,
    task_of,
)
from .statistics import RESAMPLES
from .strategies import STRATEGIES, Strategy, first_epoch_of, get_strategies
from .torch_data import SPLIT_NAMES, dataset_labels, label_array, label_splits
from .training import (
    CheckpointSelection,
    NormedLinear,
    RunResult,
    StrategyRun,
    TrainConfig,
    validation_scorer,
)

__all__ = [
    "DEFAULT_EPOCHS",
    "DEFAULT_LR",
    "ModelRun",
    "Optimizer",
    "PreparedComparison",
    "Trained",
    "TrainingRun",
    "compare_custom",
    "compare_model",
    "cosine_head",
    "import_object",
    "prepare_model",
]

#: What builds the optimiser of a run from the model's parameters.
Optimizer = Callable[[Iterator[nn.Parameter]], torch.optim.Optimizer]
#: The training budget of :func:`compare_model` and :func:`compare_custom` when none is given.
DEFAULT_EPOCHS = 20
#: Adam's learning rate when no optimiser is given.
DEFAULT_LR = 1e-3
#: The DataLoader options that a comparison sets itself.
_SET_BY_COMPARE = ("batch_size", "shuffle", "sampler", "batch_sampler", "drop_last", "generator")


def _adam(parameters: Iterator[nn.Parameter]) -> torch.optim.Optimizer:
    return torch.optim.Adam(parameters, lr=DEFAULT_LR)


def cosine_head(model: nn.Module, path: str) -> nn.Module:
    """``model`` with its ``nn.Linear`` module at ``path`` (a name of ``named_modules()``,
    e.g. ``"fc"`` or ``"3"``) replaced by a cosine classifier of the same shape
    (:class:`~counterpoise.compare.training.NormedLinear`, the head LDAM is defined with: its
    outputs are cosines in [-1, 1]). The model is changed in place and returned; a model that
    is itself an ``nn.Linear`` (``path=""``) is replaced by the returned classifier.

    Example:
        >>> model = cosine_head(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)), "2")
        >>> out = model(torch.randn(5, 4))
        >>> type(model[2]).__name__, bool(out.abs().max() <= 1)
        ('NormedLinear', True)
    """
    try:
        layer = model.get_submodule(path)
    except AttributeError:
        layer = None
    if not isinstance(layer, nn.Linear):
        fail("path", "the name of an nn.Linear module of the model", path)
    if not path:
        return NormedLinear(layer.in_features, layer.out_features)
    parent_path, _, name = path.rpartition(".")
    parent = model.get_submodule(parent_path)
    setattr(parent, name, NormedLinear(layer.in_features, layer.out_features))
    return model


def _to(value: Any, device: torch.device) -> Any:
    """A batch's inputs (a tensor, or tuples, lists and dictionaries of them) on ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple
        return type(value)(*(_to(v, device) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(_to(v, device) for v in value)
    if isinstance(value, Mapping):
        return {k: _to(v, device) for k, v in value.items()}
    return value


def _outputs_of(model: nn.Module, inputs: Any, rows: int, width: int) -> torch.Tensor:
    """The model's logits for a batch, checked to be a tensor of shape (rows, width)."""
    out = model(inputs)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (rows, width):
        shown = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
        fail("model", f"a model whose output is a tensor of logits ({rows}, {width})", shown)
    return out


@dataclass(frozen=True)
class _Probe:
    """What a model built once before training tells: its name, size, output layer (for a
    cosine head), its optimiser in words, and its inputs in words."""

    name: str
    parameters: int
    head: str | None
    optimizer: str
    inputs: str


def _probe(
    model: Callable[[], nn.Module],
    optimizer: Optimizer,
    val: Any,
    width: int,
    loader_options: Mapping[str, Any],
    device: torch.device,
) -> _Probe:
    """Build the model (seed 0, without touching the caller's random state) and run it on two
    validation samples: its outputs must be (2, ``width``) logits. Its output layer is the last
    ``nn.Linear`` of ``width`` outputs whose output is the model's."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = model()
    if not isinstance(net, nn.Module):
        fail(
            "model",
            "a callable that returns a torch.nn.Module",
            type(net).__name__,
            error=TypeError,
        )
    opt = optimizer(net.parameters())
    if not isinstance(opt, torch.optim.Optimizer):
        fail(
            "optimizer",
            "a callable that takes the model's parameters and returns a torch.optim.Optimizer",
            type(opt).__name__,
            error=TypeError,
        )
    net.to(device).eval()
    rows = min(2, len(val))
    inputs, _ = next(iter(DataLoader(Subset(val, range(rows)), batch_size=rows, **loader_options)))
    seen: dict[str, torch.Tensor] = {}
    hooks = [
        module.register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, o))
        for name, module in net.named_modules()
        if isinstance(module, nn.Linear) and module.out_features == width
    ]
    try:
        with torch.no_grad():
            out = _outputs_of(net, _to(inputs, device), rows, width)
    finally:
        for hook in hooks:
            hook.remove()
    heads = [n for n, o in seen.items() if o.shape == out.shape and torch.equal(o, out)]
    options = ", ".join(
        f"{k.replace('_', ' ')} {v:g}"
        for k, v in opt.defaults.items()
        if k in ("lr", "weight_decay", "momentum") and isinstance(v, (int, float))
    )
    return _Probe(
        name=type(net).__name__,
        parameters=sum(p.numel() for p in net.parameters()),
        head=heads[-1] if heads else None,
        optimizer=f"{type(opt).__name__} ({options})" if options else type(opt).__name__,
        inputs=_describe_inputs(inputs),
    )


def _describe_inputs(batch: Any) -> str:
    if isinstance(batch, torch.Tensor):
        return (
            f"tensors of shape {tuple(batch.shape[1:])} ({str(batch.dtype).replace('torch.', '')})"
        )
    if isinstance(batch, Mapping):
        return "dictionaries of " + ", ".join(
            f"{k}: {_describe_inputs(v)}" for k, v in batch.items()
        )
    if isinstance(batch, (tuple, list)):
        return "tuples of " + ", ".join(_describe_inputs(v) for v in batch)
    return type(batch).__name__


class ModelRun:
    """Trains one job of a comparison on the user's model and data sets (a
    :class:`~counterpoise.compare.execution.RunJob`).

    The model is built by ``model()`` after ``torch.manual_seed(seed)``, so every strategy of a
    seed starts from the same weights; a strategy with a cosine head (``ldam_drw``) has the
    model's output layer ``head`` replaced by one (:func:`cosine_head`). Each epoch visits the
    training set in the order the strategy's sampler gives, or shuffled from the seed, in
    batches of ``batch_size``; the loss is the strategy's, with its class weights set for the
    epoch (deferred re-weighting). The checkpoint with the best validation score is kept (among
    the epochs the strategy allows), and training stops after ``patience`` epochs without a
    better one.

    Args:
        model: builds a fresh model whose output is logits (N, C).
        datasets: the train, validation and test data sets, yielding ``(input, label)``.
        splits: their labels (:func:`~counterpoise.compare.torch_data.label_splits`).
        optimizer: builds the optimiser from the model's parameters.
        train: the budget, patience, batch size and device (``hidden``, ``depth``, ``lr`` and
            ``weight_decay`` are the MLP's and not read).
        metric: the metric that selects checkpoints.
        boundaries: the label groups of multilabel data, or None.
        loader_options: keywords of every :class:`~torch.utils.data.DataLoader` (e.g.
            ``num_workers``, ``collate_fn``, ``pin_memory``).
        head: the name of the model's output layer, for a cosine head; None when it has none.
    """

    def __init__(
        self,
        model: Callable[[], nn.Module],
        datasets: Sequence[Any],
        splits: Any,
        *,
        optimizer: Optimizer,
        train: TrainConfig,
        metric: str,
        boundaries: tuple[float, float] | None = None,
        loader_options: Mapping[str, Any] | None = None,
        head: str | None = None,
    ) -> None:
        self.model = model
        self.datasets = tuple(datasets)
        self.splits = splits
        self.optimizer = optimizer
        self.train = train
        self.metric = metric
        self.boundaries = boundaries
        self.loader_options = dict(loader_options or {})
        self.head = head

    def _loader(self, dataset: Any, sampler: Any = None, seed: int = 0) -> DataLoader[Any]:
        return DataLoader(
            dataset,
            batch_size=self.train.batch_size_for(len(self.splits.y_train)),
            sampler=sampler,
            generator=torch.Generator().manual_seed(seed),
            **self.loader_options,
        )

    def _predict(self, model: nn.Module, dataset: Any, device: torch.device) -> torch.Tensor:
        width = self.splits.num_classes
        parts = []
        with torch.no_grad():
            for inputs, _ in self._loader(dataset):
                rows = len(inputs) if isinstance(inputs, torch.Tensor) else _rows(inputs)
                parts.append(_outputs_of(model, _to(inputs, device), rows, width).float().cpu())
        return torch.cat(parts)

    def __call__(self, job: Job, on_epoch: Callable[[int], Any] | None) -> RunResult:
        start = time.perf_counter()
        strategy = _strategy(job.strategy)
        train, val, test = self.datasets
        device = torch.device(self.train.device)
        config = self.train
        run = StrategyRun(strategy, self.splits, seed=job.seed, epochs=config.epochs, device=device)
        score_of = validation_scorer(self.splits, self.metric, self.boundaries)
        torch.manual_seed(job.seed)
        model = self.model()
        if strategy.normed_head:
            if self.head is None:
                fail("strategies", "strategies without a cosine head for this model", job.strategy)
            model = cosine_head(model, self.head)
        model.to(device)
        optimizer = self.optimizer(model.parameters())
        keep = CheckpointSelection(
            model,
            epochs=config.epochs,
            patience=config.patience,
            select_after=strategy.select_after,
        )
        multilabel = self.splits.multilabel
        history: dict[str, list[float]] = {"loss": [], "val_score": []}
        epoch = 0
        for epoch in range(1, config.epochs + 1):
            run.begin_epoch(epoch - 1)
            order = run.order().tolist()
            model.train()
            total, seen = 0.0, 0
            for inputs, targets in self._loader(train, order, seed=job.seed * 100_003 + epoch):
                targets = (targets.float() if multilabel else targets.long()).to(device)
                out = _outputs_of(model, _to(inputs, device), len(targets), self.splits.num_classes)
                loss = run.loss(out, targets)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(targets)
                seen += len(targets)
            model.eval()
            score = score_of(strategy.logit_scale * self._predict(model, val, device))
            history["loss"].append(total / max(seen, 1))
            history["val_score"].append(score)
            if on_epoch is not None:
                on_epoch(epoch)
            if keep.update(epoch, score, model):
                break
        keep.restore(model)
        model.eval()
        val_logits = strategy.logit_scale * self._predict(model, val, device)
        test_logits = strategy.logit_scale * self._predict(model, test, device)
        return RunResult(
            val_logits=val_logits.numpy(),
            test_logits=test_logits.numpy(),
            best_epoch=keep.best_epoch,
            epochs_run=epoch,
            history=history,
            seconds=time.perf_counter() - start,
        )


def _rows(inputs: Any) -> int:
    """The rows of a batch of inputs that is not a tensor: those of its first tensor."""
    if isinstance(inputs, Mapping):
        inputs = list(inputs.values())
    for value in inputs:
        if isinstance(value, torch.Tensor):
            return len(value)
        if isinstance(value, (tuple, list, Mapping)):
            return _rows(value)
    return len(inputs)


def _strategy(name: str) -> Strategy:
    strategy = STRATEGIES.get(name)
    if strategy is None:
        fail(
            "strategies",
            "strategies registered when counterpoise is imported (worker processes are "
            "spawned on this platform), or jobs=1",
            name,
        )
    return strategy


# --- the user's own training loop ------------------------------------------------------------


class Trained(NamedTuple):
    """What a training function of :func:`compare_custom` returns: the model's outputs on the
    validation and test sets (N_val, C) and (N_test, C), in the order of their samples, as
    tensors or arrays. For a strategy with a cosine head (:attr:`TrainingRun.normed_head`),
    the outputs are the cosines, which the comparison scales by :attr:`TrainingRun.logit_scale`.
    """

    val_logits: Any
    test_logits: Any


class TrainingRun:
    """What a training function of :func:`compare_custom` receives for one run: everything a
    strategy needs from a training loop.

    Attributes:
        strategy: the strategy (its name, summary and options).
        seed: the run's seed; build the model after ``torch.manual_seed(seed)`` so that every
            strategy of a seed starts from the same weights.
        epochs: the budget, which places the deferred re-weighting phase.
        device: where the loss lives (``device`` of :func:`compare_custom`).
        loss: the strategy's loss module, built from the training counts; call it as
            ``loss(logits, labels)``.
        sampler: the strategy's sampler over the training indices (give it to the
            DataLoader as ``sampler=``), or None to shuffle as usual.
        counts: training samples per class (positives per label for multilabel data).
        select_from: the first epoch (0-based) whose checkpoint may be selected.
        normed_head: whether the strategy trains a cosine classifier head (see
            :func:`cosine_head`); its outputs are cosines, scaled by :attr:`logit_scale`.
        logit_scale: what the model's outputs are multiplied by to give logits.

    Example:
        >>> from counterpoise.compare.strategies import STRATEGIES
        >>> from counterpoise.compare.torch_data import label_splits
        >>> splits = label_splits([np.array([0, 0, 0, 1]), np.array([0, 1]), np.array([0, 1])],
        ...                       name="toy")
        >>> run = TrainingRun(STRATEGIES["ce_balanced"], splits, seed=0, epochs=3)
        >>> run.loss.weight
        tensor([0.6667, 2.0000])
        >>> run.score(torch.tensor([[2.0, 0.0], [0.0, 1.0]]))  # balanced accuracy
        1.0
    """

    def __init__(
        self,
        strategy: Strategy,
        splits: Any,
        *,
        seed: int,
        epochs: int,
        device: str | torch.device = "cpu",
        metric: str | None = None,
        boundaries: tuple[float, float] | None = None,
        on_epoch: Callable[[int], Any] | None = None,
    ) -> None:
        self.strategy = strategy
        self.seed = seed
        self.epochs = epochs
        self._pieces = StrategyRun(strategy, splits, seed=seed, epochs=epochs, device=device)
        self.device = self._pieces.device
        self.loss = self._pieces.loss
        self.sampler = self._pieces.sampler
        self.counts = splits.class_counts("train")
        self.select_from = first_epoch_of(strategy.select_after, epochs)
        self._score = validation_scorer(
            splits, metric or DEFAULT_METRICS[task_of(splits)], boundaries
        )
        self._on_epoch = on_epoch
        self._selection: CheckpointSelection | None = None
        self.epochs_begun = 0
        self.scores: list[float] = []

    @property
    def normed_head(self) -> bool:
        """Whether the strategy trains a cosine classifier head."""
        return self.strategy.normed_head

    @property
    def logit_scale(self) -> float:
        """The factor from the model's outputs to logits (30 for LDAM's cosines, else 1)."""
        return self.strategy.logit_scale

    def begin_epoch(self, epoch: int) -> None:
        """Call at the start of every epoch (0-based): sets the loss's class weights of the
        deferred re-weighting schedule and moves the sampler to the epoch."""
        self._pieces.begin_epoch(epoch)
        if self._on_epoch is not None and epoch > 0:
            self._on_epoch(epoch)
        self.epochs_begun = max(self.epochs_begun, epoch + 1)

    def score(self, val_outputs: Any) -> float:
        """The comparison's metric of the model's validation outputs (N_val, C), higher is
        better (``ece`` negated): what selects checkpoints. Each call is one point of the
        run's training curve in the report."""
        logits = torch.as_tensor(val_outputs).detach().float().cpu() * self.logit_scale
        value = self._score(logits)
        self.scores.append(value)
        return value

    def selection(self, model: nn.Module, *, patience: int | None = None) -> CheckpointSelection:
        """The checkpoint selection of the comparison's own runs, for ``model``: call its
        ``update(epoch, run.score(val_outputs), model)`` after every epoch (1-based; it
        returns True when ``patience`` epochs brought no better score) and ``restore(model)``
        at the end. The selected epoch goes into the report."""
        self._selection = CheckpointSelection(
            model,
            epochs=self.epochs,
            patience=self.epochs if patience is None else patience,
            select_after=self.strategy.select_after,
        )
        return self._selection

    @property
    def best_epoch(self) -> int:
        """The epoch (1-based) :meth:`selection` kept, 0 when none was used."""
        return 0 if self._selection is None else self._selection.best_epoch


class _CustomRun:
    """Trains one job with the user's training function (a RunJob)."""

    def __init__(
        self,
        train_fn: Callable[[TrainingRun], Any],
        splits: Any,
        *,
        epochs: int,
        device: str,
        metric: str,
        boundaries: tuple[float, float] | None,
    ) -> None:
        self.train_fn = train_fn
        self.splits = splits
        self.epochs = epochs
        self.device = device
        self.metric = metric
        self.boundaries = boundaries

    def __call__(self, job: Job, on_epoch: Callable[[int], Any] | None) -> RunResult:
        start = time.perf_counter()
        strategy = _strategy(job.strategy)
        run = TrainingRun(
            strategy,
            self.splits,
            seed=job.seed,
            epochs=self.epochs,
            device=self.device,
            metric=self.metric,
            boundaries=self.boundaries,
            on_epoch=on_epoch,
        )
        returned = self.train_fn(run)
        if not isinstance(returned, tuple) or len(returned) != 2:
            fail(
                "train_fn",
                "a function that returns (val_logits, test_logits)",
                type(returned).__name__,
                error=TypeError,
            )
        logits = []
        for key, value in zip(("val", "test"), returned):
            array = torch.as_tensor(value).detach().float().cpu().numpy()
            expected = (len(self.splits.targets(key)), self.splits.num_classes)
            if array.shape != expected:
                fail(f"train_fn's {key}_logits", f"of shape {expected}", array.shape)
            logits.append(strategy.logit_scale * array)
        return RunResult(
            val_logits=logits[0],
            test_logits=logits[1],
            best_epoch=run.best_epoch,
            epochs_run=run.epochs_begun,
            history={"val_score": run.scores},
            seconds=time.perf_counter() - start,
        )


# --- the comparisons -------------------------------------------------------------------------


def _executor(executor: Any, jobs: int | None, device: str) -> Executor:
    """``"local"`` (or None): worker processes here; ``"ray"``: Ray tasks (one GPU each on
    a GPU device); or an executor as it is."""
    if executor is None or executor == "local":
        return LocalExecutor(available_cores() if jobs is None else jobs, device)
    if executor == "ray":
        return RayExecutor(gpus=1.0 if torch.device(device).type == "cuda" else 0.0)
    if isinstance(executor, str) or not callable(executor):
        fail("executor", "'local', 'ray', None or an executor (such as RayExecutor)", executor)
    return executor


def _names(
    strategies: Sequence[str] | None,
    splits: Any,
    *,
    cosine: bool,
    why: str,
    notes: list[str],
) -> tuple[str, ...] | None:
    """The strategies to run: those asked for, or by default every one that applies, without
    the strategies with a cosine head when the model cannot have one (said in ``notes``)."""
    if strategies is not None:
        names = tuple(strategies)
        if not cosine:
            chosen = get_strategies(names, num_classes=splits.num_classes, task=task_of(splits))
            needing = [s.name for s in chosen if s.normed_head]
            if needing:
                fail("strategies", f"strategies without a cosine head ({why})", ", ".join(needing))
        return names
    if cosine:
        return None
    every = get_strategies(None, num_classes=splits.num_classes, task=task_of(splits))
    left_out = [s.name for s in every if s.normed_head]
    if left_out:
        notes.append(f"{', '.join(left_out)} left out: {why}.")
    return tuple(s.name for s in every if not s.normed_head)


def _labels(value: Any, key: str) -> np.ndarray:
    """The labels of a data set, or labels given as such (an array, tensor, list or tuple)."""
    if isinstance(value, (np.ndarray, torch.Tensor, list, tuple)) and not isinstance(
        value, Dataset
    ):
        return label_array(value, key)
    return dataset_labels(value, name=key)


def _classes_of(dataset: Any, width: int) -> tuple[Hashable, ...] | None:
    """The class names a data set holds (``classes``, as torchvision's have; a Subset's data
    set's), when there is one per class."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    names = getattr(dataset, "classes", None)
    if isinstance(names, (list, tuple)) and len(names) == width:
        return tuple(names)
    return None


def _check_common(
    seeds: int,
    epochs: int,
    jobs: int | None,
    resamples: int,
    device: str,
) -> None:
    check_positive_int("seeds", seeds)
    check_positive_int("epochs", epochs)
    if jobs is not None:
        check_positive_int("jobs", jobs)
    check_positive_int("resamples", resamples)
    try:
        torch.device(device)
    except (RuntimeError, TypeError):
        fail("device", "a torch device such as 'cpu', 'cuda' or 'cuda:1'", device)


@dataclass(frozen=True)
class PreparedComparison:
    """A comparison checked and ready to run (see :func:`prepare_model`).

    Attributes:
        splits: the labels of the data sets, with the notes the report will show.
        config: the settings, resolved (the strategies and the metric chosen).
        training: what trains the models, in the report's words and settings.
        job: what trains one run (a :class:`~counterpoise.compare.execution.RunJob`).
        executor: what runs the jobs.
        out: the report folder, or None.
    """

    splits: Any
    config: CompareConfig
    training: TrainingSummary
    job: Any
    executor: Executor
    out: Path | None = None

    def run(self, progress: Any = None) -> CompareResult:
        """:meth:`train`, then write the report into ``out`` (when given)."""
        result = self.train(progress)
        if self.out is not None:
            write_report(result, self.out)
        return result

    def train(self, progress: Any = None) -> CompareResult:
        """Train every run (loading those saved in ``out``, and saving each as it finishes)
        and score them; ``progress`` is a ``rich.progress.Progress`` or None."""
        store = None
        if self.out is not None:
            settings = {
                **self.training.settings,
                "metric": self.config.metric,
                "boundaries": self.config.boundaries,
            }
            s = self.splits
            key = fingerprint(settings, s.y_train, s.y_val, s.y_test)
            store = RunStore(self.out / "runs", settings, key=key)
        return run_strategies(
            self.splits,
            self.config,
            self.job,
            progress=progress,
            executor=self.executor,
            store=store,
            training=self.training,
        )


def _folder(out: str | Path | None) -> Path | None:
    return None if out is None else Path(out)


def prepare_model(
    model: Callable[[], nn.Module],
    train: Any,
    val: Any,
    test: Any = None,
    *,
    strategies: Sequence[str] | None = None,
    seeds: int = 3,
    epochs: int = DEFAULT_EPOCHS,
    patience: int | None = None,
    optimizer: Optimizer | None = None,
    batch_size: int = 64,
    device: str = "cpu",
    metric: str | None = None,
    boundaries: tuple[float, float] | None = None,
    classes: Sequence[Hashable] | None = None,
    name: str | None = None,
    loader_options: Mapping[str, Any] | None = None,
    jobs: int | None = None,
    resamples: int = RESAMPLES,
    out: str | Path | None = None,
    executor: Literal["local", "ray"] | Executor | None = None,
) -> PreparedComparison:
    """The checks and preparations of :func:`compare_model`, without training: the data's
    labels read and checked, the model built once and run on two validation samples, the
    strategies chosen. Every error of bad data, settings or model comes from here, before any
    run trains; :meth:`PreparedComparison.run` then runs the comparison. The arguments are
    those of :func:`compare_model` but ``progress``.

    Returns:
        A :class:`PreparedComparison`.
    """
    if not callable(model):
        fail("model", "a callable that returns a torch.nn.Module", model, error=TypeError)
    _check_common(seeds, epochs, jobs, resamples, device)
    run_on = _executor(executor, jobs, device)
    check_positive_int("batch_size", batch_size)
    if patience is not None:
        check_positive_int("patience", patience)
    options = dict(loader_options or {})
    reserved = sorted(set(options) & set(_SET_BY_COMPARE))
    if reserved:
        fail(
            "loader_options",
            f"DataLoader options other than {', '.join(_SET_BY_COMPARE)}",
            reserved,
        )
    notes: list[str] = []
    if test is None:
        y = dataset_labels(val, name="val")
        first, second = _halves(y, seed=0)
        val, test = Subset(val, first.tolist()), Subset(val, second.tolist())
        notes.append(
            "No test set was given: the validation set was split in two halves, class by "
            "class, one to select checkpoints and strategies and one to test."
        )
    datasets = (train, val, test)
    labels = [dataset_labels(d, name=k) for k, d in zip(SPLIT_NAMES, datasets)]
    width = labels[0].shape[1] if labels[0].ndim == 2 else 1 + max(int(y.max()) for y in labels)
    if classes is None:
        classes = _classes_of(train, width)
    splits = label_splits(labels, name=name or type(train).__name__, classes=classes)
    device_ = torch.device(device)
    optimizer = optimizer or _adam
    probe = _probe(model, optimizer, val, splits.num_classes, options, device_)
    names = _names(
        strategies,
        splits,
        cosine=probe.head is not None,
        why="LDAM needs a cosine classifier head, and the model's logits are not the output "
        "of a final nn.Linear layer that could be replaced by one",
        notes=notes,
    )
    patience = epochs if patience is None else patience
    config = CompareConfig(
        seeds=seeds,
        metric=metric,
        strategies=names,
        train=TrainConfig(epochs=epochs, patience=patience, batch_size=batch_size, device=device),
        boundaries=boundaries,
        jobs=jobs,
        resamples=resamples,
    )
    config = resolve_config(config, splits)
    metric = config.metric or DEFAULT_METRICS[task_of(splits)]
    chosen = get_strategies(config.strategies, num_classes=splits.num_classes, task=task_of(splits))
    cosine = [s.name for s in chosen if s.normed_head]
    layer = "the model (a linear layer)" if probe.head == "" else f"the output layer `{probe.head}`"
    head_words = (
        f" {', '.join(cosine)} replaces {layer} by a cosine classifier of the same shape "
        "(LDAM's head)."
        if cosine
        else ""
    )
    stopping = f", early stopping with patience {patience}" if patience < epochs else ""
    summary = TrainingSummary(
        text=f"The model `{probe.name}` ({probe.parameters:,} parameters), {probe.optimizer}, "
        f"batch size {batch_size}, at most {epochs} epochs{stopping}, the checkpoint with the "
        f"best validation {metric} kept. Every strategy starts from the same weights for a "
        f"seed and sees the same data order unless it samples.{head_words}",
        inputs=probe.inputs,
        settings={
            "model": probe.name,
            "parameters": probe.parameters,
            "optimizer": probe.optimizer,
            "output_layer": probe.head,
            "epochs": epochs,
            "patience": patience,
            "batch_size": batch_size,
            "device": device,
        },
    )
    splits = _with_notes(splits, notes)
    run = ModelRun(
        model,
        datasets,
        splits,
        optimizer=optimizer,
        train=config.train,
        metric=metric,
        boundaries=config.boundaries,
        loader_options=options,
        head=probe.head,
    )
    return PreparedComparison(splits, config, summary, run, run_on, _folder(out))


def compare_model(
    model: Callable[[], nn.Module],
    train: Any,
    val: Any,
    test: Any = None,
    *,
    strategies: Sequence[str] | None = None,
    seeds: int = 3,
    epochs: int = DEFAULT_EPOCHS,
    patience: int | None = None,
    optimizer: Optimizer | None = None,
    batch_size: int = 64,
    device: str = "cpu",
    metric: str | None = None,
    boundaries: tuple[float, float] | None = None,
    classes: Sequence[Hashable] | None = None,
    name: str | None = None,
    loader_options: Mapping[str, Any] | None = None,
    jobs: int | None = None,
    resamples: int = RESAMPLES,
    out: str | Path | None = None,
    executor: Literal["local", "ray"] | Executor | None = None,
    progress: Any = None,
) -> CompareResult:
    """Train your model with every imbalance strategy on your data and rank the strategies.

    The protocol of ``counterpoise compare``, on your model: each (strategy, seed) run builds
    the model by ``model()`` after ``torch.manual_seed(seed)`` (every strategy of a seed starts
    from the same weights), trains it with the strategy's loss and sampler (see
    :class:`ModelRun`), and keeps the checkpoint with the best validation ``metric``. Post-hoc
    strategies correct the ``ce`` model's outputs; the strategies are ranked and one selected
    on validation, and scored on the test set with bootstrap intervals and paired differences
    to the baseline.

    The data sets are map-style (``__len__`` and ``__getitem__``) and yield ``(input, label)``;
    the comparison builds every DataLoader itself, because the training order is part of a
    strategy (its sampler): ``loader_options`` passes the rest (``num_workers``, ``collate_fn``,
    ``pin_memory``...). A batch's inputs (a tensor, or tuples, lists and dictionaries of them)
    are moved to ``device`` and passed to the model as ``model(inputs)``; its output must be
    logits (N, C). A label is a class index 0..C-1, or for multilabel data a float vector of L
    targets, 1, 0 or -1 (not annotated); multilabel data is compared with the multilabel
    strategies. Labels are read without loading inputs where a data set exposes them
    (``targets`` or ``labels``, a Subset or ConcatDataset of such, a TensorDataset), else
    by loading every sample once.

    ``ldam_drw`` trains a cosine classifier (LDAM's head): the model's output layer (the last
    ``nn.Linear`` whose output is the model's output) is replaced by one of the same shape
    (:func:`cosine_head`) and its cosines scaled by 30. A model whose logits are not the
    output of such a layer cannot have one: ``ldam_drw`` is then left out (the report says so),
    and naming it is an error.

    Args:
        model: a callable without arguments that returns a fresh ``nn.Module`` (e.g. the
            model's class); it must be picklable to run in worker processes that are spawned
            (not forked) or on Ray.
        train: the training data set.
        val: the validation data set: selects checkpoints and strategies.
        test: the test data set; None splits ``val`` in two halves, class by class (the first
            positive label of a multilabel row), one for validation and one for the test
            (the report says so).
        strategies: strategy names (default: all that apply, see ``counterpoise compare
            --list``).
        seeds: seeds per strategy (seeds 0..seeds-1).
        epochs: the most epochs a run trains.
        patience: epochs without a better validation score before a run stops; None trains
            every epoch.
        optimizer: builds the optimiser from the model's parameters, e.g.
            ``lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)``; default Adam, lr 0.001.
        batch_size: samples per training (and evaluation) step.
        device: where to train, e.g. ``"cpu"`` or ``"cuda"``.
        metric: the metric that selects checkpoints and ranks strategies (default
            ``balanced_accuracy``; ``map`` for multilabel data).
        boundaries: the label groups of multilabel data, ``(low, high)`` training positives.
        classes: the name of each class (label), in index order; default the training data
            set's ``classes`` when it has one per class, else ``0..C-1``.
        name: the data's name in the report (default the training data set's type).
        loader_options: keywords of every DataLoader, other than those the comparison sets
            (``batch_size``, ``shuffle``, ``sampler``, ``batch_sampler``, ``drop_last``,
            ``generator``).
        jobs: worker processes that train at once with the local executor, each with one
            PyTorch thread (None: the CPU cores available; 1 trains in this process; runs on
            a GPU train one after another in this process).
        resamples: bootstrap replicates of the intervals.
        out: a folder for the report (results.json, report.md, plots) and for every finished
            run (``runs/``), saved as it finishes: the same comparison run again loads them
            and trains only the runs that are missing. None writes nothing.
        executor: ``"local"`` (default: worker processes on this machine), ``"ray"`` (each run
            a Ray task asking for one CPU, and one GPU on a GPU device; connects to the cluster
            of ``RAY_ADDRESS``, or to the one ``ray.init`` was called for, else starts Ray
            here), or an executor such as :class:`~counterpoise.compare.ray_executor.RayExecutor`
            for other resources, retries or addresses.
        progress: a ``rich.progress.Progress`` to report to, or None.

    Returns:
        The :class:`~counterpoise.compare.runner.CompareResult`.

    Raises:
        TypeError: for a model factory or optimiser that does not return a module (an
            optimiser), or data sets that do not yield ``(input, label)``.
        ValueError: for bad settings, labels (see
            :func:`~counterpoise.compare.torch_data.label_splits`), model outputs that are not
            (N, C) logits, or strategies that do not apply; all before any run trains.
        RunsFailed: when runs failed for good (on Ray, after its retries); the other runs
            finished and, with ``out``, are saved.

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> g = torch.Generator().manual_seed(0)
        >>> def data(n):
        ...     y = torch.arange(n) % 4 // 3  # one sample in four is of class 1
        ...     return TensorDataset(torch.randn(n, 5, generator=g) + y[:, None], y)
        >>> result = compare_model(lambda: nn.Linear(5, 2), data(64), data(40), data(40),
        ...                        strategies=["ce", "ce_balanced"], seeds=2, epochs=2, jobs=1)
        >>> result.splits.class_counts("train").tolist(), [len(result.runs[n]) for n in result.runs]
        ([48, 16], [2, 2])
        >>> result.selected == result.ranking()[0]
        True
    """
    return prepare_model(
        model,
        train,
        val,
        test,
        strategies=strategies,
        seeds=seeds,
        epochs=epochs,
        patience=patience,
        optimizer=optimizer,
        batch_size=batch_size,
        device=device,
        metric=metric,
        boundaries=boundaries,
        classes=classes,
        name=name,
        loader_options=loader_options,
        jobs=jobs,
        resamples=resamples,
        out=out,
        executor=executor,
    ).run(progress)


def _with_notes(splits: Any, notes: list[str]) -> Any:
    return replace(splits, notes=tuple(dict.fromkeys((*splits.notes, *notes))))


def compare_custom(
    train_fn: Callable[[TrainingRun], tuple[Any, Any]],
    train: Any,
    val: Any,
    test: Any,
    *,
    strategies: Sequence[str] | None = None,
    seeds: int = 3,
    epochs: int = DEFAULT_EPOCHS,
    device: str = "cpu",
    metric: str | None = None,
    boundaries: tuple[float, float] | None = None,
    classes: Sequence[Hashable] | None = None,
    name: str = "data",
    description: str = "Trained by the user's own training function.",
    inputs: str = "those of the user's training function",
    jobs: int | None = None,
    resamples: int = RESAMPLES,
    out: str | Path | None = None,
    executor: Literal["local", "ray"] | Executor | None = None,
    progress: Any = None,
) -> CompareResult:
    """Rank the imbalance strategies with your own training loop: the comparison hands each
    run what its strategy needs and scores what the run returns.

    For every (strategy, seed) run, ``train_fn`` is called with a :class:`TrainingRun`: the
    strategy's loss module (built from the training counts), its sampler or None, the seed,
    the budget, and :meth:`TrainingRun.begin_epoch`, to call at the start of every epoch (it
    sets the class weights of deferred re-weighting and moves the sampler to the epoch).
    :meth:`TrainingRun.score` gives the comparison's validation metric of a model's outputs
    and :meth:`TrainingRun.selection` the comparison's checkpoint selection, to keep the best
    epoch. ``train_fn`` returns the outputs of its final model on the validation and test sets,
    ``(val_logits, test_logits)``, in the order of their labels. Post-hoc strategies,
    validation and test reports, selection, intervals and the report are the comparison's.

    Strategies with a cosine head (``ldam_drw``) are left out by default, since only the
    training function can give its model one; named, they run, and ``train_fn`` must train
    a cosine head when :attr:`TrainingRun.normed_head` is True (for instance with
    :func:`cosine_head`) and return its cosines, which the comparison scales.

    Args:
        train_fn: trains one run, as above. With worker processes that are spawned (not
            forked), or on Ray, it must be picklable (Ray pickles closures too).
        train, val, test: the labels of the training, validation and test sets (arrays,
            tensors or lists: class indices (N,) or multilabel targets (N, L)), or data sets
            that yield ``(input, label)`` (their labels are read as :func:`compare_model`
            reads them).
        strategies: as for :func:`compare_model`.
        seeds: as for :func:`compare_model`.
        epochs: the budget, in which the deferred re-weighting schedule and the selection
            are placed.
        device: where the loss lives.
        metric: as for :func:`compare_model`.
        boundaries: as for :func:`compare_model`.
        classes: as for :func:`compare_model`.
        jobs: as for :func:`compare_model`.
        resamples: as for :func:`compare_model`.
        out: as for :func:`compare_model`.
        executor: as for :func:`compare_model`.
        progress: as for :func:`compare_model`.
        name: the data's name in the report.
        description: the report's sentence on the model and its training.
        inputs: the model's inputs in words, for the report.

    Returns:
        The :class:`~counterpoise.compare.runner.CompareResult`.

    Raises:
        TypeError: for a ``train_fn`` that does not return two outputs.
        ValueError: for bad settings or labels, before any run trains; for outputs of the
            wrong shape.
        RunsFailed: when runs failed for good; the other runs finished and, with ``out``, are
            saved.

    Example:
        >>> y_train, y_val, y_test = [0] * 30 + [1] * 6, [0, 1] * 6, [0, 1] * 6
        >>> def train_fn(run):  # a "model" that predicts by the class weights of the loss
        ...     w = getattr(run.loss, "weight", None)
        ...     bias = torch.log(torch.ones(2) if w is None else w)
        ...     return bias.expand(12, 2), bias.expand(12, 2)
        >>> result = compare_custom(train_fn, y_train, y_val, y_test,
        ...                         strategies=["ce", "ce_balanced"], seeds=1, jobs=1)
        >>> result.predictions["ce_balanced"][0].pred[:4].tolist()
        [1, 1, 1, 1]
    """
    if not callable(train_fn):
        fail("train_fn", "a function of a TrainingRun", train_fn, error=TypeError)
    _check_common(seeds, epochs, jobs, resamples, device)
    run_on = _executor(executor, jobs, device)
    labels = [_labels(v, k) for k, v in zip(SPLIT_NAMES, (train, val, test))]
    splits = label_splits(labels, name=name, classes=classes)
    notes: list[str] = []
    names = (
        tuple(strategies)
        if strategies is not None
        else _names(
            None,
            splits,
            cosine=False,
            why="LDAM needs a cosine classifier head, which only the training function can "
            "give its model (name the strategy to run it)",
            notes=notes,
        )
    )
    config = CompareConfig(
        seeds=seeds,
        metric=metric,
        strategies=names,
        train=TrainConfig(epochs=epochs, patience=epochs, device=device),
        boundaries=boundaries,
        jobs=jobs,
        resamples=resamples,
    )
    config = resolve_config(config, splits)
    metric = config.metric or DEFAULT_METRICS[task_of(splits)]
    splits = _with_notes(splits, notes)
    summary = TrainingSummary(
        text=f"{description} Budget {epochs} epochs, checkpoints selected on validation {metric}.",
        inputs=inputs,
        settings={"training": description, "epochs": epochs, "device": device},
    )
    run = _CustomRun(
        train_fn,
        splits,
        epochs=epochs,
        device=device,
        metric=metric,
        boundaries=config.boundaries,
    )
    return PreparedComparison(splits, config, summary, run, run_on, _folder(out)).run(progress)


def import_object(text: str, name: str) -> Any:
    """The object an import string ``"package.module:attribute"`` names (the attribute may
    be dotted, ``"module:Class.method"``).

    Raises:
        ValueError: for a string that is not of that form, a module that cannot be imported
            or an attribute it does not have; the message names the option ``name``.

    Example:
        >>> import_object("collections:OrderedDict", "model").__name__
        'OrderedDict'
    """
    module_name, colon, attribute = text.partition(":")
    if not colon or not module_name or not attribute:
        fail(name, "an import string 'module:attribute', such as 'mypackage.models:build'", text)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        fail(name, f"an import string whose module can be imported ({error})", text)
    value: Any = module
    for part in attribute.split("."):
        if not hasattr(value, part):
            fail(name, f"an import string naming an attribute of the module {module_name!r}", text)
        value = getattr(value, part)
    return value
