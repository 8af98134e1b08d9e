"""The tokenizer layer's public names; the implementation lives in `workbench.tokenization`."""
from .tokenization import BatchEncoding, CharSpan, Tokenizer, TokenSpan

__all__ = ["Tokenizer", "BatchEncoding", "CharSpan", "TokenSpan"]
