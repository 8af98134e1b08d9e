"""What every model class shares: config, task, weight loading/saving in Hugging Face layout, hooks.

Module names inside each family mirror the checkpoint's tensor names, so loading is the identity map
plus a few declared renames (old `LayerNorm.gamma` -> `.weight`) and the base-model prefix
(`bert.` ...) being added or stripped. Loading is strict: see `load_checkpoint_weights`.
"""
from __future__ import annotations

import fnmatch
import json
import warnings
from pathlib import Path

import torch
from torch import nn

from ..errors import WeightsError
from .config import Config
from .hooks import HookedModel
from .layers import init_tensor, init_weights

# Old checkpoint spellings -> today's (suffix renames applied to every key).
LEGACY_SUFFIXES = {"LayerNorm.gamma": "LayerNorm.weight", "LayerNorm.beta": "LayerNorm.bias"}


class FreshWeightsWarning(UserWarning):
    """A task head was not in the checkpoint and starts from random weights (fine-tune before trusting it)."""


class PreTrainedModel(HookedModel):
    task: str = "feature-extraction"  # the pipeline task this head serves
    # Checkpoint keys (patterns) this class may find in a file and ignore: buffers older versions saved,
    # or parts of the base model this head does not use (e.g. a pooler).
    ignore_unexpected: tuple[str, ...] = ("*position_ids", "*position_embeddings.inv_freq")
    # Keys (patterns) allowed to be absent from the checkpoint even though they are not a task head.
    fresh_ok: tuple[str, ...] = ()

    def __init__(self, config: Config, base_model_prefix: str):
        super().__init__()
        self.config = config
        self.base_model_prefix = base_model_prefix
        self.loading_info: dict[str, list[str]] = {"fresh": [], "ignored": []}

    # ---- what subclasses provide ----------------------------------------------------------------------
    def tied_weights(self) -> dict[str, str]:
        """{key that is a tied copy: key it shares storage with}, e.g. the MLM decoder -> word embeddings."""
        return {}

    def architecture_name(self) -> str:
        """The transformers class name written to config.json `architectures` (e.g. "BertForMaskedLM")."""
        raise NotImplementedError

    # ---- conveniences ------------------------------------------------------------------------------------
    @property
    def base_model(self) -> nn.Module:
        return getattr(self, self.base_model_prefix, self)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def num_parameters(self, exclude_embeddings: bool = False) -> int:
        seen, total = set(), 0
        for name, p in self.named_parameters():
            if id(p) in seen or (exclude_embeddings and "embed" in name):
                continue
            seen.add(id(p))
            total += p.numel()
        return total

    def tie_weights(self) -> None:
        """Make each tied key the very same Parameter as its source (one tensor, trained once)."""
        params = dict(self.named_parameters(remove_duplicate=False))
        for target, source in self.tied_weights().items():
            owner_name, _, attr = target.rpartition(".")
            setattr(self.get_submodule(owner_name), attr, params[source])

    def init_fresh_weights(self) -> None:
        """Initialise every parameter as transformers does (used for models built from a config alone)."""
        std = self.config.get("initializer_range", 0.02)
        self.apply(lambda module: init_weights(module, std))
        self.tie_weights()

    def generate(self, *args, **kwargs):
        """Only text-generation heads generate (see models/causal.py); any other head says so."""
        from ..errors import GenerationError

        raise GenerationError(
            f"This {type(self).__name__} is a {self.task} model and cannot generate text; load a causal language "
            "model with task='text-generation'.")

    # ---- saving -----------------------------------------------------------------------------------------
    def save_pretrained(self, folder: str | Path) -> Path:
        """Write config.json + model.safetensors (tied copies left out) that transformers loads as is."""
        from ..checkpoints import write_state_dict

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        config = self.config.to_dict()
        config["architectures"] = [self.architecture_name()]
        config["torch_dtype"] = str(self.dtype).removeprefix("torch.")
        (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        generation_config = getattr(self, "generation_config", None)
        if generation_config:
            (folder / "generation_config.json").write_text(json.dumps(generation_config, indent=2) + "\n")
        tied = set(self.tied_weights())
        state = {k: v.detach() for k, v in self.state_dict().items() if k not in tied}
        write_state_dict(state, folder)
        return folder


def _canonical(key: str) -> str:
    for old, new in LEGACY_SUFFIXES.items():
        if key.endswith(old):
            return key[: -len(old)] + new
    return key


def _matches(key: str, patterns) -> bool:
    return any(fnmatch.fnmatchcase(key, p) for p in patterns)


def load_checkpoint_weights(
    model: PreTrainedModel,
    tensors: dict[str, torch.Tensor],
    sources: dict[str, str],
    *,
    dtype: torch.dtype = torch.float32,
    new_head: bool = False,
) -> PreTrainedModel:
    """Put checkpoint tensors into `model` (built on the meta device), strictly.

    - a tensor of the model missing from the checkpoint is an error, except a task head (anything outside
      the base model) or a `fresh_ok` key: those start fresh, said in a FreshWeightsWarning;
    - a checkpoint tensor the model has no place for is an error, except `ignore_unexpected` keys and
      tensors of other task heads (e.g. `cls.predictions.*` when loading a base model from a BERT MLM file);
    - a shape mismatch is an error naming key, file and both shapes (with `new_head=True` a head whose
      label count changed starts fresh instead).
    Tensors are assigned, not copied, so memory-mapped safetensors stay shared with the page cache.
    """
    prefix = model.base_model_prefix
    is_head_model = model.base_model is not model
    expected = model.state_dict()  # meta tensors: names and shapes only
    tied = model.tied_weights()

    def in_base_model(key: str) -> bool:
        return not is_head_model or key.startswith(prefix + ".")

    def model_key_for(checkpoint_key: str) -> str | None:
        key = _canonical(checkpoint_key)
        candidates = [key]
        if key.startswith(prefix + "."):
            candidates.append(key[len(prefix) + 1:])
        else:
            candidates.append(f"{prefix}.{key}")
        return next((c for c in candidates if c in expected), None)

    base_children = set(dict(model.base_model.named_children()))

    def belongs_to_base(checkpoint_key: str) -> bool:
        """A key of the base model (with or without the prefix), as opposed to some task head's."""
        return checkpoint_key.startswith(prefix + ".") or checkpoint_key.split(".")[0] in base_children

    loaded: dict[str, torch.Tensor] = {}
    for checkpoint_key, tensor in tensors.items():
        key = model_key_for(checkpoint_key)
        if key is None:
            if _matches(_canonical(checkpoint_key), model.ignore_unexpected) or not belongs_to_base(checkpoint_key):
                model.loading_info["ignored"].append(checkpoint_key)  # e.g. another task's head
                continue
            raise WeightsError(
                f"Unexpected tensor {checkpoint_key!r} in {sources.get(checkpoint_key, 'the checkpoint')}: "
                f"{type(model).__name__} ({model.config.model_type}) has no such weight; the file may be for another architecture.")
        want = tuple(expected[key].shape)
        if tuple(tensor.shape) != want:
            if new_head and not in_base_model(key):
                continue  # the head is re-made for new labels below
            raise WeightsError(
                f"Tensor {checkpoint_key!r} in {sources.get(checkpoint_key, 'the checkpoint')} has shape "
                f"{tuple(tensor.shape)} but {type(model).__name__} expects {want} for {key!r}; config.json and the weights disagree.")
        loaded[key] = tensor.to(dtype) if tensor.is_floating_point() else tensor

    fresh = []
    for key in expected:
        if key in loaded or key in tied:
            continue
        if in_base_model(key) and not _matches(key, model.fresh_ok):
            files = sorted(set(sources.values())) or ["the checkpoint"]
            raise WeightsError(
                f"Tensor {key!r} is missing from {', '.join(files)}; the checkpoint is incomplete or not a "
                f"{model.config.model_type} model.")
        fresh.append(key)

    model.load_state_dict(loaded, strict=False, assign=True)
    std = model.config.get("initializer_range", 0.02)
    for key in fresh:
        owner_name, _, attr = key.rpartition(".")
        owner = model.get_submodule(owner_name)
        meta = getattr(owner, attr)
        new = nn.Parameter(torch.empty(meta.shape, dtype=dtype), requires_grad=True)
        init_tensor(key, new, std)
        setattr(owner, attr, new)
    model.tie_weights()
    model.loading_info["fresh"] = fresh
    if fresh:
        warnings.warn(
            f"{len(fresh)} weights of {type(model).__name__} are not in the checkpoint and start random "
            f"({', '.join(fresh[:4])}{', ...' if len(fresh) > 4 else ''}); fine-tune before trusting its "
            f"{model.task} outputs.", FreshWeightsWarning, stacklevel=3)
    return model
