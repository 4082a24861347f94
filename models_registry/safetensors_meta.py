"""Parameter counts of `.safetensors` files, read from their header only (never the tensors).

Format: 8 bytes little-endian header length N, then N bytes of JSON mapping tensor names to
{"dtype", "shape", "data_offsets"} (plus an optional "__metadata__" of strings).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from . import bounded_json

MAX_HEADER_BYTES = 16 * 1024 * 1024
# Bits per element: the byte range of a tensor must hold exactly its elements.
DTYPE_BITS = {"BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "F4": 4, "F6_E2M3": 6,
              "F6_E3M2": 6, "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "F64": 64,
              "I64": 64, "U64": 64, "C64": 64}
DTYPES = frozenset(DTYPE_BITS)


class SafetensorsError(ValueError):
    pass


@dataclass(frozen=True)
class Tensor:
    """One tensor as its header describes it (the file viewer lists these)."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    parameters: int


@dataclass(frozen=True)
class Header:
    """A checked safetensors header: its tensors in file order and its `__metadata__` strings."""

    tensors: list[Tensor]
    metadata: dict[str, str]

    def parameter_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for t in self.tensors:
            counts[t.dtype] = counts.get(t.dtype, 0) + t.parameters
        return counts


def read_header(read: Callable[[int, int], bytes], file_size: int) -> Header:
    """The header of a safetensors file of `file_size` bytes, from `read(offset, length)`.

    Only the 8-byte length and the header itself are asked for, so a reader backed by ranged GETs
    (storage `read_range`) fetches a few KiB of a 10 GB file; the length is checked against the
    file size and MAX_HEADER_BYTES before anything else is read."""
    head = read(0, 8) if file_size >= 8 else b""
    if len(head) < 8:
        raise SafetensorsError("file shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", head)
    if n == 0 or n > MAX_HEADER_BYTES or n + 8 > file_size:
        raise SafetensorsError(f"header length {n} is invalid (file size {file_size}, limit {MAX_HEADER_BYTES})")
    raw = read(8, n)
    if len(raw) != n:
        raise SafetensorsError("truncated header")
    try:
        header = bounded_json.loads(raw, max_bytes=None)  # n is bounded above
    except (ValueError, UnicodeDecodeError) as e:
        raise SafetensorsError(f"header is not valid JSON: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorsError("header is not a JSON object")
    tensors: list[Tensor] = []
    data_size = file_size - 8 - n
    meta = header.get("__metadata__")
    metadata = {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict):
            raise SafetensorsError(f"tensor {name!r}: entry is not an object")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in DTYPES:
            raise SafetensorsError(f"tensor {name!r}: unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise SafetensorsError(f"tensor {name!r}: shape must be a list of non-negative integers")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(isinstance(o, int) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= data_size):
            raise SafetensorsError(f"tensor {name!r}: data_offsets out of the file's bounds")
        count = math.prod(shape)
        if offsets[1] - offsets[0] != -(-count * DTYPE_BITS[dtype] // 8):
            raise SafetensorsError(f"tensor {name!r}: shape {shape} of {dtype} does not fit its "
                                   f"{offsets[1] - offsets[0]}-byte data range")
        tensors.append(Tensor(name, dtype, tuple(shape), count))
    return Header(tensors, metadata)


def parameter_counts(f: BinaryIO, file_size: int) -> dict[str, int]:
    """{dtype: number of parameters} from the header of a safetensors file, read in order from `f`."""
    return read_header(lambda _offset, length: f.read(length), file_size).parameter_counts()


def shards(index: bytes) -> list[tuple[str, int]]:
    """[(shard file name, number of tensors)] of a sharded model's `model.safetensors.index.json`
    (its `weight_map` names each tensor's shard), in name order."""
    try:
        doc = bounded_json.loads(index, max_bytes=None)  # the caller bounds what it reads
    except (ValueError, UnicodeDecodeError) as e:
        raise SafetensorsError(f"index is not valid JSON: {e}") from None
    weight_map = doc.get("weight_map") if isinstance(doc, dict) else None
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise SafetensorsError("index has no weight_map of tensor names to shard files")
    counts: dict[str, int] = {}
    for shard in weight_map.values():
        counts[shard] = counts.get(shard, 0) + 1
    return sorted(counts.items())


def summarize(per_file: list[dict[str, int]]) -> dict:
    """The Hub's `safetensors` field: {"parameters": {dtype: n}, "total": n}."""
    params: dict[str, int] = {}
    for counts in per_file:
        for dtype, n in counts.items():
            params[dtype] = params.get(dtype, 0) + n
    return {"parameters": params, "total": sum(params.values())}
