"""End-to-end: `il2sim web` served on localhost, driven in headless Chromium by Playwright
(Debian's /usr/bin/chromium; `playwright install` is not needed). Screenshots are written to
test-artifacts/web/. Without Chromium these tests skip, unless IL2SIM_REQUIRE_BROWSER=1 (set
by .ci/run, which installs it), when they fail."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from il2sim import web

CHROMIUM = os.environ.get("IL2SIM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "web"
_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 180_000
#: A real browser against a served app: part of `make test`, not of the `make test-fast` loop.
pytestmark = pytest.mark.slow

if not Path(CHROMIUM).exists():
    if os.environ.get("IL2SIM_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"IL2SIM_REQUIRE_BROWSER=1 but there is no Chromium at {CHROMIUM}")
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    proc = subprocess.Popen(
        web.streamlit_command(port=port), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                why = proc.stderr.read().decode()
                raise RuntimeError(f"il2sim web did not start: {why}") from None
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server, request):
    ctx = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.base_url = server  # type: ignore[attr-defined]
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    ctx.close()


def _type(page, label: str, text: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Enter")


def _cell(page, row: str, column: str) -> float:
    """A number from the first table on the page (row by its first cell, column by header),
    once that row is on the page (a rerun redraws the table)."""
    table = page.locator("[data-testid='stTable'] table").first
    line = table.locator("tbody tr").filter(has=page.get_by_text(row, exact=True)).first
    line.wait_for()
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    cells = [c.strip() for c in line.locator("th, td").all_inner_texts()]
    return float(cells[headers.index(column)])


def _cell_after_change(page, row: str, column: str, before: float) -> float:
    """The cell's value once it differs from ``before`` (the rerun has redrawn it)."""
    deadline = time.time() + TIMEOUT_MS / 1000
    while time.time() < deadline:
        try:
            value = _cell(page, row, column)
        except (ValueError, IndexError):  # caught mid-redraw
            value = before
        if value != before:
            return value
        page.wait_for_timeout(200)
    raise AssertionError(f"{row}/{column} stayed at {before}")


def _image_src(page) -> str:
    return page.locator("[data-testid='stImage'] img").first.get_attribute("src")


def _wait_idle(page) -> None:
    """Until a rerun has finished (Streamlit marks elements stale while its script runs)."""
    page.wait_for_timeout(400)
    page.wait_for_function("() => !document.querySelector('[data-stale=\"true\"]')")


def test_designer_curve_and_table_follow_the_kd(page):
    page.goto(page.base_url)  # the designer is the main page
    page.get_by_text("EC50 and selectivity").wait_for()
    _wait_idle(page)
    treg_before = _cell(page, "treg", "EC50 (nM)")
    src_before = _image_src(page)
    _type(page, "Kd to IL-2Ralpha (nM)", "1000")
    page.wait_for_function(
        "(s) => { const i = document.querySelector('[data-testid=\"stImage\"] img');"
        " return i && i.src !== s; }",
        arg=src_before,
    )
    treg_after = _cell_after_change(page, "treg", "EC50 (nM)", treg_before)
    # weaker CD25 binding takes away the Treg advantage of wild-type IL-2
    assert treg_after > 10 * treg_before
    assert _image_src(page) != src_before


def test_designer_bad_inputs_get_a_message_at_the_field(page, tmp_path):
    page.goto(page.base_url)  # the designer is the main page
    page.get_by_text("EC50 and selectivity").wait_for()
    _wait_idle(page)
    marker = tmp_path / "evaluated"
    cases = [
        ("Kd to IL-2Rbeta/gamma-c (nM)", "-1", "kd_il2rbg_nM must be > 0"),
        ("Kd to IL-2Rbeta/gamma-c (nM)", f"open('{marker}','w')", "kd_il2rbg_nM must be a number"),
        ("Valency (IL-2 units per molecule)", "7", "valency must be a whole number from 1 to 4"),
    ]
    for label, text, message in cases:
        _type(page, label, text)
        alert = page.get_by_text(message)
        alert.wait_for()
        field = page.get_by_label(label, exact=True).bounding_box()
        box = alert.bounding_box()
        assert 0 < box["y"] - field["y"] < 150, f"{message!r} is not under {label!r}"
        page.get_by_text("Fix the fields marked on the left").wait_for()
        assert page.locator("[data-testid='stTable']").count() == 1  # last valid design kept
    assert not marker.exists()
    _type(page, "Valency (IL-2 units per molecule)", "1")
    _type(page, "Kd to IL-2Rbeta/gamma-c (nM)", "1")
    page.get_by_text("Fix the fields marked on the left").wait_for(state="detached")


def test_therapy_run_shows_figures_tables_and_downloads(page):
    page.goto(f"{page.base_url}/therapy")
    page.get_by_label("Days of treatment", exact=True).wait_for()
    _wait_idle(page)
    _type(page, "Days of treatment", "0")
    page.get_by_role("button", name="Run").click()
    page.get_by_text("duration_days must be > 0, got 0").wait_for()
    _type(page, "Days of treatment", "7")
    _wait_idle(page)
    page.get_by_role("button", name="Run").click()
    page.get_by_text("done: 2 arms").wait_for()
    page.get_by_text("default: chronic_infection_mouse").wait_for()
    # interactive time courses (Plotly, 1500 px wide): arms by their labels, never ids, and the
    # vascular-leak panel with its severe threshold
    chart = page.locator("[data-testid='stPlotlyChart']").first
    chart.locator(".main-svg").first.wait_for()
    text = chart.inner_text()
    assert "vascular-leak index" in text and "untreated" in text
    assert chart.bounding_box()["width"] > 1000  # laid out wide
    page.locator("[data-testid='stImage'] img").first.wait_for()  # the papers' comparison
    page.get_by_role("button", name="Results (CSV)").wait_for()
    page.get_by_text("duration_days must be > 0").wait_for(state="detached")
    table = page.locator("[data-testid='stTable']").first.inner_text()
    assert "untreated" in table and "anti_pdl1" in table
    with page.expect_download() as dl:
        page.get_by_role("button", name="Results (CSV)").click()
    assert dl.value.suggested_filename == "default_results.csv"
    with page.expect_download() as dl:
        page.get_by_role("button", name="SBML of untreated").click()
    text = Path(dl.value.path()).read_text()
    assert text.startswith("<?xml") and "<sbml" in text


def test_trial_runs_reports_rates_and_can_be_cancelled(page):
    page.goto(f"{page.base_url}/trial")
    page.get_by_label("Seed", exact=True).wait_for()
    _wait_idle(page)
    _type(page, "Virtual patients (1 to 200)", "100000")
    page.get_by_role("button", name="Run trial").click()
    page.get_by_text("n must be <= 200, got 100000 in the web app").wait_for()
    _type(page, "Virtual patients (1 to 200)", "4")
    _wait_idle(page)
    page.get_by_role("button", name="Run trial").click()
    page.get_by_text(re.compile(r"done: 4 patients x 1 arm")).wait_for()
    km = page.locator("[data-testid='stPlotlyChart']").first  # Kaplan-Meier, interactive
    km.locator(".main-svg").first.wait_for()
    assert "progression-free" in km.inner_text() and "at risk" in km.inner_text()
    page.locator("[data-testid='stImage'] img").first.wait_for()  # waterfall and spider
    table = page.locator("[data-testid='stTable']").first.inner_text()
    assert "nivolumab" in table and "ORR % (95% CI)" in table
    # a long trial, cancelled half-way: the page says so and keeps the earlier result
    _type(page, "Virtual patients (1 to 200)", "200")
    _wait_idle(page)
    page.get_by_role("button", name="Run trial").click()
    page.get_by_text(re.compile(r"[1-9]\d* of 200 patient-arms")).wait_for()
    page.get_by_role("button", name="Cancel run").click()
    page.get_by_text("The last trial stopped before it finished").wait_for()
    assert "nivolumab" in page.locator("[data-testid='stTable']").first.inner_text()
