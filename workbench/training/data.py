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
TOKENS = "tokens"  # token-classification: a list of words per row ...
TAG_COLUMNS = ("tags", "ner_tags", "labels", "label")  # ... and one label per word in the first of these
PROMPT, RESPONSE, MESSAGES = "prompt", "response", "messages"  # text-generation: chat pairs or conversations
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
        data = _dataset_from_frame(data.reset_index(drop=True))
    if not isinstance(data, datasets.Dataset):
        raise TrainingError(
            f"Cannot train on a {type(data).__name__}; pass a pandas DataFrame, a datasets.Dataset, or a CSV/JSON path "
            f"with '{TEXT}' and '{LABEL}' columns.")
    if len(data) == 0:
        raise TrainingError(f"The {role} data has no rows; pass at least one example.")
    return data


def _dataset_from_frame(frame):
    """`datasets.Dataset.from_pandas`, with Arrow's refusal of a column that mixes value types (say 1, "a", 2.5)
    said in one sentence that names the column."""
    import datasets
    import pyarrow

    try:
        return datasets.Dataset.from_pandas(frame, preserve_index=False)
    except (pyarrow.ArrowException, TypeError, ValueError) as error:
        mixed = next((c for c in frame.columns if len(type_names(frame[c].tolist())) > 1), None)
        if mixed is None:
            raise
        raise TrainingError(f"The '{mixed}' column mixes value types ({', '.join(type_names(frame[mixed].tolist()))}); "
                            "give every row the same type (text as strings; labels all strings or all integer ids)."
                            ) from error


def is_missing(value) -> bool:
    """An empty cell: None, NaN (how pandas reads an empty CSV field) or a blank string."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip())


def missing_rows(values) -> list[int]:
    """Positions of the empty cells in a column (see `is_missing`)."""
    return [i for i, value in enumerate(values) if is_missing(value)]


def type_names(values) -> list[str]:
    """The sorted names of the value types in a column, empty cells left out (more than one: a mixed column).
    Whole-number floats count as int: pandas reads a column of ids with an empty cell as floats."""
    def name(value) -> str:
        if isinstance(value, float) and value.is_integer():
            return "int"
        return "str" if isinstance(value, str) else type(value).__name__
    return sorted({name(value) for value in values if not is_missing(value)})


def row_list(positions: list, limit: int = 8, *, last: str = " and ", more: str = "{n} more") -> str:
    """Row names for a message: '3, 7 and 12', the first `limit` and a count of the rest ('..., 9 and 4 more').
    `last` (what goes before the last name) and `more` say it in another language (the app's Korean: ", ")."""
    shown = [str(p) for p in positions[:limit]]
    if len(positions) > limit:
        shown.append(more.format(n=len(positions) - limit))
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + last + shown[-1]


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


def check_columns(rows, task: str, role: str):
    """The rows with the columns `task` needs; a token task's tag column is renamed to `label`."""
    if task == "token-classification":
        tags = next((c for c in TAG_COLUMNS if c in rows.column_names), None)
        if TOKENS not in rows.column_names or tags is None:
            raise TrainingError(
                f"The {role} data for {task} needs a '{TOKENS}' column (a list of words per row) and a tag column "
                f"(one of {list(TAG_COLUMNS)}) but has {rows.column_names}; rename your columns.")
        rows = rows.select_columns([TOKENS, tags])
        if tags != LABEL:
            rows = rows.rename_column(tags, LABEL)
        lengths = [(len(w), len(t)) for w, t in zip(rows[TOKENS], rows[LABEL])]
        bad = next((i for i, (n_words, n_tags) in enumerate(lengths) if n_words != n_tags), None)
        if bad is not None:
            raise TrainingError(f"Row {bad} of the {role} data has {lengths[bad][0]} words but {lengths[bad][1]} "
                                "tags; give exactly one tag per word.")
        return rows
    if task == "text-generation":
        names = rows.column_names
        for needed in ([MESSAGES], [PROMPT, RESPONSE], [TEXT]):
            if all(c in names for c in needed):
                return rows.select_columns(needed)
        raise TrainingError(
            f"The {role} data for text-generation needs a '{TEXT}' column (a corpus), '{PROMPT}' and '{RESPONSE}' "
            f"columns (chat pairs) or a '{MESSAGES}' column (conversations) but has {names}; rename your columns.")
    needed = [TEXT, LABEL]
    missing = [c for c in needed if c not in rows.column_names]
    if missing:
        raise TrainingError(
            f"The {role} data for {task} needs columns {needed} but has {rows.column_names}; "
            f"rename your columns (missing: {missing}).")
    for column in (TEXT, TEXT_PAIR, LABEL):
        empty = missing_rows(rows[column]) if column in rows.column_names else []
        if empty:  # str(None) would train on the word "None"
            raise TrainingError(f"Rows {row_list(empty)} (counting from 0) of the {role} data have no '{column}'; "
                                "fill them in or drop those rows.")
    if role == "train" and len(set(rows[LABEL])) < 2:
        raise TrainingError(f"The train data has only one label ({rows[LABEL][0]!r}); a classifier needs at least 2 "
                            "labels to learn from: add examples of another label.")
    return rows


# ---- labels ----------------------------------------------------------------------------------------

def _class_names(rows) -> list[str] | None:
    """Names of a ClassLabel label column (or of a list-of-ClassLabel column for word tags)."""
    feature = rows.features.get(LABEL)
    feature = getattr(feature, "feature", feature)  # List(ClassLabel) -> ClassLabel
    return list(feature.names) if getattr(feature, "names", None) else None


def _flat_labels(rows) -> list:
    values = rows[LABEL]
    return [v for row in values for v in row] if values and isinstance(values[0], list) else list(values)


def label_names(rows) -> list[str] | None:
    """Names for the label ids: sorted strings, a ClassLabel's names, or None for plain int labels."""
    names = _class_names(rows)
    if names:
        return names
    values = list(dict.fromkeys(_flat_labels(rows)))
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
        raise TrainingError(f"The '{LABEL}' column has empty values; fill or drop those rows.")
    if all(isinstance(v, str) for v in values):
        return sorted(values)
    if all(isinstance(v, int) or (isinstance(v, float) and float(v).is_integer()) for v in values):
        return None
    raise TrainingError(f"The '{LABEL}' column mixes types ({sorted({type(v).__name__ for v in values})}); "
                        "use all strings or all integer ids.")


def label_count_needed(rows) -> int:
    """For int labels without names: how many classes the head needs (largest id + 1)."""
    return int(max(_flat_labels(rows))) + 1


def label_ids(rows, label2id: dict[str, int], num_labels: int, role: str) -> list:
    """The label column as ids in [0, num_labels) (a list per row for word tags); unseen names or ids out of
    range are an error."""
    names = _class_names(rows)
    flat = _flat_labels(rows)
    if names:  # a ClassLabel column holds ids already; map through its names
        flat = [names[v] for v in flat]
    if flat and isinstance(flat[0], str):
        unseen = sorted({v for v in flat if v not in label2id})
        if unseen:
            raise TrainingError(
                f"The {role} data has labels {unseen[:5]} that the training data / model does not know "
                f"(known: {sorted(label2id)[:10]}); drop those rows or add examples of them to the training data.")
        ids = [label2id[v] for v in flat]
    else:
        ids = [int(v) for v in flat]
        bad = sorted({i for i in ids if not 0 <= i < num_labels})
        if bad:
            raise TrainingError(f"The {role} data has label ids {bad[:5]} outside 0..{num_labels - 1}; "
                                "use ids the model's head has, or string label names.")
    values = rows[LABEL]
    if values and isinstance(values[0], list):  # back to one list per row
        out, start = [], 0
        for row in values:
            out.append(ids[start:start + len(row)])
            start += len(row)
        return out
    return ids


# ---- tokenizing ------------------------------------------------------------------------------------

def encode(rows, tokenizer, ids: list, *, max_length: int):
    """Tokenize with datasets.map(batched=True); no padding yet (that is done per batch).

    Sentence tasks read `text` (and `text_pair`); word tasks read `tokens` and give each word's label to its
    first piece, IGNORE_INDEX to its other pieces and to special tokens (so the loss counts words, not pieces).
    """
    words = TOKENS in rows.column_names
    has_pair = TEXT_PAIR in rows.column_names
    inputs = [TOKENS] if words else [TEXT] + ([TEXT_PAIR] if has_pair else [])
    rows = rows.select_columns(inputs).add_column("word_labels" if words else "labels", ids)

    def tokenize(batch: dict[str, list]) -> dict[str, list]:
        if words:
            encoded = tokenizer([[str(w) for w in row] for row in batch[TOKENS]], is_split_into_words=True,
                                truncation=True, max_length=max_length)
        elif has_pair:
            encoded = tokenizer([str(t) for t in batch[TEXT]], [str(t) for t in batch[TEXT_PAIR]], truncation=True,
                                max_length=max_length)
        else:
            encoded = tokenizer([str(t) for t in batch[TEXT]], truncation=True, max_length=max_length)
        out = {name: list(values) for name, values in dict(encoded).items() if name in MODEL_INPUTS}
        if words:
            out["labels"] = [align_word_labels(encoded.word_ids(i), tags) for i, tags in enumerate(batch["word_labels"])]
        return out

    encoded = _map(rows, tokenize, batch_size=256, remove_columns=inputs + (["word_labels"] if words else []))
    return encoded.with_format("torch")


def _map(rows, function, **kwargs):
    """rows.map(function, batched=True) without a progress bar for small data (a second's work)."""
    import datasets

    quiet = len(rows) < 5_000 and not datasets.are_progress_bars_disabled()
    if quiet:
        datasets.disable_progress_bars()
    try:
        # new_fingerprint: datasets would otherwise hash the tokenizer object to name a cache entry never reused
        return rows.map(function, batched=True, new_fingerprint=uuid.uuid4().hex, desc="Tokenizing", **kwargs)
    finally:
        if quiet:
            datasets.enable_progress_bars()


def align_word_labels(word_ids: list[int | None], word_labels: list[int]) -> list[int]:
    """Per-piece labels: the word's label on its first piece; IGNORE_INDEX on later pieces and special tokens."""
    labels, previous = [], None
    for word in word_ids:
        labels.append(word_labels[word] if word is not None and word != previous else IGNORE_INDEX)
        previous = word
    return labels


# ---- causal language modelling -----------------------------------------------------------------------

def encode_causal(rows, tokenizer, *, max_length: int):
    """Rows for next-token training: input_ids, attention_mask, labels (= input_ids, IGNORE_INDEX where no loss).

    - `text` (a corpus): documents are tokenized, joined with the EOS token and cut into blocks of max_length
      tokens, so nothing is padded or lost to truncation;
    - `prompt` + `response` or `messages` (chat): each conversation goes through the tokenizer's chat template;
      only the reply (the last message) is learned, the prompt tokens get IGNORE_INDEX.
    """
    import datasets

    if TEXT in rows.column_names:
        def blocks(batch: dict[str, list]) -> dict[str, list]:
            eos = [tokenizer.eos_token_id] if getattr(tokenizer, "eos_token_id", None) is not None else []
            ids = [i for text in batch[TEXT] for i in tokenizer(str(text), add_special_tokens=False)["input_ids"] + eos]
            chunks = [ids[start:start + max_length] for start in range(0, len(ids), max_length)]
            chunks = [c for c in chunks if len(c) > 1]  # one token has nothing to predict
            return {"input_ids": chunks, "attention_mask": [[1] * len(c) for c in chunks], "labels": chunks}

        mapped = _map(rows, blocks, batch_size=1_000, remove_columns=rows.column_names)
    else:
        def conversations(batch: dict[str, list]) -> dict[str, list]:
            out = {"input_ids": [], "attention_mask": [], "labels": []}
            for i in range(len(batch[rows.column_names[0]])):
                if MESSAGES in batch:
                    messages = list(batch[MESSAGES][i])
                else:
                    messages = [{"role": "user", "content": str(batch[PROMPT][i])},
                                {"role": "assistant", "content": str(batch[RESPONSE][i])}]
                prompt, full = _chat_texts(tokenizer, messages)
                prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
                ids = tokenizer(full, add_special_tokens=False)["input_ids"][:max_length]
                learned = len(prompt_ids) if ids[:len(prompt_ids)] == prompt_ids else 0
                out["input_ids"].append(ids)
                out["attention_mask"].append([1] * len(ids))
                out["labels"].append([IGNORE_INDEX] * min(learned, len(ids)) + ids[learned:])
            return out

        mapped = _map(rows, conversations, batch_size=256, remove_columns=rows.column_names)
    if len(mapped) == 0:
        raise TrainingError("The text is too short to make a single training example; give more text.")
    return mapped.with_format("torch")


def _chat_texts(tokenizer, messages: list[dict]) -> tuple[str, str]:
    """(everything before the last reply, the whole conversation) as text, via the chat template when there is
    one (plain 'role: content' lines otherwise)."""
    if getattr(tokenizer, "chat_template", None):
        prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template(messages, tokenize=False)
        return prompt, full
    lines = [f"{m['role']}: {m['content']}" for m in messages]
    eos = getattr(tokenizer, "eos_token", None) or ""
    prompt = "\n".join(lines[:-1]) + "\n" + f"{messages[-1]['role']}: "
    return prompt, prompt + str(messages[-1]["content"]) + eos


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
