"""GPT-NeoX (Pythia, GPT-NeoX-20B and friends), read top to bottom.

Differences from the Llama-like decoders, all from config fields:
- LayerNorm with bias (`layer_norm_eps`), a plain MLP dense_4h_to_h(act(dense_h_to_4h(x))) with `hidden_act`;
- one fused `query_key_value` projection whose output is laid out head by head: [H, 3, Dh] (q, k, v of head 0,
  then of head 1, ...), not [3, H, Dh];
- rotary embeddings on the first `rotary_pct` (partial_rotary_factor) of each head, base `rotary_emb_base`;
- `use_parallel_residual`: x + attn(ln1(x)) + mlp(ln2(x)) (Pythia) or the sequential pre-norm block;
- names: `gpt_neox.embed_in`, `gpt_neox.layers.N.attention.*`, `gpt_neox.final_layer_norm`, `embed_out`.

Shapes: B batch, T tokens, D hidden size, H heads, Dh = D / H, I intermediate size, V vocabulary, S keys seen.
"""
from __future__ import annotations

from torch import nn

from .base import PreTrainedModel
from .causal import (CausalLM, KVCache, apply_rotary, attend_causal, causal_mask, default_position_ids,
                     last_token_logits, rotary_settings)
from .config import Config
from .hooks import HookPoint
from .layers import LayerRecord, activation, sequence_classification_loss, token_loss
from .llama import causal_lm_loss
from .outputs import BaseModelOutput, CausalLMOutput, SequenceClassifierOutput, TokenClassifierOutput
from .registry import Family

# transformers' GPTNeoXConfig defaults
GPT_NEOX_DEFAULTS = dict(
    vocab_size=50432, hidden_size=6144, num_hidden_layers=44, num_attention_heads=64, intermediate_size=24576,
    hidden_act="gelu", attention_dropout=0.0, hidden_dropout=0.0, classifier_dropout=0.1,
    max_position_embeddings=2048, initializer_range=0.02, layer_norm_eps=1e-5, use_cache=True, bos_token_id=0,
    eos_token_id=2, pad_token_id=None, tie_word_embeddings=False, use_parallel_residual=True, attention_bias=True,
)


def rotary_for(config: Config, head_dim: int):
    """GPT-NeoX's own names (rotary_pct, rotary_emb_base) unless rope_parameters already carries the values."""
    given = config.get("rope_parameters") or {}
    partial = given.get("partial_rotary_factor", config.get("rotary_pct", 0.25))
    theta = given.get("rope_theta", config.get("rope_theta", config.get("rotary_emb_base", 10000.0)))
    return rotary_settings(config, head_dim, partial_rotary_factor=partial, rope_theta=theta)


class GPTNeoXAttention(nn.Module):
    def __init__(self, config: Config, layer_index: int):
        super().__init__()
        D, H = config.hidden_size, config.num_attention_heads
        if D % H:
            raise ValueError(f"hidden_size {D} is not a multiple of num_attention_heads {H}")
        self.layer_index, self.num_heads, self.head_dim = layer_index, H, D // H
        self.scale = self.head_dim ** -0.5
        self.query_key_value = nn.Linear(D, 3 * D, bias=config.attention_bias)
        self.dense = nn.Linear(D, D, bias=config.attention_bias)
        self.dropout_p = config.attention_dropout
        self.hook_pattern = HookPoint()  # [B, H, T, S] attention weights (only computed when asked for)

    def forward(self, x, rope, mask, cache: KVCache | None, need_weights: bool):
        B, T, D = x.shape
        qkv = self.query_key_value(x).view(B, T, self.num_heads, 3 * self.head_dim).transpose(1, 2)  # [B, H, T, 3Dh]
        q, k, v = qkv.chunk(3, dim=-1)  # each [B, H, T, Dh]
        cos, sin = rope
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        if cache is not None:
            k, v = cache.update(self.layer_index, k, v)
        need_weights = need_weights or self.hook_pattern.active
        context, weights = attend_causal(q, k, v, mask, scale=self.scale, need_weights=need_weights,
                                         dropout=self.dropout_p if self.training else 0.0)
        if weights is not None:
            weights = self.hook_pattern(weights)
        return self.dense(context.transpose(1, 2).reshape(B, T, D)), weights


class GPTNeoXMLP(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.dense_h_to_4h = nn.Linear(config.hidden_size, config.intermediate_size)
        self.dense_4h_to_h = nn.Linear(config.intermediate_size, config.hidden_size)
        self.act = activation(config.hidden_act)
        self.hook_post = HookPoint()  # [B, T, I] MLP activations

    def forward(self, x):
        return self.dense_4h_to_h(self.hook_post(self.act(self.dense_h_to_4h(x))))


class GPTNeoXLayer(nn.Module):
    def __init__(self, config: Config, layer_index: int):
        super().__init__()
        self.parallel = config.use_parallel_residual
        self.input_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.post_attention_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.post_attention_dropout = nn.Dropout(config.hidden_dropout)
        self.post_mlp_dropout = nn.Dropout(config.hidden_dropout)
        self.attention = GPTNeoXAttention(config, layer_index)
        self.mlp = GPTNeoXMLP(config)
        self.hook_out = HookPoint()  # [B, T, D] the residual stream after this layer

    def forward(self, x, rope, mask, cache, need_weights: bool):
        attended, weights = self.attention(self.input_layernorm(x), rope, mask, cache, need_weights)
        attended = self.post_attention_dropout(attended)
        if self.parallel:  # both branches read the same input
            x = self.post_mlp_dropout(self.mlp(self.post_attention_layernorm(x))) + attended + x
        else:  # the MLP reads the attention block's output
            attended = attended + x
            x = self.post_mlp_dropout(self.mlp(self.post_attention_layernorm(attended))) + attended
        return self.hook_out(x), weights


# ---- the base model (feature-extraction) -------------------------------------------------------------------

class GPTNeoXFamilyModel(PreTrainedModel):
    suffix = "Model"
    # old checkpoints saved the causal-mask buffers and rotary frequencies
    ignore_unexpected = PreTrainedModel.ignore_unexpected + (
        "*attention.bias", "*attention.masked_bias", "*rotary_emb.inv_freq")

    def __init__(self, config: Config):
        super().__init__(config, "gpt_neox")

    def architecture_name(self) -> str:
        return "GPTNeoX" + self.suffix


class GPTNeoXModel(GPTNeoXFamilyModel):
    def __init__(self, config: Config):
        super().__init__(config)
        self.embed_in = nn.Embedding(config.vocab_size, config.hidden_size)
        self.emb_dropout = nn.Dropout(config.hidden_dropout)
        self.layers = nn.ModuleList(GPTNeoXLayer(config, i) for i in range(config.num_hidden_layers))
        self.final_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.rotary = rotary_for(config, config.hidden_size // config.num_attention_heads)

    def cache_shape(self) -> tuple[int, int, int]:  # (layers, key/value heads, head size) for a KVCache
        H = self.config.num_attention_heads
        return len(self.layers), H, self.config.hidden_size // H

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None, use_cache=False,
                inputs_embeds=None, output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        x = self.embed_in(input_ids) if inputs_embeds is None else inputs_embeds
        B, T, _ = x.shape
        cache = past_key_values
        if cache is None and use_cache:
            cache = KVCache.for_model(self, B, T)
        past = cache.length if cache is not None else 0
        if position_ids is None:
            position_ids = default_position_ids(B, T, past, x.device)
        mask = causal_mask(attention_mask, B, T, past, x.dtype, x.device)
        x = self.emb_dropout(x)
        rope = self.rotary.cos_sin(position_ids, x.dtype)
        record = LayerRecord(x, output_attentions, output_hidden_states)
        for i, layer in enumerate(self.layers):
            x, weights = layer(x, rope, mask, cache, record.wants_weights(i))
            record.add(i, x, weights)
        if cache is not None:
            cache.advance(T)
        x = self.final_layer_norm(x)
        record.replace_last(x)  # transformers' convention: the last hidden state is after the final norm
        return BaseModelOutput(
            last_hidden_state=x,
            past_key_values=cache,
            hidden_states=record.hidden_states,
            attentions=record.attentions,
        )


class GPTNeoXHeadModel(GPTNeoXFamilyModel):
    def __init__(self, config: Config):
        super().__init__(config)
        self.gpt_neox = GPTNeoXModel(config)

    def run_base(self, input_ids, attention_mask, position_ids, past_key_values, use_cache, inputs_embeds,
                 output_attentions, output_hidden_states) -> BaseModelOutput:
        return self.gpt_neox(input_ids, attention_mask, position_ids, past_key_values, use_cache, inputs_embeds,
                             output_attentions=output_attentions, output_hidden_states=output_hidden_states)


# ---- heads -----------------------------------------------------------------------------------------------------

class GPTNeoXForCausalLM(CausalLM, GPTNeoXHeadModel):
    suffix = "ForCausalLM"

    def __init__(self, config: Config):
        super().__init__(config)
        self.embed_out = nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    @property
    def lm_head(self) -> nn.Module:  # the unembedding under its usual name (checkpoints call it embed_out)
        return self.embed_out

    def tied_weights(self) -> dict[str, str]:
        return {"embed_out.weight": "gpt_neox.embed_in.weight"} if self.config.get("tie_word_embeddings") else {}

    def final_norm_module(self) -> nn.Module:
        return self.gpt_neox.final_layer_norm

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None, use_cache=False,
                inputs_embeds=None, labels=None, logits_to_keep: int = 0, output_attentions=False,
                output_hidden_states=False, return_dict=True, **unused):
        base = self.run_base(input_ids, attention_mask, position_ids, past_key_values, use_cache, inputs_embeds,
                             output_attentions, output_hidden_states)
        hidden = base.last_hidden_state
        if logits_to_keep:
            hidden = hidden[:, -logits_to_keep:]
        logits = self.embed_out(hidden)  # [B, T, V]
        loss = causal_lm_loss(logits, labels) if labels is not None else None
        return CausalLMOutput(loss, logits, base.past_key_values, base.hidden_states, base.attentions)


class GPTNeoXForSequenceClassification(GPTNeoXHeadModel):
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


class GPTNeoXForTokenClassification(GPTNeoXHeadModel):
    task, suffix = "token-classification", "ForTokenClassification"

    def __init__(self, config: Config):
        super().__init__(config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None, use_cache=False,
                inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False, return_dict=True,
                **unused):
        base = self.run_base(input_ids, attention_mask, position_ids, past_key_values, use_cache, inputs_embeds,
                             output_attentions, output_hidden_states)
        logits = self.classifier(self.dropout(base.last_hidden_state))  # [B, T, C]
        loss = token_loss(logits, labels) if labels is not None else None
        return TokenClassifierOutput(loss, logits, base.hidden_states, base.attentions)


HEADS = {
    "feature-extraction": GPTNeoXModel,
    "text-generation": GPTNeoXForCausalLM,
    "text-classification": GPTNeoXForSequenceClassification,
    "token-classification": GPTNeoXForTokenClassification,
}
FAMILIES = {"gpt_neox": Family("gpt_neox", HEADS, GPT_NEOX_DEFAULTS)}
