"""BERT and its RoBERTa-style siblings (RoBERTa, XLM-RoBERTa, CamemBERT): one encoder, read top to bottom.

The maths is the same for all four; what differs is read from config fields:
- position ids: BERT counts 0..T-1; the RoBERTa family counts from `pad_token_id + 1` and gives padding
  the position `pad_token_id` (so a padded and an unpadded sentence see the same positions);
- names of the base model and heads in the checkpoint (`bert.` + `cls.predictions.*` vs `roberta.` +
  `lm_head.*`), and the sentence-classification head (pooler + linear vs dense-tanh-linear on <s>).

Shapes: B batch, T tokens, D hidden size, H heads, Dh = D / H, I intermediate size, V vocabulary.
Module names equal the checkpoint's tensor names, so loading is the identity map.
"""
from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Flavor:
    """What a model_type changes in this family (everything else comes from config fields)."""
    prefix: str  # base model name in the checkpoint: "bert" or "roberta"
    architecture: str  # transformers class-name prefix: "Bert", "Roberta", "XLMRoberta", "Camembert"
    roberta_layout: bool  # padding-offset positions, `lm_head.*` MLM head, dense-tanh-linear classifier


FLAVORS = {
    "bert": Flavor("bert", "Bert", roberta_layout=False),
    "roberta": Flavor("roberta", "Roberta", roberta_layout=True),
    "xlm-roberta": Flavor("roberta", "XLMRoberta", roberta_layout=True),
    "camembert": Flavor("roberta", "Camembert", roberta_layout=True),
}

# transformers' BertConfig defaults; the RoBERTa family changes the special token ids.
BERT_DEFAULTS = dict(
    vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
    hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, max_position_embeddings=512,
    type_vocab_size=2, initializer_range=0.02, layer_norm_eps=1e-12, pad_token_id=0,
    position_embedding_type="absolute", classifier_dropout=None, tie_word_embeddings=True,
)
ROBERTA_DEFAULTS = {**BERT_DEFAULTS, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2}


def flavor_of(config: Config) -> Flavor:
    return FLAVORS[config.model_type]


# ---- embeddings --------------------------------------------------------------------------------------

class BertEmbeddings(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise UnsupportedModelError(
                f"position_embedding_type={config.position_embedding_type!r} is not supported; only 'absolute' is.")
        self.roberta_positions = flavor_of(config).roberta_layout
        self.pad_token_id = config.pad_token_id
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(
            config.max_position_embeddings, config.hidden_size,
            padding_idx=config.pad_token_id if self.roberta_positions else None)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def position_ids(self, input_ids: torch.Tensor) -> torch.Tensor:  # [B, T]
        if self.roberta_positions:
            # real tokens count up from pad_token_id + 1; padding keeps position pad_token_id
            is_token = input_ids.ne(self.pad_token_id).long()
            return torch.cumsum(is_token, dim=1) * is_token + self.pad_token_id
        return torch.arange(input_ids.shape[1], device=input_ids.device).expand_as(input_ids)

    def forward(self, input_ids, token_type_ids=None, position_ids=None):  # -> [B, T, D]
        # the last position used is T - 1 (BERT) or at most T + pad_token_id (RoBERTa): check by shape, no sync
        last_position = input_ids.shape[1] - 1 + (self.pad_token_id + 1 if self.roberta_positions else 0)
        if position_ids is None and last_position >= self.position_embeddings.num_embeddings:
            raise ValueError(
                f"Input of {input_ids.shape[1]} tokens is longer than this model's {self.position_embeddings.num_embeddings} "
                f"positions; tokenize with truncation=True.")
        if position_ids is None:
            position_ids = self.position_ids(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids) + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(x))


# ---- one transformer layer ---------------------------------------------------------------------------

class BertSelfAttention(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        if config.hidden_size % config.num_attention_heads:
            raise ValueError(f"hidden_size {config.hidden_size} is not a multiple of num_attention_heads {config.num_attention_heads}")
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout_p = config.attention_probs_dropout_prob
        self.hook_pattern = HookPoint()  # [B, H, T, T] attention weights (only computed when asked for)

    def forward(self, x, mask, need_weights: bool):
        B, T, D = x.shape
        q, k, v = (proj(x).view(B, T, self.num_heads, self.head_dim).transpose(1, 2)  # each [B, H, T, Dh]
                   for proj in (self.query, self.key, self.value))
        need_weights = need_weights or self.hook_pattern.active
        context, weights = attend(q, k, v, mask, dropout=self.dropout_p if self.training else 0.0, need_weights=need_weights)
        if weights is not None:
            weights = self.hook_pattern(weights)
        return context.transpose(1, 2).reshape(B, T, D), weights


class BertSelfOutput(nn.Module):  # projection back to D, dropout, residual, post-LayerNorm
    def __init__(self, config: Config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, context, residual):
        return self.LayerNorm(self.dropout(self.dense(context)) + residual)


class BertAttention(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, x, mask, need_weights: bool):
        context, weights = self.self(x, mask, need_weights)
        return self.output(context, x), weights


class BertIntermediate(nn.Module):  # D -> I with the activation
    def __init__(self, config: Config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = activation(config.hidden_act)
        self.hook_post = HookPoint()  # [B, T, I] MLP activations

    def forward(self, x):
        return self.hook_post(self.act(self.dense(x)))


class BertOutput(nn.Module):  # I -> D, dropout, residual, post-LayerNorm
    def __init__(self, config: Config):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, h, residual):
        return self.LayerNorm(self.dropout(self.dense(h)) + residual)


class BertLayer(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)
        self.hook_out = HookPoint()  # [B, T, D] the residual stream after this layer

    def forward(self, x, mask, need_weights: bool):
        attended, weights = self.attention(x, mask, need_weights)
        return self.hook_out(self.output(self.intermediate(attended), attended)), weights


class BertEncoder(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))

    def forward(self, x, mask, output_attentions, output_hidden_states: bool) -> tuple[torch.Tensor, LayerRecord]:
        record = LayerRecord(x, output_attentions, output_hidden_states)
        for i, layer in enumerate(self.layer):
            x, weights = layer(x, mask, record.wants_weights(i))
            record.add(i, x, weights)
        return x, record


class BertPooler(nn.Module):  # tanh(dense(first token)): the sentence vector of BERT's pre-training
    def __init__(self, config: Config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, sequence):
        return self.activation(self.dense(sequence[:, 0]))


# ---- the base model (feature-extraction) -------------------------------------------------------------

class BertFamilyModel(PreTrainedModel):
    """Shared by the base model and every head: naming and saving in this family's layout."""
    suffix = "Model"  # transformers class-name suffix for this head

    def __init__(self, config: Config):
        super().__init__(config, flavor_of(config).prefix)

    def architecture_name(self) -> str:
        return flavor_of(self.config).architecture + self.suffix


class BertModel(BertFamilyModel):
    fresh_ok = ("pooler.*",)  # sentence-transformers and some fine-tuned checkpoints drop the pooler

    def __init__(self, config: Config, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        x = self.embeddings(input_ids, token_type_ids, position_ids)
        mask = padding_mask(attention_mask, x.dtype)  # [B, 1, 1, T] or None
        x, record = self.encoder(x, mask, output_attentions, output_hidden_states)
        return BaseModelOutput(
            last_hidden_state=x,
            pooler_output=self.pooler(x) if self.pooler is not None else None,
            hidden_states=record.hidden_states,
            attentions=record.attentions,
        )


class BertHeadModel(BertFamilyModel):
    """A base model under `bert.`/`roberta.` plus one task head."""
    ignore_unexpected = PreTrainedModel.ignore_unexpected + ("*pooler.*",)

    def __init__(self, config: Config, add_pooling_layer: bool = False):
        super().__init__(config)
        self.add_module(self.base_model_prefix, BertModel(config, add_pooling_layer=add_pooling_layer))

    def encode(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
               output_attentions=False, output_hidden_states=False) -> BaseModelOutput:
        return self.base_model(input_ids, attention_mask, token_type_ids, position_ids,
                               output_attentions=output_attentions, output_hidden_states=output_hidden_states)

    def classifier_dropout(self) -> float:
        dropout = self.config.get("classifier_dropout")
        return self.config.hidden_dropout_prob if dropout is None else dropout


# ---- fill-mask -----------------------------------------------------------------------------------------

class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.act = activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x):
        return self.LayerNorm(self.act(self.dense(x)))


class BertLMPredictionHead(nn.Module):  # checkpoint names: cls.predictions.{transform.*, decoder.weight, bias}
    def __init__(self, config: Config):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)  # tied to word embeddings
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, x):  # [B, T, D] -> [B, T, V]
        return self.decoder(self.transform(x)) + self.bias


class BertOnlyMLMHead(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, x):
        return self.predictions(x)


class RobertaLMHead(nn.Module):  # checkpoint names: lm_head.{dense, layer_norm, decoder.weight, bias}
    def __init__(self, config: Config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)  # tied to word embeddings
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.act = activation("gelu")  # RoBERTa's head always uses exact GELU, whatever hidden_act says

    def forward(self, x):  # [B, T, D] -> [B, T, V]
        return self.decoder(self.layer_norm(self.act(self.dense(x)))) + self.bias


class BertForMaskedLM(BertHeadModel):
    task, suffix = "fill-mask", "ForMaskedLM"
    ignore_unexpected = BertHeadModel.ignore_unexpected + ("*decoder.bias",)  # older files store the bias twice

    def __init__(self, config: Config):
        super().__init__(config)
        if flavor_of(config).roberta_layout:
            self.lm_head = RobertaLMHead(config)
        else:
            self.cls = BertOnlyMLMHead(config)

    def mlm_head(self) -> nn.Module:
        return self.lm_head if hasattr(self, "lm_head") else self.cls

    def tied_weights(self) -> dict[str, str]:
        if not self.config.get("tie_word_embeddings", True):
            return {}
        decoder = "lm_head.decoder.weight" if hasattr(self, "lm_head") else "cls.predictions.decoder.weight"
        return {decoder: f"{self.base_model_prefix}.embeddings.word_embeddings.weight"}

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        base = self.encode(input_ids, attention_mask, token_type_ids, position_ids, output_attentions, output_hidden_states)
        logits = self.mlm_head()(base.last_hidden_state)  # [B, T, V]
        loss = token_loss(logits, labels) if labels is not None else None
        return MaskedLMOutput(loss, logits, base.hidden_states, base.attentions)


# ---- text-classification -------------------------------------------------------------------------------

class RobertaClassificationHead(nn.Module):  # checkpoint names: classifier.{dense, out_proj}
    def __init__(self, config: Config, dropout: float):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, sequence):  # [B, T, D] -> [B, C], from the <s> token
        x = self.dropout(sequence[:, 0])
        x = torch.tanh(self.dense(x))
        return self.out_proj(self.dropout(x))


class BertForSequenceClassification(BertHeadModel):
    task, suffix = "text-classification", "ForSequenceClassification"

    def __init__(self, config: Config):
        self_uses_pooler = not flavor_of(config).roberta_layout
        super().__init__(config, add_pooling_layer=self_uses_pooler)
        if self_uses_pooler:
            self.ignore_unexpected = PreTrainedModel.ignore_unexpected
            self.dropout = nn.Dropout(self.classifier_dropout())
            self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        else:
            self.classifier = RobertaClassificationHead(config, self.classifier_dropout())

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        base = self.encode(input_ids, attention_mask, token_type_ids, position_ids, output_attentions, output_hidden_states)
        if isinstance(self.classifier, RobertaClassificationHead):
            logits = self.classifier(base.last_hidden_state)
        else:
            logits = self.classifier(self.dropout(base.pooler_output))  # [B, C]
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        return SequenceClassifierOutput(loss, logits, None, base.hidden_states, base.attentions)


# ---- token-classification and question-answering -------------------------------------------------------

class BertForTokenClassification(TokenClassificationForward, BertHeadModel):
    task, suffix = "token-classification", "ForTokenClassification"

    def __init__(self, config: Config):
        super().__init__(config)
        self.dropout = nn.Dropout(self.classifier_dropout())
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)


class BertForQuestionAnswering(QuestionAnsweringForward, BertHeadModel):
    task, suffix = "question-answering", "ForQuestionAnswering"

    def __init__(self, config: Config):
        super().__init__(config)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)  # start and end score per token


HEADS = {
    "feature-extraction": BertModel,
    "fill-mask": BertForMaskedLM,
    "text-classification": BertForSequenceClassification,
    "token-classification": BertForTokenClassification,
    "question-answering": BertForQuestionAnswering,
}
FAMILIES = {
    "bert": Family("bert", HEADS, BERT_DEFAULTS),
    "roberta": Family("bert", HEADS, ROBERTA_DEFAULTS),
    "xlm-roberta": Family("bert", HEADS, ROBERTA_DEFAULTS),
    "camembert": Family("bert", HEADS, ROBERTA_DEFAULTS),
}
