"""Tokenization: the `Tokenizer` class over the `tokenizers` library, its outputs and its files.

    encoding.py   BatchEncoding: model inputs + token/text alignment
    files.py      the tokenizer folder format (tokenizer.json, vocab files, configs): read and write
    chat.py       chat templates rendered in a Jinja sandbox
    tokenizer.py  Tokenizer: call, pad, decode, special tokens, chat, save
"""
from .encoding import BatchEncoding, CharSpan, TokenSpan
from .tokenizer import Tokenizer

__all__ = ["Tokenizer", "BatchEncoding", "CharSpan", "TokenSpan"]
