"""fill-mask: the model's best guesses for each [MASK] (or <mask>) in a text.

    unmasker = wb.pipeline("fill-mask", model="bert-base-uncased")
    unmasker("Paris is the [MASK] of France.", top_k=2)
    # [{'score': 0.93, 'token': 3007, 'token_str': 'capital', 'sequence': 'paris is the capital of france.'}, ...]

`targets=["capital", "city"]` scores only those words (a word not in the vocabulary stands for its first token,
with a warning). With several masks the answer is one list per mask, and each `sequence` fills only that mask.
"""
from __future__ import annotations

import warnings

import torch

from .base import Pipeline, PipelineError, check_text


class FillMaskPipeline(Pipeline):
    task = "fill-mask"
    token_outputs = ("logits",)

    def __init__(self, model, tokenizer, **options):
        if getattr(tokenizer, "mask_token_id", None) is None:
            raise PipelineError("This tokenizer has no mask token, so fill-mask cannot mark the word to guess; use a "
                                "masked-language model such as bert-base-uncased.")
        super().__init__(model, tokenizer, **options)

    def _sanitize_parameters(self, top_k=5, targets=None, truncation=None, tokenizer_kwargs=None):
        if not isinstance(top_k, int) or top_k < 1:
            raise PipelineError(f"top_k must be a positive integer, got {top_k!r}.")
        target_ids = self.target_ids(targets) if targets is not None else None
        return {"truncation": truncation}, {}, {"top_k": top_k, "target_ids": target_ids}

    def target_ids(self, targets) -> list[int]:
        """Vocabulary ids of the target words; a word the vocabulary lacks stands for its first token."""
        targets = [targets] if isinstance(targets, str) else list(targets)
        vocab = self.tokenizer.get_vocab()
        ids = []
        for target in targets:
            if target in vocab:
                ids.append(vocab[target])
                continue
            pieces = self.tokenizer(target, add_special_tokens=False)["input_ids"]
            if not pieces:
                warnings.warn(f"The target {target!r} gives no token at all and is left out.", stacklevel=4)
                continue
            warnings.warn(f"The target {target!r} is not in the vocabulary; using its first token "
                          f"{self.tokenizer.convert_ids_to_tokens(pieces[0])!r} instead.", stacklevel=4)
            ids.append(pieces[0])
        ids = sorted(set(ids))
        if not ids:
            raise PipelineError("None of the targets is a token of this model; pass words from its vocabulary.")
        return ids

    def preprocess(self, text, truncation=None):
        text = check_text(text)
        encoding = self.tokenize(text, truncation=truncation)
        if self.tokenizer.mask_token_id not in encoding["input_ids"]:
            where = "in the part of the text the model reads" if self.tokenizer.mask_token in text else "in the text"
            raise PipelineError(f"No {self.tokenizer.mask_token} token {where}; put {self.tokenizer.mask_token} "
                                "where the word to guess goes.")
        return [dict(encoding)]

    def _forward(self, batch):
        return {"logits": self.model(**batch).logits}  # [B, T, V]

    def postprocess(self, chunks, top_k=5, target_ids=None):
        input_ids = list(chunks[0]["input_ids"])
        masks = [i for i, token in enumerate(input_ids) if token == self.tokenizer.mask_token_id]
        probabilities = torch.softmax(chunks[0]["logits"][masks].float(), dim=-1)  # [M, V]
        candidates = torch.tensor(target_ids) if target_ids is not None else None
        if candidates is not None:
            probabilities = probabilities[:, candidates]  # [M, targets]
        values, positions = probabilities.topk(min(top_k, probabilities.shape[-1]), dim=-1)
        single = len(masks) == 1
        pad_id = self.tokenizer.pad_token_id
        answers = []
        for mask, scores, choices in zip(masks, values.tolist(), positions.tolist()):
            guesses = []
            for score, choice in zip(scores, choices):
                token = int(candidates[choice]) if candidates is not None else choice
                filled = [token if i == mask else t for i, t in enumerate(input_ids)]
                filled = [t for t in filled if t != pad_id]
                guesses.append({"score": score, "token": token, "token_str": self.tokenizer.decode([token]),
                                # with one mask the special tokens go; with several the other masks must show
                                "sequence": self.tokenizer.decode(filled, skip_special_tokens=single)})
            answers.append(guesses)
        return answers[0] if single else answers

    def shape_result(self, results, single, inputs, call_options):
        if not single and len(results) == 1:  # transformers: a list of one text gives that text's answer
            return results[0]
        return super().shape_result(results, single, inputs, call_options)
