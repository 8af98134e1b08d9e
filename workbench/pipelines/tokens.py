"""token-classification (ner): a label for every token, or grouped into entities with character offsets.

    ner = wb.pipeline("ner", model="dslim/bert-base-NER", aggregation_strategy="simple")
    ner("My name is Wolfgang and I live in Berlin")
    # [{'entity_group': 'PER', 'score': 0.99, 'word': 'Wolfgang', 'start': 11, 'end': 19},
    #  {'entity_group': 'LOC', 'score': 0.99, 'word': 'Berlin', 'start': 34, 'end': 40}]

aggregation_strategy (as transformers):
- "none": one entry per word piece: {"entity", "score", "index", "word", "start", "end"};
- "simple": adjacent pieces with the same entity (B-X then I-X...) merge into {"entity_group", ...};
- "first" / "average" / "max": first decide one label per *word* (the first piece's, the average of its
  pieces' scores, or the most confident piece's), then merge words as "simple" does.
`start`/`end` are character offsets into the text as given. Long texts: `stride=k` cuts the text into windows
that overlap by k tokens and merges the entities found in them (overlaps keep the longer / surer entity).
"""
from __future__ import annotations

import warnings

import torch

from .base import Pipeline, PipelineError, check_text

STRATEGIES = ("none", "simple", "first", "average", "max")


class TokenClassificationPipeline(Pipeline):
    task = "token-classification"
    token_outputs = ("logits",)

    def __init__(self, model, tokenizer, **options):
        backend = getattr(tokenizer, "backend_tokenizer", None)
        # WordPiece marks word-continuing pieces ("##ing"): then word boundaries are exact; otherwise guessed.
        self.marks_subwords = bool(getattr(getattr(backend, "model", None), "continuing_subword_prefix", None))
        self.decoder = getattr(backend, "decoder", None)
        super().__init__(model, tokenizer, **options)

    def _sanitize_parameters(self, aggregation_strategy="none", ignore_labels=None, stride=None, truncation=None,
                             grouped_entities=None, ignore_subwords=None):
        if grouped_entities is not None or ignore_subwords is not None:  # transformers' old switches
            aggregation_strategy = ("first" if ignore_subwords else "simple") if grouped_entities else "none"
        strategy = str(getattr(aggregation_strategy, "value", aggregation_strategy) or "none").lower()
        if strategy not in STRATEGIES:
            raise PipelineError(f"aggregation_strategy={aggregation_strategy!r} is unknown; use one of {STRATEGIES}.")
        if stride is not None:
            if strategy == "none":
                raise PipelineError('stride needs entities merged across windows: pass aggregation_strategy="simple" '
                                    '(or "first", "average", "max") with it.')
            room = self.max_tokens - self.tokenizer.num_special_tokens_to_add()
            if not isinstance(stride, int) or not 0 <= stride < room:
                raise PipelineError(f"stride must be an integer from 0 to {room - 1} (windows hold {room} tokens of "
                                    f"text), got {stride!r}.")
        if ignore_labels is None:
            ignore_labels = ["O"]
        return {"stride": stride, "truncation": truncation}, {}, {"strategy": strategy,
                                                                  "ignore_labels": list(ignore_labels)}

    def preprocess(self, text, stride=None, truncation=None):
        text = check_text(text)
        wanted = dict(return_offsets_mapping=True, return_special_tokens_mask=True)
        if stride is None:
            windows = [self.tokenize(text, truncation=truncation, **wanted)]
        else:  # windows of max_tokens overlapping by `stride` tokens, each with offsets into the whole text
            encoding = self.tokenizer(text, truncation=True, max_length=self.max_tokens, stride=stride,
                                      return_overflowing_tokens=True, **wanted)
            windows = [{key: values[i] for key, values in encoding.items() if key != "overflow_to_sample_mapping"}
                       for i in range(len(encoding["input_ids"]))]
        return [{**window, "text": text} for window in windows]

    def _forward(self, batch):
        return {"logits": self.model(**batch).logits}  # [B, T, C]

    def postprocess(self, chunks, strategy="none", ignore_labels=("O",)):
        entities = []
        for chunk in chunks:
            pieces = self.pieces(chunk, strategy)
            grouped = self.aggregate(pieces, strategy)
            entities.extend(e for e in grouped if e.get("entity", e.get("entity_group")) not in ignore_labels)
        return merge_overlapping(entities) if len(chunks) > 1 else entities

    # ---- word pieces -> words -> entities ---------------------------------------------------------------------
    def pieces(self, chunk: dict, strategy: str) -> list[dict]:
        """One record per real (non-special) token: its piece text, label scores, offsets, and whether it
        continues the previous word."""
        text = chunk["text"]
        scores = torch.softmax(chunk["logits"].float(), dim=-1)  # [T, C]
        unk_id = getattr(self.tokenizer, "unk_token_id", None)
        warned = False
        records = []
        for index, token_id in enumerate(chunk["input_ids"]):
            if chunk["special_tokens_mask"][index]:
                continue
            start, end = chunk["offset_mapping"][index]
            piece = self.tokenizer.convert_ids_to_tokens(int(token_id))
            original = text[start:end]
            if self.marks_subwords:
                # "##ing" is longer than the "ing" it covers: the marker says it continues a word.
                continues = len(piece) != len(original)
            else:
                # Without markers: a piece continues a word when no space separates it from the previous one.
                if strategy in ("first", "average", "max") and not warned:
                    warnings.warn("This tokenizer does not mark word pieces; words are guessed from spaces.",
                                  UserWarning, stacklevel=2)
                    warned = True
                continues = start > 0 and " " not in text[start - 1:start + 1]
            if token_id == unk_id:
                piece, continues = original, False  # show the text the model could not read
            records.append({"word": piece, "scores": scores[index], "start": start, "end": end, "index": index,
                            "continues": continues})
        return records

    def aggregate(self, pieces: list[dict], strategy: str) -> list[dict]:
        id2label = self.model.config.id2label
        if strategy in ("none", "simple"):
            entities = []
            for piece in pieces:
                best = int(piece["scores"].argmax())
                entities.append({"entity": id2label[best], "score": float(piece["scores"][best]),
                                 "index": piece["index"], "word": piece["word"], "start": piece["start"],
                                 "end": piece["end"]})
            return entities if strategy == "none" else self.group(entities)
        words, current = [], []
        for piece in pieces:
            if current and not piece["continues"]:
                words.append(self.word_entity(current, strategy))
                current = []
            current.append(piece)
        if current:
            words.append(self.word_entity(current, strategy))
        return self.group(words)

    def word_entity(self, pieces: list[dict], strategy: str) -> dict:
        """One label for a whole word from its pieces: the first's, the average, or the most confident one's."""
        if strategy == "first":
            scores = pieces[0]["scores"]
        elif strategy == "max":
            scores = max(pieces, key=lambda piece: float(piece["scores"].max()))["scores"]
        else:  # average
            scores = torch.stack([piece["scores"] for piece in pieces]).mean(dim=0)
        best = int(scores.argmax())
        return {"entity": self.model.config.id2label[best], "score": float(scores[best]),
                "word": self.join_pieces([piece["word"] for piece in pieces]),
                "start": pieces[0]["start"], "end": pieces[-1]["end"]}

    def group(self, entities: list[dict]) -> list[dict]:
        """Merge neighbours with the same entity type; a B- tag always starts a new group."""
        groups, current = [], []
        for entity in entities:
            begins, kind = split_tag(entity["entity"])
            if current and (begins or kind != split_tag(current[-1]["entity"])[1]):
                groups.append(self.group_entity(current))
                current = []
            current.append(entity)
        if current:
            groups.append(self.group_entity(current))
        return groups

    def group_entity(self, entities: list[dict]) -> dict:
        return {"entity_group": entities[0]["entity"].split("-", 1)[-1],
                "score": float(torch.tensor([e["score"] for e in entities]).mean()),
                "word": self.join_pieces([e["word"] for e in entities]),
                "start": entities[0]["start"], "end": entities[-1]["end"]}

    def join_pieces(self, pieces: list[str]) -> str:
        """Pieces back to text the tokenizer's way ("new", "##york" -> "newyork")."""
        return self.decoder.decode(pieces) if self.decoder is not None else " ".join(pieces)


def split_tag(label: str) -> tuple[bool, str]:
    """'B-PER' -> (True, 'PER'); 'I-PER' -> (False, 'PER'); a label without a prefix continues: (False, label)."""
    if label.startswith("B-"):
        return True, label[2:]
    if label.startswith("I-"):
        return False, label[2:]
    return False, label


def merge_overlapping(entities: list[dict]) -> list[dict]:
    """Entities from overlapping windows: of two that overlap keep the longer, or on a tie the surer one."""
    if not entities:
        return entities
    entities = sorted(entities, key=lambda entity: entity["start"])
    kept, previous = [], entities[0]
    for entity in entities:
        if previous["start"] <= entity["start"] < previous["end"]:
            length, previous_length = entity["end"] - entity["start"], previous["end"] - previous["start"]
            if length > previous_length or (length == previous_length and entity["score"] > previous["score"]):
                previous = entity
        else:
            kept.append(previous)
            previous = entity
    kept.append(previous)
    return kept
