"""Where a checkpoint comes from: a local folder or .gguf file, the Hugging Face cache, an installed
model package, or the Hub.

A Hub id resolves in that order of preference, so a machine without network access still works with
whatever it has. A cached snapshot is used without asking the Hub whether `main` moved on: a workbench
should start fast and behave the same offline and online (delete the cache folder to refresh it).
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import os
import re
import sys
from pathlib import Path

from ..errors import CheckpointNotFoundError
from .packaged import packaged_entry, packaged_path

CONFIG_FILE = "config.json"
# Files a tokenizer can be built from (tokenizers' JSON, WordPiece/BPE vocabularies, SentencePiece models).
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
    "tokenizer.model",
    "chat_template.jinja",
    "chat_template.json",
)
SAFETENSORS_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
PYTORCH_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")
# Small files that describe the model around its weights (generation defaults, sentence-transformers modules).
EXTRA_FILES = (
    "generation_config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
)
# huggingface_hub's rule for repo ids: an optional namespace, letters, digits and "-_.", 96 characters at most.
_HUB_ID = re.compile(r"(?:[A-Za-z0-9][\w.-]{0,95}/)?[\w][\w.-]{0,95}")
_SAFETENSORS_SHARD = re.compile(r"model-\d{5}-of-\d{5}\.safetensors")
_PYTORCH_SHARD = re.compile(r"pytorch_model-\d{5}-of-\d{5}\.bin")
# sentence-transformers keeps each module's settings in a numbered folder: 1_Pooling/config.json, 2_Normalize/...
_SENTENCE_TRANSFORMERS_MODULE = re.compile(r"\d+_[A-Za-z]+/[^/]+\.(json|safetensors)")


def hub_cache_dir() -> Path:
    """The Hugging Face cache folder, read from the environment at call time.

    huggingface_hub reads HF_HUB_CACHE / HF_HOME once, when it is imported; reading them again here lets a
    notebook (or a test) change them later. The precedence is huggingface_hub's own.
    """
    hf_home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface"
    )
    legacy_cache = os.environ.get("HUGGINGFACE_HUB_CACHE") or os.path.join(hf_home, "hub")
    cache = os.environ.get("HF_HUB_CACHE") or legacy_cache
    return Path(os.path.expandvars(os.path.expanduser(cache)))


def hub_offline() -> bool:
    """True when HF_HUB_OFFLINE (or the older TRANSFORMERS_OFFLINE) forbids talking to the Hub.

    The environment is read at call time; huggingface_hub's import-time constant also counts, because
    huggingface_hub itself keeps refusing network calls when it was imported offline.
    """
    from_env = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    if from_env.strip().upper() in {"1", "ON", "YES", "TRUE"}:
        return True
    # huggingface_hub is only imported to download (it costs ~0.4 s and ~40 MB at start-up)
    hub = sys.modules.get("huggingface_hub.constants")
    return bool(hub is not None and hub.HF_HUB_OFFLINE)


def is_checkpoint_folder(folder: Path) -> bool:
    """A folder we can load something from: a config, a GGUF file or a tokenizer."""
    return (
        (folder / CONFIG_FILE).is_file()
        or any(folder.glob("*.gguf"))
        or any((folder / name).is_file() for name in TOKENIZER_FILES)
    )


def has_weights(folder: Path) -> bool:
    names = SAFETENSORS_WEIGHTS + PYTORCH_WEIGHTS
    return any((folder / name).is_file() for name in names) or any(folder.glob("*.gguf"))


def find_in_cache(repo_id: str, revision: str | None = None) -> Path | None:
    """The cached snapshot folder of a Hub id, or None; never touches the network.

    Reads huggingface_hub's documented cache layout directly (no import of huggingface_hub, which would
    cost start-up time): `models--{org}--{name}/refs/{revision}` holds a commit hash, and
    `models--{org}--{name}/snapshots/{commit}/` the files; a revision may also be a commit hash itself.
    """
    repo_folder = hub_cache_dir() / ("models--" + repo_id.replace("/", "--"))
    revision = revision or "main"
    ref = repo_folder / "refs" / revision
    commit = ref.read_text().strip() if ref.is_file() else revision
    snapshot = repo_folder / "snapshots" / commit
    if not re.fullmatch(r"[0-9a-f]{40}", commit) or not snapshot.is_dir():
        return None
    return snapshot


def find_offline(
    repo_id: str, *, allow_patterns: list[str] | None = None, revision: str | None = None
) -> tuple[str, Path] | None:
    """Where a Hub id can be loaded from without the network: ("cache" | "package", path), or None.

    A cached snapshot wins when it holds what is asked for (the weights by default); a snapshot with only
    config.json and tokenizer files, as left by a tokenizer-only download, loses to a package that ships
    the weights, and is still better than nothing.
    """
    cached = find_in_cache(repo_id, revision)
    if cached is not None and _holds_what_is_asked(cached, allow_patterns):
        return "cache", cached
    # A package ships one fixed version, so it cannot answer for an explicit revision.
    packaged = packaged_path(repo_id) if revision is None else None
    if packaged is not None:
        return "package", packaged
    if cached is not None:
        return "cache", cached
    return None


def _holds_what_is_asked(folder: Path, allow_patterns: list[str] | None) -> bool:
    if allow_patterns is None:
        return has_weights(folder)
    files = [path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()]
    return any(fnmatch.fnmatch(name, pattern) for name in files for pattern in allow_patterns)


def resolve_checkpoint(
    name_or_path: str | os.PathLike, *, allow_patterns: list[str] | None = None, revision: str | None = None
) -> Path:
    """The local path of a checkpoint: a folder, or a .gguf file.

    `name_or_path` is a local folder, a local .gguf file, or a Hub id ("org/name", or a legacy bare id such
    as "gpt2"). A Hub id is looked up in the Hugging Face cache, then in installed model packages, then
    downloaded from the Hub unless HF_HUB_OFFLINE is set. `allow_patterns` narrows what a download fetches
    (default: config, weights and tokenizer files, see `choose_files_to_download`).
    """
    name = os.fspath(name_or_path).strip()  # a stray space pasted into a notebook cell
    local = Path(name).expanduser()
    if local.exists():
        return _checked_local_path(local, name)
    if not _is_hub_id(name):
        raise CheckpointNotFoundError(
            f"There is no such folder or file as '{name}'; check the path (relative paths start from "
            f"{os.getcwd()}) or give a Hub id like 'org/name'."
        )
    found = find_offline(name, allow_patterns=allow_patterns, revision=revision)
    if found is not None:
        return found[1]
    if hub_offline():
        raise CheckpointNotFoundError(_offline_message(name, revision))
    return download_checkpoint(name, allow_patterns=allow_patterns, revision=revision)


def _checked_local_path(path: Path, name: str) -> Path:
    if path.is_dir():
        if not is_checkpoint_folder(path):
            raise CheckpointNotFoundError(
                f"The folder '{name}' holds no config.json, .gguf or tokenizer file; point to the folder "
                "that save_pretrained() wrote (or a Hugging Face snapshot folder)."
            )
        return path
    if path.suffix.lower() == ".gguf":
        return path
    raise CheckpointNotFoundError(
        f"'{name}' is a file, but a checkpoint is a folder or a .gguf file; pass the folder that holds it "
        f"('{path.parent}')."
    )


def _is_hub_id(name: str) -> bool:
    """Whether `name` could be a Hub id; paths such as './x', '~/x', 'a/b/c' or 'C:\\x' cannot."""
    if name.startswith((".", "~")) or (os.altsep and os.altsep in name) or os.path.isabs(name):
        return False
    return _HUB_ID.fullmatch(name) is not None and "--" not in name and ".." not in name and not name.endswith(".git")


def _offline_message(repo_id: str, revision: str | None) -> str:
    entry = packaged_entry(repo_id)
    if entry is not None and packaged_path(repo_id) is None:
        remedy = f"install its package with `{entry.install_command}` or unset HF_HUB_OFFLINE"
    elif _closest_known_id(repo_id):
        remedy = f"did you mean '{_closest_known_id(repo_id)}'? Else unset HF_HUB_OFFLINE"
    else:
        remedy = "pick one of wb.catalog(offline=True) or unset HF_HUB_OFFLINE"
    at_revision = f" at revision '{revision}'" if revision else ""
    return (
        f"'{repo_id}' is not a local folder, not in the Hugging Face cache{at_revision} ({hub_cache_dir()}), "
        f"not shipped by an installed package, and HF_HUB_OFFLINE=1 forbids downloading it; {remedy}."
    )


def _closest_known_id(repo_id: str) -> str | None:
    from .known import ROWS  # the catalog builds on this module, so import it only when needed

    other_ids = {row.id.lower(): row.id for row in ROWS if row.id.lower() != repo_id.lower()}
    matches = difflib.get_close_matches(repo_id.lower(), list(other_ids), n=1, cutoff=0.85)
    return other_ids[matches[0]] if matches else None


def choose_files_to_download(repo_files: list[str]) -> list[str]:
    """The files of a Hub repository that the workbench needs, given the repository's file list.

    Config, tokenizer and sentence-transformers module files, plus one copy of the weights: safetensors
    when the repository has them, else the PyTorch .bin files (read later with weights_only=True). Other
    formats (TensorFlow, Flax, ONNX, GGUF variants) are skipped: they can be larger than the model itself.
    """
    wanted = set(TOKENIZER_FILES) | set(EXTRA_FILES) | {CONFIG_FILE}
    chosen = [name for name in repo_files if name in wanted or _SENTENCE_TRANSFORMERS_MODULE.fullmatch(name)]
    safetensors = [
        name for name in repo_files if name in SAFETENSORS_WEIGHTS or _SAFETENSORS_SHARD.fullmatch(name)
    ]
    pytorch = [name for name in repo_files if name in PYTORCH_WEIGHTS or _PYTORCH_SHARD.fullmatch(name)]
    return chosen + (safetensors or pytorch)


def download_checkpoint(
    repo_id: str, *, allow_patterns: list[str] | None = None, revision: str | None = None
) -> Path:
    """Download a Hub repository's useful files into the Hugging Face cache, with progress bars.

    huggingface_hub's own progress bars are tqdm.auto ones (widgets in a notebook, text in a terminal) and
    can be silenced with HF_HUB_DISABLE_PROGRESS_BARS=1.
    """
    import huggingface_hub
    import huggingface_hub.errors

    errors = huggingface_hub.errors
    try:
        if allow_patterns is None:
            # One request for the file list (model_info), rather than a paginated tree listing.
            info = huggingface_hub.HfApi().model_info(repo_id, revision=revision)
            allow_patterns = choose_files_to_download([sibling.rfilename for sibling in info.siblings or []])
        folder = huggingface_hub.snapshot_download(
            repo_id, revision=revision, cache_dir=hub_cache_dir(), allow_patterns=allow_patterns
        )
    except errors.GatedRepoError as error:
        raise CheckpointNotFoundError(
            f"'{repo_id}' is a gated model on the Hub; accept its licence on https://huggingface.co/{repo_id} "
            "and log in with `hf auth login`, or pick another one from wb.catalog()."
        ) from error
    except errors.RepositoryNotFoundError as error:
        raise CheckpointNotFoundError(
            f"'{repo_id}' is not a local folder, not in the Hugging Face cache, and not a model the Hub "
            "shows you (misspelled, or private: log in with `hf auth login`); pick one from wb.catalog()."
        ) from error
    except errors.RevisionNotFoundError as error:
        raise CheckpointNotFoundError(
            f"'{repo_id}' has no revision '{revision}' on the Hub; use a branch, tag or commit it has."
        ) from error
    except (errors.LocalEntryNotFoundError, errors.HfHubHTTPError, *_http_client_errors()) as error:
        raise CheckpointNotFoundError(
            f"'{repo_id}' is not in the Hugging Face cache and the Hub could not be reached "
            f"({error.__class__.__name__}); check the network, or pick one of wb.catalog(offline=True)."
        ) from error
    return Path(folder)


def _http_client_errors() -> tuple[type[Exception], ...]:
    """Connection errors of the HTTP client under huggingface_hub (httpx2, httpx or requests by version)."""
    found: list[type[Exception]] = [OSError]
    for module_name, class_name in (("httpx2", "TransportError"), ("httpx", "TransportError"),
                                    ("requests", "RequestException")):
        try:
            found.append(getattr(importlib.import_module(module_name), class_name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)
