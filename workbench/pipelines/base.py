"""What every task pipeline shares: calling conventions, input checks, batching, truncation, output forms.

A pipeline answers `p(inputs, **options)` in three stages, as transformers' pipelines do:

    preprocess(item)      -> chunks: token ids for the model plus whatever postprocess needs (offsets, text...)
    _forward(batch)       -> the model's tensors for a padded batch of chunks (the only stage that runs the model,
                             always under torch.inference_mode())
    postprocess(chunks)   -> plain JSON-able Python (str, int, float, lists, dicts), named as in transformers

One item may give several chunks (a long text cut into windows, one NLI pair per candidate label); chunks of all
items are batched together (`batch_size`), padded, run, un-padded, and handed back to their item.
"""
from __future__ import annotations

import inspect
import logging
import warnings
from collections.abc import Iterable
from typing import Any

import torch

from ..errors import WorkbenchError

logger = logging.getLogger("workbench.pipelines")

# Model inputs a tokenizer can produce; which ones a model gets is the tokenizer's `model_input_names`.
MODEL_INPUT_KEYS = ("input_ids", "attention_mask", "token_type_ids")
PAD_VALUES = {"attention_mask": 0, "token_type_ids": 0}  # input_ids pad with the tokenizer's pad id
NO_LIMIT = 10**6  # tokenizers without a length say model_max_length = 1e30; treat anything above this as none


class PipelineError(WorkbenchError, ValueError):
    """Input or options a pipeline cannot work with (said in one sentence, with what to do)."""


class TruncationWarning(UserWarning):
    """An input was longer than the model can read and was cut (pass truncation=True to silence this)."""


class Pipeline:
    task: str = ""
    # Outputs of `_forward` with a token axis (dim 1) that must be cut back to each chunk's real length.
    token_outputs: tuple[str, ...] = ()

    def __init__(self, model, tokenizer, *, task: str | None = None, batch_size: int = 1, **options):
        self.model = model
        self.tokenizer = tokenizer
        self.task = task or self.task
        self.batch_size = _checked_batch_size(batch_size)
        self.max_tokens = max_model_tokens(model, tokenizer)
        self._sanitize(options)  # fail now, not at the first call, on an unknown or bad option
        self.options = options  # defaults for every call; call keywords override them

    # ---- what each task provides -------------------------------------------------------------------------
    def _sanitize_parameters(self, **options) -> tuple[dict, dict, dict]:
        """Split the options into (preprocess, _forward, postprocess) keyword arguments, checking them."""
        return {}, {}, {}

    def preprocess(self, item, **params) -> list[dict]:
        raise NotImplementedError

    def _forward(self, batch: dict[str, torch.Tensor], **params) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def postprocess(self, chunks: list[dict], **params) -> Any:
        raise NotImplementedError

    def split_inputs(self, inputs) -> tuple[list, bool]:
        """(items, was it a single item?): a string or a dict is one item; a list, tuple or Series is many."""
        if isinstance(inputs, (str, dict)) or inputs is None:
            return [inputs], True
        if hasattr(inputs, "tolist") and not isinstance(inputs, torch.Tensor):  # pandas Series, numpy array
            inputs = inputs.tolist()
        if isinstance(inputs, Iterable) and not isinstance(inputs, (bytes, torch.Tensor)):
            items = list(inputs)
            if not items:
                raise PipelineError(f"{self.task} got an empty list; pass a text or a non-empty list of texts.")
            return items, False
        raise PipelineError(f"{self.task} cannot read a {type(inputs).__name__}; pass a string or a list of strings.")

    def shape_result(self, results: list, single: bool, inputs, call_options: dict):
        """Outputs in transformers' shape: one result for one input, a list for a list."""
        return results[0] if single else results

    # ---- calling -------------------------------------------------------------------------------------------
    def __call__(self, inputs=None, *, batch_size: int | None = None, as_dataframe: bool = False, **options):
        """Run the task on one input or a list of them; `as_dataframe=True` returns a pandas DataFrame instead."""
        merged = {**self.options, **options}
        pre, fwd, post = self._sanitize(merged)
        items, single = self.split_inputs(inputs)
        results = self.run(items, pre, fwd, post, self.batch_size if batch_size is None else _checked_batch_size(batch_size))
        shaped = self.shape_result(results, single, inputs, options)
        return self.to_dataframe(shaped, items, single) if as_dataframe else shaped

    def run(self, items: list, pre: dict, fwd: dict, post: dict, batch_size: int) -> list:
        chunks_of_item = [self.preprocess(item, **pre) for item in items]
        flat = [chunk for chunks in chunks_of_item for chunk in chunks]
        outputs: list[dict] = []
        for start in range(0, len(flat), batch_size):
            outputs.extend(self.forward_chunks(flat[start:start + batch_size], fwd))
        results, position = [], 0
        for chunks in chunks_of_item:
            done = [{**chunk, **output} for chunk, output in zip(chunks, outputs[position:position + len(chunks)])]
            position += len(chunks)
            results.append(self.postprocess(done, **post))
        return results

    def forward_chunks(self, chunks: list[dict], fwd: dict) -> list[dict]:
        """Pad the chunks into one batch, run `_forward`, and cut each row back to its own length."""
        if not chunks:
            return []
        batch, lengths = self.collate(chunks)
        try:
            with torch.inference_mode():
                outputs = self._forward(batch, **fwd)
        except WorkbenchError:
            raise
        except (RuntimeError, IndexError, ValueError) as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise PipelineError(f"The {self.task} model could not run on this input ({first_line}); check the "
                                "input and the options.") from error
        left = self.padding_side == "left"
        T = batch["input_ids"].shape[1]
        rows = []
        for i, length in enumerate(lengths):
            row = {}
            for name, value in outputs.items():
                if not isinstance(value, torch.Tensor):
                    continue
                value = value[i]
                if name in self.token_outputs:
                    value = value[T - length:] if left else value[:length]
                row[name] = value
            rows.append(row)
        return rows

    @property
    def padding_side(self) -> str:
        return getattr(self.tokenizer, "padding_side", "right")

    def model_input_names(self) -> list[str]:
        names = getattr(self.tokenizer, "model_input_names", None) or ["input_ids", "attention_mask"]
        return [name for name in MODEL_INPUT_KEYS if name in names or name == "input_ids"]

    def collate(self, chunks: list[dict]) -> tuple[dict[str, torch.Tensor], list[int]]:
        """Right- (or left-) pad the chunks' token lists into [B, T] tensors; also returns each real length."""
        lengths = [len(chunk["input_ids"]) for chunk in chunks]
        T = max(lengths)
        pad_id = getattr(self.tokenizer, "pad_token_id", None)
        left = self.padding_side == "left"
        batch = {}
        for name in self.model_input_names():
            if name not in chunks[0]:
                continue
            fill = (pad_id if pad_id is not None else 0) if name == "input_ids" else PAD_VALUES[name]
            tensor = torch.full((len(chunks), T), fill, dtype=torch.long)
            for i, chunk in enumerate(chunks):
                values = torch.as_tensor(chunk[name], dtype=torch.long)
                if left:
                    tensor[i, T - len(values):] = values
                else:
                    tensor[i, :len(values)] = values
            batch[name] = tensor
        return batch, lengths

    def _sanitize(self, options: dict) -> tuple[dict, dict, dict]:
        try:
            inspect.signature(self._sanitize_parameters).bind(**options)
        except TypeError:
            known = [name for name, p in inspect.signature(self._sanitize_parameters).parameters.items()
                     if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD]
            unknown = sorted(set(options) - set(known))
            raise PipelineError(f"{self.task} does not know the option(s) {', '.join(unknown)}; known options: "
                                f"{', '.join(known)}, batch_size, as_dataframe.") from None
        return self._sanitize_parameters(**options)

    # ---- tokenizing with a length check ---------------------------------------------------------------------
    def tokenize(self, text, text_pair=None, *, truncation=None, strategy: str = "longest_first",
                 max_length: int | None = None, what: str = "input", **tokenizer_kwargs):
        """Tokenize one text (or pair) to at most the model's length.

        truncation=None (the default) cuts a too-long input with a TruncationWarning; True cuts silently;
        False refuses with a PipelineError; a strategy name ("only_first", ...) cuts silently that way.
        `strategy` is how to cut by default (e.g. "only_first" keeps a zero-shot hypothesis whole).
        Returns the kept part as flat lists, with `.encoding` (a tokenizers.Encoding) for offsets and words.
        """
        limit = min(max_length or self.max_tokens, self.max_tokens)
        if isinstance(truncation, str):
            strategy = truncation
        if truncation is False or truncation == "do_not_truncate":
            encoding = self.tokenizer(text, text_pair, **tokenizer_kwargs)
            if len(encoding["input_ids"]) > limit:
                raise PipelineError(f"The {what} is {len(encoding['input_ids'])} tokens long but the model reads at "
                                    f"most {limit}; shorten it or pass truncation=True.")
            return _FirstRow(dict(encoding), encoding.encodings[0])
        encoding = self.tokenizer(text, text_pair, truncation=strategy, max_length=limit,
                                  return_overflowing_tokens=True, **tokenizer_kwargs)
        cut = len(encoding["input_ids"]) > 1
        first = {key: value[0] for key, value in encoding.items() if key != "overflow_to_sample_mapping"}
        if cut and truncation is None:
            warnings.warn(f"The {what} is longer than the {limit} tokens the model reads; only the first {limit} "
                          "tokens are used (pass truncation=True to accept this silently).", TruncationWarning,
                          stacklevel=4)
        return _FirstRow(first, encoding.encodings[0])

    # ---- output forms -----------------------------------------------------------------------------------------
    def to_dataframe(self, result, items: list, single: bool):
        """The result as a pandas DataFrame: one row per answer, with an `input` column for batches."""
        import pandas as pd

        rows = result if not single else [result]
        records = []
        for index, row in enumerate(rows):
            entries = row if isinstance(row, list) else [row]
            for position, entry in enumerate(entries):
                if isinstance(entry, list):  # several masks in one text: one list of guesses per mask
                    records.extend({"input": index, "mask": position, **e} for e in entry)
                elif isinstance(entry, dict):
                    records.append({"input": index, **entry})
                else:
                    records.append({"input": index, "value": entry})
        table = pd.DataFrame.from_records(records)
        if single and "input" in table:
            table = table.drop(columns="input")
        return table


class _FirstRow(dict):
    """One tokenized row as flat lists, keeping its `tokenizers.Encoding` for offsets and word ids."""

    def __init__(self, data: dict, encoding):
        super().__init__(data)
        self.encoding = encoding


# ---- helpers shared by the task files ----------------------------------------------------------------------------

def check_text(value, what: str = "text", allow_empty: bool = True) -> str:
    """A string to feed the tokenizer, or a one-sentence PipelineError saying what was wrong."""
    if value is None:
        raise PipelineError(f"The {what} is None; pass a string.")
    if not isinstance(value, str):
        raise PipelineError(f"The {what} must be a string, got {type(value).__name__}; pass text.")
    if not allow_empty and not value.strip():
        raise PipelineError(f"The {what} is empty; pass some text.")
    return value


def max_model_tokens(model, tokenizer) -> int:
    """How many tokens one sequence may have: the smaller of the tokenizer's and the position table's limits."""
    limits = []
    tokenizer_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tokenizer_limit, int) and 0 < tokenizer_limit < NO_LIMIT:
        limits.append(tokenizer_limit)
    config = getattr(model, "config", None)
    positions = None
    for field in ("max_position_embeddings", "n_positions", "n_ctx"):
        positions = config.get(field) if config is not None else None
        if positions:
            break
    if positions:
        # RoBERTa-style models number positions from padding_idx + 1, so that many slots are never used.
        table = next((m for name, m in model.named_modules() if name.endswith("position_embeddings")
                      and isinstance(m, torch.nn.Embedding)), None)
        offset = table.padding_idx + 1 if table is not None and table.padding_idx is not None else 0
        limits.append(positions - offset)
    return min(limits) if limits else NO_LIMIT


def softmax(values: torch.Tensor, dim: int = -1) -> torch.Tensor:
    return torch.softmax(values.float(), dim=dim)


def _checked_batch_size(batch_size) -> int:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise PipelineError(f"batch_size must be a positive integer, got {batch_size!r}.")
    return batch_size
