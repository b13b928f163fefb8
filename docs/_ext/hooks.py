"""MkDocs hooks: make the build's executed code blocks reproducible, and render the formulas.

The guides' code blocks run at build time (markdown-exec). Before any page is rendered, this
puts the helpers of this folder on the import path and fixes the environment that the output
depends on: plain text from rich (no colours, whatever the terminal or CI variables say),
matplotlib's non-interactive backend, and one PyTorch thread. One thread makes the numbers
independent of the machine's core count (the order of floating-point sums depends on it) and
keeps the build fast on a busy machine, where several threads per process wait on each other.

The formulas (``\\( ... \\)`` and ``$$ ... $$``, which pymdownx.arithmatex wraps in
``arithmatex`` elements) are turned into MathML when the site is built, by latex2mathml; the
browser draws MathML itself, so the pages need no script and no network to show them (the
clusters where the library is used are often offline).
"""

from __future__ import annotations

import html
import os
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def on_startup(**kwargs: Any) -> None:
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        os.environ.pop(name, None)
    os.environ["NO_COLOR"] = "1"
    os.environ["MPLBACKEND"] = "Agg"

    import torch

    torch.set_num_threads(1)


_MATH = re.compile(r'<(span|div) class="arithmatex">(.*?)</\1>', re.S)

#: TeX that latex2mathml does not know, in the forms it does.
_TEX_FIXES = ((re.compile(r"\\arg\s*\\max"), r"\\mathrm{arg\\,max}"),)


def tex_to_mathml(tex: str, *, display: bool) -> str:
    """MathML for a formula; raises ValueError for TeX that cannot be converted."""
    from latex2mathml.converter import convert

    for pattern, replacement in _TEX_FIXES:
        tex = pattern.sub(replacement, tex)
    # inside \text{...} an escaped underscore is a plain one
    tex = re.sub(
        r"\\text\{([^}]*)\}", lambda m: "\\text{" + m.group(1).replace("\\_", "_") + "}", tex
    )
    mathml = convert(tex, display="block" if display else "inline")
    if "<merror" in mathml or "\\" in re.sub(r"<[^>]+>", "", mathml):
        raise ValueError(f"latex2mathml cannot render {tex!r}")
    return mathml


def on_page_content(html_text: str, **kwargs: Any) -> str:
    def render(match: re.Match[str]) -> str:
        tag, body = match.group(1), html.unescape(match.group(2)).strip()
        if body[:2] in ("\\(", "\\[") or body[:2] == "$$":
            body = body[2:-2]
        mathml = tex_to_mathml(body.strip(), display=tag == "div")
        return f'<{tag} class="arithmatex">{mathml}</{tag}>'

    return _MATH.sub(render, html_text)
