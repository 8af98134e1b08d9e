"""DistilBERT: BERT distilled to half the layers, read top to bottom.

Differences from BERT (bert.py), all visible below:
- no token-type (segment) embeddings: a `token_type_ids` argument is accepted and ignored, so a BERT
  tokenizer's output can be passed as `model(**enc)`;
- no pooler; the sentence classifier is `pre_classifier` + ReLU + dropout + `classifier` on the first token;
- its own config names: `dim` (D), `n_layers`, `n_heads` (H), `hidden_dim` (I), `activation`, `dropout`,
  `attention_dropout`, `qa_dropout`, `seq_classif_dropout` (`config.hidden_size`, `num_hidden_layers` and
  `num_attention_heads` read `dim`, `n_layers`, `n_heads`, as in transformers); LayerNorm eps is fixed at 1e-12;
- `sinusoidal_pos_embds`: the position table holds fixed sine/cosine values instead of learned ones. It is
  still stored in checkpoints (and loaded like any weight); the flag matters when a model is built from a
  config alone, where the table is filled with the sinusoids as transformers does.

Shapes: B batch, T tokens, D `dim`, H `n_heads`, Dh = D / H, I `hidden_dim`, V vocabulary.
Module names equal the checkpoint's tensor names (`distilbert.transformer.layer.N.attention.q_lin` ...),
so loading is the identity map. Hook points: `transformer.layer.N.attention.hook_pattern` [B, H, T, T],
`transformer.layer.N.ffn.hook_post` [B, T, I], `transformer.layer.N.hook_out` [B, T, D].
"""
from __future__ import annotations

import torch
from torch import nn

from .base import PreTrainedModel
from .config import Config
from .hooks import HookPoint
from .layers import (activation, attend, padding_mask, sequence_classification_loss, span_loss, token_loss,
                     LayerRecord)
from .outputs import (BaseModelOutput, MaskedLMOutput, QuestionAnsweringOutput, SequenceClassifierOutput,
                      TokenClassifierOutput)
from .registry import Family

# transformers' DistilBertConfig defaults.
DISTILBERT_DEFAULTS = dict(
    vocab_size=30522, max_position_embeddings=512, sinusoidal_pos_embds=False, n_layers=6, n_heads=12, dim=768,
    hidden_dim=4 * 768, dropout=0.1, attention_dropout=0.1, activation="gelu", initializer_range=0.02,
    qa_dropout=0.1, seq_classif_dropout=0.2, pad_token_id=0, eos_token_id=None, bos_token_id=None,
    tie_word_embeddings=True,
)
LAYER_NORM_EPS = 1e-12  # DistilBERT's LayerNorms do not read an eps from the config


def sinusoidal_positions(num_positions: int, dim: int) -> torch.Tensor:
    """[num_positions, dim] table: column 2i is sin(p / 10000^(2i/dim)), column 2i+1 the cosine of the same angle."""
    position = torch.arange(num_positions, dtype=torch.float64)[:, None]  # [P, 1]
    pair = torch.arange(dim, dtype=torch.float64) // 2  # 0, 0, 1, 1, 2, 2, ...
    angle = position / torch.pow(10000.0, 2 * pair / dim)  # [P, dim]
    table = torch.empty(num_positions, dim, dtype=torch.float64)
    table[:, 0::2] = torch.sin(angle[:, 0::2])
    table[:, 1::2] = torch.cos(angle[:, 1::2])
    return table.float()


# ---- embeddings --------------------------------------------------------------------------------------

class DistilBertEmbeddings(nn.Module):  # checkpoint names: distilbert.embeddings.*
    def __init__(self, config: Config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.dim, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.dim)
        self.LayerNorm = nn.LayerNorm(config.dim, eps=LAYER_NORM_EPS)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids, position_ids=None):  # -> [B, T, D]
        T = input_ids.shape[1]
        if position_ids is None:
            position_ids = torch.arange(T, device=input_ids.device).expand_as(input_ids)
        if int(position_ids.max()) >= self.position_embeddings.num_embeddings:
            raise ValueError(
                f"Input of {T} tokens is longer than this model's {self.position_embeddings.num_embeddings} "
                f"positions; tokenize with truncation=True.")
        x = self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(x))


# ---- one transformer block -----------------------------------------------------------------------------

class DistilBertSelfAttention(nn.Module):  # q/k/v projections, attention, output projection (no residual here)
    def __init__(self, config: Config):
        super().__init__()
        if config.dim % config.n_heads:
            raise ValueError(f"dim {config.dim} is not a multiple of n_heads {config.n_heads}")
        self.num_heads = config.n_heads
        self.head_dim = config.dim // config.n_heads
        self.q_lin = nn.Linear(config.dim, config.dim)
        self.k_lin = nn.Linear(config.dim, config.dim)
        self.v_lin = nn.Linear(config.dim, config.dim)
        self.out_lin = nn.Linear(config.dim, config.dim)
        self.dropout_p = config.attention_dropout
        self.hook_pattern = HookPoint()  # [B, H, T, T] attention weights (only computed when asked for)

    def forward(self, x, mask, need_weights: bool):
        B, T, D = x.shape
        q, k, v = (proj(x).view(B, T, self.num_heads, self.head_dim).transpose(1, 2)  # each [B, H, T, Dh]
                   for proj in (self.q_lin, self.k_lin, self.v_lin))
        need_weights = need_weights or self.hook_pattern.active
        context, weights = attend(q, k, v, mask, dropout=self.dropout_p if self.training else 0.0, need_weights=need_weights)
        if weights is not None:
            weights = self.hook_pattern(weights)
        return self.out_lin(context.transpose(1, 2).reshape(B, T, D)), weights


class FeedForward(nn.Module):  # checkpoint names: ffn.{lin1, lin2}; D -> I -> D, dropout at the end
    def __init__(self, config: Config):
        super().__init__()
        self.lin1 = nn.Linear(config.dim, config.hidden_dim)
        self.lin2 = nn.Linear(config.hidden_dim, config.dim)
        self.act = activation(config.activation)
        self.dropout = nn.Dropout(config.dropout)
        self.hook_post = HookPoint()  # [B, T, I] MLP activations

    def forward(self, x):
        return self.dropout(self.lin2(self.hook_post(self.act(self.lin1(x)))))


class TransformerBlock(nn.Module):  # post-LayerNorm residual block, like BERT's
    def __init__(self, config: Config):
        super().__init__()
        self.attention = DistilBertSelfAttention(config)
        self.sa_layer_norm = nn.LayerNorm(config.dim, eps=LAYER_NORM_EPS)
        self.ffn = FeedForward(config)
        self.output_layer_norm = nn.LayerNorm(config.dim, eps=LAYER_NORM_EPS)
        self.hook_out = HookPoint()  # [B, T, D] the residual stream after this layer

    def forward(self, x, mask, need_weights: bool):
        attended, weights = self.attention(x, mask, need_weights)
        x = self.sa_layer_norm(attended + x)
        x = self.output_layer_norm(self.ffn(x) + x)
        return self.hook_out(x), weights


class Transformer(nn.Module):  # checkpoint names: distilbert.transformer.layer.N.*
    def __init__(self, config: Config):
        super().__init__()
        self.layer = nn.ModuleList(TransformerBlock(config) for _ in range(config.n_layers))

    def forward(self, x, mask, output_attentions, output_hidden_states: bool) -> tuple[torch.Tensor, LayerRecord]:
        record = LayerRecord(x, output_attentions, output_hidden_states)
        for i, layer in enumerate(self.layer):
            x, weights = layer(x, mask, record.wants_weights(i))
            record.add(i, x, weights)
        return x, record


# ---- the base model (feature-extraction) -------------------------------------------------------------

class DistilBertFamilyModel(PreTrainedModel):
    """Shared by the base model and every head: naming, saving, and fresh weights in DistilBERT's layout."""
    suffix = "Model"  # transformers class-name suffix for this head

    def __init__(self, config: Config):
        super().__init__(config, "distilbert")

    def architecture_name(self) -> str:
        return "DistilBert" + self.suffix

    def init_fresh_weights(self) -> None:
        super().init_fresh_weights()
        if self.config.sinusoidal_pos_embds:  # as transformers builds a fresh model: the fixed sinusoid table
            table = self.base_model.embeddings.position_embeddings.weight
            with torch.no_grad():
                table.copy_(sinusoidal_positions(*table.shape))


class DistilBertModel(DistilBertFamilyModel):
    def __init__(self, config: Config):
        super().__init__(config)
        self.embeddings = DistilBertEmbeddings(config)
        self.transformer = Transformer(config)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        # token_type_ids: accepted and ignored (DistilBERT has no segment embeddings)
        x = self.embeddings(input_ids, position_ids)
        mask = padding_mask(attention_mask, x.dtype)  # [B, 1, 1, T] or None
        x, record = self.transformer(x, mask, output_attentions, output_hidden_states)
        return BaseModelOutput(
            last_hidden_state=x,
            hidden_states=record.hidden_states,
            attentions=record.attentions,
        )


class DistilBertHeadModel(DistilBertFamilyModel):
    """The base model under `distilbert.` plus one task head."""

    def __init__(self, config: Config):
        super().__init__(config)
        self.distilbert = DistilBertModel(config)

    def encode(self, input_ids, attention_mask=None, position_ids=None,
               output_attentions=False, output_hidden_states=False) -> BaseModelOutput:
        return self.distilbert(input_ids, attention_mask, position_ids=position_ids,
                               output_attentions=output_attentions, output_hidden_states=output_hidden_states)


# ---- heads ---------------------------------------------------------------------------------------------

class DistilBertForMaskedLM(DistilBertHeadModel):
    task, suffix = "fill-mask", "ForMaskedLM"

    def __init__(self, config: Config):
        super().__init__(config)
        self.vocab_transform = nn.Linear(config.dim, config.dim)
        self.act = activation(config.activation)
        self.vocab_layer_norm = nn.LayerNorm(config.dim, eps=LAYER_NORM_EPS)
        self.vocab_projector = nn.Linear(config.dim, config.vocab_size)  # weight tied to word embeddings

    def tied_weights(self) -> dict[str, str]:
        if not self.config.get("tie_word_embeddings", True):
            return {}
        return {"vocab_projector.weight": "distilbert.embeddings.word_embeddings.weight"}

    def vocab_logits(self, hidden):  # [B, T, D] -> [B, T, V]
        return self.vocab_projector(self.vocab_layer_norm(self.act(self.vocab_transform(hidden))))

    def mlm_head(self):
        """hidden [.., D] -> logits [.., V] (what the logit lens reads every layer out with)."""
        return self.vocab_logits

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        base = self.encode(input_ids, attention_mask, position_ids, output_attentions, output_hidden_states)
        logits = self.vocab_logits(base.last_hidden_state)  # [B, T, V]
        loss = token_loss(logits, labels) if labels is not None else None
        return MaskedLMOutput(loss, logits, base.hidden_states, base.attentions)


class DistilBertForSequenceClassification(DistilBertHeadModel):
    task, suffix = "text-classification", "ForSequenceClassification"

    def __init__(self, config: Config):
        super().__init__(config)
        self.pre_classifier = nn.Linear(config.dim, config.dim)
        self.dropout = nn.Dropout(config.seq_classif_dropout)
        self.classifier = nn.Linear(config.dim, config.num_labels)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        base = self.encode(input_ids, attention_mask, position_ids, output_attentions, output_hidden_states)
        first = base.last_hidden_state[:, 0]  # [B, D] the [CLS] token
        logits = self.classifier(self.dropout(torch.relu(self.pre_classifier(first))))  # [B, C]
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        return SequenceClassifierOutput(loss, logits, None, base.hidden_states, base.attentions)


class DistilBertForTokenClassification(DistilBertHeadModel):
    task, suffix = "token-classification", "ForTokenClassification"

    def __init__(self, config: Config):
        super().__init__(config)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.dim, config.num_labels)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        base = self.encode(input_ids, attention_mask, position_ids, output_attentions, output_hidden_states)
        logits = self.classifier(self.dropout(base.last_hidden_state))  # [B, T, C]
        loss = token_loss(logits, labels) if labels is not None else None
        return TokenClassifierOutput(loss, logits, base.hidden_states, base.attentions)


class DistilBertForQuestionAnswering(DistilBertHeadModel):
    task, suffix = "question-answering", "ForQuestionAnswering"

    def __init__(self, config: Config):
        super().__init__(config)
        self.dropout = nn.Dropout(config.qa_dropout)
        self.qa_outputs = nn.Linear(config.dim, 2)  # start and end score per token

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                start_positions=None, end_positions=None,
                output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        base = self.encode(input_ids, attention_mask, position_ids, output_attentions, output_hidden_states)
        start_logits, end_logits = self.qa_outputs(self.dropout(base.last_hidden_state)).unbind(-1)  # each [B, T]
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = span_loss(start_logits, end_logits, start_positions, end_positions)
        return QuestionAnsweringOutput(loss, start_logits.contiguous(), end_logits.contiguous(),
                                       base.hidden_states, base.attentions)


HEADS = {
    "feature-extraction": DistilBertModel,
    "fill-mask": DistilBertForMaskedLM,
    "text-classification": DistilBertForSequenceClassification,
    "token-classification": DistilBertForTokenClassification,
    "question-answering": DistilBertForQuestionAnswering,
}
# transformers' DistilBertConfig.attribute_map: the usual names read DistilBERT's fields, so code written for
# any encoder (views, pipelines) can ask `config.num_hidden_layers`; only DistilBERT's names go to config.json.
ALIASES = {"hidden_size": "dim", "num_attention_heads": "n_heads", "num_hidden_layers": "n_layers"}
FAMILIES = {"distilbert": Family("distilbert", HEADS, DISTILBERT_DEFAULTS, aliases=ALIASES)}
