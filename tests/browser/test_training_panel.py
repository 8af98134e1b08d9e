"""The live fine-tuning panel in a real JupyterLab + Chromium (offline): it updates while the cell runs, and
its Stop button stops the run although the cell is still busy (the kernel keeps handling widget messages).

Recipe: /work/shared/BROWSER_TESTS.md (Debian chromium, playwright's own driver, no CDN, no `playwright install`).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
               "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"]
TOKEN = "workbench-training-panel"

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    pytest.importorskip("jupyterlab")
    pytest.importorskip("playwright")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    root = tmp_path_factory.mktemp("lab")
    (root / "panel.ipynb").write_text(json.dumps(_notebook([SETUP, TRAIN, REPORT])))
    settings = root / ".settings"
    news = settings / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "JUPYTER_CONFIG_DIR": str(root / ".jupyter"), "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
           "JUPYTER_DATA_DIR": str(root / ".data"), "IPYTHONDIR": str(root / ".ipython")}
    # the kernel must be this venv's Python (with workbench importable)
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--prefix", str(root / ".kernel")], env=env,
                   check=True, capture_output=True)
    env["JUPYTER_PATH"] = str(root / ".kernel" / "share" / "jupyter")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
         f"--LabApp.workspaces_dir={root / '.workspaces'}", f"--LabApp.user_settings_dir={settings}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                request = urllib.request.Request(f"{url}/api/status", headers={"Authorization": f"token {TOKEN}"})
                if urllib.request.urlopen(request, timeout=2).status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail("JupyterLab did not start")
            time.sleep(0.5)
        yield url
    finally:
        try:
            request = urllib.request.Request(f"{url}/api/shutdown", method="POST",
                                             headers={"Authorization": f"token {TOKEN}"})
            urllib.request.urlopen(request, timeout=5)
        except OSError:
            pass
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.terminate()
            server.wait(timeout=10)


def _step(label_text: str) -> int:
    match = re.search(r"step (\d+)/", label_text)
    return int(match.group(1)) if match else -1


def test_panel_updates_live_and_stop_works_while_the_cell_runs(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
            page.goto(f"{lab}/lab/tree/panel.ipynb?reset&token={TOKEN}")
            page.get_by_text("| Idle").first.wait_for(timeout=90_000)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()

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

            page.locator("button.jupyter-button", has_text="Stop").click()

            # the busy cell returns, the next cell runs and sees a stopped run with a checkpoint
            report = page.locator(".jp-OutputArea-output", has_text=re.compile("AFTER status="))
            try:
                report.wait_for(timeout=60_000)
            except Exception:
                page.screenshot(path=os.environ.get("WB_SCREENSHOT", "/tmp/training_panel_failure.png"))
                raise
            text = report.inner_text()
            assert "status=stopped" in text and "checkpoint=True" in text
            stopped_at = int(re.search(r"step=(\d+)", text).group(1))
            assert 3 < stopped_at < 800  # 100 epochs would be 800 steps
            page.locator(".widget-label", has_text="stopped").first.wait_for(timeout=10_000)
            assert page.locator("button.jupyter-button", has_text="Resume").is_enabled()
        finally:
            browser.close()
