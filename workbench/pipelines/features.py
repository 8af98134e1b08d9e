"""feature-extraction (one vector per token, as transformers) and sentence embeddings (one vector per text).

    extractor = wb.pipeline("feature-extraction", model="sentence-transformers/all-MiniLM-L6-v2")
    extractor("Hello world")          # [[[...384 floats...] x 4 tokens]]: shape [1, T, D] as nested lists

    embedder = wb.pipeline("sentence-embedding", model="sentence-transformers/all-MiniLM-L6-v2")
    embedder("Hello world")           # [...384 floats...], pooled as the checkpoint says, length 1
    embedder.similarity("A cat sits.", ["A kitten is sitting.", "Stocks fell."])   # [0.8..., 0.0...]

A sentence-transformers checkpoint says how to pool in `1_Pooling/config.json` (mean, CLS, max, ...), whether to
normalise in `modules.json` (a Normalize module) and how long a text may be in `sentence_bert_config.json`;
those settings are read here so the vectors are the ones the checkpoint was trained to give.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from .base import Pipeline, PipelineError, check_text

# Pooling modes in the order sentence-transformers concatenates them, with their 1_Pooling/config.json keys.
POOLING_CONFIG_KEYS = {
    "cls": "pooling_mode_cls_token",
    "max": "pooling_mode_max_tokens",
    "mean": "pooling_mode_mean_tokens",
    "mean_sqrt_len": "pooling_mode_mean_sqrt_len_tokens",
    "weightedmean": "pooling_mode_weightedmean_tokens",
    "lasttoken": "pooling_mode_lasttoken",
}
POOLING_MODES = tuple(POOLING_CONFIG_KEYS)


@dataclass(frozen=True)
class SentencePooling:
    modes: tuple[str, ...] = ("mean",)
    normalize: bool = True
    max_seq_length: int | None = None


def read_sentence_pooling(folder: str | Path | None) -> SentencePooling | None:
    """The checkpoint's sentence-transformers pooling settings, or None when it has no Pooling module."""
    if folder is None or not Path(folder).is_dir():
        return None
    folder = Path(folder)
    modules_file = folder / "modules.json"
    modules = json.loads(modules_file.read_text()) if modules_file.is_file() else []
    pooling_dir = next((folder / m.get("path", "") for m in modules if m.get("type", "").endswith(".Pooling")),
                       folder / "1_Pooling")
    config_file = pooling_dir / "config.json"
    if not config_file.is_file():
        return None
    config = json.loads(config_file.read_text())
    modes = tuple(mode for mode in POOLING_MODES if config.get(POOLING_CONFIG_KEYS[mode]))
    normalize = any(m.get("type", "").endswith(".Normalize") for m in modules)
    settings_file = folder / "sentence_bert_config.json"
    settings = json.loads(settings_file.read_text()) if settings_file.is_file() else {}
    return SentencePooling(modes or ("mean",), normalize, settings.get("max_seq_length"))


def pool(vectors: torch.Tensor, modes: tuple[str, ...]) -> torch.Tensor:
    """[T, D] token vectors of one text (no padding) -> [D * len(modes)], the modes concatenated in order."""
    T = vectors.shape[0]
    pieces = []
    for mode in modes:
        if mode == "cls":
            pieces.append(vectors[0])
        elif mode == "max":
            pieces.append(vectors.max(dim=0).values)
        elif mode == "mean":
            pieces.append(vectors.mean(dim=0))
        elif mode == "mean_sqrt_len":
            pieces.append(vectors.sum(dim=0) / math.sqrt(T))
        elif mode == "weightedmean":  # later tokens weigh more: weights 1..T
            weights = torch.arange(1, T + 1, dtype=vectors.dtype)[:, None]
            pieces.append((vectors * weights).sum(dim=0) / weights.sum())
        elif mode == "lasttoken":
            pieces.append(vectors[-1])
        else:
            raise PipelineError(f"Unknown pooling {mode!r}; use one of {', '.join(POOLING_MODES)}.")
    return torch.cat(pieces)


def cosine_similarity(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """[N, D] x [M, D] -> [N, M] cosine similarities."""
    a = torch.nn.functional.normalize(a.float(), dim=-1)
    b = torch.nn.functional.normalize(b.float(), dim=-1)
    return a @ b.T


class FeatureExtractionPipeline(Pipeline):
    """Token vectors (transformers' feature-extraction), or with `pooling` one vector per text."""

    task = "feature-extraction"
    token_outputs = ("last_hidden_state",)

    def __init__(self, model, tokenizer, **options):
        self.sentence_pooling = read_sentence_pooling(getattr(model, "checkpoint_path", None))
        super().__init__(model, tokenizer, **options)

    def _sanitize_parameters(self, truncation=None, tokenize_kwargs=None, return_tensors=False, pooling=None,
                             normalize=None, max_length=None):
        tokenize_kwargs = dict(tokenize_kwargs or {})
        if "truncation" in tokenize_kwargs:
            if truncation is not None:
                raise PipelineError("truncation is given twice (as an option and in tokenize_kwargs); give it once.")
            truncation = tokenize_kwargs.pop("truncation")
        max_length = tokenize_kwargs.pop("max_length", max_length)
        modes = self._pooling_modes(pooling)
        if normalize is None:
            normalize = modes is not None and pooling == "auto" and (
                self.sentence_pooling is None or self.sentence_pooling.normalize)
        if modes is not None and max_length is None and pooling == "auto" and self.sentence_pooling is not None:
            max_length = self.sentence_pooling.max_seq_length  # the length the sentence model was trained at
        pre = {"truncation": truncation, "max_length": max_length, "tokenize_kwargs": tokenize_kwargs}
        post = {"return_tensors": return_tensors, "pooling": modes, "normalize": bool(normalize)}
        return pre, {}, post

    def _pooling_modes(self, pooling) -> tuple[str, ...] | None:
        if pooling is None:
            return None
        if pooling == "auto":
            return self.sentence_pooling.modes if self.sentence_pooling is not None else ("mean",)
        modes = (pooling,) if isinstance(pooling, str) else tuple(pooling)
        unknown = [mode for mode in modes if mode not in POOLING_MODES]
        if unknown:
            raise PipelineError(f"Unknown pooling {unknown[0]!r}; use 'auto' or one of {', '.join(POOLING_MODES)}.")
        return modes

    def preprocess(self, text, truncation=None, max_length=None, tokenize_kwargs=None):
        text = check_text(text)
        encoding = self.tokenize(text, truncation=truncation, max_length=max_length, **(tokenize_kwargs or {}))
        return [dict(encoding)]

    def _forward(self, batch):
        return {"last_hidden_state": self.model(**batch)[0]}  # [B, T, D]: the base model's token vectors

    def postprocess(self, chunks, return_tensors=False, pooling=None, normalize=False):
        vectors = chunks[0]["last_hidden_state"].float()  # [T, D]
        if pooling is not None:
            vectors = pool(vectors, pooling)  # [D']
            if normalize:
                vectors = torch.nn.functional.normalize(vectors, dim=-1)
            return vectors.clone() if return_tensors else vectors.tolist()
        vectors = vectors[None]  # [1, T, D]: transformers keeps the batch axis of one
        return vectors.clone() if return_tensors else vectors.tolist()

    # ---- sentence conveniences ---------------------------------------------------------------------------------
    def encode(self, texts: str | list[str], batch_size: int | None = None, **options) -> torch.Tensor:
        """Sentence vectors as one tensor: [D] for a text, [N, D] for a list (pooling 'auto' unless given)."""
        options.setdefault("pooling", "auto")
        vectors = self(texts, batch_size=batch_size, return_tensors=True, **options)
        return vectors if isinstance(texts, str) else torch.stack(vectors)

    def similarity(self, a, b=None, batch_size: int | None = None):
        """Cosine similarity of sentence vectors: a float for two texts, a list for a text and a list,
        a matrix (list of lists) for two lists; `b=None` compares the texts of `a` with each other."""
        vectors_a = self._as_vectors(a, batch_size)
        vectors_b = vectors_a if b is None else self._as_vectors(b, batch_size)
        scores = cosine_similarity(vectors_a, vectors_b)  # [N, M]
        a_single = isinstance(a, str) or (isinstance(a, torch.Tensor) and a.dim() == 1)
        b_single = b is not None and (isinstance(b, str) or (isinstance(b, torch.Tensor) and b.dim() == 1))
        if a_single and (b_single or b is None):
            return float(scores[0, 0])
        if a_single:
            return scores[0].tolist()
        if b_single:
            return scores[:, 0].tolist()
        return scores.tolist()

    def _as_vectors(self, texts_or_vectors, batch_size) -> torch.Tensor:
        if isinstance(texts_or_vectors, torch.Tensor):
            return texts_or_vectors.reshape(-1, texts_or_vectors.shape[-1])
        if isinstance(texts_or_vectors, str):
            return self.encode(texts_or_vectors, batch_size)[None]
        return self.encode(list(texts_or_vectors), batch_size)

    def to_dataframe(self, result, items, single):
        import pandas as pd

        rows = [result] if single else result
        if rows and isinstance(rows[0], list) and rows[0] and isinstance(rows[0][0], float):  # pooled vectors
            return pd.DataFrame({"text": items, "embedding": rows})
        records = [{"input": index, "position": position, "vector": vector}
                   for index, row in enumerate(rows) for position, vector in enumerate(row[0])]
        return pd.DataFrame.from_records(records)


class SentenceEmbeddingPipeline(FeatureExtractionPipeline):
    """One vector per text, pooled and normalised as the checkpoint's sentence-transformers config says."""

    task = "sentence-embedding"

    def _sanitize_parameters(self, truncation=None, tokenize_kwargs=None, return_tensors=False, pooling="auto",
                             normalize=None, max_length=None):
        return super()._sanitize_parameters(truncation, tokenize_kwargs, return_tensors, pooling, normalize,
                                            max_length)
