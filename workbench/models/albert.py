"""ALBERT: BERT with factorised embeddings and layers that share their weights, read top to bottom.

What ALBERT changes from BERT (bert.py):
- factorised embeddings: tokens are embedded at a small width E (`embedding_size`) and mapped up to the
  hidden size D by `encoder.embedding_hidden_mapping_in` (E -> D) before the first layer;
- shared layers: the checkpoint holds `num_hidden_groups` groups of `inner_group_num` layers each
  (`albert.encoder.albert_layer_groups.G.albert_layers.I.*`). The encoder runs `num_hidden_layers` steps;
  step i applies every layer of group `int(i / (num_hidden_layers / num_hidden_groups))` in turn. With the
  usual 1 group of 1 layer, one set of weights is applied 12 times.
  So the model *applies* num_hidden_layers x inner_group_num layers: hidden_states (embeddings mapped to D,
  then each applied layer) and attentions have one entry per applied layer, as transformers returns them;
- the MLM head maps D back to E before the tied decoder; the pooler is a bare `albert.pooler` linear + tanh.

Hook points and shared weights. A HookPoint inside a shared layer would fire several times per forward
pass under one name, so `capture` would keep only the last application and a hook could not target one
applied layer. Instead the encoder owns one parameter-free `AppliedLayerHooks` per applied layer, at
`encoder.layer.K` (K = 0 .. num_hidden_layers * inner_group_num - 1, the same K as `attentions[K]` and
`hidden_states[K + 1]`), and hands it to the shared layer on each application:
    encoder.layer.K.hook_pattern  # [B, H, T, T] attention weights (only computed when asked for)
    encoder.layer.K.hook_post     # [B, T, I] MLP activations
    encoder.layer.K.hook_out      # [B, T, D] the residual stream after applied layer K
These modules hold no weights, so checkpoint names (and saving) are unchanged.

Shapes: B batch, T tokens, E embedding size, D hidden size, H heads, Dh = D / H, I intermediate size, V vocabulary.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import UnsupportedModelError
from .base import PreTrainedModel
from .config import Config
from .encoder_heads import QuestionAnsweringForward, TokenClassificationForward
from .hooks import HookPoint
from .layers import (activation, attend, padding_mask, sequence_classification_loss, token_loss,
                     LayerRecord)
from .outputs import (BaseModelOutput, MaskedLMOutput, SequenceClassifierOutput)
from .registry import Family

# transformers' AlbertConfig defaults (these are ALBERT-xxlarge's sizes).
ALBERT_DEFAULTS = dict(
    vocab_size=30000, embedding_size=128, hidden_size=4096, num_hidden_layers=12, num_hidden_groups=1,
    num_attention_heads=64, intermediate_size=16384, inner_group_num=1, hidden_act="gelu_new",
    hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, max_position_embeddings=512, type_vocab_size=2,
    initializer_range=0.02, layer_norm_eps=1e-12, classifier_dropout_prob=0.1, pad_token_id=0, bos_token_id=2,
    eos_token_id=3, tie_word_embeddings=True,
)


# ---- embeddings (also ELECTRA's) ---------------------------------------------------------------------

class AlbertEmbeddings(nn.Module):
    """BERT's embeddings (word + token type + position 0..T-1, LayerNorm, dropout) at width E = `embedding_size`."""

    def __init__(self, config: Config):
        super().__init__()
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise UnsupportedModelError(
                f"position_embedding_type={config.position_embedding_type!r} is not supported; only 'absolute' is.")
        E = config.embedding_size
        self.word_embeddings = nn.Embedding(config.vocab_size, E, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, E)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, E)
        self.LayerNorm = nn.LayerNorm(E, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids=None, position_ids=None):  # -> [B, T, E]
        T = input_ids.shape[1]
        if position_ids is None:
            position_ids = torch.arange(T, device=input_ids.device).expand_as(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        if int(position_ids.max()) >= self.position_embeddings.num_embeddings:
            raise ValueError(
                f"Input of {T} tokens is longer than this model's {self.position_embeddings.num_embeddings} "
                f"positions; tokenize with truncation=True.")
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids) + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(x))


# ---- one (shared) layer --------------------------------------------------------------------------------

class AppliedLayerHooks(nn.Module):
    """The hook points of one *applied* layer (see the module docstring); no weights."""

    def __init__(self):
        super().__init__()
        self.hook_pattern = HookPoint()  # [B, H, T, T]
        self.hook_post = HookPoint()  # [B, T, I]
        self.hook_out = HookPoint()  # [B, T, D]


class AlbertAttention(nn.Module):  # q/k/v, attention, output projection, dropout, residual, post-LayerNorm
    def __init__(self, config: Config):
        super().__init__()
        if config.hidden_size % config.num_attention_heads:
            raise ValueError(f"hidden_size {config.hidden_size} is not a multiple of num_attention_heads {config.num_attention_heads}")
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout_p = config.attention_probs_dropout_prob
        self.output_dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x, mask, need_weights: bool, hooks: AppliedLayerHooks):
        B, T, D = x.shape
        q, k, v = (proj(x).view(B, T, self.num_heads, self.head_dim).transpose(1, 2)  # each [B, H, T, Dh]
                   for proj in (self.query, self.key, self.value))
        need_weights = need_weights or hooks.hook_pattern.active
        context, weights = attend(q, k, v, mask, dropout=self.dropout_p if self.training else 0.0, need_weights=need_weights)
        if weights is not None:
            weights = hooks.hook_pattern(weights)
        projected = self.output_dropout(self.dense(context.transpose(1, 2).reshape(B, T, D)))
        return self.LayerNorm(x + projected), weights


class AlbertLayer(nn.Module):  # checkpoint names: ...albert_layers.I.{attention.*, ffn, ffn_output, full_layer_layer_norm}
    def __init__(self, config: Config):
        super().__init__()
        self.attention = AlbertAttention(config)
        self.ffn = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = activation(config.hidden_act)
        self.ffn_output = nn.Linear(config.intermediate_size, config.hidden_size)
        self.full_layer_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        # (transformers' AlbertLayer also has a dropout module here that its forward pass never applies)

    def forward(self, x, mask, need_weights: bool, hooks: AppliedLayerHooks):
        attended, weights = self.attention(x, mask, need_weights, hooks)
        mlp = self.ffn_output(hooks.hook_post(self.act(self.ffn(attended))))
        return hooks.hook_out(self.full_layer_layer_norm(mlp + attended)), weights


class AlbertLayerGroup(nn.Module):  # one set of shared weights: `inner_group_num` layers applied in turn
    def __init__(self, config: Config):
        super().__init__()
        self.albert_layers = nn.ModuleList(AlbertLayer(config) for _ in range(config.inner_group_num))


class AlbertTransformer(nn.Module):  # checkpoint names: albert.encoder.*
    def __init__(self, config: Config):
        super().__init__()
        L, G = config.num_hidden_layers, config.num_hidden_groups
        self.embedding_hidden_mapping_in = nn.Linear(config.embedding_size, config.hidden_size)
        self.albert_layer_groups = nn.ModuleList(AlbertLayerGroup(config) for _ in range(G))
        # step i uses group int(i / (L / G)); written with the same float division as transformers so the
        # two agree for every L, G
        self.group_of_step = [int(i / (L / G)) for i in range(L)]
        self.layer = nn.ModuleList(AppliedLayerHooks() for _ in range(L * config.inner_group_num))

    def applied_layers(self):
        """(K, shared AlbertLayer) for every layer application, in order."""
        K = 0
        for group in self.group_of_step:
            for shared_layer in self.albert_layer_groups[group].albert_layers:
                yield K, shared_layer
                K += 1

    def forward(self, x, mask, output_attentions, output_hidden_states: bool):
        x = self.embedding_hidden_mapping_in(x)  # [B, T, E] -> [B, T, D]
        record = LayerRecord(x, output_attentions, output_hidden_states)
        for K, shared_layer in self.applied_layers():
            x, weights = shared_layer(x, mask, record.wants_weights(K), self.layer[K])
            record.add(K, x, weights)
        return x, record


# ---- the base model (feature-extraction) -------------------------------------------------------------

class AlbertFamilyModel(PreTrainedModel):
    """Shared by the base model and every head: naming and saving in ALBERT's layout."""
    suffix = "Model"  # transformers class-name suffix for this head
    fresh_ok = ("*pooler.*",)  # MLM checkpoints saved by transformers have no pooler

    def __init__(self, config: Config):
        super().__init__(config, "albert")

    def architecture_name(self) -> str:
        return "Albert" + self.suffix


class AlbertModel(AlbertFamilyModel):
    def __init__(self, config: Config, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = AlbertEmbeddings(config)
        self.encoder = AlbertTransformer(config)
        # tanh(pooler(first token)): the sentence vector of sentence-order prediction
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size) if add_pooling_layer else None

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        x = self.embeddings(input_ids, token_type_ids, position_ids)
        mask = padding_mask(attention_mask, x.dtype)  # [B, 1, 1, T] or None
        x, record = self.encoder(x, mask, output_attentions, output_hidden_states)
        return BaseModelOutput(
            last_hidden_state=x,
            pooler_output=torch.tanh(self.pooler(x[:, 0])) if self.pooler is not None else None,
            hidden_states=record.hidden_states,
            attentions=record.attentions,
        )


class AlbertHeadModel(AlbertFamilyModel):
    """The base model under `albert.` plus one task head."""
    ignore_unexpected = PreTrainedModel.ignore_unexpected + ("*pooler.*",)

    def __init__(self, config: Config, add_pooling_layer: bool = False):
        super().__init__(config)
        self.albert = AlbertModel(config, add_pooling_layer=add_pooling_layer)

    def encode(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
               output_attentions=False, output_hidden_states=False) -> BaseModelOutput:
        return self.albert(input_ids, attention_mask, token_type_ids, position_ids,
                           output_attentions=output_attentions, output_hidden_states=output_hidden_states)


# ---- heads ---------------------------------------------------------------------------------------------

class AlbertMLMHead(nn.Module):  # checkpoint names: predictions.{dense, LayerNorm, decoder.weight, bias}
    def __init__(self, config: Config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.embedding_size)  # D -> E
        self.act = activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.embedding_size, config.vocab_size, bias=False)  # tied to word embeddings
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))  # (files may also hold it as decoder.bias)

    def forward(self, x):  # [B, T, D] -> [B, T, V]
        return self.decoder(self.LayerNorm(self.act(self.dense(x)))) + self.bias


class AlbertForMaskedLM(AlbertHeadModel):
    task, suffix = "fill-mask", "ForMaskedLM"
    # older files store the bias twice; pre-training files add the sentence-order head `sop_classifier.*`
    ignore_unexpected = AlbertHeadModel.ignore_unexpected + ("*decoder.bias",)

    def __init__(self, config: Config):
        super().__init__(config)
        self.predictions = AlbertMLMHead(config)

    def tied_weights(self) -> dict[str, str]:
        if not self.config.get("tie_word_embeddings", True):
            return {}
        return {"predictions.decoder.weight": "albert.embeddings.word_embeddings.weight"}

    def mlm_head(self) -> nn.Module:
        """hidden [.., D] -> logits [.., V] (what the logit lens reads every layer out with)."""
        return self.predictions

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        base = self.encode(input_ids, attention_mask, token_type_ids, position_ids, output_attentions, output_hidden_states)
        logits = self.mlm_head()(base.last_hidden_state)  # [B, T, V]
        loss = token_loss(logits, labels) if labels is not None else None
        return MaskedLMOutput(loss, logits, base.hidden_states, base.attentions)


class AlbertForSequenceClassification(AlbertHeadModel):
    task, suffix = "text-classification", "ForSequenceClassification"
    ignore_unexpected = PreTrainedModel.ignore_unexpected  # this head uses the pooler

    def __init__(self, config: Config):
        super().__init__(config, add_pooling_layer=True)
        self.dropout = nn.Dropout(config.classifier_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        base = self.encode(input_ids, attention_mask, token_type_ids, position_ids, output_attentions, output_hidden_states)
        logits = self.classifier(self.dropout(base.pooler_output))  # [B, C]
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        return SequenceClassifierOutput(loss, logits, None, base.hidden_states, base.attentions)


class AlbertForTokenClassification(TokenClassificationForward, AlbertHeadModel):
    task, suffix = "token-classification", "ForTokenClassification"

    def __init__(self, config: Config):
        super().__init__(config)
        dropout = config.classifier_dropout_prob
        self.dropout = nn.Dropout(config.hidden_dropout_prob if dropout is None else dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)


class AlbertForQuestionAnswering(QuestionAnsweringForward, AlbertHeadModel):
    task, suffix = "question-answering", "ForQuestionAnswering"

    def __init__(self, config: Config):
        super().__init__(config)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)  # start and end score per token (no dropout in ALBERT)


HEADS = {
    "feature-extraction": AlbertModel,
    "fill-mask": AlbertForMaskedLM,
    "text-classification": AlbertForSequenceClassification,
    "token-classification": AlbertForTokenClassification,
    "question-answering": AlbertForQuestionAnswering,
}
FAMILIES = {"albert": Family("albert", HEADS, ALBERT_DEFAULTS)}
