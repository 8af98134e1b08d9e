"""The token-classification and extractive-QA forward passes that BERT, ALBERT and ELECTRA share.

Each family builds its own head modules (names and dropouts follow its checkpoints); once a head model has
`self.encode(...)` (the base model's output) and the modules named below, the maths is the same.
"""
from __future__ import annotations

from .layers import span_loss, token_loss
from .outputs import QuestionAnsweringOutput, TokenClassifierOutput


class TokenClassificationForward:
    """Needs `self.encode`, `self.dropout` and `self.classifier` (Linear D -> num_labels)."""

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        base = self.encode(input_ids, attention_mask, token_type_ids, position_ids, output_attentions, output_hidden_states)
        logits = self.classifier(self.dropout(base.last_hidden_state))  # [B, T, C]
        loss = token_loss(logits, labels) if labels is not None else None
        return TokenClassifierOutput(loss, logits, base.hidden_states, base.attentions)


class QuestionAnsweringForward:
    """Needs `self.encode` and `self.qa_outputs` (Linear D -> 2: a start and an end score per token)."""

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                start_positions=None, end_positions=None,
                output_attentions=False, output_hidden_states=False, return_dict=True, **unused):
        base = self.encode(input_ids, attention_mask, token_type_ids, position_ids, output_attentions, output_hidden_states)
        start_logits, end_logits = self.qa_outputs(base.last_hidden_state).unbind(-1)  # each [B, T]
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = span_loss(start_logits, end_logits, start_positions, end_positions)
        return QuestionAnsweringOutput(loss, start_logits.contiguous(), end_logits.contiguous(),
                                       base.hidden_states, base.attentions)
