"""LFS bytes over HTTP: resumable, verified downloads into the blob store, and uploads from it.

A download goes to `<data>/tmp/sync-partial/<oid>.part` and stays there if interrupted; the next
attempt hashes what is already on disk (no network) and asks only for the rest (`Range`). The
object is published (`Commits.store_lfs_object`, which checks sha256 and size again) only once
its sha256 and size match the pointer: a commit is never given an object it does not verify.
"""

from __future__ import annotations

import errno
import hashlib
import os
import queue
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..storage.staging import SAMPLE_BYTES, SHA1_MAX_SECOND_PASS, StagedFile
from .progress import Progress
from .upstream import Remote, SyncError

CHUNK = 8 << 20
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


@dataclass
class Fetched:
    bytes_transferred: int  # over the network in this attempt
    bytes_resumed: int      # already on disk from an earlier attempt


def partial_dir(registry) -> Path:
    path = Path(registry.stager.directory) / "sync-partial"
    path.mkdir(parents=True, exist_ok=True)
    return path


class _Digest:
    """sha256 (and, for files small enough to be sent inline later, the git blob sha1) of a stream,
    computed on a thread of its own: hashlib releases the GIL, so hashing overlaps the network."""

    def __init__(self, size: int) -> None:
        self.sha256 = hashlib.sha256()
        self.sha1 = hashlib.sha1(b"blob %d\x00" % size) if size <= SHA1_MAX_SECOND_PASS else None
        self.head = b""
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=256)  # ~16 MiB of 64 KiB reads
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self.sha256.update(chunk)
            if self.sha1 is not None:
                self.sha1.update(chunk)

    def update(self, chunk: bytes) -> None:
        if len(self.head) < SAMPLE_BYTES:
            self.head += chunk[:SAMPLE_BYTES - len(self.head)]
        self._queue.put(chunk)

    def finish(self) -> tuple[str, str | None]:
        self._queue.put(None)
        self._thread.join()
        return self.sha256.hexdigest(), self.sha1.hexdigest() if self.sha1 is not None else None


def download_object(registry, repo, remote: Remote, url: str, headers: dict[str, str], oid: str, size: int,
                    label: str, progress: Progress) -> Fetched:
    """Download (or finish downloading) one object from `url` and publish it for `repo`.
    Two pulls needing the same object (a scheduled sync and an on-demand one) take turns: the
    partial file is one per object. (256 lock files at most: objects sharing a first byte wait too.)"""
    with registry.locks.hold(f"sync-object-{oid[:2]}"):
        return _download(registry, repo, remote, url, headers, oid, size, label, progress)


def _download(registry, repo, remote: Remote, url: str, headers: dict[str, str], oid: str, size: int,
              label: str, progress: Progress) -> Fetched:
    part = partial_dir(registry) / f"{oid}.part"
    have = part.stat().st_size if part.exists() else 0
    if have > size:
        part.unlink()
        have = 0
    digest = _Digest(size)
    if have:
        with open(part, "rb") as f:  # re-hash what we already have: disk, not network
            while chunk := f.read(CHUNK):
                digest.update(chunk)
    resumed = have
    progress.begin(label, size)
    progress.advance(have)
    transferred = 0
    try:
        if have < size:
            # Raw bytes: a compressed answer would make byte ranges and counts meaningless.
            req_headers = {**headers, "accept-encoding": "identity"}
            if have:
                req_headers["range"] = f"bytes={have}-"
            with remote.stream_get(url, req_headers) as resp:
                if resp.status_code == 206:
                    m = _CONTENT_RANGE.match(resp.headers.get("content-range", ""))
                    if not m or int(m.group(1)) != have:
                        raise SyncError(f"{label}: the server answered a different byte range than asked "
                                        f"({resp.headers.get('content-range')!r})")
                    mode = "ab"
                elif resp.status_code == 200:
                    if have:  # no Range support: start over
                        digest.finish()
                        digest, have, resumed = _Digest(size), 0, 0
                        progress.begin(label, size)
                    mode = "wb"
                elif resp.status_code == 416 and have == size:
                    mode = ""
                else:
                    resp.read()
                    raise remote.access_error(resp, f"downloading {label}")
                if mode:
                    throttle = _Throttle(remote.max_rate)
                    with open(part, mode) as f:
                        for chunk in resp.iter_bytes():  # as received: re-chunking would copy every byte once more
                            throttle.wait(len(chunk))
                            have += len(chunk)
                            transferred += len(chunk)
                            if have > size:
                                break
                            f.write(chunk)
                            digest.update(chunk)
                            progress.advance(len(chunk))
                        f.flush()
                        os.fsync(f.fileno())
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise SyncError(f"The disk is full while downloading {label}: free some space and run "
                            "the pull again (it resumes; nothing visible was changed)") from None
        raise
    finally:
        sha256, sha1 = digest.finish()
        progress.end()
    if have != size or sha256 != oid:
        part.unlink(missing_ok=True)
        got = sha256 if have == size else f"{have} bytes instead of {size}"
        raise SyncError(f"Corrupted object for {label}: expected sha256 {oid} ({size} bytes), received {got}; "
                        "the object was discarded and nothing was changed")
    staged = StagedFile(part, size, oid, sha1, digest.head)
    registry.commits.store_lfs_object(repo, staged, oid, size)
    return Fetched(transferred, resumed)


class _Throttle:
    """Keeps a transfer under `rate` bytes per second (an operator's --max-rate)."""

    def __init__(self, rate: int | None) -> None:
        self.rate = rate
        self.start = time.monotonic()
        self.done = 0

    def wait(self, n: int) -> None:
        if not self.rate:
            return
        self.done += n
        ahead = self.done / self.rate - (time.monotonic() - self.start)
        if ahead > 0:
            time.sleep(ahead)


class _Reader:
    """A file object whose reads advance a progress bar (for streamed uploads)."""

    def __init__(self, f, progress: Progress) -> None:
        self._f = f
        self._progress = progress

    def __iter__(self):
        while chunk := self._f.read(CHUNK):
            self._progress.advance(len(chunk))
            yield chunk


def upload_object(registry, remote: Remote, action: dict, verify: dict | None, oid: str, size: int,
                  label: str, progress: Progress) -> int:
    """PUT one object from our blob store to the remote's upload href (then POST its verify action)."""
    headers = {**remote.action_headers(action), "content-type": "application/octet-stream",
               "content-length": str(size)}
    progress.begin(label, size)
    with registry.blobs.open(oid) as f:
        resp = remote.request("PUT", action["href"], content=_Reader(f, progress), headers=headers,
                              timeout=None, with_auth=False)
    progress.end()
    if resp.status_code not in (200, 201, 204):
        raise remote.access_error(resp, f"uploading {label}")
    if verify:
        resp = remote.request("POST", verify["href"], json={"oid": oid, "size": size}, with_auth=False,
                              headers={**remote.action_headers(verify), "accept": "application/vnd.git-lfs+json",
                                       "content-type": "application/vnd.git-lfs+json"})
        if resp.status_code != 200:
            raise SyncError(f"{remote.display}: the upload of {label} was not verified (HTTP {resp.status_code})")
    return size
