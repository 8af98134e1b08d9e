"""Where checkpoints come from and how their weights are read and written.

resolve_checkpoint(name)  -> local folder or .gguf file (local path, HF cache, installed package, Hub)
read_config(folder)       -> config.json as a dict
read_state_dict(folder)   -> (tensors, file each tensor came from); safetensors or weights-only .bin
write_state_dict(...)     -> safetensors files (sharded on request) that transformers loads
catalog()                 -> DataFrame of known checkpoints; default_checkpoint(task); catalog_entry(id)
"""

from .packaged import PACKAGED_CHECKPOINTS, PackagedCheckpoint
from .resolve import choose_files_to_download, hub_cache_dir, hub_offline, resolve_checkpoint
from .weights import read_config, read_state_dict, write_state_dict

__all__ = [
    "PACKAGED_CHECKPOINTS",
    "PackagedCheckpoint",
    "catalog",
    "catalog_entry",
    "choose_files_to_download",
    "default_checkpoint",
    "hub_cache_dir",
    "hub_offline",
    "read_config",
    "read_state_dict",
    "resolve_checkpoint",
    "write_state_dict",
]


def __getattr__(name: str):
    """The catalog (and pandas under it) is imported on first use, keeping `wb.load_model` start-up light."""
    if name in ("catalog", "catalog_entry", "default_checkpoint"):
        from . import known

        return getattr(known, name)
    raise AttributeError(f"module 'workbench.checkpoints' has no attribute {name!r}")
