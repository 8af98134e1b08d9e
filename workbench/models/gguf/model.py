"""A GGUF file -> a workbench model: config dict + tensors under transformers' names -> the family's class."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .architectures import architecture_of, qk_row_order, tensor_plan
from .reader import GGUFFile, read_gguf


def gguf_checkpoint(path: str | Path | GGUFFile, dtype: torch.dtype = torch.float32
                    ) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, str]]:
    """(config dict, {transformers name: tensor in `dtype`}, {name: where it came from}) for a GGUF file.

    The config dict has transformers' fields for the family (`model_type` "llama", "qwen2" or "gpt2");
    the tensors are what a transformers checkpoint of that model would hold (tied copies left out).
    """
    file = path if isinstance(path, GGUFFile) else read_gguf(path)
    architecture = architecture_of(file)
    plan = tensor_plan(file, architecture)
    for gguf_name in plan:  # fail before spending time and memory on the others
        file.check_dequantizable(gguf_name)
    config = architecture.config(file)
    config["architectures"] = [architecture.class_name]

    tensors, sources = {}, {}
    for gguf_name, (name, transposed) in plan.items():
        row_order = None
        if architecture.permute_qk and (".attn_q." in gguf_name or ".attn_k." in gguf_name):
            heads = config["num_attention_heads"] if ".attn_q." in gguf_name else config["num_key_value_heads"]
            row_order = qk_row_order(file.tensors[gguf_name].shape[0], heads)
        tensor = file.tensor(gguf_name, dtype, row_order=row_order)
        tensors[name] = tensor.T.contiguous() if transposed else tensor  # GPT-2's Conv1D keeps [in, out]
        sources[name] = f"{file.path.name} ({gguf_name})"
    return config, tensors, sources


def generation_config_of(config: dict[str, Any]) -> dict[str, Any]:
    """generation_config.json fields a GGUF file implies: its special token ids."""
    return {key: config[key] for key in ("bos_token_id", "eos_token_id", "pad_token_id") if key in config}


def load_gguf_model(path: str | Path, task: str | None = None, dtype: torch.dtype = torch.float32,
                    labels: list[str] | dict[int, str] | int | None = None):
    """The model in a GGUF file, dequantized to `dtype` (default float32), with the head for `task`
    (None: text-generation); `labels` names a fresh classification head's labels, as in `wb.load_model`."""
    from ..base import load_checkpoint_weights
    from ..loading import build_model, with_labels

    config, tensors, sources = gguf_checkpoint(path, dtype)
    model = build_model(with_labels(config, labels), task)
    load_checkpoint_weights(model, tensors, sources, dtype=dtype, new_head=labels is not None)
    del tensors  # the model holds the only references now
    model.generation_config = generation_config_of(config)
    model.name_or_path = str(path)
    model.checkpoint_path = Path(path)
    return model.eval()
