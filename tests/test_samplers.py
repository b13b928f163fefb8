import json
import math
import pickle
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

from counterpoise.samplers import (
    ClassBalancedSampler,
    EpochBatchSampler,
    ProgressivelyBalancedSampler,
    RepeatFactorSampler,
    _alias_table,
)

# 1000 samples of 4 classes in a shuffled order: 600 / 300 / 80 / 20
COUNTS = np.array([600, 300, 80, 20])
LABELS = torch.repeat_interleave(torch.arange(4), torch.from_numpy(COUNTS))[
    torch.randperm(1000, generator=torch.Generator().manual_seed(0))
]
SEEDS = (0, 1, 2)

labels_st = st.lists(st.integers(0, 5), min_size=1, max_size=60)


def drawn_class_counts(sampler, labels=LABELS, num_classes=4):
    return np.bincount(
        labels.numpy()[np.array(list(sampler), dtype=np.int64)], minlength=num_classes
    )


def effective_target(beta=0.999):
    w = (1 - beta) / (1 - beta**COUNTS)
    return COUNTS * w


# target class probabilities written out from the definition p_c ~ n_c w_c
TARGETS = {
    "balanced": np.ones(4),
    "sqrt": np.sqrt(COUNTS),
    None: COUNTS.astype(float),
    "inverse": np.ones(4),
    "effective": effective_target(),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("scheme", list(TARGETS))
def test_class_frequencies_pass_chi_square_against_the_target(scheme, seed):
    sampler = ClassBalancedSampler(LABELS, scheme, num_samples=20_000, seed=seed)
    target = TARGETS[scheme] / TARGETS[scheme].sum()
    np.testing.assert_allclose(sampler.class_probabilities.numpy(), target, rtol=1e-6)
    observed = drawn_class_counts(sampler)
    assert chisquare(observed, target * 20_000).pvalue > 1e-3


@pytest.mark.parametrize("seed", SEEDS)
def test_tensor_weights_multiply_each_sample_of_their_class(seed):
    w = torch.tensor([0.5, 1.0, 4.0, 10.0])
    sampler = ClassBalancedSampler(LABELS, w, num_samples=20_000, seed=seed)
    target = COUNTS * w.numpy() / (COUNTS * w.numpy()).sum()
    assert chisquare(drawn_class_counts(sampler), target * 20_000).pvalue > 1e-3


def test_each_sample_has_the_probability_of_weighted_random_sampler():
    labels = torch.tensor([0, 1, 0, 2, 2, 0, 1, 0, 0, 3, 0, 2])
    w = torch.tensor([1.0, 3.0, 0.5, 7.0])
    per_sample = w.double()[labels]
    expected = (per_sample / per_sample.sum()).numpy() * 60_000
    ours = ClassBalancedSampler(labels, w, num_samples=60_000, seed=3)
    theirs = WeightedRandomSampler(w[labels], 60_000, generator=torch.Generator().manual_seed(3))
    assert chisquare(np.bincount(list(ours), minlength=12), expected).pvalue > 1e-3
    assert chisquare(np.bincount(list(theirs), minlength=12), expected).pvalue > 1e-3


def test_samples_within_a_class_are_drawn_uniformly():
    sampler = ClassBalancedSampler(LABELS, num_samples=40_000, seed=5)
    drawn = np.array(list(sampler))
    for c in range(4):
        members = np.flatnonzero(LABELS.numpy() == c)
        hits = np.bincount(drawn, minlength=1000)[members]
        assert chisquare(hits).pvalue > 1e-3


@settings(max_examples=60, deadline=None)
@given(labels_st, st.lists(st.floats(0, 10), min_size=6, max_size=6), st.integers(0, 2**32))
def test_draws_only_classes_with_positive_weight(labels, weights, seed):
    labels_t, w = torch.tensor(labels), torch.tensor(weights, dtype=torch.float64)
    present = np.unique(labels)
    if not any(weights[c] > 0 for c in present):
        with pytest.raises(ValueError, match="`weights` must be positive for at least one class"):
            ClassBalancedSampler(labels_t, w)
        return
    sampler = ClassBalancedSampler(labels_t, w, seed=seed)
    drawn = list(sampler)
    assert len(drawn) == len(sampler) == len(labels)
    assert all(isinstance(i, int) for i in drawn)
    assert all(0 <= i < len(labels) and weights[labels[i]] > 0 for i in drawn)
    assert drawn == list(ClassBalancedSampler(labels_t, w, seed=seed))


def test_plan_depends_on_seed_and_epoch_only():
    a, b = ClassBalancedSampler(LABELS, seed=7), ClassBalancedSampler(LABELS, seed=7)
    first = list(a)
    assert first == list(a) == list(b)
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    assert list(a) == list(b)
    assert list(ClassBalancedSampler(LABELS, seed=8)) != first


def test_sampler_feeds_a_dataloader():
    sampler = ClassBalancedSampler(LABELS, seed=2)
    loader = DataLoader(TensorDataset(torch.arange(1000)), batch_size=64, sampler=sampler)
    assert torch.cat([x for (x,) in loader]).tolist() == list(sampler)


def test_works_beyond_the_limit_of_weighted_random_sampler():
    n = 2**24 + 5
    labels = torch.zeros(n, dtype=torch.uint8)
    labels[-3:] = 1
    with pytest.raises(RuntimeError, match="2\\^24"):
        next(iter(WeightedRandomSampler(torch.ones(n), 10)))
    sampler = ClassBalancedSampler(labels, num_samples=2000, seed=0)
    drawn = np.array(list(sampler))
    assert set(drawn[labels.numpy()[drawn] == 1]) == {n - 3, n - 2, n - 1}
    assert 900 < (labels.numpy()[drawn] == 1).sum() < 1100


def test_grouping_by_class_spans_several_slices():
    n = (1 << 20) + (1 << 19) + 3  # labels are grouped a million at a time
    labels = torch.from_numpy(np.random.default_rng(0).integers(0, 5, n).astype(np.uint8))
    for c in range(5):
        only_c = torch.eye(5)[c]
        drawn = np.array(list(ClassBalancedSampler(labels, only_c, num_samples=3000, seed=c)))
        assert (labels.numpy()[drawn] == c).all()
    plan = np.array(list(ClassBalancedSampler(labels, None, replacement=False)))
    assert (np.sort(plan) == np.arange(n)).all()


# -- without replacement ---------------------------------------------------------------------


def test_balanced_undersampling_keeps_the_smallest_class_size():
    sampler = ClassBalancedSampler(LABELS, replacement=False, seed=1)
    drawn = list(sampler)
    assert len(drawn) == len(sampler) == 4 * 20
    assert len(set(drawn)) == len(drawn)
    assert drawn_class_counts(sampler).tolist() == [20, 20, 20, 20]


def test_instance_balanced_without_replacement_is_a_permutation():
    drawn = list(ClassBalancedSampler(LABELS, None, replacement=False, seed=4))
    assert sorted(drawn) == list(range(1000))
    assert drawn != sorted(drawn)


@settings(max_examples=60, deadline=None)
@given(
    labels_st,
    st.lists(st.floats(0.01, 10), min_size=6, max_size=6),
    st.integers(1, 60),
    st.booleans(),
)
def test_undersampling_quotas_follow_the_class_probabilities(labels, weights, size, default):
    counts = np.bincount(labels, minlength=6)
    p = counts * np.array(weights, dtype=np.float32)  # the weights are used in float32
    p = p / p.sum()
    sampler = ClassBalancedSampler(
        torch.tensor(labels),
        torch.tensor(weights),
        replacement=False,
        num_samples=None if default else min(size, len(labels)),
    )
    drawn = list(sampler)
    assert len(set(drawn)) == len(drawn) == len(sampler)
    m = np.bincount(np.array(labels)[drawn], minlength=6)
    assert (m <= counts).all()
    if default:  # the longest plan that keeps every share: no class is capped ...
        assert (len(drawn) * p <= counts * (1 + 1e-5)).all()
        # ... and one more sample would need more of some class than it has
        assert ((len(drawn) + 1) * p > counts * (1 - 1e-5)).any()
    # apportionment: some scale lam has m_c within 1 of lam p_c, or m_c = n_c <= lam p_c when
    # the class ran out; so lam > (m_b - 1) / p_b for every class and lam < (m_a + 1) / p_a for
    # every class that could give more
    drawn_classes = p > 0
    assert (m[~drawn_classes] == 0).all()
    can_give = drawn_classes & (m < counts)
    if can_give.any():
        low = ((m[drawn_classes] - 1) / p[drawn_classes]).max()
        high = ((m[can_give] + 1) / p[can_give]).min()
        assert low <= high * (1 + 1e-9)


def test_too_many_samples_without_replacement_is_an_error(raises):
    with raises(ValueError, "num_samples", "at most 1000"):
        ClassBalancedSampler(LABELS, replacement=False, num_samples=1001)
    zero_last = torch.tensor([1.0, 1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="at most 980"):
        ClassBalancedSampler(LABELS, zero_last, replacement=False, num_samples=990)


# -- distributed shares ----------------------------------------------------------------------


def make(kind, **kwargs):
    if kind == "replacement":
        return ClassBalancedSampler(LABELS, "sqrt", num_samples=301, seed=3, **kwargs)
    if kind == "undersampling":
        return ClassBalancedSampler(LABELS, replacement=False, seed=3, **kwargs)
    if kind == "progressive":
        return ProgressivelyBalancedSampler(LABELS, 4, num_samples=301, seed=3, **kwargs)
    if kind == "repeat":
        targets = torch.zeros(50, 3, dtype=torch.bool)
        targets[:, 0] = True
        targets[::7, 1] = True
        targets[3, 2] = True
        return RepeatFactorSampler(targets, threshold=0.3, seed=3, **kwargs)
    raise AssertionError(kind)


KINDS = ("replacement", "undersampling", "progressive", "repeat")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("replicas", [1, 2, 3, 7])
@pytest.mark.parametrize("drop_last", [False, True])
def test_ranks_share_the_single_process_plan(kind, replicas, drop_last):
    plan = list(make(kind))
    shares = [
        list(make(kind, num_replicas=replicas, rank=r, drop_last=drop_last))
        for r in range(replicas)
    ]
    length = len(plan) // replicas if drop_last else math.ceil(len(plan) / replicas)
    assert [len(s) for s in shares] == [length] * replicas
    padded = (plan * 2)[: length * replicas]  # the plan wraps around to pad
    joined = [i for share in shares for i in share]
    assert joined == padded
    if drop_last or len(plan) % replicas == 0:
        assert len(set(joined)) == len(set(plan[: length * replicas]))


def test_bad_rank_is_an_error():
    with pytest.raises(
        ValueError, match=re.escape("`rank` must be in [0, 1] (num_replicas=2), got 2")
    ):
        ClassBalancedSampler(LABELS, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="`num_replicas` must be an integer larger than 0"):
        RepeatFactorSampler([[0]], num_replicas=0)
    sampler = ClassBalancedSampler(LABELS)
    assert (sampler.num_replicas, sampler.rank) == (1, 0)


# -- resume ----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(KINDS),
    st.integers(0, 400),
    st.integers(0, 3),
    st.sampled_from([(1, 0), (2, 1), (3, 0), (3, 2)]),
    st.booleans(),
)
def test_loaded_state_yields_exactly_the_rest_of_the_epoch(kind, stop, epoch, share, drop_last):
    replicas, rank = share
    sampler = make(kind, num_replicas=replicas, rank=rank, drop_last=drop_last)
    sampler.set_epoch(epoch)
    full = list(sampler)
    stop = min(stop, len(full))
    iterator = iter(sampler)
    for _ in range(stop):
        next(iterator)
    state = sampler.state_dict()
    assert state["epoch"] == epoch and state["position"] == stop
    fresh = make(kind, num_replicas=replicas, rank=rank, drop_last=drop_last)
    fresh.load_state_dict(state)
    assert fresh.state_dict() == state
    assert list(fresh) == full[stop:]
    assert list(fresh) == full  # the next pass starts the epoch again


@pytest.mark.parametrize("stop", [0, 65_535, 65_536, 65_537, 70_000])
def test_resume_across_draw_blocks(stop):
    sampler = ClassBalancedSampler(LABELS, num_samples=70_000, seed=9)
    full = list(sampler)
    iterator = iter(sampler)
    for _ in range(stop):
        next(iterator)
    fresh = ClassBalancedSampler(LABELS, num_samples=70_000, seed=9)
    fresh.load_state_dict(sampler.state_dict())
    assert list(fresh) == full[stop:]


def test_state_after_a_full_epoch_yields_nothing_more():
    sampler = make("replacement")
    sampler.set_epoch(2)
    assert sampler.state_dict()["position"] == 0
    list(sampler)
    fresh = make("replacement")
    fresh.load_state_dict(sampler.state_dict())
    assert fresh.epoch == 2 and list(fresh) == []
    fresh.set_epoch(3)
    assert len(list(fresh)) == 301


def test_mismatched_state_is_an_error(raises):
    state = make("replacement").state_dict()
    other_seed = ClassBalancedSampler(LABELS, "sqrt", num_samples=301, seed=4)
    with raises(ValueError, "state_dict['seed']", "4 as in this sampler", 3):
        other_seed.load_state_dict(state)
    with raises(ValueError, "state_dict['num_replicas']", "2 as in this sampler", 1):
        make("replacement", num_replicas=2, rank=0).load_state_dict(state)
    with raises(ValueError, "state_dict['num_samples']", "302, this sampler's length", 301):
        ClassBalancedSampler(LABELS, "sqrt", num_samples=302, seed=3).load_state_dict(state)
    with raises(ValueError, "state_dict['position']", "at most 301, this rank's share", 302):
        make("replacement").load_state_dict({**state, "position": 302})
    with raises(TypeError, "state_dict['position']", "an integer", 1.5):
        make("replacement").load_state_dict({**state, "position": 1.5})
    with raises(ValueError, "state_dict", "a mapping with the keys 'seed', 'epoch'", ["epoch"]):
        make("replacement").load_state_dict({"epoch": 0})


def _permuted(labels):
    return labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(5))]


#: (what differs, a sampler to load the state of ``make("replacement")`` into): each has the
#: seed, the replicas and the epoch length of the state, and draws another plan
OTHER_SAMPLERS = {
    "labels in another order": lambda: ClassBalancedSampler(
        _permuted(LABELS), "sqrt", num_samples=301, seed=3
    ),
    "one label changed": lambda: ClassBalancedSampler(
        torch.cat([LABELS[:-1], (LABELS[-1:] + 1) % 4]), "sqrt", num_samples=301, seed=3
    ),
    "other weights": lambda: ClassBalancedSampler(LABELS, "balanced", num_samples=301, seed=3),
    "weights as a tensor": lambda: ClassBalancedSampler(
        LABELS, torch.tensor([1.0, 1.0, 1.0, 2.0]), num_samples=301, seed=3
    ),
    "without replacement": lambda: ClassBalancedSampler(
        LABELS, "sqrt", num_samples=301, replacement=False, seed=3
    ),
    "progressive": lambda: ProgressivelyBalancedSampler(
        LABELS, 4, weights="sqrt", num_samples=301, seed=3
    ),
}


@pytest.mark.parametrize("what", list(OTHER_SAMPLERS))
def test_a_state_of_another_sampler_is_refused(what, raises):
    state = make("replacement").state_dict()
    other = OTHER_SAMPLERS[what]()
    with raises(ValueError, "state_dict", "the state of a sampler with these labels, weights"):
        other.load_state_dict(state)
    assert list(other) == list(OTHER_SAMPLERS[what]())  # the refused state changed nothing


def test_states_of_the_same_plans_are_accepted():
    # the default num_samples given explicitly, and weights scaled by 2: the same plans
    state = ClassBalancedSampler(LABELS, torch.tensor([1.0, 2.0, 3.0, 4.0])).state_dict()
    same = ClassBalancedSampler(LABELS, [2.0, 4.0, 6.0, 8.0], num_samples=1000)
    same.load_state_dict({**state, "position": 10})
    assert list(same) == list(ClassBalancedSampler(LABELS, [1.0, 2.0, 3.0, 4.0]))[10:]
    # another rank loads the state of rank 0
    rank0 = make("repeat", num_replicas=2, rank=0)
    rank1 = make("repeat", num_replicas=2, rank=1)
    rank1.load_state_dict({**rank0.state_dict(), "position": 3})
    assert list(rank1) == list(make("repeat", num_replicas=2, rank=1))[3:]


def _tagged(rows):
    """40 samples of category 0, ``rows`` of them also of category 1: repeat factor 2 for
    those at threshold 1, so that every plan has 50 indices."""
    targets = torch.zeros(40, 2)
    targets[:, 0] = 1
    targets[rows, 1] = 1
    return targets


@pytest.mark.parametrize(
    ("build", "other"),
    [
        (lambda: RepeatFactorSampler(_tagged(slice(0, 10)), 1.0), lambda: RepeatFactorSampler(_tagged(slice(30, 40)), 1.0)),
        (lambda: make("repeat", num_replicas=2, rank=0), lambda: make("repeat", num_replicas=2, rank=0, drop_last=True)),
        (lambda: make("progressive"), lambda: ProgressivelyBalancedSampler(LABELS, 5, num_samples=301, seed=3)),
    ],
    ids=["other targets", "other drop_last", "other num_epochs"],
)  # fmt: skip
def test_a_state_of_another_repeat_or_progressive_sampler_is_refused(build, other, raises):
    sampler = build()
    sampler.set_epoch(1)
    state = sampler.state_dict()
    target = other()
    assert state["num_samples"] == target._epoch_size(1)
    with raises(ValueError, "state_dict", "the state of a sampler with these labels"):
        target.load_state_dict(state)


def test_a_state_is_plain_json():
    sampler = make("progressive")
    iterator = iter(sampler)
    for _ in range(5):
        next(iterator)
    state = sampler.state_dict()
    assert json.loads(json.dumps(state)) == state
    assert state["position"] == 5 and isinstance(state["fingerprint"], str)


# -- resume with DataLoader workers and with torchdata's StatefulDataLoader ---------------------

DATA = TensorDataset(torch.arange(1000))
BATCH = 8


def _loader(loader_class, sampler, batching, workers):
    if batching == "sampler":
        options = {"sampler": sampler, "batch_size": BATCH}
    else:
        options = {"batch_sampler": EpochBatchSampler(sampler, BATCH)}
    return loader_class(DATA, num_workers=workers, **options)


def _epochs(loader, sampler, epochs):
    out = []
    for epoch in epochs:
        sampler.set_epoch(epoch)
        out.append([batch.tolist() for (batch,) in loader])
    return out


@pytest.mark.filterwarnings("ignore:'set_vital' is deprecated")
@pytest.mark.parametrize("workers", [0, 1, 2])
@pytest.mark.parametrize("batching", ["sampler", "batch_sampler"])
@pytest.mark.parametrize("loader_kind", ["DataLoader", "StatefulDataLoader"])
def test_an_interrupted_epoch_resumes_with_exactly_its_rest(loader_kind, batching, workers):
    if loader_kind == "StatefulDataLoader":
        loader_class = pytest.importorskip("torchdata.stateful_dataloader").StatefulDataLoader
    else:
        loader_class = DataLoader
    case = f"{loader_kind}-{batching}-{workers}"
    rng = np.random.default_rng(list(case.encode()))
    kind = KINDS[rng.integers(len(KINDS))]
    replicas, rank = ((1, 0), (2, 1), (3, 0))[rng.integers(3)]
    epoch = int(rng.integers(4))

    def build():
        return make(kind, num_replicas=replicas, rank=rank)

    sampler = build()
    full, following = _epochs(
        _loader(loader_class, sampler, batching, workers), sampler, [epoch, epoch + 1]
    )
    for stop in (0, int(rng.integers(1, len(full))), len(full)):
        # training: `stop` batches of `epoch`, then the checkpoint
        sampler = build()
        loader = _loader(loader_class, sampler, batching, workers)
        sampler.set_epoch(epoch)
        iterator = iter(loader)
        head = [next(iterator)[0].tolist() for _ in range(stop)]
        if loader_kind == "StatefulDataLoader":
            state = loader.state_dict()
        elif batching == "sampler":  # the samples of the batches consumed
            state = sampler.state_dict(consumed=sum(len(b) for b in head))
        else:  # the batches consumed
            state = loader.batch_sampler.state_dict(consumed=len(head))
        del iterator, loader  # the workers stop, as at an interruption

        # a new process: the same objects, the state loaded, the training loop as before
        sampler = build()
        loader = _loader(loader_class, sampler, batching, workers)
        if loader_kind == "StatefulDataLoader":
            loader.load_state_dict(state)
        else:
            (loader.batch_sampler if batching == "batch_sampler" else sampler).load_state_dict(
                state
            )
        rest, after = _epochs(loader, sampler, [epoch, epoch + 1])
        assert head + rest == full, (kind, replicas, rank, epoch, stop)
        assert after == following


@pytest.mark.filterwarnings("ignore:'set_vital' is deprecated")
@pytest.mark.parametrize("workers", [0, 2])
def test_a_state_saved_after_its_epoch_resumes_at_the_next_one(workers):
    loader_class = pytest.importorskip("torchdata.stateful_dataloader").StatefulDataLoader
    sampler = make("progressive")
    loader = _loader(loader_class, sampler, "sampler", workers)
    expected = _epochs(loader, sampler, [0, 1, 2])
    sampler = make("progressive")
    loader = _loader(loader_class, sampler, "sampler", workers)
    assert _epochs(loader, sampler, [0, 1]) == expected[:2]
    state = loader.state_dict()  # after the loop over epoch 1: the iterator has finished
    sampler = make("progressive")
    loader = _loader(loader_class, sampler, "sampler", workers)
    loader.load_state_dict(state)
    assert _epochs(loader, sampler, [2]) == expected[2:]


def test_set_epoch_keeps_a_loaded_position_of_its_epoch():
    sampler = make("replacement")
    sampler.set_epoch(3)
    full = list(sampler)
    fresh = make("replacement")
    fresh.load_state_dict({**sampler.state_dict(), "position": 100})
    fresh.set_epoch(3)  # the training loop selects the epoch it resumes
    assert list(fresh) == full[100:]
    fresh.set_epoch(3)  # the next pass starts the epoch again
    assert list(fresh) == full


def test_set_epoch_and_a_loaded_state_that_disagree_are_an_error(raises):
    sampler = make("replacement")
    sampler.set_epoch(3)
    mid = {**sampler.state_dict(), "position": 100}
    end = {**mid, "position": 301}
    fresh = make("replacement")
    fresh.load_state_dict(mid)
    with raises(ValueError, "epoch", "3, the epoch of the state given to load_state_dict", 4):
        fresh.set_epoch(4)
    fresh = make("replacement")
    fresh.load_state_dict(end)
    with raises(ValueError, "epoch", "3, or a later one, the epoch of the state", 2):
        fresh.set_epoch(2)
    fresh.set_epoch(4)  # the state completed epoch 3: epoch 4 starts
    sampler.set_epoch(4)
    assert list(fresh) == list(sampler)
    # set_epoch before the state is loaded (as StatefulDataLoader loads it when iterated)
    fresh = make("replacement")
    fresh.set_epoch(5)
    with raises(ValueError, "state_dict['epoch']", "5, the epoch given to set_epoch", 3):
        fresh.load_state_dict(mid)
    fresh.load_state_dict(end)  # epoch 3 complete: epoch 5 starts
    sampler.set_epoch(5)
    assert fresh.epoch == 5 and list(fresh) == list(sampler)


def test_consumed_counts_from_where_the_pass_started(raises):
    sampler = make("undersampling")
    full = list(sampler)
    iterator = iter(sampler)
    for _ in range(50):
        next(iterator)
    state = sampler.state_dict(consumed=20)
    assert state["position"] == 20
    with raises(ValueError, "consumed", "at most 50, the indices this pass has yielded", 51):
        sampler.state_dict(consumed=51)
    with raises(ValueError, "consumed", "an integer >= 0", -1):
        sampler.state_dict(consumed=-1)
    resumed = make("undersampling")
    resumed.load_state_dict(state)
    assert resumed.state_dict(consumed=0)["position"] == 20  # no pass yet: where it resumes
    iterator = iter(resumed)
    for _ in range(30):
        next(iterator)
    assert resumed.state_dict(consumed=10)["position"] == 30
    again = make("undersampling")
    again.load_state_dict(resumed.state_dict(consumed=10))
    assert list(again) == full[30:]


def test_batch_consumed_counts_batches(raises):
    batches = EpochBatchSampler(make("replacement"), 10)
    full = list(batches)
    iterator = iter(batches)
    for _ in range(31):
        next(iterator)  # the last, of one index
    assert batches.state_dict(consumed=31)["position"] == 301
    assert batches.state_dict(consumed=4)["position"] == 40
    with raises(ValueError, "consumed", "at most 31, the batches this pass has yielded", 32):
        batches.state_dict(consumed=32)
    fresh = EpochBatchSampler(make("replacement"), 10)
    fresh.load_state_dict(batches.state_dict(consumed=4))
    assert list(fresh) == full[4:]


def test_an_unused_iterator_leaves_a_loaded_state_in_place():
    # a DataLoader with workers makes an iterator it drops unused before the one it reads
    sampler = make("repeat")
    full = list(sampler)
    for source in (sampler, EpochBatchSampler(sampler, 1)):
        sampler.load_state_dict({**sampler.state_dict(), "position": 9})
        iter(source)
        assert sampler.state_dict()["position"] == 9
        assert [i for x in source for i in (x if isinstance(x, list) else [x])] == full[9:]


# -- batches ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("drop_last", [False, True])
def test_batches_are_consecutive_slices_of_the_plan(kind, drop_last):
    sampler = make(kind, num_replicas=2, rank=1)
    plan = list(sampler)
    batches = list(EpochBatchSampler(sampler, 16, drop_last=drop_last))
    assert len(batches) == len(EpochBatchSampler(sampler, 16, drop_last=drop_last))
    whole = len(plan) // 16 * 16
    expected = [plan[i : i + 16] for i in range(0, whole if drop_last else len(plan), 16)]
    assert batches == expected


def test_batches_across_blocks_feed_a_dataloader():
    sampler = ClassBalancedSampler(LABELS, num_samples=70_001, seed=1)
    batch_sampler = EpochBatchSampler(sampler, 1000)
    loader = DataLoader(TensorDataset(torch.arange(1000)), batch_sampler=batch_sampler)
    assert torch.cat([x for (x,) in loader]).tolist() == list(sampler)
    assert len(loader) == 71


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(KINDS), st.integers(0, 30), st.integers(0, 2))
def test_batch_state_resumes_after_the_batches_yielded(kind, stop, epoch):
    batches = EpochBatchSampler(make(kind), 10)
    batches.set_epoch(epoch)
    full = list(batches)
    stop = min(stop, len(full))
    iterator = iter(batches)
    for _ in range(stop):
        next(iterator)
    state = batches.state_dict()
    assert state["position"] == sum(len(batch) for batch in full[:stop])
    fresh = EpochBatchSampler(make(kind), 10)
    fresh.load_state_dict(state)
    assert list(fresh) == full[stop:]


def test_batch_sampler_rejects_bad_arguments():
    with pytest.raises(
        TypeError, match=re.escape("`sampler` must be a sampler of counterpoise.samplers")
    ):
        EpochBatchSampler(range(10), 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`batch_size` must be an integer larger than 0, got 0"):
        EpochBatchSampler(make("replacement"), 0)


# -- progressive -----------------------------------------------------------------------------


@pytest.mark.parametrize("epoch", [0, 1, 3, 5, 10])
def test_progressive_interpolates_linearly(epoch):
    sampler = ProgressivelyBalancedSampler(LABELS, 5, num_samples=20_000, seed=epoch)
    sampler.set_epoch(epoch)
    t = min(epoch / 5, 1.0)
    target = (1 - t) * COUNTS / 1000 + t * np.full(4, 0.25)
    np.testing.assert_allclose(sampler.class_probabilities.numpy(), target, rtol=1e-6)
    assert chisquare(drawn_class_counts(sampler), target * 20_000).pvalue > 1e-3


def test_progressive_follows_a_given_schedule_and_target():
    sampler = ProgressivelyBalancedSampler(
        LABELS, 10, schedule=lambda t: t**2, weights="sqrt", replacement=False
    )
    sampler.set_epoch(5)
    a = 0.25
    target = (1 - a) * COUNTS / 1000 + a * np.sqrt(COUNTS) / np.sqrt(COUNTS).sum()
    np.testing.assert_allclose(sampler.class_probabilities.numpy(), target, rtol=1e-6)
    assert sampler.alpha(20) == 1.0
    assert len(set(sampler)) == len(sampler)


def test_progressive_rejects_bad_schedules():
    with pytest.raises(TypeError, match="`schedule` must be a callable or None"):
        ProgressivelyBalancedSampler(LABELS, 3, schedule=0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`num_epochs` must be an integer larger than 0"):
        ProgressivelyBalancedSampler(LABELS, 0)
    sampler = ProgressivelyBalancedSampler(LABELS, 3, schedule=lambda t: 2 * t)
    sampler.set_epoch(2)
    with pytest.raises(ValueError, match=re.escape("`schedule(0.666")):
        sampler.class_probabilities  # noqa: B018


# -- repeat factors --------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.booleans(), min_size=4, max_size=4), min_size=1, max_size=40),
    st.floats(0, 1),
)
def test_repeat_factors_follow_the_lvis_formula(rows, threshold):
    matrix = torch.tensor(rows)
    sampler = RepeatFactorSampler(matrix, threshold)
    n = len(rows)
    expected = []
    for row in rows:
        factors = [1.0]
        for c in range(4):
            if row[c]:
                f = sum(r[c] for r in rows) / n
                factors.append(max(1.0, math.sqrt(threshold / f)))
        expected.append(max(factors))
    np.testing.assert_allclose(sampler.repeat_factors.numpy(), expected, rtol=1e-12)
    ragged = RepeatFactorSampler([[c for c in range(4) if r[c]] for r in rows], threshold)
    np.testing.assert_array_equal(ragged.repeat_factors.numpy(), sampler.repeat_factors.numpy())
    for epoch in range(3):
        sampler.set_epoch(epoch)
        times = np.bincount(list(sampler), minlength=n)
        r = np.array(expected)
        assert ((times == np.floor(r)) | (times == np.ceil(r))).all()


def test_repeat_factor_rounding_is_unbiased():
    annotations = [[0]] * 900 + [[0, 1]] * 100  # f_1 = 0.1, t = 0.625: r = 2.5
    sampler = RepeatFactorSampler(annotations, threshold=0.625, seed=0)
    assert sampler.repeat_factors[900:].unique().tolist() == [2.5]
    times = np.bincount(list(sampler), minlength=1000)
    assert (times[:900] == 1).all()
    assert abs(times[900:].sum() - 250) < 5 * math.sqrt(100 * 0.25)  # Binomial(100, 1/2)


def test_repeat_factor_sampler_rejects_bad_targets(raises):
    with pytest.raises(
        ValueError, match="`multilabel_targets` must be a multi-hot matrix of 0 and 1"
    ):
        RepeatFactorSampler(torch.tensor([[0.0, 0.5]]))
    with pytest.raises(ValueError, match="`multilabel_targets` must be a 2-D multi-hot matrix"):
        RepeatFactorSampler(torch.ones(2, 2, 2))
    with pytest.raises(ValueError, match="category indices: integers >= 0"):
        RepeatFactorSampler([[0], [-1]])
    with raises(ValueError, "multilabel_targets[1]", "a sequence"):
        RepeatFactorSampler([[0], 3])
    with raises(ValueError, "threshold", "in [0.0, 1.0], got 2.0"):
        RepeatFactorSampler([[0]], threshold=2.0)


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "weights", "error", "message"),
    [
        (
            torch.zeros(3, 2, dtype=torch.long),
            "balanced",
            ValueError,
            "`labels` must be a 1-D tensor",
        ),
        (torch.tensor([], dtype=torch.long), "balanced", ValueError, "`labels` must be non-empty"),
        (torch.tensor([0.0, 1.0]), "balanced", TypeError, "`labels` must be integer class indices"),
        ([0, 1.5], "balanced", TypeError, "`labels` must be integer class indices"),
        ([[0, 1]], "balanced", ValueError, "`labels` must be a non-empty 1-D sequence"),
        (
            [0, 2, -1],
            "balanced",
            ValueError,
            "`labels` must be class indices >= 0, got '-1 at index 2'",
        ),
        (
            [0, 1, 2],
            torch.ones(2),
            ValueError,
            "`weights` must be a 1-D tensor with one weight per class (at least 3",
        ),
        ([0, 1], torch.ones(2, 1), ValueError, "`weights` must be a 1-D tensor"),
        ([0, 1], torch.tensor([1.0, -1.0]), ValueError, "`weights` must be non-negative"),
        ([0, 1], torch.tensor([1.0, math.nan]), ValueError, "`weights` must be finite"),
        ([0, 1], torch.zeros(2), ValueError, "`weights` must be positive for at least one class"),
        (
            [0, 0],
            torch.tensor([0.0, 1.0]),
            ValueError,
            "`weights` must be positive for at least one class",
        ),
        ([0, 1], "cubic", ValueError, "`scheme` must be one of 'none', 'inverse'"),
    ],
)
def test_bad_input_is_an_error(labels, weights, error, message):
    with pytest.raises(error, match=re.escape(message)):
        ClassBalancedSampler(labels, weights)


def test_bad_options_are_errors():
    with pytest.raises(ValueError, match="`num_samples` must be an integer larger than 0, got 0"):
        ClassBalancedSampler(LABELS, num_samples=0)
    with pytest.raises(ValueError, match="`seed` must be an integer >= 0, got -1"):
        ClassBalancedSampler(LABELS, seed=-1)
    with pytest.raises(TypeError, match="`replacement` must be a bool"):
        ClassBalancedSampler(LABELS, replacement=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`epoch` must be an integer >= 0"):
        ClassBalancedSampler(LABELS).set_epoch(-1)


def test_weights_longer_than_the_labels_cover_absent_classes():
    sampler = ClassBalancedSampler([0, 0, 1], torch.tensor([1.0, 1.0, 5.0]))
    assert sampler.class_counts.tolist() == [2, 1, 0]
    np.testing.assert_allclose(sampler.class_probabilities.numpy(), [2 / 3, 1 / 3, 0])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(1e-6, 1e6), min_size=1, max_size=50))
def test_alias_table_reproduces_the_probabilities(p):
    p = np.array(p)
    keep, alias = _alias_table(p)
    implied = keep.copy()
    np.add.at(implied, alias, 1 - keep)
    np.testing.assert_allclose(implied / len(p), p / p.sum(), rtol=1e-9, atol=1e-15)


def test_a_sampler_pickled_mid_epoch_keeps_its_state():
    batches = EpochBatchSampler(make("replacement"), 10)
    iterator = iter(batches)
    next(iterator)
    copy = pickle.loads(pickle.dumps(batches))
    assert copy.state_dict() == batches.state_dict()
    assert copy.state_dict()["position"] == 10
