"""Model outputs named as in transformers: `out.logits`, `out["logits"]`, `out[0]`, `out.to_tuple()`.

Fields that are None are skipped by integer indexing and `to_tuple()`, as transformers does, so
`model(**enc)[0]` is the first thing the model actually returned.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import torch

Tensor = torch.Tensor
Layers = tuple  # one entry per layer (None for a layer whose attention was not asked for)


class ModelOutput:
    def to_tuple(self) -> tuple:
        return tuple(getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None)

    def keys(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, str):
            return getattr(self, key)
        return self.to_tuple()[key]

    def __contains__(self, key: str) -> bool:
        return key in self.keys()

    def __iter__(self):
        return iter(self.keys())


@dataclass
class BaseModelOutput(ModelOutput):
    last_hidden_state: Tensor | None = None  # [B, T, D]
    pooler_output: Tensor | None = None  # [B, D] (BERT-like pooler over the first token)
    past_key_values: Any = None  # decoders: the KV cache to continue from
    hidden_states: Layers | None = None  # embeddings + each layer, each [B, T, D]
    attentions: Layers | None = None  # each [B, H, T, S]


@dataclass
class MaskedLMOutput(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None  # [B, T, V]
    hidden_states: Layers | None = None
    attentions: Layers | None = None


@dataclass
class CausalLMOutput(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None  # [B, T, V]
    past_key_values: Any = None
    hidden_states: Layers | None = None
    attentions: Layers | None = None


@dataclass
class SequenceClassifierOutput(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None  # [B, num_labels]
    past_key_values: Any = None
    hidden_states: Layers | None = None
    attentions: Layers | None = None


@dataclass
class TokenClassifierOutput(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None  # [B, T, num_labels]
    hidden_states: Layers | None = None
    attentions: Layers | None = None


@dataclass
class QuestionAnsweringOutput(ModelOutput):
    loss: Tensor | None = None
    start_logits: Tensor | None = None  # [B, T]
    end_logits: Tensor | None = None  # [B, T]
    hidden_states: Layers | None = None
    attentions: Layers | None = None
