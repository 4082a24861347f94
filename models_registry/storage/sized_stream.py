"""A read-only stream of known size that can seek anywhere: what Werkzeug needs to answer Range
requests and what safetensors header readers need, for bytes that are not one local file (an object
in a bucket, a file rebuilt from Xet chunks)."""

from __future__ import annotations

import io


class SizedStream(io.RawIOBase):
    """Position bookkeeping for a seekable raw stream of `size` bytes; subclasses read (readinto)
    and may react to a move of the position (`_moved`)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        pos = max(0, base + offset)
        if pos != self._pos:
            self._pos = pos
            self._moved()
        return pos

    def _moved(self) -> None:
        """Called after a seek changed the position (a stream holding an open read drops it)."""
