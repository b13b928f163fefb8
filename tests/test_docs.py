"""The documentation: every public name is in the API reference, every guide's Python runs (at
build time, or here for the framework examples), and ``mkdocs build --strict`` passes with the
executed outputs in the pages."""

from __future__ import annotations

import ast
import html
import importlib
import inspect
import os
import re
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import counterpoise as cp

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

from api_table import documented_path  # noqa: E402

FENCE = re.compile(r"^(`{3,})(\S*)([^\n]*)\n(.*?)^\1\s*$", re.M | re.S)
DIRECTIVE = re.compile(r"^::: (\S+)\n((?:[ \t]+\S.*\n?)*)", re.M)
SECTION = re.compile(r"^## (.+)$", re.M)
PYTHON = ("python", "py", "pycon")

#: Modules that ``import counterpoise`` does not import (each needs an optional framework): the
#: reference documents every name of their ``__all__``, read from the source.
OPTIONAL_MODULES = ("counterpoise.integrations.transformers", "counterpoise.integrations.lightning")

#: Sections whose Python blocks the build does not run (the frameworks are optional dependencies,
#: and slow to import) and :func:`test_the_framework_examples_run` runs instead: page, then
#: section title, then the package the section needs.
RUN_BY_TESTS = {
    "guides/integrations.md": {"Hugging Face Trainer": "transformers", "Lightning": "lightning"},
    "guides/own-model.md": {
        "On a Ray cluster": "ray",
        "With Lightning": "lightning",
        "With the Hugging Face Trainer": "transformers",
    },
}


def _directives() -> dict[str, str]:
    """``::: identifier`` of every reference page, with its indented options block."""
    found: dict[str, str] = {}
    for page in sorted((DOCS / "reference").glob("*.md")):
        for identifier, options in DIRECTIVE.findall(page.read_text()):
            found[identifier] = options
    return found


def _explicit_members(options: str) -> list[str] | None:
    match = re.search(r"^\s*members:\s*(.*)$", options, re.M)
    if match is None:
        return None
    value = match.group(1).strip()
    if value in ("false", "False"):
        return []
    return [m.strip().strip("'\"") for m in value.strip("[]").split(",") if m.strip()]


def test_every_public_name_is_documented_in_the_reference():
    directives = _directives()
    missing = []
    for name in cp.__all__:
        path = documented_path(name)
        if path in directives and _explicit_members(directives[path]) != []:
            continue  # a module page
        parent, _, member = path.rpartition(".")
        options = directives.get(parent)
        if options is None:
            missing.append(path)
            continue
        members = _explicit_members(options)
        public = getattr(importlib.import_module(parent), "__all__", ())
        if member not in (public if members is None else members):
            missing.append(path)
    assert not missing, f"public names without a reference page: {missing}"


def _public_names(module: str) -> list[str]:
    """The ``__all__`` of a module of the package, read from its source without importing it."""
    path = ROOT / "src" / Path(*module.split(".")).with_suffix(".py")
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise AssertionError(f"{module} has no __all__")


def _optional_names() -> list[str]:
    return [f"{module}.{name}" for module in OPTIONAL_MODULES for name in _public_names(module)]


def test_every_public_name_of_the_integrations_is_documented_in_the_reference():
    directives = _directives()
    for module in OPTIONAL_MODULES:
        assert module in directives, f"{module} has no reference page"
        members = _explicit_members(directives[module])
        assert members is None, f"the page of {module} must document its whole __all__"
        assert _public_names(module), module


def test_the_reference_index_links_every_public_name():
    import api_table

    table = api_table.table()
    for name in cp.__all__:
        assert f"[`{documented_path(name)}`][{documented_path(name)}]" in table


def _sections(text: str) -> dict[str, str]:
    """The text under each second-level heading, by title (the text above the first: "")."""
    titles = ["", *SECTION.findall(text)]
    return dict(zip(titles, SECTION.split(text)[::2]))


def _blocks_not_run_at_build_time(text: str) -> list[str]:
    return [
        code
        for _, language, info, code in FENCE.findall(text)
        if language in PYTHON and 'exec="on"' not in info
    ]


def test_every_python_block_of_the_docs_is_executed_at_build_time():
    pages = sorted(DOCS.rglob("*.md"))
    assert len(pages) > 10
    not_executed = []
    for page in pages:
        tested = RUN_BY_TESTS.get(page.relative_to(DOCS).as_posix(), {})
        for title, text in _sections(page.read_text()).items():
            if title in tested:
                continue
            for _, language, info, _ in FENCE.findall(text):
                if language in PYTHON and 'exec="on"' not in info:
                    not_executed.append(f"{page.relative_to(ROOT)}: ```{language}{info}")
    assert not not_executed, f"Python blocks that are not run: {not_executed}"


@pytest.mark.parametrize(
    ("page", "title"), [(page, title) for page, titles in RUN_BY_TESTS.items() for title in titles]
)
def test_the_framework_examples_run(
    page: str, title: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Each section's blocks run in order in one namespace, as a reader would run them, in an
    # empty folder (the frameworks write checkpoints and logs) and without any download.
    sections = _sections((DOCS / page).read_text())
    assert title in sections, f"{page} has no section {title!r}"
    blocks = _blocks_not_run_at_build_time(sections[title])
    assert blocks, f"{page}, {title}: no example to run"
    pytest.importorskip(RUN_BY_TESTS[page][title])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # worker processes (Ray's) import the package as this process does
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
    namespace: dict[str, object] = {"__name__": "__main__"}
    for number, code in enumerate(blocks, 1):
        exec(compile(code, f"{page}, {title}, block {number}", "exec"), namespace)


def test_every_guide_has_executed_code_or_links_to_it():
    for guide in sorted((DOCS / "guides").glob("*.md")):
        text = guide.read_text()
        assert 'exec="on"' in text or guide.name == "questions.md", guide.name


def test_every_guide_is_in_the_navigation():
    config = (ROOT / "mkdocs.yml").read_text()
    for page in sorted(DOCS.rglob("*.md")):
        relative = page.relative_to(DOCS).as_posix()
        assert relative in config, f"{relative} is not in the nav of mkdocs.yml"


# --------------------------------------------------------------------------- the strict build


def _page(site: Path, name: str) -> str:
    """The text of a built page, without its HTML tags."""
    return html.unescape(re.sub(r"<[^>]+>", "", (site / name / "index.html").read_text()))


def test_every_public_name_has_an_anchor_in_the_built_reference(site: Path):
    pages = "".join(p.read_text() for p in (site / "reference").rglob("index.html"))
    ids = set(re.findall(r'id="(counterpoise[^"]*)"', pages))
    names = [documented_path(n) for n in cp.__all__] + _optional_names()
    missing = [name for name in names if name not in ids]
    assert not missing, f"public names without an anchor in the built reference: {missing}"


def test_inspect_output_of_the_built_in_data_is_on_the_page(site: Path):
    page = _page(site, "guides/choosing-a-scheme")
    d = cp.describe(cp.count_labels(cp.load_digits_lt().y_train, num_classes=10))
    assert f"effective number of classes {d.effective_num_classes:.2f}" in page
    balanced = next(s for s in d.schemes if s.scheme == "balanced")
    for weight in balanced.weights:
        assert f"{weight:.4g}" in page


def test_the_comparison_ran_on_the_page(site: Path):
    page = _page(site, "guides/choosing-a-scheme")
    assert "$ counterpoise compare --quick" in page and "Finished in" in page
    for name in ("ce", "ce_balanced", "sampler_balanced", "focal", "logit_adjusted", "ldam_drw"):
        assert f" {name} " in page


def test_the_weighted_mean_numbers_are_the_ones_pytorch_computes(site: Path):
    page = _page(site, "guides/class-weights")
    x, y = torch.tensor([[0.3, -1.2, 0.8]]), torch.tensor([2])  # the batch-size-1 example
    plain = F.cross_entropy(x, y).item()
    assert page.count(f"loss {plain:.4f}") >= 3  # unweighted, weighted, unweighted / denominator
    weighted = cp.functional.cross_entropy(x, y, [1.0, 4.0, 20.0], denominator=1).item()
    assert f"loss {weighted:.4f}" in page


def test_the_first_example_shows_the_counts(site: Path):
    counts = cp.class_counts(cp.load_digits_lt().y_train).tolist()
    assert str(counts) in _page(site, "")


def test_the_comparisons_of_the_own_model_guide_ran_on_the_page(site: Path):
    page = _page(site, "guides/own-model")
    table = re.findall(r"^(\w+)\s+([\d.]+)\s+([\d.]+) \[([\d.]+), ([\d.]+)\]", page, re.M)
    assert len(table) == 6
    val = [float(row[1]) for row in table]
    assert val == sorted(val, reverse=True)  # ranked by validation
    for _, _, test, low, high in table:
        assert float(low) <= float(test) <= float(high)
    assert f"selected on validation: {table[0][0]}" in page
    assert "$ counterpoise compare --model mymodels:SmallCNN --data mymodels:digits" in page
    assert "Finished in" in page and "Inputs: tensors of shape (1, 8, 8) (float32)." in page
    assert "seeds=2: 6 runs trained, 6 runs saved" in page
    assert "seeds=3: 3 runs trained, 9 runs saved" in page


def test_the_multilabel_comparison_ran_on_the_page(site: Path):
    page = _page(site, "guides/binary-and-multilabel")
    assert "$ counterpoise compare tags.csv --labels 'tag_*' --quick" in page
    assert "Finished in" in page and "8 labels" in page
    for name in ("bce", "bce_pos_weight", "sigmoid_focal_alpha", "cb_sigmoid_focal", "asl", "db"):
        assert f" {name} " in page


def test_the_long_tail_examples_show_what_they_claim(site: Path):
    page = _page(site, "guides/binary-and-multilabel")
    rows = int(re.search(r"training positives per label \[[\d, ]+\] of (\d+) rows", page)[1])
    table = re.findall(r"^\s*(\d+)\s+(\d+)\s+([\d.]+)\s+[\d.]+\s+[\d.]+\s+[\d.]+$", page, re.M)
    assert len(table) == 8
    for _, positives, alpha in table:  # "balanced" label alpha is (N - P) / N
        assert float(alpha) == pytest.approx((rows - int(positives)) / rows, abs=5.01e-4)
    assert "from_counts uses label_alpha: True" in page
    assert "positives: the asymmetric loss equals cross-entropy: True" in page
    found = re.search(r"with ignore_value ([\d.]+)\s+on the known entries ([\d.]+)", page)
    assert found is not None and found[1] == found[2]
    assert "largest gradient of an unknown entry: 0.0" in page
    for rule in ("more than 100", "20 to 100", "fewer than 20"):  # the report's groups
        assert f"{rule} training positives" in page


def test_the_trainer_table_shows_the_weighted_mean(site: Path):
    page = _page(site, "guides/integrations")
    number = r"\s+([\d.]+)"
    steps = re.findall(r"^\s*\d+\s+\d+" + number * 4 + "$", page, re.M)
    assert len(steps) == 6
    for factor, per_count, per_weight, reference in (map(float, row) for row in steps):
        assert per_weight == reference  # dividing by the summed weights: the weighted mean
        assert per_count == pytest.approx(factor * reference, rel=2e-3, abs=2e-4)
    assert len({factor for factor, *_ in steps}) > 1  # the factor changes with the class mix


def test_no_unrendered_markup_is_left(site: Path):
    restructured_text = re.compile(
        r":(?:func|class|meth|attr|mod|data|math):`|``|\.\. math::|::</p>"
    )
    for page in (site / "reference").rglob("*.html"):
        found = restructured_text.search(page.read_text())
        assert found is None, f"{page.relative_to(site)}: {found}"
    for page in site.rglob("*.html"):
        assert 'exec="on"' not in page.read_text(), f"{page.relative_to(site)}: a block did not run"


# --------------------------------------------------------------------------- the docstring rewriting


def test_restructured_text_becomes_markdown():
    griffe = pytest.importorskip("griffe")
    import griffe_rst

    docstring = inspect.cleandoc("""Summary with ``code`` and :math:`x^2`, see :func:`~numpy.median`.

    .. math::

        a = b

        c = d

    ==========  ========
    scheme      weight
    ==========  ========
    ``none``    1
    ``cost``    per class,
                or a matrix
    ==========  ========

    >>> 1 + 1
    2

    Args:
        a, b: two numbers.

    Example:
        >>> 2 + 2
        4

    Typical use::

        loss = f(
            x, y,
        )

        loss.backward()

    A template ::

        `name` must be {expected}

    After.
    """)
    module = griffe.Module("m")
    text = griffe_rst.convert(docstring, module)
    assert "`code`" in text and "``code``" not in text and "\\(x^2\\)" in text
    assert "see <code>median</code>." in text  # outside the package: code, not a link
    assert "$$\na = b\n$$" in text and "$$\nc = d\n$$" in text
    assert "| `none` | 1 |" in text and "| `cost` | per class, or a matrix |" in text
    assert "```pycon\n>>> 1 + 1\n2\n```" in text
    assert "    a: two numbers.\n    b: two numbers." in text
    assert "Examples:\n    >>> 2 + 2" in text  # parsed by griffe, not fenced
    assert "Typical use:\n\n```python\nloss = f(\n    x, y,\n)\n\nloss.backward()\n```\n" in text
    assert "A template\n\n```text\n`name` must be {expected}\n```\n\nAfter." in text
