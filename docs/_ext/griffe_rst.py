"""Render the package's reStructuredText-flavoured docstrings as Markdown.

The docstrings follow Google style for their sections and use a little reStructuredText inside
them (they also serve ``help()`` and the doctests): ``.. math::`` blocks, ``:math:`` and
cross-reference roles (``:func:``, ``:class:``, ...), double-backtick literals and one simple
table. This griffe extension rewrites those before mkdocstrings parses the sections:

* ``.. math::`` blocks become ``$$`` blocks and ``:math:`x``` becomes ``\\(x\\)`` (arithmatex);
* a role becomes an optional cross-reference to the object's documented path, resolved in the
  scope of the docstring's object (``~`` shows the last component only); a target outside the
  package (``torch``, NumPy, ...) stays plain code, and so does one that is not rendered;
* ``literal`` in double backticks becomes Markdown code;
* a literal block (a paragraph ending in ``::`` and the indented lines after it) becomes a
  fenced code block, Python when it parses as Python;
* a simple table (``===  ===`` borders) becomes a Markdown table;
* ``Example:`` sections become ``Examples:`` (which griffe parses into code blocks), and
  doctest paragraphs outside them fenced ``pycon`` blocks;
* ``a, b: description`` in ``Args:`` becomes one entry per parameter;
* ``#:`` comments above a module attribute become its docstring;
* the first paragraph becomes one line, because the reference's summary tables show a
  docstring's first line: a summary never stops mid-sentence.

And for the reference's sake, after the rewriting: an attribute without a docstring takes its
description from its class's ``Attributes:`` section, or else (an attribute that ``__init__``
sets from an argument of the same name) from the ``Args:`` section; the value of an attribute
set in ``__init__`` (implementation code, such as a validator's call) is not shown; a base
class of a private module is left out of a class's bases.
"""

from __future__ import annotations

import ast
import html
import re
import textwrap
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(func|class|meth|attr|mod|data|exc|obj|const):`([^`]+)`")
_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)
_MATH_DIRECTIVE = re.compile(r"^(\s*)\.\. math::\s*$")
_EXAMPLE_SECTION = re.compile(r"^\s*Examples?:\s*$")
_ARGS_SECTION = re.compile(r"^\s*(?:Args|Arguments|Parameters|Attributes):\s*$")
_PARAMETER_GROUP = re.compile(r"^(\s*)(\w+(?:, *\w+)+):(.*)$")
_TABLE_BORDER = re.compile(r"^\s*=+(?: +=+)+\s*$")
_LITERAL_MARKER = re.compile(r"(\s?)::\s*$")


class ReStructuredTextToMarkdown(griffe.Extension):
    """Rewrite every docstring of the package once it is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        objects = _walk(pkg)
        for obj in objects:
            if obj.docstring is None and obj.is_attribute:
                _comment_docstring(obj)
            if obj.docstring is not None:
                obj.docstring.value = convert(obj.docstring.value, obj)
        for obj in objects:
            if obj.is_class:
                _describe_attributes(obj)
                _drop_private_bases(obj)


def _described(cls: griffe.Object) -> dict[str, str]:
    """The descriptions of the names in ``cls``'s ``Attributes:`` and ``Args:`` sections (the
    attributes' first), from its docstring and its ``__init__``'s."""
    found: dict[str, str] = {}
    docs = [cls.docstring]
    init = cls.members.get("__init__")
    if init is not None and not init.is_alias:
        docs.append(init.docstring)
    for kind in ("attributes", "parameters"):
        for doc in docs:
            if doc is None:
                continue
            for section in doc.parse("google", warnings=False):
                if section.kind.value == kind:
                    for item in section.value:
                        if item.description and item.name not in found:
                            found[item.name] = item.description
    return found


def _describe_attributes(cls: griffe.Object) -> None:
    described: dict[str, str] | None = None
    for name, member in cls.members.items():
        if member.is_alias or not member.is_attribute or name.startswith("_"):
            continue
        if "instance-attribute" in member.labels:
            member.value = None  # e.g. check_number('gamma', gamma, low=0.0): not documentation
        if member.docstring is None or not member.docstring.value.strip():
            if described is None:
                described = _described(cls)
            if name in described:
                member.docstring = griffe.Docstring(described[name], parent=member)


def _drop_private_bases(cls: griffe.Object) -> None:
    """Leave out the bases defined in a private module or with a private name."""
    kept = []
    for base in cls.bases:
        path = base.canonical_path if hasattr(base, "canonical_path") else str(base)
        if any(part.startswith("_") for part in str(path).split(".")):
            continue
        kept.append(base)
    cls.bases = kept


def _walk(obj: griffe.Object) -> list[griffe.Object]:
    found = [obj]
    for member in obj.members.values():
        if not member.is_alias and member.parent is obj:
            found.extend(_walk(member))
    return found


def _comment_docstring(attr: griffe.Object) -> None:
    """Use the ``#:`` comment lines right above an attribute as its docstring."""
    lines = attr.module.lines
    if not attr.lineno or attr.lineno > len(lines):
        return
    comment: list[str] = []
    index = attr.lineno - 2
    while index >= 0 and lines[index].strip().startswith("#:"):
        comment.insert(0, lines[index].strip()[2:].strip())
        index -= 1
    if comment:
        attr.docstring = griffe.Docstring(" ".join(comment), parent=attr)


def convert(text: str, obj: griffe.Object) -> str:
    """The Markdown form of one docstring."""
    text = _math_blocks(text)
    text = _tables(text)
    text = _MATH_ROLE.sub(lambda m: "\\(" + m.group(1) + "\\)", text)
    text = _ROLE.sub(lambda m: _reference(m.group(2), obj), text)
    text = _LITERAL.sub(lambda m: f"`{m.group(1)}`", text)
    # after the literals: the fences are made of backticks
    text = _literal_blocks(text)
    text = _doctests(text)
    return _one_line_summary(_parameter_groups(text))


def _one_line_summary(text: str) -> str:
    """``text`` with its first paragraph on one line, unless it is code, math or a table."""
    lines = text.split("\n")
    end = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    first = lines[:end]
    if len(first) < 2 or any(
        line.lstrip().startswith(("```", "$$", ">>>", "|", "- ", "* ")) for line in first
    ):
        return text
    return "\n".join([" ".join(line.strip() for line in first), *lines[end:]])


def _math_blocks(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _MATH_DIRECTIVE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        indent = match.group(1)
        i += 1
        body: list[str] = []
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(indent)
        ):
            body.append(lines[i])
            i += 1
        while body and not body[-1].strip():
            body.pop()
        # one $$ block per paragraph of the directive
        paragraphs: list[list[str]] = [[]]
        for line in body:
            if line.strip():
                paragraphs[-1].append(line.strip())
            elif paragraphs[-1]:
                paragraphs.append([])
        for paragraph in paragraphs:
            if paragraph:
                out.extend(
                    [f"{indent}$$", *(indent + line for line in paragraph), f"{indent}$$", ""]
                )
    return "\n".join(out)


def _literal_blocks(text: str) -> str:
    """Fence the literal blocks: ``Use it::`` becomes ``Use it:``, ``Use it ::`` (or a line
    of its own ``::``) loses the marker, and the block that follows is fenced."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        marker = _LITERAL_MARKER.search(line)
        if marker is None or line.lstrip().startswith(".."):
            out.append(line)
            i += 1
            continue
        indent = len(line) - len(line.lstrip())
        j = i + 1
        while j < len(lines) and (
            not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent
        ):
            j += 1
        body = lines[i + 1 : j]
        blank = len(body) - len("\n".join(body).rstrip().split("\n"))
        code = textwrap.dedent("\n".join(body)).strip("\n")
        if not code:
            out.append(line)
            i += 1
            continue
        try:
            ast.parse(code)
            language = "python"
        except SyntaxError:
            language = "text"
        intro = line[: marker.start()] + ("" if marker.group(1) else ":")
        prefix = line[:indent]
        if intro.strip():
            out.extend([intro, ""])
        out.append(f"{prefix}```{language}")
        out.extend(prefix + code_line if code_line else "" for code_line in code.split("\n"))
        out.append(f"{prefix}```")
        out.extend([""] * blank)
        i = j
    return "\n".join(out)


def _doctests(text: str) -> str:
    """Fence doctest paragraphs that lie outside an ``Example:`` section (griffe parses those)."""
    lines = text.split("\n")
    out: list[str] = []
    example_indent: int | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        indent = len(line) - len(line.lstrip())
        if line.strip() and example_indent is not None and indent <= example_indent:
            example_indent = None
        if _EXAMPLE_SECTION.match(line):
            example_indent = indent
            line = line.replace("Example:", "Examples:")  # "Example:" would be an admonition
        if example_indent is None and line.lstrip().startswith(">>>"):
            prefix = line[:indent]
            out.append(prefix + "```pycon")
            while i < len(lines) and lines[i].strip():
                out.append(lines[i])
                i += 1
            out.append(prefix + "```")
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _parameter_groups(text: str) -> str:
    """Split ``a, b: description`` in an ``Args:`` section into one entry per name."""
    lines = text.split("\n")
    out: list[str] = []
    section_indent: int | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        indent = len(line) - len(line.lstrip())
        if line.strip() and section_indent is not None and indent <= section_indent:
            section_indent = None
        if _ARGS_SECTION.match(line):
            section_indent = indent
        group = _PARAMETER_GROUP.match(line) if section_indent is not None else None
        if group is None:
            out.append(line)
            i += 1
            continue
        i += 1
        rest = []
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent
        ):
            rest.append(lines[i])
            i += 1
        blank = 0
        while rest and not rest[-1].strip():
            rest.pop()
            blank += 1
        for name in group.group(2).split(","):
            out.extend([f"{group.group(1)}{name.strip()}:{group.group(3)}", *rest])
        out.extend([""] * blank)
    return "\n".join(out)


def _tables(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not _TABLE_BORDER.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        border = lines[i]
        indent = border[: len(border) - len(border.lstrip())]
        spans = [(m.start(), m.end()) for m in re.finditer(r"=+", border)]
        rows: list[list[str]] = []
        borders = 1
        i += 1
        while i < len(lines) and borders < 3:
            line = lines[i]
            i += 1
            if _TABLE_BORDER.match(line):
                borders += 1
                continue
            cells = []
            for k, (start, _) in enumerate(spans):
                stop = spans[k + 1][0] if k + 1 < len(spans) else len(line)
                cells.append(line[start:stop].strip())
            if rows and not cells[0]:  # a continuation line
                rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells)]
            else:
                rows.append(cells)
        header, *body = rows
        out.append(indent + "| " + " | ".join(header) + " |")
        out.append(indent + "|" + "|".join("---" for _ in header) + "|")
        out.extend(indent + "| " + " | ".join(row) + " |" for row in body)
    return "\n".join(out)


def _reference(target: str, obj: griffe.Object) -> str:
    short = target.startswith("~")
    name = target.lstrip("~").removesuffix("()")
    shown = name.rsplit(".", 1)[-1] if short else name
    code = f"<code>{html.escape(shown)}</code>"
    path = _resolve(name, obj)
    if path is None:
        return code
    return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'


def _resolve(name: str, obj: griffe.Object) -> str | None:
    """The canonical path of ``name`` seen from ``obj``, if it lies inside the package."""
    package = obj.package
    first, _, rest = name.partition(".")
    try:
        path = obj.resolve(first) if first != package.name else first
    except griffe.NameResolutionError:
        scope = obj if obj.is_class else obj.parent
        while scope is not None and first not in scope.members:
            scope = scope.parent
        if scope is None:
            return None
        path = scope.members[first].path
    full = f"{path}.{rest}" if rest else path
    if not full.startswith(package.name + ".") and full != package.name:
        return None
    try:
        found = package.modules_collection[full]
    except (KeyError, griffe.AliasResolutionError):
        return None
    try:
        return found.final_target.path if found.is_alias else found.path
    except griffe.AliasResolutionError:
        return None
