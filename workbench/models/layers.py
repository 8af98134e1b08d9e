"""Pieces shared by every family: attention maths, masks, activations, losses, weight init."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


def attend(
    query: torch.Tensor,  # [B, H, T, Dh]
    key: torch.Tensor,  # [B, H, S, Dh]
    value: torch.Tensor,  # [B, H, S, Dh]
    mask: torch.Tensor | None,  # additive, broadcastable to [B, H, T, S] (0 = keep, large negative = drop)
    *,
    dropout: float = 0.0,
    scale: float | None = None,
    need_weights: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Scaled dot-product attention. Returns (context [B, H, T, Dh], weights [B, H, T, S] or None).

    The weights are only materialised when asked for (the eager path, as transformers' "eager"
    attention computes them); otherwise PyTorch's fused SDPA kernel runs.
    """
    scale = scale if scale is not None else query.shape[-1] ** -0.5
    if not need_weights:
        context = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout, scale=scale)
        return context, None
    scores = torch.matmul(query, key.transpose(-1, -2)) * scale
    if mask is not None:
        scores = scores + mask
    weights = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    if dropout:
        weights = F.dropout(weights, p=dropout, training=True)
    return torch.matmul(weights, value), weights


def padding_mask(attention_mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """[B, S] of 1 (token) / 0 (padding) -> additive [B, 1, 1, S]; None when nothing is padded."""
    if attention_mask is None or bool(attention_mask.all()):
        return None
    blocked = (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
    return blocked


def wants_layer(output_attentions, layer_index: int) -> bool:
    """`output_attentions` is True/False or a collection of layer indices to compute weights for."""
    if isinstance(output_attentions, bool) or output_attentions is None:
        return bool(output_attentions)
    return layer_index in output_attentions


class LayerRecord:
    """What `output_hidden_states` / `output_attentions` ask for, collected while the layers run.

    hidden_states: the embeddings, then each layer's output (transformers' convention);
    attentions: one [B, H, T, S] entry per layer, None for a layer whose weights were not asked for.
    """

    def __init__(self, embeddings: torch.Tensor, output_attentions, output_hidden_states: bool):
        self.asked = output_attentions
        self._hidden = [embeddings] if output_hidden_states else None
        self._attentions = [] if output_attentions else None

    def wants_weights(self, layer_index: int) -> bool:
        return wants_layer(self.asked, layer_index)

    def add(self, layer_index: int, layer_output: torch.Tensor, weights: torch.Tensor | None) -> None:
        if self._hidden is not None:
            self._hidden.append(layer_output)
        if self._attentions is not None:  # weights a hook made for an unasked layer are not returned
            self._attentions.append(weights if self.wants_weights(layer_index) else None)

    def replace_last(self, normed: torch.Tensor) -> None:
        """Decoders: transformers' last hidden state is taken after the final norm."""
        if self._hidden is not None:
            self._hidden[-1] = normed

    @property
    def hidden_states(self) -> tuple | None:
        return tuple(self._hidden) if self._hidden is not None else None

    @property
    def attentions(self) -> tuple | None:
        return tuple(self._attentions) if self._attentions is not None else None


def _gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x, approximate="tanh")


def _quick_gelu(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(1.702 * x)


def _gelu_fast(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)))


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gelu": F.gelu,  # exact (erf) GELU
    "gelu_python": F.gelu,
    "gelu_new": _gelu_tanh,
    "gelu_pytorch_tanh": _gelu_tanh,
    "gelu_fast": _gelu_fast,
    "quick_gelu": _quick_gelu,
    "relu": F.relu,
    "silu": F.silu,
    "swish": F.silu,
    "tanh": torch.tanh,
}


def activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    if name not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {name!r} in config.json; supported: {', '.join(sorted(ACTIVATIONS))}.")
    return ACTIVATIONS[name]


# ---- losses, as transformers computes them for each head -----------------------------------------

def sequence_classification_loss(logits: torch.Tensor, labels: torch.Tensor, config) -> torch.Tensor:
    """logits [B, C]; labels [B] (class ids), [B] floats (regression) or [B, C] (multi-label)."""
    problem = config.get("problem_type")
    if problem is None:
        if config.num_labels == 1:
            problem = "regression"
        elif labels.dtype in (torch.long, torch.int):
            problem = "single_label_classification"
        else:
            problem = "multi_label_classification"
    if problem == "regression":
        return F.mse_loss(logits.squeeze(-1), labels.squeeze(-1).to(logits.dtype))
    if problem == "multi_label_classification":
        return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
    return F.cross_entropy(logits.view(-1, config.num_labels), labels.view(-1))


def token_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """logits [B, T, C]; labels [B, T] with -100 where no label applies (padding, later word pieces)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1), ignore_index=-100)


def span_loss(start_logits, end_logits, start_positions, end_positions) -> torch.Tensor:
    """Extractive QA: mean of the start and end cross-entropies; positions outside the input are ignored."""
    length = start_logits.shape[1]
    start = start_positions.clamp(0, length)
    end = end_positions.clamp(0, length)
    return (F.cross_entropy(start_logits, start, ignore_index=length) + F.cross_entropy(end_logits, end, ignore_index=length)) / 2


def init_weights(module: nn.Module, std: float) -> None:
    """transformers' initialisation for fresh weights: normal(0, std) matrices, zero biases, unit norms."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=std)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()
    elif isinstance(module, nn.LayerNorm):
        if module.weight is not None:
            nn.init.ones_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def init_tensor(name: str, tensor: torch.Tensor, std: float) -> None:
    """Initialise one fresh parameter by its role, for heads that a checkpoint does not have."""
    with torch.no_grad():
        if name.endswith("bias"):
            tensor.zero_()
        elif "norm" in name.lower() and tensor.dim() == 1:
            tensor.fill_(1.0)
        else:
            tensor.normal_(0.0, std)


__all__ = ["attend", "padding_mask", "wants_layer", "LayerRecord", "activation", "init_weights", "init_tensor"]
