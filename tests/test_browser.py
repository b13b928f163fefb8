"""The compare report and the documentation in a real browser (Chromium, headless), at a
phone's width (390 px) and a laptop's (1280 px), with the network blocked: no horizontal
overflow of the page, every image loaded, no console errors, and every formula rendered as
MathML (no raw TeX). Screenshots of the report and of the docs' home page at both widths are
written to a temporary folder (or to ``$COUNTERPOISE_SCREENSHOTS`` when set), named in the
test's output.

Chromium is Debian's ``chromium`` with its ``chromium-driver`` (``.ci/run`` installs both);
the test is skipped only where no Chromium binary exists.
"""

from __future__ import annotations

import base64
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from counterpoise.cli import app

WIDTHS = {"phone": 390, "laptop": 1280}
HEIGHT = 844

#: The docs pages opened: the home page, a guide with formulas and terminal output, and a
#: reference page with formulas and tables.
DOCS_PAGES = ("", "guides/choosing-a-scheme/", "reference/weights/")

#: Text that is TeX a browser did not render.
RAW_TEX = ("\\(", "\\)", "\\[", "\\]", "$$", "\\frac", "\\sum", "\\beta")


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    binary = _chromium()
    if binary is None:
        pytest.skip("no Chromium binary on PATH (Debian: apt-get install chromium chromium-driver)")
    driver_path = shutil.which("chromedriver")
    assert driver_path, "Chromium is installed but chromedriver is not (apt: chromium-driver)"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        # the network is blocked: every host name but the local server's fails to resolve
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--no-proxy-server",
        f"--window-size={WIDTHS['laptop']},{HEIGHT}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    result = CliRunner().invoke(
        app, ["compare", "--quick", "--out", str(out), "--html"], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def server(site: Path, report: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 for the site (under /docs/) and the report (/report/)."""
    root = tmp_path_factory.mktemp("served")
    (root / "docs").symlink_to(site, target_is_directory=True)
    (root / "report").symlink_to(report, target_is_directory=True)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("COUNTERPOISE_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {path}")
    return path


def _open(driver: Any, url: str, width: int) -> dict[str, Any]:
    """Load ``url`` at ``width`` CSS pixels (a phone, with touch and the viewport meta tag
    honoured, below 600) and return what the page looks like."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    driver.get_log("browser")  # drop the messages of earlier pages
    driver.get(url)
    driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const images = [...document.images].map(img => img.decode().catch(() => null));
        Promise.all(images).then(() => setTimeout(done, 100));
        """
    )
    state = driver.execute_script(
        """
        const root = document.documentElement;
        // terminal blocks: highlighted blocks that start with a "$ " prompt; their <code> scrolls
        const pre = [...document.querySelectorAll('div.highlight')]
          .filter(b => (b.querySelector('code > .gp') || {}).textContent === '$ ')
          .map(b => b.querySelector('code'));
        return {
          viewport: root.clientWidth,
          scrollWidth: Math.max(root.scrollWidth, document.body.scrollWidth),
          images: [...document.images].map(img => ({
            src: img.currentSrc.slice(0, 80), ok: img.complete && img.naturalWidth > 0})),
          text: document.body.innerText,
          math: [...document.querySelectorAll('math')].map(m => {
            const box = m.getBoundingClientRect(); return [box.width, box.height]; }),
          arithmatex: document.querySelectorAll('.arithmatex').length,
          consoleOverflow: pre.filter(p => p.scrollWidth > p.clientWidth + 1).length,
          consoleBlocks: pre.length,
        };
        """
    )
    state["errors"] = [
        entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
    ]
    return state


def _screenshot(driver: Any, path: Path) -> None:
    """The whole page, not only the part in the window."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def _check_page(state: dict[str, Any], width: int, where: str) -> None:
    assert state["viewport"] == width, f"{where}: laid out {state['viewport']} px wide"
    assert state["scrollWidth"] <= width, f"{where}: {state['scrollWidth']} px wide, overflows"
    broken = [img["src"] for img in state["images"] if not img["ok"]]
    assert not broken, f"{where}: images not loaded: {broken}"
    assert not state["errors"], f"{where}: console errors: {state['errors']}"


@pytest.mark.parametrize("device", list(WIDTHS))
def test_report_in_a_browser(browser, server, screenshots, device):
    width = WIDTHS[device]
    state = _open(browser, f"{server}/report/report.html", width)
    _check_page(state, width, f"report.html at {width} px")
    assert len(state["images"]) == 6
    assert "Imbalance strategies compared" in state["text"]
    _screenshot(browser, screenshots / f"report-{width}.png")


@pytest.mark.parametrize("device", list(WIDTHS))
@pytest.mark.parametrize("page", DOCS_PAGES)
def test_docs_in_a_browser(browser, server, screenshots, page, device):
    width = WIDTHS[device]
    where = f"/{page} at {width} px"
    state = _open(browser, f"{server}/docs/{page}", width)
    _check_page(state, width, where)
    for tex in RAW_TEX:
        assert tex not in state["text"], f"{where}: raw TeX {tex!r} on the page"
    assert len(state["math"]) == state["arithmatex"], f"{where}: a formula is not MathML"
    assert all(w > 0 and h > 0 for w, h in state["math"]), f"{where}: an empty formula"
    if page:  # the guide and the reference page are full of formulas
        assert len(state["math"]) >= 5, where
    if page == "guides/choosing-a-scheme/":
        assert state["consoleBlocks"] >= 2, where  # inspect and compare
    if device == "laptop":  # terminal output is rendered at the docs' width: no sideways scroll
        assert state["consoleOverflow"] == 0, f"{where}: {state['consoleOverflow']} wide blocks"
    if page == "":
        _screenshot(browser, screenshots / f"docs-index-{width}.png")
