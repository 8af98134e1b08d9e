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


@torch.inference_mode()
def predict_word_tags(model, tokenizer, texts: list[str], *, max_length: int = 128):
    """(space-joined tag per word, mean probability of those tags) per text; a word's tag is its first piece's."""
    was_training = model.training
    model.eval()
    tags, scores = [], []
    for text in texts:
        words = text.split()
        enc = tokenizer([words], is_split_into_words=True, truncation=True, max_length=max_length, return_tensors="pt")
        inputs = {k: v for k, v in dict(enc).items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        probabilities = model(**inputs).logits[0].float().softmax(-1)  # [T, C]
        best, index = probabilities.max(-1)
        firsts = [t for t, w in enumerate(enc.word_ids(0)) if w is not None and (t == 0 or enc.word_ids(0)[t - 1] != w)]
        tags.append(" ".join(model.config.id2label[int(index[t])] for t in firsts))
        scores.append(float(best[firsts].mean()) if firsts else float("nan"))
    model.train(was_training)
    return tags, scores


@torch.inference_mode()
def continue_texts(model, tokenizer, texts: list[str], *, chat: bool = False, max_new_tokens: int = 24):
    """(greedy continuation, mean probability of its tokens) per text; with chat=True each text is a user
    message put through the chat template."""
    was_training = model.training
    model.eval()
    continuations, scores = [], []
    for text in texts:
        if chat:
            prompt = tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                                   add_generation_prompt=True)
            input_ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
        else:
            input_ids = tokenizer(text, return_tensors="pt")["input_ids"]
        n = input_ids.shape[1]
        ids = model.generate(input_ids, max_new_tokens=max_new_tokens, do_sample=False)  # [1, n + new]
        new = ids[0, n:]
        probabilities = model(input_ids=ids).logits[0, n - 1:-1].float().softmax(-1)  # [new, V]: what chose each token
        chosen = probabilities.gather(-1, new[:, None])[:, 0]
        continuations.append(tokenizer.decode(new.tolist(), skip_special_tokens=True))
        scores.append(float(chosen.mean()) if len(new) else float("nan"))
    model.train(was_training)
    return continuations, scores
