"""The reports as rich tables: the one place where :class:`ImbalanceReport` and
:class:`MultilabelReport` are laid out for the terminal (their ``print`` methods call here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check_positive_int
from .._optional import require

if TYPE_CHECKING:
    from .multiclass import ImbalanceReport
    from .multilabel import MultilabelReport


def _rich() -> tuple[Any, Any]:
    """rich's ``Console`` and ``Table``."""
    console = require("rich.console", extra="cli")
    table = require("rich.table", extra="cli")
    return console.Console, table.Table


def _border_width(widths: list[int]) -> int:
    """Characters of a rich table (the default box, one space of padding each side) whose
    columns hold ``widths`` characters."""
    return sum(widths) + 3 * len(widths) + 1


def _words(text: str) -> list[str]:
    """The pieces a cell may be wrapped into: its lines when it has line breaks, else its
    words."""
    return (text.split("\n") if "\n" in text else text.split()) or [""]


def _column_width(header: str, cells: list[str]) -> int:
    """The width a column needs: its widest cell, and its header's longest word (headers
    wrap at spaces, or only at their line breaks when they have any; cells never wrap)."""
    return max([len(c) for c in cells] + [len(w) for w in _words(header)])


def least_widths(columns: list[tuple[str, list[str]]]) -> list[int]:
    """The narrowest each ``(header, cells)`` column can be with every word (or line, for
    text with line breaks) whole."""
    return [max(len(w) for t in (h, *c) for w in _words(t)) for h, c in columns]


def fits_whole(columns: list[tuple[str, list[str]]], width: int) -> bool:
    """Whether a rich table of these columns fits in ``width`` characters with every number
    whole (see :func:`wrapped_widths`)."""
    return _border_width(least_widths(columns)) <= width


def wrapped_widths(columns: list[tuple[str, list[str]]], width: int) -> list[int]:
    """Column widths for a rich table of ``(header, cells)`` columns that fits in ``width``
    characters where it can: each column starts as wide as its widest cell or header and the
    widest is narrowed first, never below its longest word (or line, for text with line
    breaks), so that a number is wrapped at a space at most, never cut. The table may stay
    wider than ``width`` when even the longest words do not fit."""
    widest = [max(len(line) for t in (h, *c) for line in t.split("\n")) for h, c in columns]
    least = least_widths(columns)
    widths = list(widest)
    while _border_width(widths) > width:
        slack = [w - m for w, m in zip(widths, least)]
        i = max(range(len(widths)), key=lambda k: (slack[k] > 0, widths[k]))
        if slack[i] <= 0:
            break
        widths[i] -= 1
    return widths


def fit_tables(
    title: str,
    corner: str,
    row_names: list[str],
    columns: list[tuple[str, list[str]]],
    width: int,
) -> list[Any]:
    """rich tables that show every cell whole in ``width`` characters.

    The table has one row per name of ``row_names`` (headed ``corner``) and the given
    ``(header, cells)`` columns. When it is wider than ``width`` it is transposed (the columns
    become rows) if that fits, and otherwise cut into several tables of whole columns, each
    repeating the row names, choosing the orientation that needs fewer tables. Headers wrap at
    their spaces; numbers are never wrapped or cut.
    """
    _, table_type = _rich()
    flipped_rows = [header for header, _ in columns]
    flipped = [(name, [cells[i] for _, cells in columns]) for i, name in enumerate(row_names)]

    def chunks(names: list[str], cols: list[tuple[str, list[str]]]) -> list[list[int]]:
        first = _column_width(corner, names)
        widths = [_column_width(h, c) for h, c in cols]
        out: list[list[int]] = [[]]
        for i, w in enumerate(widths):
            if out[-1] and _border_width([first, *[widths[j] for j in out[-1]], w]) > width:
                out.append([])
            out[-1].append(i)
        return out

    straight, turned = chunks(row_names, columns), chunks(flipped_rows, flipped)
    if len(turned) < len(straight):
        row_names, columns, parts = flipped_rows, flipped, turned
    else:
        parts = straight
    tables = []
    first = _column_width(corner, row_names)
    for k, part in enumerate(parts):
        suffix = f" ({k + 1} of {len(parts)})" if len(parts) > 1 else ""
        table = table_type(title=title + suffix, title_justify="left")
        table.add_column(corner, justify="right", width=first, overflow="fold")
        for i in part:
            header, cells = columns[i]
            table.add_column(
                header, justify="right", width=_column_width(header, cells), overflow="fold"
            )
        for r, name in enumerate(row_names):
            table.add_row(name, *[columns[i][1][r] for i in part])
        tables.append(table)
    return tables


def _summary_table(table_type: Any, summary: dict[str, float]) -> Any:
    """The scalar metrics of a report, one row each."""
    table = table_type(title="Summary", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in summary.items():
        table.add_row(k, f"{v:.4f}")
    return table


def print_imbalance_report(report: ImbalanceReport, console: Any = None) -> None:
    """Print the per-class table and the summary of ``report`` with rich."""
    console_type, table_type = _rich()
    console = console or console_type()
    table = table_type(title="Per class", title_justify="left")
    for col in ("class", "support", "precision", "recall", "F1"):
        table.add_column(col, justify="right")
    if report.average_precision is not None:
        table.add_column("AP", justify="right")
    for i, c in enumerate(report.classes):
        row = [str(c), f"{report.support[i]:,}", f"{report.precision[i]:.3f}"]
        row += [f"{report.recall[i]:.3f}", f"{report.f1[i]:.3f}"]
        if report.average_precision is not None:
            ap = report.average_precision[i]
            row.append("n/a" if ap != ap else f"{ap:.3f}")
        table.add_row(*row)
    console.print(table)
    console.print(_summary_table(table_type, report.summary()))


def print_multilabel_report(
    report: MultilabelReport, console: Any = None, *, max_labels: int = 40
) -> None:
    """Print the per-label table of ``report`` (the ``max_labels`` most frequent and rarest
    labels when there are more), its groups and its summary with rich."""
    console_type, table_type = _rich()
    max_labels = check_positive_int("max_labels", max_labels)
    console = console or console_type()

    def num(x: float | None) -> str:
        return "n/a" if x is None or x != x else f"{x:.3f}"

    table = table_type(title="Per label, most frequent first", title_justify="left")
    columns = ["label", "group"]
    columns += ["train pos."] if report.counts is not None else []
    columns += ["pos.", "AP", "F1@0.5"]
    columns += ["threshold", "F1@thr."] if report.thresholds is not None else []
    for col in columns:
        table.add_column(col, justify="right")
    order = np.argsort(-report.frequency, kind="stable")
    head, tail = (max_labels + 1) // 2, max_labels // 2
    if order.size > max_labels:
        shown: list[int | None] = [*order[:head], None, *order[order.size - tail :]]
    else:
        shown = list(order)
    groups = report.label_groups
    for i in shown:
        if i is None:
            table.add_row(f"… {report.num_labels - max_labels:,} more")
            continue
        row = [str(report.labels[i]), groups[i]]
        row += [f"{report.counts[i]:,}"] if report.counts is not None else []
        row += [f"{report.positives[i]:,}", num(report.average_precision[i]), num(report.f1[i])]
        if report.thresholds is not None and report.f1_tuned is not None:
            row += [f"{report.thresholds[i]:.4g}", num(report.f1_tuned[i])]
        table.add_row(*row)
    console.print(table)

    by_group = table_type(title="Groups", title_justify="left")
    for col in ("group", "labels", "rule", "mAP", "macro F1@0.5"):
        by_group.add_column(col, justify="right" if col != "rule" else "left")
    if report.thresholds is not None:
        by_group.add_column("macro F1@thr.", justify="right")
    for g in report.groups:
        row = [g.name, f"{len(g.indices):,}", g.rule, num(g.map), num(g.macro_f1)]
        row += [num(g.macro_f1_tuned)] if report.thresholds is not None else []
        by_group.add_row(*row)
    console.print(by_group)

    console.print(_summary_table(table_type, report.summary()))
    undefined = report.undefined_labels
    if undefined:
        names = ", ".join(str(c) for c in undefined[:20])
        more = f" and {len(undefined) - 20} more" if len(undefined) > 20 else ""
        console.print(
            f"{len(undefined)} label(s) without a positive in y_true, left out of every "
            f"average: {names}{more}"
        )
