"""Reading and writing checkpoint files: config.json, safetensors (single or sharded) and PyTorch .bin.

Reading never runs code from a file: safetensors holds only tensors, and .bin pickles are opened with
`torch.load(weights_only=True)`, which refuses anything but tensors and plain containers.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..errors import CheckpointNotFoundError, WeightsError

SAFETENSORS_FILE = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
PYTORCH_FILE = "pytorch_model.bin"
PYTORCH_INDEX = "pytorch_model.bin.index.json"
WEIGHTS_LOOKED_FOR = (SAFETENSORS_FILE, SAFETENSORS_INDEX, PYTORCH_FILE, PYTORCH_INDEX)

StateDict = dict[str, torch.Tensor]


# ---------------------------------------------------------------------------------------------- config


def read_config(path: str | os.PathLike) -> dict:
    """The parsed config.json of a checkpoint folder (or of a config.json path)."""
    path = Path(path)
    config_path = path / "config.json" if path.is_dir() else path
    if not config_path.is_file():
        raise CheckpointNotFoundError(
            f"'{path}' has no config.json; point to a checkpoint folder (one written by save_pretrained "
            "or downloaded from the Hub)."
        )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WeightsError(f"'{config_path}' is not valid JSON ({error}); re-download or re-save it.") from error
    if not isinstance(config, dict):
        raise WeightsError(f"'{config_path}' holds a JSON {type(config).__name__}, not an object; re-download it.")
    return config


# ---------------------------------------------------------------------------------------------- reading


def read_state_dict(path: str | os.PathLike) -> tuple[StateDict, dict[str, str]]:
    """All tensors of a checkpoint, and for each tensor name the file it came from.

    `path` is a checkpoint folder or one .safetensors / .bin file. In a folder the first of these wins:
    model.safetensors, model.safetensors.index.json (shards), pytorch_model.bin,
    pytorch_model.bin.index.json. Safetensors are memory-mapped, so reading is fast and costs no copy.
    """
    path = Path(path)
    if path.is_file():
        return _read_weights_file(path)
    if not path.is_dir():
        raise CheckpointNotFoundError(f"There is no such folder or file as '{path}'; check the path.")
    for name in WEIGHTS_LOOKED_FOR:
        candidate = path / name
        if candidate.is_file():
            if name.endswith(".index.json"):
                return _read_sharded(candidate)
            return _read_weights_file(candidate)
    if any(path.glob("*.gguf")):
        raise WeightsError(
            f"'{path}' holds only GGUF weights, which need the GGUF reader; load it with wb.load_model()."
        )
    raise WeightsError(
        f"'{path}' has no weights file (looked for {', '.join(WEIGHTS_LOOKED_FOR)}); "
        "download the checkpoint again or save the model with save_pretrained()."
    )


def _read_weights_file(file: Path) -> tuple[StateDict, dict[str, str]]:
    if file.suffix == ".safetensors":
        tensors = _read_safetensors(file)
    elif file.suffix in {".bin", ".pt", ".pth"}:
        tensors = _read_pytorch_pickle(file)
    else:
        raise WeightsError(f"'{file}' is not a .safetensors or .bin weights file; pass the checkpoint folder.")
    return tensors, dict.fromkeys(tensors, file.name)


def _read_safetensors(file: Path) -> StateDict:
    try:
        with safe_open(file, framework="pt", device="cpu") as reader:
            return {key: reader.get_tensor(key) for key in reader.keys()}
    except SafetensorError as error:
        raise WeightsError(
            f"'{file.name}' is truncated or corrupt ({error}); delete it and download or save it again."
        ) from error


def _read_pytorch_pickle(file: Path) -> StateDict:
    try:
        loaded = _torch_load_weights_only(file)
    except pickle.UnpicklingError as error:
        # weights_only=True raises this when the pickle asks for anything but tensors (for example a
        # function call planted in __reduce__); nothing of it has run.
        raise WeightsError(
            f"'{file.name}' asks to run code while loading, so it was refused (only plain tensors are "
            "allowed); get the weights as .safetensors from a source you trust."
        ) from error
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise WeightsError(
            f"'{file.name}' is truncated or corrupt ({error}); delete it and download or save it again."
        ) from error
    if not isinstance(loaded, dict) or not all(
        isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in loaded.items()
    ):
        raise WeightsError(
            f"'{file.name}' holds a {type(loaded).__name__}, not a state dict of named tensors; "
            "save it with torch.save(model.state_dict(), ...)."
        )
    return loaded


def _torch_load_weights_only(file: Path):
    try:
        return torch.load(file, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as error:
        # Files saved before torch 1.6 (not zip archives) cannot be memory-mapped; read them whole.
        if "mmap" not in str(error) and "zip" not in str(error):
            raise
        return torch.load(file, map_location="cpu", weights_only=True, mmap=False)


def _read_sharded(index_file: Path) -> tuple[StateDict, dict[str, str]]:
    weight_map = _read_weight_map(index_file)
    folder = index_file.parent
    missing = sorted({shard for shard in weight_map.values() if not (folder / shard).is_file()})
    if missing:
        raise WeightsError(
            f"'{index_file.name}' names shard file(s) that are missing: {', '.join(missing)}; "
            "download the checkpoint again."
        )
    tensors: StateDict = {}
    sources: dict[str, str] = {}
    for shard in dict.fromkeys(weight_map.values()):  # each shard once, in index order
        shard_tensors, shard_sources = _read_weights_file(folder / shard)
        tensors.update(shard_tensors)
        sources.update(shard_sources)
    absent = [key for key in weight_map if key not in tensors]
    if absent:
        raise WeightsError(
            f"'{index_file.name}' lists {len(absent)} tensor(s) that its shards lack (first: '{absent[0]}' "
            f"in '{weight_map[absent[0]]}'); download the checkpoint again."
        )
    return tensors, sources


def _read_weight_map(index_file: Path) -> dict[str, str]:
    try:
        index = json.loads(index_file.read_text(encoding="utf-8"))
        weight_map = index["weight_map"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise WeightsError(
            f"'{index_file.name}' is not a valid shard index (no JSON 'weight_map'); download it again."
        ) from error
    if not isinstance(weight_map, dict):
        raise WeightsError(f"'{index_file.name}' has a 'weight_map' that is not an object; download it again.")
    return weight_map


# ---------------------------------------------------------------------------------------------- writing


def write_state_dict(
    state_dict: StateDict,
    folder: str | os.PathLike,
    *,
    max_shard_size_bytes: int | None = None,
    metadata: dict[str, str] | None = None,
    drop_tied: Iterable[str] = (),
) -> list[str]:
    """Write tensors as safetensors that transformers (and `read_state_dict`) can load; return the file names.

    `drop_tied` names tensors that are tied to another one (e.g. "lm_head.weight" sharing the word
    embeddings): when such a tensor really shares memory with a kept one it is left out, as transformers
    does, and the loader re-ties it from the config. Other tensors that share memory are written as copies.
    With `max_shard_size_bytes`, tensors are split into model-0000i-of-0000n.safetensors files plus a
    model.safetensors.index.json. Every file is written to a temporary name and then renamed, so a crash
    never leaves a half-written checkpoint behind.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = _untied_contiguous(state_dict, set(drop_tied))
    file_metadata = {**(metadata or {}), "format": "pt"}
    shards = _split_into_shards(tensors, max_shard_size_bytes)
    if len(shards) == 1:
        _save_atomically(shards[0], folder / SAFETENSORS_FILE, file_metadata)
        written = [SAFETENSORS_FILE]
    else:
        written = [f"model-{i:05d}-of-{len(shards):05d}.safetensors" for i in range(1, len(shards) + 1)]
        for shard, name in zip(shards, written):
            _save_atomically(shard, folder / name, file_metadata)
        _write_index(folder, shards, written)
        written.append(SAFETENSORS_INDEX)
    _remove_stale_safetensors(folder, keep=set(written))
    return written


def _untied_contiguous(state_dict: StateDict, drop_tied: set[str]) -> StateDict:
    """Drop the tied names that really share memory; copy other shared tensors; make all contiguous."""
    groups: dict[tuple, list[str]] = {}
    for name, tensor in state_dict.items():
        groups.setdefault(_storage_key(tensor), []).append(name)
    result: StateDict = {}
    for names in groups.values():
        kept = [name for name in names if name not in drop_tied] or names[:1]
        survivors = _drop_identical_views(names, kept, state_dict)
        for name in survivors:
            tensor = state_dict[name].detach()
            # safetensors refuses tensors that share memory: slices of one buffer become separate copies.
            result[name] = tensor.clone().contiguous() if len(survivors) > 1 else tensor.contiguous()
    # Keep the caller's order, which is the order of the model's modules.
    return {name: result[name] for name in state_dict if name in result}


def _drop_identical_views(names: list[str], kept: list[str], state_dict: StateDict) -> list[str]:
    """Names in `names` minus those asked to be dropped that are the very same view as a kept tensor."""
    survivors = []
    for name in names:
        tensor = state_dict[name]
        is_tied_copy = name not in kept and any(_same_view(tensor, state_dict[other]) for other in kept)
        if not is_tied_copy:
            survivors.append(name)
    return survivors


def _storage_key(tensor: torch.Tensor) -> tuple:
    if tensor.device.type == "meta":
        raise WeightsError("The state dict holds meta tensors (no data); load real weights before saving.")
    storage = tensor.untyped_storage()
    return (tensor.device.type, storage.data_ptr(), storage.nbytes())


def _same_view(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.data_ptr() == b.data_ptr() and a.shape == b.shape and a.stride() == b.stride() and a.dtype == b.dtype


def _split_into_shards(tensors: StateDict, max_shard_size_bytes: int | None) -> list[StateDict]:
    """Greedy split in order; a tensor larger than the limit gets a shard of its own."""
    if max_shard_size_bytes is None:
        return [tensors]
    if max_shard_size_bytes <= 0:
        raise ValueError(f"max_shard_size_bytes must be positive, not {max_shard_size_bytes}.")
    shards: list[StateDict] = [{}]
    shard_bytes = 0
    for name, tensor in tensors.items():
        size = _nbytes(tensor)
        if shards[-1] and shard_bytes + size > max_shard_size_bytes:
            shards.append({})
            shard_bytes = 0
        shards[-1][name] = tensor
        shard_bytes += size
    return shards


def _nbytes(tensor: torch.Tensor) -> int:
    return tensor.numel() * tensor.element_size()


def _write_index(folder: Path, shards: list[StateDict], names: list[str]) -> None:
    weight_map = {key: name for shard, name in zip(shards, names) for key in shard}
    total_size = sum(_nbytes(tensor) for shard in shards for tensor in shard.values())
    index = {"metadata": {"total_size": total_size}, "weight_map": weight_map}
    _replace_atomically(folder / SAFETENSORS_INDEX, lambda tmp: Path(tmp).write_text(json.dumps(index, indent=2)))


def _save_atomically(tensors: StateDict, target: Path, metadata: dict[str, str]) -> None:
    _replace_atomically(target, lambda tmp: save_file(tensors, tmp, metadata=metadata))


def _replace_atomically(target: Path, write) -> None:
    """Call write(temporary_path) in the target's folder, then rename over the target."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _remove_stale_safetensors(folder: Path, keep: set[str]) -> None:
    """Remove safetensors weights of an earlier save, which readers would otherwise prefer or mix in."""
    for path in folder.glob("model*.safetensors*"):
        is_ours = path.name in {SAFETENSORS_FILE, SAFETENSORS_INDEX} or path.name.startswith("model-")
        if is_ours and path.name not in keep and path.is_file():
            path.unlink()
