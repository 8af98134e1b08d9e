"""`load_model(name, task)`: checkpoint -> config -> registry -> model class -> strict weights."""
from __future__ import annotations

from pathlib import Path

import torch

from ..checkpoints import read_config, read_state_dict, resolve_checkpoint
from .base import PreTrainedModel, load_checkpoint_weights
from .config import Config
from .registry import family_for, head_for, normalise_task, task_from_architectures


def build_model(config_dict: dict, task: str | None = None, *, device: str | torch.device | None = None) -> PreTrainedModel:
    """A model of the right family and head for a config dict (weights uninitialised on `meta`)."""
    model_type = config_dict.get("model_type")
    family = family_for(model_type)
    task = normalise_task(task) or task_from_architectures(config_dict.get("architectures"), family)
    model_class = head_for(family, model_type, task)
    config = Config(config_dict, family.defaults)
    with torch.device(device or "meta"):
        model = model_class(config)
    model.name_hook_points()
    return model


def load_model(
    name_or_path: str | Path,
    task: str | None = None,
    *,
    dtype: torch.dtype = torch.float32,
    labels: list[str] | dict[int, str] | int | None = None,
) -> PreTrainedModel:
    """Load a checkpoint's model with the head for `task` (None: the head named in config.json).

    `labels` gives a classification head new label names (or a count): the head starts fresh, the way a
    fine-tuning run begins from a base checkpoint.
    """
    path = resolve_checkpoint(name_or_path)
    if path.is_file() and path.suffix == ".gguf":
        from .gguf import load_gguf_model  # issue: decoders / GGUF

        return load_gguf_model(path, task=task, dtype=dtype)
    config_dict = read_config(path)
    if labels is not None:
        config = Config(config_dict)
        config.set_labels(labels)
        config_dict = config.to_dict()
    model = build_model(config_dict, task)
    tensors, sources = read_state_dict(path)
    load_checkpoint_weights(model, tensors, sources, dtype=dtype, new_head=labels is not None)
    model.name_or_path = str(name_or_path)
    model.checkpoint_path = path
    return model.eval()


def from_config(config_dict: dict, task: str | None = None, *, seed: int | None = None) -> PreTrainedModel:
    """A randomly initialised model from a config dict (as transformers' `Model(config)`)."""
    if seed is not None:
        torch.manual_seed(seed)
    model = build_model(config_dict, task, device="cpu")
    model.init_fresh_weights()
    return model.eval()
