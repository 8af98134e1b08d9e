"""Views as pure functions: token pieces and bytes (WordPiece, byte-level BPE, SentencePiece-style), attention arrays
against transformers, the packed attention bytes, the logit lens against a direct computation, escaping, exports."""
import html
import json
import re

import numpy as np
import pytest
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

import workbench as wb
from workbench.views.attention import attention_weights, compact_attention, expand_attention, show_attention
from workbench.views.base import json_for_script
from workbench.views.logit_lens import logit_lens
from workbench.views.tokens import BYTE_ALPHABET, describe_pieces, scheme_of, show_bytes, token_label

from parity import random_batch, tiny_reference

HOSTILE = "<img src=x onerror=alert(1)>"
KOREAN = "한국어"
CORPUS = ["the quick brown fox jumps over the lazy dog", "hello world, the fox and the dog"] * 30


def byte_level_bpe() -> Tokenizer:
    """GPT-2-style byte-level BPE trained on English only: Korean and emoji stay split into single bytes."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(
        vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=["<|endoftext|>"]))
    return tok


def sentencepiece_style() -> Tokenizer:
    """Llama-2-style: '▁' for spaces (Metaspace), BPE with byte fallback pieces <0x..> for unknown characters."""
    tok = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace()])
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<unk>", "<s>", "</s>", *[f"<0x{b:02X}>" for b in range(256)]]))
    return tok


# ---- bytes and pieces ------------------------------------------------------------------------------------

def test_show_bytes_keeps_whole_characters_and_spells_partial_ones():
    assert "한".encode() == b"\xed\x95\x9c"
    assert show_bytes(b"\xed\x95") == ("<0xED><0x95>", True)
    assert show_bytes(b"\x9c") == ("<0x9C>", True)
    assert show_bytes("a한🙂".encode()) == ("a한🙂", False)
    assert show_bytes(b"a" + "한".encode() + b"\xf0\x9f") == ("a한<0xF0><0x9F>", True)
    assert show_bytes(b"\xff") == ("<0xFF>", True)  # never valid UTF-8


def test_byte_alphabet_is_a_bijection_with_space_as_G_dot():
    assert len(BYTE_ALPHABET) == 256 and sorted(BYTE_ALPHABET.values()) == list(range(256))
    assert BYTE_ALPHABET["Ġ"] == 0x20 and BYTE_ALPHABET["Ċ"] == 0x0A and BYTE_ALPHABET["a"] == ord("a")


def test_byte_level_pieces_map_to_characters_through_offsets():
    tok = byte_level_bpe()
    text = f"hello {KOREAN} 🙂"
    encoding = tok.encode(text)
    pieces = describe_pieces(encoding, [text], scheme_of(tok))
    assert scheme_of(tok).kind == "byte-level"
    # every byte piece of 한 (3 bytes) shows as a byte, and the run is grouped as forming 한
    han = [p for p in pieces if p.covers == "한"]
    assert len(han) == 3 and all(p.partial for p in han)
    assert [p.label for p in han] == ["<0xED>", "<0x95>", "<0x9C>"]
    assert {p.group for p in han} == {han[0].index}
    assert b"".join(bytes(p.byte_values) for p in han) == "한".encode()
    emoji = [p for p in pieces if p.covers == "🙂"]
    assert b"".join(bytes(p.byte_values) for p in emoji) == "🙂".encode() and len(emoji) == 4
    # the raw alphabet never leaks into labels; a piece that is only a space is the visible space
    assert not any(c in p.label for p in pieces for c in "ĠĊ")
    assert [p.label for p in pieces if p.piece == "Ġ"] == ["␣", "␣"]
    for p in pieces:  # offsets index the original text
        assert p.covers == text[p.start:p.end]


def test_byte_level_space_marker_is_a_word_boundary():
    tok = byte_level_bpe()
    text = "the fox the dog"
    pieces = describe_pieces(tok.encode(text), [text], scheme_of(tok))
    spaced = [p for p in pieces if p.piece.startswith("Ġ")]
    assert spaced and all(p.space_before and not p.continues and not p.label.startswith(" ") for p in spaced)
    assert "".join((" " if p.space_before else "") + p.label for p in pieces) == text


def test_sentencepiece_style_pieces_and_byte_fallback():
    tok = sentencepiece_style()
    text = f"the dog {KOREAN}"
    encoding = tok.encode(text)
    scheme = scheme_of(tok)
    assert scheme.kind == "sentencepiece" and scheme.byte_fallback and scheme.space_marker == "▁"
    pieces = describe_pieces(encoding, [text], scheme)
    assert any(p.piece.startswith("▁") for p in pieces)
    assert not any("▁" in p.label for p in pieces)
    fallback = [p for p in pieces if re.fullmatch(r"<0x[0-9A-F]{2}>", p.piece)]
    assert len(fallback) == 9  # 3 Hangul syllables x 3 bytes
    assert b"".join(bytes(p.byte_values) for p in fallback) == KOREAN.encode()
    assert [p.covers for p in fallback] == [c for c in KOREAN for _ in range(3)]
    assert all(p.partial and p.group is not None for p in fallback)


def test_wordpiece_on_the_real_minilm_tokenizer(minilm_dir):
    tok = wb.load_tokenizer(minilm_dir)
    view = wb.show_tokens(f"Tokenizers are unaffable {KOREAN} 🙂", tokenizer=tok)
    pieces = view.tokenizations[0].pieces
    assert [p.piece for p in pieces if p.special] == ["[CLS]", "[SEP]"]
    continued = [p for p in pieces if p.piece.startswith("##")]
    assert continued and all(p.continues and p.label == p.piece[2:] for p in continued)
    assert not any(p.label.startswith("##") for p in pieces)
    unknown = [p for p in pieces if p.unknown]
    assert [p.covers for p in unknown] == ["🙂"]
    # BERT splits each Hangul syllable into jamo pieces: grouped by their shared offsets
    for syllable in KOREAN:
        jamo = [p for p in pieces if p.covers == syllable]
        assert len(jamo) >= 2 and len({p.group for p in jamo}) == 1
    counts = view.tokenizations[0].counts
    assert counts["words"] == 5 and counts["special_tokens"] == 2
    assert counts["tokens"] == len(tok(f"Tokenizers are unaffable {KOREAN} 🙂")["input_ids"])
    assert counts["tokens_per_word"] == pytest.approx(counts["text_tokens"] / 5, abs=1e-3)


def test_real_smollm2_byte_level_tokenizer(smollm_gguf):
    tok = wb.load_tokenizer(smollm_gguf)
    text = f"Hi {KOREAN}🙂"
    pieces = wb.show_tokens(text, tokenizer=tok).tokenizations[0].pieces
    assert "".join(p.covers for p in pieces if p.group is None or p.group == p.index) == text
    shown = "".join(p.label for p in pieces)
    assert "Ġ" not in shown
    decoded = b"".join(bytes(p.byte_values) for p in pieces if p.byte_values)
    assert decoded.decode("utf-8") == text


CONTROLS = "a\x00b\x1b[31mc\x7f d\x85e \u200bf\u200dg \u202eevil\u202c \u00a0\u3000h\u2028i ❤\ufe0f"
HIDDEN = ["\x00", "\x1b", "\x7f", "\x85", "\u200b", "\u200d", "\u202e", "\u202c", "\u00a0", "\u3000", "\u2028", "\ufe0f"]


def test_invisible_characters_get_visible_labels_and_named_code_points(smollm_gguf):
    """NUL, ESC, DEL, C1 controls, zero-width characters, bidi controls, odd spaces and variation selectors never
    stand raw in a label (a blank box, or a right-to-left override flipping the page): each has a visible stand-in,
    and the piece names the character for its hover title."""
    from workbench.views.tokens import visible

    assert visible("\x00\x1b\x7f\x85\u202e\u200d\ufe0f\u00a0 \n\t\r") == (
        "<NUL><ESC><DEL><U+0085><U+202E><U+200D><U+FE0F><U+00A0>␣↵⇥<CR>")
    assert visible("한국어 🙂 é", space=" ") == "한국어 🙂 é"  # visible text, combining accents and emoji untouched
    for tokenizer in (wb.load_tokenizer(smollm_gguf), byte_level_bpe(), sentencepiece_style()):
        pieces = wb.show_tokens(CONTROLS, tokenizer=tokenizer).tokenizations[0].pieces
        for piece in pieces:
            for shown in (piece.label, piece.shown_covers, piece.shown_piece):
                assert not any(c in shown for c in HIDDEN), (piece.piece, shown)
        described = {name for piece in pieces for name in piece.code_points}
        assert {"U+0000 NULL", "U+001B ESCAPE", "U+007F DELETE", "U+0085 control", "U+200B ZERO WIDTH SPACE",
                "U+202E RIGHT-TO-LEFT OVERRIDE", "U+FE0F VARIATION SELECTOR-16"} <= described
    smollm = wb.show_tokens(CONTROLS, tokenizer=wb.load_tokenizer(smollm_gguf)).tokenizations[0].pieces
    assert b"".join(bytes(p.byte_values) for p in smollm).decode("utf-8") == CONTROLS  # only the labels change
    labels = [p.label for p in smollm]  # the pieces that hold a whole NUL or ESC show its abbreviation
    assert {"<NUL>", "<ESC>", "<DEL>", "<U+FE0F>"} <= set(labels)
    override = [p for p in smollm if p.covers == "\u202e"]  # 3 bytes in two pieces, formed together
    assert override and all(p.shown_covers == "<U+202E>" and p.code_points == ["U+202E RIGHT-TO-LEFT OVERRIDE"]
                            for p in override)
    tok = wb.load_tokenizer(smollm_gguf)
    assert token_label(tok.backend_tokenizer, scheme_of(tok.backend_tokenizer), tok.convert_tokens_to_ids("Ā")) == "<NUL>"


def test_a_byte_piece_that_carries_a_space_is_grouped_with_the_rest_of_its_character(smollm_gguf):
    """SmolLM2 merges the space with the first byte of a syllable ('Ġí' of ' 토'): all three bytes form 토."""
    pieces = wb.show_tokens("한국어 토큰", tokenizer=wb.load_tokenizer(smollm_gguf)).tokenizations[0].pieces
    to = [p for p in pieces if "토" in p.covers]
    assert [p.piece for p in to] == ["Ġí", "Ĩ", "ł"] and to[0].covers == " 토"
    assert {p.group for p in to} == {to[0].index} and {p.forms for p in to} == {"토"}
    assert to[0].space_before and not to[0].continues  # still a new word
    assert all(p.forms == "" for p in pieces if p.group is None)


def test_token_label_for_predictions():
    tok = byte_level_bpe()
    scheme = scheme_of(tok)
    assert token_label(tok, scheme, tok.token_to_id("Ġ")) == "␣"
    assert token_label(tok, scheme, tok.token_to_id("<|endoftext|>")) == "<|endoftext|>"


def test_pairs_side_by_side_and_dataframe(minilm_dir):
    view = wb.show_tokens("the cat sat", tokenizer=[minilm_dir, byte_level_bpe()], text_pair="on the mat")
    assert len(view.tokenizations) == 2
    frame = view.to_dataframe()
    assert list(frame.columns[:5]) == ["tokenizer", "piece", "id", "start", "end"]
    bert = frame[frame.tokenizer == str(minilm_dir)]
    assert bert.piece.tolist() == ["[CLS]", "the", "cat", "sat", "[SEP]", "on", "the", "mat", "[SEP]"]
    assert bert.sequence.tolist()[5:8] == [1, 1, 1]
    single = wb.show_tokens("a b", tokenizer=byte_level_bpe()).to_dataframe()
    assert list(single.columns[:4]) == ["piece", "id", "start", "end"]


def test_bad_arguments_are_clear_errors(minilm_dir):
    with pytest.raises(wb.TokenizerError, match="at least one tokenizer"):
        wb.show_tokens("x", tokenizer=[])
    with pytest.raises(wb.TokenizerError, match="Cannot show the tokens"):
        wb.show_tokens("x", tokenizer=object())
    with pytest.raises(ValueError, match=".html or .png"):
        wb.show_tokens("x", tokenizer=minilm_dir).save("x.txt")


# ---- attention --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def minilm(minilm_dir):
    return wb.load_model(minilm_dir), wb.load_tokenizer(minilm_dir)


def test_attention_equals_transformers_on_minilm(minilm, minilm_dir):
    model, tok = minilm
    view = show_attention("The cat sat on the mat.", model=model, tokenizer=tok, text_pair="It was happy.")
    reference = transformers.BertModel.from_pretrained(minilm_dir, attn_implementation="eager").eval()
    enc = tok("The cat sat on the mat.", "It was happy.", return_tensors="pt")
    with torch.inference_mode():
        expected = reference(**enc, output_attentions=True).attentions
    assert view.layers == list(range(6)) and view.weights.shape == (6, 12, enc["input_ids"].shape[1], enc["input_ids"].shape[1])
    for layer in range(6):
        torch.testing.assert_close(torch.from_numpy(view.weights[layer]), expected[layer][0], atol=1e-5, rtol=1e-5)
    assert [p.label for p in view.pieces if p.sequence == 1] == ["it", "was", "happy", "."]


def test_attention_only_for_the_layers_shown(minilm):
    model, tok = minilm
    asked = []
    original = model.forward

    def spy(*args, **kwargs):
        asked.append(kwargs.get("output_attentions"))
        return original(*args, **kwargs)

    model.forward = spy
    try:
        view = show_attention("one two three", model=model, tokenizer=tok, layers=[4, 1, -1])
    finally:
        del model.forward
    assert asked == [[1, 4, 5]] and view.layers == [1, 4, 5]
    full = attention_weights(model, dict(tok("one two three", return_tensors="pt")), [0, 1, 2, 3, 4, 5])
    np.testing.assert_allclose(view.weights, full[[1, 4, 5]], atol=1e-6)
    with pytest.raises(ValueError, match="out of range"):
        show_attention("x", model=model, tokenizer=tok, layers=[6])


def test_packed_attention_round_trip_and_pruning():
    generator = np.random.default_rng(0)
    weights = generator.dirichlet(np.full(40, 0.3), size=(2, 3, 40)).astype(np.float32)  # rows sum to 1
    blob = compact_attention(weights, floor=0.0)
    dense = expand_attention(blob, weights.shape)
    np.testing.assert_allclose(dense, weights, atol=0.5 / 255 + 1e-7)  # uint8 quantisation only
    pruned = expand_attention(compact_attention(weights, floor=0.05), weights.shape)
    assert np.all(pruned[weights < 0.05] == 0)
    np.testing.assert_allclose(pruned[weights >= 0.05], weights[weights >= 0.05], atol=0.5 / 255 + 1e-7)
    assert len(compact_attention(weights, floor=0.05)) < len(blob) < weights.size * 4
    with pytest.raises(ValueError, match="length"):
        expand_attention(blob[:-1], weights.shape)


def test_long_input_stays_compact(minilm):
    model, tok = minilm
    view = show_attention("a sentence that repeats itself again and again. " * 70, model=model, tokenizer=tok)
    assert view.weights.shape[2] == 512  # truncated to the model's positions
    blob = view.traits()["weights"]
    assert len(blob) < view.weights.size // 4  # far below one byte per weight, let alone JSON floats
    assert view.threshold >= 0.05  # long inputs start with weak links hidden


def test_decoder_attention_on_tiny_llama(tmp_path):
    reference = tiny_reference("LlamaForCausalLM", "LlamaConfig", vocab_size=101, hidden_size=24,
                               intermediate_size=37, num_hidden_layers=2, num_attention_heads=3, num_key_value_heads=1,
                               max_position_embeddings=64)
    reference.save_pretrained(tmp_path)
    model = wb.load_model(tmp_path)
    batch = random_batch(101, lengths=(7,), token_types=False)
    weights = attention_weights(model, batch, [1])
    with torch.inference_mode():
        expected = reference(**batch, output_attentions=True).attentions[1][0]
    torch.testing.assert_close(torch.from_numpy(weights[0]), expected, atol=1e-5, rtol=1e-5)
    assert np.all(np.triu(weights[0], k=1) == 0)  # causal


# ---- logit lens ----------------------------------------------------------------------------------------

def reference_lens(reference, batch, readout, k=5):
    with torch.inference_mode():
        out = reference(**batch, output_hidden_states=True)
        rows = [readout(h[0]) for h in out.hidden_states[:-1]] + [out.logits[0]]
        probs = torch.softmax(torch.stack(rows).float(), dim=-1)
    return probs.topk(k, dim=-1), probs


def test_logit_lens_on_tiny_bert_mlm_equals_a_direct_computation(tmp_path):
    reference = tiny_reference("BertForMaskedLM", "BertConfig", vocab_size=97, hidden_size=32, num_hidden_layers=3,
                               num_attention_heads=4, intermediate_size=37, max_position_embeddings=64)
    reference.save_pretrained(tmp_path)
    model = wb.load_model(tmp_path)
    batch = random_batch(97, lengths=(9,))
    lens = logit_lens(model, batch, top_k=5)
    (values, indices), probs = reference_lens(reference, batch, reference.cls)
    assert lens.top_ids.shape == (4, 9, 5) and not lens.next_token
    np.testing.assert_array_equal(lens.top_ids, indices.numpy())
    np.testing.assert_allclose(lens.top_probs, values.numpy(), atol=1e-5)
    ids = batch["input_ids"][0]
    np.testing.assert_allclose(lens.target_probs, probs[:, torch.arange(9), ids].numpy(), atol=1e-5)


def test_logit_lens_on_tiny_llama_applies_the_final_norm_once(tmp_path):
    reference = tiny_reference("LlamaForCausalLM", "LlamaConfig", vocab_size=101, hidden_size=24,
                               intermediate_size=37, num_hidden_layers=3, num_attention_heads=3, num_key_value_heads=3,
                               max_position_embeddings=64, initializer_range=0.2)
    reference.save_pretrained(tmp_path)
    model = wb.load_model(tmp_path)
    batch = random_batch(101, lengths=(8,), token_types=False)
    lens = logit_lens(model, batch, top_k=3)
    (values, indices), probs = reference_lens(reference, batch, lambda h: reference.lm_head(reference.model.norm(h)), k=3)
    assert lens.next_token and lens.top_ids.shape == (4, 8, 3)
    np.testing.assert_array_equal(lens.top_ids, indices.numpy())
    np.testing.assert_allclose(lens.top_probs, values.numpy(), atol=1e-5)
    ids = batch["input_ids"][0]
    np.testing.assert_allclose(lens.target_probs[:, :-1], probs[:, torch.arange(7), ids[1:]].numpy(), atol=1e-5)
    assert np.isnan(lens.target_probs[:, -1]).all() and lens.target_ids[-1] == -1


def test_logit_lens_needs_an_lm_head(minilm):
    model, tok = minilm
    with pytest.raises(wb.UnsupportedModelError, match="no language-model head"):
        wb.show_logit_lens("hello", model=model, tokenizer=tok)


# ---- escaping and standalone pages -----------------------------------------------------------------------

def test_json_for_script_cannot_close_the_script_element():
    text = json_for_script({"t": "</script><script>alert(1)</script> & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"t": "</script><script>alert(1)</script> & \u2028"}


def embedded_data(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="wb-data">(.*?)</script>', page, re.S)
    return json.loads(match.group(1))


def test_pages_escape_hostile_text_and_load_nothing(minilm, minilm_dir, tmp_path):
    model, tok = minilm
    pages = {
        "tokens": wb.show_tokens(f"{HOSTILE} {KOREAN}", tokenizer=[tok, byte_level_bpe()]),
        "attention": show_attention(f"{HOSTILE} {KOREAN}", model=model, tokenizer=tok),
    }
    for kind, view in pages.items():
        page = view.to_html()
        assert HOSTILE not in page and "<img" not in page
        assert re.search(r"https?://|//cdn|src=\"", page) is None, kind
        assert "Content-Security-Policy" in page and "default-src 'none'" in page
        assert page.count("<script") == 2  # the data and the renderer; nothing else
        data = embedded_data(page)
        assert data["live"] is False
        shown = json.dumps(data, ensure_ascii=False)
        assert (HOSTILE in shown) if kind == "tokens" else ('"label": "<"' in shown and '"label": ">"' in shown)
        assert view.save(tmp_path / f"{kind}.html").read_text(encoding="utf-8") == page
    assert "innerHTML" not in (pages["tokens"].to_html() + pages["attention"].to_html())


def test_titles_are_escaped(minilm):
    view = wb.show_tokens("x", tokenizer=byte_level_bpe())
    view.title = "<b>bold</b>"
    assert "<title>&lt;b&gt;bold&lt;/b&gt;</title>" in view.to_html()


def test_png_exports(minilm, tmp_path):
    model, tok = minilm
    attention = show_attention(f"The cat {KOREAN}", model=model, tokenizer=tok, layers=[0, 1])
    for name, view, options in [("tokens", wb.show_tokens(f"hi {KOREAN} 🙂", tokenizer=[tok, byte_level_bpe()]), {}),
                                ("head", attention, {}), ("model", attention, {"view": "model"})]:
        path = view.save(tmp_path / f"{name}.png", **options)
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, name


# ---- Korean views: the texts made in Python, the exported page, the PNG ------------------------------------------

HANGUL = re.compile("[\uac00-\ud7a3]")
# Python-made English texts of the views (notes, titles, layer names, figure headings): none may be left in Korean
ENGLISH = ["a piece written", "Byte-level BPE: pieces", "is a space before the piece", "ends a word", "Pieces are shown",
           "embeddings", "layer ", "head ", "Tokens:", "Attention", "Logit lens", "Generation", "tokens/word",
           "characters", "probability", "top prediction", "generated", "— prompt", "rows: query"]


def strings_in(value) -> list[str]:
    """Every string value (not key) in a JSON-like value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in strings_in(item)]
    return []


def four_views(minilm, lang):
    """Tokens (WordPiece, byte-level BPE, SentencePiece), attention, logit lens and generation on Korean text."""
    from workbench.views.generation import GenerationView, Step
    from workbench.views.logit_lens import Lens, LogitLensView

    model, tok = minilm
    text = "고양이가 매트 위에 앉았다"
    tokens = wb.show_tokens(text, tokenizer=[tok, byte_level_bpe(), sentencepiece_style()], lang=lang)
    attention = show_attention(text, model=model, tokenizer=tok, layers=[0, 1], lang=lang)
    pieces = attention.pieces
    T, k = len(pieces), 2
    rng = np.random.default_rng(0)
    lens = Lens(top_ids=rng.integers(0, 3, size=(3, T, k)), top_probs=np.full((3, T, k), 0.4, dtype=np.float32),
                target_ids=np.array([p.id for p in pieces]), target_probs=np.full((3, T), 0.1, dtype=np.float32),
                next_token=False)
    lens_view = LogitLensView(pieces, lens, {0: "고양이", 1: "매트", 2: "위"}, name="MiniLM", lang=lang)
    generation = GenerationView(pieces, {7: "다"}.get, name="MiniLM", steps=[Step(7, "다", np.log(0.5), [(7, np.log(0.5))])],
                                lang=lang)
    return {"tokens": tokens, "attention": attention, "lens": lens_view, "generation": generation}


def figure_texts(shown, **options) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in shown.figure(**options).findobj(Text) if t.get_text()]


def test_korean_views_say_their_own_texts_in_korean(minilm):
    views = four_views(minilm, "ko")
    for kind, view in views.items():
        page = view.to_html()
        assert page.startswith('<!DOCTYPE html>\n<html lang="ko">'), kind
        title = re.search(r"<title>(.*?)</title>", page).group(1)
        assert HANGUL.search(title) and title == html.escape(view.title), kind
        data = embedded_data(page)
        assert data["lang"] == "ko"
        said = [view.title, *strings_in(data["state"])]
        assert not [s for s in said for english in ENGLISH if english in s], kind
    notes = [t["note"] for t in views["tokens"].traits()["state"]["tokenizations"]]
    assert len(notes) == 3 and all(HANGUL.search(note) for note in notes)
    assert "'##조각'" in notes[0] and "'Ġ'" in notes[1] and "'\u2581'" in notes[2] and "<0x..>" in notes[2]
    assert [row["name"] for row in views["lens"].traits()["state"]["rows"]] == ["임베딩", "레이어 1", "레이어 2"]
    for kind, options in (("tokens", {}), ("attention", {}), ("attention", {"view": "model"}), ("lens", {}),
                          ("generation", {})):
        texts = figure_texts(views[kind], **options)
        assert any(HANGUL.search(t) for t in texts), (kind, texts)
        assert not [t for t in texts for english in ENGLISH if english in t], (kind, texts)
    assert views["lens"].to_png()[:4] == b"\x89PNG"


def test_english_views_are_unchanged(minilm):
    views = four_views(minilm, "en")
    assert views["tokens"].to_html().startswith('<!DOCTYPE html>\n<html lang="en">')
    assert [t["note"] for t in views["tokens"].traits()["state"]["tokenizations"]] == [
        "WordPiece: a piece written '##piece' continues the word before it; it is shown joined to it, without the marker.",
        "Byte-level BPE: pieces are bytes; 'Ġ' is a space before the piece (shown as a gap), 'Ċ' a new line; bytes that "
        "are only part of a character are shown as <0x..>.",
        "SentencePiece: '\u2581' is a space before the piece, shown as a gap; bytes of characters outside the vocabulary "
        "are shown as <0x..>."]
    assert views["lens"].layer_names() == ["embeddings", "layer 1", "layer 2"] and views["lens"].title == "Logit lens: MiniLM"
    assert views["attention"].title.startswith("Attention: ") and views["generation"].title == "Generation: MiniLM"
    assert "attention of" in " ".join(figure_texts(views["attention"], view="model"))


def test_the_language_is_checked_first_and_defaults_to_the_locale(minilm, monkeypatch):
    with pytest.raises(wb.WorkbenchError, match="lang='en' or lang='ko'"):
        wb.show_tokens("x", tokenizer=byte_level_bpe(), lang="fr")
    with pytest.raises(wb.WorkbenchError, match="lang='en' or lang='ko'"):  # before trying to load the model
        show_attention("x", model="no/such-model", lang="de")
    monkeypatch.setenv("LANGUAGE", "ko_KR.UTF-8")
    assert wb.show_tokens("x", tokenizer=byte_level_bpe()).lang == "ko"
    assert show_attention("x", model=minilm[0], tokenizer=minilm[1], layers=[0]).lang == "ko"
    monkeypatch.setenv("LANGUAGE", "en_GB.UTF-8")
    assert wb.show_tokens("x", tokenizer=byte_level_bpe()).lang == "en"


# ---- bertviz adapter ---------------------------------------------------------------------------------------

def test_bertviz_adapter_hands_over_the_same_attentions(minilm):
    pytest.importorskip("bertviz", reason="optional extra: pip install --no-deps bertviz")
    from workbench.views.bertviz_adapter import bertviz_inputs, head_view, model_view

    model, tok = minilm
    view = show_attention("The cat sat.", model=model, tokenizer=tok, text_pair="It was warm.", layers=[0, 3])
    inputs = bertviz_inputs(view)
    assert len(inputs["attention"]) == 2 and inputs["sentence_b_start"] == 6  # [CLS] the cat sat . [SEP] | it
    torch.testing.assert_close(inputs["attention"][1][0], torch.from_numpy(view.weights[1]))
    assert inputs["tokens"][:5] == ["[CLS]", "the", "cat", "sat", "."]
    html = head_view(view, html_action="return").data
    assert "\"warm\"" in html and "\"cat\"" in html
    assert "\"warm\"" in model_view("The cat sat.", model=model, tokenizer=tok, text_pair="It was warm.",
                                  html_action="return").data


def test_bertviz_adapter_says_how_to_install_it(minilm, monkeypatch):
    import sys

    from workbench.views.bertviz_adapter import head_view

    monkeypatch.setitem(sys.modules, "bertviz", None)  # as if it were not installed
    model, tok = minilm
    with pytest.raises(wb.WorkbenchError, match="pip install bertviz"):
        head_view("The cat sat.", model=model, tokenizer=tok)
