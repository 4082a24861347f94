"""Large staging files: hashed as they arrive, written by another thread around the page cache.

Why: receiving a multi-GiB upload, the server's own work per byte is a copy out of the socket, the
sha256 and a copy into the page cache. The last one is the most expensive of the three wherever
fresh page-cache pages are dear (virtual machines that hand memory back to their host fault every
such page in again: 1.5-2.5 CPU-seconds per GiB were measured, against 0.6 for the sha256), it
evicts pages other readers want, and the fsync that makes the object durable then waits for all
of it. With O_DIRECT the device reads the bytes straight from our buffers (~0.05 CPU-s per GiB)
while the receiving thread goes on.

The receiving thread hashes each block itself, right after filling it: the block is still in that
core's cache then. A separate hash thread (as first built) read it from further away and made a
third busy thread on machines with two cores: receiving and hashing 1 GiB took 0.86 CPU-s in two
threads against ~0.75 in one, and the PUT ~10% longer.

Filesystems that refuse O_DIRECT (tmpfs on older kernels, some FUSE ones) get ordinary writes
through the same pipeline.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import queue
import threading
from collections.abc import Callable, Iterable
from typing import Protocol

# One buffer: a multiple of every device's logical block size, and small enough to be hashed from
# the core's cache right after the kernel copied it there (a 1 GiB upload through a minimal
# receiver went fastest with 2 MiB blocks here: 1 and 4 MiB ones took ~12% longer, 8 MiB ~45%).
BLOCK = 2 * 1024 * 1024
BUFFERS = 8  # 16 MiB per upload in flight: the device may lag a few blocks behind
ALIGN = 4096  # O_DIRECT wants offsets, lengths and addresses aligned to the logical block size
# Buffers kept for the next uploads (per process): the first touch of 16 MiB of fresh anonymous
# memory (page faults, zeroing) cost ~10 ms an upload here; a reused buffer costs nothing.
POOL_MAX = 2 * BUFFERS
_pool: queue.SimpleQueue[mmap.mmap] = queue.SimpleQueue()


def _take_buffer() -> mmap.mmap:
    while True:
        try:
            buf = _pool.get_nowait()
        except queue.Empty:
            return mmap.mmap(-1, BLOCK)  # anonymous mappings are page-aligned
        if len(buf) == BLOCK:  # else dropped: made while BLOCK was another size (tests set it)
            return buf


def _give_back(buffers: list[mmap.mmap]) -> None:
    for buf in buffers:
        if _pool.qsize() < POOL_MAX:
            _pool.put(buf)


class Hash(Protocol):
    def update(self, data: memoryview, /) -> None: ...


class DirectWriter:
    """Appends bytes to an open file descriptor in BLOCK-sized aligned writes.

    The caller's thread fills buffers (`write`, or `readinto_from` to receive into them) and feeds
    each full one to every hash in `hashes`, in order; a write thread then writes it. `close()`
    must be called (it writes the last partial block, trims the padding and raises the write
    thread's error, if any); `abort()` stops without writing more. The caller owns `fd`.
    """

    def __init__(self, fd: int, hashes: Iterable[Hash]) -> None:
        self._fd = fd
        self._hashes = list(hashes)
        self._direct = set_direct(fd, True)
        self._free: queue.SimpleQueue[mmap.mmap] = queue.SimpleQueue()
        self._full: queue.SimpleQueue[tuple[mmap.mmap, int] | None] = queue.SimpleQueue()
        self._buffers = [_take_buffer() for _ in range(BUFFERS)]
        for buf in self._buffers:
            self._free.put(buf)
        self._error: BaseException | None = None
        self._closed = False
        self._current: mmap.mmap | None = self._free.get()
        self._used = 0
        self._size = 0
        self._writer = threading.Thread(target=self._write_loop, name="staging-write", daemon=True)
        self._writer.start()

    # -- receiving side ------------------------------------------------------------------------

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data).cast("B")
        while view:
            n = min(len(view), BLOCK - self._used)
            self._buffer()[self._used:self._used + n] = view[:n]
            self._used += n
            view = view[n:]
            if self._used == BLOCK:
                self._submit()

    def readinto_from(self, readinto: Callable[[memoryview], int], limit: int) -> int:
        """Let `readinto` fill the current buffer directly (no intermediate bytes object), reading
        at most `limit` bytes; returns what it read (0 at the end of the source)."""
        buf = self._buffer()
        n = readinto(memoryview(buf)[self._used:self._used + min(limit, BLOCK - self._used)]) or 0
        self._used += n
        if self._used == BLOCK:
            self._submit()
        return n

    def close(self) -> int:
        """Write what is buffered, wait for the workers, trim the padding; returns the size written."""
        try:
            if self._current is not None and self._used:
                self._submit(last=True)
        finally:
            self._stop()
        if self._error is not None:
            raise self._error
        os.ftruncate(self._fd, self._size)  # the last aligned write may have added padding
        return self._size

    def abort(self) -> None:
        if self._error is None:
            self._error = _Aborted()
        self._stop()

    # -- internals -----------------------------------------------------------------------------

    def _buffer(self) -> mmap.mmap:
        if self._error is not None:
            raise self._error
        if self._closed:
            raise ValueError("write to a closed DirectWriter")
        if self._current is None:
            self._current = self._free.get()
        return self._current

    def _submit(self, last: bool = False) -> None:
        buf = self._buffer()
        with memoryview(buf)[:self._used] as view:
            for h in self._hashes:
                h.update(view)
        if self._used % ALIGN:  # the padding written (then trimmed) must not be an earlier upload's bytes
            buf[self._used:-(-self._used // ALIGN) * ALIGN] = bytes(-self._used % ALIGN)
        self._full.put((buf, self._used))
        self._current, self._used = None, 0
        if not last:
            self._current = self._free.get()  # waits while the workers are behind

    def _stop(self) -> None:
        if self._writer.is_alive():
            self._full.put(None)
        self._writer.join()
        buffers, self._buffers = self._buffers, []
        self._current, self._closed = None, True
        _give_back(buffers)  # the write thread is done with them; nothing here touches them again

    def _write_loop(self) -> None:
        while (item := self._full.get()) is not None:
            buf, used = item
            try:
                if self._error is None:
                    self._write_all(memoryview(buf)[:-(-used // ALIGN) * ALIGN])
                    self._size += used
            except BaseException as exc:  # reported to the receiving thread by its next call
                self._error = exc
            finally:
                self._free.put(buf)  # the receiving thread may be waiting for it

    def _write_all(self, view: memoryview) -> None:
        while view:
            try:
                n = os.write(self._fd, view)
            except OSError as exc:
                # Some filesystems accept O_DIRECT at open time and refuse the I/O itself.
                if exc.errno != errno.EINVAL or not self._direct:
                    raise
                self._direct = set_direct(self._fd, False)
                continue
            view = view[n:]


class _Aborted(Exception):
    pass


def set_direct(fd: int, on: bool) -> bool:
    """Turn O_DIRECT on or off for `fd`; returns whether it is on."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_DIRECT if on else flags & ~os.O_DIRECT)
    except OSError:
        return False
    return on
