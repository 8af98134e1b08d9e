"""Views: pure functions from data to HTML / PNG / compact arrays, shown as widgets in a notebook.

    v = wb.show_tokens(text, tokenizer=name_or_tokenizer_or_list)
    v = wb.show_attention(text, model=name_or_model)
    v = wb.show_generation(prompt, model=...)
    v = wb.show_logit_lens(text, model=...)
    v                      # last in a cell: the live widget
    v.to_html()            # one standalone page: inline JS/CSS, no network
    v.save("x.html"); v.save("x.png")   # PNG through matplotlib, no browser
    wb.show_tokens(text, lang="ko")    # the view's own words in Korean (default: from the locale, as the app)
"""
from __future__ import annotations

import importlib
from typing import Any

from .tokens import TokensView, show_tokens

_LAZY = {
    "show_attention": "workbench.views.attention",
    "AttentionView": "workbench.views.attention",
    "attention_weights": "workbench.views.attention",
    "show_logit_lens": "workbench.views.logit_lens",
    "LogitLensView": "workbench.views.logit_lens",
    "logit_lens": "workbench.views.logit_lens",
    "show_generation": "workbench.views.generation",
    "GenerationView": "workbench.views.generation",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'workbench.views' has no attribute {name!r}")


__all__ = ["show_tokens", "TokensView", *_LAZY]
