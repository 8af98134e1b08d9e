"""GPT-2 (also DistilGPT2 and DialoGPT checkpoints), read top to bottom.

Learned absolute positions, pre-LayerNorm blocks x + attn(ln_1(x)), x + mlp(ln_2(x)), a final ln_f and an LM head
tied to the token embeddings. GPT-2 stores its projections as "Conv1D": weight [in, out] (the transpose of
nn.Linear), so `Conv1D` below keeps that layout and the checkpoint loads by identity.
Config fields used: n_embd, n_layer, n_head, n_positions, n_inner, activation_function, layer_norm_epsilon,
scale_attn_weights, scale_attn_by_inverse_layer_idx, reorder_and_upcast_attn, *_pdrop, tie_word_embeddings.

Shapes: B batch, T tokens, D = n_embd, H heads, Dh = D / H, I MLP size, V vocabulary, S keys seen.
"""
from __future__ import annotations

import torch
from torch import nn

from .base import PreTrainedModel
from .causal import CausalLM, KVCache, attend_causal, causal_mask, default_position_ids, last_token_logits
from .config import Config
from .hooks import HookPoint
from .layers import LayerRecord, activation, sequence_classification_loss, token_loss
from .llama import causal_lm_loss
from .outputs import BaseModelOutput, CausalLMOutput, SequenceClassifierOutput, TokenClassifierOutput
from .registry import Family

# transformers' GPT2Config defaults
GPT2_DEFAULTS = dict(
    vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12, n_inner=None,
    activation_function="gelu_new", resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1, layer_norm_epsilon=1e-5,
    initializer_range=0.02, scale_attn_weights=True, use_cache=True, bos_token_id=50256, eos_token_id=50256,
    pad_token_id=None, scale_attn_by_inverse_layer_idx=False, reorder_and_upcast_attn=False, tie_word_embeddings=True,
)


class Conv1D(nn.Module):
    """A linear layer stored as weight [in, out] (GPT-2's checkpoint layout): y = x @ weight + bias."""

    def __init__(self, in_features: int, out_features: int, std: float = 0.02):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        nn.init.normal_(self.weight, std=std)

    def forward(self, x):  # [.., in] -> [.., out]
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(*x.shape[:-1], -1)


class GPT2Attention(nn.Module):
    def __init__(self, config: Config, layer_index: int):
        super().__init__()
        D, H = config.n_embd, config.n_head
        if D % H:
            raise ValueError(f"n_embd {D} is not a multiple of n_head {H}")
        self.layer_index, self.num_heads, self.head_dim = layer_index, H, D // H
        self.scale = self.head_dim ** -0.5 if config.scale_attn_weights else 1.0
        if config.scale_attn_by_inverse_layer_idx:  # deeper layers get flatter attention
            self.scale /= float(layer_index + 1)
        self.upcast = config.reorder_and_upcast_attn  # scores in float32 even for half-precision weights
        self.c_attn = Conv1D(D, 3 * D)  # q, k, v side by side
        self.c_proj = Conv1D(D, D)
        self.dropout_p = config.attn_pdrop
        self.resid_dropout = nn.Dropout(config.resid_pdrop)
        self.hook_pattern = HookPoint()  # [B, H, T, S] attention weights (only computed when asked for)

    def forward(self, x, mask, cache: KVCache | None, need_weights: bool):
        B, T, D = x.shape
        q, k, v = (t.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)  # each [B, H, T, Dh]
                   for t in self.c_attn(x).split(D, dim=-1))
        if cache is not None:
            k, v = cache.update(self.layer_index, k, v)  # [B, H, S, Dh]
        need_weights = need_weights or self.hook_pattern.active
        dtype = q.dtype
        if self.upcast and need_weights:
            q, k, v = q.float(), k.float(), v.float()
            mask = mask.float() if mask is not None else None
        context, weights = attend_causal(q, k, v, mask, scale=self.scale, need_weights=need_weights,
                                         dropout=self.dropout_p if self.training else 0.0)
        if weights is not None:
            weights = self.hook_pattern(weights.to(dtype))
        context = context.to(dtype).transpose(1, 2).reshape(B, T, D)
        return self.resid_dropout(self.c_proj(context)), weights


class GPT2MLP(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        inner = config.n_inner or 4 * config.n_embd
        self.c_fc = Conv1D(config.n_embd, inner)
        self.c_proj = Conv1D(inner, config.n_embd)
        self.act = activation(config.activation_function)
        self.dropout = nn.Dropout(config.resid_pdrop)
        self.hook_post = HookPoint()  # [B, T, I] MLP activations

    def forward(self, x):
        return self.dropout(self.c_proj(self.hook_post(self.act(self.c_fc(x)))))


class GPT2Block(nn.Module):
    def __init__(self, config: Config, layer_index: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = GPT2Attention(config, layer_index)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = GPT2MLP(config)
        self.hook_out = HookPoint()  # [B, T, D] the residual stream after this block

    def forward(self, x, mask, cache, need_weights: bool):
        attended, weights = self.attn(self.ln_1(x), mask, cache, need_weights)
        x = attended + x
        x = x + self.mlp(self.ln_2(x))
        return self.hook_out(x), weights


# ---- the base model (feature-extraction) -------------------------------------------------------------------

class GPT2FamilyModel(PreTrainedModel):
    suffix = "Model"
    # old checkpoints saved the causal-mask buffers
    ignore_unexpected = PreTrainedModel.ignore_unexpected + ("*.attn.bias", "*.attn.masked_bias", "attn.bias", "attn.masked_bias")

    def __init__(self, config: Config):
        super().__init__(config, "transformer")

    def architecture_name(self) -> str:
        return "GPT2" + self.suffix


class GPT2Model(GPT2FamilyModel):
    def __init__(self, config: Config):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.drop = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList(GPT2Block(config, i) for i in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)

    def cache_shape(self) -> tuple[int, int, int]:  # (layers, key/value heads, head size) for a KVCache
        return len(self.h), self.config.n_head, self.config.n_embd // self.config.n_head

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None, use_cache=False,
                inputs_embeds=None, token_type_ids=None, output_attentions=False, output_hidden_states=False,
                return_dict=True, **unused):
        x = self.wte(input_ids) if inputs_embeds is None else inputs_embeds
        B, T, _ = x.shape
        cache = past_key_values
        if cache is None and use_cache:
            cache = KVCache.for_model(self, B, T)
        past = cache.length if cache is not None else 0
        if position_ids is None:
            position_ids = default_position_ids(B, T, past, x.device)
        if int(position_ids.max()) >= self.wpe.num_embeddings:
            raise ValueError(f"Input reaches position {int(position_ids.max())} but this model has "
                             f"{self.wpe.num_embeddings} positions; shorten the input.")
        x = x + self.wpe(position_ids)
        if token_type_ids is not None:  # GPT-2 embeds token types with the token embeddings
            x = x + self.wte(token_type_ids)
        x = self.drop(x)
        mask = causal_mask(attention_mask, B, T, past, x.dtype, x.device)
        record = LayerRecord(x, output_attentions, output_hidden_states)
        for i, block in enumerate(self.h):
            x, weights = block(x, mask, cache, record.wants_weights(i))
            record.add(i, x, weights)
        if cache is not None:
            cache.advance(T)
        x = self.ln_f(x)
        record.replace_last(x)  # transformers' convention: the last hidden state is after the final norm
        return BaseModelOutput(
            last_hidden_state=x,
            past_key_values=cache,
            hidden_states=record.hidden_states,
            attentions=record.attentions,
        )


class GPT2HeadModel(GPT2FamilyModel):
    def __init__(self, config: Config):
        super().__init__(config)
        self.transformer = GPT2Model(config)

    def run_base(self, input_ids, attention_mask, position_ids, past_key_values, use_cache, inputs_embeds,
                 token_type_ids, output_attentions, output_hidden_states) -> BaseModelOutput:
        return self.transformer(input_ids, attention_mask, position_ids, past_key_values, use_cache, inputs_embeds,
                                token_type_ids, output_attentions=output_attentions,
                                output_hidden_states=output_hidden_states)


# ---- heads -----------------------------------------------------------------------------------------------------

class GPT2LMHeadModel(CausalLM, GPT2HeadModel):
    suffix = "LMHeadModel"

    def __init__(self, config: Config):
        super().__init__(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)

    def tied_weights(self) -> dict[str, str]:
        return {"lm_head.weight": "transformer.wte.weight"} if self.config.get("tie_word_embeddings", True) else {}

    def final_norm_module(self) -> nn.Module:
        return self.transformer.ln_f

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None, use_cache=False,
                inputs_embeds=None, token_type_ids=None, labels=None, logits_to_keep: int = 0,
                output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        base = self.run_base(input_ids, attention_mask, position_ids, past_key_values, use_cache, inputs_embeds,
                             token_type_ids, output_attentions, output_hidden_states)
        hidden = base.last_hidden_state
        if logits_to_keep:
            hidden = hidden[:, -logits_to_keep:]
        logits = self.lm_head(hidden)  # [B, T, V]
        loss = causal_lm_loss(logits, labels) if labels is not None else None
        return CausalLMOutput(loss, logits, base.past_key_values, base.hidden_states, base.attentions)


class GPT2ForSequenceClassification(GPT2HeadModel):
    task, suffix = "text-classification", "ForSequenceClassification"

    def __init__(self, config: Config):
        super().__init__(config)
        self.score = nn.Linear(config.n_embd, config.num_labels, bias=False)

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None, use_cache=False,
                inputs_embeds=None, token_type_ids=None, labels=None, output_attentions=False,
                output_hidden_states=False, return_dict=True, **unused):
        base = self.run_base(input_ids, attention_mask, position_ids, past_key_values, use_cache, inputs_embeds,
                             token_type_ids, output_attentions, output_hidden_states)
        logits = last_token_logits(self.score(base.last_hidden_state), input_ids, self.config.get("pad_token_id"))
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        return SequenceClassifierOutput(loss, logits, base.past_key_values, base.hidden_states, base.attentions)


class GPT2ForTokenClassification(GPT2HeadModel):
    task, suffix = "token-classification", "ForTokenClassification"

    def __init__(self, config: Config):
        super().__init__(config)
        dropout = config.get("classifier_dropout")
        if dropout is None:
            dropout = config.get("hidden_dropout")
        self.dropout = nn.Dropout(0.1 if dropout is None else dropout)
        self.classifier = nn.Linear(config.n_embd, config.num_labels)

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None, use_cache=False,
                inputs_embeds=None, token_type_ids=None, labels=None, output_attentions=False,
                output_hidden_states=False, return_dict=True, **unused):
        base = self.run_base(input_ids, attention_mask, position_ids, past_key_values, use_cache, inputs_embeds,
                             token_type_ids, output_attentions, output_hidden_states)
        logits = self.classifier(self.dropout(base.last_hidden_state))  # [B, T, C]
        loss = token_loss(logits, labels) if labels is not None else None
        return TokenClassifierOutput(loss, logits, base.hidden_states, base.attentions)


HEADS = {
    "feature-extraction": GPT2Model,
    "text-generation": GPT2LMHeadModel,
    "text-classification": GPT2ForSequenceClassification,
    "token-classification": GPT2ForTokenClassification,
}
# transformers' GPT2Config.attribute_map: config.hidden_size etc. answer as in other families
ALIASES = {"hidden_size": "n_embd", "max_position_embeddings": "n_positions", "num_attention_heads": "n_head",
           "num_hidden_layers": "n_layer"}
FAMILIES = {"gpt2": Family("gpt2", HEADS, GPT2_DEFAULTS, aliases=ALIASES)}
