"""View widgets without a browser: instantiate, change traits from Python and 'from the front end', check the
state the comm would sync (binary buffers for attention), and that widget code stays wiring."""
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import traitlets
from ipywidgets.widgets.widget import _remove_buffers

import workbench as wb
from workbench.generation import GenerationStep
from workbench.views.attention import AttentionView, expand_attention, show_attention
from workbench.views.generation import GenerationView, Step
from workbench.views.linking import Anchor, map_position, map_positions, piece_anchors, view_anchors
from workbench.views.text import LANGUAGES, VIEW_TEXT
from workbench.views.tokens import Piece, TokensView, backend_of, describe_pieces, scheme_of, tokenize_for_view
from workbench.widgets.attention import AttentionWidget
from workbench.widgets.tokens import TokensWidget

WIDGETS = Path(wb.__file__).parent / "widgets"


def recorded(widget) -> list:
    """Replace the (dummy) comm's send with a recorder of the messages the front end would get."""
    messages = []
    widget.comm.send = lambda data=None, buffers=None, **_: messages.append((data, buffers))
    return messages


def pieces(n: int) -> list[Piece]:
    return [Piece(index=i, id=100 + i, piece=f"p{i}", label=f"p{i}", start=i, end=i + 1, sequence=0, word=i)
            for i in range(n)]


def test_tokens_widget_retokenizes_when_the_text_changes(minilm_dir):
    view = wb.show_tokens("hello", tokenizer=minilm_dir)
    widget = view.widget()
    assert isinstance(widget, TokensWidget) and widget is view.widget()
    assert [p["piece"] for p in widget.state["tokenizations"][0]["pieces"]] == ["[CLS]", "hello", "[SEP]"]
    messages = recorded(widget)
    widget.set_state({"text": "unaffable <img src=x onerror=alert(1)>"})  # as the JS text box does
    pieces_now = [p["piece"] for p in widget.state["tokenizations"][0]["pieces"]]
    assert pieces_now[:4] == ["[CLS]", "una", "##ffa", "##ble"] and "<" in pieces_now
    synced = [data["state"] for data, _ in messages if "state" in data["state"]]
    assert synced and synced[-1]["state"]["text"] == "unaffable <img src=x onerror=alert(1)>"
    bundle = view._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.model_id
    assert data["text/plain"].startswith("<TokensView")


def test_attention_widget_sends_weights_as_a_binary_buffer():
    weights = np.random.default_rng(0).dirichlet(np.ones(5), size=(2, 3, 5)).astype(np.float32)
    view = AttentionView(pieces(5), weights, [1, 4], floor=0.0)
    widget = view.widget()
    assert isinstance(widget, AttentionWidget)
    state, paths, buffers = _remove_buffers(widget.get_state())
    assert paths == [["weights"]] and "weights" not in state
    np.testing.assert_allclose(expand_attention(bytes(buffers[0]), weights.shape), weights, atol=0.5 / 255 + 1e-7)
    assert state["state"]["layers"] == [1, 4] and state["state"]["n_heads"] == 3 and state["heads"] == [0, 1, 2]

    messages = recorded(widget)
    widget.layer = 4
    widget.heads = [2]
    assert [data["state"] for data, _ in messages] == [{"layer": 4}, {"heads": [2]}]
    assert view.layer == 4 and view.heads == [2]  # so save("x.png") draws what the widget shows
    widget.set_state({"mode": "model", "threshold": 0.2})  # a click in the model view / the slider
    assert view.mode == "model" and view.threshold == 0.2
    with pytest.raises(traitlets.TraitError, match="not computed"):
        widget.layer = 2
    with pytest.raises(traitlets.TraitError):
        widget.mode = "sideways"


def test_attention_widget_on_minilm_pairs(minilm_dir):
    view = show_attention("The cat sat.", model=minilm_dir, text_pair="It purred.", layers=[0, 5])
    widget = view.widget()
    assert widget.state["pair"] is True and widget.layer == 0
    assert [t["sequence"] for t in widget.state["tokens"]].count(1) == 4
    widget.direction = "AB"
    assert widget.get_state()["direction"] == "AB"


def test_generation_widget_follows_the_stream():
    label = {1: "Hello", 2: "␣world", 3: "!"}.get
    view = GenerationView(pieces(2), label, name="tiny")
    widget = view.widget()
    messages = recorded(widget)
    steps = [Step(1, "Hello", math.log(0.5), [(1, math.log(0.5)), (3, math.log(0.2))]),
             GenerationStep(index=1, token_id=2, token="Ġworld", text=" world", logprob=math.log(0.25), top_ids=[2],
                            top_probs=[0.25])]
    view.consume(iter(steps), background=True).wait(10)
    assert view.done and view.text == "Hello world"
    assert [s["prob"] for s in widget.state["steps"]] == [0.5, 0.25]
    assert widget.state["steps"][0]["alternatives"] == [["Hello", 0.5, True], ["!", 0.2, False]]
    assert len(messages) >= 3  # one update per step and one at the end


def test_generation_errors_show_in_the_view():
    def broken():
        yield Step(1, "a", 0.0)
        raise RuntimeError("out of memory")

    view = GenerationView([], str).consume(broken(), background=True).wait(10)
    assert view.done and view.error == "RuntimeError: out of memory" and view.traits()["state"]["error"]


def test_widget_files_hold_wiring_only():
    for path in WIDGETS.glob("*.py"):
        source = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+(torch|numpy)\b", source, re.M), path.name
    for path in WIDGETS.glob("*.js"):
        source = path.read_text()
        assert "innerHTML" not in source and "insertAdjacentHTML" not in source and "eval(" not in source, path.name
        assert not re.search(r"https?://|import\s*\(|^import ", source, re.M), path.name


# ---- the selected token: linking views by the characters of the input -------------------------------------------

LINK_TEXTS = ["Tokenizers split 토큰 and 🙂 too.", "[SEP] <|im_start|> user 한국어 🙂🙂 <b>", "a  b\tc\n\nd"]


@pytest.fixture(scope="module")
def minilm_tokenizer(minilm_dir):
    return wb.load_tokenizer(minilm_dir)


@pytest.fixture(scope="module")
def smollm_tokenizer(smollm_gguf):
    return wb.load_tokenizer(smollm_gguf)


@pytest.mark.parametrize("which", ["minilm", "smollm"])
@pytest.mark.parametrize("text", LINK_TEXTS)
def test_the_same_encoding_maps_every_position_to_itself(which, text, request):
    tokenizer = request.getfixturevalue(f"{which}_tokenizer")
    anchors = piece_anchors(tokenize_for_view(tokenizer, text).pieces, [text])
    assert None not in anchors
    # the bytes of one character share a span: their rank keeps them apart (else all would map to the first)
    assert map_positions(anchors, anchors) == list(range(len(anchors)))


def test_truncation_keeps_positions_and_finds_the_moved_sep(minilm_tokenizer):
    text = LINK_TEXTS[0]
    full = piece_anchors(tokenize_for_view(minilm_tokenizer, text).pieces, [text])  # as the Tokens view
    batch = minilm_tokenizer(text, truncation=True, max_length=6)  # as Attention / Logit lens, cut short
    cut = piece_anchors(describe_pieces(batch.encodings[0], [text], scheme_of(backend_of(minilm_tokenizer))), [text])
    assert len(cut) == 6 < len(full)
    assert [map_position(i, full, cut) for i in range(5)] == [0, 1, 2, 3, 4]
    assert map_position(len(full) - 1, full, cut) == 5  # [SEP]: last in both, at another position
    assert map_position(5, cut, full) == len(full) - 1
    assert map_position(6, full, cut) == -1  # cut off: no counterpart
    assert map_position(-1, full, cut) == -1 and map_position(len(full), full, cut) == -1


def test_two_tokenizers_link_by_characters(minilm_tokenizer, smollm_tokenizer):
    text = "Hi 토큰 🙂 <|im_start|> [SEP] x"
    bert = tokenize_for_view(minilm_tokenizer, text).pieces
    smol = tokenize_for_view(smollm_tokenizer, text).pieces
    to_smol = map_positions(piece_anchors(bert, [text]), piece_anchors(smol, [text]))
    to_bert = map_positions(piece_anchors(smol, [text]), piece_anchors(bert, [text]))
    for source, targets, mapped in ((bert, smol, to_smol), (smol, bert, to_bert)):
        for piece, position in zip(source, mapped):
            if piece.special:  # [CLS] / [SEP] added by BERT: SmolLM2 adds none
                assert position == -1
            elif position >= 0:  # the counterpart covers some of the same characters
                other = targets[position]
                assert max(piece.start, other.start) < min(piece.end, other.end), (piece.piece, other.piece)
    bert_at = {p.covers: i for i, p in enumerate(bert) if not p.special}
    smol_at = {p.covers: i for i, p in enumerate(smol)}
    assert to_bert[smol_at[" 🙂"]] == bert_at["🙂"]  # SmolLM2's emoji token -> BERT's [UNK] for it
    assert bert[bert_at["🙂"]].piece == "[UNK]" and to_smol[bert_at["🙂"]] == smol_at[" 🙂"]
    lone_space = [i for i, p in enumerate(smol) if p.covers == " " and p.start == text.index("🙂") + 1]
    assert lone_space and to_bert[lone_space[0]] == -1  # BERT has no token for that space
    typed = [i for i, p in enumerate(bert) if p.covers == "[SEP]"]  # typed in the text: a text token, not the added one
    # ... maps to the SmolLM2 piece sharing most characters with it: " [" shares 1, "SE" 2, "P" 1
    assert len(typed) == 1 and smol[to_smol[typed[0]]].covers == "SE"
    # BERT's two jamo of 토 -> SmolLM2's pieces that hold the bytes of 토 (rank by rank where the spans are equal)
    jamo = [i for i, p in enumerate(bert) if p.covers == "토"]
    assert len(jamo) == 2 and [smol[to_smol[i]].covers for i in jamo] == ["토", "토"]
    assert to_smol[jamo[0]] != to_smol[jamo[1]]


def test_a_token_of_another_text_or_a_generated_one_has_no_anchor(minilm_tokenizer):
    pieces_of = tokenize_for_view(minilm_tokenizer, "a cat sat").pieces
    assert piece_anchors(pieces_of, ["a dog sat"])[2] is None  # "cat" is not at 2..5 of the other text
    assert piece_anchors(pieces_of, ["a dog sat"])[1] == Anchor(0, 0, 1, None, 0)
    view = GenerationView(pieces_of, str, steps=[Step(5, "!", 0.0)])
    anchors = view_anchors(view, ["a cat sat"])
    assert len(anchors) == len(pieces_of) + 1 and anchors[-1] is None
    assert map_position(len(pieces_of), anchors, anchors) == -1


def test_every_view_widget_has_a_checked_selected_trait(minilm_dir):
    view = wb.show_tokens("a cat sat", tokenizer=minilm_dir)  # [CLS] a cat sat [SEP]
    widget = view.widget()
    assert widget.selected == -1 and widget.get_state()["selected"] == -1
    messages = recorded(widget)
    widget.selected = 2
    assert [data["state"] for data, _ in messages] == [{"selected": 2}]  # synced to the front end
    widget.set_state({"selected": 4})  # a click in the front end
    assert widget.selected == 4
    with pytest.raises(traitlets.TraitError, match="use -1 \\(none\\) or a position from 0 to 4"):
        widget.selected = 5
    widget.set_state({"text": "a dog"})  # new text: the old position means nothing there
    assert widget.selected == -1
    generation = GenerationView(pieces(2), str).widget()
    with pytest.raises(traitlets.TraitError):
        generation.selected = 2
    generation.view.steps.append(Step(1, "x", 0.0))  # a generated token is a position too
    generation.selected = 2
    attention = AttentionView(pieces(3), np.full((1, 1, 3, 3), 1 / 3, dtype=np.float32), [0]).widget()
    attention.selected = 1
    assert attention.get_state()["selected"] == 1


def test_tokens_of_a_second_tokenizer_point_at_the_first_row(minilm_tokenizer, smollm_tokenizer):
    text = "Hi 토큰 🙂"
    view = TokensView(text, [minilm_tokenizer, smollm_tokenizer], ["MiniLM", "SmolLM2"])
    state = view.traits()["state"]
    assert "first_row" not in state["tokenizations"][0]
    first_row = state["tokenizations"][1]["first_row"]
    bert, smol = view.tokenizations[0].pieces, view.tokenizations[1].pieces
    assert len(first_row) == len(smol)
    for piece, position in zip(smol, first_row):
        assert position == -1 or set(piece.covers.strip()) & set(bert[position].covers)
    emoji = next(i for i, p in enumerate(smol) if "🙂" in p.covers)
    assert bert[first_row[emoji]].piece == "[UNK]"


# ---- the views' language: one table per language on each side, a synced `lang`, the app's language ---------------

HANGUL = re.compile("[\uac00-\ud7a3]")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
VIEW_SCRIPTS = [WIDGETS / f"{kind}.js" for kind in ("tokens", "attention", "generation", "logit_lens")]
VIEWS_PYTHON = [path for path in (WIDGETS.parent / "views").glob("*.py") if path.name != "text.py"]


def js_text_table() -> dict[str, dict[str, str]]:
    """The `TEXT` table of common.js, which is written as JSON so that this test can read it."""
    source = (WIDGETS / "common.js").read_text(encoding="utf-8")
    match = re.search(r"^const TEXT = (\{.*?^\});$", source, re.S | re.M)
    assert match, "common.js has no `const TEXT = {...};` table"
    return json.loads(match.group(1))


@pytest.mark.parametrize("side", ["js", "python"])
def test_every_view_text_is_in_both_languages_with_the_same_placeholders(side):
    table = js_text_table() if side == "js" else VIEW_TEXT
    assert set(table) == set(LANGUAGES) == {"en", "ko"}
    assert set(table["en"]) == set(table["ko"]) and len(table["en"]) > 20
    for key, english in table["en"].items():
        korean = table["ko"][key]
        assert set(PLACEHOLDER.findall(english)) == set(PLACEHOLDER.findall(korean)), key
        assert HANGUL.search(korean) and not HANGUL.search(english), key
    if side == "js":  # every key a renderer names is in the table, and every key of the table is used
        named = set(re.findall(r'"((?:tokens|attention|generation|lens)\.[a-z_]+)"',
                               "".join(path.read_text(encoding="utf-8") for path in VIEW_SCRIPTS)))
    else:
        source = "".join(path.read_text(encoding="utf-8") for path in VIEWS_PYTHON)
        called = set(re.findall(r'say\(\s*[\w.]+,\s*"(\w+)"', source))
        assert called <= set(table["en"]), called - set(table["en"])
        named = set(re.findall(r'"(\w+)"', source)) & set(table["en"])
    assert named == set(table["en"]), set(table["en"]) ^ named


def test_renderers_take_their_words_from_the_table():
    """No English phrase left in a renderer outside the table: a literal with two words in a row is a list of
    class names (wb-...) or a comment."""
    for path in VIEW_SCRIPTS:
        code = "\n".join(line.split(" // ")[0] for line in path.read_text(encoding="utf-8").splitlines()
                         if not line.lstrip().startswith("//"))
        for literal in re.findall(r'"([^"\n]*)"|`([^`\n]*)`', code):
            text = re.sub(r"\$\{[^}]*\}", " ", "".join(literal))
            assert text.startswith("wb-") or not re.search(r"\b[A-Za-z]{2,} +[A-Za-z]{2,}\b", text), (path.name, text)


def test_a_view_widget_speaks_its_views_language_and_follows_a_change(minilm_dir):
    view = wb.show_tokens("토큰 test", tokenizer=minilm_dir, lang="ko")
    widget = view.widget()
    assert view.lang == widget.lang == "ko" and widget.get_state()["lang"] == "ko"
    assert HANGUL.search(widget.state["tokenizations"][0]["note"]) and view.title.startswith("토큰: ")
    messages = recorded(widget)
    widget.set_state({"lang": "en"})  # as a change from the front end (or `widget.lang = "en"` in Python)
    assert view.lang == "en" and view.title.startswith("Tokens: ")
    assert widget.state["tokenizations"][0]["note"] == ("WordPiece: a piece written '##piece' continues the word "
                                                         "before it; it is shown joined to it, without the marker.")
    assert any("state" in data["state"] for data, _ in messages)  # the English note went to the front end
    with pytest.raises(traitlets.TraitError):
        widget.lang = "fr"
    assert view.with_text("다른 문장").lang == "en"  # the text box keeps the language


def test_the_korean_app_makes_korean_views_and_says_their_errors_in_korean():
    app = wb.Workbench("sentence-transformers/all-MiniLM-L6-v2", lang="ko", namespace={})
    app.text.value = "고양이가 앉았다 <b>"
    tokens = app.show("tokens")
    assert tokens.lang == "ko" and app.view_boxes["tokens"].children[0].lang == "ko"
    assert HANGUL.search(tokens.traits()["state"]["tokenizations"][0]["note"])
    attention = app.show("attention")
    assert attention.lang == "ko" and app.view_boxes["attention"].children[0].get_state()["lang"] == "ko"
    for kind, words in (("generation", "디코더"), ("lens", "언어 모델 헤드")):  # MiniLM neither generates nor has an LM head
        assert app.show(kind) is None and words in app.view_boxes[kind].children[0].value
    english = wb.Workbench("sentence-transformers/all-MiniLM-L6-v2", lang="en", namespace={})
    assert english.show("tokens").lang == "en"


# ---- the live fine-tuning panel in English and Korean ---------------------------------------------------------------

@pytest.fixture(scope="module")
def stopped_run(minilm_dir):
    """A real fine-tuning run (a 1-layer BERT with MiniLM's vocabulary, 32 toy rows, 8 steps), stopped after step 3."""
    import random
    import threading

    import pandas as pd

    rng = random.Random(0)
    rows = pd.DataFrame([{"text": " ".join(rng.choices(["good", "bad", "film", "the"], k=5)), "label": label}
                         for label in ["pos", "neg"] * 16])
    config = dict(model_type="bert", vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                  intermediate_size=64, max_position_embeddings=32, id2label={0: "neg", 1: "pos"})
    holder, ready = {}, threading.Event()

    def stop_after_step_3(record):
        ready.wait(10)
        if record["step"] == 3:
            holder["run"].stop()

    run = wb.fine_tune(wb.from_config(config, "text-classification", seed=0), rows, rows[:8],
                       tokenizer=wb.load_tokenizer(minilm_dir), epochs=2, batch_size=8, max_length=16, eval_every=3,
                       live=False, wait=False, on_step=stop_after_step_3)
    holder["run"] = run
    ready.set()
    run.wait()
    assert run.status == "stopped" and run.state.step == 3 and run.checkpoint is not None
    return run


def panel_words(panel) -> dict[str, str]:
    return {"stop": panel.stop_button.description, "resume": panel.resume_button.description,
            "stop_tooltip": panel.stop_button.tooltip, "resume_tooltip": panel.resume_button.tooltip,
            "progress": panel.progress_text.value, "metrics": panel.metrics.value, "message": panel.message.value}


def test_training_panel_in_english_is_unchanged(stopped_run):
    from workbench.widgets.training import TrainingPanel

    panel = TrainingPanel(stopped_run, lang="en")
    assert panel.progress_text.value == "starting ..."
    panel.refresh(picture=False)
    words = panel_words(panel)
    assert (words["stop"], words["resume"]) == ("Stop", "Resume")
    assert words["stop_tooltip"] == "Stop after the current step and save a checkpoint"
    assert words["resume_tooltip"] == "Go on from where the run stopped"
    assert re.fullmatch(r"step 3/8 · epoch 0\.75/2 · \d+:\d\d elapsed · ~\d+:\d\d left · stopped", words["progress"])
    assert "<b>loss</b>" in words["metrics"] and "<b>eval_accuracy</b>" in words["metrics"]
    assert words["message"] == (f"Stopped; checkpoint saved in <code>{stopped_run.checkpoint}</code>. "
                                "Resume goes on from here.")
    panel.close()


def test_training_panel_in_korean(stopped_run, monkeypatch):
    from workbench.widgets.training import TrainingPanel

    panel = TrainingPanel(stopped_run, lang="ko")
    assert panel.progress_text.value == "시작하는 중 ..."
    panel.refresh(picture=False)
    words = panel_words(panel)
    assert (words["stop"], words["resume"]) == ("중지", "이어서 학습")
    assert re.fullmatch(r"스텝 3/8 · 에포크 0\.75/2 · \d+:\d\d 경과 · 약 \d+:\d\d 남음 · 중지됨", words["progress"])
    assert "<b>손실</b>" in words["metrics"] and "<b>검증 정확도</b>" in words["metrics"]
    assert words["message"].startswith(f"중지했습니다. 체크포인트는 <code>{stopped_run.checkpoint}</code>에 저장")
    for name, text in words.items():  # no English word left (the checkpoint path and the HTML aside)
        text = re.sub(r"<code>.*?</code>|<[^>]+>|\bF1\b", "", text)
        assert HANGUL.search(text) and not re.search(r"[A-Za-z]{2,}", text), (name, text)
    panel.close()
    monkeypatch.setenv("LANGUAGE", "ko_KR")  # no lang: the locale decides, as for the views
    assert TrainingPanel(stopped_run).stop_button.description == "중지"
    with pytest.raises(wb.WorkbenchError, match="lang='en' or lang='ko'"):
        TrainingPanel(stopped_run, lang="de")


def test_training_panel_texts_are_in_both_languages_and_all_used():
    from workbench.views.text import PANEL_TEXT
    from workbench.widgets.training import METRICS_SHOWN

    assert set(PANEL_TEXT) == set(LANGUAGES) and set(PANEL_TEXT["en"]) == set(PANEL_TEXT["ko"])
    for key, english in PANEL_TEXT["en"].items():
        assert set(PLACEHOLDER.findall(english)) == set(PLACEHOLDER.findall(PANEL_TEXT["ko"][key])), key
        assert HANGUL.search(PANEL_TEXT["ko"][key]) and not HANGUL.search(english), key
    source = (WIDGETS / "training.py").read_text(encoding="utf-8")
    named = set(re.findall(r'self\.t\["(\w+)"\]', source))
    named |= {f"status_{status}" for status in ("ready", "running", "finished", "stopped", "failed")}  # run.status
    named |= {f"metric_{name}" for name in METRICS_SHOWN}
    assert named == set(PANEL_TEXT["en"])
