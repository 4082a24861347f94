"""Parameter counts of `.safetensors` files, read from their header only (never the tensors).

Format: 8 bytes little-endian header length N, then N bytes of JSON mapping tensor names to
{"dtype", "shape", "data_offsets"} (plus an optional "__metadata__" of strings).
"""

from __future__ import annotations

import math
import struct
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


def parameter_counts(f: BinaryIO, file_size: int) -> dict[str, int]:
    """{dtype: number of parameters} from the header of a safetensors file."""
    head = f.read(8)
    if len(head) < 8:
        raise SafetensorsError("file shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", head)
    if n == 0 or n > MAX_HEADER_BYTES or n + 8 > file_size:
        raise SafetensorsError(f"header length {n} is invalid (file size {file_size}, limit {MAX_HEADER_BYTES})")
    raw = f.read(n)
    if len(raw) != n:
        raise SafetensorsError("truncated header")
    try:
        header = bounded_json.loads(raw, max_bytes=None)  # n is bounded above
    except (ValueError, UnicodeDecodeError) as e:
        raise SafetensorsError(f"header is not valid JSON: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorsError("header is not a JSON object")
    counts: dict[str, int] = {}
    data_size = file_size - 8 - n
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
        n = math.prod(shape)
        if offsets[1] - offsets[0] != -(-n * DTYPE_BITS[dtype] // 8):
            raise SafetensorsError(f"tensor {name!r}: shape {shape} of {dtype} does not fit its "
                                   f"{offsets[1] - offsets[0]}-byte data range")
        counts[dtype] = counts.get(dtype, 0) + n
    return counts


def summarize(per_file: list[dict[str, int]]) -> dict:
    """The Hub's `safetensors` field: {"parameters": {dtype: n}, "total": n}."""
    params: dict[str, int] = {}
    for counts in per_file:
        for dtype, n in counts.items():
            params[dtype] = params.get(dtype, 0) + n
    return {"parameters": params, "total": sum(params.values())}
