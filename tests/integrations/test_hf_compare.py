"""compare_trainer: a tiny BERT trained by the real Trainer in every run of a comparison, checked
against the same protocol written as a plain loop for compare_custom (full-batch SGD at a
constant learning rate, so that the order of the samples does not matter)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import counterpoise as cp
from counterpoise.compare.model import cosine_head

pytest.importorskip("transformers")
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    TrainingArguments,
    default_data_collator,
)

from counterpoise.integrations.transformers import compare_trainer

T, C, LR = 6, 3, 0.5
STRATEGIES = ["ce", "ce_balanced", "sampler_balanced", "ldam_drw", "posthoc_adjusted"]


def model_init() -> torch.nn.Module:
    config = BertConfig(
        vocab_size=30,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        num_labels=C,
    )
    return BertForSequenceClassification(config)


def _data(n: int, seed: int) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    y = torch.multinomial(torch.tensor([0.7, 0.2, 0.1]), n, replacement=True, generator=g)
    ids = torch.randint(3, 30, (n, T), generator=g)
    ids[:, 1] = y  # the label is a token of the sequence
    return [
        {"input_ids": ids[i], "attention_mask": torch.ones(T, dtype=torch.long), "labels": y[i]}
        for i in range(n)
    ]


def test_a_trainer_comparison_is_the_plain_loop_of_the_same_protocol(tmp_path):
    train, val, test = _data(48, 0), _data(30, 1), _data(30, 2)
    args = TrainingArguments(
        output_dir=str(tmp_path / "trainer"),
        per_device_train_batch_size=len(train),  # full batch: the order does not matter
        per_device_eval_batch_size=64,
        learning_rate=LR,
        optim="sgd",
        lr_scheduler_type="constant",
        weight_decay=0.0,
        max_grad_norm=0.0,
        use_cpu=True,
        logging_strategy="no",
        disable_tqdm=True,
    )
    kwargs: dict[str, Any] = {"strategies": STRATEGIES, "seeds": 2, "epochs": 3, "jobs": 1}
    result = compare_trainer(model_init, args, train, val, test, head="classifier", **kwargs)

    batch = default_data_collator(train)
    inputs = {k: v for k, v in batch.items() if k != "labels"}

    def logits(model, data):
        b = default_data_collator(data)
        return model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits

    def plain(run):
        torch.manual_seed(run.seed)
        model = model_init()
        if run.normed_head:
            cosine_head(model, "classifier")
        optimizer = torch.optim.SGD(model.parameters(), lr=LR)
        keep = run.selection(model)
        for epoch in range(run.epochs):
            run.begin_epoch(epoch)
            idx = (
                torch.arange(len(train)) if run.sampler is None else torch.tensor(list(run.sampler))
            )
            model.train()
            out = model(**{k: v[idx] for k, v in inputs.items()}).logits
            loss = run.loss(out, batch["labels"][idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            model.eval()
            with torch.no_grad():
                keep.update(epoch + 1, run.score(logits(model, val)), model)
        keep.restore(model)
        with torch.no_grad():
            return logits(model, val), logits(model, test)

    labels = [np.array([int(s["labels"]) for s in d]) for d in (train, val, test)]
    reference = cp.compare_custom(plain, *labels, **kwargs)
    assert set(result.reports) == set(STRATEGIES)
    for name in STRATEGIES:
        for a, b in zip(result.predictions[name], reference.predictions[name]):
            np.testing.assert_allclose(a.probs, b.probs, rtol=0, atol=1e-5)
    for name in result.runs:
        assert [r.best_epoch for r in result.runs[name]] == [
            r.best_epoch for r in reference.runs[name]
        ]


def test_ldam_needs_the_output_layer_and_the_device_is_the_trainers(raises, tmp_path):
    data = _data(12, 0)
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True)
    with raises(ValueError, "head", "the name of the model's output nn.Linear layer"):
        compare_trainer(model_init, args, data, data, data, strategies=["ldam_drw"])
    with raises(ValueError, "device", "left to `args`"):
        compare_trainer(model_init, args, data, data, data, device="cpu")
