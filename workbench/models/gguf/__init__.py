"""GGUF checkpoints (llama.cpp's single-file format): weights dequantized into our models, tokenizers from metadata.

    model = wb.load_model("model.gguf")           # -> load_gguf_model
    tok = wb.load_tokenizer("model.gguf")         # -> load_gguf_tokenizer
    file = read_gguf("model.gguf"); file.metadata, file.tensors, file.tensor("token_embd.weight")
"""
from .architectures import ARCHITECTURES
from .model import gguf_checkpoint, load_gguf_model
from .reader import GGUFFile, read_gguf
from .tokenizer import load_gguf_tokenizer

__all__ = ["read_gguf", "GGUFFile", "gguf_checkpoint", "load_gguf_model", "load_gguf_tokenizer", "ARCHITECTURES"]
