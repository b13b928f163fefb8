"""Every strategy's snippet runs and builds what compare trained with."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from counterpoise.compare.snippets import snippet
from counterpoise.compare.strategies import (
    STRATEGIES,
    LabelStats,
    Outputs,
    first_epoch_of,
    probabilities,
)

COUNTS = np.array([300, 120, 40, 9, 3])
MULTICLASS = [n for n, s in STRATEGIES.items() if s.task == "multiclass" and not s.binary_only]
MULTILABEL = [n for n, s in STRATEGIES.items() if s.task == "multilabel"]


def run(code: str, **names):
    namespace = dict(names)
    exec(compile(code, "<snippet>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("name", MULTICLASS)
def test_multiclass_snippet_reproduces_the_strategy(name):
    st = STRATEGIES[name]
    while st.same_as is not None:
        st = STRATEGIES[st.same_as]
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 5, generator=g, dtype=torch.float64)
    target = torch.randint(0, 5, (64,), generator=g)
    y_train = torch.from_numpy(np.repeat(np.arange(5), COUNTS))
    ns = run(
        snippet(name, COUNTS, epochs=50),
        y_train=y_train,
        logits=logits.clone(),
        probs=logits.softmax(1),
    )
    if st.correct is not None:
        out = Outputs(logits.numpy(), target.numpy(), logits.numpy(), COUNTS, COUNTS / COUNTS.sum())
        expected = st.correct(out)
        got = (
            ns["logits"].softmax(1)
            if "logits" in ns and st.name == "posthoc_adjusted"
            else ns["probs"]
        )
        np.testing.assert_allclose(got.numpy(), expected.probs, rtol=1e-6, atol=1e-9)
        return
    built = st.build_loss(torch.from_numpy(COUNTS)).double()
    loss_fn = ns["loss_fn"].double()
    if st.deferred is not None:  # the weights the schedule gives after the switch
        start = first_epoch_of(st.deferred.at, 50)
        schedule = st.deferred.schedule(torch.from_numpy(COUNTS), 50)
        assert ns["drw"].weights_at(start).tolist() == schedule.weights_at(start).tolist()
        assert ns["drw"].weights_at(start - 1).tolist() == [1.0] * 5
    assert loss_fn(logits, target).item() == pytest.approx(built(logits, target).item(), rel=1e-6)
    if st.make_sampler is not None:
        expected = st.make_sampler(y_train.numpy(), 0)
        assert list(ns["sampler"])[:50] == list(expected)[:50]


@pytest.mark.parametrize("name", MULTILABEL)
@pytest.mark.parametrize("unannotated", [False, True])
def test_multilabel_snippet_reproduces_the_strategy(name, unannotated):
    rng = np.random.default_rng(1)
    y = (rng.random((200, 4)) < [0.5, 0.2, 0.05, 0.02]).astype(np.float64)
    y[0] = 1
    if unannotated:
        y[rng.random(y.shape) < 0.1] = -1
    stats = LabelStats(torch.from_numpy((y == 1).sum(0)), torch.from_numpy((y == 0).sum(0)), len(y))
    ignore = -1.0 if unannotated else None
    ns = run(snippet(name, stats, epochs=50, ignore_value=ignore))
    built = STRATEGIES[name].build_loss(stats, ignore_value=ignore)
    logits = torch.from_numpy(rng.normal(size=(200, 4)))
    target = torch.from_numpy(y)
    assert ns["loss_fn"](logits, target).item() == pytest.approx(
        built(logits, target).item(), rel=1e-5
    )


def test_the_threshold_snippet_tunes_on_validation():
    rng = np.random.default_rng(0)
    val_probs = torch.from_numpy(probabilities(rng.normal(size=(80, 2))))
    y_val = torch.from_numpy(rng.integers(0, 2, 80))
    probs = torch.from_numpy(probabilities(rng.normal(size=(30, 2))))
    counts = np.array([60, 20])
    ns = run(
        snippet("threshold_tuned", counts, epochs=10), val_probs=val_probs, y_val=y_val, probs=probs
    )
    logits_val = np.log(val_probs.numpy())
    out = Outputs(logits_val, y_val.numpy(), np.log(probs.numpy()), counts, counts / counts.sum())
    np.testing.assert_array_equal(
        ns["pred"].numpy(), STRATEGIES["threshold_tuned"].correct(out).pred
    )
