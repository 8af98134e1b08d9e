"""Which module implements each config.json `model_type`, imported only when first used.

Each family module exposes `FAMILIES: dict[model_type, Family]`; a `Family` maps pipeline tasks to
model classes and holds the config defaults that transformers uses for that model_type.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from ..errors import UnsupportedModelError

# Task names as transformers' pipelines spell them, with their aliases.
TASK_ALIASES = {"sentiment-analysis": "text-classification", "ner": "token-classification"}
TASKS = ("feature-extraction", "fill-mask", "text-classification", "token-classification",
         "question-answering", "text-generation")

# config.json `architectures[0]` suffix -> task (first match wins; "Model" alone is the base model).
ARCHITECTURE_SUFFIXES = (
    ("ForMaskedLM", "fill-mask"),
    ("ForPreTraining", "fill-mask"),
    ("ForSequenceClassification", "text-classification"),
    ("ForTokenClassification", "token-classification"),
    ("ForQuestionAnswering", "question-answering"),
    ("ForCausalLM", "text-generation"),
    ("LMHeadModel", "text-generation"),
    ("Model", "feature-extraction"),
)


@dataclass
class Family:
    name: str  # the family file, e.g. "bert"
    heads: dict[str, type]  # task -> model class
    defaults: dict[str, Any] = field(default_factory=dict)  # transformers' config defaults for this model_type
    # config.json `architectures[0]` -> task, for names the suffix rule below gets wrong in this family
    # (e.g. ElectraForPreTraining is the replaced-token discriminator, not a fill-mask model).
    architectures: dict[str, str] = field(default_factory=dict)
    # read-only config aliases, as transformers' `attribute_map` (e.g. DistilBERT's hidden_size -> dim)
    aliases: dict[str, str] = field(default_factory=dict)


_MODULES: dict[str, str] = {}


def register_family(model_type: str, module: str) -> None:
    if model_type in _MODULES:
        raise ValueError(f"model_type {model_type!r} is already registered by {_MODULES[model_type]}")
    _MODULES[model_type] = module


for _model_type, _module in {
    "bert": "bert", "roberta": "bert", "xlm-roberta": "bert", "camembert": "bert",
    "distilbert": "distilbert", "albert": "albert", "electra": "electra",
    "gpt2": "gpt2",
    "llama": "llama", "mistral": "llama", "qwen2": "llama", "gemma": "llama", "phi3": "llama",
    "gpt_neox": "gpt_neox",
}.items():
    register_family(_model_type, f"workbench.models.{_module}")


def supported_model_types() -> list[str]:
    return sorted(_MODULES)


def family_for(model_type: str | None) -> Family:
    if model_type not in _MODULES:
        raise UnsupportedModelError(
            f"model_type {model_type!r} is not supported yet; supported: {', '.join(supported_model_types())}.")
    module = importlib.import_module(_MODULES[model_type])
    return module.FAMILIES[model_type]


def normalise_task(task: str | None) -> str | None:
    if task is None:
        return None
    task = TASK_ALIASES.get(task, task)
    return task


def task_from_architectures(architectures: list[str] | None, family: Family | None = None) -> str:
    name = (architectures or [""])[0]
    if family is not None and name in family.architectures:
        return family.architectures[name]
    for suffix, task in ARCHITECTURE_SUFFIXES:
        if name.endswith(suffix):
            return task
    return "feature-extraction"


def head_for(family: Family, model_type: str, task: str) -> type:
    if task not in family.heads:
        raise UnsupportedModelError(
            f"{model_type} models have no {task!r} head here; available: {', '.join(family.heads)}.")
    return family.heads[task]
