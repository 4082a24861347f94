"""Large staging files: the O_DIRECT pipeline (hashed by the caller, written by a thread) and the Stager's use of it."""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import queue
import threading

import pytest

from models_registry.errors import PayloadTooLarge
from models_registry.storage import Stager, staging
from models_registry.storage import direct_writer
from models_registry.storage.direct_writer import ALIGN, DirectWriter

SMALL_BLOCK = 64 * 1024  # many blocks from small inputs; still a multiple of ALIGN


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(direct_writer, "BLOCK", SMALL_BLOCK)


@pytest.fixture
def no_leftover_threads():
    before = set(threading.enumerate())
    yield
    left = [t for t in threading.enumerate() if t not in before and t.name.startswith("staging-")]
    assert left == []


def open_fd(path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)


def pieces(data: bytes, size: int):
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [0, 1, ALIGN - 1, ALIGN, SMALL_BLOCK, SMALL_BLOCK + 1, 5 * SMALL_BLOCK + 12345])
def test_bytes_and_hashes_come_out_as_written(tmp_path, small_blocks, no_leftover_threads, size):
    data = os.urandom(size)
    path = tmp_path / "f"
    fd = open_fd(path)
    sha256, sha1 = hashlib.sha256(), hashlib.sha1()
    try:
        w = DirectWriter(fd, [sha256, sha1])
        for piece in pieces(data, 10007):  # pieces that straddle block boundaries
            w.write(piece)
        assert w.close() == size
    finally:
        os.close(fd)
    assert path.read_bytes() == data  # the padding of the last aligned write is trimmed
    assert sha256.hexdigest() == hashlib.sha256(data).hexdigest()
    assert sha1.hexdigest() == hashlib.sha1(data).hexdigest()


def test_the_file_is_written_with_o_direct_where_the_filesystem_allows(tmp_path, no_leftover_threads):
    try:  # does this filesystem take O_DIRECT at all? (asked directly, not through the code under test)
        os.close(os.open(tmp_path / "probe", os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600))
    except OSError:
        pytest.skip("this filesystem refuses O_DIRECT (the writer then writes through the page cache)")
    fd = open_fd(tmp_path / "f")
    try:
        w = DirectWriter(fd, [])
        assert fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT
        w.write(b"x" * 3 * ALIGN)
        w.close()
    finally:
        os.close(fd)
    assert (tmp_path / "f").read_bytes() == b"x" * 3 * ALIGN


def test_an_o_direct_write_the_kernel_refuses_is_done_again_without_it(tmp_path, no_leftover_threads):
    """Some filesystems accept O_DIRECT at open and refuse the I/O itself (EINVAL): the writer then
    turns O_DIRECT off and writes through the page cache. A buffer that is not aligned makes this
    kernel answer EINVAL the same way."""
    try:
        os.close(os.open(tmp_path / "probe", os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600))
    except OSError:
        pytest.skip("this filesystem refuses O_DIRECT at open already")
    data = os.urandom(ALIGN + 1)
    fd = open_fd(tmp_path / "f")
    try:
        w = DirectWriter(fd, [])
        assert fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT
        w._write_all(memoryview(data)[1:])  # bytes objects are not page-aligned: EINVAL, then again
        assert not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT
        w.abort()
    finally:
        os.close(fd)
    assert (tmp_path / "f").read_bytes() == data[1:]


def test_real_block_size_several_blocks(tmp_path, no_leftover_threads):
    data = os.urandom(3 * direct_writer.BLOCK + 777)
    fd = open_fd(tmp_path / "f")
    h = hashlib.sha256()
    try:
        w = DirectWriter(fd, [h])
        w.write(data)
        w.close()
    finally:
        os.close(fd)
    assert (tmp_path / "f").read_bytes() == data and h.hexdigest() == hashlib.sha256(data).hexdigest()


def test_readinto_fills_the_buffers_directly_and_mixes_with_write(tmp_path, small_blocks, no_leftover_threads):
    data = os.urandom(4 * SMALL_BLOCK + 999)
    source = io.BytesIO(data[100:])
    short_reads = []

    def readinto(view: memoryview) -> int:
        short = view[:min(len(view), 3000)]  # a socket returns less than asked for
        short_reads.append(len(short))
        return source.readinto(short)

    fd = open_fd(tmp_path / "f")
    h = hashlib.sha256()
    try:
        w = DirectWriter(fd, [h])
        w.write(data[:100])
        while w.readinto_from(readinto, 1 << 30):
            pass
        w.close()
    finally:
        os.close(fd)
    assert (tmp_path / "f").read_bytes() == data and h.hexdigest() == hashlib.sha256(data).hexdigest()
    assert max(short_reads) == 3000


class Exploding:
    def update(self, data) -> None:
        raise ValueError("hash failed")


def test_a_hash_error_reaches_the_caller_and_stops_the_thread(tmp_path, small_blocks, no_leftover_threads):
    fd = open_fd(tmp_path / "f")
    try:
        w = DirectWriter(fd, [Exploding()])
        with pytest.raises(ValueError, match="hash failed"):
            for _ in range(100):  # the first full block is hashed at once
                w.write(b"y" * SMALL_BLOCK)
            w.close()
        w.abort()
    finally:
        os.close(fd)


def test_a_write_error_reaches_close(tmp_path, no_leftover_threads):
    path = tmp_path / "f"
    path.write_bytes(b"")
    fd = os.open(path, os.O_RDONLY)  # writes fail with EBADF
    try:
        w = DirectWriter(fd, [])
        w.write(b"z" * 5000)
        with pytest.raises(OSError):
            w.close()
    finally:
        os.close(fd)


# ---- through the Stager ------------------------------------------------------------------------

@pytest.fixture
def stager(tmp_path) -> Stager:
    return Stager(tmp_path / "tmp")


@pytest.fixture
def direct_from_100k(monkeypatch, small_blocks):
    monkeypatch.setattr(staging, "DIRECT_MIN", 100_000)


@pytest.mark.parametrize("head", [b"text, no NUL in the sample", b"\x00binary"])
def test_from_stream_over_the_threshold_receives_into_the_buffers(stager, direct_from_100k, no_leftover_threads,
                                                                  head):
    data = head + b"a" * (staging.SAMPLE_BYTES - len(head)) + os.urandom(300_000)
    calls = {"read": 0, "readinto": 0}

    class Stream(io.BytesIO):
        def read(self, n=-1):
            calls["read"] += 1
            return super().read(n)

        def readinto(self, b):
            calls["readinto"] += 1
            return super().readinto(b)

    stream = Stream(data + b"next request")
    staged = stager.from_stream(stream, length=len(data))
    try:
        assert staged.read_bytes() == data and staged.size == len(data)
        assert staged.sha256 == hashlib.sha256(data).hexdigest()
        assert staged.sha1 == hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()
        assert staged.is_binary is (b"\x00" in head)
        assert stream.read() == b"next request"  # not a byte more than the length
        assert calls["readinto"] >= 1  # the bulk went straight into the writer's buffers
    finally:
        staged.discard()
    assert list(stager.directory.iterdir()) == []


def test_from_stream_over_the_threshold_without_readinto(stager, direct_from_100k, no_leftover_threads):
    data = os.urandom(250_000)

    class ReadOnly:
        def __init__(self):
            self._b = io.BytesIO(data)

        def read(self, n=-1):
            return self._b.read(n)

    staged = stager.from_stream(ReadOnly(), length=len(data))  # type: ignore[arg-type]
    try:
        assert staged.read_bytes() == data and staged.sha256 == hashlib.sha256(data).hexdigest()
    finally:
        staged.discard()


def test_over_the_size_limit_is_payload_too_large_and_nothing_is_left(stager, direct_from_100k,
                                                                      no_leftover_threads):
    with pytest.raises(PayloadTooLarge):
        stager.from_stream(io.BytesIO(os.urandom(300_000)), max_bytes=200_000, length=300_000)
    assert list(stager.directory.iterdir()) == []


def test_a_stream_failing_midway_leaves_nothing(stager, direct_from_100k, no_leftover_threads):
    class Broken(io.BytesIO):
        def readinto(self, b):
            if self.tell() > 150_000:
                raise ConnectionResetError("client went away")
            return super().readinto(memoryview(b)[:20_000])

    with pytest.raises(ConnectionResetError):
        stager.from_stream(Broken(os.urandom(400_000)), length=400_000)
    assert list(stager.directory.iterdir()) == []


def test_a_short_stream_gives_a_short_file_for_the_caller_to_refuse(stager, direct_from_100k, no_leftover_threads):
    data = os.urandom(150_000)
    staged = stager.from_stream(io.BytesIO(data), length=200_000)
    try:
        assert staged.size == len(data) and staged.read_bytes() == data
        # the announced size was wrong, so the one-pass git sha1 (its header holds the size) is not used
        assert staged.sha1 == hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()
    finally:
        staged.discard()


def test_from_file_over_the_threshold(stager, tmp_path, direct_from_100k, no_leftover_threads):
    data = os.urandom(333_333)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    staged = stager.from_file(src)
    try:
        assert staged.read_bytes() == data and staged.sha256 == hashlib.sha256(data).hexdigest()
        assert staged.sha1 == hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()
    finally:
        staged.discard()


def drain_pool() -> list:
    out = []
    while True:
        try:
            out.append(direct_writer._pool.get_nowait())
        except queue.Empty:
            return out


def test_buffers_are_reused_and_an_earlier_uploads_bytes_never_reach_the_padding(tmp_path, no_leftover_threads):
    drain_pool()
    first = open_fd(tmp_path / "first")
    try:
        w = DirectWriter(first, [])
        used_by_first = {id(b) for b in w._buffers}
        w.write(b"A" * (3 * direct_writer.BLOCK))  # every buffer of the first writer full of "A"s ...
        w.close()
    finally:
        os.close(first)
    second = open_fd(tmp_path / "second")
    try:
        w = DirectWriter(second, [])
        assert {id(b) for b in w._buffers} & used_by_first  # ... and handed to the second
        w.write(b"B" * 10)
        w.close()
        with pytest.raises(ValueError):
            w.write(b"C")  # its buffers belong to the pool now
    finally:
        os.close(second)
    assert (tmp_path / "second").read_bytes() == b"B" * 10
    # what went to the device with the ten bytes: the rest of that aligned block, all zeros
    written = [b for b in drain_pool() if b[:10] == b"B" * 10]
    assert len(written) == 1 and written[0][10:ALIGN] == bytes(ALIGN - 10)
