"""The code that applies a strategy in the user's own training loop, with the data's numbers.

:func:`snippet` writes, for any strategy of :data:`~counterpoise.compare.strategies.STRATEGIES`,
the lines a user pastes into their training script: the training counts as a tensor, the loss
(or sampler, or schedule) built from them as ``compare`` built it, and for a post-hoc strategy
the call that corrects the trained model's outputs. Each snippet runs as it is (tested), given
the names it says it expects (``y_train``, ``logits``, ``probs``...).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..losses.registry import LOSSES
from ..weights import class_weights
from .strategies import LDAM_SCALE, STRATEGIES, LabelStats, Strategy, first_epoch_of

__all__ = ["snippet"]

#: Numbers per line in a printed vector.
_PER_LINE = 12


def _vector(values: Any, integer: bool, digits: int = 4) -> str:
    """A Python list literal of ``values`` (to ``digits`` significant digits unless
    ``integer``), wrapped after :data:`_PER_LINE` numbers."""
    items = [
        str(int(v)) if integer else f"{float(v):.{digits}g}" for v in np.asarray(values).ravel()
    ]
    if len(items) <= _PER_LINE:
        return "[" + ", ".join(items) + "]"
    rows = [", ".join(items[i : i + _PER_LINE]) for i in range(0, len(items), _PER_LINE)]
    return "[\n    " + ",\n    ".join(rows) + ",\n]"


def _kwargs(options: dict[str, Any]) -> str:
    """``k=v, ...`` with strings in double quotes, as the code formatter writes them."""
    return ", ".join(
        f'{k}="{v}"' if isinstance(v, str) else f"{k}={v!r}" for k, v in options.items()
    )


def _counts_line(counts: np.ndarray | LabelStats) -> list[str]:
    if isinstance(counts, LabelStats):
        values = counts.counts.numpy()
        whole = bool(np.all(values == np.round(values)))
        note = (
            "# training positives per label"
            if whole
            else "# training positives per label, at each label's rate among annotated rows"
        )
        return [f"counts = torch.tensor({_vector(values, whole, digits=8)})  {note}"]
    return [f"counts = torch.tensor({_vector(counts, True)})  # training samples per class"]


def snippet(
    name: str, counts: np.ndarray | LabelStats, *, epochs: int, ignore_value: float | None = None
) -> str:
    """The code that applies strategy ``name`` in one's own training.

    Args:
        name: a strategy of :data:`~counterpoise.compare.strategies.STRATEGIES`.
        counts: the training samples per class (C,), or for multilabel data the training
            :class:`~counterpoise.compare.strategies.LabelStats`.
        epochs: the training budget (where deferred re-weighting starts).
        ignore_value: the target value of unannotated multilabel entries, or None.

    Returns:
        Python source, starting with its imports.

    Example:
        >>> print(snippet("ce_balanced", np.array([90, 10]), epochs=100))
        import torch
        import counterpoise as cp
        <BLANKLINE>
        counts = torch.tensor([90, 10])  # training samples per class
        weight = cp.class_weights(counts, "balanced")  # [0.5556, 5]
        loss_fn = torch.nn.CrossEntropyLoss(weight=weight)
    """
    st = STRATEGIES[name]
    while st.same_as is not None:
        st = STRATEGIES[st.same_as]
    lines = ["import torch", "import counterpoise as cp", "", *_counts_line(counts)]
    if st.correct is not None:
        return "\n".join(lines + _posthoc(st))
    lines += _loss(st, counts, ignore_value)
    if st.make_sampler is not None:
        scheme = getattr(st.make_sampler, "scheme", "balanced")
        lines += [
            f'sampler = cp.ClassBalancedSampler(y_train, "{scheme}", seed=0)',
            "# DataLoader(train_set, batch_size=..., sampler=sampler);",
            "# call sampler.set_epoch(epoch) at the start of every epoch",
        ]
    if st.deferred is not None:
        d = st.deferred
        options = "".join(f", {_kwargs({k: v})}" for k, v in d.options.items())
        start = first_epoch_of(d.at, epochs)
        lines += [
            f'drw = cp.DeferredReweighting(cp.class_weights(counts, "{d.scheme}"{options}), '
            f"start_epoch={start})",
            f"# at the start of every epoch (uniform weights until epoch {start} of {epochs}):",
            f"# loss_fn.{LOSSES[str(st.loss)].weight} = drw.weights_at(epoch)",
        ]
    if st.normed_head:
        lines += [
            "# the model's last layer is a cosine classifier: logits are cosines between",
            "# normalised features and normalised class vectors; probabilities are",
            f"# softmax({LDAM_SCALE:g} * cosines)",
        ]
    return "\n".join(lines)


def _loss(st: Strategy, counts: np.ndarray | LabelStats, ignore_value: float | None) -> list[str]:
    entry = LOSSES[str(st.loss)]
    options = dict(st.loss_options)
    module = entry.module.__name__
    if isinstance(counts, LabelStats):
        extra = {} if ignore_value is None else {"ignore_value": ignore_value}
        if not hasattr(entry.module, "from_counts"):  # depends on no counts
            return [f"loss_fn = cp.{module}({_kwargs({**options, **extra})})"]
        args = _kwargs({"num_samples": counts.rows, **options, **extra})
        return [f"loss_fn = cp.{module}.from_counts(counts, {args})"]
    scheme = options.pop("scheme", "none")
    if entry.name == "cross_entropy" and not options:
        if scheme == "none":
            return ["loss_fn = torch.nn.CrossEntropyLoss()"]
        line = f'weight = cp.class_weights(counts, "{scheme}")'
        if len(counts) <= _PER_LINE:
            values = class_weights(torch.from_numpy(np.asarray(counts)), scheme).tolist()
            line += "  # " + _vector(values, False)
        return [line, "loss_fn = torch.nn.CrossEntropyLoss(weight=weight)"]
    return [f"loss_fn = cp.{module}.from_counts(counts, {_kwargs({'scheme': scheme, **options})})"]


def _posthoc(st: Strategy) -> list[str]:
    base = st.base
    if st.name == "posthoc_adjusted":
        return [
            f"# after training with `{base}`, at prediction time:",
            "logits = cp.adjust_logits(logits, counts / counts.sum(), tau=1.0)",
        ]
    if st.name == "prior_corrected":
        return [
            f"# after training with `{base}`, at prediction time: move the probabilities from",
            "# the prior the weighted model learnt to the class prior of the deployment data",
            "deployment_prior = counts / counts.sum()  # or the prior you expect",
            'learnt = counts * cp.class_weights(counts, "balanced")',
            "probs = cp.prior_shift(probs, learnt, deployment_prior)",
        ]
    if st.name == "threshold_tuned":
        return [
            f"# after training with `{base}`: tune the threshold on validation, then predict",
            'tuned = cp.tune_thresholds(val_probs[:, 1], y_val, metric="f1")',
            "pred = (probs[:, 1] >= float(tuned.thresholds)).long()",
        ]
    return [f"# `{st.name}`: {st.summary}"]
