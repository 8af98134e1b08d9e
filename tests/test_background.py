"""Background work (a streaming generation, a fine-tuning run) ends cleanly when Python exits or when stopped.

Without `workbench.background`, a process that exits while such a thread is inside torch aborts with "terminate
called without an active exception" (exit code 134); these scripts reproduced that every time.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import workbench as wb
from conftest import SMOLLM_ID

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"


def _run_script(code: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "TMPDIR": str(cwd)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


@pytest.mark.slow
def test_python_exits_cleanly_while_a_generation_streams(tmp_path):
    done = _run_script(f"""
        import workbench as wb
        view = wb.show_generation("Once upon a time", model={SMOLLM_ID!r}, max_new_tokens=200)
        while len(view.steps) < 2:   # the thread is inside the model now
            pass
        print("leaving at", len(view.steps))
        """, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "leaving at" in done.stdout and "terminate called" not in done.stderr


@pytest.mark.slow
def test_python_exits_cleanly_while_fine_tuning_and_the_run_is_stopped_as_by_stop(tmp_path):
    done = _run_script(f"""
        import workbench as wb
        from workbench.training import bbc_news
        run = wb.fine_tune({MINILM_ID!r}, bbc_news(12), epochs=5, batch_size=4, max_length=32, wait=False,
                           live=False, output_dir="stopped-run")
        while run.progress()["step"] < 1:
            pass
        print("leaving at step", run.progress()["step"])
        """, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "terminate called" not in done.stderr
    # stopped at exit the way Stop stops: after a step, with its checkpoint written
    assert any((tmp_path / "stopped-run").rglob("model.safetensors")), sorted((tmp_path / "stopped-run").rglob("*"))


@pytest.mark.slow
def test_a_streaming_generation_stops_after_the_current_token(smollm_gguf):
    view = wb.show_generation("Once upon a time", model=str(smollm_gguf), max_new_tokens=100)
    while len(view.steps) < 2:
        pass
    view.stop()
    view.wait(60)
    assert view.done and view.error is None
    assert 2 <= len(view.steps) < 100
    made = len(view.steps)
    view.wait(1)
    assert len(view.steps) == made  # nothing comes after the stop
