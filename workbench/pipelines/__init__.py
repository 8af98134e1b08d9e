"""`wb.pipeline(task, model=...)`: transformers' task pipelines, with its task names, options and outputs.

    classifier = wb.pipeline("sentiment-analysis", model="distilbert-base-uncased-finetuned-sst-2-english")
    classifier("I love this!")        # [{'label': 'POSITIVE', 'score': 0.9998...}]

Tasks (aliases in brackets): feature-extraction, sentence-embedding [sentence-similarity], text-classification
[sentiment-analysis], token-classification [ner], question-answering, fill-mask, zero-shot-classification,
text-generation. summarization, translation and text2text-generation need a seq2seq family that is not here yet.
Every pipeline also takes `as_dataframe=True` for a pandas DataFrame of the same results.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..errors import UnsupportedModelError
from .base import Pipeline, PipelineError, TruncationWarning, logger
from .classification import TextClassificationPipeline, ZeroShotClassificationPipeline
from .features import FeatureExtractionPipeline, SentenceEmbeddingPipeline, cosine_similarity
from .fill_mask import FillMaskPipeline
from .generation import TextGenerationPipeline
from .question_answering import QuestionAnsweringPipeline
from .tokens import TokenClassificationPipeline

TASK_ALIASES = {
    "sentiment-analysis": "text-classification",
    "ner": "token-classification",
    "sentence-similarity": "sentence-embedding",
    "sentence-embeddings": "sentence-embedding",
}
PIPELINES: dict[str, type[Pipeline]] = {
    "feature-extraction": FeatureExtractionPipeline,
    "sentence-embedding": SentenceEmbeddingPipeline,
    "text-classification": TextClassificationPipeline,
    "token-classification": TokenClassificationPipeline,
    "question-answering": QuestionAnsweringPipeline,
    "fill-mask": FillMaskPipeline,
    "zero-shot-classification": ZeroShotClassificationPipeline,
    "text-generation": TextGenerationPipeline,
}
SEQ2SEQ_TASKS = ("summarization", "translation", "text2text-generation")
# The model head each task loads (None: the head named in config.json `architectures`).
HEAD_FOR_TASK = {
    "feature-extraction": "feature-extraction",
    "sentence-embedding": "feature-extraction",
    "zero-shot-classification": None,
}
CATALOG_TASK = {"sentence-embedding": "feature-extraction"}  # catalog rows list transformers' task names


def pipeline(task: str | None = None, model=None, tokenizer=None, *, device=None, device_map=None, dtype=None,
             torch_dtype=None, batch_size: int = 1, framework: str | None = None, config=None,
             use_fast: bool = True, revision: str | None = None, token=None, trust_remote_code: bool | None = None,
             model_kwargs: dict | None = None, **options) -> Pipeline:
    """A ready pipeline for `task`, as transformers' `pipeline()`.

    model: a name (local folder, .gguf file, Hub id) or a model from wb.load_model; None picks the catalog's
    default for the task (one available offline if there is one) and says which. tokenizer: a name or a
    Tokenizer; None takes the model's own. Other keywords (top_k=..., aggregation_strategy=...) become the
    defaults of every call. Runs on CPU only.
    """
    _check_runtime(device, device_map, framework, trust_remote_code, use_fast)
    dtype = _dtype(dtype if dtype is not None else torch_dtype if torch_dtype is not None
                   else (model_kwargs or {}).get("dtype", (model_kwargs or {}).get("torch_dtype")))
    if task is None and model is None:
        raise PipelineError("pipeline() needs a task (e.g. 'text-classification') or a model; pass at least one.")
    task = _normalise_task(task) if task is not None else None

    if model is None:
        model = _default_checkpoint(task)
    if isinstance(model, (str, Path)):
        model = _load_model(model, task, dtype)
    elif not isinstance(model, torch.nn.Module):
        raise PipelineError(f"model must be a name or a model from wb.load_model, got {type(model).__name__}.")
    if task is None:
        task = getattr(model, "task", None) or "feature-extraction"
    model = _fit_model_to_task(model, task)
    tokenizer = _tokenizer_for(model, tokenizer)
    return PIPELINES[task](model, tokenizer, task=task, batch_size=batch_size, **options)


def _normalise_task(task: str) -> str:
    if not isinstance(task, str):
        raise PipelineError(f"task must be a string such as 'text-classification', got {type(task).__name__}.")
    task = TASK_ALIASES.get(task, task)
    if task in SEQ2SEQ_TASKS or task.startswith("translation_"):
        raise UnsupportedModelError(
            f"'{task}' needs a seq2seq model family (an encoder-decoder such as T5 or BART), which is not "
            "available yet; use text-generation with a chat model instead for now.")
    if task not in PIPELINES:
        known = ", ".join([*PIPELINES, *TASK_ALIASES])
        raise PipelineError(f"Unknown task '{task}'; use one of: {known}.")
    return task


def _default_checkpoint(task: str) -> str:
    from ..checkpoints import default_checkpoint, hub_offline
    from ..errors import CheckpointNotFoundError

    offline = True if hub_offline() else None
    try:
        name = default_checkpoint(CATALOG_TASK.get(task, task), offline=offline)
    except CheckpointNotFoundError:
        if task != "zero-shot-classification":
            raise
        # No NLI checkpoint here: the embedding variant works with any sentence-embedding model.
        name = default_checkpoint("feature-extraction", offline=offline)
        logger.warning("No NLI checkpoint for zero-shot-classification is available offline; using the sentence "
                       "embeddings of %s (label = the hypothesis most similar to the text).", name)
        return name
    logger.warning("No model was given for %s: using %s (pass model=... to choose another).", task, name)
    return name


def _load_model(name, task: str | None, dtype):
    from ..models.loading import load_model

    head = HEAD_FOR_TASK.get(task, task) if task is not None else None
    return load_model(name, task=head, dtype=dtype)


def _fit_model_to_task(model, task: str):
    """The model itself, or its base model for feature extraction; a clear error when the head does not fit."""
    model_task = getattr(model, "task", None)
    if task in ("feature-extraction", "sentence-embedding"):
        return model if model_task == "feature-extraction" else getattr(model, "base_model", model)
    if task == "zero-shot-classification":
        if model_task in ("text-classification", "feature-extraction"):
            return model
        return getattr(model, "base_model", model)
    if model_task is not None and model_task != task:
        raise PipelineError(
            f"This model has a {model_task} head, not a {task} head; load a {task} checkpoint, or "
            f"wb.load_model(name, task='{task}') to start that head from random weights.")
    return model.eval()


def _tokenizer_for(model, tokenizer):
    from .. import load_tokenizer

    if tokenizer is None:
        source = getattr(model, "checkpoint_path", None) or getattr(model, "name_or_path", None)
        if source is None:
            raise PipelineError("This model was not loaded from a checkpoint, so its tokenizer is unknown; pass "
                                "tokenizer=<name or Tokenizer>.")
        return load_tokenizer(source)
    if isinstance(tokenizer, (str, Path)):
        return load_tokenizer(tokenizer)
    if not callable(tokenizer):
        raise PipelineError(f"tokenizer must be a name or a Tokenizer, got {type(tokenizer).__name__}.")
    return tokenizer


def _check_runtime(device, device_map, framework, trust_remote_code, use_fast) -> None:
    for what, value in (("device", device), ("device_map", device_map)):
        if value is None or value in ("cpu", -1, "auto") or (isinstance(value, torch.device) and value.type == "cpu"):
            continue
        raise PipelineError(f"{what}={value!r} is not available: the workbench runs on CPU only; leave it out or "
                            "pass device='cpu'.")
    if framework not in (None, "pt"):
        raise PipelineError(f"framework={framework!r} is not available; the workbench runs PyTorch ('pt') only.")
    if trust_remote_code:
        raise PipelineError("trust_remote_code=True is not supported: the workbench runs only the architectures it "
                            "implements itself.")
    if not use_fast:
        raise PipelineError("use_fast=False is not available: every workbench tokenizer is a fast one.")


def _dtype(dtype) -> torch.dtype:
    if dtype is None or dtype == "auto":
        return torch.float32
    if isinstance(dtype, str):
        value = getattr(torch, dtype.removeprefix("torch."), None)
        if not isinstance(value, torch.dtype):
            raise PipelineError(f"dtype={dtype!r} is not a torch dtype; use 'float32' or 'bfloat16'.")
        return value
    return dtype


__all__ = ["pipeline", "Pipeline", "PipelineError", "TruncationWarning", "PIPELINES", "TASK_ALIASES",
           "FeatureExtractionPipeline", "SentenceEmbeddingPipeline", "TextClassificationPipeline",
           "TokenClassificationPipeline", "QuestionAnsweringPipeline", "FillMaskPipeline",
           "ZeroShotClassificationPipeline", "TextGenerationPipeline", "cosine_similarity"]
