"""`load_model(name, task)`: checkpoint -> config -> registry -> model class -> strict weights."""
from __future__ import annotations

import json
from pathlib import Path

import threading
from contextlib import contextmanager

import torch
from torch import nn

from ..errors import WeightsError
from ..checkpoints import read_config, read_state_dict, resolve_checkpoint
from .base import PreTrainedModel, load_checkpoint_weights
from .config import Config
from .registry import family_for, head_for, normalise_task, task_from_architectures


_INIT_FUNCTIONS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "kaiming_uniform_",
                   "kaiming_normal_", "xavier_uniform_", "xavier_normal_", "orthogonal_")
_init_lock = threading.Lock()


@contextmanager
def _parameter_init_skipped():
    """Let modules skip initialising their parameters while they are built on the meta device.

    The weights come from the checkpoint, so that work is wasted; worse, the first init call on a meta
    tensor imports torch's reference kernels (about 1.3 s and 70 MB at start-up).
    """
    with _init_lock:
        saved = {name: getattr(nn.init, name) for name in _INIT_FUNCTIONS}
        try:
            for name in _INIT_FUNCTIONS:
                setattr(nn.init, name, lambda tensor, *args, **kwargs: tensor)
            yield
        finally:
            for name, function in saved.items():
                setattr(nn.init, name, function)


def build_model(config_dict: dict, task: str | None = None, *, device: str | torch.device | None = None) -> PreTrainedModel:
    """A model of the right family and head for a config dict (weights uninitialised on `meta`)."""
    model_type = config_dict.get("model_type")
    family = family_for(model_type)
    task = normalise_task(task) or task_from_architectures(config_dict.get("architectures"), family)
    model_class = head_for(family, model_type, task)
    config = Config(config_dict, family.defaults, family.aliases)
    if device is None:  # weights will be assigned from a checkpoint
        with torch.device("meta"), _parameter_init_skipped():
            model = model_class(config)
    else:
        with torch.device(device):
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

        model = load_gguf_model(path, task=task, dtype=dtype, labels=labels)
        model.name_or_path, model.checkpoint_path = str(name_or_path), path
        return model
    model = build_model(with_labels(read_config(path), labels), task)
    tensors, sources = read_state_dict(path)
    load_checkpoint_weights(model, tensors, sources, dtype=dtype, new_head=labels is not None)
    model.name_or_path = str(name_or_path)
    model.checkpoint_path = path
    model.generation_config = read_generation_config(path)
    return model.eval()


def with_labels(config_dict: dict, labels: list[str] | dict[int, str] | int | None) -> dict:
    """The config dict with new classification labels (names, an id->name dict or a count); as is for None."""
    if labels is None:
        return config_dict
    config = Config(config_dict)
    config.set_labels(labels)
    return config.to_dict()


def read_generation_config(folder: Path) -> dict:
    """generation_config.json as a dict ({} if absent): the defaults `model.generate` starts from."""
    file = Path(folder) / "generation_config.json"
    if not file.is_file():
        return {}
    try:
        values = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WeightsError(f"'{file}' is not valid JSON ({error}); re-download or delete it.") from error
    values.pop("transformers_version", None)
    return values


def from_config(config_dict: dict, task: str | None = None, *, seed: int | None = None) -> PreTrainedModel:
    """A randomly initialised model from a config dict (as transformers' `Model(config)`)."""
    if seed is not None:
        torch.manual_seed(seed)
    model = build_model(config_dict, task, device="cpu")
    model.init_fresh_weights()
    return model.eval()
