"""The Hugging Face Trainer integration: exact weighted means under gradient accumulation.

Tiny BERT models are built from configurations (nothing is downloaded) in float64 without
dropout, and trained for one SGD step by the real ``transformers.Trainer``; the updated
parameters are compared with one step on a loss computed by hand with PyTorch's own functions.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import counterpoise as cp

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SRC = str(Path(__file__).resolve().parents[2] / "src")
N, T, C = 8, 5, 3  # samples, tokens per sample, classes (labels, for multilabel)
LR = 0.5
# Deliberately not normalised so that the weights of a batch sum to its size: with such
# weights, dividing by the label count would coincide with the weighted mean.
WEIGHT = torch.tensor([0.5, 2.0, 7.0], dtype=torch.float64)
POS_WEIGHT = torch.tensor([3.0, 0.5, 1.5], dtype=torch.float64)
KINDS = ("sequence", "token", "multilabel")


@pytest.fixture(scope="module")
def hf() -> Any:
    pytest.importorskip("transformers")
    from counterpoise.integrations import transformers as hf

    return hf


def _model(kind: str) -> torch.nn.Module:
    from transformers import BertConfig, BertForSequenceClassification, BertForTokenClassification

    config = BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        num_labels=C,
        problem_type="multi_label_classification" if kind == "multilabel" else None,
    )
    torch.manual_seed(0)
    model_class = BertForTokenClassification if kind == "token" else BertForSequenceClassification
    return model_class(config).double()


def _data(kind: str, n: int = N, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, 50, (n, T), generator=g)
    if kind == "sequence":
        labels: torch.Tensor = torch.tensor([0, 0, 0, 0, 1, 1, 2, 0] * (n // 8))
    elif kind == "token":
        labels = torch.randint(0, C, (n, T), generator=g)
        labels[:, 0] = -100  # a special token
        labels[torch.rand(n, T, generator=g) < 0.3] = -100
    else:
        labels = (torch.rand(n, C, generator=g) < torch.tensor([0.2, 0.5, 0.8])).double()
    return [
        {"input_ids": ids[i], "attention_mask": torch.ones(T, dtype=torch.long), "labels": y}
        for i, y in enumerate(labels)
    ]


def _loss(hf: Any, kind: str) -> Any:
    if kind == "multilabel":
        return hf.TrainerLoss(cp.WeightedBCEWithLogitsLoss(POS_WEIGHT))
    return hf.TrainerLoss(cp.WeightedCrossEntropyLoss(WEIGHT))


def _reference(kind: str, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The weighted mean over the whole batch, by PyTorch."""
    if kind == "multilabel":
        return F.binary_cross_entropy_with_logits(logits, labels, pos_weight=POS_WEIGHT)
    return F.cross_entropy(logits.reshape(-1, C), labels.reshape(-1), weight=WEIGHT)


def _per_count(kind: str, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The weighted sum over the number of labels that are not -100."""
    x, y = logits.reshape(-1, C), labels.reshape(-1)
    return F.cross_entropy(x, y, weight=WEIGHT, reduction="sum") / (y != -100).sum()


def _train(
    trainer_class: type,
    model: torch.nn.Module,
    data: list[dict[str, torch.Tensor]],
    loss: Callable[..., torch.Tensor],
    tmp_path: Path,
    batch_size: int,
    accumulation: int,
) -> torch.nn.Module:
    from transformers import TrainingArguments

    args = TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=len(data),
        gradient_accumulation_steps=accumulation,
        max_steps=1,
        learning_rate=LR,
        optim="sgd",
        lr_scheduler_type="constant",
        weight_decay=0.0,
        max_grad_norm=0.0,
        use_cpu=True,
        report_to=[],
        save_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
        seed=0,
    )
    trainer = trainer_class(model=model, args=args, train_dataset=data, compute_loss_func=loss)
    trainer.train()
    return model


def _step_by_hand(
    model: torch.nn.Module,
    data: list[dict[str, torch.Tensor]],
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> torch.nn.Module:
    """One SGD step on ``loss`` over the whole data as one batch."""
    ids = torch.stack([d["input_ids"] for d in data])
    labels = torch.stack([d["labels"] for d in data])
    logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    loss(logits, labels).backward()
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p -= LR * p.grad
    return model


def _max_difference(a: torch.nn.Module, b: torch.nn.Module) -> float:
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("batch_size", "accumulation"), [(2, 4), (8, 1), (3, 3)])
def test_accumulated_step_is_the_weighted_mean_of_the_whole_batch(
    hf: Any, kind: str, batch_size: int, accumulation: int, tmp_path: Path
) -> None:
    # (3, 3): micro-batches of 3, 3 and 2 samples
    data = _data(kind)
    model = _model(kind)
    reference = _step_by_hand(copy.deepcopy(model), data, lambda x, y: _reference(kind, x, y))
    trained = _train(
        hf.WeightedLossTrainer, model, data, _loss(hf, kind), tmp_path, batch_size, accumulation
    )
    assert _max_difference(trained, reference) < 1e-10
    assert _max_difference(trained, _model(kind)) > 1e-3  # the step did move the parameters


@pytest.mark.parametrize("kind", ["sequence", "token"])
def test_dividing_by_the_label_count_is_another_objective(
    hf: Any, kind: str, tmp_path: Path
) -> None:
    # The plain Trainer passes the number of labels as `num_items_in_batch`: a loss divided by
    # it (by hand, or TrainerLoss) is consistent under accumulation, but it is the weighted
    # sum over N, not the weighted mean: the naive approach fails the test above.
    from transformers import Trainer

    data = _data(kind)
    model = _model(kind)
    weighted_mean = _step_by_hand(copy.deepcopy(model), data, lambda x, y: _reference(kind, x, y))
    per_count = _step_by_hand(copy.deepcopy(model), data, lambda x, y: _per_count(kind, x, y))

    def naive(outputs: Any, labels: torch.Tensor, num_items_in_batch: Any = None) -> torch.Tensor:
        x, y = outputs.logits.reshape(-1, C), labels.reshape(-1)
        return F.cross_entropy(x, y, weight=WEIGHT, reduction="sum") / num_items_in_batch

    for loss in (naive, _loss(hf, kind)):
        trained = _train(Trainer, copy.deepcopy(model), data, loss, tmp_path, 2, 4)
        assert _max_difference(trained, per_count) < 1e-10
        assert _max_difference(trained, weighted_mean) > 1e-4


def test_plain_trainer_is_exact_for_count_normalised_losses(hf: Any, tmp_path: Path) -> None:
    # BCE's mean counts elements: the Trainer's label count is already its denominator
    from transformers import Trainer

    data, model = _data("multilabel"), _model("multilabel")
    reference = _step_by_hand(
        copy.deepcopy(model), data, lambda x, y: _reference("multilabel", x, y)
    )
    trained = _train(Trainer, model, data, _loss(hf, "multilabel"), tmp_path, 2, 4)
    assert _max_difference(trained, reference) < 1e-10


@pytest.mark.parametrize("kind", KINDS)
def test_evaluation_loss_is_the_weighted_mean(hf: Any, kind: str, tmp_path: Path) -> None:
    model = _model(kind)
    trainer = hf.WeightedLossTrainer(
        model=model,
        args=_args_for_eval(tmp_path),
        eval_dataset=_data(kind, seed=1),
        compute_loss_func=_loss(hf, kind),
    )
    metrics = trainer.evaluate()
    evaluation = _data(kind, seed=1)
    ids = torch.stack([d["input_ids"] for d in evaluation])
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    expected = _reference(kind, logits, torch.stack([d["labels"] for d in evaluation]))
    assert metrics["eval_loss"] == pytest.approx(expected.item(), rel=1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_evaluation_loss_over_several_batches_averages_their_weighted_means(
    hf: Any, kind: str, tmp_path: Path
) -> None:
    # Documented: the Trainer averages the batches' losses weighted by their numbers of
    # samples. Batches of 3, 3 and 2 samples; each batch's loss is its own weighted mean.
    model = _model(kind)
    evaluation = _data(kind, seed=1)
    trainer = hf.WeightedLossTrainer(
        model=model,
        args=_args_for_eval(tmp_path, batch_size=3),
        eval_dataset=evaluation,
        compute_loss_func=_loss(hf, kind),
    )
    metrics = trainer.evaluate()
    ids = torch.stack([d["input_ids"] for d in evaluation])
    labels = torch.stack([d["labels"] for d in evaluation])
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    bounds = [(0, 3), (3, 6), (6, 8)]
    batch_means = [_reference(kind, logits[a:b], labels[a:b]).item() for a, b in bounds]
    expected = sum((b - a) * m for (a, b), m in zip(bounds, batch_means)) / N
    assert metrics["eval_loss"] == pytest.approx(expected, rel=1e-9)
    whole = _reference(kind, logits, labels).item()
    if kind == "multilabel":  # a mean over elements: the samples' average is the whole mean
        assert metrics["eval_loss"] == pytest.approx(whole, rel=1e-9)
    else:  # class weights: not the weighted mean of the whole evaluation set
        assert abs(metrics["eval_loss"] - whole) > 1e-4


def test_label_smoothing_factor_is_refused(hf: Any, tmp_path: Path) -> None:
    # The Trainer skips its label smoother when a compute_loss_func is given: silently
    # ignored, the factor is an error; the loss's own label smoothing is the way.
    from transformers import TrainingArguments

    args = TrainingArguments(
        output_dir=str(tmp_path), label_smoothing_factor=0.1, use_cpu=True, report_to=[]
    )
    with pytest.raises(
        ValueError, match=r"`args\.label_smoothing_factor` must be 0 .*pass `label_smoothing`"
    ):
        hf.WeightedLossTrainer(
            model=_model("sequence"), args=args, compute_loss_func=_loss(hf, "sequence")
        )
    smoothed = hf.TrainerLoss(cp.WeightedCrossEntropyLoss(WEIGHT, label_smoothing=0.1))
    trainer = hf.WeightedLossTrainer(
        model=_model("sequence"), args=_args_for_eval(tmp_path), compute_loss_func=smoothed
    )
    assert trainer.label_smoother is None and trainer.loss_is_scaled_for_ga is True


def _args_for_eval(tmp_path: Path, batch_size: int = N) -> Any:
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(tmp_path),
        per_device_eval_batch_size=batch_size,
        use_cpu=True,
        report_to=[],
        disable_tqdm=True,
    )


# Every supported softmax-family loss, from class weights w and counts n.
LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.nn.Module]] = {
    "cross_entropy": lambda w, n: cp.WeightedCrossEntropyLoss(w, label_smoothing=0.1),
    "focal": lambda w, n: cp.FocalLoss(w, gamma=2.0),
    "logit_adjusted": lambda w, n: cp.LogitAdjustedLoss(n, weight=w, tau=0.7),
    "balanced_softmax": lambda w, n: cp.BalancedSoftmaxLoss(n, weight=w),
    "ldam": lambda w, n: cp.LDAMLoss(n, weight=w, scale=5.0),
    "cost_sensitive": lambda w, n: cp.CostSensitiveLoss(w, cross_entropy_weight=0.5),
    "unweighted": lambda w, n: cp.WeightedCrossEntropyLoss(),
}


@settings(max_examples=80, deadline=None)
@given(
    name=st.sampled_from(sorted(LOSSES)),
    num_classes=st.integers(2, 5),
    num_samples=st.integers(1, 7),
    tokens=st.sampled_from([None, 1, 4]),
    seed=st.integers(0, 2**31 - 1),
    data=st.data(),
)
def test_micro_batch_losses_add_up_to_the_mean_of_the_batch(
    hf: Any,
    name: str,
    num_classes: int,
    num_samples: int,
    tokens: int | None,
    seed: int,
    data: st.DataObject,
) -> None:
    g = torch.Generator().manual_seed(seed)
    weight = torch.rand(num_classes, generator=g, dtype=torch.float64) * 5 + 0.1
    counts = torch.randint(1, 1000, (num_classes,), generator=g).double()
    loss = LOSSES[name](weight, counts).double()
    trainer_loss = hf.TrainerLoss(loss)
    shape = (num_samples,) if tokens is None else (num_samples, tokens)
    logits = torch.randn(*shape, num_classes, generator=g, dtype=torch.float64) * 3
    labels = torch.randint(0, num_classes, shape, generator=g)
    labels[torch.rand(shape, generator=g) < 0.25] = -100
    cuts = sorted(data.draw(st.sets(st.integers(1, num_samples - 1))) if num_samples > 1 else [])
    bounds = list(zip([0, *cuts], [*cuts, num_samples]))

    total = trainer_loss.denominator(labels)
    parts = [
        trainer_loss({"logits": logits[a:b]}, labels[a:b], num_items_in_batch=total)
        for a, b in bounds
    ]
    whole = loss(logits.reshape(-1, num_classes), labels.reshape(-1))
    torch.testing.assert_close(torch.stack(parts).sum(), whole, rtol=1e-10, atol=1e-12)
    # the window's denominator is the sum of the micro-batches' denominators
    torch.testing.assert_close(
        total, torch.stack([trainer_loss.denominator(labels[a:b]) for a, b in bounds]).sum()
    )
    # no denominator: the mean of the batch alone; a tuple output is read as (logits, ...)
    torch.testing.assert_close(trainer_loss((logits,), labels), whole)
    if name == "cross_entropy" and bool((labels != -100).any()):
        expected = F.cross_entropy(
            logits.reshape(-1, num_classes),
            labels.reshape(-1),
            weight=loss.weight.double(),  # the float32 buffer: the weights rounded to it
            label_smoothing=0.1,
        )
        torch.testing.assert_close(whole, expected, rtol=1e-10, atol=1e-12)


def test_denominators(hf: Any) -> None:
    labels = torch.tensor([[0, 2, -100], [1, 2, 2]])
    weighted = hf.TrainerLoss(cp.FocalLoss(WEIGHT.float()))
    assert weighted.denominator(labels).item() == 0.5 + 7.0 + 2.0 + 7.0 + 7.0
    assert hf.TrainerLoss(cp.FocalLoss()).denominator(labels).item() == 5.0
    ignore_two = hf.TrainerLoss(cp.WeightedCrossEntropyLoss(WEIGHT, ignore_index=2))
    assert ignore_two.denominator(torch.tensor([0, 2, 1])).item() == 2.5
    targets = torch.rand(4, 3)
    assert hf.TrainerLoss(cp.SigmoidFocalLoss(reduction="mean")).denominator(targets) == 12
    assert hf.TrainerLoss(cp.WeightedCrossEntropyLoss()).denominator(targets) == 4  # rows
    assert weighted.denominator(labels).dtype == torch.float64


def test_binary_logit_per_sample(hf: Any) -> None:
    loss = hf.TrainerLoss(cp.WeightedBCEWithLogitsLoss([4.0]))
    logits, labels = torch.randn(5, 1), torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0])
    expected = F.binary_cross_entropy_with_logits(
        logits[:, 0], labels, pos_weight=torch.tensor([4.0])
    )
    torch.testing.assert_close(loss({"logits": logits}, labels, num_items_in_batch=5), expected)


@pytest.mark.parametrize("kind", ["sequence", "token"])
def test_from_dataset_counts_the_training_labels(hf: Any, kind: str) -> None:
    data = _data(kind, n=16)
    labels = torch.stack([d["labels"] for d in data])
    counts = cp.class_counts(labels, ignore_index=-100, num_classes=C)
    for loss_class, attribute in ((cp.WeightedCrossEntropyLoss, "weight"), (cp.FocalLoss, "alpha")):
        loss = hf.TrainerLoss.from_dataset(
            data, loss_class, num_classes=C, scheme="effective", beta=0.9
        )
        expected = cp.class_weights(counts, "effective", beta=0.9)
        torch.testing.assert_close(getattr(loss.loss, attribute), expected)
    balanced = hf.TrainerLoss.from_dataset(data, cp.BalancedSoftmaxLoss, num_classes=C)
    torch.testing.assert_close(balanced.loss.counts, counts.float())
    adjusted = hf.TrainerLoss.from_dataset(data, cp.LogitAdjustedLoss, tau=0.5)
    torch.testing.assert_close(adjusted.loss.priors, counts / counts.sum())
    ldam = hf.TrainerLoss.from_dataset(data, cp.LDAMLoss, scheme="balanced")
    torch.testing.assert_close(ldam.loss.weight, cp.class_weights(counts, "balanced"))


def test_from_dataset_multilabel_pos_weight(hf: Any) -> None:
    data = _data("multilabel", n=16)
    loss = hf.TrainerLoss.from_dataset(data, cp.WeightedBCEWithLogitsLoss)
    targets = torch.stack([d["labels"] for d in data])
    torch.testing.assert_close(loss.loss.pos_weight, cp.pos_weight(targets))


def test_from_dataset_builds_every_registered_loss_from_its_counts(hf: Any) -> None:
    # the multilabel losses are built from positives per label (with the number of samples)
    tags = [{"labels": [1.0, 0.0]}, {"labels": [0.0, 0.0]}, {"labels": [1.0, 1.0]}]
    focal = hf.TrainerLoss.from_dataset(tags, cp.SigmoidFocalLoss, reduction="mean").loss
    torch.testing.assert_close(focal.alpha, cp.functional.label_alpha([2, 1], 3))
    db = hf.TrainerLoss.from_dataset(tags, cp.DistributionBalancedLoss).loss
    torch.testing.assert_close(db.counts, torch.tensor([2.0, 1.0]))
    assert db.num_samples == 3
    train = [{"labels": 0}, {"labels": 0}, {"labels": 1}]
    cost = hf.TrainerLoss.from_dataset(train, cp.CostSensitiveLoss).loss
    torch.testing.assert_close(cost.cost.diagonal(), torch.zeros(2))


def test_from_dataset_labels_without_key(hf: Any) -> None:
    loss = hf.TrainerLoss.from_dataset([0, 0, 0, 1, 2], key=None, scheme="inverse")
    torch.testing.assert_close(loss.loss.weight, cp.class_weights([3, 1, 1], "inverse"))


def test_from_dataset_errors(hf: Any) -> None:
    with pytest.raises(TypeError, match="`loss` must be one of the losses"):
        hf.TrainerLoss.from_dataset([{"labels": 0}], cp.AnchorFocalLoss)
    with pytest.raises(TypeError, match="`loss` must be one of the losses"):
        hf.TrainerLoss.from_dataset([{"labels": 0}], torch.nn.CrossEntropyLoss)
    with pytest.raises(ValueError, match="num_classes"):
        hf.TrainerLoss.from_dataset([{"labels": 3}], num_classes=2)


def test_errors(hf: Any, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="`loss` must be one of the losses"):
        hf.TrainerLoss(torch.nn.CrossEntropyLoss())
    with pytest.raises(ValueError, match=r'`loss\.reduction` must be "mean"'):
        hf.TrainerLoss(cp.FocalLoss(reduction="sum"))
    loss = _loss(hf, "sequence")
    logits = torch.randn(4, C)
    with pytest.raises(ValueError, match=r"`labels` must be class indices of shape \(4,\)"):
        loss({"logits": logits}, torch.zeros(4, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="`labels` must be a tensor"):
        loss({"logits": logits}, None)
    with pytest.raises(ValueError, match="`outputs` must be model outputs with `logits`"):
        loss({"loss": logits}, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"`labels` must be class indices in \[0, 3\)"):
        loss.denominator(torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="`labels` must be float targets"):
        _loss(hf, "multilabel")({"logits": logits}, torch.zeros(4, C, dtype=torch.long))
    with pytest.raises(ValueError, match=r"`labels` must be targets of shape \(4, 3\)"):
        _loss(hf, "multilabel")({"logits": logits}, torch.zeros(4, 2))
    args = _args_for_eval(tmp_path)
    with pytest.raises(TypeError, match="`compute_loss_func` must be a counterpoise TrainerLoss"):
        hf.WeightedLossTrainer(model=_model("sequence"), args=args, compute_loss_func=F.mse_loss)


def test_data_parallel_step_is_the_weighted_mean_of_the_global_batch(
    hf: Any, tmp_path: Path
) -> None:
    # A gloo group of two processes, each with two micro-batches of 2: one step over 8
    # samples. The ranks hold different class mixes, so only global weights give the global
    # mean. The processes are forked from this one, which has imported everything already.
    from accelerate.state import AcceleratorState, PartialState
    from transformers import Trainer

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from _groups import WORLD_SIZE, run_group

    def worker(rank: int) -> None:
        # the Trainer finds the group through these, and must not reuse the single-process
        # state that earlier tests left in this (forked) process
        size = str(WORLD_SIZE)
        os.environ.update(
            {"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": size}
            | {"LOCAL_WORLD_SIZE": size, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "0"}
        )
        AcceleratorState._reset_state(reset_partial_state=True)
        trained = {}
        for name, trainer in (("weighted", hf.WeightedLossTrainer), ("plain", Trainer)):
            model = _train(
                trainer, _model("sequence"), _data("sequence"), _loss(hf, "sequence"),
                tmp_path, 2, 2,
            )  # fmt: skip
            assert PartialState().num_processes == WORLD_SIZE
            trained[name] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        torch.save(trained, tmp_path / f"rank{rank}.pt")

    run_group(worker, tmp_path, timeout=120)
    result = torch.load(tmp_path / "rank0.pt")
    data, model = _data("sequence"), _model("sequence")
    weighted_mean = _step_by_hand(
        copy.deepcopy(model), data, lambda x, y: _reference("sequence", x, y)
    )
    per_count = _step_by_hand(copy.deepcopy(model), data, lambda x, y: _per_count("sequence", x, y))

    def difference(state: dict[str, torch.Tensor], reference: torch.nn.Module) -> float:
        expected = reference.state_dict()
        return max((state[k] - expected[k]).abs().max().item() for k in expected)

    assert difference(result["weighted"], weighted_mean) < 1e-10
    assert difference(result["plain"], per_count) < 1e-10
    assert difference(result["weighted"], per_count) > 1e-4
    other = torch.load(tmp_path / "rank1.pt")  # the replicas stay equal
    assert all(torch.equal(other["weighted"][k], v) for k, v in result["weighted"].items())


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )


def test_core_never_imports_the_frameworks() -> None:
    code = (
        "import pkgutil, importlib, sys, counterpoise\n"
        "for m in pkgutil.walk_packages(counterpoise.__path__, 'counterpoise.'):\n"
        "    if not m.name.startswith('counterpoise.integrations.'):\n"
        "        importlib.import_module(m.name)\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in\n"
        "    ('transformers', 'lightning', 'pytorch_lightning', 'accelerate')))\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_missing_extra_names_it() -> None:
    code = (
        "import sys; sys.modules['transformers'] = None\n"
        "import counterpoise.integrations.transformers\n"
    )
    result = _run(code)
    assert result.returncode != 0 and "ImportError" in result.stderr
    assert 'pip install "counterpoise[transformers]"' in result.stderr
