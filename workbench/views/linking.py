"""Linking views: which token of one view is "the same token" in another view of the same input.

Views of one input do not number their tokens alike: the Tokens view encodes the whole text with special tokens,
Attention and the logit lens encode it truncated to the model's length, Generation is the prompt followed by
generated tokens (which no other view has), and a Tokens view may show another tokenizer. So a position is
never carried over as a number. Each position is described by an `Anchor` in the coordinates of the input text,
and found again by that description:

- a token read from the text: its character span [start, end) (the encoding's offsets, as in
  `describe_pieces`) and its rank among the tokens with that same span (the 2nd byte of a Hangul syllable has
  rank 1). It maps to the token with the same span and rank; else to the token whose span overlaps it most
  (the first of equals); else to nothing.
- a special token added by the tokenizer ([CLS], [SEP], <s>): its vocabulary entry and its rank among the
  special tokens with that entry, so the first [SEP] maps to the first [SEP] even when truncation moved it.
- a generated token, or a token whose span does not spell the input text (the view was made for another
  text): no anchor; it maps to nothing.

"Nothing" is position -1, the value of a view widget's `selected` trait when no token is selected. Encodings of
the same text by the same tokenizer therefore map every position to itself (up to truncation).

    source = view_anchors(tokens_view, [text]); target = view_anchors(attention_view, [text])
    map_position(5, source, target)      # -> the position of the same token in the attention view, or -1
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence

from .tokens import Piece

NO_POSITION = -1


@dataclass(frozen=True)
class Anchor:
    """Where a token of a view sits in the input: see the module docstring."""
    sequence: int | None  # 0 / 1: which text of a pair the span is in; None for special tokens
    start: int  # character span [start, end) in that text (0, 0 for special tokens)
    end: int
    special: str | None  # the vocabulary entry of a special token added by the tokenizer, else None
    rank: int  # how many earlier tokens of the view have the same span (text) or the same entry (special)


def piece_anchors(pieces: Sequence[Piece], texts: Sequence[str] | None = None) -> list[Anchor | None]:
    """One anchor per piece. With `texts` (the text, or the two of a pair), a non-special piece whose span does
    not spell its own text there gets None: its offsets belong to some other text."""
    anchors: list[Anchor | None] = []
    seen: dict[tuple, int] = {}
    for piece in pieces:
        if piece.special:
            key: tuple = ("special", piece.piece)
            anchor = Anchor(None, 0, 0, piece.piece, seen.get(key, 0))
        else:
            key = ("text", piece.sequence, piece.start, piece.end)
            anchor = Anchor(piece.sequence, piece.start, piece.end, None, seen.get(key, 0))
            if texts is not None and not _spells(piece, texts):
                anchor = None
        seen[key] = seen.get(key, 0) + 1
        anchors.append(anchor)
    return anchors


def _spells(piece: Piece, texts: Sequence[str]) -> bool:
    sequence = piece.sequence or 0
    return sequence < len(texts) and texts[sequence][piece.start:piece.end] == piece.covers


def view_anchors(view, texts: Sequence[str] | None = None) -> list[Anchor | None]:
    """The anchors of every position of a view, in the order its widget numbers them (`selected`):
    Tokens (the first tokenizer's pieces), Attention and Logit lens (the model input), Generation (the prompt's
    pieces, then one None per generated token)."""
    kind = getattr(view, "kind", "")
    if kind == "tokens":
        return piece_anchors(view.tokenizations[0].pieces, texts) if view.tokenizations else []
    if kind in ("attention", "logit_lens"):
        return piece_anchors(view.pieces, texts)
    if kind == "generation":
        return piece_anchors(view.prompt_pieces, texts) + [None] * len(view.steps)
    raise ValueError(f"Cannot link a {type(view).__name__}; views with tokens are tokens, attention, "
                     "logit_lens and generation.")


def find_position(anchor: Anchor | None, target: Sequence[Anchor | None]) -> int:
    """The position in `target` of the token that `anchor` describes, or -1 when there is none."""
    if anchor is None:
        return NO_POSITION
    if anchor.special is not None:
        return next((i for i, other in enumerate(target) if other is not None and other.special == anchor.special
                     and other.rank == anchor.rank), NO_POSITION)
    best, best_overlap = NO_POSITION, 0
    for i, other in enumerate(target):
        if other is None or other.special is not None or other.sequence != anchor.sequence:
            continue
        if (other.start, other.end, other.rank) == (anchor.start, anchor.end, anchor.rank):
            return i
        overlap = _overlap(anchor, other)
        if overlap > best_overlap:
            best, best_overlap = i, overlap
    return best


def _overlap(a: Anchor, b: Anchor) -> float:
    """Characters two spans share; an empty span inside (or equal to) the other counts as half a character."""
    shared = min(a.end, b.end) - max(a.start, b.start)
    if shared > 0:
        return shared
    if a.start == a.end and (b.start <= a.start < b.end or (b.start, b.end) == (a.start, a.end)):
        return 0.5
    if b.start == b.end and a.start <= b.start < a.end:
        return 0.5
    return 0


def map_position(position: int, source: Sequence[Anchor | None], target: Sequence[Anchor | None]) -> int:
    """The position in `target` of the token at `position` in `source` (anchor lists of two views), or -1."""
    if not 0 <= position < len(source):
        return NO_POSITION
    return find_position(source[position], target)


def map_positions(source: Sequence[Anchor | None], target: Sequence[Anchor | None]) -> list[int]:
    """`map_position` for every position of `source`."""
    return [find_position(anchor, target) for anchor in source]
