"""Reading a GGUF file: metadata, the tensor table, and tensors dequantized to a torch dtype.

A GGUF file (llama.cpp's format, https://github.com/ggml-org/ggml/blob/master/docs/gguf.md) is
    magic "GGUF" | version u32 | tensor count u64 | metadata count u64
    metadata:     key (string), value type u32, value        (strings are u64 length + UTF-8 bytes)
    tensor table: name, n_dims u32, dims u64 * n_dims (fastest-moving first), ggml type u32, offset u64
    padding to `general.alignment` (32), then the tensor data.
The header is parsed here with `struct` over an mmap: `gguf.GGUFReader` builds a numpy array per
vocabulary entry and takes ~2.5 s on SmolLM2's 49k tokens + 49k merges, this takes ~0.1 s. The `gguf`
package still supplies the type tables and the dequantization (`gguf.quants.dequantize`).

A small tensor is dequantized in one go and its float32 result kept; a large one (the embedding) is
dequantized in chunks of rows into one preallocated tensor of the requested dtype. Either way the only
full-size copy in memory is the result (the file's bytes stay in the page cache, shared). A torch version
of the common block types was tried: bit-identical but no faster on one thread and slower on two busy cores.
"""
from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType
from gguf import quants as gguf_quants

from ...errors import WeightsError

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
# Metadata value types (gguf's GGUFValueType numbering): fixed-size ones as struct formats.
_SCALAR_FORMATS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9

# How many elements to dequantize at once: bounds the float32 intermediates numpy makes (a few MB).
_CHUNK_ELEMENTS = 1 << 20


def _dequantizable_types() -> frozenset[int]:
    """The ggml types `gguf.quants.dequantize` can turn into floats (F32/F16 plus its quantization classes)."""
    types = {GGMLQuantizationType.F32, GGMLQuantizationType.F16}
    for value in vars(gguf_quants).values():
        if isinstance(value, type) and hasattr(value, "dequantize_blocks") and isinstance(
                getattr(value, "qtype", None), GGMLQuantizationType):
            types.add(value.qtype)
    return frozenset(int(t) for t in types)


DEQUANTIZABLE_TYPES = _dequantizable_types()


def ggml_type_name(ggml_type: int) -> str:
    try:
        return GGMLQuantizationType(ggml_type).name
    except ValueError:
        return f"unknown type {ggml_type}"


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]  # torch order: ggml's dims reversed, e.g. (vocab, hidden) for token_embd
    ggml_type: int
    offset: int  # from the start of the data section


class GGUFFile:
    """An opened GGUF file: `metadata` (key -> value), `tensors` (name -> TensorInfo), `tensor(name, dtype)`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            with open(self.path, "rb") as handle:
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as error:  # ValueError: an empty file cannot be mapped
            raise WeightsError(f"Cannot read {self.path} as a GGUF file ({error}); check the path and the "
                               "file.") from error
        # Header fields are unpacked from the map directly; tensors are numpy views of it (nothing read yet).
        self._data = np.frombuffer(self._map, dtype=np.uint8)
        if self._map[:4] != GGUF_MAGIC:
            raise WeightsError(f"{self.path} is not a GGUF file (it does not start with the bytes 'GGUF'); "
                               "pass a .gguf file made by llama.cpp or the gguf package.")
        try:
            self.metadata, self.tensors, self._data_start = self._read_header()
        except (struct.error, UnicodeDecodeError, IndexError) as error:
            raise WeightsError(f"{self.path} has a truncated or corrupt GGUF header ({error}); download the file "
                               "again.") from error

    # ---- header ----------------------------------------------------------------------------------------------
    def _read_header(self) -> tuple[dict[str, Any], dict[str, TensorInfo], int]:
        buffer = self._map
        version, tensor_count, metadata_count = struct.unpack_from("<IQQ", buffer, 4)
        if version not in (2, 3):
            raise WeightsError(f"{self.path} is GGUF version {version}; only versions 2 and 3 are supported "
                               "(re-convert it with a recent llama.cpp).")
        position = 24
        metadata: dict[str, Any] = {}
        for _ in range(metadata_count):
            key, position = self._read_string(position)
            (value_type,) = struct.unpack_from("<I", buffer, position)
            metadata[key], position = self._read_value(value_type, position + 4)

        tensors: dict[str, TensorInfo] = {}
        for _ in range(tensor_count):
            name, position = self._read_string(position)
            (n_dims,) = struct.unpack_from("<I", buffer, position)
            dims = struct.unpack_from(f"<{n_dims}Q", buffer, position + 4)
            ggml_type, offset = struct.unpack_from("<IQ", buffer, position + 4 + 8 * n_dims)
            position += 4 + 8 * n_dims + 12
            tensors[name] = TensorInfo(name, tuple(reversed(dims)), ggml_type, offset)
        alignment = int(metadata.get("general.alignment", DEFAULT_ALIGNMENT))
        data_start = -(-position // alignment) * alignment  # next multiple of the alignment
        return metadata, tensors, data_start

    def _read_string(self, position: int) -> tuple[str, int]:
        (length,) = struct.unpack_from("<Q", self._map, position)
        start = position + 8
        if start + length > len(self._map):
            raise IndexError("a string runs past the end of the file")
        return self._map[start:start + length].decode("utf-8"), start + length

    def _read_value(self, value_type: int, position: int) -> tuple[Any, int]:
        if value_type in _SCALAR_FORMATS:
            fmt = "<" + _SCALAR_FORMATS[value_type]
            return struct.unpack_from(fmt, self._map, position)[0], position + struct.calcsize(fmt)
        if value_type == _STRING:
            return self._read_string(position)
        if value_type == _ARRAY:
            element_type, count = struct.unpack_from("<IQ", self._map, position)
            position += 12
            if element_type in _SCALAR_FORMATS:  # token types, scores: one unpack for the whole array
                fmt = f"<{count}{_SCALAR_FORMATS[element_type]}"
                return list(struct.unpack_from(fmt, self._map, position)), position + struct.calcsize(fmt)
            values = []
            for _ in range(count):
                value, position = self._read_value(element_type, position)
                values.append(value)
            return values, position
        raise WeightsError(f"{self.path} holds a metadata value of unknown type {value_type}; the file is corrupt "
                           "or newer than this reader.")

    # ---- tensors ---------------------------------------------------------------------------------------------
    @property
    def architecture(self) -> str | None:
        return self.metadata.get("general.architecture")

    def check_dequantizable(self, name: str) -> None:
        """Raise a WeightsError naming the tensor and its type if its type cannot be turned into floats."""
        ggml_type = self.tensors[name].ggml_type
        if ggml_type not in DEQUANTIZABLE_TYPES:
            supported = ", ".join(sorted(map(ggml_type_name, DEQUANTIZABLE_TYPES)))
            raise WeightsError(f"Tensor {name!r} in {self.path.name} is stored as {ggml_type_name(ggml_type)}, which "
                               f"cannot be dequantized (supported: {supported}); use a GGUF file quantized with one "
                               "of those types.")

    def raw_rows(self, name: str) -> np.ndarray:
        """The stored bytes of a tensor as [rows, bytes per row] (a view of the memory map, nothing read yet)."""
        self.check_dequantizable(name)
        info = self.tensors[name]
        block_elements, block_bytes = GGML_QUANT_SIZES[GGMLQuantizationType(info.ggml_type)]
        row_elements = info.shape[-1]
        if row_elements % block_elements:
            raise WeightsError(f"Tensor {name!r} in {self.path.name} has rows of {row_elements} values, not a "
                               f"multiple of its {ggml_type_name(info.ggml_type)} block size {block_elements}; "
                               "the file is corrupt.")
        rows = prod(info.shape[:-1])
        row_bytes = row_elements // block_elements * block_bytes
        start = self._data_start + info.offset
        if start + rows * row_bytes > len(self._data):
            raise WeightsError(f"Tensor {name!r} runs past the end of {self.path.name}: the file is truncated; "
                               "download it again.")
        return self._data[start:start + rows * row_bytes].reshape(rows, row_bytes)

    def tensor(self, name: str, dtype: torch.dtype = torch.float32,
               row_order: torch.Tensor | None = None) -> torch.Tensor:
        """Tensor `name` dequantized to `dtype`, shape in torch order.

        `row_order` (optional, for 2-D tensors): output row i is stored row `row_order[i]`. Quantization blocks
        never cross rows, so the reordering is done on the stored bytes, before dequantizing.
        """
        info = self.tensors[name]
        raw = self.raw_rows(name)
        if row_order is not None:
            raw = raw[row_order.numpy()]  # a small copy of quantized bytes
        qtype = GGMLQuantizationType(info.ggml_type)
        rows, row_elements = raw.shape[0], info.shape[-1]
        rows_per_chunk = max(1, _CHUNK_ELEMENTS // max(1, row_elements))
        if rows <= rows_per_chunk:  # one piece: keep numpy's float32 result, no second copy
            out = torch.from_numpy(gguf_quants.dequantize(np.array(raw), qtype)).to(dtype)
            return out.reshape(info.shape)
        out = torch.empty((rows, row_elements), dtype=dtype)
        for first in range(0, rows, rows_per_chunk):
            block = np.array(raw[first:first + rows_per_chunk])  # copy: the memory map is read-only
            out[first:first + rows_per_chunk] = torch.from_numpy(gguf_quants.dequantize(block, qtype))
        return out.reshape(info.shape)


def read_gguf(path: str | Path) -> GGUFFile:
    """Open a GGUF file: parse its metadata and tensor table; tensors are read on `file.tensor(name, dtype)`."""
    return GGUFFile(path)
