"""workbench: transformer models in a notebook — load, run, look inside, fine-tune; on a CPU, offline.

    import workbench as wb
    tok = wb.load_tokenizer("sentence-transformers/all-MiniLM-L6-v2")
    model = wb.load_model("sentence-transformers/all-MiniLM-L6-v2")
    out = model(**tok(["Hello world"], return_tensors="pt"), output_attentions=True)

Attributes are imported on first use, so `import workbench` stays fast.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from .errors import (CheckpointNotFoundError, GenerationError, TokenizerError, TrainingError, UnsupportedModelError,
                     WeightsError, WorkbenchError)

__version__ = "0.1.0"


def load_tokenizer(name_or_path: str | Path):
    """The tokenizer of a checkpoint: a folder, a `.gguf` file or a Hub id (cache, installed package, Hub)."""
    from .checkpoints import resolve_checkpoint

    path = resolve_checkpoint(name_or_path)
    if path.is_file() and path.suffix == ".gguf":
        from .models.gguf import load_gguf_tokenizer

        return load_gguf_tokenizer(path)
    from .tokenizer import Tokenizer

    return Tokenizer.from_pretrained(path)


# name -> (module, attribute): the public API beyond the two loaders, imported lazily.
_LAZY = {
    "load_model": ("workbench.models.loading", "load_model"),
    "from_config": ("workbench.models.loading", "from_config"),
    "supported_model_types": ("workbench.models.registry", "supported_model_types"),
    "catalog": ("workbench.checkpoints", "catalog"),
    "resolve_checkpoint": ("workbench.checkpoints", "resolve_checkpoint"),
    "Tokenizer": ("workbench.tokenizer", "Tokenizer"),
    "pipeline": ("workbench.pipelines", "pipeline"),
    "show_tokens": ("workbench.views", "show_tokens"),
    "show_attention": ("workbench.views", "show_attention"),
    "show_generation": ("workbench.views", "show_generation"),
    "show_logit_lens": ("workbench.views", "show_logit_lens"),
    "fine_tune": ("workbench.training", "fine_tune"),
    "Workbench": ("workbench.widgets", "Workbench"),
    "release_memory": ("workbench.memory", "release_memory"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))


__all__ = ["load_tokenizer", *_LAZY, "WorkbenchError", "CheckpointNotFoundError", "WeightsError",
           "UnsupportedModelError", "TokenizerError", "GenerationError", "TrainingError"]
