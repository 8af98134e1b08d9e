"""The tokenization lab: what a tokenizer does to a text, piece by piece.

Pure functions first: `scheme_of(backend)` reads how a tokenizer marks words (WordPiece `##`, byte-level `Ġ`,
SentencePiece `▁`, byte fallback `<0x..>`), and `describe_pieces(encoding, texts, scheme)` turns a
`tokenizers.Encoding` into `Piece`s with a readable label. Characters are mapped to tokens with the
encoding's offsets, never by re-tokenizing strings: several pieces with the same character span together
form that character (the bytes of a Hangul syllable or an emoji, the jamo of a WordPiece syllable).

    v = wb.show_tokens("Tokenizers split 한국어 🙂", tokenizer=["sentence-transformers/all-MiniLM-L6-v2", gguf])
    v.to_dataframe()      # piece, id, start, end, ... one row per token (and tokenizer)
    v.save("tokens.html"); v.save("tokens.png")
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..errors import TokenizerError
from .base import View
from .text import check_language, say


# ---- how a tokenizer marks words ----------------------------------------------------------------------

@dataclass(frozen=True)
class Scheme:
    kind: str  # "wordpiece", "byte-level", "sentencepiece", "bpe", "unigram", "other"
    continuing_prefix: str | None = None  # WordPiece "##": the piece continues the previous one
    end_of_word_suffix: str | None = None  # old BPE "</w>": the piece ends a word
    space_marker: str | None = None  # SentencePiece "▁": a space before the piece
    byte_level: bool = False  # every piece is bytes spelled with GPT-2's printable byte alphabet ("Ġ" = space)
    byte_fallback: bool = False  # unknown characters become byte pieces "<0xEC>"
    unk_token: str | None = None

    @property
    def note(self) -> str:
        return self.note_in("en")

    def note_in(self, lang: str) -> str:
        """One sentence for the legend, in `lang`: what the raw markers mean and how they are shown."""
        if self.kind == "wordpiece":
            return say(lang, "note_wordpiece", prefix=self.continuing_prefix)
        if self.byte_level:
            return say(lang, "note_byte_level")
        if self.space_marker:
            fallback = say(lang, "note_sentencepiece_fallback") if self.byte_fallback else ""
            return say(lang, "note_sentencepiece", marker=self.space_marker, fallback=fallback)
        if self.end_of_word_suffix:
            return say(lang, "note_bpe", suffix=self.end_of_word_suffix)
        return say(lang, "note_other")


def _component(backend, name: str) -> dict:
    part = getattr(backend, name, None)
    if part is None:
        return {}
    return json.loads(part.__getstate__())


def _types(component: dict) -> list[str]:
    """Every "type" in a (possibly nested Sequence) component description."""
    found = []
    if isinstance(component, dict):
        if "type" in component:
            found.append(component["type"])
        for value in component.values():
            found += _types(value)
    elif isinstance(component, list):
        for value in component:
            found += _types(value)
    return found


def scheme_of(backend) -> Scheme:
    """Read the marking scheme from a `tokenizers.Tokenizer`'s model, normalizer, pre-tokenizer and decoder."""
    model = backend.model
    model_kind = type(model).__name__  # "WordPiece", "BPE", "Unigram", "WordLevel"
    parts = {name: _component(backend, name) for name in ("normalizer", "pre_tokenizer", "decoder")}
    types = set(_types(parts["pre_tokenizer"]) + _types(parts["decoder"]))
    described = json.dumps(parts, ensure_ascii=False)
    unk = getattr(model, "unk_token", None)
    if model_kind == "WordPiece":
        return Scheme("wordpiece", continuing_prefix=model.continuing_subword_prefix or "##", unk_token=unk)
    byte_level = "ByteLevel" in types
    space_marker = "\u2581" if ("Metaspace" in types or "\u2581" in described) else None
    byte_fallback = bool(getattr(model, "byte_fallback", False))
    suffix = getattr(model, "end_of_word_suffix", None) or None
    if byte_level:
        kind = "byte-level"
    elif space_marker:
        kind = "sentencepiece"
    else:
        kind = {"BPE": "bpe", "Unigram": "unigram"}.get(model_kind, "other")
    return Scheme(kind, end_of_word_suffix=suffix, space_marker=space_marker, byte_level=byte_level,
                  byte_fallback=byte_fallback, unk_token=unk)


def _byte_alphabet() -> dict[str, int]:
    """GPT-2's byte-level alphabet, inverted: printable character -> the byte it stands for.

    Bytes that are visible Latin-1 characters stand for themselves; the other 68 (controls, space, ...)
    are moved to the characters 256, 257, ... in byte order, which is why a space reads 'Ġ' (256 + 32).
    """
    visible = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    alphabet = {chr(b): b for b in visible}
    moved = 0
    for b in range(256):
        if b not in visible:
            alphabet[chr(256 + moved)] = b
            moved += 1
    return alphabet


BYTE_ALPHABET = _byte_alphabet()
BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")
VISIBLE_WHITESPACE = {"\n": "↵", "\t": "⇥", "\r": "<CR>", " ": "␣"}
# The usual abbreviations of the C0 controls (0x00-0x1F). Their control pictures (␀ ␛) would be nicer, but common
# fonts (DejaVu) lack them and the browser draws an empty box; these letters draw in every font.
C0_NAMES = ("NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC "
            "FS GS RS US").split()
# Characters that draw nothing (or steer the text around them) besides the whitespace above: format characters
# (zero-width space and joiners, bidi marks, embeddings, overrides and isolates, BOM, soft hyphen), line and
# paragraph separators, spaces other than ' ', and these default-ignorable ones of other categories. (Unassigned
# code points are left alone: Python's Unicode tables may be older than the browser's newest emoji.)
INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}
DEFAULT_IGNORABLE = {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0, *range(0x180B, 0x1810),
                     *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)}  # grapheme joiner, Hangul fillers, selectors


def is_invisible(character: str) -> bool:
    """True for a character that would leave a label blank or reorder the text around it (see `visible`)."""
    category = unicodedata.category(character)
    return (category in INVISIBLE_CATEGORIES or (category == "Zs" and character != " ")
            or ord(character) in DEFAULT_IGNORABLE)


def escape_invisible(character: str) -> str:
    """A visible stand-in: a C0 control or DEL by its abbreviation (<NUL>, <ESC>, <DEL>), any other as <U+XXXX>."""
    code = ord(character)
    if code < 0x20:
        return f"<{C0_NAMES[code]}>"
    if code == 0x7F:
        return "<DEL>"
    return f"<U+{code:04X}>"


def describe_character(character: str) -> str:
    """'U+202E RIGHT-TO-LEFT OVERRIDE'; a C0 control or DEL by the name of its control picture ('U+001B ESCAPE')."""
    code = ord(character)
    name = unicodedata.name(character, "")
    if not name and (code < 0x20 or code == 0x7F):  # the Control Pictures block is in C0 order, then DEL
        name = unicodedata.name(chr(0x2400 + code if code < 0x20 else 0x2421)).removeprefix("SYMBOL FOR ")
    return f"U+{code:04X} {name or ('control' if unicodedata.category(character) == 'Cc' else 'no name')}"


def visible(text: str, space: str = "␣") -> str:
    """Text for a label: new line ↵, tab ⇥, carriage return <CR>, a space as `space`, and every invisible character
    (`is_invisible`) as its visible stand-in, so that no label is blank and none can reorder the page around it."""
    return "".join(space if c == " " else VISIBLE_WHITESPACE.get(c) or (escape_invisible(c) if is_invisible(c) else c)
                   for c in text)


def invisible_characters(*texts: str) -> list[str]:
    """`describe_character` of each distinct invisible character in `texts`, in order of first appearance."""
    seen = dict.fromkeys(c for text in texts for c in text if c not in VISIBLE_WHITESPACE and is_invisible(c))
    return [describe_character(c) for c in seen]


def show_bytes(data: bytes) -> tuple[str, bool]:
    """Bytes as text: whole UTF-8 characters as themselves, bytes of an unfinished character as <0xNN>.

    Returns (label, partial) where partial says that some byte belongs to a character this piece does
    not hold entirely (its other bytes are in the neighbouring pieces).
    """
    out, partial, i = [], False, 0
    while i < len(data):
        lead = data[i]
        size = 1 if lead < 0x80 else 2 if 0xC2 <= lead < 0xE0 else 3 if 0xE0 <= lead < 0xF0 else 4 if 0xF0 <= lead < 0xF5 else 0
        chunk = data[i:i + size]
        if size and len(chunk) == size:
            try:
                out.append(chunk.decode("utf-8"))
                i += size
                continue
            except UnicodeDecodeError:
                pass
        out.append(f"<0x{lead:02X}>")
        partial = True
        i += 1
    return "".join(out), partial


# ---- pieces ---------------------------------------------------------------------------------------------

@dataclass
class Piece:
    index: int  # position in the encoding
    id: int
    piece: str  # the raw vocabulary entry ("##ing", "Ġworld", "▁the", "<0xEC>")
    label: str  # what is shown: markers removed, bytes decoded, whitespace made visible
    start: int  # character span [start, end) in its text (offsets of the encoding)
    end: int
    sequence: int | None  # 0 / 1 for the texts of a pair, None for special tokens
    word: int | None
    special: bool = False  # added by the tokenizer ([CLS], <s>, ...) rather than read from the text
    unknown: bool = False  # the unknown token: `covers` says which text it stands for
    continues: bool = False  # same word as the piece before (shown joined)
    space_before: bool = False  # the piece itself carries a space marker (Ġ, ▁)
    partial: bool = False  # holds bytes of a character that other pieces finish
    covers: str = ""  # the text of its span
    group: int | None = None  # index of the first piece of a run whose pieces together form characters ...
    forms: str = ""  # ... these (made visible); "" outside a group
    byte_values: list[int] | None = None  # the bytes of a byte-level / byte-fallback piece
    # for hover titles, which cannot be styled: `piece` and `covers` with invisible characters made visible (a
    # right-to-left override must not reorder the title), and what those characters are ('U+202E RIGHT-TO-LEFT ...')
    shown_piece: str = ""
    shown_covers: str = ""
    code_points: list[str] = field(default_factory=list)


def _label(raw: str, scheme: Scheme) -> tuple[str, bool, bool, list[int] | None]:
    """(label, space_before, partial, bytes) for a non-special piece."""
    if scheme.kind == "wordpiece":
        prefix = scheme.continuing_prefix or ""
        return visible(raw[len(prefix):] if prefix and raw.startswith(prefix) and raw != prefix else raw), False, False, None
    if scheme.byte_level and all(c in BYTE_ALPHABET for c in raw):
        data = bytes(BYTE_ALPHABET[c] for c in raw)
        space = data.startswith(b" ") and len(data) > 1
        label, partial = show_bytes(data[1:] if space else data)
        return visible(label), space, partial, list(data)
    match = BYTE_PIECE.match(raw)
    if match and (scheme.byte_fallback or scheme.space_marker):
        value = int(match.group(1), 16)
        label, partial = show_bytes(bytes([value]))
        return visible(label), False, partial, [value]
    label, space = raw, False
    if scheme.space_marker and label.startswith(scheme.space_marker) and len(label) > 1:
        label, space = label[len(scheme.space_marker):], True
    if scheme.space_marker:
        label = label.replace(scheme.space_marker, " ")
    if scheme.end_of_word_suffix and label.endswith(scheme.end_of_word_suffix) and label != scheme.end_of_word_suffix:
        label = label[: -len(scheme.end_of_word_suffix)]
    return visible(label), space, False, None


def token_label(backend, scheme: Scheme, token_id: int) -> str:
    """The readable label of one vocabulary entry (for predictions, which have no text span)."""
    raw = backend.id_to_token(int(token_id))
    if raw is None:
        return f"<id {int(token_id)}>"
    if raw == scheme.unk_token or int(token_id) in _special_ids(backend):
        return raw
    label, space, _, _ = _label(raw, scheme)
    return ("␣" if space else "") + label if label or space else raw


def _special_ids(backend) -> set[int]:
    return {index for index, token in backend.get_added_tokens_decoder().items() if token.special}


def describe_pieces(encoding, texts: Sequence[str], scheme: Scheme) -> list[Piece]:
    """One `Piece` per token of a `tokenizers.Encoding` of `texts` (one text, or the two of a pair).

    Padding is left out. Offsets are relative to the text of each token's sequence.
    """
    pieces: list[Piece] = []
    mask = encoding.attention_mask or [1] * len(encoding.ids)
    for i, (token_id, raw, (start, end), special, sequence, word, keep) in enumerate(zip(
            encoding.ids, encoding.tokens, encoding.offsets, encoding.special_tokens_mask, encoding.sequence_ids,
            encoding.word_ids, mask)):
        if not keep:
            continue
        text = texts[sequence] if sequence is not None and sequence < len(texts) else ""
        piece = Piece(index=i, id=int(token_id), piece=raw, label=raw, start=int(start), end=int(end),
                      sequence=sequence, word=word, special=bool(special), covers=text[start:end])
        if not piece.special:
            piece.unknown = scheme.unk_token is not None and raw == scheme.unk_token
            if not piece.unknown:
                piece.label, piece.space_before, piece.partial, piece.byte_values = _label(raw, scheme)
            previous = pieces[-1] if pieces else None
            piece.continues = bool(previous is not None and not previous.special and word is not None
                                   and previous.word == word and previous.sequence == sequence
                                   and not piece.space_before)
        piece.shown_piece, piece.shown_covers = visible(raw, space=" "), visible(piece.covers, space=" ")
        piece.code_points = invisible_characters(piece.covers, raw)  # (a byte-level `raw` spells bytes visibly)
        pieces.append(piece)
    _group_shared_spans(pieces)
    return pieces


def _character_span(piece: Piece) -> tuple[int | None, int, int]:
    """(sequence, start, end) of the characters a piece holds: a space it carries (byte-level 'Ġí') left out."""
    start = piece.start
    if piece.space_before and piece.covers.startswith(" ") and piece.end - start > 1:
        start += 1
    return piece.sequence, start, piece.end


def _group_shared_spans(pieces: list[Piece]) -> None:
    """Consecutive pieces over one and the same characters together form those characters (`forms`), e.g. the
    bytes 'Ġí', 'Ĩ', 'ł' of ' 토' (the first also carries the space) or the jamo of a WordPiece syllable."""
    i = 0
    while i < len(pieces):
        j = i + 1
        span = _character_span(pieces[i])
        while (j < len(pieces) and not pieces[i].special and not pieces[j].special
               and _character_span(pieces[j]) == span and span[2] > span[1]):
            j += 1
        if j - i > 1:
            forms = visible(pieces[j - 1].covers, space=" ")  # the last piece carries no space
            for piece in pieces[i:j]:
                piece.group, piece.forms = pieces[i].index, forms
        i = j


def count_words(text: str) -> int:
    return len(text.split())


# ---- tokenizers: names, objects, encodings ------------------------------------------------------------

def load_any_tokenizer(tokenizer):
    """A name (folder, .gguf, Hub id) is loaded; a workbench Tokenizer or a `tokenizers.Tokenizer` is used as is."""
    if isinstance(tokenizer, (str, Path)):
        from .. import load_tokenizer

        return load_tokenizer(tokenizer)
    return tokenizer


def backend_of(tokenizer):
    """The `tokenizers.Tokenizer` inside a workbench Tokenizer (or the object itself)."""
    from tokenizers import Tokenizer as Backend

    if isinstance(tokenizer, Backend):
        return tokenizer
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise TokenizerError(f"Cannot show the tokens of a {type(tokenizer).__name__}; pass a tokenizer name, a "
                             "workbench Tokenizer or a tokenizers.Tokenizer.")
    return backend


def name_of(tokenizer, given=None) -> str:
    if isinstance(given, (str, Path)):
        return str(given)
    return str(getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__)


def encode(tokenizer, text: str, text_pair: str | None = None, add_special_tokens: bool = True):
    """The `tokenizers.Encoding` of one text (or pair), through the workbench Tokenizer when there is one."""
    from tokenizers import Tokenizer as Backend

    if isinstance(tokenizer, Backend):
        return tokenizer.encode(text, text_pair, add_special_tokens=add_special_tokens)
    batch = tokenizer(text, text_pair, add_special_tokens=add_special_tokens)
    if not getattr(batch, "encodings", None):
        raise TokenizerError("This tokenizer gives no offsets; use a fast (tokenizers-based) tokenizer.")
    return batch.encodings[0]


@dataclass
class Tokenization:
    """One tokenizer's reading of the text."""
    name: str
    scheme: Scheme
    pieces: list[Piece]
    characters: int
    words: int

    @property
    def counts(self) -> dict[str, Any]:
        text_tokens = sum(not p.special for p in self.pieces)
        return {"tokens": len(self.pieces), "text_tokens": text_tokens,
                "special_tokens": len(self.pieces) - text_tokens, "characters": self.characters,
                "words": self.words, "tokens_per_word": round(text_tokens / self.words, 3) if self.words else None}

    def to_json(self, lang: str = "en") -> dict[str, Any]:
        return {"name": self.name, "kind": self.scheme.kind, "note": self.scheme.note_in(lang), "counts": self.counts,
                "pieces": [asdict(p) for p in self.pieces]}


def tokenize_for_view(tokenizer, text: str, text_pair: str | None = None, add_special_tokens: bool = True,
                      name: str | None = None) -> Tokenization:
    backend = backend_of(tokenizer)
    encoding = encode(tokenizer, text, text_pair, add_special_tokens)
    texts = [text] if text_pair is None else [text, text_pair]
    pieces = describe_pieces(encoding, texts, scheme_of(backend))
    return Tokenization(name or name_of(tokenizer), scheme_of(backend), pieces,
                        characters=sum(len(t) for t in texts), words=sum(count_words(t) for t in texts))


# ---- the view -------------------------------------------------------------------------------------------

class TokensView(View):
    kind = "tokens"

    def __init__(self, text: str, tokenizers: list, names: list[str], text_pair: str | None = None,
                 add_special_tokens: bool = True, lang: str | None = None):
        if not isinstance(text, str):
            raise TypeError(f"show_tokens needs the text as a str, got {type(text).__name__}.")
        self.text, self.text_pair, self.add_special_tokens = text, text_pair, add_special_tokens
        self.lang = check_language(lang)
        self.tokenizers, self.names = tokenizers, names
        self.tokenizations = [tokenize_for_view(t, text, text_pair, add_special_tokens, name)
                              for t, name in zip(tokenizers, names)]

    def default_title(self) -> str:
        return say(self.lang, "title_tokens", names=", ".join(self.names))

    def with_text(self, text: str, text_pair: str | None = None) -> TokensView:
        """The same tokenizers on another text (what the live text box calls)."""
        return TokensView(text, self.tokenizers, self.names, text_pair, self.add_special_tokens, self.lang)

    def traits(self) -> dict[str, Any]:
        from .linking import map_positions, piece_anchors

        tokenizations = [t.to_json(self.lang) for t in self.tokenizations]
        first = piece_anchors(self.tokenizations[0].pieces) if self.tokenizations else []
        for shown, tokenization in zip(tokenizations[1:], self.tokenizations[1:]):
            # for each piece, the position in the first row over the same characters (what a click selects)
            shown["first_row"] = map_positions(piece_anchors(tokenization.pieces), first)
        return {"text": self.text, "state": {
            "text": self.text, "text_pair": self.text_pair, "tokenizations": tokenizations}}

    def to_dataframe(self):
        """One row per token: tokenizer, piece, id, start, end, label, special, word, sequence."""
        import pandas as pd

        rows = [{"tokenizer": t.name, "piece": p.piece, "id": p.id, "start": p.start, "end": p.end,
                 "label": p.label, "special": p.special, "word": p.word, "sequence": p.sequence}
                for t in self.tokenizations for p in t.pieces]
        frame = pd.DataFrame(rows, columns=["tokenizer", "piece", "id", "start", "end", "label", "special", "word",
                                            "sequence"])
        return frame.drop(columns="tokenizer") if len(self.tokenizations) == 1 else frame

    def figure(self, width: float = 10.0):
        from .drawing import token_rows_figure

        rows = []
        for t in self.tokenizations:
            c = t.counts
            heading = say(self.lang, "figure_tokens", name=t.name, text_tokens=c["text_tokens"],
                          special_tokens=c["special_tokens"], characters=c["characters"],
                          per_word=f"{c['tokens_per_word'] or 0:.2f}")
            cells = [{"label": p.label or "␣", "special": p.special, "partial": p.partial or p.unknown,
                      "gap": not p.continues,
                      # the first piece of a run that together forms characters names them
                      "caption": f"{p.id} → {p.forms or p.shown_covers}" if p.group == p.index or p.unknown else str(p.id)}
                     for p in t.pieces]
            rows.append((heading, cells))
        return token_rows_figure(rows, width=width)

    def __repr__(self) -> str:
        parts = [f"{t.name}: {t.counts['tokens']} tokens" for t in self.tokenizations]
        return f"<TokensView {self.text[:40]!r} — {'; '.join(parts)}>"


def show_tokens(text: str, tokenizer="sentence-transformers/all-MiniLM-L6-v2", *, text_pair: str | None = None,
                add_special_tokens: bool = True, lang: str | None = None) -> TokensView:
    """How one tokenizer (or a list, side by side) splits `text`: coloured pieces, ids, specials, counts.

    `tokenizer`: a name (folder, .gguf file, Hub id), a workbench Tokenizer, a `tokenizers.Tokenizer`, or a
    list of these. Display the result in a notebook, or `.to_html()`, `.save("x.png")`, `.to_dataframe()`.
    `lang`: 'en' or 'ko' for the view's own texts (None: from the locale); token text is never translated.
    """
    lang = check_language(lang)  # a wrong language is refused before any tokenizer loads
    given = list(tokenizer) if isinstance(tokenizer, (list, tuple)) else [tokenizer]
    if not given:
        raise TokenizerError("show_tokens needs at least one tokenizer; pass a name or a Tokenizer.")
    loaded = [load_any_tokenizer(t) for t in given]
    names = [name_of(t, g) for t, g in zip(loaded, given)]
    return TokensView(text, loaded, names, text_pair=text_pair, add_special_tokens=add_special_tokens, lang=lang)
