"""llama.cpp architectures -> transformers layout: config.json fields from metadata, tensor names, and the few
changes llama.cpp's converter made to the weights (Q/K row order for Llama, Conv1D transposes for GPT-2).

Tensor maps are declarative: `blk.{}.` stands for every block number; a GGUF tensor that matches no entry
is an error (a file for a variant we do not understand), except the `IGNORED` ones.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from ...errors import UnsupportedModelError, WeightsError
from .reader import GGUFFile

_LLAMA_TENSORS = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
    "blk.{}.attn_norm.weight": "model.layers.{}.input_layernorm.weight",
    "blk.{}.attn_q.weight": "model.layers.{}.self_attn.q_proj.weight",
    "blk.{}.attn_k.weight": "model.layers.{}.self_attn.k_proj.weight",
    "blk.{}.attn_v.weight": "model.layers.{}.self_attn.v_proj.weight",
    "blk.{}.attn_output.weight": "model.layers.{}.self_attn.o_proj.weight",
    "blk.{}.ffn_norm.weight": "model.layers.{}.post_attention_layernorm.weight",
    "blk.{}.ffn_gate.weight": "model.layers.{}.mlp.gate_proj.weight",
    "blk.{}.ffn_up.weight": "model.layers.{}.mlp.up_proj.weight",
    "blk.{}.ffn_down.weight": "model.layers.{}.mlp.down_proj.weight",
}
# Llama variants with biases (attention_bias / mlp_bias) and Qwen2 (q/k/v biases) use the same names.
_LLAMA_BIASES = {
    f"blk.{{}}.{gguf}.bias": f"model.layers.{{}}.{ours}.bias"
    for gguf, ours in [("attn_q", "self_attn.q_proj"), ("attn_k", "self_attn.k_proj"), ("attn_v", "self_attn.v_proj"),
                       ("attn_output", "self_attn.o_proj"), ("ffn_gate", "mlp.gate_proj"), ("ffn_up", "mlp.up_proj"),
                       ("ffn_down", "mlp.down_proj")]
}

_GPT2_TENSORS = {
    "token_embd.weight": "transformer.wte.weight",
    "position_embd.weight": "transformer.wpe.weight",
    "output_norm.weight": "transformer.ln_f.weight",
    "output_norm.bias": "transformer.ln_f.bias",
    "output.weight": "lm_head.weight",
    **{f"blk.{{}}.{gguf}.{kind}": f"transformer.h.{{}}.{ours}.{kind}"
       for gguf, ours in [("attn_norm", "ln_1"), ("attn_qkv", "attn.c_attn"), ("attn_output", "attn.c_proj"),
                          ("ffn_norm", "ln_2"), ("ffn_up", "mlp.c_fc"), ("ffn_down", "mlp.c_proj")]
       for kind in ("weight", "bias")},
}

# Tensors some converters add that transformers' models have no place for.
IGNORED = {
    # Llama 3.1 rope frequency factors, precomputed by llama.cpp; transformers' GGUF loader drops them too.
    "rope_freqs.weight",
}


@dataclass(frozen=True)
class Architecture:
    model_type: str  # config.json model_type of the transformers family
    class_name: str  # config.json architectures[0]
    tensors: dict[str, str]  # GGUF name (with `blk.{}.`) -> transformers name
    config: Callable[[GGUFFile], dict[str, Any]]
    permute_qk: bool = False  # llama.cpp reordered Q/K rows for its rotary layout; undo it
    transposed: frozenset[str] = field(default_factory=frozenset)  # transformers names stored as [in, out] (Conv1D)


def _require(file: GGUFFile, key: str) -> Any:
    if key not in file.metadata:
        raise WeightsError(f"{file.path.name} lacks the metadata key {key!r} that describes its model; the file is "
                           "incomplete or was written by an unusual converter.")
    value = file.metadata[key]
    if isinstance(value, list):
        raise UnsupportedModelError(f"{file.path.name} sets {key!r} per layer; models whose layers differ in shape "
                                    "are not supported from GGUF.")
    return value


def _special_token_ids(file: GGUFFile) -> dict[str, int]:
    ids = {"bos_token_id": "tokenizer.ggml.bos_token_id", "eos_token_id": "tokenizer.ggml.eos_token_id",
           "pad_token_id": "tokenizer.ggml.padding_token_id"}
    return {name: int(file.metadata[key]) for name, key in ids.items() if key in file.metadata}


def _vocab_size(file: GGUFFile) -> int:
    if "token_embd.weight" in file.tensors:  # the weights themselves are the authority
        return file.tensors["token_embd.weight"].shape[0]
    return len(file.metadata.get("tokenizer.ggml.tokens", ())) or int(_require(file, f"{file.architecture}.vocab_size"))


def _rope_scaling(file: GGUFFile, arch: str) -> dict[str, Any] | None:
    kind = file.metadata.get(f"{arch}.rope.scaling.type", "none")
    if kind in ("none", None):
        return None
    if kind not in ("linear", "yarn"):
        raise UnsupportedModelError(f"{file.path.name} uses rope scaling {kind!r}; GGUF loading supports 'linear' "
                                    "and 'yarn'.")
    scaling: dict[str, Any] = {"rope_type": kind, "factor": float(_require(file, f"{arch}.rope.scaling.factor"))}
    original = file.metadata.get(f"{arch}.rope.scaling.original_context_length")
    if original is not None:
        scaling["original_max_position_embeddings"] = int(original)
    return scaling


def _llama_like_config(file: GGUFFile) -> dict[str, Any]:
    """LlamaConfig / Qwen2Config fields from `<arch>.*` metadata."""
    arch = file.architecture
    hidden = int(_require(file, f"{arch}.embedding_length"))
    heads = int(_require(file, f"{arch}.attention.head_count"))
    kv_heads = file.metadata.get(f"{arch}.attention.head_count_kv", heads)
    head_dim = file.metadata.get(f"{arch}.attention.key_length", hidden // heads)
    rotary_dim = file.metadata.get(f"{arch}.rope.dimension_count", head_dim)
    if rotary_dim != head_dim:
        raise UnsupportedModelError(f"{file.path.name} rotates {rotary_dim} of {head_dim} dimensions per head; "
                                    f"partial rotary embeddings are not supported for GGUF {arch} files.")
    config = {
        "model_type": arch,
        "vocab_size": _vocab_size(file),
        "hidden_size": hidden,
        "intermediate_size": int(_require(file, f"{arch}.feed_forward_length")),
        "num_hidden_layers": int(_require(file, f"{arch}.block_count")),
        "num_attention_heads": heads,
        "num_key_value_heads": int(kv_heads if not isinstance(kv_heads, list) else _require(
            file, f"{arch}.attention.head_count_kv")),
        "head_dim": int(head_dim),
        "max_position_embeddings": int(file.metadata.get(f"{arch}.context_length", 2048)),
        "rms_norm_eps": float(file.metadata.get(f"{arch}.attention.layer_norm_rms_epsilon", 1e-6)),
        "rope_theta": float(file.metadata.get(f"{arch}.rope.freq_base", 10000.0)),
        "hidden_act": "silu",
        "tie_word_embeddings": "output.weight" not in file.tensors,
        **_special_token_ids(file),
    }
    if arch == "llama":
        config["attention_bias"] = "blk.0.attn_q.bias" in file.tensors
        config["mlp_bias"] = "blk.0.ffn_up.bias" in file.tensors
    scaling = _rope_scaling(file, arch)
    if scaling:
        config["rope_scaling"] = scaling
    if "rope_freqs.weight" in file.tensors:
        warnings.warn(f"{file.path.name} carries llama.cpp rope frequency factors (Llama 3.1 long-context scaling), "
                      "which are not applied; outputs match transformers' GGUF loader, not the original checkpoint.",
                      stacklevel=4)
    return config


def _gpt2_config(file: GGUFFile) -> dict[str, Any]:
    hidden = int(_require(file, "gpt2.embedding_length"))
    config = {
        "model_type": "gpt2",
        "vocab_size": _vocab_size(file),
        "n_embd": hidden,
        "n_layer": int(_require(file, "gpt2.block_count")),
        "n_head": int(_require(file, "gpt2.attention.head_count")),
        "n_positions": int(file.tensors["position_embd.weight"].shape[0]) if "position_embd.weight" in file.tensors
        else int(_require(file, "gpt2.context_length")),
        "layer_norm_epsilon": float(file.metadata.get("gpt2.attention.layer_norm_epsilon", 1e-5)),
        "tie_word_embeddings": "output.weight" not in file.tensors,
        **_special_token_ids(file),
    }
    inner = file.metadata.get("gpt2.feed_forward_length")
    if inner is not None and int(inner) != 4 * hidden:
        config["n_inner"] = int(inner)
    return config


ARCHITECTURES: dict[str, Architecture] = {
    "llama": Architecture("llama", "LlamaForCausalLM", {**_LLAMA_TENSORS, **_LLAMA_BIASES}, _llama_like_config,
                          permute_qk=True),
    # llama.cpp keeps Qwen2's Q/K rows in transformers' order (it uses NEOX-style rotary for qwen2).
    "qwen2": Architecture("qwen2", "Qwen2ForCausalLM", {**_LLAMA_TENSORS, **_LLAMA_BIASES}, _llama_like_config),
    "gpt2": Architecture("gpt2", "GPT2LMHeadModel", _GPT2_TENSORS, _gpt2_config,
                         transposed=frozenset(f"transformer.h.{{}}.{name}.weight" for name in
                                              ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"))),
}

_BLOCK = re.compile(r"blk\.(\d+)\.(.+)")


def architecture_of(file: GGUFFile) -> Architecture:
    name = file.architecture
    if name not in ARCHITECTURES:
        raise UnsupportedModelError(
            f"{file.path.name} holds a {name!r} model; GGUF loading supports the architectures "
            f"{', '.join(sorted(ARCHITECTURES))}; load the original checkpoint folder (safetensors) instead.")
    return ARCHITECTURES[name]


def tensor_plan(file: GGUFFile, architecture: Architecture) -> dict[str, tuple[str, bool]]:
    """{GGUF name: (transformers name, stored transposed)} for every tensor of the file (ignored ones left out)."""
    plan = {}
    for gguf_name in file.tensors:
        if gguf_name in IGNORED:
            continue
        match = _BLOCK.fullmatch(gguf_name)
        pattern, block = (f"blk.{{}}.{match[2]}", match[1]) if match else (gguf_name, None)
        if pattern not in architecture.tensors:
            raise WeightsError(f"Tensor {gguf_name!r} in {file.path.name} has no place in a {architecture.model_type} "
                               "model; the file is a variant this loader does not know.")
        ours = architecture.tensors[pattern]
        plan[gguf_name] = (ours.format(block) if block else ours, ours in architecture.transposed)
    return plan


def qk_row_order(rows: int, heads: int) -> torch.Tensor:
    """Row order that undoes llama.cpp's Q/K permutation.

    transformers keeps each head's rotary pairs as two halves: row h*D + s*D/2 + i pairs (s=0, s=1) for
    frequency i. llama.cpp's converter interleaves them (GPT-J style): that row sits at h*D + 2*i + s.
    So our row (h, s, i) is stored row (h, i, s): an index grid [H, D/2, 2] read in [H, 2, D/2] order.
    """
    head_dim = rows // heads
    return torch.arange(rows).reshape(heads, head_dim // 2, 2).transpose(1, 2).reshape(-1)
