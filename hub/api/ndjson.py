"""Streaming parser for the NDJSON body of the commit endpoint.

The Hugging Face client sends every "regular" file inline, base64-encoded inside one JSON line, so a
single line can be hundreds of megabytes. Parsing such a line with json.loads would hold it (and
its decoded bytes) in memory. Instead a small JSON scanner walks each line; the `content` string of
a `value` object is decoded chunk by chunk straight into a staging file, and the rest of the line
(its "skeleton", with the content replaced by "") is parsed normally. Memory stays at one read
chunk whatever the file size.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from models_registry import bounded_json
from models_registry.commits import StagedFile, Stager
from models_registry.errors import BadRequest, PayloadTooLarge

CHUNK = 1 << 20
MAX_SKELETON = 1 << 20  # everything but file contents must fit in 1 MiB per line
_STRING_STOP = re.compile(rb'["\\]')


@dataclass
class Line:
    key: str
    value: dict[str, Any]
    staged: StagedFile | None


class _Reader:
    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.total = 0
        self.buf = b""
        self.pos = 0

    def fill(self) -> bool:
        """Load the next chunk; False at end of stream."""
        data = self.stream.read(CHUNK)
        if not data:
            return False
        self.total += len(data)
        if self.total > self.limit:
            raise PayloadTooLarge(f"Commit payload larger than the limit of {self.limit} bytes")
        self.buf, self.pos = data, 0
        return True


class _ContentSink:
    """Decodes a base64 stream into a staging file, whatever the chunk boundaries.

    JSON may escape '/' as '\\/', and a chunk can end between the two characters; base64 padding
    ('=') may only end the content, even when the rest arrives in a later chunk.
    """

    def __init__(self, stager: Stager) -> None:
        self.writer = stager.writer()
        self.pending = b""  # base64 characters not yet decoded (fewer than 4)
        self.escape = b""  # a trailing backslash waiting for its next character
        self.padded = False

    def feed(self, text: bytes) -> None:
        text = self.escape + text
        self.escape = b""
        if text.endswith(b"\\") and (len(text) - len(text.rstrip(b"\\"))) % 2 == 1:
            text, self.escape = text[:-1], b"\\"
        if b"\\" in text:
            text = text.replace(b"\\/", b"/")
            if b"\\" in text:
                raise BadRequest("Invalid escape in base64 file content")
        if not text:
            return
        if self.padded:
            raise BadRequest("File content is not valid base64 (data after padding)")
        data = self.pending + text
        cut = len(data) - len(data) % 4
        self.pending = data[cut:]
        if cut:
            block = data[:cut]
            try:
                self.writer.write(base64.b64decode(block, validate=True))
            except binascii.Error:
                raise BadRequest("File content is not valid base64") from None
            self.padded = block.endswith(b"=")

    def finish(self) -> StagedFile:
        if self.pending or self.escape:
            raise BadRequest("File content is not valid base64 (truncated)")
        return self.writer.finish()

    def abort(self) -> None:
        self.writer.abort()


def parse_commit_body(stream: BinaryIO, stager: Stager, limit: int) -> Iterator[Line]:
    """Yield each line of the body as (key, value, staged content). The caller owns staged files."""
    r = _Reader(stream, limit)
    skel = bytearray()
    in_str = False
    # One frame per open container: [is_object, expecting_a_key, key_of_current_value].
    stack: list[list[Any]] = []
    key_start = -1
    staged: StagedFile | None = None

    def end_line() -> Line | None:
        nonlocal skel, staged
        text = bytes(skel).strip()
        skel = bytearray()
        st, staged = staged, None
        if not text:
            return None
        try:
            obj = bounded_json.loads(text, max_bytes=None)  # the skeleton is bounded (MAX_SKELETON)
        except ValueError as e:
            if st:
                st.discard()
            raise BadRequest(f"Malformed NDJSON line: {e}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("key"), str) or not isinstance(obj.get("value"), dict):
            if st:
                st.discard()
            raise BadRequest('Malformed NDJSON line: expected {"key": ..., "value": {...}}')
        return Line(obj["key"], obj["value"], st)

    try:
        while r.fill():
            while r.pos < len(r.buf):
                buf, i = r.buf, r.pos
                if in_str:
                    m = _STRING_STOP.search(buf, i)
                    if m is None:
                        skel += buf[i:]
                        r.pos = len(buf)
                    elif buf[m.start()] == 0x5C:  # backslash: keep the escape pair, even across chunks
                        j = m.start()
                        skel += buf[i:j + 2]
                        r.pos = j + 2
                        if j + 1 == len(buf):
                            if not r.fill():
                                raise BadRequest("Truncated NDJSON body")
                            skel += r.buf[:1]
                            r.pos = 1
                    else:
                        j = m.start()
                        skel += buf[i:j + 1]
                        r.pos = j + 1
                        in_str = False
                        if key_start >= 0:
                            try:
                                stack[-1][2] = bounded_json.loads(bytes(skel[key_start:]), max_bytes=None)
                            except ValueError as e:
                                raise BadRequest(f"Malformed NDJSON line: {e}") from None
                            key_start = -1
                    if len(skel) > MAX_SKELETON:
                        raise BadRequest("NDJSON line too long (fields other than file contents over 1 MiB)")
                    continue
                c = buf[i]
                r.pos = i + 1
                if c == 0x22:  # a string starts
                    frame = stack[-1] if stack else None
                    if frame is not None and frame[0] and frame[1]:
                        key_start = len(skel)
                        skel.append(c)
                        in_str = True
                    elif (len(stack) == 2 and frame is not None and frame[2] == "content"
                          and stack[0][2] == "value"):
                        if staged is not None:
                            raise BadRequest("Two file contents in one NDJSON line")
                        staged = _read_content(r, stager)
                        skel += b'""'
                    else:
                        skel.append(c)
                        in_str = True
                elif c in (0x7B, 0x5B):  # { [
                    if len(stack) >= bounded_json.MAX_DEPTH:
                        raise BadRequest(f"Malformed NDJSON line: JSON nested deeper than "
                                         f"{bounded_json.MAX_DEPTH} levels")
                    stack.append([c == 0x7B, c == 0x7B, None])
                    skel.append(c)
                elif c in (0x7D, 0x5D):  # } ]
                    if not stack:
                        raise BadRequest("Malformed NDJSON line: unbalanced brackets")
                    stack.pop()
                    skel.append(c)
                elif c == 0x3A and stack:  # :
                    stack[-1][1] = False
                    skel.append(c)
                elif c == 0x2C and stack:  # , (in an object, a new key follows)
                    stack[-1][1] = stack[-1][0]
                    skel.append(c)
                elif c == 0x0A and not stack:
                    line = end_line()
                    if line is not None:
                        yield line
                else:
                    skel.append(c)
                if len(skel) > MAX_SKELETON:
                    raise BadRequest("NDJSON line too long (fields other than file contents over 1 MiB)")
        if in_str or stack:
            raise BadRequest("Truncated NDJSON body")
        line = end_line()
        if line is not None:
            yield line
    except BaseException:
        if staged is not None:
            staged.discard()
        raise


def _read_content(r: _Reader, stager: Stager) -> StagedFile:
    """Consume a base64 JSON string (after its opening quote) into a staging file."""
    sink = _ContentSink(stager)
    try:
        while True:
            buf, i = r.buf, r.pos
            j = buf.find(b'"', i)
            if j < 0:
                sink.feed(buf[i:])
                r.pos = len(buf)
                if not r.fill():
                    raise BadRequest("Truncated NDJSON body inside file content")
                continue
            sink.feed(buf[i:j])
            r.pos = j + 1
            return sink.finish()
    except BaseException:
        sink.abort()
        raise
