"""ELECTRA: ALBERT's factorised embeddings + BERT's encoder, with ELECTRA's own heads.

- embeddings at width E = `embedding_size` (ALBERT's `AlbertEmbeddings`), mapped to the hidden size D by
  `electra.embeddings_project` when E != D (the small discriminators have E = D and no projection);
- the encoder layers have exactly BERT's tensor names and maths, so `BertEncoder` from bert.py is used as is
  (hook points `encoder.layer.N.attention.self.hook_pattern`, `.intermediate.hook_post`, `.hook_out`);
- no pooler. Heads: the generator's MLM head (`generator_predictions` D -> E with GELU and LayerNorm, then
  `generator_lm_head` tied to the word embeddings), a dense-GELU-linear sentence classifier on the first token,
  token classification, question answering, and the discriminator's replaced-token-detection head.

Checkpoints of the discriminator (`google/electra-*-discriminator`) say `architectures: ["ElectraForPreTraining"]`.
Loaded without a task they give the base model (feature-extraction, `discriminator_predictions.*` ignored), so
every view and pipeline works on them. `task="replaced-token-detection"` keeps that head: one logit per token,
> 0 meaning "this token looks replaced". It is the task ELECTRA was trained on, which makes it a good
classroom demo (swap a word in a sentence and watch the score of that token rise).

Shapes: B batch, T tokens, E embedding size, D hidden size, H heads, I intermediate size, V vocabulary.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
import torch.nn.functional as F

from ..errors import UnsupportedModelError
from .albert import AlbertEmbeddings
from .base import PreTrainedModel
from .bert import BertEncoder
from .config import Config
from .encoder_heads import QuestionAnsweringForward, TokenClassificationForward
from .layers import activation, padding_mask, sequence_classification_loss, token_loss
from .outputs import (BaseModelOutput, MaskedLMOutput, ModelOutput, SequenceClassifierOutput)
from .registry import Family

# transformers' ElectraConfig defaults (ELECTRA-small discriminator sizes).
ELECTRA_DEFAULTS = dict(
    vocab_size=30522, embedding_size=128, hidden_size=256, num_hidden_layers=12, num_attention_heads=4,
    intermediate_size=1024, hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
    max_position_embeddings=512, type_vocab_size=2, initializer_range=0.02, layer_norm_eps=1e-12,
    summary_type="first", summary_use_proj=True, summary_activation="gelu", summary_last_dropout=0.1,
    pad_token_id=0, use_cache=True, classifier_dropout=None, is_decoder=False, add_cross_attention=False,
    bos_token_id=None, eos_token_id=None, tie_word_embeddings=True,
)


@dataclass
class ElectraForPreTrainingOutput(ModelOutput):
    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None  # [B, T]: > 0 means "this token was replaced"
    hidden_states: tuple | None = None
    attentions: tuple | None = None


# ---- the base model (feature-extraction) -------------------------------------------------------------

class ElectraFamilyModel(PreTrainedModel):
    """Shared by the base model and every head: naming and saving in ELECTRA's layout."""
    suffix = "Model"  # transformers class-name suffix for this head

    def __init__(self, config: Config):
        super().__init__(config, "electra")

    def architecture_name(self) -> str:
        return "Electra" + self.suffix


class ElectraModel(ElectraFamilyModel):
    def __init__(self, config: Config):
        super().__init__(config)
        if config.get("is_decoder") or config.get("add_cross_attention"):
            raise UnsupportedModelError(
                "ELECTRA as a decoder (is_decoder / add_cross_attention in config.json) is not supported; only the encoder is.")
        self.embeddings = AlbertEmbeddings(config)  # [B, T, E]
        if config.embedding_size != config.hidden_size:
            self.embeddings_project = nn.Linear(config.embedding_size, config.hidden_size)  # E -> D
        self.encoder = BertEncoder(config)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        x = self.embeddings(input_ids, token_type_ids, position_ids)
        if hasattr(self, "embeddings_project"):
            x = self.embeddings_project(x)  # hidden_states[0] is this projected input of layer 0, as in transformers
        mask = padding_mask(attention_mask, x.dtype)  # [B, 1, 1, T] or None
        x, record = self.encoder(x, mask, output_attentions, output_hidden_states)
        return BaseModelOutput(
            last_hidden_state=x,
            hidden_states=record.hidden_states,
            attentions=record.attentions,
        )


class ElectraHeadModel(ElectraFamilyModel):
    """The base model under `electra.` plus one task head."""

    def __init__(self, config: Config):
        super().__init__(config)
        self.electra = ElectraModel(config)

    def encode(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
               output_attentions=False, output_hidden_states=False) -> BaseModelOutput:
        return self.electra(input_ids, attention_mask, token_type_ids, position_ids,
                            output_attentions=output_attentions, output_hidden_states=output_hidden_states)

    def classifier_dropout(self) -> float:
        dropout = self.config.get("classifier_dropout")
        return self.config.hidden_dropout_prob if dropout is None else dropout


# ---- fill-mask (the generator) -------------------------------------------------------------------------

class ElectraGeneratorPredictions(nn.Module):  # checkpoint names: generator_predictions.{dense, LayerNorm}
    def __init__(self, config: Config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.embedding_size)  # D -> E
        self.LayerNorm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_eps)

    def forward(self, x):  # exact GELU whatever hidden_act says, as transformers does
        return self.LayerNorm(F.gelu(self.dense(x)))


class ElectraForMaskedLM(ElectraHeadModel):
    task, suffix = "fill-mask", "ForMaskedLM"

    def __init__(self, config: Config):
        super().__init__(config)
        self.generator_predictions = ElectraGeneratorPredictions(config)
        self.generator_lm_head = nn.Linear(config.embedding_size, config.vocab_size)  # weight tied to word embeddings

    def tied_weights(self) -> dict[str, str]:
        if not self.config.get("tie_word_embeddings", True):
            return {}
        return {"generator_lm_head.weight": "electra.embeddings.word_embeddings.weight"}

    def vocab_logits(self, hidden):  # [B, T, D] -> [B, T, V]
        return self.generator_lm_head(self.generator_predictions(hidden))

    def mlm_head(self):
        """hidden [.., D] -> logits [.., V] (what the logit lens reads every layer out with)."""
        return self.vocab_logits

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        base = self.encode(input_ids, attention_mask, token_type_ids, position_ids, output_attentions, output_hidden_states)
        logits = self.vocab_logits(base.last_hidden_state)  # [B, T, V]
        loss = token_loss(logits, labels) if labels is not None else None
        return MaskedLMOutput(loss, logits, base.hidden_states, base.attentions)


# ---- replaced-token detection (the discriminator) ------------------------------------------------------

class ElectraDiscriminatorPredictions(nn.Module):  # checkpoint names: discriminator_predictions.{dense, dense_prediction}
    def __init__(self, config: Config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.act = activation(config.hidden_act)
        self.dense_prediction = nn.Linear(config.hidden_size, 1)

    def forward(self, x):  # [B, T, D] -> [B, T]
        return self.dense_prediction(self.act(self.dense(x))).squeeze(-1)


class ElectraForPreTraining(ElectraHeadModel):
    task, suffix = "replaced-token-detection", "ForPreTraining"

    def __init__(self, config: Config):
        super().__init__(config)
        self.discriminator_predictions = ElectraDiscriminatorPredictions(config)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        base = self.encode(input_ids, attention_mask, token_type_ids, position_ids, output_attentions, output_hidden_states)
        logits = self.discriminator_predictions(base.last_hidden_state)  # [B, T]
        loss = None
        if labels is not None:  # labels [B, T]: 1 = replaced, 0 = original; padding does not count
            real = attention_mask.bool() if attention_mask is not None else torch.ones_like(labels, dtype=torch.bool)
            loss = F.binary_cross_entropy_with_logits(logits[real], labels[real].to(logits.dtype))
        return ElectraForPreTrainingOutput(loss, logits, base.hidden_states, base.attentions)


# ---- text-classification, token-classification, question-answering -----------------------------------

class ElectraClassificationHead(nn.Module):  # checkpoint names: classifier.{dense, out_proj}
    def __init__(self, config: Config, dropout: float):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, sequence):  # [B, T, D] -> [B, C], from the first ([CLS]) token
        x = self.dropout(sequence[:, 0])
        x = F.gelu(self.dense(x))  # exact GELU (where BERT's pooler has tanh), whatever hidden_act says, as transformers
        return self.out_proj(self.dropout(x))


class ElectraForSequenceClassification(ElectraHeadModel):
    task, suffix = "text-classification", "ForSequenceClassification"

    def __init__(self, config: Config):
        super().__init__(config)
        self.classifier = ElectraClassificationHead(config, self.classifier_dropout())

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        base = self.encode(input_ids, attention_mask, token_type_ids, position_ids, output_attentions, output_hidden_states)
        logits = self.classifier(base.last_hidden_state)  # [B, C]
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        return SequenceClassifierOutput(loss, logits, None, base.hidden_states, base.attentions)


class ElectraForTokenClassification(TokenClassificationForward, ElectraHeadModel):
    task, suffix = "token-classification", "ForTokenClassification"

    def __init__(self, config: Config):
        super().__init__(config)
        self.dropout = nn.Dropout(self.classifier_dropout())
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)


class ElectraForQuestionAnswering(QuestionAnsweringForward, ElectraHeadModel):
    task, suffix = "question-answering", "ForQuestionAnswering"

    def __init__(self, config: Config):
        super().__init__(config)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)  # start and end score per token (no dropout in ELECTRA)


HEADS = {
    "feature-extraction": ElectraModel,
    "fill-mask": ElectraForMaskedLM,
    "text-classification": ElectraForSequenceClassification,
    "token-classification": ElectraForTokenClassification,
    "question-answering": ElectraForQuestionAnswering,
    "replaced-token-detection": ElectraForPreTraining,
}
FAMILIES = {
    "electra": Family("electra", HEADS, ELECTRA_DEFAULTS,
                      architectures={"ElectraForPreTraining": "feature-extraction"}),
}
