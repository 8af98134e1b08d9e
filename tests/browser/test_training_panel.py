"""The live fine-tuning panel in a real JupyterLab + Chromium (offline): it updates while the cell runs, and
its Stop button stops the run although the cell is still busy (the kernel keeps handling widget messages).

Recipe: /work/shared/BROWSER_TESTS.md (Debian chromium, playwright's own driver, no CDN, no `playwright install`).
"""
from __future__ import annotations

import re

import pytest
from lab import NetworkLog, chromium, jupyter_lab, new_page, open_notebook, run_all, screenshot

pytestmark = pytest.mark.browser

# A run that cannot end by itself in the test's time (100 epochs, each step slowed to ~0.1 s): the second cell
# only runs if the Stop button stopped the first one.
SETUP = """
import time, random, pandas as pd, torch, workbench as wb
torch.set_num_threads(1)
rng = random.Random(0)
rows = [{"text": " ".join(rng.choices(["good", "bad", "film", "the", "plot"], k=6)), "label": rng.choice(["pos", "neg"])}
        for _ in range(64)]
config = dict(model_type="bert", vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
              intermediate_size=64, max_position_embeddings=64, id2label={0: "neg", 1: "pos"})
model = wb.from_config(config, "text-classification", seed=0)
tokenizer = wb.load_tokenizer("sentence-transformers/all-MiniLM-L6-v2")
"""
TRAIN = """
run = wb.fine_tune(model, pd.DataFrame(rows), pd.DataFrame(rows[:16]), tokenizer=tokenizer, epochs=100, batch_size=8,
                   learning_rate=1e-3, max_length=16, eval_every=10, on_step=lambda record: time.sleep(0.1))
"""
REPORT = """
print(f"AFTER status={run.status} step={run.state.step} checkpoint={run.checkpoint is not None}")
"""


def _notebook(cells: list[str]) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "cells": [{"cell_type": "code", "metadata": {}, "source": c.strip(), "outputs": [], "execution_count": None,
                       "id": f"cell{i}"} for i, c in enumerate(cells)]}


def _step(label_text: str) -> int:
    match = re.search(r"step (\d+)/", label_text)
    return int(match.group(1)) if match else -1


def test_panel_updates_live_and_stop_works_while_the_cell_runs():
    with jupyter_lab(notebooks={"panel.ipynb": _notebook([SETUP, TRAIN, REPORT])}) as server, chromium() as browser:
        page = new_page(browser, width=1300, height=900)
        network = NetworkLog(page)
        open_notebook(page, server, "panel.ipynb")
        run_all(page)

        # the panel appears and moves while the training cell is still running
        progress = page.locator(".widget-label", has_text=re.compile(r"step \d+/\d+"))
        progress.first.wait_for(timeout=120_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.widget-image img, img.widget-image')]"
            ".some(img => img.src.startsWith('blob:') || img.src.startsWith('data:'))", timeout=60_000)
        first = _step(progress.first.inner_text())
        page.wait_for_function(
            f"() => [...document.querySelectorAll('.widget-label')].some(l => {{"
            f" const m = l.textContent.match(/step (\\d+)\\//); return m && Number(m[1]) > {first} + 3; }})",
            timeout=60_000)
        bar = page.locator(".widget-hprogress .progress-bar").first
        assert float(re.search(r"([\d.]+)%", bar.get_attribute("style") or "width: 0%").group(1)) > 0
        assert page.locator(".jp-CodeCell").nth(1).locator(".jp-InputPrompt").inner_text().strip() == "[*]:"
        screenshot(page, "training_panel_running")

        page.locator("button.jupyter-button", has_text="Stop").click()

        # the busy cell returns, the next cell runs and sees a stopped run with a checkpoint
        report = page.locator(".jp-OutputArea-output", has_text=re.compile("AFTER status="))
        try:
            report.wait_for(timeout=60_000)
        finally:
            screenshot(page, "training_panel_stopped")
        text = report.inner_text()
        assert "status=stopped" in text and "checkpoint=True" in text
        stopped_at = int(re.search(r"step=(\d+)", text).group(1))
        assert 3 < stopped_at < 800  # 100 epochs would be 800 steps
        page.locator(".widget-label", has_text="stopped").first.wait_for(timeout=10_000)
        assert page.locator("button.jupyter-button", has_text="Resume").is_enabled()
        assert network.remote_requests() == []  # nothing from a CDN
