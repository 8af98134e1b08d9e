"""The Workbench app without a browser: its logic (workbench.app_logic) and its widget wiring, on the real MiniLM.

The browser layer (the app drawn in JupyterLab and Voila) is tests/browser/test_app.py.
"""
from __future__ import annotations

import datetime
import shutil
import time
import weakref

import pandas as pd
import pytest

import workbench as wb
from workbench import app_logic as logic
from workbench.errors import UnsupportedModelError, WorkbenchError

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
SMOLLM = "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.fixture(scope="module")
def minilm():
    return logic.load_checkpoint(MINILM)


@pytest.fixture()
def smollm():
    """SmolLM2 for one test (a module-wide copy would sit next to the apps' own, 540 MB each)."""
    return logic.load_checkpoint(SMOLLM)


@pytest.fixture(scope="module")
def catalog():
    return wb.catalog()


# ---- language ------------------------------------------------------------------------------------------------

def test_language_comes_from_the_locale_variables_in_order():
    assert logic.default_language({"LANG": "ko_KR.UTF-8"}) == "ko"
    assert logic.default_language({"LANG": "en_GB.UTF-8"}) == "en"
    assert logic.default_language({"LC_ALL": "en_US.UTF-8", "LANG": "ko_KR.UTF-8"}) == "en"
    assert logic.default_language({"LANGUAGE": "ko", "LC_ALL": "C.UTF-8"}) == "ko"
    assert logic.default_language({}) == "en"


def test_both_languages_have_every_ui_string_and_an_unknown_language_is_refused():
    assert set(logic.UI_TEXT["en"]) == set(logic.UI_TEXT["ko"])
    assert logic.ui_text("ko")["run"] == "실행"
    with pytest.raises(WorkbenchError, match="lang='en' or lang='ko'"):
        logic.ui_text("fr")


# ---- memory --------------------------------------------------------------------------------------------------

def test_cgroup_v2_limit_and_usage_are_read(tmp_path):
    (tmp_path / "memory.max").write_text("2147483648\n")
    (tmp_path / "memory.current").write_text("536870912\n")
    assert logic.cgroup_memory(tmp_path) == (2147483648, 536870912)
    (tmp_path / "memory.max").write_text("max\n")
    assert logic.cgroup_memory(tmp_path) == (None, 536870912)


def test_cgroup_v1_unlimited_is_no_limit(tmp_path):
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text(str(2 ** 63 - 4096))
    (tmp_path / "memory" / "memory.usage_in_bytes").write_text("1000")
    assert logic.cgroup_memory(tmp_path) == (None, 1000)


def test_budget_is_the_smaller_of_machine_and_cgroup_headroom_plus_what_unloading_frees(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16000000 kB\nMemFree:  1 kB\nMemAvailable:    8000000 kB\n")
    cgroup = tmp_path / "cg"
    cgroup.mkdir()
    assert logic.memory_budget_mb(cgroup_root=cgroup, meminfo=meminfo) == pytest.approx(8000000 * 1024 / 1e6)
    (cgroup / "memory.max").write_text(str(2_000_000_000))  # Binder: 2 GB for everything
    (cgroup / "memory.current").write_text(str(1_400_000_000))
    assert logic.memory_budget_mb(cgroup_root=cgroup, meminfo=meminfo) == pytest.approx(600)
    assert logic.memory_budget_mb(cgroup_root=cgroup, meminfo=meminfo, freed_mb=209) == pytest.approx(809)
    assert logic.memory_budget_mb(cgroup_root=tmp_path / "none", meminfo=tmp_path / "none") is None


def test_a_checkpoint_too_big_is_refused_with_a_smaller_sibling_of_the_same_family(catalog):
    entry = logic.catalog_row("TinyLlama/TinyLlama-1.1B-Chat-v1.0")
    fit = logic.check_fits(entry, 1500, catalog)
    assert not fit.ok
    assert fit.sibling == SMOLLM  # llama, fits in 1.5 GB, available offline; the 360M does not fit
    assert "5.4 GB" in fit.message and "1.5 GB" in fit.message and SMOLLM in fit.message
    assert logic.check_fits(entry, 6000, catalog).ok
    assert logic.check_fits(entry, None, catalog).ok  # budget unknown: do not refuse


def test_refusal_in_korean_and_when_nothing_fits(catalog):
    entry = logic.catalog_row("xlm-roberta-base")
    fit = logic.check_fits(entry, 1000, catalog, "ko")
    assert not fit.ok and "불러오지 않았습니다" in fit.message and fit.sibling is not None
    assert logic.catalog_row(fit.sibling)["memory_mb"] <= 1000
    nothing = logic.check_fits(entry, 50, catalog)
    assert not nothing.ok and nothing.sibling is None and "No smaller checkpoint" in nothing.message


def test_loading_is_refused_before_the_checkpoint_is_looked_for():
    # Offline, looking for TinyLlama would raise CheckpointNotFoundError; the memory check comes first.
    with pytest.raises(WorkbenchError, match="needs about") as caught:
        logic.load_checkpoint("TinyLlama/TinyLlama-1.1B-Chat-v1.0", budget_mb=1000)
    assert caught.value.sibling == SMOLLM
    assert not isinstance(caught.value, wb.CheckpointNotFoundError)


def test_a_hub_id_outside_the_catalog_has_no_estimate_offline_and_says_so(monkeypatch, tmp_path, minilm_dir):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    estimate, note = logic.hub_estimate("someone/unlisted-model")
    assert estimate is None and "not in the catalog" in note and "offline" in note
    assert "오프라인" in logic.hub_estimate("someone/unlisted-model", "ko")[1]
    # the same id, cached (huggingface_hub's cache layout, files linked from the packaged MiniLM), loads with the note
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    repo = tmp_path / "models--someone--my-minilm"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    for file in minilm_dir.iterdir():
        (snapshot / file.name).symlink_to(file)
    app = wb.Workbench("someone/my-minilm", namespace={}, lang="en")
    assert app.last_error is None and app.loaded.name == "someone/my-minilm"
    assert "its memory need was not estimated before loading" in app.status.value


def test_the_hub_metadata_gives_an_estimate_that_can_refuse_before_downloading(catalog):
    from huggingface_hub.hf_api import ModelInfo

    # what the Hub answers for MiniLM with files_metadata=True (trimmed): the safetensors parameter count ...
    answer = {"id": "someone/minilm-copy", "pipeline_tag": "feature-extraction", "config": {"model_type": "bert"},
              "safetensors": {"parameters": {"F32": 22713216}, "total": 22713216},
              "siblings": [{"rfilename": "config.json", "size": 612},
                           {"rfilename": "model.safetensors", "size": 90_868_376},
                           {"rfilename": "onnx/model.onnx", "size": 90_405_214}]}
    row = logic.estimate_from_model_info(ModelInfo(**answer))
    assert row["memory_mb"] == logic.catalog_row(MINILM)["memory_mb"] == 209
    # ... or, without it, the sizes of the weight files a download would fetch (not the ONNX copy)
    answer = {**answer, "safetensors": None}
    assert logic.estimate_from_model_info(ModelInfo(**answer))["memory_mb"] == 209
    fit = logic.check_fits(row, 150, catalog)
    assert not fit.ok and "needs about 209 MB" in fit.message and fit.sibling == "prajjwal1/bert-tiny"
    no_sizes = {**answer, "siblings": [{"rfilename": "model.safetensors"}]}
    assert logic.estimate_from_model_info(ModelInfo(**no_sizes)) is None


# ---- picker --------------------------------------------------------------------------------------------------

def test_catalog_filters(catalog):
    assert set(logic.filter_catalog(catalog, "smollm")["id"]) == {SMOLLM, "HuggingFaceTB/SmolLM2-360M-Instruct"}
    assert set(logic.filter_catalog(catalog, family="gpt_neox")["family"]) == {"gpt_neox"}
    qa = logic.filter_catalog(catalog, task="question-answering")
    assert len(qa) >= 2 and all("question-answering" in t for t in qa["tasks"])
    offline = logic.filter_catalog(catalog, offline_only=True)
    assert set(offline["id"]) >= {MINILM, SMOLLM} and offline["offline"].all()
    assert logic.filter_catalog(catalog, "chat smollm2 360m")["id"].tolist() == ["HuggingFaceTB/SmolLM2-360M-Instruct"]
    assert logic.filter_catalog(catalog, "no such model at all").empty


def test_picker_lists_offline_checkpoints_first_with_size_and_memory(catalog):
    options = logic.picker_options(catalog)
    ids = [value for _, value in options]
    first_download = next(i for i, (label, _) in enumerate(options) if label.startswith("○"))
    assert {MINILM, SMOLLM} <= set(ids[:first_download])
    label = dict((v, l) for l, v in options)[MINILM]
    assert "22.7M" in label and "209 MB" in label


def test_model_card_is_escaped_and_flags_what_does_not_fit():
    row = {"id": "me/<img src=x onerror=alert(1)>", "family": "bert", "tasks": ("fill-mask",),
           "parameters": 1_000_000, "download_mb": 4.0, "memory_mb": 900, "offline": False, "license": "mit",
           "description": "<script>alert(1)</script>"}
    card = logic.describe_entry(row, 500)
    assert "<img" not in card and "<script>" not in card and "&lt;script&gt;" in card
    assert "color:#b91c1c" in card and "download 4 MB" in card
    assert "color:#b91c1c" not in logic.describe_entry(row, 5000)


# ---- tasks on the real MiniLM ----------------------------------------------------------------------------------

def test_loaded_minilm_serves_embedding_tasks(minilm):
    assert minilm.tasks == ["sentence-embedding", "zero-shot-classification", "feature-extraction"]
    assert minilm.entry["id"] == MINILM and not minilm.is_causal


def test_progress_reports_every_step():
    steps = []
    logic.load_checkpoint(MINILM, progress=lambda step, total, what: steps.append((step, total)))
    assert steps == [(0, 4), (1, 4), (2, 4), (3, 4)]


def test_sentence_similarity_table_and_heatmap(minilm):
    text = "A cat sits on the mat.\nA kitten rests on a rug.\n\nStock markets fell sharply today."
    result = logic.run_task(minilm, "sentence-embedding", text)
    table = result.table
    assert table.shape == (3, 3) and list(table.index) == ["A cat sits on the mat.", "A kitten rests on a rug.",
                                                           "Stock markets fell sharply today."]
    assert table.iat[0, 0] == pytest.approx(1.0, abs=1e-3)
    assert table.iat[0, 1] > table.iat[0, 2] + 0.3  # cat ~ kitten, not stocks
    assert result.chart.startswith(b"\x89PNG")


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels, from the PNG's IHDR chunk."""
    assert png.startswith(b"\x89PNG")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_many_sentences_are_all_compared_but_the_chart_shows_the_first_30(minilm):
    lines = [f"Sentence {i} is about topic {i % 5}." for i in range(40)]
    result = logic.run_task(minilm, "sentence-embedding", "\n".join(lines))
    assert result.table.shape == (40, 40) and list(result.table.index) == lines
    width, height = png_size(result.chart)  # 40 labelled rows made a 2,385 x 1,900 pixel picture
    assert width <= 1100 and height <= 1000 and len(result.chart) < 300_000
    small = logic.run_task(minilm, "sentence-embedding", "\n".join(lines[:3]))
    assert png_size(small.chart)[0] < width
    with pytest.raises(WorkbenchError, match="at most 200 lines and this input has 201"):
        logic.run_task(minilm, "sentence-embedding", "\n".join(f"s{i}" for i in range(201)))


@pytest.mark.slow
def test_a_prompt_too_long_is_refused_with_the_same_message_in_both_tabs(smollm):
    prompt = "word " * 600  # 601 tokens (the last space is one)
    with pytest.raises(WorkbenchError) as task_tab:
        logic.run_task(smollm, "text-generation", prompt, max_new_tokens=1)
    with pytest.raises(WorkbenchError) as generation_tab:
        logic.make_view("generation", smollm, prompt)
    assert str(task_tab.value) == str(generation_tab.value)
    assert "The input is 601 tokens long but the app generates from at most 512" in str(task_tab.value)
    with pytest.raises(WorkbenchError, match="512토큰까지만"):
        logic.make_view("generation", smollm, prompt, lang="ko")
    shorter = logic.run_task(smollm, "text-generation", "word " * 400, max_new_tokens=1)
    assert shorter.table["generated_text"].iloc[0].startswith("word word")


def test_zero_shot_picks_the_topic_and_draws_a_bar_chart(minilm):
    result = logic.run_task(minilm, "zero-shot-classification", "The football team won the match in extra time.",
                            "politics, sport, cooking")
    assert result.table["label"].iloc[0] == "sport"
    other = logic.run_task(minilm, "zero-shot-classification", "Parliament voted on the new tax law.",
                           "politics, sport, cooking")
    assert other.table["label"].iloc[0] == "politics"
    assert result.table["score"].sum() == pytest.approx(1.0, abs=1e-4)
    assert result.chart.startswith(b"\x89PNG")


def test_feature_extraction_has_a_row_per_token(minilm):
    result = logic.run_task(minilm, "feature-extraction", "Hello world")
    assert result.table["token"].tolist() == ["[CLS]", "hello", "world", "[SEP]"]
    assert (result.table["norm"] > 0).all()


def test_task_errors_are_one_clear_sentence(minilm):
    with pytest.raises(WorkbenchError, match="input is empty"):
        logic.run_task(minilm, "sentence-embedding", "   ")
    with pytest.raises(WorkbenchError, match="candidate labels"):
        logic.run_task(minilm, "zero-shot-classification", "text", " , ")
    with pytest.raises(UnsupportedModelError, match="does not do text-generation"):
        logic.run_task(minilm, "text-generation", "text")


def test_views_for_the_same_input(minilm):
    tokens = logic.make_view("tokens", minilm, "토큰 🙂 <b>")
    assert "토" in "".join(tokens.to_dataframe()["piece"]) or len(tokens.to_dataframe()) > 3
    attention = logic.make_view("attention", minilm, "a cat sat")
    assert attention.n_heads == 12 and attention.layers == [0, 1, 2, 3, 4, 5]
    with pytest.raises(UnsupportedModelError, match="not a text generator"):
        logic.make_view("generation", minilm, "a cat")
    with pytest.raises(WorkbenchError, match="language-model head"):
        logic.make_view("lens", minilm, "a cat")


@pytest.mark.slow
def test_smollm_tasks_and_generation_view(smollm):
    smol = smollm
    assert smol.tasks == ["text-generation"] and smol.is_causal
    result = logic.run_task(smol, "text-generation", "The capital of France is", max_new_tokens=3)
    assert result.table["generated_text"].iloc[0].startswith("The capital of France is")
    view = logic.make_view("generation", smol, "The capital of France is", max_new_tokens=3).wait(timeout=60)
    assert len(view.to_dataframe()) == 3
    # the Top-k slider limits sampling: top-k 1 at a high temperature picks what greedy picks
    sampled = logic.make_view("generation", smol, "The capital of France is", max_new_tokens=3, temperature=2.0,
                              top_k=1).wait(timeout=60)
    assert [s.token_id for s in sampled.steps] == [s.token_id for s in view.steps]
    lens = logic.make_view("lens", smol, "The capital of France")
    assert "LogitLensView" in repr(lens)


# ---- training data -------------------------------------------------------------------------------------------

def test_csv_upload_is_read_and_checked():
    frame = logic.read_csv_upload("text,label\nI loved it,pos\nAwful,neg\n\"A, b\",pos\n".encode())
    assert frame["label"].tolist() == ["pos", "neg", "pos"] and frame["text"][2] == "A, b"
    latin = logic.read_csv_upload("text,label\ncaf\xe9,x\nth\xe9,y\n".encode("latin-1"))
    assert latin["text"][0] == "café"
    with pytest.raises(WorkbenchError, match="no 'label' column"):
        logic.read_csv_upload(b"text,topic\na,b\n", "mine.csv")
    with pytest.raises(WorkbenchError, match="is empty"):
        logic.read_csv_upload(b"", "mine.csv")


KOREAN_CSV = "text,label\n이 영화 정말 좋아요,긍정\n시간 낭비였어요,부정\n배우들의 연기가 훌륭했다,긍정\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp949", "euc-kr", "utf-16"])
def test_csv_upload_reads_korean_in_the_encodings_spreadsheets_save(encoding):
    frame = logic.read_csv_upload(KOREAN_CSV.encode(encoding), "reviews.csv")  # cp949: Korean Excel's CSV
    assert list(frame.columns) == ["text", "label"]
    assert frame["text"].tolist() == ["이 영화 정말 좋아요", "시간 낭비였어요", "배우들의 연기가 훌륭했다"]
    assert frame["label"].tolist() == ["긍정", "부정", "긍정"]


def test_csv_upload_reads_excel_unicode_text_and_semicolons_and_refuses_what_it_cannot_decode():
    tabs = logic.read_csv_upload(KOREAN_CSV.replace(",", "\t").encode("utf-16"), "unicode.txt")  # Excel's 'Unicode text'
    assert tabs["text"][0] == "이 영화 정말 좋아요" and list(tabs.columns) == ["text", "label"]
    semicolons = logic.read_csv_upload("text;label\nGrüße aus Köln;a\nÀ bientôt;b\n".encode("cp1252"))
    assert semicolons["text"].tolist() == ["Grüße aus Köln", "À bientôt"]  # not CP949 mojibake
    for content in (b"PK\x03\x04\x14\x00\x06\x00 an Excel workbook", b"text,label\n\x81 abc,x\n\x8d,y\n"):
        with pytest.raises(WorkbenchError, match="save the file as UTF-8 CSV") as caught:
            logic.read_csv_upload(content, "data.csv")
        assert "'data.csv'" in str(caught.value)
    with pytest.raises(WorkbenchError, match="UTF-8 CSV로 저장하세요"):
        logic.read_csv_upload(b"PK\x03\x04\x00\x00", "data.csv", lang="ko")


def test_dataframe_variables_and_split():
    frame = pd.DataFrame({"text": [f"t{i}" for i in range(10)], "label": ["a", "b"] * 5})
    namespace = {"news": frame, "_hidden": frame, "other": pd.DataFrame({"x": [1]}), "n": 3,
                 "empty": frame.iloc[:0]}
    assert logic.dataframe_variables(namespace) == ["news"]
    train, evaluation = logic.split_train_eval(frame, 0.2)
    assert len(train) == 8 and len(evaluation) == 2
    assert sorted(train["text"].tolist() + evaluation["text"].tolist()) == sorted(frame["text"])
    with pytest.raises(WorkbenchError, match="too few"):
        logic.split_train_eval(frame.iloc[:2])


def test_training_data_that_cannot_train_is_refused_in_one_sentence():
    texts = ["a", "b", "c", "d"]
    with pytest.raises(WorkbenchError, match=r"only one label \('x'\); a classifier needs at least 2 labels"):
        logic.check_training_frame(pd.DataFrame({"text": texts, "label": ["x"] * 4}))
    with pytest.raises(WorkbenchError, match=r"^Rows 1 and 3 have no 'text'; fill them in"):
        logic.check_training_frame(pd.DataFrame({"text": ["a", None, "c", float("nan")], "label": ["x", "y"] * 2}))
    with pytest.raises(WorkbenchError, match=r"^Row 2 has no 'label'"):
        logic.check_training_frame(pd.DataFrame({"text": texts, "label": ["x", "y", None, "x"]}))
    with pytest.raises(WorkbenchError, match=r"mixes value types \(float, int, str\)"):
        logic.check_training_frame(pd.DataFrame({"text": texts[:3], "label": [1, "a", 2.5]}))
    with pytest.raises(WorkbenchError, match="레이블이 하나"):
        logic.split_train_eval(pd.DataFrame({"text": texts, "label": ["x"] * 4}), lang="ko")
    # a CSV names its spreadsheet rows (the header is row 1) and keeps no row as the text "nan"
    with pytest.raises(WorkbenchError, match=r"^Row 3 has no 'text'"):
        logic.read_csv_upload(b"text,label\ngood,pos\n,neg\nbad,neg\n")


def test_split_is_stratified_so_a_rare_label_is_evaluated_too():
    frame = pd.DataFrame({"text": [f"t{i}" for i in range(44)], "label": ["common"] * 40 + ["rare"] * 4})
    for seed in range(5):
        train, evaluation = logic.split_train_eval(frame, 0.25, seed)
        assert evaluation["label"].value_counts().to_dict() == {"common": 10, "rare": 1}
        assert train["label"].value_counts().to_dict() == {"common": 30, "rare": 3}
        assert sorted(train["text"].tolist() + evaluation["text"].tolist()) == sorted(frame["text"])
    once = frame.assign(label=["common"] * 43 + ["single"])  # one row of a label: train keeps it
    train, evaluation = logic.split_train_eval(once, 0.25)
    assert "single" in set(train["label"]) and "single" not in set(evaluation["label"])


def test_bbc_data_is_balanced_and_split():
    train, evaluation = logic.bbc_data(4, eval_fraction=0.25)
    assert len(train) + len(evaluation) == 20 and len(evaluation) == 5
    assert set(train["label"]) | set(evaluation["label"]) == {"business", "entertainment", "politics", "sports", "tech"}


def test_training_checkpoint_is_the_loaded_encoder_or_minilm(minilm):
    assert logic.training_checkpoint(minilm) == MINILM
    assert logic.training_checkpoint(None) == MINILM


# ---- the widget, without a browser ------------------------------------------------------------------------------

def test_app_wires_picker_task_and_views(minilm):
    app = wb.Workbench(lang="ko", namespace={})
    assert app.tabs.get_title(0) == "작업" and app.load_button.description == "불러오기"
    assert app.models.value == MINILM  # offline and smallest first
    assert app.offline_only.value  # HF_HUB_OFFLINE=1 (as on Binder): the picker shows what can load
    app.search.value = "smollm"
    assert {v for _, v in app.models.options} == {SMOLLM}
    app.offline_only.value = False
    assert {v for _, v in app.models.options} == {SMOLLM, "HuggingFaceTB/SmolLM2-360M-Instruct"}
    app.search.value = ""

    app.run_button.click()  # no model yet: the message is in the app, not lost in the callback
    assert isinstance(app.last_error, WorkbenchError)
    assert "먼저 모델을 불러오세요" in app.errors.outputs[0]["text"]

    app.models.value = MINILM
    app.load_button.click()
    assert app.loaded is not None and app.last_error is None and app.errors.outputs == ()
    assert app.progress.bar_style == "success" and "22.7M" in app.status.value
    assert [v for _, v in app.task.options] == minilm.tasks

    app.task.value = "zero-shot-classification"
    assert app.extra.layout.display == "" and app.extra.value  # labels box shown with an example
    app.text.value = "The football team won the match in extra time."
    app.extra.value = "politics, sport, cooking"
    app.run_button.click()
    assert app.last_error is None and "sport" in app.results.value and bytes(app.chart.value).startswith(b"\x89PNG")

    app.text.value = "attention <img src=x onerror=alert(1)>"
    app.tabs.selected_index = 2  # attention: computed when the tab opens
    assert type(app.view_boxes["attention"].children[0]).__name__ == "AttentionWidget"
    assert app.views["attention"].n_heads == 12
    app.tabs.selected_index = 4  # logit lens: MiniLM has no LM head, the tab says so
    assert "language-model head" in app.view_boxes["lens"].children[0].value
    assert "language-model head" in app.errors.outputs[0]["text"]


def test_examples_are_in_a_language_the_model_knows_and_the_card_says_which():
    assert logic.examples_language("ko", logic.catalog_row(MINILM)) == "en"  # MiniLM knows only English
    assert logic.examples_language("ko", logic.catalog_row("xlm-roberta-base")) == "ko"
    assert logic.examples_language("ko", None) == "ko"  # outside the catalog: the app's language
    assert logic.examples_language("en", logic.catalog_row("camembert-base")) == "en"
    assert "영어 전용" in logic.describe_entry(logic.catalog_row(MINILM), None, "ko")
    assert "Multilingual" in logic.describe_entry(logic.catalog_row("Qwen/Qwen2.5-0.5B-Instruct"), None, "en")

    app = wb.Workbench(MINILM, lang="ko", namespace={})
    assert "영어 전용" in app.card.value
    assert app.text.value == logic.example_for("sentence-embedding", "en")[0]
    app.task.value = "zero-shot-classification"
    assert (app.text.value, app.extra.value) == logic.example_for("zero-shot-classification", "en")
    result = app.run()  # the first demo of a Korean class gives the right answer
    assert app.last_error is None and result.table["label"].iloc[0] == "sport"


def test_app_refuses_a_model_that_does_not_fit_and_keeps_the_loaded_one():
    app = wb.Workbench(MINILM, memory_limit_mb=600, namespace={})
    assert app.loaded.name == MINILM
    assert "color:#b91c1c" in logic.describe_entry(logic.catalog_row(SMOLLM), app.budget_mb())
    app.load(SMOLLM)  # ~746 MB estimated > 600 MB
    assert app.loaded.name == MINILM and app.progress.bar_style == "danger"
    message = app.errors.outputs[0]["text"]
    assert "needs about 746 MB" in message and "600 MB" in message
    assert "Try distilgpt2" in message  # the biggest text generator that fits (no llama does)
    assert app.models.value == "distilgpt2"  # selected in the picker, ready to Load (offline only was unticked)
    assert not app.offline_only.value and "distilgpt2" in app.card.value


def test_show_from_code_computes_the_view_once(minilm, monkeypatch):
    made = []
    real_make_view = logic.make_view

    def counting_make_view(kind, *args, **kwargs):
        made.append(kind)
        return real_make_view(kind, *args, **kwargs)

    monkeypatch.setattr(logic, "make_view", counting_make_view)  # counts; the real views are still made
    app = wb.Workbench(MINILM, namespace={}, lang="en")
    app.text.value = "a cat sat"
    app.show("attention")  # opens the attention tab, whose observer must not compute it a second time
    assert made == ["attention"]
    app.tabs.selected_index = 1  # the user opens the tokens tab: computed once there
    assert made == ["attention", "tokens"]
    app.tabs.selected_index = 2  # back to attention, same input: nothing to compute
    assert made == ["attention", "tokens"]


@pytest.mark.slow
def test_loading_another_model_lets_the_old_one_go_before_the_new_weights_are_read():
    app = wb.Workbench(SMOLLM, namespace={}, lang="en")
    app.max_new_tokens.value = 2
    app.run("Once upon a time")  # a task result and its cached pipeline
    app.show("tokens")
    app.max_new_tokens.value = 100
    app.show("generation")  # still streaming when the next model loads
    old_model = weakref.ref(app.loaded.model)
    old_alive_at_step = {}
    app.progress.observe(lambda change: old_alive_at_step.setdefault(change["new"], old_model() is not None),
                         names="value")
    app.load(MINILM)
    assert app.last_error is None and app.loaded.name == MINILM
    assert old_alive_at_step[0] is True  # still there while the new checkpoint is checked and found ...
    assert old_alive_at_step[1] is False  # ... and gone before its weights are read
    assert old_model() is None
    assert app.views == {} and app.results.value == "" and app.result is None


def test_a_checkpoint_refused_before_reading_keeps_the_loaded_model(tmp_path):
    app = wb.Workbench(MINILM, namespace={}, lang="en")
    model = app.loaded.model
    unknown = tmp_path / "unknown-family"
    unknown.mkdir()
    (unknown / "config.json").write_text('{"model_type": "no-such-family", "architectures": ["NoSuchModel"]}')
    app.load(str(unknown))  # an unsupported family is found on the config alone, before the old model goes
    assert app.last_error is not None and app.loaded is not None and app.loaded.model is model
    assert "22.7M" in app.status.value


def test_a_load_that_fails_while_reading_the_weights_says_the_old_model_is_gone(tmp_path, minilm_dir):
    app = wb.Workbench(MINILM, namespace={}, lang="en")
    broken = tmp_path / "broken"
    shutil.copytree(minilm_dir, broken)
    for weights in broken.glob("*.safetensors"):
        weights.write_bytes(b"not a safetensors file")
    app.load(str(broken))
    assert app.last_error is not None and app.loaded is None and app.progress.bar_style == "danger"
    assert "was already unloaded" in app.status.value and MINILM in app.status.value
    assert app.task.options == ()


def test_app_mistakes_from_code_are_one_sentence_in_the_apps_language(minilm):
    app = wb.Workbench(MINILM, namespace={}, lang="ko")
    app.run("Paris is the [MASK] of France.", task="fill-mask")  # MiniLM has no masked-LM head
    assert isinstance(app.last_error, UnsupportedModelError)
    assert app.errors.outputs[0]["text"].strip() == (f"오류: {MINILM} 모델은 fill-mask 작업을 하지 않습니다. 다음 중에서 "
                                                     f"고르세요: {', '.join(minilm.tasks)}.")
    assert app.task.value == "sentence-embedding"
    app.show("foo")
    assert app.errors.outputs[0]["text"].strip() == ("오류: 'foo'라는 화면은 없습니다. 다음 중 하나를 쓰세요: tokens, "
                                                     "attention, generation, lens.")
    app.run("   ")
    assert "입력이 비어 있습니다" in app.errors.outputs[0]["text"]
    app.task.value = "zero-shot-classification"
    app.extra.value = " , "
    app.run("축구 경기")
    assert "후보 레이블이 필요합니다" in app.errors.outputs[0]["text"]
    app.data_source.value = "csv"
    app.train()
    assert "올린 CSV 파일이 없습니다" in app.errors.outputs[0]["text"]


def test_app_dataframe_variables_refresh_and_a_deleted_one(minilm):
    namespace = {}
    app = wb.Workbench(namespace=namespace, lang="en")
    app.data_source.value = "frame"  # nothing yet: said in the app
    assert "No DataFrame with 'text' and 'label'" in app.errors.outputs[0]["text"]
    namespace["news"] = logic.bbc_data(4)[0]
    app.refresh_button.click()
    assert app.variable.value == "news" and app.errors.outputs == () and app.last_error is None
    del namespace["news"]
    app.train()
    assert app.errors.outputs[0]["text"].strip() == ("Error: The variable news is no longer in the notebook; press "
                                                     "Refresh and choose another.")
    assert app.run_ is None


def test_top_k_is_disabled_while_generation_is_greedy():
    app = wb.Workbench(namespace={}, lang="en")
    assert app.temperature.value == 0 and app.top_k.disabled
    app.temperature.value = 0.7
    assert not app.top_k.disabled
    app.temperature.value = 0.0
    assert app.top_k.disabled


def test_typing_in_the_tokens_tab_is_the_apps_input_and_keeps_the_tabs_linked(minilm):
    app = wb.Workbench(MINILM, namespace={}, lang="en")
    app.text.value = "The cat sat."
    tokens = app.show("tokens").widget()
    tokens.set_state({"text": "A dog ran home."})  # as the tab's own text box sends it
    assert app.text.value == "A dog ran home." and app.last_error is None
    attention = app.show("attention").widget()  # made for what was typed
    dog = next(i for i, p in enumerate(tokens.view.tokenizations[0].pieces) if p.covers == "dog")
    tokens.selected = dog
    assert attention.selected == dog and attention.view.pieces[dog].covers == "dog"
    assert app.views["tokens"].widget() is tokens  # the retokenized view keeps the linked widget
    app.views["tokens"].widget().selected = -1
    assert attention.selected == -1


def test_app_trains_from_a_dataframe_variable_and_compares_before_after(minilm):
    rows = logic.bbc_data(4)[0]
    app = wb.Workbench(namespace={"my_news": rows}, lang="ko")
    app.data_source.value = "frame"
    assert app.variable.options == ("my_news",)
    app.max_length.value = 32
    app.batch_size.value = 8
    run = app.train(max_steps=2)
    assert app.last_error is None and run is app.run_
    assert type(app.panel_box.children[0]).__name__ == "VBox"  # the live panel
    run.wait()
    deadline = time.monotonic() + 60
    while app.comparison is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert run.status == "finished" and run.state.step == 2
    assert list(app.comparison.columns) == ["text", "before", "before_score", "after", "after_score"]
    assert "<table" in app.compare_html.value and bytes(app.compare_chart.value).startswith(b"\x89PNG")
    assert app.run_.panel.lang == "ko"  # the live panel speaks the app's language


def test_app_csv_upload_errors_are_shown(minilm):
    app = wb.Workbench(namespace={}, lang="en")
    app.data_source.value = "csv"
    app.train_button.click()
    assert "No CSV file was uploaded" in app.errors.outputs[0]["text"]
    app.upload.value = ({"name": "bad.csv", "type": "text/csv", "size": 9, "last_modified": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
                         "content": memoryview(b"a,b\n1,2\n")},)
    app.train_button.click()
    assert "no 'text' and no 'label' column" in app.errors.outputs[0]["text"]
    assert app.run_ is None


# ---- linked view tabs: a token selected in one tab is selected in the others ------------------------------------

def test_link_position_between_views_of_the_same_input(minilm):
    text = "Tokens of 토큰 and 🙂. " + "More words to go past the attention's length. " * 12  # > 128 tokens
    tokens = logic.make_view("tokens", minilm, text)  # the whole text, with [CLS] ... [SEP]
    attention = logic.make_view("attention", minilm, text)  # cut to 128 tokens, [SEP] moved to 127
    full, cut = tokens.tokenizations[0].pieces, attention.pieces
    assert len(cut) == 128 < len(full)
    assert [logic.link_position(tokens, i, attention, text) for i in range(127)] == list(range(127))
    assert logic.link_position(tokens, len(full) - 1, attention, text) == 127  # [SEP]
    assert logic.link_position(attention, 127, tokens, text) == len(full) - 1
    assert logic.link_position(tokens, 127, attention, text) == -1  # cut off by truncation
    unknown = next(i for i, p in enumerate(full) if p.covers == "🙂")
    assert full[unknown].piece == "[UNK]" and logic.link_position(tokens, unknown, attention, text) == unknown
    assert logic.link_position(tokens, 3, attention, "another input") == -1


def test_app_links_the_selected_token_across_tabs(minilm):
    app = wb.Workbench(MINILM, namespace={}, lang="en")
    app.text.value = "The cat 고양이 sat on 🙂 mat."
    tokens = app.show("tokens").widget()
    attention = app.show("attention").widget()
    assert tokens.selected == attention.selected == -1
    cat = next(i for i, p in enumerate(tokens.view.tokenizations[0].pieces) if p.covers == "cat")
    tokens.selected = cat  # as a click on the piece "cat" does
    assert attention.selected == cat and attention.view.pieces[cat].covers == "cat"
    attention.set_state({"selected": 0})  # a click on [CLS] in the head view, from the front end
    assert tokens.selected == 0
    attention.selected = -1  # a second click clears it everywhere
    assert tokens.selected == -1 and app.last_error is None

    tokens.selected = cat
    fresh = app.show("attention").widget()  # a view made after the selection picks it up
    assert fresh is not attention and fresh.selected == cat
    attention.selected = 2  # the replaced widget no longer steers the tabs
    assert tokens.selected == cat
    app.run("A different input.", task="feature-extraction")  # the view is remade for the new input
    assert app.views["attention"].widget().selected == -1
    assert app.views["attention"].widget() is not fresh


@pytest.mark.slow
def test_app_links_logit_lens_generation_and_tokens_of_a_decoder():
    app = wb.Workbench(SMOLLM, namespace={}, lang="en")
    app.max_new_tokens.value = 3
    app.text.value = "토큰 🙂 is"
    lens = app.show("lens").widget()
    tokens = app.show("tokens").widget()
    generation = app.show("generation")
    generation.wait(timeout=60)
    generation = generation.widget()
    prompt = generation.state["prompt"]
    assert "".join(piece["label"] for piece in prompt) == "토큰 🙂 is"  # each character shown once
    emoji = next(i for i, p in enumerate(lens.view.pieces) if "🙂" in p.covers)
    lens.set_state({"selected": emoji})  # a click on the column of 🙂
    assert tokens.selected == emoji and generation.selected == emoji
    tokens.selected = 1  # the second byte of 토: SmolLM2 gives the syllable three tokens
    assert lens.selected == 1 and generation.selected == 1
    generation.selected = len(prompt) + 1  # a generated token: no other view has it
    assert tokens.selected == -1 and lens.selected == -1 and app.last_error is None


@pytest.mark.slow
def test_app_stops_a_streaming_generation_it_replaces():
    app = wb.Workbench(SMOLLM, namespace={}, lang="en")
    app.max_new_tokens.value = 100
    app.text.value = "Once upon a time"
    first = app.show("generation")
    while len(first.steps) < 2:
        pass
    second = app.show("generation")  # Run again: the first generation must not go on in the background
    first.wait(timeout=60)
    assert first.done and len(first.steps) < 100
    second.stop()
    second.wait(timeout=60)
    assert second.done and app.last_error is None
