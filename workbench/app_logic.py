"""What the Workbench app does, as plain functions: no widgets here, so all of it is tested without a browser.

`workbench/widgets/app.py` only wires these to ipywidgets. The pieces:
- UI text in English and Korean (`ui_text(lang)`, `default_language()` from the locale);
- memory: what this machine, or its cgroup limit (Binder, Docker), can still give (`memory_budget_mb`), and the
  refusal of a checkpoint whose estimate does not fit, with a smaller sibling suggested (`check_fits`);
- the model picker over `wb.catalog()`: filters, labels, a description card;
- loading a checkpoint with progress steps (`load_checkpoint`) and the tasks the loaded model supports;
- running a task through `wb.pipeline` and turning its output into a table and a chart (`run_task`);
- the views fed by the same input (`make_view`), and which token of one is the selected token of another
  (`link_position`, by character offsets in the input: `workbench.views.linking`);
- training data for the Train tab (packaged BBC News, an uploaded CSV, a DataFrame variable) and the run.
"""
from __future__ import annotations

import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import UnsupportedModelError, WorkbenchError
from .views.text import LANGUAGES, check_language, default_language  # noqa: F401 (the views' rule, re-exported)

DEFAULT_CHECKPOINT = "sentence-transformers/all-MiniLM-L6-v2"
MB = 1_000_000  # as the catalog: MB = 10^6 bytes

# ---- UI text -----------------------------------------------------------------------------------------------

UI_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Transformer workbench",
        "model": "Model",
        "search": "Search",
        "search_placeholder": "name, family or task",
        "family": "Family",
        "task": "Task",
        "all": "all",
        "offline_only": "offline only",
        "load": "Load",
        "loading": "Loading",
        "step_resolve": "finding the checkpoint",
        "step_weights": "reading the weights",
        "step_tokenizer": "reading the tokenizer",
        "step_done": "ready",
        "loaded": "Loaded {name}: {params} parameters, tasks: {tasks}.",
        "not_loaded": "No model loaded yet: pick one and press Load.",
        "unloaded_previous": "{name} could not be loaded, and {previous} was already unloaded to make room for it: "
                             "no model is loaded now; load one again.",
        "offline": "offline",
        "download": "download",
        "parameters": "parameters",
        "memory": "memory",
        "budget": "this machine can give about {budget}",
        "language_en": "English only: give it English text (other languages get wrong answers).",
        "language_fr": "French only: give it French text.",
        "language_multilingual": "Multilingual: Korean works too.",
        "too_big": "{name} needs about {need} of memory but this machine can give only about {budget}; "
                   "it was not loaded.",
        "try_sibling": "Try {sibling} (about {need}) instead.",
        "no_sibling": "No smaller checkpoint in the catalog fits; free memory or use a bigger machine.",
        "no_estimate_offline": "{name} is not in the catalog and the Hub cannot be asked while offline, so its memory "
                               "need was not estimated before loading.",
        "no_estimate_hub": "{name} is not in the catalog and the Hub gave no sizes for it, so its memory need was not "
                           "estimated before loading.",
        "input": "Input",
        "input_placeholder": "Type a text here",
        "extra_labels": "Labels",
        "extra_context": "Context",
        "extra_lines": "One sentence per line",
        "run": "Run",
        "results": "Results",
        "tab_task": "Task",
        "tab_tokens": "Tokens",
        "tab_attention": "Attention",
        "tab_generation": "Generation",
        "tab_lens": "Logit lens",
        "tab_train": "Train",
        "max_new_tokens": "New tokens",
        "temperature": "Temperature",
        "top_k": "Top-k",
        "press_run": "Press Run to compute this view for the input.",
        "needs_model": "Load a model first.",
        "data": "Data",
        "data_bbc": "BBC News (packaged)",
        "data_csv": "CSV file",
        "data_frame": "DataFrame variable",
        "upload": "Upload CSV",
        "variable": "Variable",
        "refresh": "Refresh",
        "per_class": "Articles per topic",
        "epochs": "Epochs",
        "batch_size": "Batch size",
        "max_length": "Max length",
        "train": "Train",
        "compare": "Before / after",
        "train_model": "Fine-tunes {name} with a new classification head for the labels of the data.",
        "no_variables": "No DataFrame with 'text' and 'label' columns in the notebook yet.",
        "not_frame": "Training data must be a pandas DataFrame, not {type}.",
        "no_columns": "The data has no {missing} column; its columns are {columns}, and training needs 'text' and "
                      "'label'.",
        "and_no": " and no ",
        "no_rows": "The data has no rows; give at least a few labelled texts.",
        "rows_without": "Rows {rows} have no '{column}'; fill them in or delete those rows.",
        "row_without": "Row {rows} has no '{column}'; fill it in or delete that row.",
        "and": " and ",
        "more": "{n} more",
        "mixed_labels": "The 'label' column mixes value types ({types}); write every label as a word, or every "
                        "label as a whole-number id.",
        "one_label": "The data has only one label ({label}); a classifier needs at least 2 labels to learn from: add "
                     "examples of another label.",
        "too_few_rows": "{n} rows are too few to train and evaluate; give at least 2 rows of each label.",
        "csv_empty": "The file {name} is empty; upload a CSV with 'text' and 'label' columns.",
        "csv_unreadable": "{name} is not a readable CSV file ({error}); save it as CSV with a header row.",
        "csv_encoding": "{name} is not text in an encoding the app reads (UTF-8, UTF-16, CP949/EUC-KR, Windows-1252); "
                        "save the file as UTF-8 CSV (in Excel: Save As, 'CSV UTF-8').",
        "error": "Error",
        "empty_input": "The input is empty; type a text first.",
        "no_model_chosen": "No model was chosen; pick one in the list or type a name.",
        "task_not_served": "{name} does not do {task}; choose one of {tasks}.",
        "unknown_view": "There is no view {kind}; use one of {kinds}.",
        "needs_labels": "Zero-shot classification needs candidate labels; type them separated by commas.",
        "needs_context": "Question answering needs a context; type the passage that holds the answer.",
        "no_csv": "No CSV file was uploaded; press Upload CSV and choose a file.",
        "still_training": "A run is still training; press Stop first.",
        "variable_gone": "The variable {name} is no longer in the notebook; press Refresh and choose another.",
        "top_k_greedy": "Top-k limits sampling, so it counts only when the temperature is above 0.",
        "too_many_lines": "Sentence similarity compares at most {limit} lines and this input has {n}; keep the "
                          "sentences you want to compare.",
        "chart_first": "the first {shown} of {n} sentences (the table has them all)",
        "prompt_too_long": "The input is {n} tokens long but the app generates from at most {limit}; shorten it.",
        "not_generator": "{name} is not a text generator; load a decoder such as HuggingFaceTB/SmolLM2-135M-Instruct "
                         "for this tab.",
        "no_lm_head": "{name} has no language-model head to read its layers out with; load a model with one, such as "
                      "HuggingFaceTB/SmolLM2-135M-Instruct, for this tab.",
    },
    "ko": {
        "title": "트랜스포머 워크벤치",
        "model": "모델",
        "search": "검색",
        "search_placeholder": "이름, 계열 또는 작업",
        "family": "계열",
        "task": "작업",
        "all": "전체",
        "offline_only": "오프라인만",
        "load": "불러오기",
        "loading": "불러오는 중",
        "step_resolve": "체크포인트 찾는 중",
        "step_weights": "가중치 읽는 중",
        "step_tokenizer": "토크나이저 읽는 중",
        "step_done": "준비 완료",
        "loaded": "{name} 불러옴: 매개변수 {params}개, 작업: {tasks}.",
        "not_loaded": "아직 모델이 없습니다. 모델을 고르고 불러오기를 누르세요.",
        "unloaded_previous": "{name} 모델을 불러오지 못했습니다. 자리를 비우려고 {previous} 모델을 이미 내려놓았기 때문에 "
                             "지금은 불러온 모델이 없습니다. 모델을 다시 불러오세요.",
        "offline": "오프라인",
        "download": "다운로드",
        "parameters": "매개변수",
        "memory": "메모리",
        "budget": "이 컴퓨터에서 쓸 수 있는 메모리는 약 {budget}",
        "language_en": "영어 전용: 영어 문장을 넣으세요 (한국어 등 다른 언어는 엉뚱한 답이 나옵니다).",
        "language_fr": "프랑스어 전용: 프랑스어 문장을 넣으세요.",
        "language_multilingual": "다국어: 한국어도 됩니다.",
        "too_big": "{name} 모델은 메모리가 약 {need} 필요하지만 이 컴퓨터에서는 약 {budget}만 쓸 수 있어 "
                   "불러오지 않았습니다.",
        "try_sibling": "대신 {sibling} (약 {need}) 모델을 써 보세요.",
        "no_sibling": "카탈로그에 들어갈 만한 더 작은 모델이 없습니다. 메모리를 확보하거나 더 큰 컴퓨터를 쓰세요.",
        "no_estimate_offline": "{name} 모델은 카탈로그에 없고 오프라인이라 Hub에 물어볼 수 없어서, 불러오기 전에 필요한 "
                               "메모리를 어림하지 못했습니다.",
        "no_estimate_hub": "{name} 모델은 카탈로그에 없고 Hub에서 크기 정보를 얻지 못해서, 불러오기 전에 필요한 메모리를 "
                           "어림하지 못했습니다.",
        "input": "입력",
        "input_placeholder": "여기에 문장을 입력하세요",
        "extra_labels": "레이블",
        "extra_context": "문맥",
        "extra_lines": "한 줄에 한 문장",
        "run": "실행",
        "results": "결과",
        "tab_task": "작업",
        "tab_tokens": "토큰",
        "tab_attention": "어텐션",
        "tab_generation": "생성",
        "tab_lens": "로짓 렌즈",
        "tab_train": "학습",
        "max_new_tokens": "새 토큰 수",
        "temperature": "온도",
        "top_k": "Top-k",
        "press_run": "실행을 누르면 입력에 대한 이 화면이 계산됩니다.",
        "needs_model": "먼저 모델을 불러오세요.",
        "data": "데이터",
        "data_bbc": "BBC 뉴스 (내장)",
        "data_csv": "CSV 파일",
        "data_frame": "DataFrame 변수",
        "upload": "CSV 올리기",
        "variable": "변수",
        "refresh": "새로 고침",
        "per_class": "주제별 기사 수",
        "epochs": "에폭",
        "batch_size": "배치 크기",
        "max_length": "최대 길이",
        "train": "학습",
        "compare": "학습 전 / 후",
        "train_model": "{name} 모델에 데이터의 레이블에 맞는 새 분류 헤드를 붙여 미세 조정합니다.",
        "no_variables": "노트북에 'text'와 'label' 열이 있는 DataFrame이 아직 없습니다.",
        "not_frame": "학습 데이터는 pandas DataFrame이어야 합니다({type}은(는) 쓸 수 없습니다).",
        "no_columns": "데이터에 {missing} 열이 없습니다. 지금 있는 열은 {columns}이고, 학습에는 'text'와 'label' 열이 "
                      "필요합니다.",
        "and_no": ", ",
        "no_rows": "데이터에 행이 없습니다. 레이블이 붙은 문장을 몇 개 이상 넣으세요.",
        "rows_without": "{rows}행에 '{column}' 값이 없습니다. 값을 채우거나 그 행을 지우세요.",
        "row_without": "{rows}행에 '{column}' 값이 없습니다. 값을 채우거나 그 행을 지우세요.",
        "and": ", ",
        "more": "그 밖에 {n}개",
        "mixed_labels": "'label' 열에 여러 종류의 값({types})이 섞여 있습니다. 레이블을 모두 낱말로 쓰거나 모두 정수 "
                        "번호로 쓰세요.",
        "one_label": "데이터의 레이블이 하나({label})뿐입니다. 분류기를 학습하려면 레이블이 2개 이상 필요하니 다른 "
                     "레이블의 예를 더하세요.",
        "too_few_rows": "{n}개 행은 학습과 평가에 너무 적습니다. 레이블마다 2개 이상의 행을 넣으세요.",
        "csv_empty": "{name} 파일이 비어 있습니다. 'text'와 'label' 열이 있는 CSV를 올리세요.",
        "csv_unreadable": "{name} 파일을 CSV로 읽을 수 없습니다({error}). 머리글 행이 있는 CSV로 저장하세요.",
        "csv_encoding": "{name} 파일은 앱이 읽는 인코딩(UTF-8, UTF-16, CP949/EUC-KR, Windows-1252)의 글이 아닙니다. 파일을 "
                        "UTF-8 CSV로 저장하세요(Excel: 다른 이름으로 저장, 'CSV UTF-8').",
        "error": "오류",
        "empty_input": "입력이 비어 있습니다. 먼저 문장을 입력하세요.",
        "no_model_chosen": "고른 모델이 없습니다. 목록에서 고르거나 이름을 입력하세요.",
        "task_not_served": "{name} 모델은 {task} 작업을 하지 않습니다. 다음 중에서 고르세요: {tasks}.",
        "unknown_view": "{kind}라는 화면은 없습니다. 다음 중 하나를 쓰세요: {kinds}.",
        "needs_labels": "제로샷 분류에는 후보 레이블이 필요합니다. 쉼표로 구분해 입력하세요.",
        "needs_context": "질의응답에는 문맥이 필요합니다. 답이 들어 있는 글을 입력하세요.",
        "no_csv": "올린 CSV 파일이 없습니다. CSV 올리기를 눌러 파일을 고르세요.",
        "still_training": "아직 학습 중입니다. 먼저 중지를 누르세요.",
        "variable_gone": "변수 {name}이(가) 노트북에 더 이상 없습니다. 새로 고침을 누르고 다른 변수를 고르세요.",
        "top_k_greedy": "Top-k는 샘플링을 제한하므로 온도가 0보다 클 때만 쓰입니다.",
        "too_many_lines": "문장 유사도는 {limit}줄까지만 비교하는데 이 입력은 {n}줄입니다. 비교할 문장만 남기세요.",
        "chart_first": "문장 {n}개 중 처음 {shown}개 (표에는 모두 있음)",
        "prompt_too_long": "입력이 {n}토큰인데 앱은 {limit}토큰까지만 받아 생성합니다. 입력을 줄이세요.",
        "not_generator": "{name} 모델은 텍스트를 생성하지 않습니다. 이 탭에서는 HuggingFaceTB/SmolLM2-135M-Instruct 같은 "
                         "디코더 모델을 불러오세요.",
        "no_lm_head": "{name} 모델에는 레이어를 읽어 낼 언어 모델 헤드(language-model head)가 없습니다. 이 탭에서는 "
                      "HuggingFaceTB/SmolLM2-135M-Instruct처럼 언어 모델 헤드가 있는 모델을 불러오세요.",
    },
}

TASK_NAMES = {
    "ko": {"feature-extraction": "특징 추출", "sentence-embedding": "문장 임베딩 (유사도)",
           "text-classification": "텍스트 분류", "token-classification": "개체명 인식",
           "question-answering": "질의응답", "fill-mask": "빈칸 채우기",
           "zero-shot-classification": "제로샷 분류", "text-generation": "텍스트 생성"},
}


def ui_text(lang: str) -> dict[str, str]:
    return UI_TEXT[check_language(lang)]


def task_label(task: str, lang: str) -> str:
    """A task as shown in the task menu: its transformers name, with the Korean name when lang='ko'."""
    name = TASK_NAMES.get(lang, {}).get(task)
    return f"{name} ({task})" if name else task


def format_mb(mb: float | None) -> str:
    if mb is None:
        return "?"
    return f"{mb / 1000:.1f} GB" if mb >= 1000 else f"{mb:.0f} MB"


def format_count(n: int) -> str:
    return f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k"


# ---- memory ------------------------------------------------------------------------------------------------

def _read_int(path: Path) -> int | None:
    try:
        value = path.read_text().strip()
    except OSError:
        return None
    if value in ("max", ""):
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return None if number >= 2 ** 60 else number  # cgroup v1 writes a huge number for "no limit"


def cgroup_memory(root: str | Path = "/sys/fs/cgroup") -> tuple[int | None, int | None]:
    """(limit, usage) in bytes of this process's memory cgroup (v2 `memory.max`/`memory.current`, else v1);
    None where there is no limit or no file."""
    root = Path(root)
    if (root / "memory.max").exists() or (root / "memory.current").exists():
        return _read_int(root / "memory.max"), _read_int(root / "memory.current")
    return _read_int(root / "memory" / "memory.limit_in_bytes"), _read_int(root / "memory" / "memory.usage_in_bytes")


def available_memory(meminfo: str | Path = "/proc/meminfo") -> int | None:
    """MemAvailable of the machine in bytes (None when /proc/meminfo is not there)."""
    try:
        for line in Path(meminfo).read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # the file counts kB (KiB)
    except (OSError, ValueError, IndexError):
        return None
    return None


def memory_budget_mb(*, cgroup_root: str | Path = "/sys/fs/cgroup", meminfo: str | Path = "/proc/meminfo",
                     freed_mb: float = 0.0) -> float | None:
    """How many MB a new model may take now: the machine's available memory, capped by what the cgroup limit
    leaves (limit - usage), plus `freed_mb` that unloading the current model gives back. None: unknown."""
    candidates = []
    machine = available_memory(meminfo)
    if machine is not None:
        candidates.append(machine / MB)
    limit, usage = cgroup_memory(cgroup_root)
    if limit is not None:
        candidates.append((limit - (usage or 0)) / MB)
    if not candidates:
        return None
    return max(0.0, min(candidates)) + freed_mb


@dataclass
class Fit:
    ok: bool
    message: str = ""
    sibling: str | None = None


def smaller_sibling(entry: dict, table, budget_mb: float) -> dict | None:
    """The best catalog row that fits in `budget_mb` and serves one of `entry`'s tasks: same family first, then
    available offline, then the biggest (the closest to what was asked for)."""
    tasks = set(entry["tasks"])
    fitting = [row for row in table.to_dict("records")
               if row["id"] != entry["id"] and row["memory_mb"] <= budget_mb and tasks.intersection(row["tasks"])]
    if not fitting:
        return None
    return max(fitting, key=lambda row: (row["family"] == entry["family"], bool(row["offline"]), row["parameters"]))


def check_fits(entry: dict, budget_mb: float | None, table, lang: str = "en") -> Fit:
    """Whether a catalog row's memory estimate fits the budget; if not, a message and a smaller sibling."""
    if budget_mb is None or entry["memory_mb"] <= budget_mb:
        return Fit(True)
    text = ui_text(lang)
    message = text["too_big"].format(name=entry["id"], need=format_mb(entry["memory_mb"]), budget=format_mb(budget_mb))
    sibling = smaller_sibling(entry, table, budget_mb)
    if sibling is None:
        return Fit(False, f"{message} {text['no_sibling']}")
    hint = text["try_sibling"].format(sibling=sibling["id"], need=format_mb(sibling["memory_mb"]))
    return Fit(False, f"{message} {hint}", sibling["id"])


# ---- the model picker --------------------------------------------------------------------------------------

def filter_catalog(table, search: str = "", family: str | None = None, task: str | None = None,
                   offline_only: bool = False):
    """Rows of `wb.catalog()` matching a free-text search (id, family, tasks, description), a family, a task."""
    rows = table
    if offline_only:
        rows = rows[rows["offline"]]
    if family:
        rows = rows[rows["family"] == family]
    if task:
        rows = rows[rows["tasks"].map(lambda tasks: task in tasks)]
    words = search.lower().split()
    if words:
        haystack = (rows["id"] + " " + rows["family"] + " " + rows["tasks"].map(" ".join) + " "
                    + rows["description"]).str.lower()
        rows = rows[haystack.map(lambda text: all(word in text for word in words))]
    return rows.reset_index(drop=True)


def catalog_families(table) -> list[str]:
    return sorted(set(table["family"]))


def catalog_tasks(table) -> list[str]:
    return sorted({task for tasks in table["tasks"] for task in tasks})


def picker_label(row: dict, lang: str = "en") -> str:
    """One line of the model list: offline mark, id, parameters, memory estimate."""
    badge = "●" if row["offline"] else "○"
    return f"{badge} {row['id']}  ·  {format_count(row['parameters'])}  ·  ~{format_mb(row['memory_mb'])}"


def picker_options(table, lang: str = "en") -> list[tuple[str, str]]:
    """(label, id) pairs for a Select widget, offline checkpoints first, then by size."""
    rows = sorted(table.to_dict("records"), key=lambda row: (not row["offline"], row["parameters"]))
    return [(picker_label(row, lang), row["id"]) for row in rows]


def describe_entry(row: dict, budget_mb: float | None, lang: str = "en") -> str:
    """An HTML card for one catalog row (every value escaped): badge, description, sizes, fit."""
    text = ui_text(lang)
    e = html.escape
    badge = (f"<span class='wb-badge wb-offline' style='background:#16a34a;color:white;padding:1px 6px;"
             f"border-radius:8px'>{e(text['offline'])}</span>" if row["offline"] else
             f"<span class='wb-badge wb-download' style='background:#9ca3af;color:white;padding:1px 6px;"
             f"border-radius:8px'>{e(text['download'])} {e(format_mb(row['download_mb']))}</span>")
    budget = "" if budget_mb is None else f" ({e(text['budget'].format(budget=format_mb(budget_mb)))})"
    too_big = budget_mb is not None and row["memory_mb"] > budget_mb
    warn = " style='color:#b91c1c'" if too_big else ""
    language = text.get(f"language_{row.get('language')}", "")
    language = f"<span class='wb-model-language'>{e(language)}</span><br>" if language else ""
    return (f"<div class='wb-model-card'><b>{e(row['id'])}</b> {badge}<br>"
            f"<span>{e(row['description'])}</span><br>{language}"
            f"<small>{e(row['family'])} · {e(', '.join(row['tasks']))} · {e(format_count(row['parameters']))} "
            f"{e(text['parameters'])} · <span{warn}>{e(text['memory'])} ~{e(format_mb(row['memory_mb']))}</span>"
            f"{budget} · {e(row['license'])}</small></div>")


# ---- loading -----------------------------------------------------------------------------------------------

# The tasks a loaded model serves, by the head it was loaded with (pipelines accept a base model for these).
TASKS_BY_HEAD = {
    "feature-extraction": ("sentence-embedding", "zero-shot-classification", "feature-extraction"),
    "fill-mask": ("fill-mask", "sentence-embedding", "feature-extraction"),
    "text-classification": ("text-classification",),
    "token-classification": ("token-classification",),
    "question-answering": ("question-answering",),
    "text-generation": ("text-generation",),
}
LOAD_STEPS = ("step_resolve", "step_weights", "step_tokenizer", "step_done")


@dataclass
class Loaded:
    """A checkpoint ready to use: the model, its tokenizer, the tasks it serves, and its catalog row."""
    name: str
    model: Any
    tokenizer: Any
    tasks: list[str]
    entry: dict | None = None
    pipelines: dict = field(default_factory=dict, repr=False)  # task -> Pipeline, made on first use
    note: str = ""  # said after the summary, e.g. that no memory estimate was possible

    @property
    def is_causal(self) -> bool:
        return getattr(self.model, "task", None) == "text-generation"

    def summary(self, lang: str = "en") -> str:
        count = sum(p.numel() for p in self.model.parameters())
        summary = ui_text(lang)["loaded"].format(name=self.name, params=format_count(count), tasks=", ".join(self.tasks))
        return f"{summary} {self.note}" if self.note else summary


def tasks_for(model, entry: dict | None = None) -> list[str]:
    """The pipeline tasks the loaded model supports: those of its head, then the catalog's, without repeats."""
    head = getattr(model, "task", None) or "feature-extraction"
    tasks = list(TASKS_BY_HEAD.get(head, (head,)))
    for task in (entry or {}).get("tasks", ()):
        if task not in tasks and (task == head or task == "zero-shot-classification" and head == "text-classification"):
            tasks.append(task)
    return tasks


def catalog_row(name: str) -> dict | None:
    from .checkpoints import catalog_entry
    from .errors import CheckpointNotFoundError

    try:
        return catalog_entry(name)
    except CheckpointNotFoundError:
        return None


def load_checkpoint(name: str, *, budget_mb: float | None = None, lang: str = "en",
                    progress: Callable[[int, int, str], None] | None = None,
                    before_reading: Callable[[], None] | None = None) -> Loaded:
    """Load a checkpoint (catalog id, Hub id, folder or .gguf) for the app, reporting `progress(step, steps, what)`.

    A checkpoint whose memory estimate exceeds `budget_mb` is refused before anything is downloaded, with a
    smaller sibling suggested: the catalog's estimate, else for a Hub id the Hub's metadata (`hub_estimate`);
    without either the load goes on and `Loaded.note` says there was no estimate. `before_reading()` is called once every check has passed (the memory
    estimate, the checkpoint found, its architecture supported), right before the weights are read: the app lets
    its old model go there, so that a refusal keeps it and the new weights never sit next to it."""
    from . import load_tokenizer
    from .checkpoints import catalog, resolve_checkpoint
    from .models.loading import load_model

    name = name.strip()
    if not name:
        raise WorkbenchError(ui_text(lang)["no_model_chosen"])
    text = ui_text(lang)
    report = progress or (lambda step, steps, what: None)
    entry, note = catalog_row(name), ""
    estimate = entry
    if entry is None and is_hub_name(name):
        estimate, note = hub_estimate(name, lang)
    if estimate is not None:
        fit = check_fits(estimate, budget_mb, catalog(), lang)
        if not fit.ok:
            error = WorkbenchError(fit.message)
            error.sibling = fit.sibling
            raise error
    report(0, len(LOAD_STEPS), text["step_resolve"])
    path = resolve_checkpoint(name)  # downloads (with huggingface_hub's progress) when not cached
    check_architecture(path)
    if before_reading is not None:
        before_reading()
    report(1, len(LOAD_STEPS), text["step_weights"])
    model = load_model(name).eval()
    report(2, len(LOAD_STEPS), text["step_tokenizer"])
    tokenizer = load_tokenizer(name)
    report(3, len(LOAD_STEPS), text["step_done"])
    return Loaded(name, model, tokenizer, tasks_for(model, entry), entry, note=note)


HUB_TIMEOUT_SECONDS = 10.0


def is_hub_name(name: str) -> bool:
    """Whether the app would look `name` up on the Hub: 'org/name', not a local folder or file."""
    return "/" in name and not Path(name).expanduser().exists() and not name.startswith((".", "~", "/"))


def hub_estimate(name: str, lang: str = "en") -> tuple[dict | None, str]:
    """For a Hub id outside the catalog: (a catalog-like row with `memory_mb`, "") from the Hub's metadata, asked
    before anything is downloaded; or (None, a sentence saying there is no estimate: offline, or the Hub could
    not be asked or gave no sizes)."""
    from .checkpoints.resolve import hub_offline

    words = ui_text(lang)
    if hub_offline():
        return None, words["no_estimate_offline"].format(name=name)
    try:
        import huggingface_hub

        info = huggingface_hub.HfApi().model_info(name, files_metadata=True, timeout=HUB_TIMEOUT_SECONDS)
    except Exception:  # noqa: BLE001 — unreachable, unknown or gated: the download, if tried, says which
        return None, words["no_estimate_hub"].format(name=name)
    row = estimate_from_model_info(info)
    return (row, "") if row is not None else (None, words["no_estimate_hub"].format(name=name))


def estimate_from_model_info(info) -> dict | None:
    """A catalog-like row (id, family, tasks, parameters, memory_mb) from a `huggingface_hub.ModelInfo` asked with
    files_metadata=True: parameters from the Hub's safetensors count, else from the sizes of the weight files a
    download would fetch, counted as fp32 (4 bytes a value, what PyTorch .bin files mostly hold); None if neither."""
    from .checkpoints.known import memory_mb
    from .checkpoints.resolve import choose_files_to_download

    parameters = info.safetensors.total if info.safetensors is not None else None
    if not parameters:
        files = info.siblings or []
        fetched = set(choose_files_to_download([f.rfilename for f in files]))
        weights = [f for f in files if f.rfilename in fetched and f.rfilename.endswith((".safetensors", ".bin"))]
        if not weights or any(f.size is None for f in weights):
            return None
        parameters = sum(f.size for f in weights) // 4
    config = info.config or {}
    return {"id": info.id, "family": config.get("model_type", ""), "tasks": (info.pipeline_tag,) if info.pipeline_tag
            else (), "parameters": parameters, "memory_mb": memory_mb(parameters)}


def check_architecture(path) -> None:
    """Raise the loader's own error when a checkpoint folder's family or head is not supported; costs no memory
    (the model is built on torch's `meta` device, without weights). GGUF files are checked when read."""
    from .checkpoints import read_config
    from .models.loading import build_model

    if Path(path).is_dir():
        build_model(read_config(path))


def loaded_memory_mb(loaded: Loaded | None) -> float:
    """What unloading `loaded` gives back: its catalog estimate, else the same rule on its parameter count."""
    if loaded is None:
        return 0.0
    if loaded.entry:
        return float(loaded.entry["memory_mb"])
    from .checkpoints.known import memory_mb

    return float(memory_mb(sum(p.numel() for p in loaded.model.parameters())))


# ---- tasks -------------------------------------------------------------------------------------------------

# The second input a task needs besides the text, and an example of each.
EXTRA_INPUT = {"zero-shot-classification": "extra_labels", "question-answering": "extra_context"}
EXAMPLES = {
    "en": {
        "default": "The new phone has a great camera but the battery dies by lunchtime.",
        "zero-shot-classification": ("The striker scored twice in the second half.", "sport, politics, business, technology"),
        "question-answering": ("Where is the Eiffel Tower?", "The Eiffel Tower is a wrought-iron tower in Paris, France."),
        "sentence-embedding": "A cat sits on the mat.\nA kitten rests on a rug.\nStock markets fell sharply today.",
        "fill-mask": "Paris is the [MASK] of France.",
        "text-generation": "The three primary colours are",
    },
    "ko": {
        "default": "새 휴대폰은 카메라가 훌륭하지만 배터리가 점심때면 다 닳아요.",
        "zero-shot-classification": ("공격수가 후반전에 두 골을 넣었다.", "스포츠, 정치, 경제, 기술"),
        "question-answering": ("에펠탑은 어디에 있나요?", "에펠탑은 프랑스 파리에 있는 철탑이다."),
        "sentence-embedding": "고양이가 매트 위에 앉아 있다.\n새끼 고양이가 깔개 위에서 쉬고 있다.\n오늘 주가가 급락했다.",
        "fill-mask": "Paris is the [MASK] of France.",
        "text-generation": "The three primary colours are",
    },
}


def example_for(task: str, lang: str = "en") -> tuple[str, str]:
    """(text, extra) to pre-fill the input boxes for a task, in `lang` (see `examples_language`)."""
    example = EXAMPLES[check_language(lang)].get(task, EXAMPLES[lang]["default"])
    return example if isinstance(example, tuple) else (example, "")


def examples_language(lang: str, entry: dict | None) -> str:
    """The language of the examples for a model: the app's, unless the catalog says the model knows only another
    language; then English (a Korean sentence given to English-only MiniLM gets wrong answers). A checkpoint
    outside the catalog (entry None) is not second-guessed."""
    known = (entry or {}).get("language")
    return lang if known in (None, "multilingual", lang) else "en"


def is_example(text: str) -> bool:
    """Whether `text` is empty or one of the examples, in any language (so switching task or model may replace
    it)."""
    if not text.strip():
        return True
    for examples in EXAMPLES.values():
        for example in examples.values():
            if text in (example if isinstance(example, tuple) else (example,)):
                return True
    return False


def fill_mask_example(tokenizer, text: str) -> str:
    """`text` with `[MASK]` written as the tokenizer's own mask token (`<mask>` for RoBERTa)."""
    mask = getattr(tokenizer, "mask_token", None)
    return text.replace("[MASK]", mask) if mask else text


def pipeline_for(loaded: Loaded, task: str):
    if task not in loaded.pipelines:
        from .pipelines import pipeline

        loaded.pipelines[task] = pipeline(task, model=loaded.model, tokenizer=loaded.tokenizer)
    return loaded.pipelines[task]


@dataclass
class TaskResult:
    table: Any  # pandas DataFrame
    chart: bytes | None  # PNG
    raw: Any  # the pipeline's own output


def check_task(loaded: Loaded, task: str, lang: str = "en") -> None:
    """Refuse a task the loaded model does not serve, naming those it does."""
    if task not in loaded.tasks:
        raise UnsupportedModelError(ui_text(lang)["task_not_served"].format(name=loaded.name, task=task,
                                                                            tasks=", ".join(loaded.tasks)))


def check_view_kind(kind: str, lang: str = "en") -> None:
    if kind not in VIEW_KINDS:
        raise WorkbenchError(ui_text(lang)["unknown_view"].format(kind=repr(kind), kinds=", ".join(VIEW_KINDS)))


def split_labels(extra: str) -> list[str]:
    return [label.strip() for label in extra.replace("\n", ",").split(",") if label.strip()]


MAX_SIMILARITY_LINES = 200  # sentence similarity: more is refused (a 200 x 200 table is already a lot to read)
CHART_SENTENCES = 30  # the similarity heatmap shows the first 30 (one of 300 was a 34 MB PNG drawn in minutes)
MAX_PROMPT_TOKENS = 512  # text generation in the app: a longer prompt is refused, not silently cut


def check_prompt_length(loaded: Loaded, text: str, lang: str = "en") -> None:
    """Refuse a prompt longer than the app generates from (MAX_PROMPT_TOKENS, or the model's own limit if
    smaller): a 20,000-character prompt blocked the kernel for 90 s and kept only its last 8,172 tokens."""
    import warnings

    with warnings.catch_warnings():  # the tokenizer's "longer than the model takes" warning: said below instead
        warnings.simplefilter("ignore")
        n = len(loaded.tokenizer(text)["input_ids"])
    limit = min(MAX_PROMPT_TOKENS, loaded.model.config.get("max_position_embeddings") or MAX_PROMPT_TOKENS)
    if n > limit:
        raise WorkbenchError(ui_text(lang)["prompt_too_long"].format(n=f"{n:,}", limit=limit))


def run_task(loaded: Loaded, task: str, text: str, extra: str = "", *, max_new_tokens: int = 30,
             lang: str = "en") -> TaskResult:
    """Run `task` on the input with the loaded model; the result as a DataFrame and a bar chart."""
    import pandas as pd

    words = ui_text(lang)

    check_task(loaded, task, lang)
    if not text.strip():
        raise WorkbenchError(words["empty_input"])
    pipe = pipeline_for(loaded, task)
    if task == "zero-shot-classification":
        labels = split_labels(extra)
        if not labels:
            raise WorkbenchError(words["needs_labels"])
        raw = pipe(text, candidate_labels=labels)
        table = pd.DataFrame({"label": raw["labels"], "score": raw["scores"]})
        return TaskResult(table, bar_chart(table["label"], table["score"], "score"), raw)
    if task == "question-answering":
        if not extra.strip():
            raise WorkbenchError(words["needs_context"])
        raw = pipe(question=text, context=extra, top_k=3)
        raw = raw if isinstance(raw, list) else [raw]
        table = pd.DataFrame(raw)
        return TaskResult(table, bar_chart(table["answer"], table["score"], "score"), raw)
    if task == "sentence-embedding":
        sentences = [line.strip() for line in text.splitlines() if line.strip()]
        if len(sentences) > MAX_SIMILARITY_LINES:
            raise WorkbenchError(words["too_many_lines"].format(limit=MAX_SIMILARITY_LINES, n=len(sentences)))
        vectors = pipe(sentences)
        table = similarity_table(sentences, vectors)
        shown = min(len(table), CHART_SENTENCES)
        title = words["chart_first"].format(shown=shown, n=len(table)) if shown < len(table) else None
        return TaskResult(table, heatmap_chart(table.iloc[:shown, :shown], title), vectors)
    if task == "feature-extraction":
        raw = pipe(text)
        table = token_vector_table(loaded.tokenizer, text, raw)
        return TaskResult(table, bar_chart(table["token"], table["norm"], "vector norm"), raw)
    if task == "fill-mask":
        raw = pipe(fill_mask_example(loaded.tokenizer, text))
        raw = raw[0] if raw and isinstance(raw[0], list) else raw  # several masks: the first one
        table = pd.DataFrame(raw)[["token_str", "score", "sequence"]]
        return TaskResult(table, bar_chart(table["token_str"], table["score"], "score"), raw)
    if task == "text-generation":
        check_prompt_length(loaded, text, lang)
        raw = pipe(text, max_new_tokens=max_new_tokens, do_sample=False)
        table = pd.DataFrame(raw)
        return TaskResult(table, None, raw)
    if task == "text-classification":
        raw = pipe(text, top_k=None)
        table = pd.DataFrame(raw[0] if raw and isinstance(raw[0], list) else raw)
        return TaskResult(table, bar_chart(table["label"], table["score"], "score"), raw)
    if task == "token-classification":
        raw = pipe(text, aggregation_strategy="simple")
        table = pd.DataFrame(raw)
        if table.empty:
            return TaskResult(table, None, raw)
        return TaskResult(table, bar_chart(table["word"], table["score"], "score"), raw)
    raw = pipe(text)
    return TaskResult(pd.DataFrame(raw if isinstance(raw, list) else [raw]), None, raw)


def similarity_table(sentences: list[str], vectors):
    """Cosine similarity of every pair of sentences, as a DataFrame indexed by the sentences."""
    import pandas as pd
    import torch

    from .pipelines import cosine_similarity

    matrix = torch.as_tensor(vectors, dtype=torch.float32)
    similarity = cosine_similarity(matrix, matrix).numpy().round(3)
    return pd.DataFrame(similarity, index=sentences, columns=[f"#{i + 1}" for i in range(len(sentences))])


def token_vector_table(tokenizer, text: str, vectors):
    """One row per token: the piece, the length of its vector and its first values."""
    import pandas as pd
    import torch

    matrix = torch.as_tensor(vectors, dtype=torch.float32)[0]  # [T, hidden]
    pieces = tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"])[: matrix.shape[0]]
    table = pd.DataFrame({"token": pieces, "norm": matrix.norm(dim=-1).numpy().round(3)})
    for i in range(min(4, matrix.shape[1])):
        table[f"dim {i}"] = matrix[:, i].numpy().round(3)
    return table


def bar_chart(labels, values, xlabel: str) -> bytes:
    """A horizontal bar chart as PNG bytes (matplotlib Agg, Hangul-capable fonts)."""
    from .views.drawing import drawing, new_figure

    labels = [str(label) if len(str(label)) <= 40 else str(label)[:37] + "..." for label in labels]
    values = [float(v) for v in values]
    with drawing():
        figure = new_figure(5.5, 0.6 + 0.32 * max(1, len(labels)))
        axes = figure.add_subplot()
        positions = list(range(len(labels)))
        axes.barh(positions, values, color="#2563eb")
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        axes.set_xlabel(xlabel)
        if values and min(values) >= 0 and max(values) <= 1:
            axes.set_xlim(0, 1)
        figure.tight_layout()
        return _png(figure)


HEATMAP_NUMBERS = 12  # up to this many sentences each cell also shows its similarity as a number


def heatmap_chart(table, title: str | None = None) -> bytes:
    """The similarity table as a heatmap PNG, sentences as row labels; cells shrink as rows are added, so the
    picture stays about as wide as the app (30 sentences: ~10 inches)."""
    from .views.drawing import drawing, new_figure

    with drawing():
        n = len(table)
        cell = min(0.6, 8.0 / max(n, 1))  # inches per row and column
        figure = new_figure(3.0 + cell * n, 1.2 + cell * n)
        axes = figure.add_subplot()
        image = axes.imshow(table.to_numpy(), vmin=-1, vmax=1, cmap="RdBu_r")
        small = 8 if n <= HEATMAP_NUMBERS else 6
        axes.set_xticks(range(n), list(table.columns), fontsize=small)
        axes.set_yticks(range(n), [s if len(s) <= 30 else s[:27] + "..." for s in table.index], fontsize=small)
        if n <= HEATMAP_NUMBERS:
            for i in range(n):
                for j in range(n):
                    axes.text(j, i, f"{table.iat[i, j]:.2f}", ha="center", va="center", fontsize=8)
        if title:
            axes.set_title(title, fontsize=9)
        figure.colorbar(image, ax=axes, shrink=0.8)
        figure.tight_layout()
        return _png(figure)


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def table_html(table, max_rows: int = 50) -> str:
    """A DataFrame as an HTML table with every cell escaped."""
    return table.head(max_rows).to_html(escape=True, float_format=lambda v: f"{v:.4f}", border=0,
                                        classes="wb-results")


# ---- views fed by the same input ---------------------------------------------------------------------------

VIEW_KINDS = ("tokens", "attention", "generation", "lens")


def make_view(kind: str, loaded: Loaded, text: str, *, max_new_tokens: int = 20, temperature: float = 0.0,
              top_k: int = 0, max_length: int = 128, lang: str = "en"):
    """The view of `kind` for the input: tokens, attention (head/model view), generation, logit lens; its texts
    (and the errors said here) in `lang`."""
    words = ui_text(lang)
    check_view_kind(kind, lang)
    if not text.strip():
        raise WorkbenchError(words["empty_input"])
    if kind == "tokens":
        from .views import show_tokens

        return show_tokens(text, tokenizer=loaded.tokenizer, lang=lang)
    if kind == "attention":
        from .views import show_attention

        return show_attention(text, model=loaded.model, tokenizer=loaded.tokenizer, max_length=max_length, lang=lang)
    if kind == "generation":
        if not loaded.is_causal:
            raise UnsupportedModelError(words["not_generator"].format(name=loaded.name))
        from .views import show_generation

        check_prompt_length(loaded, text, lang)  # the same limit and message as the Task tab's text generation
        sampling = {"do_sample": True, "temperature": temperature, "seed": 0} if temperature > 0 else {"do_sample": False}
        if top_k > 0 and temperature > 0:
            sampling["top_k"] = top_k
        return show_generation(text, model=loaded.model, tokenizer=loaded.tokenizer, max_new_tokens=max_new_tokens,
                               stream=True, lang=lang, **sampling)
    if kind == "lens":
        from .views.logit_lens import lens_readout, show_logit_lens

        try:
            lens_readout(loaded.model)
        except UnsupportedModelError:
            raise UnsupportedModelError(words["no_lm_head"].format(name=loaded.name)) from None
        return show_logit_lens(text, model=loaded.model, tokenizer=loaded.tokenizer, max_length=max_length, lang=lang)
    raise AssertionError(kind)  # check_view_kind let through a kind this function does not make


# ---- linked views: selecting a token in one tab selects it in the others -------------------------------------

def selected_anchor(view, position: int, text: str):
    """The token at `position` of a view, described in terms of the input `text` (a `views.linking.Anchor`);
    None for no selection (-1), a generated token, or a token of some other text."""
    from .views.linking import view_anchors

    anchors = view_anchors(view, [text])
    return anchors[position] if 0 <= position < len(anchors) else None


def linked_position(anchor, view, text: str) -> int:
    """The position of the token `anchor` describes in a view of the same input `text`; -1 when it has none."""
    from .views.linking import find_position, view_anchors

    return find_position(anchor, view_anchors(view, [text]))


def link_position(source, position: int, target, text: str) -> int:
    """The position in view `target` of the token at `position` in view `source`, both made for `text`; -1 when
    `target` has no such token (a generated token, a token cut off by truncation, a lone space)."""
    return linked_position(selected_anchor(source, position, text), target, text)


# ---- training ----------------------------------------------------------------------------------------------

def bbc_data(n_per_class: int = 40, seed: int = 0, eval_fraction: float = 0.25, lang: str = "en"):
    """(train, eval) DataFrames from the packaged BBC News corpus, `n_per_class` articles per topic."""
    from .training import bbc_news

    return split_train_eval(bbc_news(n_per_class, seed=seed), eval_fraction, seed, lang)


def split_train_eval(frame, eval_fraction: float = 0.25, seed: int = 0, lang: str = "en"):
    """Split a (text, label) DataFrame into (train, eval), stratified by label: a label with at least 2 rows puts
    about `eval_fraction` of them (at least 1, never all) in eval, so both parts have every such label; a label
    with a single row stays in train. Each part is shuffled (`seed`)."""
    import pandas as pd

    check_training_frame(frame, lang)
    train_parts, eval_parts = [], []
    for _, rows in frame.groupby("label", sort=True):
        rows = rows.sample(frac=1.0, random_state=seed)
        n_eval = 0 if len(rows) < 2 else min(len(rows) - 1, max(1, round(len(rows) * eval_fraction)))
        eval_parts.append(rows.iloc[:n_eval])
        train_parts.append(rows.iloc[n_eval:])
    train = pd.concat(train_parts).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    evaluation = pd.concat(eval_parts).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    if len(train) < 2 or len(evaluation) == 0:
        raise WorkbenchError(ui_text(lang)["too_few_rows"].format(n=len(frame)))
    return train, evaluation


def check_training_frame(frame, lang: str = "en") -> None:
    """Refuse, in one sentence in `lang`, data the Train tab cannot learn from: not a DataFrame, no 'text' or
    'label' column, no rows, empty texts or labels (named by their row: the DataFrame's index, for a CSV its
    spreadsheet row), labels that mix types (1, "a", 2.5), a single label."""
    import pandas as pd

    from .training.data import missing_rows, row_list, type_names

    words = ui_text(lang)
    if not isinstance(frame, pd.DataFrame):
        raise WorkbenchError(words["not_frame"].format(type=type(frame).__name__))
    missing = [c for c in ("text", "label") if c not in frame.columns]
    if missing:
        raise WorkbenchError(words["no_columns"].format(missing=words["and_no"].join(repr(c) for c in missing),
                                                        columns=list(frame.columns)[:8]))
    if len(frame) == 0:
        raise WorkbenchError(words["no_rows"])
    for column in ("text", "label"):
        empty = missing_rows(frame[column].tolist())
        if empty:  # never trained on as the words "None" or "nan"
            key = "row_without" if len(empty) == 1 else "rows_without"
            rows = row_list(list(frame.index[empty]), last=words["and"], more=words["more"])  # Korean: '3, 7, 12'
            raise WorkbenchError(words[key].format(rows=rows, column=column))
    types = type_names(frame["label"].tolist())
    if len(types) > 1:
        raise WorkbenchError(words["mixed_labels"].format(types=", ".join(types)))
    labels = frame["label"].unique().tolist()
    if len(labels) < 2:
        raise WorkbenchError(words["one_label"].format(label=repr(labels[0])))


def decode_upload(content: bytes) -> tuple[str, str]:
    """(text, encoding) of an uploaded text file, in the encodings spreadsheets save in: UTF-8 (with or without
    a BOM), UTF-16 with a BOM (Excel's 'Unicode text'), CP949 / EUC-KR (Korean Excel's CSV), then Windows-1252
    (Western Excel's). CP949 is taken only when most of what it decodes is Hangul (Western text can be valid CP949,
    as mojibake). Raises UnicodeError when none fits, or the result holds control characters (a binary file)."""
    import codecs

    if content.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "cp949", "cp1252"]
    for encoding in candidates:
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
            continue  # NUL and other controls: a binary file (or UTF-16 without its BOM), not a CSV
        if encoding == "cp949" and not _mostly_hangul(text):
            continue
        return text, encoding
    raise UnicodeError("no known text encoding fits")


def _mostly_hangul(text: str) -> bool:
    """Whether at least half of the non-ASCII characters are Hangul (syllables or jamo)."""
    wide = [c for c in text if ord(c) > 127]
    hangul = [c for c in wide if "\uac00" <= c <= "\ud7a3" or "\u1100" <= c <= "\u11ff" or "\u3130" <= c <= "\u318f"]
    return bool(wide) and len(hangul) >= len(wide) / 2


def csv_separator(text: str) -> str:
    """The column separator, from the header line: a tab (Excel's 'Unicode text'), a semicolon (Excel where the
    decimal mark is a comma), else a comma."""
    header = text.split("\n", 1)[0]
    for separator in ("\t", ";"):
        if separator in header and "," not in header:
            return separator
    return ","


def read_csv_upload(content: bytes, name: str = "upload.csv", lang: str = "en"):
    """The DataFrame of an uploaded CSV file (see `decode_upload` for the encodings), checked for training. Rows
    with an empty text or label are refused by their spreadsheet row (the header is row 1), not dropped."""
    import pandas as pd

    words = ui_text(lang)
    if not content:
        raise WorkbenchError(words["csv_empty"].format(name=repr(name)))
    try:
        text, _ = decode_upload(content)
    except UnicodeError:
        raise WorkbenchError(words["csv_encoding"].format(name=repr(name))) from None
    try:
        frame = pd.read_csv(io.StringIO(text), sep=csv_separator(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise WorkbenchError(words["csv_unreadable"].format(name=repr(name), error=error)) from None
    frame.index = range(2, len(frame) + 2)  # as a spreadsheet numbers them, for the messages
    check_training_frame(frame, lang)
    return frame.reset_index(drop=True)


def hub_is_offline() -> bool:
    """Whether HF_HUB_OFFLINE forbids the Hub (Binder's start sets it): the picker then shows offline models first."""
    from .checkpoints.resolve import hub_offline

    return hub_offline()


def dataframe_variables(namespace: dict | None) -> list[str]:
    """Names of the notebook's DataFrames that have 'text' and 'label' columns (private names skipped)."""
    import pandas as pd

    return sorted(name for name, value in (namespace or {}).items()
                  if not name.startswith("_") and isinstance(value, pd.DataFrame)
                  and {"text", "label"} <= set(value.columns) and len(value) > 0)


def training_checkpoint(loaded: Loaded | None) -> str:
    """The checkpoint the Train tab fine-tunes: the loaded encoder, else the packaged MiniLM."""
    if loaded is not None and not loaded.is_causal and getattr(loaded.model, "task", "") in (
            "feature-extraction", "fill-mask", "text-classification"):
        return loaded.name
    return DEFAULT_CHECKPOINT


def start_training(checkpoint: str, train, eval=None, *, epochs: float = 1, batch_size: int = 16,
                   max_length: int = 128, learning_rate: float = 5e-5, seed: int = 0, max_steps: int | None = None):
    """Start a fine-tuning run in its background thread and return the Run at once (the app shows its panel)."""
    from .training import fine_tune

    return fine_tune(checkpoint, train, eval, epochs=epochs, batch_size=batch_size, max_length=max_length,
                     learning_rate=learning_rate, seed=seed, max_steps=max_steps, live=False, wait=False,
                     eval_every=None)


def comparison(run, texts: list[str]):
    """Predictions before and after training as (DataFrame, PNG chart)."""
    from .training.plot import comparison_png

    table = run.compare(texts, chart=False)
    return table, comparison_png(table)


def error_message(error: BaseException, lang: str = "en") -> str:
    """What the UI shows for an error: the one-sentence message of a workbench error, else type and message."""
    prefix = ui_text(lang)["error"]
    if isinstance(error, WorkbenchError):
        return f"{prefix}: {error}"
    return f"{prefix}: {type(error).__name__}: {error}"
