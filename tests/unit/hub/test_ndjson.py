"""The streaming NDJSON commit-body parser, fed from real streams into a real Stager."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os

import pytest

from hub.api import ndjson
from hub.api.ndjson import MAX_SKELETON, parse_commit_body
from models_registry.errors import BadRequest, PayloadTooLarge
from models_registry.storage import Stager

DEFAULT_CHUNK = ndjson.CHUNK
NO_LIMIT = 1 << 40


@pytest.fixture
def stager(tmp_path) -> Stager:
    return Stager(tmp_path / "tmp")


@pytest.fixture(params=[1, 3, 7, DEFAULT_CHUNK], ids=lambda n: f"chunk{n}")
def chunk(request, monkeypatch) -> int:
    """Read the body in chunks of this many bytes (the module's tuning constant)."""
    monkeypatch.setattr(ndjson, "CHUNK", request.param)
    return request.param


def line(key: str, value: dict, **dumps) -> bytes:
    return json.dumps({"key": key, "value": value}, **dumps).encode() + b"\n"


def file_line(path: str, data: bytes, **dumps) -> bytes:
    return line("file", {"path": path, "encoding": "base64", "content": base64.b64encode(data).decode()}, **dumps)


HEADER = line("header", {"summary": "Upload", "description": ""})


def parse(body: bytes, stager: Stager, limit: int = NO_LIMIT) -> list[tuple[str, dict, bytes | None]]:
    """(key, value, content bytes) for each line; the staged files are read and discarded."""
    out = []
    for ln in parse_commit_body(io.BytesIO(body), stager, limit):
        data = None
        if ln.staged is not None:
            data = ln.staged.read_bytes()
            assert ln.staged.size == len(data)
            assert ln.staged.sha256 == hashlib.sha256(data).hexdigest()
            ln.staged.discard()
        out.append((ln.key, ln.value, data))
    return out


def leftovers(stager: Stager) -> list[str]:
    return sorted(p.name for p in stager.directory.iterdir())


def parse_fails(body: bytes, stager: Stager, exc: type[Exception] = BadRequest, limit: int = NO_LIMIT,
                match: str | None = None) -> None:
    """The body is refused, and no staging file survives (lines yielded before the error are the caller's)."""
    yielded = []
    with pytest.raises(exc, match=match):
        for ln in parse_commit_body(io.BytesIO(body), stager, limit):
            yielded.append(ln)
    for ln in yielded:
        if ln.staged is not None:
            ln.staged.discard()
    assert leftovers(stager) == []


def expected(value: dict) -> dict:
    """What the parser reports as the value of a line: the content replaced by ''."""
    return {k: ("" if k == "content" else v) for k, v in value.items()}


# ---- well-formed bodies ------------------------------------------------------------------

def test_multi_megabyte_content_is_decoded_exactly(stager):
    data = os.urandom(3 * 1024 * 1024 + 1)  # not a multiple of 3: the base64 ends in padding
    body = HEADER + file_line("weights/model.bin", data) + line("deletedFile", {"path": "old.bin"})
    lines = parse(body, stager, limit=len(body))
    assert [(k, v) for k, v, _ in lines] == [
        ("header", {"summary": "Upload", "description": ""}),
        ("file", {"path": "weights/model.bin", "encoding": "base64", "content": ""}),
        ("deletedFile", {"path": "old.bin"}),
    ]
    assert lines[1][2] == data
    assert lines[0][2] is None and lines[2][2] is None
    assert leftovers(stager) == []


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 100, 65537])
def test_content_sizes(stager, chunk, size):
    if chunk == 1 and size > 1000:
        pytest.skip("too slow one byte at a time")
    data = os.urandom(size)
    [(_, _, got)] = parse(file_line("f.bin", data), stager)
    assert got == data


def test_a_whole_commit_at_any_chunk_size(stager, chunk):
    a, b = os.urandom(5000), b"plain text\n" * 30
    values = [
        ("header", {"summary": "A \"quoted\" title \\ with backslash \u00e9\u4e2d", "description": "line1\nline2\t",
                    "parentCommit": "a" * 40}),
        ("file", {"path": "a.bin", "encoding": "base64", "content": base64.b64encode(a).decode()}),
        ("lfsFile", {"path": "big.safetensors", "algo": "sha256", "oid": "b" * 64, "size": 123456789}),
        ("file", {"content": base64.b64encode(b).decode(), "path": "dir/b.txt", "encoding": "base64"}),
        ("deletedFile", {"path": "gone.txt"}),
        ("deletedFolder", {"path": "old/"}),
    ]
    body = b"".join(line(k, v) for k, v in values)
    lines = parse(body, stager)
    assert [(k, v) for k, v, _ in lines] == [(k, expected(v)) for k, v in values]
    assert [d for _, _, d in lines] == [None, a, None, b, None, None]
    assert leftovers(stager) == []


@pytest.mark.parametrize("path", [
    'we"ird.txt', "back\\slash.txt", 'both\\"mixed\\\\"', "uni\u00e9\u4e2d\u2028.txt", "tab\there", "a/b/c.txt",
    '"', "\\", "content", '{"content": "QUJD"}', "}{][", "\\u0041",
])
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_escapes_in_paths(stager, chunk, path, ensure_ascii):
    body = HEADER + file_line(path, b"xyz", ensure_ascii=ensure_ascii) + line(
        "deletedFile", {"path": path}, ensure_ascii=ensure_ascii)
    lines = parse(body, stager)
    assert lines[1][1]["path"] == path and lines[1][2] == b"xyz"
    assert lines[2][1] == {"path": path} and lines[2][2] is None


def test_content_inside_other_strings_and_places(stager, chunk):
    values = [
        {"key": "header", "value": {"summary": 'say "content": "QUJD"', "description": "content"}},
        # a top-level "content" is not file content: it is left alone, even though it is not base64
        {"key": "deletedFile", "content": "not base64!", "value": {"path": "x"}},
        # "content" nested deeper than value.content, in arrays, as a value, and as part of other keys
        {"key": "lfsFile", "value": {"path": "content", "meta": {"content": "???"}, "list": ["content", "QUJD"],
                                     "contents": "!!", "xcontent": "??", "oid": "c" * 64, "size": 1}},
        {"key": "file", "value": {"path": "content/content.txt", "content": base64.b64encode(b"real").decode()}},
    ]
    body = b"".join(json.dumps(v).encode() + b"\n" for v in values)
    lines = parse(body, stager)
    assert [(k, v) for k, v, _ in lines] == [
        ("header", values[0]["value"]),
        ("deletedFile", {"path": "x"}),
        ("lfsFile", values[2]["value"]),
        ("file", {"path": "content/content.txt", "content": ""}),
    ]
    assert [d for _, _, d in lines] == [None, None, None, b"real"]


def test_value_before_key_and_content_first(stager, chunk):
    content = base64.b64encode(b"\x00\x01\x02 data").decode()
    body = (b'{"value": {"content": "' + content.encode() + b'", "path": "p.bin", "encoding": "base64"}, '
            b'"key": "file"}\n')
    [(key, value, data)] = parse(body, stager)
    assert (key, value, data) == ("file", {"content": "", "path": "p.bin", "encoding": "base64"}, b"\x00\x01\x02 data")


def test_whitespace_and_line_endings(stager, chunk):
    body = (b'\n\n  {  "key" :  "header" , "value" : { "summary" : "s" } }  \r\n'
            b'\r\n'
            b'{"key":"file","value":{"path":"a","content" :\t"QUJD"}}\r\n'
            b'{"key":"deletedFile","value":{"path":"b"}}')  # no final newline
    lines = parse(body, stager)
    assert lines == [("header", {"summary": "s"}, None), ("file", {"path": "a", "content": ""}, b"ABC"),
                     ("deletedFile", {"path": "b"}, None)]


def test_escaped_slashes_in_content(stager, chunk):
    """JSON may escape '/' as '\\/' (base64 is full of slashes); the bytes are the same whatever the chunking."""
    data = bytes(range(256)) * 8
    encoded = base64.b64encode(data).decode()
    assert encoded.count("/") > 20
    body = b'{"key":"file","value":{"path":"s.bin","content":"' + encoded.replace("/", "\\/").encode() + b'"}}\n'
    [(_, value, got)] = parse(body, stager)
    assert got == data
    assert value == {"path": "s.bin", "content": ""}


def test_empty_body(stager, chunk):
    assert parse(b"", stager) == []
    assert parse(b"\n\n  \n", stager) == []


def test_closing_early_leaves_only_what_was_handed_out(stager):
    body = file_line("a", b"first") + file_line("b", b"second")
    gen = parse_commit_body(io.BytesIO(body), stager, NO_LIMIT)
    first = next(gen)
    gen.close()
    assert leftovers(stager) == [first.staged.path.name]
    first.staged.discard()


# ---- malformed bodies ----------------------------------------------------------------------

def _complete_lines(prefix: bytes) -> bool:
    """True if `prefix` is a whole number of valid lines (so that parsing it must succeed)."""
    last = prefix.split(b"\n")[-1].strip()
    if not last:
        return True
    try:
        json.loads(last)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("chunk_size", [3, DEFAULT_CHUNK])
def test_truncated_anywhere(stager, monkeypatch, chunk_size):
    monkeypatch.setattr(ndjson, "CHUNK", chunk_size)
    body = (line("header", {"summary": 'a "b" \\ c'}) + file_line('p"\\.bin', os.urandom(40))
            + line("deletedFile", {"path": "x"}))
    for cut in range(1, len(body)):
        prefix = body[:cut]
        if _complete_lines(prefix):
            parse(prefix, stager)
            assert leftovers(stager) == [], cut
        else:
            parse_fails(prefix, stager, match="Truncated|Malformed")


@pytest.mark.parametrize("content", [
    "QUJ*", "QUJDR", "QUJDRA", "QUJDREU", "QU JD", "QUJ\u00e9", "====", "Q===", "QQ==QUJD", "QUJD\\nQUJD",
    "QUJD\\u0041", "QUJD\\\\",
])
def test_invalid_base64(stager, chunk, content):
    body = HEADER + b'{"key":"file","value":{"path":"a","content":"' + content.encode() + b'"}}\n'
    parse_fails(body, stager)


@pytest.mark.parametrize("body", [
    b'{"key":"header","value":{}}}\n',
    b'}{"key":"header","value":{}}\n',
    b'{"key":"header","value":{}]\n',
    b']\n',
    b'{"key":"header","value":{]}\n',
    b'{"key":"header","value":{}\n{"key":"header","value":{}}\n',
    b'{"key":"file","value":{"path":"a","content":"QUJD"}}}\n',
    b'{"key":"file","value":{"path":"a","content":"QUJD"]}\n',
])
def test_unbalanced_brackets(stager, chunk, body):
    parse_fails(body, stager)


@pytest.mark.parametrize("body", [
    b'[1, 2]\n',
    b'"just a string"\n',
    b'{"key": 1, "value": {}}\n',
    b'{"key": "file", "value": []}\n',
    b'{"key": "file"}\n',
    b'{"key": "file", "value": {"content": "QUJD"}, "junk"}\n',
    b'{"key": "file", "value": {"content": "QUJD"}} trailing\n',
    b'{"key": "file", "value": {"content": "QUJD", "content": "REVG"}}\n',
    b'{"key": "file", "value": {"content": "QUJD"}, "value": {"content": "REVG"}}\n',
    b'{"key": "file" "value": {"content": "QUJD"}}\n',
])
def test_malformed_lines_leak_nothing(stager, chunk, body):
    parse_fails(HEADER + body, stager)


def test_body_over_the_limit(stager, chunk):
    body = HEADER + file_line("a.bin", os.urandom(3000)) + line("deletedFile", {"path": "x"})
    assert len(parse(body, stager, limit=len(body))) == 3
    parse_fails(body, stager, PayloadTooLarge, limit=len(body) - 1)
    parse_fails(body, stager, PayloadTooLarge, limit=len(HEADER) + 100)  # over it in the middle of the content


def test_skeleton_over_one_mebibyte_is_refused(stager):
    big = "x" * (MAX_SKELETON + 10)
    parse_fails(line("header", {"summary": big}), stager, match="too long")
    parse_fails(line("deletedFile", {"path": "a", "numbers": [1] * (MAX_SKELETON // 2)}), stager, match="too long")
    parse_fails(file_line("a.bin", b"data")[:-3] + b', "extra": "' + big.encode() + b'"}}\n', stager,
                match="too long")


def test_large_content_is_not_skeleton(stager):
    """File content does not count against the 1 MiB skeleton limit."""
    data = os.urandom(MAX_SKELETON * 2)
    [(_, _, got)] = parse(file_line("big.bin", data), stager)
    assert got == data
