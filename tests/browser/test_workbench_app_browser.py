"""The tour notebook and its Workbench app in a real JupyterLab and in Voila, in headless Chromium, offline.

JupyterLab: Run All on notebooks/00_tour.ipynb, no cell fails, no request leaves the machine; the app renders; pick
a model and a task, type a text, Run -> a results table and chart; the Tokens and Attention tabs draw; the Train
tab starts fine-tuning, the loss plot updates, Stop stops it. Voila: the same notebook renders as an app.
Screenshots go to artifacts/screenshots/ (app_*.png). Recipe and helpers: tests/browser/lab.py.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from lab import (NetworkLog, chromium, error_outputs, new_page, open_notebook, run_all, screenshot, voila_url,
                 wait_all_cells_ran, jupyter_lab)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
TOUR = "notebooks/00_tour.ipynb"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
# Voila's own page template (not ours) links Font Awesome and MathJax from CDNs; they fail offline, harmlessly.
VOILA_TEMPLATE_ASSETS = ("https://cdn.jsdelivr.net/npm/@fortawesome/", "https://cdnjs.cloudflare.com/ajax/libs/mathjax/")

PAINTED = """(selector) => {  // painted pixels in the canvases matching selector
  let painted = 0;
  for (const canvas of document.querySelectorAll(selector)) {
    if (!canvas.width || !canvas.height) continue;
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
  }
  return painted;
}"""


@pytest.fixture(scope="module")
def server():
    with jupyter_lab({TOUR: REPO / TOUR}, token="workbench-app-test",
                     extra_env={"WB_NOTEBOOK_FAST": "1"}) as lab_server:
        yield lab_server


@pytest.fixture(scope="module")
def browser():
    with chromium() as chromium_browser:
        yield chromium_browser


def _app_tab(page, title: str):
    page.locator(".wb-app .lm-TabBar-tab", has_text=title).first.click()


def test_tour_runs_in_jupyterlab_and_the_app_works(server, browser):
    page = new_page(browser, 1400, 1100)
    network = NetworkLog(page)
    open_notebook(page, server, TOUR)
    run_all(page)
    wait_all_cells_ran(page, timeout=400_000)
    assert error_outputs(page) == []
    screenshot(page, "app_tour_lab")

    # the app rendered as widgets (not as "VBox(...)" text) and loaded MiniLM
    app = page.locator(".wb-app").first
    app.wait_for()
    status = app.locator(".wb-app-status")
    assert "Loaded sentence-transformers/all-MiniLM-L6-v2" in status.inner_text()
    app.scroll_into_view_if_needed()

    # pick a model (MiniLM again, from the list) and load it
    _choose(app.locator(".wb-app-models select"), MINILM)
    app.locator("button.wb-app-load").click()
    page.wait_for_function("() => document.querySelector('.wb-app .widget-hprogress .progress-bar-success')")
    assert "22.7M" in status.inner_text()

    # a task, a text, Run -> table + chart
    _choose(app.locator(".wb-app-task select"), "zero-shot-classification")
    app.locator(".wb-app-input textarea").fill("The football team won the match in extra time.")
    app.locator(".wb-app-extra textarea").fill("politics, sport, cooking")
    app.locator("button.wb-app-run").click()
    first_row = app.locator(".wb-app-results table tbody tr").first
    first_row.wait_for(timeout=60_000)
    assert "sport" in first_row.inner_text()
    chart = app.locator(".wb-app-chart")
    chart.wait_for(state="visible")
    assert chart.evaluate("img => img.naturalWidth") > 100
    screenshot(page, "app_task", locator=app)

    # the same input in the Tokens and Attention tabs
    _app_tab(page, "Tokens")
    pieces = app.locator(".wb-app-tokens .wb-piece")
    pieces.first.wait_for(timeout=60_000)
    assert pieces.count() >= 10
    assert "football" in app.locator(".wb-app-tokens").inner_text()
    screenshot(page, "app_tokens", locator=app)
    _app_tab(page, "Attention")
    app.locator(".wb-app-attention .wb-att-canvas").first.wait_for(timeout=60_000)
    page.wait_for_function(f"() => ({PAINTED})('.wb-app-attention .wb-att-canvas') > 500", timeout=30_000)
    screenshot(page, "app_attention", locator=app)

    # Train: BBC News, short texts; the loss plot updates; Stop stops
    _app_tab(page, "Train")
    _choose(app.locator(".wb-app-max-length select"), "32")
    epochs = app.locator(".wb-app-epochs input")
    epochs.fill("10")  # 100 steps: long enough to be stopped by hand
    epochs.press("Enter")
    app.locator("button.wb-app-train").click()
    panel = app.locator(".wb-app-panel")
    progress = panel.locator(".widget-label", has_text=re.compile(r"step \d+/\d+"))
    progress.first.wait_for(timeout=120_000)
    image = panel.locator("img").first
    image.wait_for(timeout=60_000)
    first_step = _step(progress.first.inner_text())
    first_picture = image.get_attribute("src")
    page.wait_for_function(
        "([first]) => [...document.querySelectorAll('.wb-app-panel .widget-label')].some(l => {"
        " const m = l.textContent.match(/step (\\d+)\\//); return m && Number(m[1]) >= first + 2; })",
        arg=[first_step], timeout=120_000)
    page.wait_for_function("([src]) => document.querySelector('.wb-app-panel img').src !== src",
                           arg=[first_picture], timeout=30_000)
    screenshot(page, "app_training", locator=app)
    panel.locator("button.jupyter-button", has_text="Stop").click()
    panel.locator(".widget-label", has_text="stopped").first.wait_for(timeout=60_000)
    stopped_at = _step(panel.locator(".widget-label", has_text="stopped").first.inner_text())
    total = int(re.search(r"step \d+/(\d+)", progress.first.inner_text()).group(1))
    assert first_step < stopped_at < total
    assert panel.locator("button.jupyter-button", has_text="Resume").is_enabled()
    # the before/after table follows the stop
    app.locator(".wb-app-compare table").wait_for(timeout=90_000)
    screenshot(page, "app_stopped", locator=app)

    assert network.remote_requests() == [], network.remote_requests()
    assert not [url for url, _ in network.failed if not url.startswith("http://127.0.0.1")]


def test_tour_renders_in_voila(server, browser):
    pytest.importorskip("voila")
    page = new_page(browser, 1400, 1100)
    network = NetworkLog(page)
    page.goto(voila_url(server, TOUR))
    app = page.locator(".wb-app").first
    app.wait_for(timeout=400_000)
    page.locator(".wb-app-status", has_text="Loaded").wait_for(timeout=120_000)
    # the one-line views of the tour draw too: tokens (Hangul as text) and attention
    page.locator(".wb-tokenization .wb-piece").first.wait_for(timeout=120_000)
    page.wait_for_function(f"() => ({PAINTED})('.wb-att-canvas') > 500", timeout=120_000)
    # SmolLM2's byte-level pieces of the Korean word are shown as Hangul (MiniLM only knows [UNK] for it)
    assert "토" in "".join(page.locator(".wb-tokenization").all_inner_texts())
    # the app responds in Voila as well
    app.locator(".wb-app-input textarea").fill("A cat sits on the mat.\nA kitten rests on a rug.\nStocks fell.")
    app.locator("button.wb-app-run").click()
    app.locator(".wb-app-results table tbody tr").first.wait_for(timeout=60_000)
    assert app.locator(".wb-app-results table tbody tr").count() == 3
    screenshot(page, "app_voila", full_page=True)
    ours = [url for url in network.remote_requests() if not url.startswith(VOILA_TEMPLATE_ASSETS)]
    assert ours == []


def _choose(select, text: str) -> None:
    """Select the option whose label contains `text` (ipywidgets' option values are not the Python values)."""
    index = select.evaluate("(el, text) => [...el.options].findIndex(o => o.textContent.includes(text))", text)
    assert index >= 0, f"no option with {text!r}"
    select.select_option(index=index)


def _step(text: str) -> int:
    match = re.search(r"step (\d+)/", text)
    return int(match.group(1)) if match else -1
