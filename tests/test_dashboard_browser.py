"""Browser test of `python -m runs dashboard`: the real server, driven by a real Chromium.

This module owns the end-to-end check of the dashboard: it starts the command on a free local
port, waits until the page answers, and with Playwright (its Python package; the browser is the
system's Chromium, never a downloaded build) changes the accounting regime, resets, steps the
model a year (four Steps of a quarter) with a twin run on another regime, and checks that the
run shows the new regime at week 52, that the charts changed and that the side-by-side page
draws. It saves a screenshot of the page to a temporary folder, or to the path in
DASHBOARD_SCREENSHOT (`DASHBOARD_SCREENSHOT=docs/dashboard.png python -m pytest
tests/test_dashboard_browser.py` regenerates the README's picture). The test is skipped only
when no Chromium executable is found (CHROMIUM, or chromium / chromium-browser / google-chrome
on the PATH); the server is stopped at the end, also when the test fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 60.0  # seconds for the server to answer (it imports solara, mesa and the model)
COMPARE_VIEWS = 4  # charts on the side-by-side page (runs.dashboard_page.COMPARE_VIEWS)
UI_TIMEOUT_MS = 60_000  # per wait in the browser: a step of a quarter and seven redraws take a few seconds


def _chromium() -> str | None:
    given = os.environ.get("CHROMIUM")
    if given and Path(given).is_file():
        return given
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_answering(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"dashboard exited with status {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    pytest.fail(f"dashboard did not answer at {url} within {START_TIMEOUT:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def chromium() -> str:
    """The system's Chromium; without one the test is skipped before any server starts."""
    found = _chromium()
    if found is None:
        pytest.skip("no Chromium executable (install Debian's chromium, or set CHROMIUM); the browser test needs one")
    return found


@pytest.fixture
def dashboard(chromium, tmp_path):
    """The dashboard's URL; the server (a process group: the command and its solara child) dies afterwards."""
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "runs", "dashboard", "--port", str(port), "--host", "127.0.0.1"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so the solara child goes with it
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_until_answering(url, server, log)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)  # the command stops its solara child on SIGTERM
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)  # whatever is left of the group
        server.wait()


def _choose(page, label: str, option: str) -> None:
    """Pick `option` in the Vuetify select whose label is `label` (its menu opens as a list)."""
    page.locator(".v-select", has_text=label).click()
    page.locator(".menuable__content__active .v-list-item", has_text=option).first.click()


CHARTS = ".v-window-item--active .vue-grid-layout img"  # the chart images of the visible page


def _images_loaded(page) -> None:
    """Wait until every chart on the visible page is decoded (they arrive as blobs) and has stopped
    moving (the tab's slide and the grid's layout pass animate for a moment after a switch)."""
    page.wait_for_function(
        f"() => [...document.querySelectorAll({CHARTS!r})].every(i => i.complete && i.naturalWidth > 0)"
    )
    script = f"() => [...document.querySelectorAll({CHARTS!r})].map(i => {{ const r = i.getBoundingClientRect(); return [r.x, r.y, r.width]; }})"
    previous = None
    for _ in range(40):
        boxes = page.evaluate(script)
        if boxes and boxes == previous:
            return
        previous = boxes
        page.wait_for_timeout(250)


def _status(page) -> str:
    return page.locator(".dashboard-status").inner_text()


def test_dashboard_changes_regime_and_steps_a_year(chromium, dashboard, tmp_path):
    # Imported here, not at the top: without the test extra only this test fails, not the collection.
    from playwright import sync_api

    shot = Path(os.environ.get("DASHBOARD_SCREENSHOT") or tmp_path / "dashboard.png")
    if not shot.is_absolute():
        shot = ROOT / shot
    shot.parent.mkdir(parents=True, exist_ok=True)

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1500})
            page.set_default_timeout(UI_TIMEOUT_MS)
            page.goto(dashboard)
            page.get_by_text("week 0, ").wait_for()
            _images_loaded(page)
            assert "regime gaap_2026" in _status(page)
            charts = page.locator(".vue-grid-layout")
            charts.wait_for()
            before = charts.screenshot()

            _choose(page, "accounting regime", "net_roundtrip")
            _choose(page, "compare with regime", "gaap_2026")  # the side-by-side twin, on page 1
            page.get_by_role("button", name="Reset").click()
            page.get_by_text("regime net_roundtrip").wait_for()
            for quarter in range(1, 5):  # a Step is a quarter (13 weeks) by default
                page.get_by_role("button", name="Step").click()
                page.get_by_text(f"week {13 * quarter}, ").wait_for()
            status = _status(page)
            assert "week 52, " in status and "regime net_roundtrip" in status and "basket P/F" in status
            assert "compared with gaap_2026" in status
            _images_loaded(page)
            after = charts.screenshot()
            assert after != before, "the charts did not change after a year of steps"
            images = page.locator(".vue-grid-layout img")
            assert images.count() >= 7, f"expected seven charts, found {images.count()}"
            # The chart-area screenshot scrolled the page down; show it from the tabs.
            page.get_by_role("tab", name="Page 0").scroll_into_view_if_needed()
            page.screenshot(path=str(shot))

            page.get_by_role("tab", name="Page 1").click()
            # Page 1: four charts, each with both runs overlaid; page 0's grid leaves once the tab has switched.
            sync_api.expect(page.locator(".vue-grid-layout img")).to_have_count(COMPARE_VIEWS)
            _images_loaded(page)
            page.screenshot(path=str(tmp_path / "dashboard_compare.png"))
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
