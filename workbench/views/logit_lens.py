"""The logit lens: what each layer would predict if the model stopped there.

The residual stream after layer i (hidden_states[i]; 0 = embeddings) is read out by the model's own output
head, with the final norm applied as the model does:
- decoders (`final_norm` + `unembed`, e.g. Llama, GPT-2): logits_i = unembed(final_norm(h_i)), predicting the
  next token at each position;
- BERT-style masked LMs (`mlm_head()`): logits_i = mlm_head(h_i) (dense, activation, LayerNorm, decoder),
  predicting the token at each position.
The last row is the model's real output (`out.logits`): decoders already return the final hidden state after the
final norm, so reading it out again would apply that norm twice.

    v = wb.show_logit_lens("The capital of France is", model="HuggingFaceTB/SmolLM2-135M-Instruct")
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..errors import UnsupportedModelError
from .attention import display_name, load_model_and_tokenizer, model_inputs
from .base import View
from .text import check_language, say
from .tokens import Piece, backend_of, describe_pieces, scheme_of, token_label


def lens_readout(model) -> Callable:
    """h [.., D] -> logits [.., V] with the model's own final norm and output head."""
    if callable(getattr(model, "final_norm", None)) and callable(getattr(model, "unembed", None)):
        return lambda hidden: model.unembed(model.final_norm(hidden))
    if callable(getattr(model, "mlm_head", None)):
        return model.mlm_head()
    raise UnsupportedModelError(
        f"{type(model).__name__} has no language-model head to read layers out with; load the checkpoint with "
        "task='text-generation' (decoders) or task='fill-mask' (encoders with an MLM head).")


def predicts_next_token(model) -> bool:
    return getattr(model, "task", "") == "text-generation"


@dataclass
class Lens:
    """Per layer (0 = embeddings ... L) and position: the top-k predictions and the target's probability."""
    top_ids: np.ndarray  # [L+1, T, k] int64
    top_probs: np.ndarray  # [L+1, T, k] float32
    target_ids: np.ndarray  # [T] int64: the next input token (decoders) or the token itself (MLM); -1 = none
    target_probs: np.ndarray  # [L+1, T] float32 (nan where there is no target)
    next_token: bool


def logit_lens(model, inputs: dict, top_k: int = 5) -> Lens:
    """Run the model once with hidden states and read every layer out (first row of `inputs`)."""
    import torch

    readout = lens_readout(model)
    with torch.inference_mode():
        out = model(**inputs, output_hidden_states=True)
        hidden = out.hidden_states
        if hidden is None or out.logits is None:
            raise UnsupportedModelError(f"{type(model).__name__} returned no hidden states or logits for the logit lens.")
        input_ids = inputs["input_ids"][0]
        next_token = predicts_next_token(model)
        targets = torch.full_like(input_ids, -1)
        if next_token:
            targets[:-1] = input_ids[1:]
        else:
            targets[:] = input_ids
        top_ids, top_probs, target_probs = [], [], []
        for layer in range(len(hidden)):
            logits = out.logits[0] if layer == len(hidden) - 1 else readout(hidden[layer][0])  # [T, V]
            probs = torch.softmax(logits.float(), dim=-1)
            values, indices = probs.topk(top_k, dim=-1)
            top_ids.append(indices)
            top_probs.append(values)
            gathered = probs.gather(-1, targets.clamp(min=0)[:, None])[:, 0]
            target_probs.append(torch.where(targets >= 0, gathered, torch.full_like(gathered, float("nan"))))
    return Lens(torch.stack(top_ids).numpy(), torch.stack(top_probs).numpy(), targets.numpy(),
                torch.stack(target_probs).numpy(), next_token)


class LogitLensView(View):
    kind = "logit_lens"

    def __init__(self, pieces: list[Piece], lens: Lens, labels: dict[int, str], name: str = "",
                 lang: str | None = None):
        self.pieces, self.lens, self.labels, self.name = pieces, lens, labels, name
        self.lang = check_language(lang)

    def default_title(self) -> str:
        return say(self.lang, "title_lens_of", name=self.name) if self.name else say(self.lang, "title_lens")

    def layer_names(self) -> list[str]:
        """The rows, in the view's language: embeddings, then layer 1 ... L."""
        count = self.lens.top_ids.shape[0]
        return [say(self.lang, "embeddings"), *[say(self.lang, "layer", layer=i) for i in range(1, count)]]

    def to_dataframe(self):
        """One row per (layer, position): the top prediction, its probability and the target's probability."""
        import pandas as pd

        rows = []
        for layer, layer_name in enumerate(self.layer_names()):
            for position, piece in enumerate(self.pieces):
                top = int(self.lens.top_ids[layer, position, 0])
                rows.append({"layer": layer, "layer_name": layer_name, "position": position, "token": piece.label,
                             "top_id": top, "top_token": self.labels[top],
                             "top_prob": float(self.lens.top_probs[layer, position, 0]),
                             "target_prob": float(self.lens.target_probs[layer, position])})
        return pd.DataFrame(rows)

    def traits(self) -> dict[str, Any]:
        lens = self.lens
        rows = []
        for layer, layer_name in enumerate(self.layer_names()):
            cells = []
            for position in range(len(self.pieces)):
                target = float(lens.target_probs[layer, position])
                cells.append({"top": [[int(i), round(float(p), 4)] for i, p in
                                      zip(lens.top_ids[layer, position], lens.top_probs[layer, position])],
                              "target": None if np.isnan(target) else round(target, 4)})
            rows.append({"name": layer_name, "cells": cells})
        tokens = [{"label": p.piece if p.special else p.label, "id": p.id, "special": p.special} for p in self.pieces]
        return {"state": {"name": self.name, "tokens": tokens, "rows": rows, "next_token": lens.next_token,
                          "targets": [int(t) for t in lens.target_ids],
                          "vocabulary": {str(i): label for i, label in self.labels.items()}}}

    def figure(self):
        from .drawing import lens_figure

        columns = [p.piece if p.special else p.label for p in self.pieces]
        top = [[self.labels[int(i)] for i in row] for row in self.lens.top_ids[:, :, 0]]
        return lens_figure(self.lens.top_probs[:, :, 0], top, columns, self.layer_names(), self.lens.next_token,
                           title=self.title, lang=self.lang)

    def __repr__(self) -> str:
        return f"<LogitLensView {self.name}: {self.lens.top_ids.shape[0]} rows x {len(self.pieces)} positions>"


def show_logit_lens(text: str, model="HuggingFaceTB/SmolLM2-135M-Instruct", *, tokenizer=None, top_k: int = 5,
                    max_length: int | None = None, lang: str | None = None) -> LogitLensView:
    """Per layer, the top prediction at each position of `text` (final norm applied, as the model does).
    `lang`: 'en' or 'ko' for the view's own texts (None: from the locale)."""
    from .. import load_model

    lang = check_language(lang)
    given = model
    if isinstance(model, str):  # the lens needs the output head: ask for it by task
        name = model
        model = load_model(name, task=_lm_task(name))
        tokenizer = tokenizer if tokenizer is not None else name
    model, tokenizer = load_model_and_tokenizer(model, tokenizer)
    lens_readout(model)  # a clear error before any work when there is no head
    fresh = getattr(model, "loading_info", {}).get("fresh")
    if fresh:
        raise UnsupportedModelError(
            f"The checkpoint has no weights for the output head ({fresh[0]}, ...), so every layer would be read out "
            "through random weights; use a checkpoint with a language-model head (e.g. SmolLM2).")
    inputs, encoding = model_inputs(model, tokenizer, text, None, max_length)
    lens = logit_lens(model, inputs, top_k)
    backend = backend_of(tokenizer)
    scheme = scheme_of(backend)
    labels = {int(i): token_label(backend, scheme, int(i)) for i in np.unique(lens.top_ids)}
    pieces = describe_pieces(encoding, [text], scheme)
    return LogitLensView(pieces, lens, labels, name=display_name(model, given), lang=lang)


def _lm_task(name: str) -> str | None:
    """text-generation for decoders, fill-mask for encoders: whichever LM head the checkpoint's config names."""
    from ..checkpoints import read_config, resolve_checkpoint
    from ..models.registry import task_from_architectures

    path = resolve_checkpoint(name)
    if path.is_file():  # a .gguf file holds a decoder
        return "text-generation"
    task = task_from_architectures(read_config(path).get("architectures"))
    return task if task in ("text-generation", "fill-mask") else "fill-mask"
