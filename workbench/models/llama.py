"""Llama and the decoders built like it (Mistral, Qwen2, Gemma, Phi-3): one config-driven model, top to bottom.

Every layer is pre-norm: x + attention(RMSNorm(x)), then x + MLP(RMSNorm(x)), with rotary positions on queries
and keys and a gated MLP down(act(gate(x)) * up(x)). What differs between the five is data, read from config
fields and from the small FLAVORS table below (never from a checkpoint's name):
- key/value heads (`num_key_value_heads`: = heads for MHA, 1 for MQA, in between for GQA) and `head_dim`;
- biases (`attention_bias`, `mlp_bias`; Qwen2 always has q/k/v biases);
- Gemma's RMSNorm scales by (1 + weight) and its embeddings are multiplied by sqrt(hidden_size);
- Phi-3 stores q/k/v as one `qkv_proj` and gate/up as one `gate_up_proj`;
- rotary settings (`rope_parameters`/`rope_scaling`, `partial_rotary_factor`);
- a sliding attention window (`sliding_window`; Qwen2 gates it with `use_sliding_window`/`max_window_layers`
  or lists `layer_types`).

Shapes: B batch, T tokens, D hidden size, H query heads, Hkv key/value heads, Dh head size, I MLP size,
V vocabulary, S keys seen (cached + new). Module names equal the checkpoint's tensor names
(`model.layers.0.self_attn.q_proj.weight`, `lm_head.weight`), so loading is the identity map.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UnsupportedModelError
from .base import PreTrainedModel
from .causal import (CausalLM, KVCache, apply_rotary, attend_causal, causal_mask, default_position_ids,
                     last_token_logits, rotary_settings)
from .config import Config
from .hooks import HookPoint
from .layers import LayerRecord, activation, sequence_classification_loss, token_loss
from .outputs import BaseModelOutput, CausalLMOutput, SequenceClassifierOutput, TokenClassifierOutput
from .registry import Family


@dataclass(frozen=True)
class Flavor:
    """What a model_type changes in this family beyond its config fields."""
    architecture: str  # transformers class-name prefix
    qkv_bias: bool = False  # q/k/v projections always have a bias (Qwen2), whatever attention_bias says
    fused_projections: bool = False  # one qkv_proj and one gate_up_proj (Phi-3)
    norm_offset: float = 0.0  # RMSNorm multiplies by (offset + weight): 1 for Gemma
    scale_embeddings: bool = False  # embeddings times sqrt(hidden_size) (Gemma)
    window_gated: bool = False  # sliding_window applies only if use_sliding_window, from layer max_window_layers on
    residual_dropout_field: str | None = None  # config field of the dropout on each residual branch (Phi-3)
    rope_type_aliases: dict[str, str] = field(default_factory=dict)  # Phi-3 calls longrope "su" or "yarn"
    activation_aliases: dict[str, str] = field(default_factory=dict)  # Gemma's "gelu" means the tanh GELU


FLAVORS = {
    "llama": Flavor("Llama"),
    "mistral": Flavor("Mistral"),
    "qwen2": Flavor("Qwen2", qkv_bias=True, window_gated=True),
    "gemma": Flavor("Gemma", norm_offset=1.0, scale_embeddings=True, activation_aliases={"gelu": "gelu_pytorch_tanh"}),
    "phi3": Flavor("Phi3", fused_projections=True, residual_dropout_field="resid_pdrop",
                   rope_type_aliases={"su": "longrope", "yarn": "longrope"}),
}

# transformers' config defaults for each model_type (what a config.json that omits a field means)
_COMMON = dict(hidden_act="silu", initializer_range=0.02, rms_norm_eps=1e-6, use_cache=True, attention_dropout=0.0,
               pad_token_id=None, bos_token_id=1, eos_token_id=2, tie_word_embeddings=False)
DEFAULTS = {
    "llama": {**_COMMON, "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
              "num_attention_heads": 32, "max_position_embeddings": 2048, "attention_bias": False, "mlp_bias": False},
    "mistral": {**_COMMON, "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
                "num_attention_heads": 32, "num_key_value_heads": 8, "max_position_embeddings": 4096 * 32,
                "sliding_window": 4096},
    "qwen2": {**_COMMON, "vocab_size": 151936, "hidden_size": 4096, "intermediate_size": 22016, "num_hidden_layers": 32,
              "num_attention_heads": 32, "num_key_value_heads": 32, "max_position_embeddings": 32768,
              "use_sliding_window": False, "sliding_window": 4096, "max_window_layers": 28, "bos_token_id": None,
              "eos_token_id": None},
    "gemma": {**_COMMON, "vocab_size": 256000, "hidden_size": 3072, "intermediate_size": 24576, "num_hidden_layers": 28,
              "num_attention_heads": 16, "num_key_value_heads": 16, "head_dim": 256, "hidden_act": "gelu_pytorch_tanh",
              "max_position_embeddings": 8192, "pad_token_id": 0, "eos_token_id": 1, "bos_token_id": 2,
              "tie_word_embeddings": True, "attention_bias": False},
    "phi3": {**_COMMON, "vocab_size": 32064, "hidden_size": 3072, "intermediate_size": 8192, "num_hidden_layers": 32,
             "num_attention_heads": 32, "resid_pdrop": 0.0, "embd_pdrop": 0.0, "max_position_embeddings": 4096,
             "original_max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "bos_token_id": 1, "eos_token_id": 32000,
             "pad_token_id": 32000, "sliding_window": None},
}


def flavor_of(config: Config) -> Flavor:
    return FLAVORS[config.model_type]


def head_dim_of(config: Config) -> int:
    return config.get("head_dim") or config.hidden_size // config.num_attention_heads


def num_kv_heads_of(config: Config) -> int:
    return config.get("num_key_value_heads") or config.num_attention_heads


def sliding_window_of(config: Config, layer_index: int) -> int | None:
    """The attention window of one layer (None = full causal attention), as transformers decides it."""
    window = config.get("sliding_window")
    layer_types = config.get("layer_types")
    if layer_types:  # explicit per-layer list (Qwen2 configs written by recent transformers)
        return window if layer_types[layer_index] == "sliding_attention" else None
    if flavor_of(config).window_gated:
        if not config.get("use_sliding_window", False) or layer_index < config.get("max_window_layers", 0):
            return None
    return window


# ---- norm, attention, MLP ------------------------------------------------------------------------------------

class RMSNorm(nn.Module):
    """x / rms(x) * weight, computed in float32 (Gemma: * (1 + weight), also in float32, as transformers)."""

    def __init__(self, size: int, eps: float, offset: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(size) if offset else torch.ones(size))
        self.eps, self.offset = eps, offset

    def forward(self, x):  # [.., D] -> [.., D]
        if self.offset == 0 and x.dtype == self.weight.dtype == torch.float32:  # one fused kernel, same numbers
            return F.rms_norm(x, (x.shape[-1],), self.weight, eps=self.eps)
        normed = F.rms_norm(x.float(), (x.shape[-1],), eps=self.eps)
        if self.offset:
            return (normed * (self.offset + self.weight.float())).to(x.dtype)
        return self.weight * normed.to(x.dtype)


class LlamaAttention(nn.Module):
    def __init__(self, config: Config, layer_index: int):
        super().__init__()
        flavor = flavor_of(config)
        self.layer_index = layer_index
        self.num_heads, self.num_kv_heads = config.num_attention_heads, num_kv_heads_of(config)
        if self.num_heads % self.num_kv_heads:
            raise ValueError(f"num_attention_heads {self.num_heads} is not a multiple of num_key_value_heads {self.num_kv_heads}")
        self.head_dim = head_dim_of(config)
        self.scale = self.head_dim ** -0.5
        self.dropout_p = config.get("attention_dropout", 0.0)
        self.sliding_window = sliding_window_of(config, layer_index)
        q_size, kv_size = self.num_heads * self.head_dim, self.num_kv_heads * self.head_dim
        self.split_sizes = (q_size, kv_size, kv_size)
        if flavor.fused_projections:
            self.qkv_proj = nn.Linear(config.hidden_size, q_size + 2 * kv_size, bias=False)
        else:
            qkv_bias = flavor.qkv_bias or config.get("attention_bias", False)
            self.q_proj = nn.Linear(config.hidden_size, q_size, bias=qkv_bias)
            self.k_proj = nn.Linear(config.hidden_size, kv_size, bias=qkv_bias)
            self.v_proj = nn.Linear(config.hidden_size, kv_size, bias=qkv_bias)
        self.o_proj = nn.Linear(q_size, config.hidden_size, bias=config.get("attention_bias", False) and not flavor.fused_projections)
        self.hook_pattern = HookPoint()  # [B, H, T, S] attention weights (only computed when asked for)

    def project(self, x):  # [B, T, D] -> q [B, T, H*Dh], k and v [B, T, Hkv*Dh]
        if hasattr(self, "qkv_proj"):
            return self.qkv_proj(x).split(self.split_sizes, dim=-1)
        return self.q_proj(x), self.k_proj(x), self.v_proj(x)

    def forward(self, x, rope, mask, cache: KVCache | None, need_weights: bool):
        B, T, _ = x.shape
        q, k, v = self.project(x)
        q = q.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)  # [B, H, T, Dh]
        k = k.view(B, T, self.num_kv_heads, self.head_dim).transpose(1, 2)  # [B, Hkv, T, Dh]
        v = v.view(B, T, self.num_kv_heads, self.head_dim).transpose(1, 2)
        cos, sin = rope
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        if cache is not None:
            k, v = cache.update(self.layer_index, k, v)  # [B, Hkv, S, Dh], earlier tokens included
        need_weights = need_weights or self.hook_pattern.active
        context, weights = attend_causal(q, k, v, mask, scale=self.scale, need_weights=need_weights,
                                         dropout=self.dropout_p if self.training else 0.0)
        if weights is not None:
            weights = self.hook_pattern(weights)
        return self.o_proj(context.transpose(1, 2).reshape(B, T, -1)), weights


class LlamaMLP(nn.Module):  # down(act(gate(x)) * up(x))
    def __init__(self, config: Config):
        super().__init__()
        flavor = flavor_of(config)
        bias = config.get("mlp_bias", False)
        if flavor.fused_projections:
            self.gate_up_proj = nn.Linear(config.hidden_size, 2 * config.intermediate_size, bias=False)
        else:
            self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=bias)
            self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=bias)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=bias)
        self.act = activation(flavor.activation_aliases.get(config.hidden_act, config.hidden_act))
        self.hook_post = HookPoint()  # [B, T, I] gated activations

    def forward(self, x):
        if hasattr(self, "gate_up_proj"):
            gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        else:
            gate, up = self.gate_proj(x), self.up_proj(x)
        return self.down_proj(self.hook_post(self.act(gate) * up))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, config: Config, layer_index: int):
        super().__init__()
        flavor = flavor_of(config)
        self.self_attn = LlamaAttention(config, layer_index)
        self.mlp = LlamaMLP(config)
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps, flavor.norm_offset)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps, flavor.norm_offset)
        p = config.get(flavor.residual_dropout_field, 0.0) if flavor.residual_dropout_field else 0.0
        self.residual_dropout = nn.Dropout(p) if p else None
        self.hook_out = HookPoint()  # [B, T, D] the residual stream after this layer

    def branch(self, y):
        return self.residual_dropout(y) if self.residual_dropout is not None else y

    def forward(self, x, rope, mask, cache, need_weights: bool):
        attended, weights = self.self_attn(self.input_layernorm(x), rope, mask, cache, need_weights)
        x = x + self.branch(attended)
        x = x + self.branch(self.mlp(self.post_attention_layernorm(x)))
        return self.hook_out(x), weights


# ---- the base model (feature-extraction) -----------------------------------------------------------------------

class LlamaFamilyModel(PreTrainedModel):
    """Shared by the base model and every head: naming and saving in this family's layout."""
    suffix = "Model"
    ignore_unexpected = PreTrainedModel.ignore_unexpected + ("*rotary_emb.inv_freq",)

    def __init__(self, config: Config):
        super().__init__(config, "model")

    def architecture_name(self) -> str:
        return flavor_of(self.config).architecture + self.suffix


class LlamaModel(LlamaFamilyModel):
    def __init__(self, config: Config):
        super().__init__(config)
        flavor = flavor_of(config)
        if config.get("use_bidirectional_attention"):
            raise UnsupportedModelError("use_bidirectional_attention=True is not supported; only causal decoders are.")
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.get("pad_token_id"))
        self.embed_scale = config.hidden_size ** 0.5 if flavor.scale_embeddings else None
        self.layers = nn.ModuleList(LlamaDecoderLayer(config, i) for i in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps, flavor.norm_offset)
        self.rotary = rotary_settings(config, head_dim_of(config), rope_type_aliases=flavor.rope_type_aliases)

    def cache_shape(self) -> tuple[int, int, int]:  # (layers, key/value heads, head size) for a KVCache
        return len(self.layers), num_kv_heads_of(self.config), head_dim_of(self.config)

    def embed(self, input_ids):  # [B, T] -> [B, T, D]
        x = self.embed_tokens(input_ids)
        if self.embed_scale is not None:  # the scale rounded to the weights' dtype first, as transformers does
            x = x * torch.tensor(self.embed_scale, dtype=x.dtype)
        return x

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None, use_cache=False,
                inputs_embeds=None, output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        x = self.embed(input_ids) if inputs_embeds is None else inputs_embeds
        B, T, _ = x.shape
        cache = past_key_values
        if cache is None and use_cache:
            cache = KVCache.for_model(self, B, T)
        past = cache.length if cache is not None else 0
        if position_ids is None:
            position_ids = default_position_ids(B, T, past, x.device)
        # one additive mask per distinct window (most models: a single causal mask for every layer)
        masks = {}
        for layer in self.layers:
            window = layer.self_attn.sliding_window
            if window not in masks:
                masks[window] = causal_mask(attention_mask, B, T, past, x.dtype, x.device, window)
        rope = self.rotary.cos_sin(position_ids, x.dtype)
        record = LayerRecord(x, output_attentions, output_hidden_states)
        for i, layer in enumerate(self.layers):
            x, weights = layer(x, rope, masks[layer.self_attn.sliding_window], cache, record.wants_weights(i))
            record.add(i, x, weights)
        if cache is not None:
            cache.advance(T)
        x = self.norm(x)
        record.replace_last(x)  # transformers' convention: the last hidden state is after the final norm
        return BaseModelOutput(
            last_hidden_state=x,
            past_key_values=cache,
            hidden_states=record.hidden_states,
            attentions=record.attentions,
        )


class LlamaHeadModel(LlamaFamilyModel):
    """The base model under `model.` plus one head."""

    def __init__(self, config: Config):
        super().__init__(config)
        self.model = LlamaModel(config)

    def run_base(self, input_ids, attention_mask, position_ids, past_key_values, use_cache, inputs_embeds,
                 output_attentions, output_hidden_states) -> BaseModelOutput:
        return self.model(input_ids, attention_mask, position_ids, past_key_values, use_cache, inputs_embeds,
                          output_attentions=output_attentions, output_hidden_states=output_hidden_states)


# ---- text-generation -----------------------------------------------------------------------------------------

class LlamaForCausalLM(CausalLM, LlamaHeadModel):
    suffix = "ForCausalLM"

    def __init__(self, config: Config):
        super().__init__(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    def tied_weights(self) -> dict[str, str]:
        return {"lm_head.weight": "model.embed_tokens.weight"} if self.config.get("tie_word_embeddings") else {}

    def final_norm_module(self) -> nn.Module:
        return self.model.norm

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None, use_cache=False,
                inputs_embeds=None, labels=None, logits_to_keep: int = 0, output_attentions=False,
                output_hidden_states=False, return_dict=True, **unused):
        base = self.run_base(input_ids, attention_mask, position_ids, past_key_values, use_cache, inputs_embeds,
                             output_attentions, output_hidden_states)
        hidden = base.last_hidden_state
        if logits_to_keep:
            hidden = hidden[:, -logits_to_keep:]  # generation only needs the last position's logits
        logits = self.lm_head(hidden)  # [B, T, V]
        loss = causal_lm_loss(logits, labels) if labels is not None else None
        return CausalLMOutput(loss, logits, base.past_key_values, base.hidden_states, base.attentions)


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy: position t predicts label t + 1; -100 labels are ignored."""
    return token_loss(logits[:, :-1], labels[:, 1:])


# ---- text-classification and token-classification --------------------------------------------------------------

class LlamaForSequenceClassification(LlamaHeadModel):
    task, suffix = "text-classification", "ForSequenceClassification"

    def __init__(self, config: Config):
        super().__init__(config)
        self.score = nn.Linear(config.hidden_size, config.num_labels, bias=False)

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None, use_cache=False,
                inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False, return_dict=True,
                **unused):
        base = self.run_base(input_ids, attention_mask, position_ids, past_key_values, use_cache, inputs_embeds,
                             output_attentions, output_hidden_states)
        logits = last_token_logits(self.score(base.last_hidden_state), input_ids, self.config.get("pad_token_id"))
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        return SequenceClassifierOutput(loss, logits, base.past_key_values, base.hidden_states, base.attentions)


class LlamaForTokenClassification(LlamaHeadModel):
    task, suffix = "token-classification", "ForTokenClassification"

    def __init__(self, config: Config):
        super().__init__(config)
        dropout = config.get("classifier_dropout")
        if dropout is None:
            dropout = config.get("hidden_dropout")
        if dropout is None:
            dropout = 0.1
        self.dropout = nn.Dropout(dropout)
        self.score = nn.Linear(config.hidden_size, config.num_labels, bias=config.get("token_classification_bias", True))

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None, use_cache=False,
                inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False, return_dict=True,
                **unused):
        base = self.run_base(input_ids, attention_mask, position_ids, past_key_values, use_cache, inputs_embeds,
                             output_attentions, output_hidden_states)
        logits = self.score(self.dropout(base.last_hidden_state))  # [B, T, C]
        loss = token_loss(logits, labels) if labels is not None else None
        return TokenClassifierOutput(loss, logits, base.hidden_states, base.attentions)


HEADS = {
    "feature-extraction": LlamaModel,
    "text-generation": LlamaForCausalLM,
    "text-classification": LlamaForSequenceClassification,
    "token-classification": LlamaForTokenClassification,
}
FAMILIES = {model_type: Family("llama", HEADS, DEFAULTS[model_type]) for model_type in FLAVORS}
