"""The ``counterpoise`` command line (the ``cli`` extra: ``pip install 'counterpoise[cli]'``)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import torch

from . import __version__
from ._optional import require
from .compare import (
    STRATEGIES,
    CompareConfig,
    TrainConfig,
    default_num_splits,
    load_builtin,
    load_user_data,
    run_compare,
    write_report,
)
from .compare.model import import_object, prepare_model
from .compare.ray_executor import RayExecutor
from .compare.recommendation import Recommendation, recommend
from .compare.report import (
    baseline_of,
    feature_words,
    format_difference,
    format_interval,
    format_stats,
    metric_title,
    ranking_rows,
    shown_metrics,
    split_words,
)
from .compare.runner import LOWER_IS_BETTER, CompareResult, resolve_config
from .counts import LabelCounts, count_labels
from .datasets import load_digits_lt
from .describe import Description, describe, fold_schemes
from .metrics._tables import fit_tables, fits_whole, wrapped_widths
from .plots import figure_path, plot_class_distribution, save_figure
from .weights import SCHEMES, WeightingWarning, class_weights, pos_weight

if TYPE_CHECKING:
    import click
    import rich.progress as _progress
    import typer
    import typer.core as _typer_core
    from rich.console import Console
    from rich.markup import escape
    from rich.syntax import Syntax
    from rich.table import Table
else:  # the command line's own dependencies: the `cli` extra
    typer = require("typer", extra="cli")
    _typer_core = require("typer.core", extra="cli")
    # the click that typer parses with: its own copy in recent versions
    click = getattr(_typer_core, "_click", None) or require("click", extra="cli")
    escape = require("rich.markup", extra="cli").escape
    Console = require("rich.console", extra="cli").Console
    Table = require("rich.table", extra="cli").Table
    Syntax = require("rich.syntax", extra="cli").Syntax
    _progress = require("rich.progress", extra="cli")


def _without_type_hints(params: list[Any]) -> None:
    """Leave the value's type (``<int range>``) and range (``[x>=1]``) out of the help of
    ``params``: each option's help says in words what it takes."""
    for param in params:
        param.display_type_rich = lambda ctx: None
        param._get_number_range_help_str = lambda: None


class _Command(_typer_core.TyperCommand):
    """A command whose help shows no type hints."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # with --help, which click adds here
        _without_type_hints(params)
        return params


class _Group(_typer_core.TyperGroup):
    """The root command, whose help shows no type hints, and whose usage errors (an unknown
    command or option, a value that is not a number) are one line, as the commands' own."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # with --help, which click adds here
        _without_type_hints(params)
        return params

    def make_context(self, info_name: Any, args: Any, *rest: Any, **kwargs: Any) -> Any:
        self._typed = list(args)  # the words typed, to quote a value that does not parse
        with _usage_errors(self._typed):
            return super().make_context(info_name, args, *rest, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _usage_errors(getattr(self, "_typed", [])):  # the command's options parse here
            return super().invoke(ctx)


#: The kinds of value that click says a word is not, in the words of the package's messages.
_KIND_WORDS = {"integer": "an integer", "number": "a number", "float": "a number"}


@contextmanager
def _usage_errors(typed: list[str]) -> Iterator[None]:
    """click's usage errors as one "Error:" line and exit status 2; a value that is not a
    number in the package's template ("`--seeds` must be an integer, got 'x'")."""
    try:
        yield
    except click.exceptions.UsageError as error:
        if type(error).__name__ == "NoArgsIsHelpError":  # the help, shown as click shows it
            raise
        text = " ".join(error.format_message().split())
        param = getattr(error, "param", None)
        kind = re.search(r"valid (integer|number|float)\b", getattr(error, "message", ""))
        if param is not None and param.opts and kind is not None:
            flag = param.opts[0]
            text = f"`{flag}` must be {_KIND_WORDS[kind.group(1)]}"
            value = _typed_value(typed, [*param.opts, *param.secondary_opts])
            text += "" if value is None else f", got {value!r}"
        _stderr().print(f"[bold red]Error:[/] {escape(text)}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None


def _typed_value(typed: list[str], flags: list[str]) -> str | None:
    """The last value given to one of ``flags`` in the words ``typed`` (``--x v``, ``--x=v``)."""
    found = None
    for i, word in enumerate(typed):
        for flag in flags:
            if word == flag and i + 1 < len(typed):
                found = typed[i + 1]
            elif word.startswith(flag + "="):
                found = word[len(flag) + 1 :]
    return found


app = typer.Typer(
    name="counterpoise",
    cls=_Group,
    help="Class weights, losses and samplers for imbalanced data: count, weigh, compare.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


#: Width of the tables when the output is not a terminal (a file, a pipe, a CI log) and COLUMNS
#: is not set: wide enough that rows are not wrapped, where rich would assume 80 columns.
_PIPE_WIDTH = 120


def _stdout() -> Console:
    # Made per call, so that the terminal width (COLUMNS) is read when a command runs.
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=_PIPE_WIDTH)
    return console


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


#: Tables show every class up to this many; beyond it the largest and smallest ten.
_MAX_ROWS = 30
_ROWS_EACH_END = 10

PathArg = Annotated[
    Path | None,
    typer.Argument(
        help="Labels: CSV, TSV, Parquet (file or directory), .npy, .npz or a text file with one "
        "label per line. Omitted: the built-in digits-lt training labels.",
        metavar="PATH",
        show_default=False,
    ),
]
ColumnOpt = Annotated[
    str | None,
    typer.Option(
        "--column",
        "-c",
        help="Label column (CSV/Parquet) or array (.npz). With --multilabel: comma-separated "
        "0/1 columns or a prefix ending in '*'.",
    ),
]
MultilabelOpt = Annotated[
    bool, typer.Option("--multilabel", help="Labels are a 0/1 indicator matrix (N, L).")
]
FactorOpt = Annotated[
    float | None,
    typer.Option(
        "--imbalance-factor",
        help="Imbalance factor of the built-in digits-lt: at least 1 (default 100).",
        show_default=False,
    ),
]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        "--seed",
        help="Seed of the built-in data set: 0 or more (default 0).",
        show_default=False,
    ),
]
_DEFAULT_FACTOR = 100.0


#: The library's parameters that the commands' arguments and options set, by the name that
#: the user typed: errors and warnings name what the user can change.
_FLAGS = {
    "source": "PATH",
    "path": "PATH",
    "column": "--column",
    "scheme": "--scheme",
    "beta": "--beta",
    "c": "--c",
    "cost": "--cost",
    "normalize": "--normalize",
    "clip": "--clip",
    "max_ratio": "--max-ratio",
    "zero_counts": "--zero-counts",
    "imbalance_factor": "--imbalance-factor",
    "seed": "--seed",
    "plot": "--plot",
    "label": "--label",
    "labels": "--labels",
    "features": "--features",
    "exclude": "--exclude",
    "seeds": "--seeds",
    "strategies": "--strategies",
    "metric": "--metric",
    "boundaries": "--label-groups",
    "epochs": "--epochs",
    "hidden": "--hidden",
    "depth": "--depth",
    "batch_size": "--batch-size",
    "splits": "--splits",
    "jobs": "--jobs",
}


def _in_flags(message: str) -> str:
    """``message`` with the library's parameter names replaced by the command line's: `beta`
    by `--beta`, `clip[1]` by `--clip`, scheme='power' by `--scheme power`, "got None" by
    "not given"."""

    def name(m: re.Match[str]) -> str:
        return f"`{_FLAGS[m.group(1)]}`" if m.group(1) in _FLAGS else m.group(0)

    def setting(m: re.Match[str]) -> str:
        key, value = m.group(1), m.group(2)
        return f"`{_FLAGS[key]} {value}`" if key in _FLAGS else m.group(0)

    message = re.sub(r"`([a-z_]+)(?:\[\d+\])?`", name, message)
    message = re.sub(r"\b([a-z_]+)='([^']*)'", setting, message)
    message = re.sub(r" when (`--[a-z-]+ [^`]*`), got None$", r" with \1", message)
    return re.sub(r", got None$", ", but it was not given", message)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn bad input into a one-line message and exit status 2, without a traceback; the
    message names the option or argument the user typed."""
    try:
        yield
    except (ValueError, TypeError, FileNotFoundError, IsADirectoryError) as exc:
        _stderr().print(
            f"[bold red]Error:[/] {escape(_in_flags(str(exc)))}",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=2) from None


@contextmanager
def _weighting_warnings() -> Iterator[None]:
    """Print the library's :class:`~counterpoise.weights.WeightingWarning` as "Warning:" lines
    that name the options (each distinct one once), instead of Python's warning format."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", WeightingWarning)
        yield
    for message in dict.fromkeys(
        str(w.message) for w in caught if issubclass(w.category, WeightingWarning)
    ):
        _stderr().print(f"[yellow]Warning:[/] {_in_flags(message)}", markup=True, highlight=False)
    for w in caught:  # any other warning, as Python would have shown it
        if not issubclass(w.category, WeightingWarning):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _only_without_path(path: Path | None, **options: Any) -> None:
    """Reject options of the built-in data set when a PATH is given."""
    given = [name for name, value in options.items() if value is not None]
    if path is not None and given:
        raise ValueError(
            f"`{given[0]}` applies to the built-in digits-lt only, not to a PATH, got {path}"
        )


def _load(
    path: Path | None, column: str | None, multilabel: bool, factor: float | None, seed: int | None
) -> tuple[LabelCounts, str]:
    _only_without_path(path, **{"--imbalance-factor": factor, "--seed": seed})
    if path is None:
        if column is not None or multilabel:
            raise ValueError(
                "`--column` and `--multilabel` need a PATH; without one the built-in digits-lt is used"
            )
        factor = _DEFAULT_FACTOR if factor is None else factor
        seed = seed or 0
        ds = load_digits_lt(imbalance_factor=factor, seed=seed)
        labels = count_labels(ds.y_train, num_classes=ds.num_classes)
        return labels, f"digits-lt (imbalance factor {factor:g}, seed {seed}), training split"
    col: str | list[str] | None = column
    if multilabel and column is not None and "," in column:
        col = [c.strip() for c in column.split(",") if c.strip()]
    return count_labels(path, column=col, multilabel=multilabel), str(path)


def _rows(n: int) -> list[int | None]:
    """Row indices to show; None marks the elided middle."""
    if n <= _MAX_ROWS:
        return list(range(n))
    return [*range(_ROWS_EACH_END), None, *range(n - _ROWS_EACH_END, n)]


def _render(d: Description, source: str, multilabel: bool) -> None:
    unit, units = ("label", "labels") if multilabel else ("class", "classes")
    out = _stdout()
    out.print(f"[bold]{source}[/]", markup=True)
    out.print(
        f"{d.num_classes} {units}, {d.num_samples:,} {'rows' if multilabel else 'samples'}, "
        f"imbalance ratio {d.imbalance_ratio:,.1f}:1,\n"
        f"effective number of {units} {d.effective_num_classes:.2f}"
    )
    shown = _rows(d.num_classes)
    names = ["…" if i is None else str(d.classes[i]) for i in shown]

    def column(values: Any, fmt: str) -> list[str]:
        return ["…" if i is None else format(values[i], fmt) for i in shown]

    # schemes with the same weights share one column (under "samples": inverse, balanced, ...)
    groups = fold_schemes(d.schemes)
    headers = [" =\n".join(e.label.replace("(", "\n(") for e in g) for g in groups]
    weights = [(h, column(g[0].weights, ".4g")) for h, g in zip(headers, groups)]
    counts = [
        ("positives" if multilabel else "count", column(d.counts, ",")),
        ("share", column(d.share, ".2%")),
    ]
    shares = [(h, column(g[0].loss_share, ".1%")) for h, g in zip(headers, groups)]
    for table in fit_tables(
        f"Weights per {unit} (normalised: {d.normalize})", unit, names, counts + weights, out.width
    ):
        out.print(table)
    for table in fit_tables(
        f"Share of the loss weight per {unit} (w·n / Σ w·n)",
        unit,
        names,
        shares,
        out.width,
    ):
        out.print(table)
    for w in d.warnings:
        _stderr().print(f"[yellow]Warning:[/] {w}", markup=True)  # wrapped at the width


@app.command("inspect", cls=_Command)
def inspect_cmd(
    path: PathArg = None,
    column: ColumnOpt = None,
    multilabel: MultilabelOpt = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Draw the class distribution to this image file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print every number as JSON.")] = False,
    imbalance_factor: FactorOpt = None,
    seed: SeedOpt = None,
) -> None:
    """Count the labels and show the class weights under every scheme, and what they do."""
    with _user_errors():
        if plot is not None:  # before the labels are read
            plot = figure_path(plot, name="plot")
        labels, source = _load(path, column, multilabel, imbalance_factor, seed)
        d = describe(labels)
        if plot is not None:
            save_figure(plot_class_distribution(labels), plot)
    if as_json:
        payload = {"source": source, "multilabel": labels.multilabel, **d.to_dict()}
        typer.echo(json.dumps(payload, indent=2))
    else:
        _render(d, source, labels.multilabel)
        if plot is not None:
            _stdout().print(f"Class distribution drawn to {plot}")


def _parse_pair(option: str, text: str | None, form: str) -> tuple[float, float] | None:
    """Two comma-separated numbers, e.g. ``--clip 0.1,10``, or None when not given."""
    if text is None:
        return None
    try:
        lo, hi = (float(p) for p in text.split(","))
    except ValueError:
        raise ValueError(f"`{option}` must be two numbers '{form}', got {text!r}") from None
    return lo, hi


def _parse_cost(text: str | None) -> np.ndarray | None:
    if text is None:
        return None
    p = Path(text)
    if p.suffix in {".npy", ".csv", ".txt"}:
        try:
            if p.suffix == ".npy":
                return np.load(p, allow_pickle=False)
            return np.loadtxt(p, delimiter="," if p.suffix == ".csv" else None, ndmin=1)
        except (OSError, ValueError, EOFError) as error:  # missing, unreadable, not numbers
            reason: Any = error
            if isinstance(error, OSError) and error.strerror:
                reason = error.strerror
            elif p.suffix == ".npy":  # NumPy's own words suppose a pickle
                reason = "not an .npy array of numbers"
            raise ValueError(
                f"`--cost` must be a readable .npy/.csv file of numbers ({reason}), got {text!r}"
            ) from None
    try:
        return np.array([float(v) for v in text.split(",")])
    except ValueError:
        raise ValueError(
            f"`--cost` must be comma-separated numbers or a .npy/.csv file, got {text!r}"
        ) from None


def _number(v: float) -> str:
    """The shortest text that reads back as the same float32 (0.9979, not 0.99790001), always
    with a decimal point or exponent, so that the printed tensor is a float tensor
    (``torch.tensor([1, 3])`` would be int64, which losses reject)."""
    text = str(np.float32(v))
    return text if any(ch in text for ch in ".einf") else text + ".0"


def _emit(values: list[float], names: list[Any], fmt: str, meta: dict[str, Any]) -> None:
    # Plain output (not rich): it is meant to be pasted or parsed, never wrapped.
    if fmt == "python":
        typer.echo("torch.tensor([" + ", ".join(_number(v) for v in values) + "])")
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["class", "weight"])
        writer.writerows([name, _number(v)] for name, v in zip(names, values))
        typer.echo(buffer.getvalue(), nl=False)
    else:
        weights = [float(_number(v)) for v in values]  # float32's digits, not float64's
        typer.echo(json.dumps({**meta, "classes": names, "weights": weights}, indent=2))


_FORMATS = ("python", "json", "csv")
_NORMALIZE = ("samples", "classes", "sum", "max", "none")
_ZERO = ("error", "smooth", "zero")


@app.command("weights", cls=_Command)
def weights_cmd(
    path: PathArg = None,
    scheme: Annotated[
        str | None,
        typer.Option(
            "--scheme",
            "-s",
            help=f"One of {', '.join(SCHEMES)} (default balanced).",
            show_default=False,
        ),
    ] = None,
    beta: Annotated[
        float | None, typer.Option(help="beta of 'power' (exponent) or 'effective'.")
    ] = None,
    c: Annotated[float | None, typer.Option("--c", help="c of 'log' (default 1.02).")] = None,
    cost: Annotated[
        str | None,
        typer.Option(
            help="Costs for 'cost': comma-separated per class, or a .npy/.csv vector or matrix."
        ),
    ] = None,
    normalize: Annotated[
        str | None,
        typer.Option(help="samples (default), classes, sum, max or none.", show_default=False),
    ] = None,
    clip: Annotated[str | None, typer.Option(help="Clip the final weights to 'LO,HI'.")] = None,
    max_ratio: Annotated[
        float | None, typer.Option("--max-ratio", help="Cap largest/smallest weight.")
    ] = None,
    zero_counts: Annotated[
        str | None,
        typer.Option(
            "--zero-counts",
            help="Classes (labels) without samples: error (default), smooth or zero.",
            show_default=False,
        ),
    ] = None,
    column: ColumnOpt = None,
    multilabel: Annotated[
        bool,
        typer.Option("--multilabel", help="Print the per-label pos_weight (negatives/positives)."),
    ] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="python, json or csv.")] = "python",
    imbalance_factor: FactorOpt = None,
    seed: SeedOpt = None,
) -> None:
    """Print class weights ready to paste, e.g. torch.tensor([...])."""
    with _user_errors():
        if fmt not in _FORMATS:
            raise ValueError(f"`--format` must be one of {', '.join(_FORMATS)}, got {fmt!r}")
        if normalize is not None and normalize not in _NORMALIZE:
            raise ValueError(
                f"`--normalize` must be one of {', '.join(_NORMALIZE)}, got {normalize!r}"
            )
        if zero_counts is not None and zero_counts not in _ZERO:
            raise ValueError(
                f"`--zero-counts` must be one of {', '.join(_ZERO)}, got {zero_counts!r}"
            )
        labels, source = _load(path, column, multilabel, imbalance_factor, seed)
        names = [_plain(x) for x in labels.classes]
        zero_counts = zero_counts or "error"
        if multilabel:
            options = {"--scheme": scheme, "--beta": beta, "--c": c, "--cost": cost}
            options |= {"--normalize": normalize, "--clip": clip, "--max-ratio": max_ratio}
            given = [name for name, value in options.items() if value is not None]
            if given:
                raise ValueError(
                    f"`{given[0]}` does not apply with `--multilabel`, which prints pos_weight "
                    "(negatives / positives per label); only `--zero-counts` does"
                )
            w = pos_weight(labels, zero_counts=zero_counts)  # type: ignore[arg-type]
            meta: dict[str, Any] = {"source": source, "kind": "pos_weight"}
        else:
            scheme = scheme or "balanced"
            normalize = normalize or "samples"
            with _weighting_warnings():
                w = class_weights(
                    labels,
                    scheme,  # type: ignore[arg-type]
                    beta=beta,
                    c=c,
                    cost=_parse_cost(cost),
                    normalize=None if normalize == "none" else normalize,  # type: ignore[arg-type]
                    clip=_parse_pair("--clip", clip, "LO,HI"),
                    max_ratio=max_ratio,
                    zero_counts=zero_counts,  # type: ignore[arg-type]
                )
            meta = {"source": source, "scheme": scheme, "normalize": normalize}
    _emit([float(v) for v in w.tolist()], names, fmt, meta)


@app.command("compare", cls=_Command)
def compare_cmd(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Argument(
            help="Your data: CSV/TSV/Parquet with feature columns (numbers, booleans, dates or "
            "text; empty cells allowed) and a label column (or several 0/1 label columns, see "
            "--labels), or .npz with X and y (a 2-D y of 0/1 is multilabel). Omitted: the "
            "built-in digits-lt.",
            metavar="PATH",
            show_default=False,
        ),
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="The label column of a table.")
    ] = None,
    labels: Annotated[
        str | None,
        typer.Option(
            "--labels",
            help="Multilabel: the 0/1 label columns of a table, comma-separated names or "
            "patterns such as 'tag_*'. Empty cells are labels not annotated (masked out).",
        ),
    ] = None,
    features: Annotated[
        list[str] | None,
        typer.Option(
            "--features",
            help="The feature columns of a table: comma-separated names or patterns such as "
            "'f_*', repeatable (default: every column but the labels and `split`). A column "
            "named here is used even if it looks like a row ID.",
            show_default=False,
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            help="Columns of a table to leave out of the features: comma-separated names or "
            "patterns, repeatable.",
            show_default=False,
        ),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the report.")] = Path(
        "counterpoise-report"
    ),
    quick: Annotated[
        bool, typer.Option("--quick", help="One seed and a short budget, for a first look.")
    ] = False,
    seeds: Annotated[
        int | None,
        typer.Option("--seeds", help="Seeds per strategy, at least 1 (default 3; 1 with --quick)."),
    ] = None,
    strategies: Annotated[
        str | None,
        typer.Option("--strategies", help="Comma-separated strategy names (see --list)."),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            help="Metric that ranks strategies and selects checkpoints (default "
            "balanced_accuracy; map, the mean average precision, for multilabel data).",
            show_default=False,
        ),
    ] = None,
    label_groups: Annotated[
        str | None,
        typer.Option(
            "--label-groups",
            help="Multilabel: the boundaries 'LOW,HIGH' of the label groups by training "
            "positives: tail below LOW, head above HIGH (default 20,100).",
            show_default=False,
        ),
    ] = None,
    imbalance_factor: FactorOpt = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            "--epochs",
            help="Most epochs per run, at least 1 (default 100; 40 with --quick).",
        ),
    ] = None,
    hidden: Annotated[
        int, typer.Option("--hidden", help="Width of the MLP's hidden layers, at least 1.")
    ] = 128,
    depth: Annotated[
        int, typer.Option("--depth", help="Hidden layers of the MLP (0: a linear model).")
    ] = 1,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or cuda:N.")] = "cpu",
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            help="Runs that train at once, each in its own process with one thread "
            "(default: the CPU cores available; 1 trains in this process).",
            min=1,
            show_default=False,
        ),
    ] = None,
    n_splits: Annotated[
        int | None,
        typer.Option(
            "--splits",
            help="Random splits of the data, each trained with every seed (default: 3 for "
            "tables under 10,000 rows, else 1; 1 with --quick, for the built-in data and when "
            "the data gives the splits).",
            min=1,
            show_default=False,
        ),
    ] = None,
    reference: Annotated[
        bool,
        typer.Option(
            "--reference/--no-reference",
            help="Also train two scikit-learn reference models (class-weighted logistic "
            "regression and gradient boosting), for context.",
        ),
    ] = True,
    html_page: Annotated[bool, typer.Option("--html", help="Also write report.html.")] = False,
    list_only: Annotated[
        bool, typer.Option("--list", help="List the strategies and exit.")
    ] = False,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Your own model instead of the MLP: 'module:factory', a function (or class) "
            "that returns a fresh torch.nn.Module whose output is logits. Needs --data.",
            show_default=False,
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            help="With --model: 'module:factory', a function that returns the (train, val, "
            "test) PyTorch data sets, each yielding (input, label); (train, val) splits val "
            "in two.",
            show_default=False,
        ),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Run every training run as a Ray task, on the cluster at "
            "ADDRESS ('auto': the one this node belongs to; 'ray://HOST:10001'; 'local': a new "
            "Ray instance here).",
            show_default=False,
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            help="With --model: samples per step, at least 1 (default 64).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Train a model with each imbalance strategy on the same data and show which wins.

    With --model and --data, your own PyTorch model trains on your data sets; finished runs are
    saved in the report folder as they finish, and the same command run again trains only the
    runs that are missing.
    """
    if list_only:
        table = Table(title="Strategies", title_justify="left")
        table.add_column("name")
        table.add_column("data")
        table.add_column("what it does")
        for st in STRATEGIES.values():
            data = "binary" if st.binary_only else st.task
            table.add_row(st.name, data, st.summary)
        _stdout().print(table)
        return
    if model is not None or data is not None or batch_size is not None:
        result, files = _compare_own_model(
            ctx,
            path=path,
            model=model,
            data=data,
            ray_address=ray_address,
            out_dir=out_dir,
            quick=quick,
            seeds=seeds,
            strategies=strategies,
            metric=metric,
            label_groups=label_groups,
            epochs=epochs,
            batch_size=batch_size,
            device=device,
            jobs=jobs,
            html_page=html_page,
        )
        _print_result(result, files, html_page)
        return
    with _user_errors():
        chosen = None if features is None else ",".join(features)
        left_out = None if exclude is None else ",".join(exclude)
        for option, value in (
            ("--label", label),
            ("--labels", labels),
            ("--features", chosen),
            ("--exclude", left_out),
        ):
            if path is None and value is not None:
                raise ValueError(
                    f"`{option}` needs a PATH; without one the built-in digits-lt is used"
                )
            if path is not None and value is not None and path.suffix.lower() == ".npz":
                why = "its X has no columns" if option in ("--features", "--exclude") else None
                raise ValueError(
                    f"`{option}` applies to tables, not to .npz files "
                    f"({why or 'a 2-D y is multilabel'}), got {path}"
                )
        _only_without_path(path, **{"--imbalance-factor": imbalance_factor})
        names = (
            None
            if strategies is None
            else tuple(n.strip() for n in strategies.split(",") if n.strip())
        )
        train = TrainConfig(
            hidden=hidden,
            depth=depth,
            epochs=(40 if quick else 100) if epochs is None else epochs,
            patience=10 if quick else 20,
            device=device,
        )
        config = CompareConfig(
            seeds=(1 if quick else 3) if seeds is None else seeds,
            metric=metric,
            strategies=names,
            train=train,
            boundaries=_parse_pair("--label-groups", label_groups, "LOW,HIGH"),
            jobs=jobs,
            references=reference,
        )
        _check_device(device)
        splits = (
            load_builtin(imbalance_factor or _DEFAULT_FACTOR)
            if path is None
            else load_user_data(path, label=label, labels=labels, features=chosen, exclude=left_out)
        )
        if label_groups is not None and not splits.multilabel:
            raise ValueError(
                "`--label-groups` applies to multilabel data (--labels, or a 2-D y), got "
                f"{label_groups!r} for {splits.num_classes} classes"
            )
        if n_splits is None:  # the built-in data set holds out its own balanced splits
            n_splits = 1 if quick or path is None else default_num_splits(splits)
        config = resolve_config(replace(config, splits=n_splits), splits)  # fail before training
        _check_out_dir(out_dir)
        executor, ray = _ray_executor(ray_address, device)

    unit = "labels" if splits.multilabel else "classes"
    _stdout().print(
        f"[bold]{splits.name}[/]: {splits.num_classes} {unit}; {split_words(splits)} "
        f"{'rows' if splits.multilabel else 'samples'}",
        markup=True,
    )
    for note in splits.notes:
        _stdout().print(note)
    _stdout().print(f"Features: {feature_words(splits)}.")
    with _training_progress() as progress:
        try:
            with _weighting_warnings():
                result = run_compare(
                    splits, config, progress=progress, executor=executor, runs=out_dir / "runs"
                )
        finally:
            if ray is not None:
                ray.shutdown()
    files = write_report(result, out_dir, html_page=html_page)
    _print_result(result, files, html_page)


#: The options of a comparison of tables (with the MLP) that do not apply to --model.
_TABLE_ONLY = {
    "path": "PATH",
    "label": "--label",
    "labels": "--labels",
    "imbalance_factor": "--imbalance-factor",
    "hidden": "--hidden",
    "depth": "--depth",
    "splits": "--splits",
    "reference": "--no-reference",
}


def _given(ctx: Any, name: str) -> bool:
    """Whether the option ``name`` of the command of ``ctx`` was given (not its default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def _factory_result(factory: Any, option: str, spec: str) -> Any:
    """What a factory of the command line returns; an error it raises is a one-line error."""
    if not callable(factory):
        raise ValueError(f"`{option}` must name a function or class, got {spec!r}")
    try:
        return factory()
    except Exception as error:  # the user's code: any error is theirs to see in one line
        raise ValueError(
            f"`{option}` must be a factory that runs, got {spec!r}, which raised "
            f"{type(error).__name__}: {error}"
        ) from None


def _compare_own_model(
    ctx: Any,
    *,
    path: Path | None,
    model: str | None,
    data: str | None,
    ray_address: str | None,
    out_dir: Path,
    quick: bool,
    seeds: int | None,
    strategies: str | None,
    metric: str | None,
    label_groups: str | None,
    epochs: int | None,
    batch_size: int | None,
    device: str,
    jobs: int | None,
    html_page: bool,
) -> tuple[CompareResult, dict[str, Path]]:
    """``compare --model --data``: the comparison of the user's own model and data sets."""
    ray = None
    with _user_errors():
        options = {"--model": model, "--data": data, "--ray": ray_address}
        given = next((f for f, v in options.items() if v is not None), "--batch-size")
        for option, value in (("--model", model), ("--data", data)):
            if value is None:
                raise ValueError(
                    f"`{option}` must be given with `{given}` (your model, and the data sets "
                    "it trains on, as 'module:factory'), but it was not given"
                )
        for name, option in _TABLE_ONLY.items():
            if _given(ctx, name):
                raise ValueError(
                    f"`{option}` applies to the comparison of tables with the built-in MLP, "
                    f"not to `--model`, but it was given with --model {model!r}"
                )
        # the modules of the folder the command runs in can be imported, as `python -m`
        # would allow (the console script's own folder is what Python puts first)
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        factory = import_object(str(model), "--model")
        datasets = _factory_result(import_object(str(data), "--data"), "--data", str(data))
        if not isinstance(datasets, (tuple, list)) or len(datasets) not in (2, 3):
            shown = (
                f"a {type(datasets).__name__} of {len(datasets)}"
                if isinstance(datasets, (tuple, list))
                else type(datasets).__name__
            )
            raise ValueError(
                f"`--data` must return (train, val, test) or (train, val) data sets, got {shown}"
            )
        _factory_result(factory, "--model", str(model))
        _check_device(device)
        names = (
            None
            if strategies is None
            else tuple(n.strip() for n in strategies.split(",") if n.strip())
        )
        executor, ray = _ray_executor(ray_address, device)
        _check_out_dir(out_dir)
        prepared = prepare_model(
            factory,
            *datasets,
            strategies=names,
            seeds=(1 if quick else 3) if seeds is None else seeds,
            epochs=(10 if quick else 20) if epochs is None else epochs,
            batch_size=64 if batch_size is None else batch_size,
            device=device,
            metric=metric,
            boundaries=_parse_pair("--label-groups", label_groups, "LOW,HIGH"),
            name=str(data),
            jobs=jobs,
            out=out_dir,
            executor=executor,
        )
    try:
        splits = prepared.splits
        unit = "labels" if splits.multilabel else "classes"
        _stdout().print(
            f"[bold]{splits.name}[/]: {splits.num_classes} {unit}; {split_words(splits)} "
            f"{'rows' if splits.multilabel else 'samples'}",
            markup=True,
        )
        for note in splits.notes:
            _stdout().print(note)
        _stdout().print(f"Inputs: {prepared.training.inputs}.")
        with _training_progress() as progress:
            with _weighting_warnings():
                result = prepared.train(progress)
    finally:
        if ray is not None:
            ray.shutdown()
    return result, write_report(result, out_dir, html_page=html_page)


def _print_result(result: CompareResult, files: dict[str, Path], html_page: bool) -> None:
    """The recommendation, the ranking table and where the report is."""
    rows = ranking_rows(result)
    metric = result.metric
    title = metric_title(result, metric)
    runs = result.num_runs
    _print_recommendation(recommend(result))
    table = Table(
        title=f"Ranked by validation {title}; test scores over {runs} run(s), [95% interval]",
        title_justify="left",
    )
    shown_all, _ = shown_metrics(result)
    wanted: tuple[str, ...] = ("worst_class_recall", "accuracy")
    if result.splits.multilabel:
        wanted = ("head_map", "tail_map", "macro_f1_tuned")
    others = [m for m in shown_all if m in wanted and m != metric]
    cells: list[list[str]] = []
    for row in rows:
        name = row["strategy"] + (" ✓" if row["selected"] else "")
        name += "\n(reference)" if row.get("reference") else ""
        name += "".join(f"\n≡ {n}" for n in row["folded"])
        val = "" if row["validation"] is None else f"{row['validation']['mean']:.3f}"
        test = format_interval(row["stats"][metric]["mean"], row["interval"]).replace(" [", "\n[")
        delta = format_difference(row["vs_baseline"], runs).replace(" [", "\n[")
        stats = [format_stats(row["stats"][m], runs) for m in others]
        cells.append([str(row["rank"]), name, val, test, delta, *stats])
    # headers wrap at spaces, cells at most at a space: no number is ever cut; the metrics
    # beyond the ranking metric are shown as far as they fit whole
    headers = ["rank", "strategy", f"val {title}", f"test {title}"]
    headers += [f"Δ vs {baseline_of(result)}"]
    headers += [metric_title(result, m).replace("_", " ") for m in others]
    columns = [(h, [c[i] for c in cells]) for i, h in enumerate(headers)]
    width = _stdout().width
    keep = 5
    while keep < len(columns) and fits_whole(columns[: keep + 1], width):
        keep += 1
    columns = columns[:keep]
    for i, w in enumerate(wrapped_widths(columns, width)):
        table.add_column(
            columns[i][0], justify="left" if i == 1 else "right", width=w, overflow="fold"
        )
    for c in cells:
        table.add_row(*c[:keep])
    _stdout().print(table)
    _stdout().print("✓ selected on validation; ≈ within noise of the baseline; ≡ same predictions.")
    if metric in LOWER_IS_BETTER:
        _stdout().print(f"Lower {metric} is better: a negative Δ is an improvement.")
    _stdout().print(
        f"Report: {files['markdown']}  "
        f"(results.json, plots{', report.html' if html_page else ''} beside it)"
    )
    _stdout().print(f"Finished in {result.seconds:.1f} s.")


def _ray_executor(address: str | None, device: str) -> tuple[Any, Any]:
    """The executor of ``--ray ADDRESS`` (None without it), and the Ray module when this
    command connected to the cluster (to disconnect at the end), else None."""
    if address is None:
        return None, None
    try:
        ray: Any = require("ray", extra="ray")
    except ModuleNotFoundError as error:
        raise ValueError(f"`--ray` needs Ray: {error}") from None
    if ray.is_initialized():
        ray = None  # connected already (the command called from Python): left as is
    else:
        try:
            ray.init(address=address, log_to_driver=False)
        except Exception as error:  # Ray's many ways of failing to connect
            raise ValueError(
                "`--ray` must be the address of a Ray cluster this machine can reach, "
                f"got {address!r} ({type(error).__name__}: {error})"
            ) from None
    executor = RayExecutor(gpus=1.0 if torch.device(device).type == "cuda" else 0.0)
    return executor, ray


def _training_progress() -> Any:
    """The progress bar of a comparison's training, on stderr, gone when done."""
    return _progress.Progress(
        _progress.TextColumn("{task.description:<32}"),
        _progress.BarColumn(),
        _progress.TextColumn("{task.percentage:>3.0f}%"),
        _progress.TimeElapsedColumn(),
        console=_stderr(),
        transient=True,
    )


def _print_recommendation(rec: Recommendation) -> None:
    """The recommendation: the verdict, the code to paste, the simpler option, the worst
    class and what limits the finding."""
    out = _stdout()
    out.print("[bold]Recommendation[/]", markup=True)
    out.print(rec.verdict, markup=False)
    out.print(
        Syntax(rec.code, "python", theme="ansi_dark", background_color="default", word_wrap=True)
    )
    if rec.simpler is not None:
        out.print(rec.simpler_text(), markup=False)
        out.print(
            Syntax(str(rec.simpler_code), "python", theme="ansi_dark", background_color="default")
        )
    if rec.worst is not None:
        out.print(rec.worst_text(), markup=False)
    for warning in rec.warnings:
        out.print(f"Note: {warning}", markup=False)
    out.print()


def _check_device(device: str) -> None:
    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise ValueError(f"`--device` must be cpu, cuda or cuda:N, got {device!r}") from None
    if parsed.type == "cuda":
        count = torch.cuda.device_count()
        if count == 0 or (parsed.index is not None and parsed.index >= count):
            raise ValueError(
                f"`--device` must be a device this machine has ({count} GPU(s)), got {device!r}"
            )
    elif parsed.type != "cpu":
        raise ValueError(f"`--device` must be cpu, cuda or cuda:N, got {device!r}")


def _check_out_dir(out_dir: Path) -> None:
    """Create the report folder before training, so that a bad path fails at once."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"`--out` must be a folder, got the file {out_dir}")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"`--out` must be a folder that can be written, got {out_dir} ({exc})"
        ) from None


def _plain(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


def _version(value: bool) -> None:
    if value:
        _stdout().print(f"counterpoise {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Class weights, losses and samplers for imbalanced data: count, weigh, compare."""


def main() -> None:
    """Entry point of the ``counterpoise`` console script and ``python -m counterpoise``."""
    app(prog_name="counterpoise")
