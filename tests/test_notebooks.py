"""Every lesson notebook runs top to bottom offline, with no error, and within the memory a Binder gives.

Executed with nbclient in a fresh kernel of this interpreter. CI runs them with WB_NOTEBOOK_FAST=1 (less data, fewer
tokens; the notebooks do the same things); WB_NOTEBOOK_FULL=1 runs the full-size lessons. Peak memory of the kernel
(VmHWM) is asserted below 1.5 GB; wall time and peak memory are written to artifacts/notebooks.json.
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PEAK_LIMIT_MB = 1500
# VmHWM (the kernel's own high-water mark) rather than ru_maxrss: Linux keeps ru_maxrss across execve, so a
# kernel started from a big pytest process would report the parent's size.
MEASURE = ("import re\nprint('WB_PEAK_KB', re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))")


def test_the_six_lessons_are_there():
    assert [p.stem for p in NOTEBOOKS] == ["00_tour", "01_tokenization", "02_attention", "03_generation",
                                           "04_fine_tuning", "05_pipelines"]


def test_notebooks_are_stored_without_outputs():
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        executed = [c for c in notebook.cells if c.cell_type == "code" and (c.outputs or c.execution_count)]
        assert not executed, f"{path.name} has stored outputs; clear them before committing"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_offline(path: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    if os.environ.get("WB_NOTEBOOK_FULL") != "1":
        monkeypatch.setenv("WB_NOTEBOOK_FAST", "1")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(MEASURE))
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    started = time.monotonic()
    client.execute()  # raises CellExecutionError with the traceback on any error
    seconds = time.monotonic() - started

    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", f"{path.name}: {output.get('ename')}: {output.get('evalue')}"
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    peak_mb = int(re.search(r"WB_PEAK_KB (\d+)", printed).group(1)) * 1024 / 1e6
    _record(path.stem, seconds, peak_mb)
    assert peak_mb < PEAK_LIMIT_MB, f"{path.name} peaked at {peak_mb:.0f} MB"


def _record(name: str, seconds: float, peak_mb: float) -> None:
    """Append the measured numbers to artifacts/notebooks.json (for the README and the CI artefacts)."""
    out = REPO / "artifacts" / "notebooks.json"
    out.parent.mkdir(exist_ok=True)
    numbers = json.loads(out.read_text()) if out.exists() else {}
    numbers[name] = {"seconds": round(seconds, 1), "peak_mb": round(peak_mb),
                     "fast": os.environ.get("WB_NOTEBOOK_FAST") == "1"}
    out.write_text(json.dumps(numbers, indent=2))
