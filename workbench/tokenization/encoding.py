"""BatchEncoding: what a tokenizer call returns — a dict of model inputs plus the `tokenizers` Encodings.

The dict part is what a model eats (`model(**enc)`); the Encodings keep the alignment between text and
tokens (offsets, words, sequences), which views and token classification read instead of re-tokenizing.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..errors import TokenizerError


class CharSpan(NamedTuple):
    """Characters [start, end) of the original text."""

    start: int
    end: int


class TokenSpan(NamedTuple):
    """Tokens [start, end) of an encoded sequence."""

    start: int
    end: int


def _split_index(batch_or_index: int, index: int | None) -> tuple[int, int]:
    """transformers' convention: f(i) means (sequence 0, position i); f(b, i) means (sequence b, position i)."""
    return (0, batch_or_index) if index is None else (batch_or_index, index)


class BatchEncoding(dict):
    """Model inputs (`input_ids`, `attention_mask`, ...) as lists, torch tensors or numpy arrays.

    Keys read as attributes too (`enc.input_ids`). For outputs of a tokenizer call, `enc.encodings` holds one
    `tokenizers.Encoding` per row and the alignment helpers below read them.
    """

    def __init__(self, data: dict[str, Any] | None = None, encodings: list | None = None,
                 tensor_type: str | None = None):
        super().__init__(data or {})
        self._encodings = encodings
        if tensor_type is not None:
            self.convert_to_tensors(tensor_type)

    # -- dict with attribute access ----------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails; private names must fail so that copy/pickle work.
        if not name.startswith("_") and name in self:
            return self[name]
        raise AttributeError(f"BatchEncoding has no key or attribute {name!r}")

    def __getitem__(self, key: str | int | slice) -> Any:
        if isinstance(key, str):
            return dict.__getitem__(self, key)
        if isinstance(key, int):  # enc[0] is the Encoding of row 0, as in transformers
            return self._require_encodings()[key]
        if isinstance(key, slice):
            return {name: value[key] for name, value in self.items()}
        raise KeyError(key)

    def __reduce__(self):
        return (self.__class__, (dict(self), self._encodings))

    # -- tensors -------------------------------------------------------------------------------------------------
    def convert_to_tensors(self, tensor_type: str | None) -> BatchEncoding:
        """Turn every value into a torch tensor ("pt") or numpy array ("np"), in place; rows must be equally long."""
        if tensor_type is None:
            return self
        if tensor_type not in ("pt", "np"):
            raise TokenizerError(f"return_tensors={tensor_type!r} is not supported; use 'pt', 'np' or None.")
        for key, value in self.items():
            self[key] = _to_tensor(key, value, tensor_type)
        return self

    def to(self, device: Any, *, non_blocking: bool = False) -> BatchEncoding:
        """Move every torch tensor to `device` (other values stay as they are); returns self."""
        for key, value in self.items():
            if hasattr(value, "to") and hasattr(value, "device"):
                self[key] = value.to(device, non_blocking=non_blocking)
        return self

    # -- alignment between text and tokens (fast-tokenizer outputs only) ------------------------------------------
    @property
    def encodings(self) -> list | None:
        """One `tokenizers.Encoding` per row (overflowing windows included), or None after `pad()` of plain lists."""
        return self._encodings

    @property
    def is_fast(self) -> bool:
        return self._encodings is not None

    @property
    def n_sequences(self) -> int | None:
        """1 for single texts, 2 for pairs."""
        return self._encodings[0].n_sequences if self._encodings else None

    def _require_encodings(self) -> list:
        if self._encodings is None:
            raise TokenizerError("This BatchEncoding has no token alignment (it was not made by a tokenizer call); "
                                 "call the tokenizer on text to get word_ids, offsets and friends.")
        return self._encodings

    def tokens(self, batch_index: int = 0) -> list[str]:
        return self._require_encodings()[batch_index].tokens

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """Word index of each token (None for special and padding tokens)."""
        return self._require_encodings()[batch_index].word_ids

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """0 / 1 for tokens of the first / second text of a pair, None for special and padding tokens."""
        return self._require_encodings()[batch_index].sequence_ids

    def token_to_sequence(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        batch, token = _split_index(batch_or_token_index, token_index)
        return self._require_encodings()[batch].token_to_sequence(token)

    def token_to_word(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        batch, token = _split_index(batch_or_token_index, token_index)
        return self._require_encodings()[batch].token_to_word(token)

    def token_to_chars(self, batch_or_token_index: int, token_index: int | None = None) -> CharSpan | None:
        batch, token = _split_index(batch_or_token_index, token_index)
        span = self._require_encodings()[batch].token_to_chars(token)
        return CharSpan(*span) if span is not None else None

    def char_to_token(self, batch_or_char_index: int, char_index: int | None = None,
                      sequence_index: int = 0) -> int | None:
        batch, char = _split_index(batch_or_char_index, char_index)
        return self._require_encodings()[batch].char_to_token(char, sequence_index)

    def word_to_tokens(self, batch_or_word_index: int, word_index: int | None = None,
                       sequence_index: int = 0) -> TokenSpan | None:
        batch, word = _split_index(batch_or_word_index, word_index)
        span = self._require_encodings()[batch].word_to_tokens(word, sequence_index)
        return TokenSpan(*span) if span is not None else None

    def word_to_chars(self, batch_or_word_index: int, word_index: int | None = None,
                      sequence_index: int = 0) -> CharSpan | None:
        batch, word = _split_index(batch_or_word_index, word_index)
        span = self._require_encodings()[batch].word_to_chars(word, sequence_index)
        return CharSpan(*span) if span is not None else None

    def char_to_word(self, batch_or_char_index: int, char_index: int | None = None,
                     sequence_index: int = 0) -> int | None:
        batch, char = _split_index(batch_or_char_index, char_index)
        return self._require_encodings()[batch].char_to_word(char, sequence_index)

    def __repr__(self) -> str:
        return f"BatchEncoding({dict.__repr__(self)})"


def _to_tensor(key: str, value: Any, tensor_type: str) -> Any:
    if tensor_type == "pt":
        import torch  # imported here so that tokenizing without tensors never pays for importing torch

        if isinstance(value, torch.Tensor):
            return value
        array = _rectangular_array(key, value)
        return torch.from_numpy(array)
    if isinstance(value, np.ndarray):
        return value
    return _rectangular_array(key, value)


def _rectangular_array(key: str, value: Any) -> np.ndarray:
    if hasattr(value, "numpy"):  # a torch tensor asked for as numpy
        return value.detach().cpu().numpy()
    lengths = {len(row) for row in value} if value and isinstance(value[0], (list, tuple)) else set()
    if len(lengths) > 1:
        raise TokenizerError(f"Cannot make a tensor of {key!r}: its rows have different lengths {sorted(lengths)}; "
                             "pass padding=True (and truncation=True for long texts).")
    array = np.array(value)
    if array.size == 0:  # empty batch or empty sequences: keep an integer dtype
        array = array.astype(np.int64)
    return array
