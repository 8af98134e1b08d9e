"""binder/ gives a working Binder: tested without Docker, the way /work/shared/BROWSER_TESTS.md describes.

Fast: binder/requirements.txt pins every runtime dependency of pyproject.toml (the project's dependencies and the
`notebook` and `gguf` extras) at a version inside pyproject's range, and torch is the CPU build.

Slow (~2.5 min on 2 cores, half of it building the venv): a fresh venv (no system site-packages) built from the
binder files only, as repo2docker would: `pip install -r binder/requirements.txt`, then `binder/postBuild` from a
copy of the repository's tracked files (so `pip install .` writes its build/ and egg-info there, never into this
checkout). At run time every command goes through `binder/start`, with empty Jupyter and Hugging Face folders:
a checkpoint that a lesson finds must come from what postBuild installed. In that venv every lesson notebook runs
with nbclient (WB_NOTEBOOK_FAST=1, as in tests/test_notebooks.py) with no error and a kernel peak (VmHWM) under
mybinder's 2 GB; the widget front-ends and Voila are enabled; and (browser) JupyterLab on the venv's python serves
the tour as a Voila app (voila.json's page template) that renders with no request leaving the machine.
Numbers (venv build seconds and size, each notebook's seconds and peak MB) go to artifacts/binder.json.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ARTIFACT = REPO / "artifacts" / "binder.json"
BINDER_PEAK_LIMIT_MB = 2000  # mybinder.org restarts a kernel that goes over 2 GB
TOUR = "notebooks/00_tour.ipynb"
PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"

# Run by the binder venv's python (which has nbclient but not pytest): execute one notebook with a cell appended
# that prints the kernel's own peak memory and interpreter. VmHWM rather than ru_maxrss, which Linux keeps across
# execve (see tests/test_notebooks.py). argv: notebook, working folder, result file (JSON).
RUN_NOTEBOOK = r'''
import json, sys, time
import nbclient, nbformat
notebook_path, cwd, result_path = sys.argv[1:4]
notebook = nbformat.read(notebook_path, as_version=4)
notebook.cells.append(nbformat.v4.new_code_cell(
    "import re, sys\n"
    "print('WB_PEAK_KB', re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
    "print('WB_PREFIX', sys.prefix)"))
client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": cwd}})
started = time.monotonic()
client.execute()  # raises CellExecutionError (traceback on stderr) at the first failing cell
seconds = time.monotonic() - started
errors = [f"{o.get('ename')}: {o.get('evalue')}" for cell in notebook.cells for o in cell.get("outputs", [])
          if o.get("output_type") == "error"]
printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
json.dump({"seconds": seconds, "errors": errors, "printed": printed}, open(result_path, "w"))
'''


# ---- fast: what requirements.txt pins --------------------------------------------------------------------------

def _requirement_lines(path: Path) -> list[str]:
    """The requirement lines of a requirements file: no comments, blank lines or pip options (--extra-index-url)."""
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("-")]


def _pins() -> dict[str, Requirement]:
    return {canonicalize_name(r.name): r for r in map(Requirement, _requirement_lines(BINDER / "requirements.txt"))}


def _runtime_dependencies() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    return [Requirement(text) for text in [*project["dependencies"], *extras["notebook"], *extras["gguf"]]]


def test_requirements_pin_every_runtime_dependency_inside_pyprojects_range():
    pins = _pins()
    for needed in _runtime_dependencies():
        pin = pins.get(canonicalize_name(needed.name))
        assert pin is not None, f"binder/requirements.txt does not pin {needed.name} (pyproject needs {needed})"
        exact = [spec for spec in pin.specifier if spec.operator == "=="]
        assert len(exact) == 1 and len(pin.specifier) == 1, f"binder/requirements.txt: pin {pin} exactly with =="
        version = Version(exact[0].version)
        assert needed.specifier.contains(version, prereleases=True), f"{pin} is outside pyproject's {needed}"


def test_torch_is_the_cpu_build_from_pytorchs_index():
    text = (BINDER / "requirements.txt").read_text()
    assert f"--extra-index-url {PYTORCH_CPU_INDEX}" in text.splitlines()
    # PyPI's torch is the CUDA build (GBs of nvidia-* wheels); a +cpu local version only exists on PyTorch's index
    assert str(_pins()["torch"].specifier).endswith("+cpu"), "pin torch==X.Y.Z+cpu (the CPU build)"


def test_runtime_txt_python_satisfies_requires_python():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.\d+", runtime), f"runtime.txt says {runtime!r}; repo2docker reads python-X.Y"
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert Requirement(f"python{requires}").specifier.contains(runtime.removeprefix("python-") + ".0")


# ---- slow: a Binder built from binder/ only ----------------------------------------------------------------------

@dataclass
class BinderVenv:
    repo: Path      # copy of the repository's tracked files; postBuild ran here
    venv: Path
    env: dict       # what a Binder user's process starts with (before binder/start)
    python: Path

    def run(self, command: list[str], *, cwd: Path | None = None, extra_env: dict | None = None,
            timeout: float = 900) -> subprocess.CompletedProcess:
        """Run `command` through binder/start, as repo2docker's container does at run time."""
        return _run([str(self.repo / "binder" / "start"), *command], cwd=cwd or self.repo,
                    env={**self.env, **(extra_env or {})}, timeout=timeout)

    def start_environment(self) -> dict:
        """The environment that binder/start hands to the command it starts."""
        printed = self.run([str(self.python), "-c", "import json, os; print(json.dumps(dict(os.environ)))"]).stdout
        return json.loads(printed)


def _run(command: list[str], *, cwd: Path, env: dict, timeout: float) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed ({result.returncode}):\n"
                    f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


def _plain_output(result: subprocess.CompletedProcess) -> str:
    """stdout + stderr (jupyter prints its extension lists on stderr) without the colour codes."""
    return re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)


def _copy_tracked_files(target: Path) -> Path:
    """The working tree's tracked files (what a clean clone of the checked-in state holds), without build output."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = REPO / name
        if source.is_file():  # tracked but deleted in the working tree: not copied
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)  # keeps the executable bit of postBuild and start
    return target


def _model_packages() -> list[str]:
    """The checkpoint and data packages that binder/postBuild pip-installs (name==version pins), normalized names."""
    pinned = re.findall(r"([A-Za-z0-9_.-]+)==\S+", (BINDER / "postBuild").read_text())
    return [canonicalize_name(name) for name in pinned]


def _runtime_python() -> str:
    """An interpreter of the version binder/runtime.txt asks for (this one, or pythonX.Y on PATH)."""
    wanted = (BINDER / "runtime.txt").read_text().strip().removeprefix("python-")
    check_version = f"import sys; assert '%d.%d' % sys.version_info[:2] == {wanted!r}"
    for candidate in (getattr(sys, "_base_executable", sys.executable), shutil.which(f"python{wanted}")):
        if candidate and subprocess.run([candidate, "-c", check_version], capture_output=True).returncode == 0:
            return candidate
    pytest.fail(f"binder/runtime.txt asks for Python {wanted}; install python{wanted} to test the Binder")


def _binder_environment(venv: Path, scratch: Path) -> dict:
    """A Binder user's environment: the venv first on PATH, nothing of this test's venv, Jupyter and Hugging Face
    folders empty (so a checkpoint found by a lesson comes from postBuild's packages, not from this machine's cache)."""
    dropped = ("JUPYTER", "IPYTHON", "HF_", "HUGGINGFACE", "TRANSFORMERS", "VIRTUAL_ENV", "CONDA", "PYTHONPATH",
               "PYTHONHOME", "TOKENIZERS", "WB_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
    this_venv_bin = str(Path(sys.prefix) / "bin")
    path = [entry for entry in env.get("PATH", "").split(os.pathsep) if entry and entry != this_venv_bin]
    home = scratch / "home"
    env.update(PATH=os.pathsep.join([str(venv / "bin"), *path]), VIRTUAL_ENV=str(venv),
               HF_HOME=str(home / "huggingface"), JUPYTER_CONFIG_DIR=str(home / "jupyter-config"),
               JUPYTER_DATA_DIR=str(home / "jupyter-data"), JUPYTER_RUNTIME_DIR=str(home / "jupyter-runtime"),
               IPYTHONDIR=str(home / "ipython"), MPLCONFIGDIR=str(home / "matplotlib"),
               # download.pytorch.org may not resolve (offline CI); without this pip retries it with backoff for
               # every package (minutes); with it, an unreachable index is skipped at once
               PIP_RETRIES="0")
    return env


def _folder_mb(folder: Path) -> float:
    return sum(entry.lstat().st_size for entry in folder.rglob("*") if entry.is_file() and not entry.is_symlink()) / 1e6


def _record(section: str, name: str, numbers: dict) -> None:
    """Merge numbers into artifacts/binder.json (for the README and CI's artefacts)."""
    ARTIFACT.parent.mkdir(exist_ok=True)
    recorded = json.loads(ARTIFACT.read_text()) if ARTIFACT.exists() else {}
    recorded.setdefault(section, {})[name] = numbers
    ARTIFACT.write_text(json.dumps(recorded, indent=2))


@pytest.fixture(scope="session")
def binder(tmp_path_factory) -> Iterator[BinderVenv]:
    scratch = tmp_path_factory.mktemp("binder")
    repo = _copy_tracked_files(scratch / "repo")
    venv = scratch / "venv"
    env = _binder_environment(venv, scratch)
    started = time.monotonic()
    _run([_runtime_python(), "-m", "venv", str(venv)], cwd=scratch, env=env, timeout=120)
    # repo2docker's build steps: requirements, then postBuild from the repository root (binder/start is for run time)
    _run([str(venv / "bin" / "pip"), "install", "-r", "binder/requirements.txt"], cwd=repo, env=env, timeout=1500)
    _run([str(repo / "binder" / "postBuild")], cwd=repo, env=env, timeout=900)
    _record("venv", "build", {"seconds": round(time.monotonic() - started, 1), "size_mb": round(_folder_mb(venv)),
                              "python": _run([str(venv / "bin" / "python"), "-V"], cwd=scratch, env=env,
                                             timeout=60).stdout.strip()})
    yield BinderVenv(repo, venv, env, venv / "bin" / "python")
    shutil.rmtree(scratch, ignore_errors=True)  # ~1.8 GB


@pytest.mark.slow
def test_binder_venv_is_cpu_only_and_runs_the_installed_workbench(binder):
    probe = ("import importlib.metadata as m, json, torch, workbench\n"
             "print(json.dumps({'torch': torch.__version__, 'cuda': torch.version.cuda,"
             " 'workbench': workbench.__file__, 'dists': [d.metadata['Name'] for d in m.distributions()]}))")
    found = json.loads(binder.run([str(binder.python), "-c", probe], cwd=binder.venv).stdout)
    assert found["torch"].endswith("+cpu") and found["cuda"] is None
    installed = {canonicalize_name(name) for name in found["dists"]}
    assert not [name for name in installed if name.startswith("nvidia-")]
    assert Path(found["workbench"]).is_relative_to(binder.venv)  # postBuild installed it (not the source tree)
    assert _model_packages() and set(_model_packages()) <= installed, "postBuild's packages are missing"


@pytest.mark.slow
def test_binder_venv_has_no_conflicting_dependencies(binder):
    # `pip check` lists what an installed package needs and lacks; only the model packages that postBuild installs
    # with --no-deps may appear (their declared dependencies are heavy or broken, and the lessons do not need them)
    result = subprocess.run([str(binder.python), "-m", "pip", "check"], env=binder.env, capture_output=True, text=True,
                            check=False)
    complaints = [line for line in result.stdout.splitlines() if line.strip()]
    ours = [line for line in complaints if canonicalize_name(line.split()[0]) not in _model_packages()]
    assert ours == [], "\n".join(ours)


@pytest.mark.slow
def test_binder_start_sets_the_offline_defaults(binder):
    started = binder.start_environment()
    assert started["HF_HUB_OFFLINE"] == "1" and started["TOKENIZERS_PARALLELISM"] == "false"
    assert binder.run(["printenv", "HF_HUB_OFFLINE"], extra_env={"HF_HUB_OFFLINE": "0"}).stdout.strip() == "0"


@pytest.mark.slow
def test_widget_front_ends_and_voila_are_enabled(binder):
    jupyter = shutil.which("jupyter", path=binder.env["PATH"])
    assert jupyter and Path(jupyter).is_relative_to(binder.venv)
    lab = _plain_output(binder.run(["jupyter", "labextension", "list"]))
    for extension in ("@jupyter-widgets/jupyterlab-manager", "anywidget"):
        listed = re.search(rf"^\s*{re.escape(extension)} v\S+ enabled OK", lab, re.MULTILINE)
        assert listed, f"{extension} is not an enabled lab extension:\n{lab}"
    server = _plain_output(binder.run(["jupyter", "server", "extension", "list"]))
    # e.g. "voila.server_extension enabled", then "- Validating voila.server_extension..." and "... OK"
    enabled = re.search(r"^\s*(voila\S*) enabled$", server, re.MULTILINE)
    assert enabled and re.search(rf"^\s*{re.escape(enabled.group(1))} \S* ?OK$", server, re.MULTILINE), server


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_the_binder_venv_under_2_gb(binder, path: Path, tmp_path: Path):
    notebook = binder.repo / "notebooks" / path.name
    result_file = tmp_path / "result.json"
    binder.run([str(binder.python), "-c", RUN_NOTEBOOK, str(notebook), str(notebook.parent), str(result_file)],
               cwd=notebook.parent, extra_env={"WB_NOTEBOOK_FAST": "1"}, timeout=900)
    result = json.loads(result_file.read_text())
    assert result["errors"] == [], f"{path.name}: {result['errors']}"
    prefix = re.search(r"WB_PREFIX (.+)", result["printed"]).group(1).strip()
    assert Path(prefix).resolve() == binder.venv.resolve(), f"the kernel ran {prefix}, not the binder venv"
    peak_mb = int(re.search(r"WB_PEAK_KB (\d+)", result["printed"]).group(1)) * 1024 / 1e6
    _record("notebooks", path.stem, {"seconds": round(result["seconds"], 1), "peak_mb": round(peak_mb), "fast": True})
    assert peak_mb < BINDER_PEAK_LIMIT_MB, f"{path.name} peaked at {peak_mb:.0f} MB in the binder venv"


@pytest.mark.slow
@pytest.mark.browser
def test_tour_renders_as_a_voila_app_served_by_the_binder_venv(binder):
    if str(REPO / "tests" / "browser") not in sys.path:
        sys.path.insert(0, str(REPO / "tests" / "browser"))  # lab.py, as for the tests in tests/browser/
    from lab import NetworkLog, chromium, error_outputs, jupyter_lab, new_page, screenshot, voila_url

    # binder/start's environment for the server, minus the Jupyter folders jupyter_lab points at its own temp dirs
    started = {key: value for key, value in binder.start_environment().items()
               if not key.startswith(("JUPYTER", "IPYTHON"))}
    with jupyter_lab(root=binder.repo, python=str(binder.python), extra_env=started,
                     token="workbench-binder-test") as server, chromium() as browser:
        # the server is the binder venv's: its python3 kernel and its lab extensions
        request = urllib.request.Request(f"{server.url}/api/kernelspecs",
                                         headers={"Authorization": f"token {server.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            kernel = json.load(response)["kernelspecs"]["python3"]["spec"]["argv"][0]
        assert Path(kernel) == binder.python
        with urllib.request.urlopen(server.page_url("lab"), timeout=30) as response:
            lab_page = response.read().decode()
        config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', lab_page, re.DOTALL).group(1))
        federated = {extension["name"] for extension in config["federated_extensions"]}
        assert {"@jupyter-widgets/jupyterlab-manager", "anywidget"} <= federated

        page = new_page(browser, 1400, 1100)
        network = NetworkLog(page)
        page.goto(voila_url(server, TOUR), timeout=300_000)
        app = page.locator(".wb-app").first
        app.wait_for(timeout=300_000)  # rendered as widgets, not as "VBox(...)" text
        page.locator(".wb-app-status", has_text="Loaded").wait_for(timeout=120_000)
        page.locator(".wb-generation .wb-gen-token").first.wait_for(timeout=300_000)  # the last cell's output
        screenshot(page, "binder_voila_tour", full_page=True)
        assert error_outputs(page) == []
        assert "There was an error when executing cell" not in page.inner_text("body")
        # voila.json (read from the server's folder, the repository root as on Binder) picks the page template that
        # postBuild's `pip install .` put into the venv; it loads nothing from CDNs
        assert network.remote_requests() == []
