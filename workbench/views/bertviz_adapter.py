"""Hand the workbench's attentions to bertviz's `head_view` / `model_view`, for those who know them.

bertviz is an optional extra (`pip install workbench[bertviz]`). Its views load require.js from a CDN, so
they stay blank offline; the workbench's own `show_attention` needs no network. The attentions passed are
the same arrays `show_attention` computes (only the layers asked for; bertviz numbers them from 0).

    from workbench.views.bertviz_adapter import head_view, model_view
    head_view("The cat sat on the mat.", model="sentence-transformers/all-MiniLM-L6-v2")
    html = model_view(view, html_action="return")       # an AttentionView works too
"""
from __future__ import annotations

from typing import Any

from ..errors import WorkbenchError
from .attention import AttentionView, show_attention


def _bertviz():
    try:
        import bertviz
    except ImportError as error:
        raise WorkbenchError("bertviz is not installed; `pip install bertviz` (or workbench[bertviz]) to use its "
                             "views, or use wb.show_attention, which needs nothing more.") from error
    return bertviz


def bertviz_inputs(view: AttentionView) -> dict[str, Any]:
    """`attention` (tuple of [1, H, T, T] tensors, one per computed layer), `tokens`, `sentence_b_start`."""
    import torch

    attention = tuple(torch.from_numpy(view.weights[i][None].copy()) for i in range(len(view.layers)))
    tokens = [p.piece for p in view.pieces]  # bertviz prettifies Ġ / ▁ itself
    second = [i for i, p in enumerate(view.pieces) if p.sequence == 1]
    return {"attention": attention, "tokens": tokens, "sentence_b_start": second[0] if second else None}


def _as_view(view_or_text, **kwargs) -> AttentionView:
    return view_or_text if isinstance(view_or_text, AttentionView) else show_attention(view_or_text, **kwargs)


def head_view(view_or_text, *, html_action: str = "view", **kwargs):
    """bertviz's head view of an AttentionView, or of a text (kwargs go to `show_attention`)."""
    bertviz = _bertviz()
    return bertviz.head_view(**bertviz_inputs(_as_view(view_or_text, **kwargs)), html_action=html_action)


def model_view(view_or_text, *, html_action: str = "view", **kwargs):
    """bertviz's model view of an AttentionView, or of a text (kwargs go to `show_attention`)."""
    bertviz = _bertviz()
    return bertviz.model_view(**bertviz_inputs(_as_view(view_or_text, **kwargs)), html_action=html_action)
