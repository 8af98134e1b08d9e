"""Predictions of a classification model on raw texts (for `Run.compare`)."""
from __future__ import annotations

import torch


@torch.inference_mode()
def predict_labels(model, tokenizer, texts: list[str], *, max_length: int = 128, batch_size: int = 32):
    """(label name per text, its softmax probability) with the model in eval mode."""
    was_training = model.training
    model.eval()
    labels, scores = [], []
    for start in range(0, len(texts), batch_size):
        enc = tokenizer(texts[start:start + batch_size], padding=True, truncation=True, max_length=max_length,
                        return_tensors="pt")
        inputs = {k: v for k, v in dict(enc).items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        probabilities = model(**inputs).logits.float().softmax(-1)  # [B, C]
        best, index = probabilities.max(-1)
        labels += [model.config.id2label[int(i)] for i in index]
        scores += best.tolist()
    model.train(was_training)
    return labels, scores
