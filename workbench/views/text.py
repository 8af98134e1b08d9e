"""The words of the views (and of the fine-tuning panel) in English and Korean: the language rule and the texts.

The texts a view draws in the browser (labels, hover titles, legends) live in the JS table `TEXT` of
`workbench/widgets/common.js`; the texts made here go into a view's state or its PNG (tokenizer scheme notes,
layer names, page titles, figure headings). Both tables have the same keys in every language, and both use
`{name}` placeholders. Token text is never translated: it is only ever a value put into a placeholder.

    view_text("ko")["embeddings"]                    # '임베딩'
    say("ko", "layer", layer=3)                      # '레이어 3'
    check_language(None)                             # 'ko' under a Korean locale, else 'en'
"""
from __future__ import annotations

import locale
import os

from ..errors import WorkbenchError

LANGUAGES = ("en", "ko")


def default_language(environ: dict | None = None) -> str:
    """'ko' when the locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG, then the process locale) is Korean, else 'en'."""
    environ = os.environ if environ is None else environ
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(variable)
        if value:
            return "ko" if value.lower().startswith("ko") else "en"
    if environ is os.environ:
        current = locale.getlocale()[0] or ""
        return "ko" if current.lower().startswith("ko") else "en"
    return "en"


def check_language(lang: str | None) -> str:
    """`lang` itself when it is one of LANGUAGES; None -> from the locale (`default_language`)."""
    lang = default_language() if lang is None else lang
    if lang not in LANGUAGES:
        raise WorkbenchError(f"The Workbench speaks {' and '.join(LANGUAGES)}, not {lang!r}; pass lang='en' or lang='ko'.")
    return lang


VIEW_TEXT: dict[str, dict[str, str]] = {
    "en": {
        # page titles (exported pages, PNG headings)
        "title_tokens": "Tokens: {names}",
        "title_attention": "Attention",
        "title_attention_of": "Attention: {name}",
        "title_generation": "Generation",
        "title_generation_of": "Generation: {name}",
        "title_lens": "Logit lens",
        "title_lens_of": "Logit lens: {name}",
        # how a tokenizer marks words (the note under each row of the Tokens view)
        "note_wordpiece": "WordPiece: a piece written '{prefix}piece' continues the word before it; it is shown "
                          "joined to it, without the marker.",
        "note_byte_level": "Byte-level BPE: pieces are bytes; 'Ġ' is a space before the piece (shown as a gap), "
                           "'Ċ' a new line; bytes that are only part of a character are shown as <0x..>.",
        "note_sentencepiece": "SentencePiece: '{marker}' is a space before the piece, shown as a gap{fallback}.",
        "note_sentencepiece_fallback": "; bytes of characters outside the vocabulary are shown as <0x..>",
        "note_bpe": "BPE: a piece ending in '{suffix}' ends a word; shown without the marker.",
        "note_other": "Pieces are shown as the tokenizer spells them; a gap marks a new word.",
        # rows of the logit lens, axes of the attention model view
        "embeddings": "embeddings",
        "layer": "layer {layer}",
        "head": "head {head}",
        # PNG figures
        "figure_tokens": "{name} — {text_tokens} tokens (+{special_tokens} special), {characters} characters, "
                         "{per_word} tokens/word",
        "figure_head_view": "{name} — layer {layer}",
        "figure_grid": "attention of {count} tokens (rows: query, columns: key)",
        "figure_prompt": "{name} — prompt",
        "figure_generated": "generated (colour and caption: probability of the chosen token)",
        "figure_lens_next": "top prediction for the next token after each input token",
        "figure_lens_same": "top prediction for each (masked) position",
        "figure_probability": "probability",
    },
    "ko": {
        "title_tokens": "토큰: {names}",
        "title_attention": "어텐션",
        "title_attention_of": "어텐션: {name}",
        "title_generation": "생성",
        "title_generation_of": "생성: {name}",
        "title_lens": "로짓 렌즈",
        "title_lens_of": "로짓 렌즈: {name}",
        "note_wordpiece": "WordPiece: '{prefix}조각'처럼 쓴 토큰은 앞 단어에 이어지는 조각입니다. 표시는 빼고 앞 "
                          "조각에 붙여서 보여 줍니다.",
        "note_byte_level": "바이트 수준 BPE: 토큰은 바이트입니다. 'Ġ'는 토큰 앞의 공백(간격으로 표시), 'Ċ'는 "
                           "줄바꿈이며, 글자의 일부만 담은 바이트는 <0x..>로 보여 줍니다.",
        "note_sentencepiece": "SentencePiece: '{marker}'는 토큰 앞의 공백이며 간격으로 보여 줍니다{fallback}.",
        "note_sentencepiece_fallback": ". 어휘에 없는 글자의 바이트는 <0x..>로 보여 줍니다",
        "note_bpe": "BPE: '{suffix}'로 끝나는 토큰은 단어의 끝입니다. 표시는 빼고 보여 줍니다.",
        "note_other": "토큰은 토크나이저가 쓰는 그대로 보여 주며, 간격은 새 단어의 시작입니다.",
        "embeddings": "임베딩",
        "layer": "레이어 {layer}",
        "head": "헤드 {head}",
        "figure_tokens": "{name} — 토큰 {text_tokens}개 (+특수 토큰 {special_tokens}개), 글자 {characters}개, "
                         "단어당 토큰 수 {per_word}",
        "figure_head_view": "{name} — 레이어 {layer}",
        "figure_grid": "토큰 {count}개의 어텐션 (행: 쿼리, 열: 키)",
        "figure_prompt": "{name} — 프롬프트",
        "figure_generated": "생성된 토큰 (색과 아래 숫자: 고른 토큰의 확률)",
        "figure_lens_next": "각 입력 토큰 다음에 올 토큰의 1순위 예측",
        "figure_lens_same": "각 (마스크된) 위치의 1순위 예측",
        "figure_probability": "확률",
    },
}


# The live fine-tuning panel (workbench/widgets/training.py): buttons, progress line, run states, metric names.
# Values marked {...} are put in as they are; `stopped_checkpoint` is HTML, its {path} is escaped by the panel.
PANEL_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "starting": "starting ...",
        "stop": "Stop",
        "stop_tooltip": "Stop after the current step and save a checkpoint",
        "resume": "Resume",
        "resume_tooltip": "Go on from where the run stopped",
        "stopping": "stopping after this step ...",
        "progress": "step {step}/{total} · epoch {epoch}/{epochs} · {elapsed} elapsed · ~{eta} left · {status}",
        "status_ready": "ready",
        "status_running": "running",
        "status_finished": "finished",
        "status_stopped": "stopped",
        "status_failed": "failed",
        "metric_loss": "loss",
        "metric_lr": "lr",
        "metric_eval_loss": "eval_loss",
        "metric_eval_accuracy": "eval_accuracy",
        "metric_eval_f1": "eval_f1",
        "stopped_checkpoint": "Stopped; checkpoint saved in <code>{path}</code>. Resume goes on from here.",
        "panel_error": "panel: {error}",
    },
    "ko": {
        "starting": "시작하는 중 ...",
        "stop": "중지",
        "stop_tooltip": "지금 스텝을 마치고 멈춘 뒤 체크포인트를 저장합니다",
        "resume": "이어서 학습",
        "resume_tooltip": "멈춘 곳부터 학습을 이어 갑니다",
        "stopping": "이 스텝을 마치고 멈추는 중 ...",
        "progress": "스텝 {step}/{total} · 에포크 {epoch}/{epochs} · {elapsed} 경과 · 약 {eta} 남음 · {status}",
        "status_ready": "준비됨",
        "status_running": "학습 중",
        "status_finished": "완료",
        "status_stopped": "중지됨",
        "status_failed": "실패",
        "metric_loss": "손실",
        "metric_lr": "학습률",
        "metric_eval_loss": "검증 손실",
        "metric_eval_accuracy": "검증 정확도",
        "metric_eval_f1": "검증 F1",
        "stopped_checkpoint": "중지했습니다. 체크포인트는 <code>{path}</code>에 저장했습니다. '이어서 학습'을 누르면 "
                              "여기서부터 이어 갑니다.",
        "panel_error": "패널 오류: {error}",
    },
}


def panel_text(lang: str | None) -> dict[str, str]:
    """The texts of the live fine-tuning panel in `lang` ('en', 'ko'; None: from the locale)."""
    return PANEL_TEXT[check_language(lang)]


def view_text(lang: str) -> dict[str, str]:
    """The Python-side texts of the views in `lang` ('en' or 'ko')."""
    return VIEW_TEXT[check_language(lang)]


def say(lang: str, key: str, **values) -> str:
    """One text of `view_text(lang)` with its {placeholders} filled (values are put in as they are)."""
    return view_text(lang)[key].format(**values)
