"""Evaluation: loss, accuracy and macro F1 of a model over a tokenized dataset."""
from __future__ import annotations

import math

import torch

from .data import IGNORE_INDEX, batch_count, collate


def accuracy(predicted: torch.Tensor, gold: torch.Tensor) -> float:
    return float((predicted == gold).float().mean()) if gold.numel() else float("nan")


def macro_f1(predicted: torch.Tensor, gold: torch.Tensor) -> float:
    """Unweighted mean of per-class F1 over the classes that occur in the gold or predicted labels
    (scikit-learn's `f1_score(average="macro")`); a class never predicted correctly scores 0."""
    classes = torch.unique(torch.cat([predicted, gold]))
    scores = []
    for c in classes:
        true_positive = ((predicted == c) & (gold == c)).sum().item()
        predicted_c, gold_c = (predicted == c).sum().item(), (gold == c).sum().item()
        scores.append(2 * true_positive / (predicted_c + gold_c) if predicted_c + gold_c else 0.0)
    return sum(scores) / len(scores) if scores else float("nan")


@torch.inference_mode()
def evaluate(model, encoded, *, batch_size: int, pad_token_id: int) -> dict[str, float]:
    """{"loss", "accuracy", "f1"} over `encoded` (rows with input_ids ... and labels), in order, no dropout.

    For a causal LM: {"loss", "perplexity", "accuracy"} with accuracy = share of next tokens predicted right."""
    next_token = getattr(model, "task", "") == "text-generation"
    was_training = model.training
    model.eval()
    total_loss, total_count, predicted, gold = 0.0, 0, [], []
    for b in range(batch_count(len(encoded), batch_size)):
        batch = collate(encoded[b * batch_size:(b + 1) * batch_size], pad_token_id)
        out = model(**batch)
        labels, logits = batch["labels"], out.logits
        if next_token:  # position t predicts token t+1
            labels, logits = labels[:, 1:], logits[:, :-1]
        kept = labels != IGNORE_INDEX  # [B] or [B, T] (token labels)
        count = int(kept.sum())
        total_loss += float(out.loss) * count  # the model's loss is a mean over kept labels
        total_count += count
        predicted.append(logits.argmax(-1)[kept])
        gold.append(labels[kept])
    model.train(was_training)
    predicted, gold = torch.cat(predicted), torch.cat(gold)
    loss = total_loss / max(total_count, 1)
    if next_token:
        return {"loss": loss, "perplexity": math.exp(min(loss, 50.0)), "accuracy": accuracy(predicted, gold)}
    return {"loss": loss, "accuracy": accuracy(predicted, gold), "f1": macro_f1(predicted, gold)}
