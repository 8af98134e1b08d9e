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


# ---- what the lessons say is what the models do ---------------------------------------------------------------
# The lessons are read by teachers: every tokenization they quote and every number they state about a model is
# checked here against the real offline checkpoints (the numbers the lessons' own code cells measure).

def _lesson(stem: str):
    return nbformat.read(REPO / "notebooks" / f"{stem}.ipynb", as_version=4)


def _markdown(stem: str) -> str:
    return "\n".join(cell.source for cell in _lesson(stem).cells if cell.cell_type == "markdown")


def _run_cells(stem: str, ids: list[str]) -> dict:
    """Execute the code cells `ids` of a lesson in one namespace here (for the values they compute)."""
    cells = {cell.id: cell for cell in _lesson(stem).cells}
    namespace: dict = {}
    for cell_id in ids:
        assert cells[cell_id].cell_type == "code", cell_id
        exec(compile(cells[cell_id].source, f"{stem}:{cell_id}", "exec"), namespace)
    return namespace


QUOTED_TOKENIZATION = re.compile(r"`([^`]+)` → `([^`]+)`")  # `text` → `piece piece ...` in a lesson's text


def test_lesson_01_quotes_minilms_real_pieces(minilm_dir):
    """Every `text` → `pieces` in lesson 01 is MiniLM's tokenization: Hangul split into jamo, whole words as [UNK]."""
    import workbench as wb

    tokenizer = wb.load_tokenizer(minilm_dir)
    quoted = QUOTED_TOKENIZATION.findall(_markdown("01_tokenization"))
    assert len(quoted) >= 5, quoted
    for text, pieces in quoted:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.convert_ids_to_tokens(ids) == pieces.split(), text
    jamo = [pieces for text, pieces in quoted if "##ᅡ" in pieces]  # a syllable's vowel continues its consonant
    assert jamo, "lesson 01 should show a Hangul word split into jamo"
    assert "`[UNK]`" in {f"`{pieces}`" for text, pieces in quoted if any("가" <= c <= "힣" for c in text)}


def test_lesson_01_counts_of_jamo_and_syllables_are_measured(minilm_dir):
    import workbench as wb

    tokenizer = wb.load_tokenizer(minilm_dir)
    vocabulary = tokenizer.backend_tokenizer.get_vocab()

    def known(first: int, last: int) -> int:  # jamo of a code point range that are vocabulary pieces (also as ##)
        return sum(chr(c) in vocabulary and f"##{chr(c)}" in vocabulary for c in range(first, last + 1))

    syllables = [chr(c) for c in range(0xAC00, 0xD7A4)]  # all 11,172 Hangul syllables
    written = sum(tokenizer.unk_token_id not in ids
                  for ids in tokenizer(syllables, add_special_tokens=False)["input_ids"])
    text = " ".join(_markdown("01_tokenization").split())
    assert f"{known(0x1100, 0x1112)} of the 19 first consonants" in text
    assert f"{known(0x1161, 0x1175)} of the 21 vowels" in text
    assert f"only {known(0x11A8, 0x11C2)} of the 27 final consonants" in text
    assert f"Of the {len(syllables):,} possible syllables, {written:,} can be written" in text


@pytest.mark.slow
def test_lesson_02_states_what_its_own_measurements_show():
    """Lesson 02's sentences about heads are the numbers its cells compute on MiniLM and SmolLM2 (not folklore:
    MiniLM parks on [CLS], not on [SEP])."""
    values = _run_cells("02_attention", ["c01", "c09", "c10", "c10-count", "c14-sink"])
    patterns, best, per_layer, sink = values["patterns"], values["best"], values["per_layer"], values["sink"]
    text = " ".join(_markdown("02_attention").split())

    layer, head = best.loc["previous token", "head (layer, head)"]
    assert f"Layer {layer}, head {head} puts all of its attention ({patterns['previous token'].max():.2f})" in text
    second = patterns["previous token"].sort_values(ascending=False).iloc[1]
    assert f"only about a third ({second:.2f})" in text
    parked = int((patterns["[CLS]"] > 0.5).sum())
    layer, head = best.loc["[CLS]", "head (layer, head)"]
    assert f"{parked} of the {len(patterns)} heads give `[CLS]` more than half" in text
    assert f"up to {patterns['[CLS]'].max():.2f} (layer {layer}, head {head})" in text
    assert f"`[SEP]` never gets more than {patterns['[SEP]'].max():.2f}" in text
    assert (patterns["[SEP]"] > 0.5).sum() == 0 and "park on `[SEP]` or" not in text
    assert f"(at most {patterns['itself'].max():.2f})" in text
    words = per_layer["words"]
    assert "the words get about 60%" in text and all(0.55 <= words[i] <= 0.65 for i in (0, len(words) - 1))
    assert "under 45%" in text and all(words[i] < 0.45 for i in range(1, len(words) - 1))

    sinks = sink > 0.5  # [layers, heads]
    assert f"{int(sinks.sum())} of its {sink.numel()} heads give the first token more than half" in text
    assert "none in the first two layers" in text and not sinks[:2].any()
    assert "almost all in layers 3–9" in text and sinks[3:10].float().mean() > 0.9


def test_lesson_05_shows_every_task_its_table_says_it_shows():
    """Each task whose table row says "shown with a note" is asked for in the lesson's code (NER, QA, fill-mask,
    summarization, translation), so the note is there."""
    import ast

    from workbench.pipelines import TASK_ALIASES

    def canonical(task: str) -> str:
        return TASK_ALIASES.get(task, task)

    lesson = _lesson("05_pipelines")
    promised = set()
    for line in lesson.cells[0].source.splitlines():
        cells = [part.strip() for part in line.strip().strip("|").split("|")]
        if len(cells) == 3 and "shown with a note" in cells[2]:
            promised |= {canonical(name) for name in re.findall(r"[a-z][a-z-]+", cells[0])}
    assert {"token-classification", "question-answering", "fill-mask"} <= promised, promised

    asked = set()  # task names among the string constants of the cells that call wb.pipeline
    for cell in lesson.cells:
        if cell.cell_type == "code" and "wb.pipeline(" in cell.source:
            asked |= {canonical(node.value) for node in ast.walk(ast.parse(cell.source))
                      if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    assert promised <= asked, f"the table promises {sorted(promised - asked)} but the lesson never shows them"
