"""What every decoder-only family shares: causal masks, rotary position embeddings, the KV cache, attention
with grouped key/value heads, and the conveniences of a causal-LM head (generate, final_norm/unembed).

Shapes: B batch, T new tokens in this call, P tokens already in the cache, S = P + T keys seen, H query heads,
Hkv key/value heads (H = Hkv for multi-head, 1 for multi-query, in between for grouped-query attention),
Dh head size, R rotary dimensions (R <= Dh with partial rotary).

The formulas follow transformers (`masking_utils.py`, `modeling_rope_utils.py`) so that outputs match it to
float rounding; they are written here from those descriptions, not copied.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import UnsupportedModelError
from .config import Config, rope_parameters
from .layers import attend


# ---- KV cache ----------------------------------------------------------------------------------------------

class KVCache:
    """Keys and values of every layer in preallocated tensors [B, Hkv, capacity, Dh]; `length` are filled.

    Each layer writes its new keys/values at positions [length, length + T) and attends to the view
    [:, :, :length + T] (no per-step concatenation). The model calls `advance(T)` once all layers ran.
    If a call needs more room than `capacity` the tensors grow (doubling); `generate` sizes them exactly.
    """

    def __init__(self, num_layers: int, batch_size: int, num_kv_heads: int, head_dim: int, capacity: int,
                 *, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"):
        shape = (batch_size, num_kv_heads, max(capacity, 1), head_dim)
        self.keys = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(num_layers)]
        self.values = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(num_layers)]
        self.length = 0

    @classmethod
    def for_model(cls, model, batch_size: int, capacity: int) -> "KVCache":
        layers, kv_heads, head_dim = model.base_model.cache_shape()
        return cls(layers, batch_size, kv_heads, head_dim, capacity, dtype=model.dtype, device=model.device)

    @property
    def capacity(self) -> int:
        return self.keys[0].shape[2]

    def get_seq_length(self) -> int:  # transformers' name for the number of cached positions
        return self.length

    def update(self, layer: int, key: torch.Tensor, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store key/value [B, Hkv, T, Dh] after the cached ones; return all keys/values [B, Hkv, P + T, Dh]."""
        start, end = self.length, self.length + key.shape[2]
        if end > self.keys[layer].shape[2]:
            self._grow(layer, end)
        self.keys[layer][:, :, start:end].copy_(key)
        self.values[layer][:, :, start:end].copy_(value)
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]

    def _grow(self, layer: int, needed: int) -> None:
        old = self.keys[layer]
        bigger = max(needed, 2 * old.shape[2])
        for store in (self.keys, self.values):
            grown = old.new_zeros(old.shape[0], old.shape[1], bigger, old.shape[3])
            grown[:, :, : self.length] = store[layer][:, :, : self.length]
            store[layer] = grown

    def advance(self, num_tokens: int) -> None:
        self.length += num_tokens


# ---- masks -------------------------------------------------------------------------------------------------

def causal_mask(attention_mask: torch.Tensor | None, batch_size: int, query_length: int, past_length: int,
                dtype: torch.dtype, device: torch.device, sliding_window: int | None = None) -> torch.Tensor | None:
    """Additive mask [B or 1, 1, T, S]: 0 where query i may see key j, the dtype's minimum elsewhere.

    Query i sits at position P + i and sees keys j <= P + i (causal), j > P + i - sliding_window (if the layer
    has a window) and j not padding (`attention_mask` [B, S], 1 = token, 0 = padding). Returns None when
    nothing needs masking: one new token, no padding and no window that cuts anything.
    A query whose every key is masked (a left-padding position) ends up attending uniformly, as in transformers.
    """
    total = past_length + query_length
    if attention_mask is not None and attention_mask.shape[-1] != total:
        raise ValueError(
            f"attention_mask covers {attention_mask.shape[-1]} positions but the cache and the input hold {total}; "
            "pass a mask over the cached tokens plus the new ones.")
    padded = attention_mask is not None and not bool(attention_mask.all())
    window_cuts = sliding_window is not None and total > sliding_window
    if not padded and query_length == 1 and not window_cuts:
        return None
    query_positions = torch.arange(past_length, total, device=device)[:, None]  # [T, 1]
    key_positions = torch.arange(total, device=device)[None, :]  # [1, S]
    keep = key_positions <= query_positions
    if window_cuts:
        keep = keep & (key_positions > query_positions - sliding_window)
    keep = keep[None, None]  # [1, 1, T, S]
    if padded:
        keep = keep & attention_mask[:, None, None, :].bool()  # [B, 1, T, S]
    return torch.zeros(keep.shape, dtype=dtype, device=device).masked_fill_(~keep, torch.finfo(dtype).min)


def default_position_ids(batch_size: int, query_length: int, past_length: int, device) -> torch.Tensor:
    """Positions P .. P+T-1 ([1, T], broadcast over the batch), as transformers uses when none are given."""
    return torch.arange(past_length, past_length + query_length, device=device)[None, :]


def positions_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """[B, S] -> positions counting real tokens only, so a left-padded row starts at 0 (padding gets 0)."""
    positions = attention_mask.long().cumsum(-1) - 1
    return positions.masked_fill_(attention_mask == 0, 0)


# ---- attention with grouped key/value heads ----------------------------------------------------------------

def attend_causal(query, key, value, mask, *, scale: float, dropout: float = 0.0, need_weights: bool = False):
    """query [B, H, T, Dh], key/value [B, Hkv, S, Dh] -> (context [B, H, T, Dh], weights [B, H, T, S] or None).

    Each key/value head serves H / Hkv consecutive query heads (transformers' `repeat_kv` order).
    """
    groups = query.shape[1] // key.shape[1]
    if not need_weights:
        context = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout, scale=scale,
                                                 enable_gqa=groups > 1)
        return context, None
    if groups > 1:
        key, value = key.repeat_interleave(groups, dim=1), value.repeat_interleave(groups, dim=1)
    return attend(query, key, value, mask, dropout=dropout, scale=scale, need_weights=True)


# ---- rotary position embeddings ----------------------------------------------------------------------------

ROPE_TYPES = ("default", "linear", "dynamic", "llama3", "yarn", "longrope")


class RotaryEmbedding:
    """cos/sin tables for rotary position embeddings of the rope types found on the Hub.

    Built from `rope_parameters(config)` (rope_type, rope_theta, factor, ...). `partial_rotary_factor` < 1
    rotates only the first R = int(Dh * factor) dimensions of each head. Not an nn.Module: the frequencies are
    constants derived from the config (made on the CPU even while the model is built on the meta device).
    """

    def __init__(self, params: dict[str, Any], head_dim: int, max_position_embeddings: int):
        self.rope_type = params["rope_type"]
        if self.rope_type not in ROPE_TYPES:
            raise UnsupportedModelError(
                f"rope type {self.rope_type!r} is not supported; supported: {', '.join(ROPE_TYPES)}.")
        self.params = params
        self.theta = float(params["rope_theta"])
        self.dim = int(head_dim * params.get("partial_rotary_factor", 1.0))  # R
        self.max_position_embeddings = max_position_embeddings
        self.original_max = params.get("original_max_position_embeddings") or max_position_embeddings
        self.inv_freq, self.attention_scaling = self._frequencies()

    def _exponents(self) -> torch.Tensor:  # 0, 2, 4, ... R-2 over R, as float32
        return torch.arange(0, self.dim, 2, dtype=torch.int64, device="cpu").float() / self.dim

    def _frequencies(self, seq_len=None) -> tuple[torch.Tensor, float]:
        """Inverse frequencies [R/2] and the factor that scales cos/sin, per rope type."""
        kind, p, base = self.rope_type, self.params, self.theta
        if kind == "default":
            return 1.0 / (base ** self._exponents()), 1.0
        if kind == "linear":  # positions divided by `factor`
            return 1.0 / (base ** self._exponents()) / p["factor"], 1.0
        if kind == "dynamic":  # NTK: a larger base once the sequence outgrows max_position_embeddings
            factor, limit = p["factor"], self.max_position_embeddings
            if seq_len is not None and seq_len > limit:
                length = torch.tensor(seq_len, dtype=torch.float32, device="cpu")
                base = base * ((factor * length / limit) - (factor - 1)) ** (self.dim / (self.dim - 2))
            return 1.0 / (base ** self._exponents()), 1.0
        if kind == "llama3":  # long wavelengths slowed by `factor`, short ones kept, a smooth ramp between
            inv_freq = 1.0 / (base ** self._exponents())
            factor, low, high = p["factor"], p["low_freq_factor"], p["high_freq_factor"]
            low_wavelen, high_wavelen = self.original_max / low, self.original_max / high
            wavelen = 2 * math.pi / inv_freq
            scaled = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
            smooth = (self.original_max / wavelen - low) / (high - low)
            smoothed = (1 - smooth) * scaled / factor + smooth * scaled
            medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
            return torch.where(medium, smoothed, scaled), 1.0
        if kind == "yarn":
            return self._yarn()
        # longrope: per-dimension factors, `long_factor` once the sequence outgrows the original length
        factor = p.get("factor") or self.max_position_embeddings / self.original_max
        scaling = p.get("attention_factor")
        if scaling is None:
            scaling = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(self.original_max))
        long = seq_len is not None and seq_len > self.original_max
        ext = torch.tensor(p["long_factor"] if long else p["short_factor"], dtype=torch.float32, device="cpu")
        return 1.0 / (ext * base ** self._exponents()), scaling

    def _yarn(self) -> tuple[torch.Tensor, float]:
        """YaRN: interpolate slow dimensions by `factor`, keep fast ones, ramp between; scale cos/sin."""
        p, base, dim = self.params, self.theta, self.dim
        factor = p.get("factor") or self.max_position_embeddings / self.original_max

        def mscale(scale, m=1.0):
            return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

        scaling = p.get("attention_factor")
        if scaling is None:
            if p.get("mscale") and p.get("mscale_all_dim"):
                scaling = float(mscale(factor, p["mscale"]) / mscale(factor, p["mscale_all_dim"]))
            else:
                scaling = mscale(factor)
        beta_fast, beta_slow = p.get("beta_fast") or 32, p.get("beta_slow") or 1

        def correction_dim(rotations):  # the dimension that turns `rotations` times over the original length
            return (dim * math.log(self.original_max / (rotations * 2 * math.pi))) / (2 * math.log(base))

        low, high = correction_dim(beta_fast), correction_dim(beta_slow)
        if p.get("truncate", True):
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, dim - 1)
        if low == high:
            high += 0.001
        ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32, device="cpu") - low) / (high - low), 0, 1)
        keep = 1 - ramp  # 1: extrapolate (fast dimensions), 0: interpolate
        powers = base ** (torch.arange(0, dim, 2, device="cpu").float() / dim)
        inv_freq = (1.0 / (factor * powers)) * (1 - keep) + (1.0 / powers) * keep
        return inv_freq, scaling

    def cos_sin(self, position_ids: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """position_ids [B or 1, T] -> cos, sin [B or 1, 1, T, R] (the 1 broadcasts over heads).

        The first half of `sin` is negated, ready for `apply_rotary` (computed once per forward, not per layer).
        """
        inv_freq, scaling = self.inv_freq, self.attention_scaling
        if self.rope_type in ("dynamic", "longrope"):  # these depend on the length of the sequence
            inv_freq, scaling = self._frequencies(seq_len=int(position_ids.max()) + 1)
        freqs = position_ids[..., None].float() * inv_freq.to(position_ids.device)  # [B, T, R/2]
        angles = torch.cat((freqs, freqs), dim=-1)  # [B, T, R]: the two halves of a head share frequencies
        cos, sin = angles.cos(), angles.sin()
        if scaling != 1.0:
            cos, sin = cos * scaling, sin * scaling
        half = sin.shape[-1] // 2
        signed_sin = torch.cat((-sin[..., :half], sin[..., half:]), dim=-1)
        return cos.to(dtype)[:, None], signed_sin.to(dtype)[:, None]


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, signed_sin: torch.Tensor) -> torch.Tensor:
    """Rotate x [B, H, T, Dh]: pairs (i, i + R/2) of the first R dimensions turn by their position's angle.

    x * cos + rotate_half(x) * sin with rotate_half(x) = (-x2, x1): rolling x by R/2 gives (x2, x1) and the sign
    sits in `signed_sin` (the same products, so the same numbers as transformers).
    """
    rotary_dim = cos.shape[-1]
    if rotary_dim < x.shape[-1]:
        return torch.cat((apply_rotary(x[..., :rotary_dim], cos, signed_sin), x[..., rotary_dim:]), dim=-1)
    return x * cos + x.roll(rotary_dim // 2, dims=-1) * signed_sin


def rotary_settings(config: Config, head_dim: int, *, rope_type_aliases: dict[str, str] | None = None,
                    partial_rotary_factor: float | None = None, rope_theta: float | None = None) -> RotaryEmbedding:
    """A RotaryEmbedding for a config (either rope spelling); families pass their own names for a few fields."""
    params = rope_parameters(config)
    params["rope_type"] = (rope_type_aliases or {}).get(params["rope_type"], params["rope_type"])
    if rope_theta is not None:
        params["rope_theta"] = rope_theta
    if partial_rotary_factor is not None:
        params["partial_rotary_factor"] = partial_rotary_factor
    elif "partial_rotary_factor" not in params and config.get("partial_rotary_factor") is not None:
        params["partial_rotary_factor"] = config.partial_rotary_factor
    if params["rope_type"] in ("llama3", "yarn", "longrope"):
        # a top-level original_max_position_embeddings wins (Phi-3 keeps the pre-training length there)
        top_level = config.get("original_max_position_embeddings")
        params["original_max_position_embeddings"] = (
            top_level or params.get("original_max_position_embeddings") or config.max_position_embeddings)
    return RotaryEmbedding(params, head_dim, config.max_position_embeddings)


# ---- heads -------------------------------------------------------------------------------------------------

def last_token_logits(logits: torch.Tensor, input_ids: torch.Tensor, pad_token_id: int | None) -> torch.Tensor:
    """logits [B, T, C] -> [B, C] at each row's last token that is not padding (transformers' rule).

    Without a pad_token_id the last position is used, which is only right for a single sequence.
    """
    batch_size = logits.shape[0]
    if pad_token_id is None:
        if batch_size != 1:
            raise ValueError("This model's config has no pad_token_id, so it cannot find the last token of padded "
                             "sequences; classify one sequence at a time or set config.pad_token_id.")
        return logits[:, -1]
    not_pad = (input_ids != pad_token_id).int()
    positions = torch.arange(input_ids.shape[-1], device=logits.device, dtype=torch.int32)
    last = (positions * not_pad).argmax(-1)  # the rightmost real token, for left or right padding
    return logits[torch.arange(batch_size, device=logits.device), last]


class CausalLM:
    """Mixin for text-generation heads: generation and the two steps a logit lens needs.

        model.generate(input_ids, max_new_tokens=20)        # LongTensor [B, prompt + new], as transformers
        for step in model.stream_generate(ids, tokenizer=tok): ...   # one GenerationStep per new token
        logits = model.unembed(model.final_norm(h))          # h: any residual stream [.., D] (e.g. a hook_out)

    Subclasses name their final norm in `final_norm_module()` and their unembedding in `lm_head`.
    """
    task = "text-generation"

    def final_norm_module(self) -> torch.nn.Module:
        raise NotImplementedError

    def final_norm(self, hidden: torch.Tensor) -> torch.Tensor:
        """The model's last normalisation (what transformers applies before the LM head), [.., D] -> [.., D]."""
        return self.final_norm_module()(hidden)

    def unembed(self, hidden: torch.Tensor) -> torch.Tensor:
        """The LM head alone (no norm), [.., D] -> [.., V] logits."""
        return self.lm_head(hidden)

    def generate(self, input_ids=None, **kwargs):
        from ..generation import generate

        return generate(self, input_ids, **kwargs)

    def stream_generate(self, input_ids=None, **kwargs):
        from ..generation import stream_generate

        return stream_generate(self, input_ids, **kwargs)


__all__ = ["KVCache", "causal_mask", "default_position_ids", "positions_from_mask", "attend_causal",
           "RotaryEmbedding", "apply_rotary", "rotary_settings", "last_token_logits", "CausalLM"]
