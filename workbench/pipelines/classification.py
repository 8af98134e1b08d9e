"""text-classification (sentiment-analysis) and zero-shot-classification.

    classifier = wb.pipeline("text-classification", model=...)
    classifier("I love it")                                 # [{'label': 'POSITIVE', 'score': 0.99}]
    classifier("I love it", top_k=None)                     # every label, best first
    classifier({"text": "A man eats.", "text_pair": "Someone eats."})   # a sentence pair -> one dict

    zero_shot = wb.pipeline("zero-shot-classification", model=...)
    zero_shot("The match ended 2-1.", candidate_labels=["sport", "politics"])
    # {'sequence': 'The match ended 2-1.', 'labels': ['sport', 'politics'], 'scores': [0.97, 0.03]}

Zero-shot works two ways. With an NLI model (a classifier whose labels include "entailment"), each label becomes
the hypothesis "This example is {label}." and its score is how strongly the text entails it (transformers'
method). With a sentence-embedding model (e.g. all-MiniLM-L6-v2), the text and each hypothesis are embedded and
compared by cosine similarity: scores = softmax(similarity / 0.05) over the labels, or with multi_label=True each
label's similarity mapped to [0, 1] as (1 + cos) / 2.
"""
from __future__ import annotations

import warnings

import torch

from .base import Pipeline, PipelineError, check_text, softmax
from .features import SentenceEmbeddingPipeline, cosine_similarity

FUNCTIONS = ("softmax", "sigmoid", "none")
_NOT_GIVEN = object()  # top_k=None means "every label", so absence needs its own marker
EMBEDDING_TEMPERATURE = 0.05  # sharpens cosine similarities (a few tenths apart) into a readable distribution


class TextClassificationPipeline(Pipeline):
    task = "text-classification"

    def _sanitize_parameters(self, top_k=_NOT_GIVEN, function_to_apply=None, truncation=None, max_length=None,
                             padding=None):
        if top_k is not _NOT_GIVEN and top_k is not None and (not isinstance(top_k, int) or top_k < 1):
            raise PipelineError(f"top_k must be a positive integer or None (every label), got {top_k!r}.")
        if function_to_apply is not None:
            function_to_apply = str(getattr(function_to_apply, "value", function_to_apply)).lower()
            if function_to_apply not in FUNCTIONS:
                raise PipelineError(f"function_to_apply={function_to_apply!r} is unknown; use one of {FUNCTIONS}.")
        post = {"function_to_apply": function_to_apply}
        if top_k is not _NOT_GIVEN:
            post["top_k"] = top_k
        return {"truncation": truncation, "max_length": max_length}, {}, post

    def preprocess(self, item, truncation=None, max_length=None):
        if isinstance(item, dict):
            unknown = set(item) - {"text", "text_pair"}
            if "text" not in item or unknown:
                raise PipelineError('A text pair is a dict {"text": ..., "text_pair": ...}; got keys '
                                    f"{sorted(item)}.")
            text = check_text(item["text"], "text")
            pair = None if item.get("text_pair") is None else check_text(item["text_pair"], "text_pair")
            return [dict(self.tokenize(text, pair, truncation=truncation, max_length=max_length, what="text pair"))]
        if isinstance(item, (list, tuple)):
            raise PipelineError('To classify a text pair, pass a dict {"text": ..., "text_pair": ...} (a list of '
                                "them for several pairs).")
        text = check_text(item, "text")
        return [dict(self.tokenize(text, truncation=truncation, max_length=max_length))]

    def _forward(self, batch):
        return {"logits": self.model(**batch).logits}  # [B, C]

    def postprocess(self, chunks, function_to_apply=None, top_k=_NOT_GIVEN):
        scores = apply_function(chunks[0]["logits"], function_to_apply or self.default_function())  # [C]
        id2label = self.model.config.id2label
        if top_k is _NOT_GIVEN:  # transformers' original form: the best label only, as one dict
            best = int(scores.argmax())
            return {"label": id2label[best], "score": float(scores[best])}
        ranked = sorted(({"label": id2label[i], "score": float(s)} for i, s in enumerate(scores.tolist())),
                        key=lambda entry: entry["score"], reverse=True)
        return ranked if top_k is None else ranked[:top_k]

    def default_function(self) -> str:
        """transformers' rule: regression -> none; one label or multi-label -> sigmoid; otherwise softmax."""
        config = self.model.config
        problem = config.get("problem_type")
        if problem == "regression":
            return "none"
        if problem == "multi_label_classification" or config.num_labels == 1:
            return "sigmoid"
        return "softmax"

    def shape_result(self, results, single, inputs, call_options):
        # transformers wraps one plain string's best-label dict in a list, but not a text pair's dict.
        # (With top_k given when the pipeline was made but not in the call, that makes [[...]], as there.)
        if single and not (isinstance(inputs, str) and "top_k" not in call_options):
            return results[0]
        return results


def apply_function(logits: torch.Tensor, function: str) -> torch.Tensor:
    logits = logits.float()
    if function == "softmax":
        return torch.softmax(logits, dim=-1)
    if function == "sigmoid":
        return torch.sigmoid(logits)
    return logits


class ZeroShotClassificationPipeline(Pipeline):
    """NLI zero-shot for a classifier with an "entailment" label; embedding similarity for a base model."""

    task = "zero-shot-classification"

    def __init__(self, model, tokenizer, **options):
        self.uses_embeddings = getattr(model, "task", None) == "feature-extraction"
        if self.uses_embeddings:
            self.embedder = SentenceEmbeddingPipeline(model, tokenizer)
        else:
            self.entailment_id = next((i for label, i in model.config.label2id.items()
                                       if label.lower().startswith("entail")), -1)
            if self.entailment_id == -1:
                warnings.warn("The model's labels have no 'entailment'; zero-shot uses its last label instead. Use "
                              "an NLI checkpoint (labels contradiction/neutral/entailment).", stacklevel=3)
        super().__init__(model, tokenizer, **options)

    def _sanitize_parameters(self, candidate_labels=None, hypothesis_template="This example is {}.",
                             multi_label=False, truncation=None):
        if isinstance(candidate_labels, str):
            candidate_labels = [label.strip() for label in candidate_labels.split(",") if label.strip()]
        if candidate_labels is not None:
            candidate_labels = list(candidate_labels)
            if not candidate_labels or not all(isinstance(label, str) for label in candidate_labels):
                raise PipelineError("candidate_labels must be a non-empty list of strings (or one comma-separated "
                                    "string).")
        if not isinstance(hypothesis_template, str) or hypothesis_template.format("x") == hypothesis_template:
            raise PipelineError(f"hypothesis_template {hypothesis_template!r} has no {{}} where the label goes; "
                                'write it like "This example is {}."')
        pre = {"candidate_labels": candidate_labels, "hypothesis_template": hypothesis_template,
               "truncation": truncation}
        return pre, {}, {"multi_label": bool(multi_label)}

    def __call__(self, sequences=None, *args, **options):
        if len(args) == 1 and "candidate_labels" not in options:
            options["candidate_labels"] = args[0]  # classifier(text, ["a", "b"]) as in transformers
        elif args:
            raise PipelineError("zero-shot-classification takes the text(s) and candidate_labels; pass the labels "
                                "as candidate_labels=[...].")
        return super().__call__(sequences, **options)

    def preprocess(self, sequence, candidate_labels=None, hypothesis_template="This example is {}.", truncation=None):
        sequence = check_text(sequence, "text")
        if not candidate_labels:
            raise PipelineError("zero-shot-classification needs candidate_labels, e.g. candidate_labels=['sport', "
                                "'politics'].")
        hypotheses = [hypothesis_template.format(label) for label in candidate_labels]
        if self.uses_embeddings:
            return [{"sequence": sequence, "labels": candidate_labels, "hypotheses": hypotheses}]
        # One premise/hypothesis pair per label; only the premise is ever cut, so every label stays whole.
        return [{**self.tokenize(sequence, hypothesis, truncation=truncation, strategy="only_first", what="text"),
                 "sequence": sequence, "label": label}
                for label, hypothesis in zip(candidate_labels, hypotheses)]

    def run(self, items, pre, fwd, post, batch_size):
        if not self.uses_embeddings:
            return super().run(items, pre, fwd, post, batch_size)
        # Embedding variant: the sentence pipeline embeds texts and hypotheses (its own three stages).
        results = []
        for item in items:
            chunk = self.preprocess(item, **pre)[0]
            vectors = self.embedder.encode([chunk["sequence"], *chunk["hypotheses"]], batch_size=batch_size)
            chunk["similarities"] = cosine_similarity(vectors[:1], vectors[1:])[0]  # [L]
            results.append(self.postprocess([chunk], **post))
        return results

    def _forward(self, batch):
        return {"logits": self.model(**batch).logits}  # [B, 3]: contradiction / neutral / entailment scores

    def postprocess(self, chunks, multi_label=False):
        if self.uses_embeddings:
            labels, similarities = chunks[0]["labels"], chunks[0]["similarities"]
            if multi_label or len(labels) == 1:
                scores = (1 + similarities) / 2
            else:
                scores = softmax(similarities / EMBEDDING_TEMPERATURE)
            return _ranked(chunks[0]["sequence"], labels, scores)
        labels = [chunk["label"] for chunk in chunks]
        logits = torch.stack([chunk["logits"].float() for chunk in chunks])  # [L, C]
        entail = self.entailment_id % logits.shape[-1]
        if multi_label or len(labels) == 1:
            contradiction = logits.shape[-1] - 1 if entail == 0 else 0
            scores = softmax(logits[:, [contradiction, entail]])[:, 1]  # each label on its own: entail vs contradict
        else:
            scores = softmax(logits[:, entail])  # the labels compete
        return _ranked(chunks[0]["sequence"], labels, scores)

    def to_dataframe(self, result, items, single):
        import pandas as pd

        rows = [result] if single else result
        return pd.DataFrame.from_records([{"sequence": row["sequence"], "label": label, "score": score}
                                          for row in rows for label, score in zip(row["labels"], row["scores"])])


def _ranked(sequence: str, labels: list[str], scores: torch.Tensor) -> dict:
    order = sorted(range(len(labels)), key=lambda i: float(scores[i]), reverse=True)
    return {"sequence": sequence, "labels": [labels[i] for i in order], "scores": [float(scores[i]) for i in order]}
