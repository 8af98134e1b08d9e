"""Helpers for real-browser tests of notebooks: a throw-away JupyterLab (and Voila) server and offline Chromium.

The recipe is /work/shared/BROWSER_TESTS.md:
- Debian chromium driven by playwright's own driver (never `playwright install`, which downloads a browser);
- every host name except localhost / 127.0.0.1 resolves to nothing (`--host-resolver-rules`), so a CDN request
  fails at once and the same way everywhere; `NetworkLog` records such failures so a test can assert "no CDN";
- JupyterLab in temporary folders (config, runtime, data, settings, workspaces) with a token and the news
  toast switched off; this interpreter registered as the `python3` kernel, so the kernel sees `workbench`;
- open a notebook with `?reset`, Run All from the menu, wait for `| Idle` in the status bar;
- screenshots go to `artifacts/screenshots/` (gitignored; CI keeps them as artefacts);
- nothing is installed at test time: a missing browser or package fails with `WITH_BROWSER=1 bash scripts/setup.sh`.

This is a plain module, not a conftest: test files do `from lab import ...` (pytest puts tests/browser on the path).

    with jupyter_lab(notebooks={"tour.ipynb": path}) as server, chromium() as browser:
        page = new_page(browser)
        network = NetworkLog(page)
        open_notebook(page, server, "tour.ipynb"); run_all(page); wait_idle(page)
        screenshot(page, "tour")
        assert network.remote_requests() == []
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("WB_SCREENSHOTS", REPO / "artifacts" / "screenshots"))
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
               "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"]
LOOPBACK_PREFIXES = ("http://127.0.0.1", "http://localhost", "ws://127.0.0.1", "ws://localhost", "data:", "blob:",
                     "about:")


# ---- what the tests need installed (nothing is installed at test time) ------------------------------------

SETUP_COMMAND = "WITH_BROWSER=1 bash scripts/setup.sh"


def require_chromium() -> str:
    """The path of Debian's chromium; fails with the set-up command when it is missing."""
    found = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if not found:
        pytest.fail(f"Chromium is not installed (the browser tests drive Debian's chromium); run `{SETUP_COMMAND}`.",
                    pytrace=False)
    return found


def require_python_packages(*modules: str, python: str = sys.executable) -> None:
    """Fail with the set-up command when `python` cannot import one of `modules` (e.g. playwright, voila)."""
    if python == sys.executable:
        import importlib.util

        missing = [name for name in modules if importlib.util.find_spec(name) is None]
    else:
        probe = "import importlib.util, sys; print(*[n for n in sys.argv[1:] if importlib.util.find_spec(n) is None])"
        missing = subprocess.run([python, "-c", probe, *modules], check=True, capture_output=True,
                                 text=True).stdout.split()
    if missing:
        fix = f"run `{SETUP_COMMAND}`" if python == sys.executable else "install them into that environment"
        pytest.fail(f"Not installed for {python}: {', '.join(missing)}; {fix}.", pytrace=False)


# ---- the server ---------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    token: str
    root: Path
    process: subprocess.Popen
    log: Path
    env: dict = field(repr=False, default_factory=dict)

    def page_url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.url}/{path.lstrip('/')}{sep}token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 5) -> int:
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def isolated_jupyter_env(root: Path, python: str = sys.executable) -> dict:
    """Environment variables pointing every Jupyter folder into `root`, with `python` as the python3 kernel."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1",
           "JUPYTER_CONFIG_DIR": str(root / ".jupyter"), "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
           "JUPYTER_DATA_DIR": str(root / ".data"), "IPYTHONDIR": str(root / ".ipython")}
    subprocess.run([python, "-m", "ipykernel", "install", "--prefix", str(root / ".kernel"), "--name", "python3"],
                   env=env, check=True, capture_output=True)
    env["JUPYTER_PATH"] = str(root / ".kernel" / "share" / "jupyter")
    return env


@contextlib.contextmanager
def jupyter_lab(notebooks: dict[str, Path | dict] | None = None, *, root: Path | None = None,
                token: str = "workbench-browser-test", startup_timeout: float = 120,
                extra_env: dict | None = None, python: str = sys.executable) -> Iterator[Server]:
    """A JupyterLab server on a free loopback port serving `root` (a temp folder by default).

    notebooks: file name -> a notebook path (copied) or a notebook dict (written). The server also answers
    Voila's `/voila/render/<notebook>` when voila is installed. Stopped with POST /api/shutdown, then SIGTERM.
    python: the interpreter of the server and of the python3 kernel (another venv's python uses that venv's
    packages and lab extensions; it must have jupyterlab installed)."""
    require_python_packages("jupyterlab", "ipykernel", python=python)
    scratch = Path(tempfile.mkdtemp(prefix="wb-lab-"))
    root = Path(root) if root is not None else scratch / "root"
    root.mkdir(parents=True, exist_ok=True)
    for name, notebook in (notebooks or {}).items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(notebook, dict):
            target.write_text(json.dumps(notebook), encoding="utf-8")
        else:
            shutil.copy(notebook, target)
    settings = scratch / "settings"
    news = settings / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    env = {**isolated_jupyter_env(scratch, python), **(extra_env or {})}
    port = free_port()
    log = scratch / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [python, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
             f"--LabApp.workspaces_dir={scratch / 'workspaces'}", f"--LabApp.user_settings_dir={settings}"],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    server = Server(f"http://127.0.0.1:{port}", token, root, process, log, env)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            try:
                if server.api("status", timeout=2) == 200:
                    break
            except (OSError, urllib.error.URLError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start:\n{server.log_tail()}")
            time.sleep(0.5)
        yield server
    finally:
        with contextlib.suppress(OSError, urllib.error.URLError):
            server.api("shutdown", method="POST")
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(scratch, ignore_errors=True)


# ---- the browser --------------------------------------------------------------------------------------------

@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Debian chromium launched through playwright (sync API), closed afterwards."""
    executable = require_chromium()
    require_python_packages("playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, width: int = 1400, height: int = 1000):
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(30_000)
    return page


class NetworkLog:
    """Every request of a page that left the machine (or tried to), and every failed request.

    With the host-resolver rules above, a CDN request shows up in `failed` (net::ERR_NAME_NOT_RESOLVED);
    `remote_requests()` lists every non-loopback URL the page asked for, failed or not."""

    def __init__(self, page):
        self.requested: list[str] = []
        self.failed: list[tuple[str, str]] = []
        self.console_errors: list[str] = []
        page.on("request", lambda request: self.requested.append(request.url))
        page.on("requestfailed", lambda request: self.failed.append((request.url, request.failure or "")))
        page.on("console", lambda message: self.console_errors.append(message.text)
                if message.type == "error" else None)

    def remote_requests(self) -> list[str]:
        return [url for url in self.requested if not url.startswith(LOOPBACK_PREFIXES)]


def open_notebook(page, server: Server, name: str, *, timeout: float = 120_000) -> None:
    """Open `name` in JupyterLab with a fresh workspace and wait until its kernel is idle."""
    page.goto(server.page_url(f"lab/tree/{name}?reset"))
    wait_idle(page, timeout=timeout)


def wait_idle(page, *, timeout: float = 300_000) -> None:
    """The status bar says `| Idle` (a kernel exists and is not busy)."""
    page.get_by_text("| Idle").first.wait_for(timeout=timeout)


def run_all(page) -> None:
    """Run > Run All Cells, from the menu."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()


def wait_all_cells_ran(page, *, timeout: float = 300_000) -> None:
    """Every code cell has an execution count (not `[ ]` / `[*]`) and the kernel is idle again."""
    page.wait_for_function(
        "() => { const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];"
        " return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent)); }", timeout=timeout)
    wait_idle(page, timeout=timeout)


def error_outputs(page) -> list[str]:
    """Texts of the traceback outputs in the open notebook (empty when every cell ran cleanly)."""
    return page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                        ", .jp-RenderedText[data-mime-type='application/vnd.jupyter.error']").all_inner_texts()


def screenshot(page, name: str, *, full_page: bool = False, locator=None) -> Path:
    """Save a PNG under artifacts/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    (locator or page).screenshot(path=str(path), **({} if locator is not None else {"full_page": full_page}))
    return path


def voila_url(server: Server, notebook: str) -> str:
    """Binder's Voila address for a notebook, served by the same Lab server (`voila` must be installed)."""
    return server.page_url(f"voila/render/{notebook}")


def voila_settings() -> dict[str, Path]:
    """The repository's voila.json, as a file for `jupyter_lab(notebooks=...)`.

    Voila reads voila.json from the folder its server runs in: the repository root on Binder and with
    `scripts/launch.sh --voila`, the served root here. It selects the page template that loads nothing from CDNs
    (share/jupyter/voila/templates/workbench, installed into the venv by scripts/setup.sh)."""
    from jupyter_core.paths import jupyter_path

    settings = REPO / "voila.json"
    template = json.loads(settings.read_text())["VoilaConfiguration"]["template"]
    if not any((Path(folder) / "index.html.j2").is_file() for folder in jupyter_path("voila", "templates", template)):
        pytest.fail(f"Voila's page template {template!r} is not installed in this environment; run "
                    f"`{SETUP_COMMAND}`.", pytrace=False)
    return {"voila.json": settings}


def text_deltas(tokenizer, ids: list[int]) -> list[str]:
    """The text each token adds, as stream_generate makes it: "" until a character cut across tokens is whole."""
    deltas, done = [], ""
    for i in range(len(ids)):
        text = tokenizer.decode(ids[: i + 1])
        whole = not text.endswith("\ufffd")
        deltas.append(text[len(done):] if whole else "")
        done = text if whole else done
    return deltas
