"""Training data: whatever the user has -> a tokenized `datasets.Dataset` -> padded batches.

    rows     = as_dataset(train)                       # DataFrame / Dataset / DatasetDict / CSV / JSON / list of dicts
    labels   = label_names(rows)                       # ["business", "entertainment", ...] (strings) or ids
    encoded  = encode(rows, tokenizer, label2id, ...)  # datasets.map(batched=True) -> input_ids, ..., labels
    batch    = collate(encoded[indices], pad_token_id) # dynamic padding: to the longest row of this batch

Labels may be strings or ints. String names are kept in sorted order so that the same data always gives
the same ids; ints keep their value, and their names come from a `ClassLabel` feature when there is one.
"""
from __future__ import annotations

import math
import uuid
from pathlib import Path
from typing import Any

import torch

from ..errors import TrainingError

TEXT, TEXT_PAIR, LABEL = "text", "text_pair", "label"
IGNORE_INDEX = -100  # label id that the losses skip (padding, word pieces after the first, prompt tokens)


# ---- reading ---------------------------------------------------------------------------------------

def as_dataset(data: Any, *, role: str = "train"):
    """A `datasets.Dataset` from a DataFrame, Dataset, DatasetDict (its train / validation split),
    a CSV / JSON / JSONL path, or a list of dicts."""
    import datasets
    import pandas as pd

    if isinstance(data, datasets.DatasetDict):
        wanted = ("train",) if role == "train" else ("validation", "eval", "test")
        split = next((name for name in wanted if name in data), None)
        if split is None:
            raise TrainingError(
                f"The DatasetDict has splits {list(data)} but no {' / '.join(wanted)} split for {role}; "
                f"pass the split you mean, e.g. data[{list(data)[0]!r}].")
        data = data[split]
    if isinstance(data, (str, Path)):
        data = _read_table(Path(data))
    if isinstance(data, list):
        data = pd.DataFrame(data)
    if isinstance(data, pd.DataFrame):
        data = datasets.Dataset.from_pandas(data.reset_index(drop=True), preserve_index=False)
    if not isinstance(data, datasets.Dataset):
        raise TrainingError(
            f"Cannot train on a {type(data).__name__}; pass a pandas DataFrame, a datasets.Dataset, or a CSV/JSON path "
            f"with '{TEXT}' and '{LABEL}' columns.")
    if len(data) == 0:
        raise TrainingError(f"The {role} data has no rows; pass at least one example.")
    return data


def _read_table(path: Path):
    import pandas as pd

    if not path.is_file():
        raise TrainingError(f"No data file at '{path}'; pass a CSV, JSON or JSONL file, a DataFrame or a Dataset.")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    if suffix in (".json", ".jsonl"):
        text = path.read_text(encoding="utf-8").lstrip()
        return pd.read_json(path, lines=suffix == ".jsonl" or not text.startswith("["))
    raise TrainingError(f"Cannot read '{path.name}': use a .csv, .tsv, .json or .jsonl file.")


def check_columns(rows, task: str, role: str) -> None:
    needed = [TEXT, LABEL]
    missing = [c for c in needed if c not in rows.column_names]
    if missing:
        raise TrainingError(
            f"The {role} data for {task} needs columns {needed} but has {rows.column_names}; "
            f"rename your columns (missing: {missing}).")


# ---- labels ----------------------------------------------------------------------------------------

def label_names(rows) -> list[str] | None:
    """Names for the label ids: sorted strings, a ClassLabel's names, or None for plain int labels."""
    feature = rows.features.get(LABEL)
    if getattr(feature, "names", None):
        return list(feature.names)
    values = rows.unique(LABEL)
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
        raise TrainingError(f"The '{LABEL}' column has empty values; fill or drop those rows.")
    if all(isinstance(v, str) for v in values):
        return sorted(values)
    if all(isinstance(v, int) or (isinstance(v, float) and float(v).is_integer()) for v in values):
        return None
    raise TrainingError(f"The '{LABEL}' column mixes types ({sorted({type(v).__name__ for v in values})}); "
                        "use all strings or all integer ids.")


def label_ids(rows, label2id: dict[str, int], num_labels: int, role: str) -> list[int]:
    """The label column as ids in [0, num_labels); unseen names or ids out of range are an error."""
    values = rows[LABEL]
    feature = rows.features.get(LABEL)
    if getattr(feature, "names", None):  # a ClassLabel column holds ids already; map through its names
        values = [feature.names[v] for v in values]
    if values and isinstance(values[0], str):
        unseen = sorted({v for v in values if v not in label2id})
        if unseen:
            raise TrainingError(
                f"The {role} data has labels {unseen[:5]} that the training data / model does not know "
                f"(known: {sorted(label2id)[:10]}); drop those rows or add examples of them to the training data.")
        return [label2id[v] for v in values]
    ids = [int(v) for v in values]
    bad = sorted({i for i in ids if not 0 <= i < num_labels})
    if bad:
        raise TrainingError(f"The {role} data has label ids {bad[:5]} outside 0..{num_labels - 1}; "
                            "use ids the model's head has, or string label names.")
    return ids


# ---- tokenizing ------------------------------------------------------------------------------------

def encode(rows, tokenizer, ids: list[int], *, max_length: int):
    """Tokenize `text` (and `text_pair`) with datasets.map(batched=True); no padding yet (done per batch)."""
    has_pair = TEXT_PAIR in rows.column_names
    rows = rows.select_columns([TEXT] + ([TEXT_PAIR] if has_pair else [])).add_column("labels", ids)

    def tokenize(batch: dict[str, list]) -> dict[str, list]:
        texts = [str(t) for t in batch[TEXT]]
        pairs = [str(t) for t in batch[TEXT_PAIR]] if has_pair else None
        encoded = tokenizer(texts, pairs, truncation=True, max_length=max_length) if has_pair else \
            tokenizer(texts, truncation=True, max_length=max_length)
        return {name: list(values) for name, values in dict(encoded).items() if name in MODEL_INPUTS}

    import datasets

    quiet = len(rows) < 5_000 and not datasets.are_progress_bars_disabled()  # no bar for a second's work
    if quiet:
        datasets.disable_progress_bars()
    try:
        # new_fingerprint: datasets would otherwise hash the tokenizer object to name a cache entry never reused
        encoded = rows.map(tokenize, batched=True, batch_size=256, remove_columns=rows.column_names[:-1],
                           new_fingerprint=uuid.uuid4().hex, desc="Tokenizing")
    finally:
        if quiet:
            datasets.enable_progress_bars()
    return encoded.with_format("torch")


MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
PAD_VALUES = {"attention_mask": 0, "token_type_ids": 0, "labels": IGNORE_INDEX}  # input_ids: the pad token


def collate(rows: dict[str, list[torch.Tensor] | torch.Tensor], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Rows of ragged 1-d tensors -> [B, T] tensors padded on the right to this batch's longest row."""
    batch = {}
    for name, column in rows.items():
        if isinstance(column, torch.Tensor) and column.dim() <= 2:  # equal lengths (or scalar labels): stacked
            batch[name] = column
            continue
        pad = pad_token_id if name == "input_ids" else PAD_VALUES.get(name, 0)
        batch[name] = torch.nn.utils.rnn.pad_sequence(list(column), batch_first=True, padding_value=pad)
    return batch


def batch_count(n_rows: int, batch_size: int) -> int:
    return math.ceil(n_rows / batch_size)


def epoch_order(n_rows: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled row order of one epoch: a function of (seed, epoch) only, so a resumed run sees the same."""
    generator = torch.Generator().manual_seed(seed * 1_000 + epoch)
    return torch.randperm(n_rows, generator=generator)


def pad_token_id_of(tokenizer, model) -> int:
    for value in (getattr(tokenizer, "pad_token_id", None), model.config.get("pad_token_id")):
        if isinstance(value, int):
            return value
    return 0
