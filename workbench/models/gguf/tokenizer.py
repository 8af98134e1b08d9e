"""A tokenizer from a GGUF file's `tokenizer.*` metadata (GGUF files carry no tokenizer.json).

    tokenizer.ggml.model   "gpt2": byte-level BPE (tokens spelled in GPT-2's byte alphabet, plus merges)
                           "llama": SentencePiece-style BPE (tokens with "▁" for spaces, scores, byte fallback)
    tokenizer.ggml.pre     how a byte-level BPE splits text before merging ("smollm", "llama-bpe", "qwen2", ...)
    tokenizer.ggml.tokens / token_type / scores / merges, *_token_id, add_bos_token, add_space_prefix
    tokenizer.chat_template (and tokenizer.chat_template.<name>)
Token types (llama.cpp): 1 normal, 2 unknown, 3 control (special tokens), 4 user-defined (added, not special),
5 unused, 6 byte (<0x0A>, used by byte fallback).
"""
from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

from tokenizers import AddedToken, Regex, decoders, pre_tokenizers
from tokenizers import Tokenizer as Backend
from tokenizers.models import BPE

from ...errors import TokenizerError
from .reader import GGUFFile, read_gguf

CONTROL, USER_DEFINED = 3, 4

# How text is cut into words before BPE, per `tokenizer.ggml.pre` (the splits llama.cpp's llama-vocab.cpp
# defines for these names; each is the regex of the original tokenizer.json).
_LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")
_QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
REGEX_SPLITS = {
    "llama-bpe": _LLAMA3_SPLIT, "llama3": _LLAMA3_SPLIT, "llama-v3": _LLAMA3_SPLIT, "smaug-bpe": _LLAMA3_SPLIT,
    "qwen2": _QWEN2_SPLIT, "deepseek-r1-qwen": _QWEN2_SPLIT,
}
# GPT-2's own split (built into ByteLevel) for these; SmolLM also isolates every digit first.
GPT2_SPLIT_NAMES = {"gpt2", "default", "smollm", None}
SUPPORTED_PRE_TOKENIZERS = sorted(name for name in (*REGEX_SPLITS, *GPT2_SPLIT_NAMES) if name)


@lru_cache(maxsize=1)
def byte_alphabet() -> dict[int, str]:
    """GPT-2's byte -> printable character table: printable Latin-1 bytes stand for themselves, the other
    bytes (control characters, space, ...) get the characters from U+0100 on, in byte order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {byte: chr(byte) for byte in printable}
    for index, byte in enumerate(b for b in range(256) if b not in table):
        table[byte] = chr(256 + index)
    return table


def _byte_level_pre_tokenizer(pre: str | None):
    if pre in REGEX_SPLITS:
        return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(REGEX_SPLITS[pre]), behavior="isolated"),
                                        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    if pre not in GPT2_SPLIT_NAMES:
        warnings.warn(f"GGUF pre-tokenizer {pre!r} is not known here; splitting text like GPT-2, which may cut "
                      f"some texts differently (known: {', '.join(SUPPORTED_PRE_TOKENIZERS)}).", stacklevel=4)
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre == "smollm":
        return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    return byte_level


def _byte_level_backend(meta: dict[str, Any]) -> Backend:
    alphabet = byte_alphabet()
    letters = set(alphabet.values())
    # Tokens are stored in the byte alphabet already; a few converters store added tokens as raw text.
    tokens = [token if set(token) <= letters else "".join(alphabet[b] for b in token.encode("utf-8"))
              for token in meta["tokenizer.ggml.tokens"]]
    merges = [tuple(merge.split(" ", 1)) for merge in meta.get("tokenizer.ggml.merges", [])]
    backend = Backend(BPE({token: index for index, token in enumerate(tokens)}, merges, fuse_unk=False))
    backend.pre_tokenizer = _byte_level_pre_tokenizer(meta.get("tokenizer.ggml.pre"))
    backend.decoder = decoders.ByteLevel()
    return backend


def merges_from_scores(tokens: list[str], scores: list[float]) -> list[tuple[str, str]]:
    """BPE merges a SentencePiece vocabulary implies: every split of a token into two vocabulary tokens,
    the merge ranked by the merged token's score (higher first), then by longer left, longer right part."""
    ids = {token: index for index, token in enumerate(tokens)}
    candidates = []
    for token, score in zip(tokens, scores):
        pairs = [(token[:cut], token[cut:]) for cut in range(1, len(token))
                 if token[:cut] in ids and token[cut:] in ids]
        pairs.sort(key=lambda pair: (ids[pair[0]], ids[pair[1]]))
        candidates.extend((left, right, score) for left, right in pairs)
    candidates.sort(key=lambda c: (c[2], len(c[0]), len(c[1])), reverse=True)  # stable: ties keep vocab order
    return [(left, right) for left, right, _ in candidates]


def _sentencepiece_backend(meta: dict[str, Any]) -> Backend:
    tokens = meta["tokenizer.ggml.tokens"]
    if "tokenizer.ggml.merges" in meta:
        merges = [tuple(merge.split(" ", 1)) for merge in meta["tokenizer.ggml.merges"]]
    else:
        scores = meta.get("tokenizer.ggml.scores")
        if scores is None or len(scores) != len(tokens):
            raise TokenizerError("This GGUF SentencePiece vocabulary has neither merges nor one score per token; "
                                 "the tokenizer cannot be rebuilt from it.")
        merges = merges_from_scores(tokens, scores)
    backend = Backend(BPE({token: index for index, token in enumerate(tokens)}, merges, fuse_unk=True,
                          byte_fallback=True))
    add_prefix_space = bool(meta.get("tokenizer.ggml.add_space_prefix", True))
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first" if add_prefix_space
                                                     else "never", split=False)
    steps = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    if add_prefix_space:
        steps.append(decoders.Strip(content=" ", left=1))
    backend.decoder = decoders.Sequence(steps)
    return backend


BACKENDS = {"gpt2": _byte_level_backend, "llama": _sentencepiece_backend}


def gguf_tokenizer_arguments(file: GGUFFile) -> dict[str, Any]:
    """Keyword arguments for `workbench.tokenizer.Tokenizer` from a GGUF file's metadata."""
    meta = file.metadata
    kind = meta.get("tokenizer.ggml.model")
    if "tokenizer.ggml.tokens" not in meta:
        raise TokenizerError(f"{file.path.name} carries no tokenizer (no tokenizer.ggml.tokens); load the tokenizer "
                             "of the original checkpoint instead.")
    if kind not in BACKENDS:
        raise TokenizerError(f"{file.path.name} has a {kind!r} tokenizer; GGUF tokenizers supported here are "
                             "'gpt2' (byte-level BPE) and 'llama' (SentencePiece BPE).")
    backend = BACKENDS[kind](meta)

    tokens, types = meta["tokenizer.ggml.tokens"], meta.get("tokenizer.ggml.token_type") or []
    vocab = backend.get_vocab()
    letters = set(byte_alphabet().values())
    # Control tokens (<|im_start|>, </s>) are matched whole and skipped by decode(skip_special_tokens=True);
    # user-defined ones (<think>) are matched whole but are ordinary text. A byte-level "control" token written
    # outside the byte alphabet is a converter's mislabel: adding it would give it a new id, so it is left out.
    special = [AddedToken(token, special=True, normalized=False) for token, kind_id in zip(tokens, types)
               if kind_id == CONTROL and (kind != "gpt2" or set(token) <= letters)]
    user = [AddedToken(token, special=False, normalized=False) for token, kind_id in zip(tokens, types)
            if kind_id == USER_DEFINED and token in vocab]
    if special:
        backend.add_special_tokens(special)
    if user:
        backend.add_tokens(user)

    def token_for(key: str) -> str | None:
        index = meta.get(f"tokenizer.ggml.{key}")
        return tokens[index] if index is not None and 0 <= index < len(tokens) else None

    templates = {name.removeprefix("tokenizer.chat_template."): value for name, value in meta.items()
                 if name.startswith("tokenizer.chat_template.")}
    chat_template: str | dict[str, str] | None = meta.get("tokenizer.chat_template")
    if templates:
        chat_template = {**({"default": chat_template} if chat_template else {}), **templates}
    context = meta.get(f"{file.architecture}.context_length")
    return dict(
        backend=backend,
        bos_token=token_for("bos_token_id"), eos_token=token_for("eos_token_id"),
        unk_token=token_for("unknown_token_id"), pad_token=token_for("padding_token_id"),
        chat_template=chat_template,
        model_max_length=int(context) if context else None,
        # llama.cpp's defaults when the flag is absent: SentencePiece vocabularies start with BOS, BPE ones do not.
        add_bos_token=bool(meta.get("tokenizer.ggml.add_bos_token", kind == "llama")),
        add_eos_token=bool(meta.get("tokenizer.ggml.add_eos_token", False)),
        tokenizer_class="PreTrainedTokenizerFast",
        name_or_path=str(file.path),
    )


def load_gguf_tokenizer(path: str | Path):
    """The tokenizer described by a GGUF file's metadata, as a `workbench.tokenizer.Tokenizer`."""
    from ...tokenizer import Tokenizer

    return Tokenizer(**gguf_tokenizer_arguments(read_gguf(path)))
