"""Parameter counts from safetensors headers: real files written by `safetensors`, and malformed ones."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest
from safetensors.numpy import save

from models_registry.safetensors_meta import (MAX_HEADER_BYTES, SafetensorsError, Tensor, parameter_counts, read_header,
                                             shards, summarize)


def counts(data: bytes, size: int | None = None) -> dict[str, int]:
    return parameter_counts(io.BytesIO(data), len(data) if size is None else size)


def raw_file(header: object, data: bytes = b"", length: int | None = None) -> bytes:
    body = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(body) if length is None else length) + body + data


def test_counts_by_dtype():
    data = save({"emb": np.zeros((10, 8), np.float32), "proj": np.zeros((8, 4), np.float32),
                 "bias": np.zeros((4,), np.float16), "ids": np.zeros((3,), np.int64)}, metadata={"format": "pt"})
    assert counts(data) == {"F32": 112, "F16": 4, "I64": 3}


def test_scalar_tensor_counts_one():
    data = save({"s": np.array(3.0, dtype=np.float64)})
    assert counts(data) == {"F64": 1}


def test_only_the_header_is_read():
    data = save({"w": np.ones((256, 256), np.float32)})
    f = io.BytesIO(data)
    assert parameter_counts(f, len(data)) == {"F32": 65536}
    (n,) = struct.unpack("<Q", data[:8])
    assert f.tell() == 8 + n


def test_metadata_only_file():
    data = raw_file({"__metadata__": {"format": "pt"}})
    assert counts(data) == {}


def test_handwritten_header():
    data = raw_file({"a": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 12]},
                     "b": {"dtype": "BF16", "shape": [5], "data_offsets": [12, 22]}}, b"\0" * 22)
    assert counts(data) == {"BF16": 11}


def test_summarize_sums_files():
    assert summarize([{"F32": 10, "F16": 2}, {"F32": 5}, {}]) == {"parameters": {"F32": 15, "F16": 2}, "total": 17}
    assert summarize([]) == {"parameters": {}, "total": 0}


@pytest.mark.parametrize("data,size,fragment", [
    (b"", None, "shorter than the 8-byte header length"),
    (b"\x01\x02\x03", None, "shorter than the 8-byte header length"),
    (struct.pack("<Q", 0) + b"{}", None, "header length 0 is invalid"),
    (struct.pack("<Q", 1000) + b"{}", None, "header length 1000 is invalid"),
    (struct.pack("<Q", MAX_HEADER_BYTES + 1) + b"{}", MAX_HEADER_BYTES + 100, "is invalid"),
    (struct.pack("<Q", 2**64 - 1) + b"{}", None, "is invalid"),
    (struct.pack("<Q", 20) + b"{}", 100, "truncated header"),
    (raw_file(b"this is not json"), None, "not valid JSON"),
    (raw_file(b"\xff\xfe{}"), None, "not valid JSON"),
    (raw_file([1, 2, 3]), None, "not a JSON object"),
    (raw_file({"w": [1, 2]}), None, "tensor 'w': entry is not an object"),
    (raw_file({"w": {"dtype": "F33", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4), None, "unknown dtype"),
    (raw_file({"w": {"shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4), None, "unknown dtype"),
    (raw_file({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4), None, "shape must be"),
    (raw_file({"w": {"dtype": "F32", "shape": "4", "data_offsets": [0, 4]}}, b"\0" * 4), None, "shape must be"),
    (raw_file({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}, b"\0" * 4), None, "shape must be"),
    (raw_file({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 400]}}, b"\0" * 4), None, "out of the file"),
    (raw_file({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, b"\0" * 4), None, "out of the file"),
    (raw_file({"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}}, b"\0" * 4), None, "out of the file"),
    (raw_file({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}, b"\0" * 4), None, "out of the file"),
    (raw_file({"w": {"dtype": "F32", "shape": [1]}}, b"\0" * 4), None, "out of the file"),
])
def test_malformed(data, size, fragment):
    with pytest.raises(SafetensorsError) as exc:
        counts(data, size)
    assert fragment in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_shape_must_match_the_byte_range():
    # A header may not claim a billion parameters for 4 bytes of data: the Hub's parameter count (and
    # the num_parameters facet built on it) would be whatever the uploader wants, and a product of
    # dimensions beyond 2**63 does not even fit the database column.
    with pytest.raises(SafetensorsError):
        counts(raw_file({"w": {"dtype": "F32", "shape": [1_000_000_000], "data_offsets": [0, 4]}}, b"\0" * 4))
    with pytest.raises(SafetensorsError):
        counts(raw_file({"w": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 4]}}, b"\0" * 4))


def test_truncated_real_file():
    data = save({"w": np.ones((4, 4), np.float32)})
    with pytest.raises(SafetensorsError):
        counts(data[:-10])  # the last tensor's data_offsets now end past the file
    with pytest.raises(SafetensorsError):
        counts(data[:20])


# ---- the viewer's header: tensors in order, read by ranges ---------------------------------------

def test_read_header_lists_tensors_metadata_and_reads_only_the_header():
    data = save({"b": np.zeros((2, 3), np.float16), "a": np.zeros((4,), np.int64)}, metadata={"format": "pt"})
    asked: list[tuple[int, int]] = []

    def read(offset: int, length: int) -> bytes:
        asked.append((offset, length))
        return data[offset:offset + length]

    header = read_header(read, len(data))
    (n,) = struct.unpack("<Q", data[:8])
    assert asked == [(0, 8), (8, n)]  # the length, then the header: never the tensors
    assert header.tensors == [Tensor("a", "I64", (4,), 4), Tensor("b", "F16", (2, 3), 6)]
    assert header.metadata == {"format": "pt"}
    assert header.parameter_counts() == {"I64": 4, "F16": 6}


def test_read_header_of_a_file_shorter_than_8_bytes_asks_nothing():
    with pytest.raises(SafetensorsError, match="shorter than the 8-byte"):
        read_header(lambda offset, length: pytest.fail("read"), 5)


def test_read_header_refuses_a_huge_length_before_reading_it():
    asked = []
    head = struct.pack("<Q", MAX_HEADER_BYTES + 1)
    with pytest.raises(SafetensorsError, match="is invalid"):
        read_header(lambda o, n: asked.append((o, n)) or head[o:o + n], MAX_HEADER_BYTES * 2)
    assert asked == [(0, 8)]


def test_shards_of_an_index():
    index = json.dumps({"metadata": {}, "weight_map": {"a": "m-2.safetensors", "b": "m-1.safetensors",
                                                       "c": "m-2.safetensors"}}).encode()
    assert shards(index) == [("m-1.safetensors", 1), ("m-2.safetensors", 2)]


@pytest.mark.parametrize("index", [b"{nope", b"[]", b'{"weight_map": []}', b'{"weight_map": {"a": 1}}', b"{}"])
def test_shards_of_a_bad_index(index):
    with pytest.raises(SafetensorsError):
        shards(index)
