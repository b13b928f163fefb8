"""Validation helpers shared by the whole package.

Every error raised for bad user input follows one template::

    `{name}` must be {expected}, got {actual!r}

so that a user reading it learns which argument was wrong, what was expected and what was
received. Errors subclass the built-in :class:`ValueError` / :class:`TypeError`, so code that
catches those keeps working.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

import numpy as np
import torch


def fail(name: str, expected: str, actual: Any, *, error: type[Exception] = ValueError) -> NoReturn:
    """Raise ``error`` with the package's message template."""
    raise error(f"`{name}` must be {expected}, got {actual!r}")


def describe_tensor(t: torch.Tensor) -> str:
    """A short description of a tensor for error messages (never its full contents)."""
    where = "" if t.device.type == "cpu" else f" on {t.device}"
    return f"tensor of shape {tuple(t.shape)} and dtype {t.dtype}{where}"


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> None:
    """Raise when ``value`` is not one of ``choices``; the message lists the valid ones."""
    options = tuple(choices)
    if value not in options:
        listed = ", ".join(repr(c) for c in options)
        fail(name, f"one of {listed}", value)


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Check a finite real scalar within an interval and return it as ``float``.

    ``low_open`` / ``high_open`` make the corresponding end of the interval exclusive.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        else:
            try:
                if isinstance(value, np.generic) and np.isrealobj(value):
                    value = value.item()
                else:
                    raise TypeError
            except TypeError:
                fail(name, "a real number", value, error=TypeError)
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        fail(name, "a finite number", value)
    lo_bracket = "(" if low_open else "["
    hi_bracket = ")" if high_open else "]"
    interval = (
        f"in {lo_bracket}{'-inf' if low is None else low}, "
        f"{'inf' if high is None else high}{hi_bracket}"
    )
    if low is not None and (value < low or (low_open and value == low)):
        fail(name, interval, value)
    if high is not None and (value > high or (high_open and value == high)):
        fail(name, interval, value)
    return value


def check_positive_int(name: str, value: Any, *, allow_zero: bool = False) -> int:
    """Check an integer larger than 0 (or >= 0 with ``allow_zero``) and return it."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        fail(name, "an integer", value, error=TypeError)
    value = int(value)
    if value < 0 or (value == 0 and not allow_zero):
        fail(name, "an integer >= 0" if allow_zero else "an integer larger than 0", value)
    return value


def eager_checks(*tensors: torch.Tensor | None) -> bool:
    """Whether checks of tensor *values* raise here and now: for tensors on the CPU, outside
    :func:`torch.compile` and not batched by :func:`torch.func.vmap`.

    Reading a value of a tensor on an accelerator waits for the device (a host-device
    synchronisation) and stops CUDA-graph capture, and neither a traced graph nor a vmapped
    function can branch on data. There, the same checks are device-side assertions
    (:func:`device_assert`): they fail the next synchronising call with the message of the
    check, and cost no synchronisation. Checks of shapes, dtypes, devices and options raise
    everywhere.
    """
    if torch.compiler.is_compiling():
        return False
    return all(t is None or (t.device.type == "cpu" and not vmapped(t)) for t in tensors)


def vmapped(t: torch.Tensor) -> bool:
    """Whether ``t`` is batched by :func:`torch.func.vmap` (at any level of nested
    transforms)."""
    functorch = torch._C._functorch
    while functorch.is_functorch_wrapped_tensor(t):
        if functorch.is_batchedtensor(t):
            return True
        t = functorch.get_unwrapped(t)
    return False


def _unwrapped(t: torch.Tensor) -> torch.Tensor:
    """The plain tensor under the wrappers of :mod:`torch.func` transforms (under vmap: with
    its batch dimensions)."""
    functorch = torch._C._functorch
    while functorch.is_functorch_wrapped_tensor(t):
        t = functorch.get_unwrapped(t)
    return t


#: The device types that autocast knows.
_AUTOCAST_DEVICES = ("cpu", "cuda", "xpu", "mps", "hpu", "xla", "mtia", "ipu")


def autocast_enabled(t: torch.Tensor) -> bool:
    """Whether :func:`torch.autocast` is on for the device of ``t``."""
    device = t.device.type
    return device in _AUTOCAST_DEVICES and torch.is_autocast_enabled(device)


def result_dtype(input: torch.Tensor) -> torch.dtype:
    """The dtype a loss returns: float32 for half-precision logits under autocast (as
    PyTorch's losses do there), the dtype of the logits otherwise."""
    if input.dtype in (torch.float16, torch.bfloat16) and autocast_enabled(input):
        return torch.float32
    return input.dtype


def device_assert(ok: torch.Tensor, name: str, expected: str) -> None:
    """Assert on the device that every element of ``ok`` is true, without synchronising; the
    failure names the argument in the package's template ("`{name}` must be {expected}").
    Under :func:`torch.func.vmap` it asserts on every call of the batch at once."""
    if not torch.compiler.is_compiling():
        ok = _unwrapped(ok)  # an assertion has no vmap rule: one over the whole batch
    torch._assert_async(ok.all(), f"`{name}` must be {expected}")


def check_finite(name: str, t: torch.Tensor) -> None:
    """Raise when a floating tensor holds NaN or infinity, saying where the first one is."""
    if t.is_floating_point() or t.is_complex():
        if not eager_checks(t):
            size = t.abs()
            finite = size <= torch.finfo(size.dtype).max  # False for NaN and infinity
            device_assert(finite, name, "finite (no NaN or infinity)")
            return
        bad = ~torch.isfinite(t)
        if bool(bad.any()):
            first = tuple(int(i) for i in bad.nonzero()[0].tolist())
            fail(name, "finite (no NaN or infinity)", f"{t[first].item()} at index {first}")


def check_state_tensor(key: str, value: Any, like: torch.Tensor) -> None:
    """A tensor of a state dict, before a module's ``load_state_dict`` copies it into ``like``:
    a tensor of its shape (a module for another number of classes has another), finite when
    floating. Missing and unexpected keys are ``load_state_dict``'s own errors."""
    if not isinstance(value, torch.Tensor) or value.shape != like.shape:
        actual = describe_tensor(value) if isinstance(value, torch.Tensor) else value
        fail(key, f"a tensor of shape {tuple(like.shape)}, as in this module", actual)
    check_finite(key, value)


def check_nonnegative(name: str, t: torch.Tensor) -> None:
    """Raise when a tensor holds NaN, infinity or a negative value."""
    check_finite(name, t)
    neg = t < 0
    if not eager_checks(t):
        device_assert(t >= 0, name, "non-negative")
        return
    if bool(neg.any()):
        first = tuple(int(i) for i in neg.nonzero()[0].tolist())
        fail(name, "non-negative", f"{t[first].item()} at index {first}")


def check_1d(name: str, t: torch.Tensor, *, length: int | None = None) -> None:
    """Raise unless ``t`` is one-dimensional (and has ``length`` entries when given)."""
    if t.ndim != 1:
        fail(name, "a 1-D tensor", describe_tensor(t))
    if length is not None and t.shape[0] != length:
        fail(name, f"a 1-D tensor of length {length}", describe_tensor(t))
    if t.shape[0] == 0:
        fail(name, "non-empty", describe_tensor(t))


def check_entries(
    name: str,
    ok: torch.Tensor,
    expected: str,
    problem: str,
    *,
    noun: tuple[str, str] = ("index", "indices"),
) -> None:
    """Raise naming the entries of the 1-D mask ``ok`` that are False (the first ten), e.g.
    "... got 'no positives at 2 labels: [3, 7]'" with ``noun=("label", "labels")``."""
    if bool(ok.all()):
        return
    bad = (~ok).nonzero().flatten().tolist()
    shown = ", ".join(map(str, bad[:10])) + (", ..." if len(bad) > 10 else "")
    fail(name, expected, f"{problem} at {len(bad)} {noun[len(bad) > 1]}: [{shown}]")


def counts_with_total(
    name: str, counts: Any, num_samples: Any
) -> tuple[torch.Tensor, float | None]:
    """Counts per class or label as a float64 CPU vector, checked to be non-negative, and the
    number of samples N they were counted in (None when not given), every count at most N.

    ``counts`` is a vector, or an object with ``counts`` and ``num_samples`` attributes (such as
    :class:`counterpoise.counts.LabelCounts`), which then must not be given ``num_samples`` too.
    """
    if hasattr(counts, "counts"):
        if num_samples is not None:
            fail("num_samples", "None when the counts carry their own", num_samples)
        counts, num_samples = counts.counts, getattr(counts, "num_samples", None)
    n = real_tensor(name, counts)
    check_1d(name, n)
    check_nonnegative(name, n)
    if num_samples is None:
        return n, None
    total = float(check_positive_int("num_samples", num_samples))
    if bool((n > total).any()):
        fail(name, f"at most num_samples={total:g}", n.max().item())
    return n, total


def resolve_option(
    name: str, value: Any, owner: str, choice: str, users: tuple[str, ...], default: Any = None
) -> Any:
    """The value of an option that only some choices of another argument use.

    ``value`` (or ``default`` when it is None; then required without a default) when the
    ``owner`` argument's ``choice`` is one of ``users``; None otherwise, raising when a value was
    given that the choice would ignore. The whole package uses it for the "None unless used"
    convention of its options.
    """
    if choice in users:
        if value is None and default is None:
            fail(name, f"given when {owner}={choice!r}", value)
        return default if value is None else value
    if value is not None:
        used_by = " and ".join(repr(u) for u in users)
        verb = "uses" if len(users) == 1 else "use"
        fail(name, f"None when {owner}={choice!r} (only {used_by} {verb} it)", value)
    return None


def real_values(name: str, value: Any, *, booleans: bool = False) -> torch.Tensor:
    """``value`` as a tensor of its own dtype (and device, for a tensor, which is not copied);
    raise for anything but real (or, with ``booleans``, boolean) numbers."""
    if isinstance(value, torch.Tensor):
        t = value.detach()
        if (t.dtype == torch.bool and not booleans) or t.is_complex():
            fail(name, "real numbers", describe_tensor(t), error=TypeError)
        return t
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        fail(name, "an array of real numbers", type(value).__name__, error=TypeError)
    if array.dtype.kind not in ("biuf" if booleans else "iuf"):
        # a 0-d array holds one object (None, a dict, a string, a counts object): name its type
        shown = f"an array of dtype {array.dtype}" if array.ndim else type(value).__name__
        fail(name, "real numbers", shown, error=TypeError)
    # a writable copy in native byte order, which torch.from_numpy requires
    return torch.from_numpy(array.astype(array.dtype.newbyteorder("="), copy=True))


def real_tensor(name: str, value: Any, *, booleans: bool = False) -> torch.Tensor:
    """``value`` as a float64 CPU tensor; raise for anything but real (or boolean) numbers."""
    return real_values(name, value, booleans=booleans).to(device="cpu", dtype=torch.float64)


def class_indices(
    name: str, index: torch.Tensor, num_classes: int, *, kind: str = "class indices"
) -> torch.Tensor:
    """An integer tensor (any shape, already type-checked) as int64, checked to be in [0, C).

    The cast comes first because PyTorch has no comparisons for uint16, uint32 and uint64; a
    uint64 beyond the int64 range wraps to a negative number and so is still rejected, and the
    message reports the value as given.
    """
    t = index.long()
    bad = (t < 0) | (t >= num_classes)
    if bool(bad.any()):
        first = tuple(int(i) for i in bad.nonzero()[0].tolist())
        value = index.cpu()[first].item() if index.ndim else index.item()
        at = f" at index {first}" if index.ndim else ""
        fail(name, f"{kind} in [0, {num_classes})".lstrip(), f"{value}{at}")
    return t


# --------------------------------------------------------------------------- losses' inputs


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype losses accumulate in: float64 stays, everything else becomes float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


#: Anything that converts to a 1-D tensor of per-class values.
VectorLike = torch.Tensor | np.ndarray | Sequence[float]


def check_input(input: torch.Tensor, *, min_ndim: int) -> torch.dtype:
    """Check a floating tensor of at least ``min_ndim`` dimensions; return the compute dtype."""
    if not isinstance(input, torch.Tensor) or not input.is_floating_point():
        actual = describe_tensor(input) if isinstance(input, torch.Tensor) else type(input).__name__
        fail("input", "a floating-point tensor", actual, error=TypeError)
    if input.ndim < min_ndim:
        shape = "(N, C) or (N, C, d1, ..., dK)" if min_ndim == 2 else f"{min_ndim}-D or more"
        fail("input", f"of shape {shape}", describe_tensor(input))
    return compute_dtype(input.dtype)


def check_integer_target(target: Any) -> None:
    """Class-index targets must be an integer (not boolean) tensor."""
    is_tensor = isinstance(target, torch.Tensor)
    if (
        not is_tensor
        or target.is_floating_point()
        or target.is_complex()
        or target.dtype == torch.bool
    ):
        actual = describe_tensor(target) if is_tensor else type(target).__name__
        fail("target", "an integer tensor of class indices", actual, error=TypeError)


def check_index_target(
    target: torch.Tensor, input: torch.Tensor, ignore_index: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Class-index targets: (target with ignored elements set to 0, mask of valid elements, or
    None when no element is ignored: the reduction then skips two masking passes)."""
    check_integer_target(target)
    ignore_index = check_ignore_index(ignore_index)
    expected = input.shape[:1] + input.shape[2:]
    if target.shape != expected:
        fail("target", f"a tensor of shape {tuple(expected)}", describe_tensor(target))
    if target.device != input.device:
        fail(
            "target", f"a tensor on the device of `input` ({input.device})", describe_tensor(target)
        )
    target = target.long()
    valid = target != ignore_index
    if not eager_checks(target, input):
        # always masked (whether anything is ignored is not read), range asserted on the device
        safe = torch.where(valid, target, 0)
        classes = f"class indices in [0, {input.shape[1]}) or ignore_index={ignore_index}"
        device_assert((safe >= 0) & (safe < input.shape[1]), "target", classes)
        return safe, valid
    safe, mask = target, None
    if not bool(valid.all()):
        safe, mask = torch.where(valid, target, 0), valid
    if safe.numel() > 0:
        low, high = safe.aminmax()  # one pass; the error path below looks for the culprit
        if int(low) < 0 or int(high) >= input.shape[1]:
            first = tuple(int(i) for i in ((safe < 0) | (safe >= input.shape[1])).nonzero()[0])
            fail(
                "target",
                f"class indices in [0, {input.shape[1]}) or ignore_index={ignore_index}",
                f"{target[first].item()} at index {first}",
            )
    return safe, mask


#: How far rows of probabilities may be from summing to 1 (rounding of float16 and softmax).
PROBABILITY_TOLERANCE = 1e-3


def check_probability_rows(name: str, q: torch.Tensor) -> None:
    """Probabilities along dimension 1: values in [0, 1] whose sums are 1 (within
    :data:`PROBABILITY_TOLERANCE`)."""
    expected = "probabilities in [0, 1] along dimension 1 that sum to 1"
    tol = PROBABILITY_TOLERANCE
    in_range = (q >= 0) & (q <= 1)
    sums_to_one = (q.sum(dim=1) - 1).abs() <= tol
    if not eager_checks(q):
        device_assert(in_range, name, expected)
        device_assert(sums_to_one, name, expected)
        return
    if not bool(in_range.all()):
        first = tuple(int(i) for i in in_range.logical_not().nonzero()[0])
        fail(name, expected, f"{q[first].item()} at index {first}")
    if not bool(sums_to_one.all()):
        row = tuple(int(i) for i in sums_to_one.logical_not().nonzero()[0])
        total = q.sum(dim=1)[row].item()
        fail(name, expected, f"a sum of {total:.6g} (sample {row[0]}, position {row[1:]})")


def check_ignore_index(value: Any) -> int:
    """``ignore_index`` checked: an integer (not a boolean)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        fail("ignore_index", "an integer", value, error=TypeError)
    return int(value)


def check_alpha(alpha: Any, length: int | None = None) -> float | torch.Tensor | None:
    """``alpha`` of :func:`anchor_focal_loss` checked: None, a number in [0, 1], or a 1-D
    tensor of values in [0, 1] (of ``length`` when given)."""
    if alpha is None:
        return None
    if isinstance(alpha, (int, float)) and not isinstance(alpha, bool):
        return check_number("alpha", alpha, low=0.0, high=1.0)
    v = class_vector("alpha", alpha, length=length)
    _check_at_most_one("alpha", v)
    return v


def _check_at_most_one(name: str, v: torch.Tensor) -> None:
    """Values of a checked non-negative vector at most 1."""
    if not eager_checks(v):
        device_assert(v <= 1, name, "values in [0, 1]")
    elif bool((v > 1).any()):
        fail(name, "values in [0, 1]", f"{v.max().item()} at index {int(v.argmax())}")


def check_binary_target(
    target: torch.Tensor, input: torch.Tensor, ignore_value: float | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Checked targets in [0, 1] with the elements equal to ``ignore_value`` set to 0, and the
    mask of the known elements (None when none is ignored: the reduction then skips two
    masking passes)."""
    if not isinstance(target, torch.Tensor) or target.is_complex():
        fail("target", "a tensor", type(target).__name__, error=TypeError)
    if target.requires_grad:
        fail("target", "a tensor that does not require grad", describe_tensor(target))
    if target.shape != input.shape:
        fail("target", f"a tensor of shape {tuple(input.shape)}", describe_tensor(target))
    if target.device != input.device:
        fail(
            "target", f"a tensor on the device of `input` ({input.device})", describe_tensor(target)
        )
    ignore = check_ignore_value(ignore_value)
    if target.numel() == 0 or target.dtype == torch.bool:
        return target, None
    known = None
    if ignore is not None:
        unknown = torch.isnan(target) if math.isnan(ignore) else target == ignore
        if not eager_checks(target):
            known, target = unknown.logical_not(), torch.where(unknown, 0, target)
        elif bool(unknown.any()):
            known = unknown.logical_not()
            target = torch.where(unknown, 0, target)
    if not eager_checks(target):
        allowed = "" if ignore is None else f" or ignore_value={ignore!r}"
        device_assert((target >= 0) & (target <= 1), "target", f"values in [0, 1]{allowed}")
        return target, known
    # One pass over the target; NaN makes the comparison fail as well.
    low, high = (float(v) for v in target.aminmax())
    if not (low >= 0 and high <= 1):
        check_finite("target", target)
        bad = (target < 0) | (target > 1)
        first = tuple(int(i) for i in bad.nonzero()[0]) if target.ndim else ()
        allowed = "" if ignore is None else f" or ignore_value={ignore!r}"
        fail("target", f"values in [0, 1]{allowed}", f"{target[first].item()} at index {first}")
    return target, known


def check_ignore_value(value: Any) -> float | None:
    """``ignore_value`` checked: None, NaN, or a number outside [0, 1]."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        fail("ignore_value", "a number or None", value, error=TypeError)
    v = float(value)
    if 0.0 <= v <= 1.0:
        fail("ignore_value", "a number outside [0, 1] (no label's target value), or NaN", v)
    return v


def check_focal_alpha(alpha: Any) -> float | torch.Tensor | None:
    """The focal ``alpha`` checked: None, a number in [0, 1], or a 1-D vector of values in
    [0, 1] (one per label, or one for all: its length is checked against the input's by
    :func:`label_view`). 0-d tensors and arrays are numbers."""
    if alpha is None:
        return None
    if isinstance(alpha, (torch.Tensor, np.ndarray)) and alpha.ndim == 0:
        alpha = alpha.item()
    if not isinstance(alpha, (torch.Tensor, np.ndarray, Sequence)):
        return check_number("alpha", alpha, low=0.0, high=1.0)
    v = class_vector("alpha", alpha)
    _check_at_most_one("alpha", v)
    return v


#: How errors about labels name them (see :func:`counterpoise._checks.check_entries`).
LABELS = ("label", "labels")


def float_tensor(name: str, value: Any) -> torch.Tensor:
    """A floating tensor from a tensor, an array or a sequence of numbers."""
    try:
        t = torch.as_tensor(value)
        if not isinstance(value, torch.Tensor) and t.dtype == torch.float32:
            if not bool(torch.isfinite(t).all()):
                # numbers beyond float32's range are read in float64 rather than as infinity
                wide = torch.as_tensor(np.asarray(value, dtype=np.float64))
                t = wide if bool(torch.isfinite(wide).all()) else t
    except (TypeError, ValueError, RuntimeError):
        fail(name, "a tensor or a sequence of numbers", value, error=TypeError)
    if t.dtype == torch.bool or t.is_complex():
        fail(name, "real numbers", describe_tensor(t), error=TypeError)
    if t.is_floating_point():
        return t
    return t.double() if t.device.type == "cpu" else t.float()  # no float64 on accelerators


def class_vector(
    name: str, value: Any, *, length: int | None = None, positive: bool = False
) -> torch.Tensor:
    """A checked 1-D vector of per-class values: finite, non-negative (or positive)."""
    v = float_tensor(name, value)
    if v.ndim != 1 or v.shape[0] == 0:
        fail(name, "a non-empty 1-D tensor", describe_tensor(v))
    if length is not None:
        check_length(name, v, length)
    check_nonnegative(name, v)
    if positive and not eager_checks(v):
        device_assert(v > 0, name, "positive")
    elif positive and not bool((v > 0).all()):
        fail(name, "positive", f"{v.min().item()} at index {int(v.argmin())}")
    return v


def class_vector_or_none(name: str, value: Any, *, positive: bool = False) -> torch.Tensor | None:
    """:func:`class_vector` of ``value``, or None for None."""
    return None if value is None else class_vector(name, value, positive=positive)


def check_length(name: str, v: torch.Tensor, length: int, *, what: str = "classes") -> None:
    if v.shape[0] != length:
        fail(name, f"a 1-D tensor of length {length} (the number of {what})", describe_tensor(v))


def label_view(name: str, v: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor | None:
    """A checked per-label vector (see :func:`class_vector`) of length L or 1, viewed to
    broadcast along dimension 1 of ``x`` (L = 1 for a 1-D ``x``), in the compute dtype on the
    device of ``x``; None for None. Checks its length, not its values: what a loss module owns
    is checked once, when it enters."""
    if v is None:
        return None
    labels = 1 if x.ndim <= 1 else x.shape[1]
    if v.shape[0] not in (1, labels):
        expected = (
            f"a 1-D tensor of length {labels} (the number of labels) or 1"
            if x.ndim >= 2
            else f"a 1-D tensor of length 1 (a {x.ndim}-D input has one label)"
        )
        fail(name, expected, describe_tensor(v))
    v = v.to(dtype=compute_dtype(x.dtype), device=x.device)
    if x.ndim == 0:
        return v.view(())
    return v.view((1, -1) + (1,) * (x.ndim - 2)) if x.ndim >= 2 else v


def check_unique_names(name: str, names: Sequence[str], where: str) -> None:
    """Raise when a name occurs more than once in ``names`` (the columns of a table read from
    ``where``), naming the first such name and how often it occurs."""
    seen: set[str] = set()
    for n in names:
        if n in seen:
            times = sum(other == n for other in names)
            fail(
                name, f"a table whose column names differ in {where}", f"{times} columns named {n}"
            )
        seen.add(n)
