"""The tour notebook and its Workbench app in a real JupyterLab and in Voila, in headless Chromium, offline.

JupyterLab: Run All on notebooks/00_tour.ipynb, no cell fails, no request leaves the machine; the app renders; pick
a model and a task, type a text, Run -> a results table and chart; the Tokens and Attention tabs draw; the Train
tab starts fine-tuning, the loss plot updates, Stop stops it. Then, in the same page, SmolLM2: the Generation tab
draws the generated tokens with their probabilities and top-k, the Logit-lens tab its layers x positions table, and
bad input shows its error in the app. Voila (served with the repository's voila.json, as on Binder): the same
notebook renders as an app, with no request leaving the machine at all.
Screenshots go to artifacts/screenshots/ (app_*.png). Recipe and helpers: tests/browser/lab.py.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import pytest

from lab import (NetworkLog, chromium, error_outputs, jupyter_lab, new_page, open_notebook, require_python_packages,
                 run_all, screenshot, voila_settings, voila_url, wait_all_cells_ran)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
TOUR = "notebooks/00_tour.ipynb"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
SMOLLM = "HuggingFaceTB/SmolLM2-135M-Instruct"
PROMPT = "In HTML, the <b> tag makes text"  # markup in the prompt: it must stay text in every view

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
    with jupyter_lab({TOUR: REPO / TOUR, **voila_settings()}, token="workbench-app-test",
                     extra_env={"WB_NOTEBOOK_FAST": "1"}) as lab_server:
        yield lab_server


@pytest.fixture(scope="module")
def browser():
    with chromium() as chromium_browser:
        yield chromium_browser


class Tour(NamedTuple):
    page: object
    network: NetworkLog
    app: object  # the locator of the Workbench app


@pytest.fixture(scope="module")
def tour(server, browser):
    """The tour in JupyterLab after Run All, shared by the app tests (one kernel, one run of the notebook)."""
    page = new_page(browser, 1400, 1100)
    network = NetworkLog(page)
    open_notebook(page, server, TOUR)
    run_all(page)
    wait_all_cells_ran(page, timeout=400_000)
    yield Tour(page, network, page.locator(".wb-app").first)
    page.context.close()


def _app_tab(page, title: str):
    page.locator(".wb-app .lm-TabBar-tab", has_text=title).first.click()


def _assert_nothing_left_the_machine(network: NetworkLog) -> None:
    assert network.remote_requests() == [], network.remote_requests()
    assert not [url for url, _ in network.failed if not url.startswith("http://127.0.0.1")]


def test_tour_runs_in_jupyterlab_and_the_app_works(tour):
    page, network, app = tour
    assert error_outputs(page) == []
    screenshot(page, "app_tour_lab")

    # the app rendered as widgets (not as "VBox(...)" text) and loaded MiniLM
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
    from playwright.sync_api import expect  # waits: the button's update may follow the label's by a message

    expect(panel.locator("button.jupyter-button", has_text="Resume")).to_be_enabled(timeout=10_000)
    # the before/after table follows the stop
    app.locator(".wb-app-compare table").wait_for(timeout=90_000)
    screenshot(page, "app_stopped", locator=app)
    _assert_nothing_left_the_machine(network)


def test_generation_and_logit_lens_tabs_on_smollm2(tour, smollm_gguf):
    """In the same page (whatever the first test left): SmolLM2 from the picker, bad input, then the two tabs."""
    import workbench as wb
    from workbench.models.gguf.reader import read_gguf

    page, network, app = tour
    app.scroll_into_view_if_needed()
    errors = app.locator(".wb-app-errors")

    # a tab the loaded encoder (MiniLM) cannot draw says why, in the tab and in the app's error area
    _app_tab(page, "Generation")
    errors.filter(has_text="is not a text generator").wait_for(timeout=60_000)
    assert "load a decoder such as" in app.locator(".wb-app-generation").inner_text()

    _choose(app.locator(".wb-app-models select"), SMOLLM)
    app.locator("button.wb-app-load").click()
    app.locator(".wb-app-status", has_text=f"Loaded {SMOLLM}").wait_for(timeout=120_000)
    assert errors.inner_text().strip() == ""  # loading cleared the old error
    _choose(app.locator(".wb-app-task select"), "text-generation")

    # empty input, Run: the one-sentence error is shown in the app, not lost in the kernel log
    text = app.locator(".wb-app-input textarea")
    text.fill("")
    app.locator("button.wb-app-run").click()
    errors.filter(has_text="The input is empty; type a text first.").wait_for(timeout=30_000)

    # the prompt, Run -> the pipeline's result; the Generation tab (showing) draws the same continuation
    text.fill(PROMPT)
    app.locator("button.wb-app-run").click()
    result_cell = app.locator(".wb-app-results td", has_text="In HTML")  # in the Task tab, not showing
    result_cell.wait_for(state="attached", timeout=60_000)
    generation = app.locator(".wb-app-generation")
    status = generation.locator(".wb-status", has_text=re.compile(r"^\d+ tokens$"))  # done streaming
    status.wait_for(timeout=60_000)
    assert errors.inner_text().strip() == ""
    tokens = generation.locator(".wb-gen-token")
    count = tokens.count()
    assert count == int(status.inner_text().split()[0]) == 20  # the app's max_new_tokens; no end token this early
    continuation = "".join(tokens.all_text_contents())
    # greedy both ways: the same 20 tokens (pandas' to_html writes a newline as the two characters "\n")
    assert result_cell.text_content().replace("\\n", "\n") == PROMPT + continuation
    # markup typed by the user or generated stays text: "<b>" is shown, no <b> element was made of it
    assert "<b>" in generation.inner_text() and "<b>" in result_cell.text_content()
    assert app.locator(".wb-app-results b, .wb-app-generation b").count() == 0
    # each token: its probability and the top-k alternatives on hover (title) ...
    first_title = tokens.first.get_attribute("title").split("\n")
    first_label, first_percent = re.fullmatch(r"(.*): ([\d.]+)%", first_title[0]).groups()
    assert len(first_title) == 1 + 5 and all(re.search(r"[\d.]+%", line) for line in first_title[1:])
    # ... and on click: a table whose top row is the chosen token (greedy takes the most likely), drawn green
    tokens.first.click()
    alternatives = generation.locator(".wb-alternatives tr")
    alternatives.first.wait_for(timeout=30_000)
    assert alternatives.count() == 5
    assert f"probability {first_percent}%" in generation.locator(".wb-alternatives caption").inner_text()
    top = alternatives.first.locator("td")
    assert top.nth(2).inner_text() == f"{first_percent}%"
    assert top.nth(1).locator(".wb-bar").evaluate("bar => getComputedStyle(bar).backgroundColor") == "rgb(22, 163, 74)"
    screenshot(page, "app_generation", locator=app)

    # the Logit-lens tab: one row per hidden state (embeddings, then each layer), one column per prompt token
    _app_tab(page, "Logit lens")
    table = app.locator(".wb-app-lens .wb-lens-table")
    table.wait_for(timeout=60_000)
    checkpoint = read_gguf(smollm_gguf)
    layers = checkpoint.metadata[f"{checkpoint.architecture}.block_count"]  # 30
    prompt_tokens = len(wb.load_tokenizer(str(smollm_gguf))(PROMPT)["input_ids"])
    shape = table.evaluate("t => [...t.rows].map(row => [row.cells[0].textContent, row.cells.length])")
    assert [name for name, _ in shape[1:]] == ["embeddings", *[f"layer {i}" for i in range(1, layers + 1)]]
    assert {cells for _, cells in shape} == {1 + prompt_tokens}  # a name column, then one column per token
    columns = table.locator("tr").first.locator("th").all_text_contents()[1:]
    assert any("<" in label for label in columns) and any(">" in label for label in columns)  # "<", "b", ">" as text
    assert table.locator("b").count() == 0
    # the last row is the model's output: at the last token it predicts what generation chose first
    last_cell = table.locator("tr").last.locator("td").last
    assert last_cell.text_content() == first_label
    assert len(last_cell.get_attribute("title").split("\n")) >= 1 + 5  # where, then the top-5
    page.set_viewport_size({"width": 1400, "height": 1500})  # the whole app (31 table rows) inside JupyterLab
    screenshot(page, "app_logit_lens", locator=app)
    page.set_viewport_size({"width": 1400, "height": 1100})
    last_cell.click()  # its top-k below the table
    app.locator(".wb-app-lens .wb-note", has_text=f"position {prompt_tokens - 1}").first.wait_for(timeout=30_000)
    assert errors.inner_text().strip() == ""
    _assert_nothing_left_the_machine(network)


def test_tour_renders_in_voila(server, browser):
    require_python_packages("voila")
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
    # nothing left the machine: no Font Awesome or MathJax from CDNs (voila.json -> the workbench page template) ...
    _assert_nothing_left_the_machine(network)
    # ... yet the icons are there (Voila's own Font Awesome) and MathJax would be Voila's bundled one, not cdnjs
    assert app.locator("button.wb-app-run i.fa-play").evaluate(
        "i => getComputedStyle(i, '::before').fontFamily") == '"Font Awesome 5 Free"'
    assert page.evaluate("document.fonts.check('900 16px \"Font Awesome 5 Free\"')")
    page_config = page.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent)")
    assert page_config["fullMathjaxUrl"] is None and page_config["mathjaxConfig"] is None


def _choose(select, text: str) -> None:
    """Select the option whose label contains `text` (ipywidgets' option values are not the Python values)."""
    index = select.evaluate("(el, text) => [...el.options].findIndex(o => o.textContent.includes(text))", text)
    assert index >= 0, f"no option with {text!r}"
    select.select_option(index=index)


def _step(text: str) -> int:
    match = re.search(r"step (\d+)/", text)
    return int(match.group(1)) if match else -1
