"""Linked view tabs of the Workbench in a real JupyterLab, in headless Chromium, offline.

A small notebook builds two apps: MiniLM (an encoder: Tokens <-> Attention) and SmolLM2 (a decoder: Logit lens <->
Tokens). A click on a token in one tab selects the same token in the other tab — through the kernel, which maps
positions by character offsets (workbench.app_logic.link_position) — both for a view made after the click and for
a view that was already there; and the same in Voila. Screenshots: artifacts/screenshots/app_linked_*.png. Helpers: tests/browser/lab.py.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from lab import (NetworkLog, chromium, error_outputs, jupyter_lab, new_page, open_notebook, run_all, screenshot,
                 voila_url, wait_all_cells_ran)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = "linked_views.ipynb"
MINILM_TEXT = "The cat sat on the mat."
SMOLLM_TEXT = "The cat 고양이 sat"


def _code(source: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}


def _notebook() -> dict:
    return {"nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "cells": [
                _code("import workbench as wb\n"
                      f"encoder = wb.Workbench(model='sentence-transformers/all-MiniLM-L6-v2', lang='en', namespace={{}}, text={MINILM_TEXT!r})\n"
                      "encoder"),
                _code(f"decoder = wb.Workbench(model='HuggingFaceTB/SmolLM2-135M-Instruct', lang='en', namespace={{}}, text={SMOLLM_TEXT!r})\n"
                      "decoder"),
            ]}


@pytest.fixture(scope="module")
def server():
    # the kernel imports this checkout's workbench, installed or not
    with jupyter_lab({NOTEBOOK: _notebook()}, token="workbench-linking-test",
                     extra_env={"PYTHONPATH": str(REPO)}) as lab_server:
        yield lab_server


@pytest.fixture(scope="module")
def browser():
    with chromium() as chromium_browser:
        yield chromium_browser


@pytest.fixture(scope="module")
def page(server, browser):
    page = new_page(browser, 1400, 1100)
    page.network = NetworkLog(page)
    open_notebook(page, server, NOTEBOOK)
    run_all(page)
    wait_all_cells_ran(page, timeout=180_000)
    assert error_outputs(page) == []
    return page


def _tab(app, title: str) -> None:
    app.locator(".lm-TabBar-tab", has_text=title).first.click()


def test_a_token_clicked_in_tokens_is_selected_in_attention_and_back(page):
    app = page.locator(".wb-app").nth(0)
    app.locator(".wb-app-status", has_text="Loaded").wait_for(timeout=60_000)
    app.scroll_into_view_if_needed()
    app.locator("button.wb-app-run").click()
    app.locator(".wb-app-results table tbody tr").first.wait_for(timeout=60_000)

    _tab(app, "Tokens")
    tokens = app.locator(".wb-app-tokens .wb-tokens")
    cat = tokens.locator(".wb-piece", has_text="cat")
    cat.wait_for(timeout=60_000)
    cat.click()
    tokens.locator(".wb-piece.wb-selected").wait_for()
    assert tokens.get_attribute("data-selected") == "2"  # [CLS] the cat

    _tab(app, "Attention")  # made now, after the click: it picks the selection up from the kernel
    attention = app.locator(".wb-app-attention .wb-attention")
    attention.locator(".wb-att-token.wb-selected").first.wait_for(timeout=60_000)
    assert attention.get_attribute("data-selected") == "2"
    assert attention.locator(".wb-att-left .wb-att-token.wb-selected").all_text_contents() == ["cat"]
    lines = int(attention.locator(".wb-att-canvas").get_attribute("data-lines"))
    assert 0 < lines <= 12 * 9  # only the lines of "cat": at most one per head and key
    screenshot(page, "app_linked_attention", locator=app)

    attention.locator(".wb-att-left .wb-att-token", has_text="mat").click()  # the reverse: Tokens is already there
    page.mouse.move(1300, 1000)
    _tab(app, "Tokens")
    page.wait_for_function("() => document.querySelector('.wb-app-tokens .wb-tokens').dataset.selected === '6'",
                           timeout=30_000)
    assert tokens.locator(".wb-piece.wb-selected .wb-piece-label").all_text_contents() == ["mat"]
    assert "mat" in tokens.locator(".wb-selection").text_content()
    assert app.locator(".wb-app-errors").inner_text().strip() == ""
    screenshot(page, "app_linked_tokens", locator=app)


def test_a_logit_lens_column_is_selected_in_tokens_and_back(page):
    app = page.locator(".wb-app").nth(1)
    app.locator(".wb-app-status", has_text="Loaded").wait_for(timeout=60_000)
    app.scroll_into_view_if_needed()

    _tab(app, "Logit lens")
    lens = app.locator(".wb-app-lens .wb-lens")
    column = lens.locator(".wb-lens-token", has_text="cat")
    column.wait_for(timeout=90_000)
    column.click()
    lens.locator(".wb-lens-column tr").first.wait_for()
    assert lens.get_attribute("data-selected") == "1"  # The cat: no special token in front for SmolLM2

    _tab(app, "Tokens")
    tokens = app.locator(".wb-app-tokens .wb-tokens")
    tokens.locator(".wb-piece.wb-selected").wait_for(timeout=60_000)
    assert tokens.get_attribute("data-selected") == "1"
    assert tokens.locator(".wb-piece.wb-selected .wb-piece-label").all_text_contents() == ["cat"]

    tokens.locator(".wb-piece", has_text="sat").click()  # the reverse: the lens is already there
    _tab(app, "Logit lens")
    last = str(lens.locator(".wb-lens-token").count() - 1)  # "sat" is the last token
    page.wait_for_function(f"() => document.querySelector('.wb-app-lens .wb-lens').dataset.selected === '{last}'",
                           timeout=30_000)
    assert lens.locator(".wb-lens-token.wb-selected").text_content().strip() == "sat"
    layers = lens.locator(".wb-lens-table tr").count() - 1
    assert lens.locator(".wb-lens-table td.wb-selected").count() == layers
    assert lens.locator(".wb-lens-column tr").count() == layers  # the top-k of each layer at that position
    assert app.locator(".wb-app-errors").inner_text().strip() == ""
    screenshot(page, "app_linked_lens", locator=app.locator(".wb-app-lens"))
    assert page.network.remote_requests() == []


def test_the_tabs_are_linked_in_voila_too(server, browser):
    """The linking is kernel-side (traitlets observers), so the app rendered by Voila links its tabs as well."""
    page = new_page(browser, 1400, 1100)
    page.goto(voila_url(server, NOTEBOOK))
    app = page.locator(".wb-app").first
    app.locator(".wb-app-status", has_text="Loaded").wait_for(timeout=180_000)
    _tab(app, "Tokens")
    app.locator(".wb-piece", has_text="cat").click()
    _tab(app, "Attention")
    attention = app.locator(".wb-attention")
    attention.locator(".wb-att-token.wb-selected").first.wait_for(timeout=60_000)
    assert attention.get_attribute("data-selected") == "2"
    attention.locator(".wb-att-left .wb-att-token", has_text="mat").click()
    _tab(app, "Tokens")
    page.wait_for_function("() => document.querySelector('.wb-app .wb-tokens').dataset.selected === '6'",
                           timeout=30_000)
