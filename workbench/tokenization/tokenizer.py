"""Tokenizer: a `tokenizers.Tokenizer` (the Rust pipeline) called like a transformers fast tokenizer.

    tok = Tokenizer.from_pretrained(folder)
    enc = tok(["a text", "another"], padding=True, truncation=True, return_tensors="pt")
    enc.input_ids, enc.attention_mask            # [B, T] each
    tok.decode(enc.input_ids[0], skip_special_tokens=True)

The Rust backend does the work (normalize, split, model, add [CLS]/[SEP], truncate, pad); this class adds
what transformers keeps around it: named special tokens, which inputs the model wants (token_type_ids or not),
padding/truncation policies, model_max_length, chat templates, and the folder format.
"""
from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import Any

from tokenizers import AddedToken
from tokenizers import Tokenizer as Backend

from ..errors import TokenizerError
from .encoding import BatchEncoding
from .files import (DEFAULT_MODEL_INPUT_NAMES, SPECIAL_TOKEN_NAMES, as_special, bos_eos_post_processor,
                    read_tokenizer_folder, write_tokenizer_folder)

# User-facing values of `padding=` / `truncation=` -> the backend's strategy (None: off).
_PADDING = {False: None, "do_not_pad": None, True: "longest", "longest": "longest", "max_length": "max_length"}
_TRUNCATION = {False: None, "do_not_truncate": None, True: "longest_first", "longest_first": "longest_first",
               "only_first": "only_first", "only_second": "only_second"}

# Spaces that WordPiece-era decoding leaves before punctuation and contractions ("do n't" -> "don't").
_CLEANUP_REPLACEMENTS = ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                         (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"))


class _SpecialToken:
    """`tok.pad_token` -> "[PAD]" or None. Setting it only renames the role, like transformers (no vocab change);
    use `add_special_tokens({...})` to add a token that is not in the vocabulary yet."""

    def __set_name__(self, owner, name: str):
        self.name = name

    def __get__(self, tokenizer: Tokenizer | None, owner=None):
        if tokenizer is None:
            return self
        token = tokenizer._special_tokens.get(self.name)
        return None if token is None else str(token.content if isinstance(token, AddedToken) else token)

    def __set__(self, tokenizer: Tokenizer, value: str | AddedToken | None):
        if value is not None and not isinstance(value, (str, AddedToken)):
            raise TokenizerError(f"{self.name} must be a string, got {type(value).__name__}; "
                                 "pass the token text, e.g. tok.pad_token = tok.eos_token.")
        tokenizer._special_tokens[self.name] = value


class _SpecialTokenId:
    """`tok.pad_token_id` -> the id of `tok.pad_token` (None when unset); setting an id sets the token."""

    def __init__(self, token_name: str):
        self.token_name = token_name

    def __get__(self, tokenizer: Tokenizer | None, owner=None):
        if tokenizer is None:
            return self
        token = getattr(tokenizer, self.token_name)
        return None if token is None else tokenizer.convert_tokens_to_ids(token)

    def __set__(self, tokenizer: Tokenizer, value: int | None):
        setattr(tokenizer, self.token_name, None if value is None else tokenizer.convert_ids_to_tokens(int(value)))


class Tokenizer:
    """A fast tokenizer with transformers' calling conventions; see the module docstring.

    `backend` is owned from now on: its padding and truncation are set for every call. Special tokens
    (strings or `tokenizers.AddedToken`) that the backend does not know yet are added to it as special tokens.
    `add_bos_token` / `add_eos_token` (when not None) replace the post-processor with BOS A EOS, as
    transformers does for Llama-style tokenizers; None keeps the backend's own post-processor if it has one.
    `model_max_length=None` means no limit: `truncation=True` without `max_length` then does nothing.
    """

    bos_token, eos_token, unk_token, sep_token = _SpecialToken(), _SpecialToken(), _SpecialToken(), _SpecialToken()
    pad_token, cls_token, mask_token = _SpecialToken(), _SpecialToken(), _SpecialToken()
    bos_token_id, eos_token_id = _SpecialTokenId("bos_token"), _SpecialTokenId("eos_token")
    unk_token_id, sep_token_id = _SpecialTokenId("unk_token"), _SpecialTokenId("sep_token")
    pad_token_id, cls_token_id = _SpecialTokenId("pad_token"), _SpecialTokenId("cls_token")
    mask_token_id = _SpecialTokenId("mask_token")

    is_fast = True  # for code that checks transformers' flag before asking for offsets or word ids
    pad_token_type_id = 0

    def __init__(self, backend: Backend, *, bos_token=None, eos_token=None, unk_token=None, sep_token=None,
                 pad_token=None, cls_token=None, mask_token=None, extra_special_tokens=None,
                 model_input_names=None, model_max_length: int | None = None, padding_side: str = "right",
                 truncation_side: str = "right", chat_template: str | dict[str, str] | None = None,
                 clean_up_tokenization_spaces: bool = False, add_bos_token: bool | None = None,
                 add_eos_token: bool | None = None, tokenizer_class: str | None = None, name_or_path: str = "",
                 config_extras: dict[str, Any] | None = None):
        if not isinstance(backend, Backend):
            raise TokenizerError(f"Tokenizer needs a tokenizers.Tokenizer, got {type(backend).__name__}; "
                                 "use Tokenizer.from_pretrained(folder) to load one from files.")
        for side_name, side in (("padding_side", padding_side), ("truncation_side", truncation_side)):
            if side not in ("left", "right"):
                raise TokenizerError(f"{side_name} must be 'left' or 'right', got {side!r}.")
        self._backend = backend
        self._lock = threading.Lock()  # calls set the backend's padding/truncation, then encode: one at a time
        self._special_tokens: dict[str, str | AddedToken | None] = {
            "bos_token": bos_token, "eos_token": eos_token, "unk_token": unk_token, "sep_token": sep_token,
            "pad_token": pad_token, "cls_token": cls_token, "mask_token": mask_token}
        self._extra_special_tokens = list(extra_special_tokens or [])
        self.model_input_names = list(model_input_names or DEFAULT_MODEL_INPUT_NAMES)
        self.model_max_length = model_max_length
        self.padding_side = padding_side
        self.truncation_side = truncation_side
        self.chat_template = chat_template
        self.clean_up_tokenization_spaces = clean_up_tokenization_spaces
        self.tokenizer_class = tokenizer_class
        self.name_or_path = name_or_path
        self.config_extras = dict(config_extras or {})
        self._warned_too_long = False  # the "longer than model_max_length" warning is given once per tokenizer

        known = {token.content for token in backend.get_added_tokens_decoder().values()}
        missing = [as_special(token) for token in [*self._special_tokens.values(), *self._extra_special_tokens]
                   if token is not None and str(getattr(token, "content", token)) not in known]
        if missing:
            backend.add_special_tokens(missing)
        # Like transformers: an explicit add_bos/add_eos, or no post-processor at all, gives the BOS/EOS template
        # (with neither, "$A:0" and "$A:0 $B:1", which also marks pair and overflow tokens with sequence ids).
        if add_bos_token is not None or add_eos_token is not None or backend.post_processor is None:
            bos = (self.bos_token, self.bos_token_id) if add_bos_token and self.bos_token is not None else None
            eos = (self.eos_token, self.eos_token_id) if add_eos_token and self.eos_token is not None else None
            backend.post_processor = bos_eos_post_processor(bos, eos)
        backend.no_padding()
        backend.no_truncation()

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> Tokenizer:
        """Load a local tokenizer folder (tokenizer.json, or vocab.txt, or vocab.json + merges.txt, with configs)."""
        return cls(**read_tokenizer_folder(folder))

    def save_pretrained(self, folder: str | Path) -> tuple[str, ...]:
        """Write tokenizer.json, tokenizer_config.json and special_tokens_map.json; returns the paths written."""
        return write_tokenizer_folder(self, folder)

    # -- encoding ------------------------------------------------------------------------------------------------
    def __call__(self, text, text_pair=None, *, add_special_tokens: bool = True, padding: bool | str = False,
                 truncation: bool | str | None = None, max_length: int | None = None, stride: int = 0,
                 is_split_into_words: bool = False, pad_to_multiple_of: int | None = None,
                 padding_side: str | None = None, return_tensors: str | None = None,
                 return_token_type_ids: bool | None = None, return_attention_mask: bool | None = None,
                 return_overflowing_tokens: bool = False, return_special_tokens_mask: bool = False,
                 return_offsets_mapping: bool = False, return_length: bool = False) -> BatchEncoding:
        """Tokenize one text, a batch (list), or pairs (`text_pair`), as transformers' fast tokenizers do.

        One text gives flat lists; a batch (or any `return_tensors`, or overflowing windows) gives one row each.
        `truncation=True` without `max_length` truncates to `model_max_length`; `max_length` alone truncates.
        `return_overflowing_tokens` keeps the cut-off parts as extra rows (windows overlapping by `stride` tokens)
        and adds `overflow_to_sample_mapping` (row -> input index).
        """
        batched, inputs = self._backend_inputs(text, text_pair, is_split_into_words)
        padding_strategy, truncation_strategy, max_length = self._resolve_lengths(
            padding, truncation, max_length, pad_to_multiple_of)
        with self._lock:
            self._configure_backend(padding_strategy, truncation_strategy, max_length, stride, pad_to_multiple_of,
                                    padding_side or self.padding_side)
            try:
                encodings = self._backend.encode_batch(inputs, add_special_tokens=add_special_tokens,
                                                       is_pretokenized=is_split_into_words)
            except Exception as error:  # the backend raises plain Exceptions, e.g. for impossible truncation
                raise TokenizerError(f"Could not tokenize with truncation={truncation_strategy}, "
                                     f"max_length={max_length}, stride={stride} ({error}); use a larger max_length "
                                     "or smaller stride, or another truncation strategy.") from error

        if truncation_strategy is None and self.model_max_length is not None and not self._warned_too_long and \
                any(len(encoding.ids) > self.model_max_length for encoding in encodings):
            self._warned_too_long = True
            warnings.warn(f"A sequence is longer than model_max_length={self.model_max_length} tokens and the model "
                          "cannot take it whole; pass truncation=True to cut it.", stacklevel=2)
        rows, sample_of_row = [], []  # one row per encoding, overflowing windows right after their sample
        for sample, encoding in enumerate(encodings):
            for row in [encoding, *(encoding.overflowing if return_overflowing_tokens else [])]:
                rows.append(row)
                sample_of_row.append(sample)
        wants = {"token_type_ids": return_token_type_ids, "attention_mask": return_attention_mask}
        wants = {key: key in self.model_input_names if value is None else value for key, value in wants.items()}
        data = {"input_ids": [row.ids for row in rows]}
        if wants["token_type_ids"]:
            data["token_type_ids"] = [row.type_ids for row in rows]
        if wants["attention_mask"]:
            data["attention_mask"] = [row.attention_mask for row in rows]
        if return_special_tokens_mask:
            data["special_tokens_mask"] = [row.special_tokens_mask for row in rows]
        if return_offsets_mapping:
            data["offset_mapping"] = [row.offsets for row in rows]
        if return_length:
            data["length"] = [len(row.ids) for row in rows]
        if return_overflowing_tokens:
            data["overflow_to_sample_mapping"] = sample_of_row
        elif not batched and return_tensors is None:
            # One text: flat lists. Like transformers, only per-token fields lose the batch level (length stays [n]).
            data = {key: value[0] if isinstance(value[0], list) else value for key, value in data.items()}
        return BatchEncoding(data, rows, tensor_type=return_tensors)

    def _backend_inputs(self, text, text_pair, is_split_into_words: bool) -> tuple[bool, list]:
        """(is it a batch?, the inputs as `encode_batch` takes them: texts, word lists, or pairs of those)."""
        if text is None:
            raise TokenizerError("text is None; pass a string, a list of strings (a batch), or lists of words "
                                 "with is_split_into_words=True.")
        if is_split_into_words:
            batched = isinstance(text, (list, tuple)) and len(text) > 0 and isinstance(text[0], (list, tuple))
        else:
            batched = isinstance(text, (list, tuple))
        texts = list(text) if batched else [text]
        if text_pair is None:
            pairs = None
        elif batched:
            if not isinstance(text_pair, (list, tuple)) or (is_split_into_words and text_pair
                                                             and not isinstance(text_pair[0], (list, tuple))):
                raise TokenizerError("text is a batch, so text_pair must be a batch too (a list with one entry "
                                     "per text).")
            if len(text_pair) != len(texts):
                raise TokenizerError(f"text has {len(texts)} entries but text_pair has {len(text_pair)}; pass one "
                                     "text_pair per text.")
            pairs = list(text_pair)
        else:
            pairs = [text_pair]
        for name, sequences in (("text", texts), ("text_pair", pairs or [])):
            for index, sequence in enumerate(sequences):
                where = f"{name}[{index}]" if batched else name
                sequences[index] = _checked_sequence(sequence, where, is_split_into_words)
        return batched, texts if pairs is None else list(zip(texts, pairs))

    def _resolve_lengths(self, padding, truncation, max_length, pad_to_multiple_of):
        """transformers' rules: (padding strategy, truncation strategy, max_length) with None meaning off."""
        try:
            padding_strategy = _PADDING[padding]
            truncation_strategy = None if truncation is None else _TRUNCATION[truncation]
        except (KeyError, TypeError):
            raise TokenizerError(f"padding={padding!r} / truncation={truncation!r} is not a known strategy; use "
                                 f"padding in {list(_PADDING)} and truncation in {list(_TRUNCATION)}.") from None
        if truncation is None and max_length is not None and padding_strategy is None:
            truncation_strategy = "longest_first"  # max_length alone means "cut to max_length"
        if max_length is None:
            # No explicit length: use the model's, and when there is none, neither pad to it nor cut at it.
            max_length = self.model_max_length
            if max_length is None and padding_strategy == "max_length":
                padding_strategy = None
            if max_length is None:
                truncation_strategy = None
        if padding_strategy is not None and self.pad_token_id is None:
            raise TokenizerError("Padding needs a pad token and this tokenizer has none; set one first, e.g. "
                                 "tok.pad_token = tok.eos_token.")
        if (padding_strategy and truncation_strategy and pad_to_multiple_of and max_length is not None
                and max_length % pad_to_multiple_of):
            raise TokenizerError(f"max_length={max_length} is not a multiple of pad_to_multiple_of="
                                 f"{pad_to_multiple_of}; pick a max_length that is.")
        return padding_strategy, truncation_strategy, max_length

    def _configure_backend(self, padding_strategy, truncation_strategy, max_length, stride, pad_to_multiple_of,
                           padding_side):
        if truncation_strategy is None:
            self._backend.no_truncation()
        else:
            self._backend.enable_truncation(max_length, stride=stride, strategy=truncation_strategy,
                                            direction=self.truncation_side)
        if padding_strategy is None:
            self._backend.no_padding()
        else:
            self._backend.enable_padding(direction=padding_side, pad_id=self.pad_token_id,
                                         pad_type_id=self.pad_token_type_id, pad_token=self.pad_token,
                                         length=max_length if padding_strategy == "max_length" else None,
                                         pad_to_multiple_of=pad_to_multiple_of)

    def encode(self, text, text_pair=None, *, add_special_tokens: bool = True, return_tensors: str | None = None,
               **kwargs) -> list[int] | Any:
        """The input_ids of one text (or pair); keyword arguments as for calling the tokenizer."""
        return self(text, text_pair, add_special_tokens=add_special_tokens, return_tensors=return_tensors,
                    **kwargs)["input_ids"]

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs) -> list[str]:
        """The token strings of one text (without [CLS]/[SEP] unless asked)."""
        return self(text, pair, add_special_tokens=add_special_tokens, **kwargs).encodings[0].tokens

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        """How many tokens the post-processor adds around one text (or a pair): 2 ([CLS] A [SEP]) for BERT."""
        return self._backend.num_special_tokens_to_add(pair)

    def pad(self, encoded_inputs, padding: bool | str = True, max_length: int | None = None,
            pad_to_multiple_of: int | None = None, padding_side: str | None = None,
            return_attention_mask: bool | None = None, return_tensors: str | None = None) -> BatchEncoding:
        """Pad already-tokenized inputs: a dict of lists, or a list of dicts (a data collator's batch).

        input_ids get the pad id, attention_mask 0, token_type_ids the pad type id, special_tokens_mask 1;
        other keys (labels, ...) are left alone. Tensors in give tensors out unless `return_tensors` says otherwise.
        """
        if isinstance(encoded_inputs, (list, tuple)) and encoded_inputs and isinstance(encoded_inputs[0], dict):
            encoded_inputs = {key: [example[key] for example in encoded_inputs] for key in encoded_inputs[0]}
        if "input_ids" not in encoded_inputs:
            raise TokenizerError(f"pad() needs 'input_ids' among the inputs, got {list(encoded_inputs)}; pass the "
                                 "tokenizer's outputs.")
        data = {}
        for key, value in encoded_inputs.items():
            first_row = value[0] if isinstance(value, (list, tuple)) and value else value
            if hasattr(first_row, "tolist"):  # torch tensors or numpy arrays: pad as lists, give back the same kind
                return_tensors = return_tensors or ("pt" if hasattr(first_row, "device") else "np")
            data[key] = value.tolist() if hasattr(value, "tolist") else \
                [row.tolist() if hasattr(row, "tolist") else row for row in value]
        batched = bool(data["input_ids"]) and isinstance(data["input_ids"][0], (list, tuple))
        if not batched:
            data = {key: [value] for key, value in data.items()}

        # Same rules as a call: "max_length" without one pads to model_max_length, a pad token is required.
        padding_strategy, _, max_length = self._resolve_lengths(padding, False, max_length, None)
        if padding_strategy == "longest":
            max_length = max((len(row) for row in data["input_ids"]), default=0)
        if max_length is not None and pad_to_multiple_of:
            max_length = -(-max_length // pad_to_multiple_of) * pad_to_multiple_of  # round up
        wants_mask = ("attention_mask" in self.model_input_names) if return_attention_mask is None \
            else return_attention_mask
        if wants_mask and "attention_mask" not in data:
            data["attention_mask"] = [[1] * len(row) for row in data["input_ids"]]
        elif not wants_mask:
            data.pop("attention_mask", None)  # transformers would keep it unpadded, which no model can use
        fill = {"input_ids": self.pad_token_id, "attention_mask": 0, "token_type_ids": self.pad_token_type_id,
                "special_tokens_mask": 1}
        side = padding_side or self.padding_side
        for row_index, row in enumerate(data["input_ids"]):
            missing = 0 if padding_strategy is None else max(0, max_length - len(row))
            for key, value in fill.items():
                if key in data and missing:
                    padding_values = [value] * missing
                    current = list(data[key][row_index])
                    data[key][row_index] = current + padding_values if side == "right" else padding_values + current
        if not batched and return_tensors is None:
            data = {key: value[0] for key, value in data.items()}
        return BatchEncoding(data, tensor_type=return_tensors)

    # -- decoding ------------------------------------------------------------------------------------------------
    def decode(self, token_ids, skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: bool | None = None) -> str | list[str]:
        """Ids -> text. A batch of id lists (or a 2-D tensor) gives a list of texts."""
        ids = _as_id_list(token_ids)
        if ids and isinstance(ids[0], list):
            return [self._decode_one(row, skip_special_tokens, clean_up_tokenization_spaces) for row in ids]
        return self._decode_one(ids, skip_special_tokens, clean_up_tokenization_spaces)

    def batch_decode(self, sequences, skip_special_tokens: bool = False,
                     clean_up_tokenization_spaces: bool | None = None) -> list[str]:
        """A list of texts for a batch of id lists."""
        return [self._decode_one(row, skip_special_tokens, clean_up_tokenization_spaces)
                for row in _as_id_list(sequences)]

    def _decode_one(self, ids: list[int], skip_special_tokens: bool, clean_up: bool | None) -> str:
        text = self._backend.decode(ids, skip_special_tokens=skip_special_tokens)
        clean_up = self.clean_up_tokenization_spaces if clean_up is None else clean_up
        # Like transformers 5: the clean-up is meant for WordPiece and would delete real spaces in BPE output.
        if clean_up and type(self._backend.model).__name__ != "BPE":
            for before, after in _CLEANUP_REPLACEMENTS:
                text = text.replace(before, after)
        return text

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False) -> str | None | list[str | None]:
        """One id -> its token string; a list of ids -> a list of strings (None for ids outside the vocabulary)."""
        if isinstance(ids, int) or (hasattr(ids, "ndim") and ids.ndim == 0):
            return self._backend.id_to_token(int(ids))
        skipped = set(self.all_special_ids) if skip_special_tokens else set()
        return [self._backend.id_to_token(int(index)) for index in _as_id_list(ids) if int(index) not in skipped]

    def convert_tokens_to_ids(self, tokens: str | list[str]) -> int | None | list[int | None]:
        """Token string(s) -> id(s); unknown tokens give the unk id (None when there is no unk token)."""
        if isinstance(tokens, str):
            index = self._backend.token_to_id(tokens)
            if index is None and self.unk_token is not None:
                index = self._backend.token_to_id(self.unk_token)
            return index
        return [self.convert_tokens_to_ids(token) for token in tokens]

    # -- vocabulary and special tokens ---------------------------------------------------------------------------
    @property
    def backend_tokenizer(self) -> Backend:
        """The `tokenizers.Tokenizer` doing the work (for views that look at its normalizer or pre-tokenizer)."""
        return self._backend

    @property
    def vocab_size(self) -> int:
        """Size of the model's vocabulary, without added tokens (transformers' meaning)."""
        return self._backend.get_vocab_size(with_added_tokens=False)

    def __len__(self) -> int:
        """Size of the vocabulary with the added tokens: the number of embedding rows a model needs."""
        return self._backend.get_vocab_size(with_added_tokens=True)

    def get_vocab(self) -> dict[str, int]:
        return self._backend.get_vocab(with_added_tokens=True)

    @property
    def added_tokens_decoder(self) -> dict[int, AddedToken]:
        return self._backend.get_added_tokens_decoder()

    def get_added_vocab(self) -> dict[str, int]:
        return {token.content: index for index, token in sorted(self.added_tokens_decoder.items())}

    @property
    def special_tokens_map(self) -> dict[str, str]:
        """{"cls_token": "[CLS]", ...} for the named special tokens that are set."""
        return {name: getattr(self, name) for name in SPECIAL_TOKEN_NAMES if getattr(self, name) is not None}

    @property
    def extra_special_tokens(self) -> list[str]:
        """Special tokens beyond the named ones (transformers 4 called them additional_special_tokens)."""
        return [str(getattr(token, "content", token)) for token in self._extra_special_tokens]

    additional_special_tokens = extra_special_tokens

    @property
    def all_special_tokens(self) -> list[str]:
        """Named special tokens then extra ones, each once."""
        return list(dict.fromkeys([*self.special_tokens_map.values(), *self.extra_special_tokens]))

    @property
    def all_special_ids(self) -> list[int]:
        return self.convert_tokens_to_ids(self.all_special_tokens)

    def add_tokens(self, tokens: str | AddedToken | list[str | AddedToken], special_tokens: bool = False) -> int:
        """Add tokens to the vocabulary (new ids at the end); returns how many were new."""
        tokens = [tokens] if isinstance(tokens, (str, AddedToken)) else list(tokens)
        if special_tokens:
            return self._backend.add_special_tokens([as_special(token) for token in tokens])
        return self._backend.add_tokens(tokens)

    def add_special_tokens(self, special_tokens: dict[str, str | AddedToken | list]) -> int:
        """Set named special tokens ({"pad_token": "[PAD]"}) or extra ones ({"additional_special_tokens": [...]}),
        adding the ones the vocabulary lacks; returns how many were new. Resize a model's embeddings to len(tok)."""
        new_tokens = []
        for name, value in special_tokens.items():
            if name in ("additional_special_tokens", "extra_special_tokens"):
                values = list(value)
                self._extra_special_tokens += [token for token in values if token not in self._extra_special_tokens]
                new_tokens += values
            elif name in SPECIAL_TOKEN_NAMES:
                setattr(self, name, value)
                new_tokens.append(value)
            else:
                raise TokenizerError(f"{name!r} is not a special token name; use one of {list(SPECIAL_TOKEN_NAMES)} "
                                     "or 'additional_special_tokens'.")
        return self.add_tokens(new_tokens, special_tokens=True)

    # -- chat templates ------------------------------------------------------------------------------------------
    def get_chat_template(self, chat_template: str | None = None, tools: list | None = None) -> str:
        """The template source to use: a name among several templates, a template given here, or the default."""
        templates = self.chat_template
        if isinstance(templates, dict):
            if chat_template is not None:
                return templates.get(chat_template, chat_template)
            if tools is not None and "tool_use" in templates:
                return templates["tool_use"]
            if "default" in templates:
                return templates["default"]
            raise TokenizerError(f"This tokenizer has several chat templates and none is 'default'; pass "
                                 f"chat_template=<name> with one of {sorted(templates)}.")
        if chat_template is not None:
            return chat_template
        if templates is None:
            raise TokenizerError("This tokenizer has no chat template; pass chat_template='...' (Jinja text) or set "
                                 "tok.chat_template, or use a chat/instruct checkpoint.")
        return templates

    def apply_chat_template(self, conversation: list[dict] | list[list[dict]], tools: list[dict] | None = None,
                            documents: list[dict] | None = None, chat_template: str | None = None,
                            add_generation_prompt: bool = False, continue_final_message: bool = False,
                            tokenize: bool = True, padding: bool | str = False, truncation: bool = False,
                            max_length: int | None = None, return_tensors: str | None = None,
                            return_dict: bool = False, **template_variables) -> str | list | BatchEncoding:
        """A conversation ([{"role": "user", "content": "Hi"}, ...]) or a batch of them -> prompt text or ids.

        tokenize=False gives the text; tokenize=True the input_ids (no extra special tokens: the template writes
        them), or the whole BatchEncoding with return_dict=True. Extra keyword arguments reach the template.
        """
        source = self.get_chat_template(chat_template, tools)
        batched = isinstance(conversation, (list, tuple)) and len(conversation) > 0 \
            and isinstance(conversation[0], (list, tuple))
        variables = {**self.special_tokens_map, **template_variables}
        from .chat import render_conversation  # Jinja2 is imported only when a template is used

        rendered = [render_conversation(source, list(messages), add_generation_prompt=add_generation_prompt,
                                        continue_final_message=continue_final_message, tools=tools,
                                        documents=documents, **variables)
                    for messages in (conversation if batched else [conversation])]
        text = rendered if batched else rendered[0]
        if not tokenize:
            return text
        encoded = self(text, add_special_tokens=False, padding=padding, truncation=truncation,
                       max_length=max_length, return_tensors=return_tensors)
        return encoded if return_dict else encoded["input_ids"]

    # -- serialization -------------------------------------------------------------------------------------------
    def backend_json(self) -> str:
        """tokenizer.json text of the pipeline, without per-call padding or truncation."""
        with self._lock:
            self._backend.no_padding()
            self._backend.no_truncation()
            return self._backend.to_str(pretty=True)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        limit = "no limit" if self.model_max_length is None else self.model_max_length
        return (f"Tokenizer({self.name_or_path or type(self._backend.model).__name__!s}, vocab={len(self)}, "
                f"model_max_length={limit}, padding_side={self.padding_side!r}, "
                f"special_tokens={self.special_tokens_map})")


def _checked_sequence(sequence, where: str, is_split_into_words: bool):
    """A text (str) or, with is_split_into_words, a list of words; anything else is the caller's mistake."""
    if is_split_into_words:
        if isinstance(sequence, (list, tuple)) and all(isinstance(word, str) for word in sequence):
            return list(sequence)
        raise TokenizerError(f"{where} must be a list of words (strings) when is_split_into_words=True, got "
                             f"{type(sequence).__name__}; pass e.g. ['Hello', 'world'].")
    if isinstance(sequence, str):
        return sequence
    hint = " (use is_split_into_words=True for lists of words)" if isinstance(sequence, (list, tuple)) else ""
    raise TokenizerError(f"{where} is {type(sequence).__name__}, not a string{hint}; pass text as str.")


def _as_id_list(token_ids) -> list:
    """Ids as Python ints: from an int, a list, a numpy array or a torch tensor (1-D or 2-D)."""
    if hasattr(token_ids, "tolist"):
        token_ids = token_ids.tolist()  # tensors and arrays -> (nested) lists of ints
    if isinstance(token_ids, int):
        return [token_ids]
    return [_as_id_list(row) if isinstance(row, (list, tuple)) or getattr(row, "ndim", 0) > 0 else int(row)
            for row in token_ids]
