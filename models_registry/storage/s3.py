"""LFS objects in an S3-compatible object store (SeaweedFS, MinIO, Ceph RGW, AWS S3...), via boto3.

Layout: ``<prefix>lfs/<oid[:2]>/<oid[2:4]>/<oid>``, the local store's layout under a key prefix.

The rules of the local store hold here too: an object is uploaded only after staging verified its
sha256 and size on local scratch, and under its final key only (S3 makes an object visible when
its upload completes, multipart included), so no commit can name bytes that are not stored whole.
The size is checked again after the upload, and on every read: an object whose length changed in
the bucket is never served as valid. Large objects go up in parts, streamed from the staged file
by boto3's transfer manager (never held in memory).

Downloads: `download_url` gives a short-lived presigned GET (clients then fetch from the store,
with Range, as from the Hub's CDN); `open` gives a seekable stream of ranged GETs for the hub to
proxy or read (safetensors headers, mirroring) when clients cannot reach the store.

Every failure of the store itself (unreachable, credentials refused, bucket missing, full) is a
`StorageUnavailable` (503 with Retry-After): transient for the client, never a half-done write.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import StorageUnavailable
from ..settings import S3Options
from .blobs import check_oid
from .sized_stream import SizedStream
from .staging import StagedFile

MIB = 1024 * 1024
PART_SIZE = 64 * MIB  # multipart above this; S3 allows 10,000 parts: objects up to 625 GiB
READ_BLOCK = 8 * MIB  # the buffer of `open`: one read call per 8 MiB of a proxied download
RETRY_AFTER = 10  # seconds, for a 503 caused by the store


def parse_url(url: str) -> tuple[str, str]:
    """``s3://BUCKET/PREFIX`` -> (bucket, prefix ending in "/" or empty)."""
    rest = url[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ValueError(f"Storage URL {url!r} names no bucket (expected s3://BUCKET/PREFIX)")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def _client(options: S3Options) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError:  # boto3 is the `s3` extra: python -m pip install 'modelhub[s3]'
        raise ValueError("S3 storage needs boto3: python -m pip install 'modelhub[s3]'") from None
    config = Config(s3={"addressing_style": options.addressing}, signature_version="s3v4",
                    connect_timeout=5, read_timeout=60, max_pool_connections=32,
                    retries={"max_attempts": 4, "mode": "standard"})
    return boto3.session.Session().client(
        "s3", endpoint_url=options.endpoint or None, region_name=options.region or None,
        aws_access_key_id=options.access_key or None, aws_secret_access_key=options.secret_key or None,
        config=config)


@contextmanager
def _store_errors(what: str) -> Iterator[None]:
    """Failures of the store (not of the request) as StorageUnavailable; a missing key stays a
    FileNotFoundError, as the local store raises it."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchKey", "NotFound"):
            raise FileNotFoundError(what) from None
        raise StorageUnavailable(f"The object store refused to {what} ({code or e}); try again later",
                                 retry_after=RETRY_AFTER) from None
    except BotoCoreError as e:
        raise StorageUnavailable(f"The object store is unreachable ({type(e).__name__}) while trying to "
                                 f"{what}; try again later", retry_after=RETRY_AFTER) from None


class S3Objects:
    """Objects under one bucket and key prefix: what the LFS blob store and the Xet store keep there."""

    def __init__(self, url: str, options: S3Options) -> None:
        self.bucket, self.prefix = parse_url(url)
        self.options = options
        self.client = _client(options)
        # Presigned URLs name the host they were signed for: the one clients use, if it differs.
        self.signer = (_client(replace(options, endpoint=options.public_endpoint)) if options.public_endpoint
                       else self.client)

    def size(self, key: str) -> int | None:
        try:
            with _store_errors(f"look up {key}"):
                head = self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except FileNotFoundError:
            return None
        return int(head["ContentLength"])

    def put_file(self, path: Path, key: str, size: int) -> None:
        """Upload a local file (multipart above PART_SIZE, streamed from disk), then check the size
        the store kept: a short object is deleted, never left for a reader."""
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE,
                                max_concurrency=4, use_threads=True)
        with _store_errors(f"store {key}"):
            self.client.upload_file(str(path), self.bucket, self.prefix + key, Config=config,
                                    ExtraArgs={"ContentType": "application/octet-stream"})
        stored = self.size(key)
        if stored != size:
            self.delete(key)
            raise StorageUnavailable(f"The object store kept {stored} bytes of {key} ({size} sent); try again",
                                     retry_after=RETRY_AFTER)

    def read_bytes(self, key: str) -> bytes:
        """A small object whole (Xet chunk indexes)."""
        with _store_errors(f"read {key}"):
            got = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
            return bytes(got["Body"].read())

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        """Bytes [offset, offset + length) of an object, fewer at its end: one ranged GET."""
        if length <= 0:
            return b""
        with _store_errors(f"read {key}"):
            got = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key,
                                         Range=f"bytes={offset}-{offset + length - 1}")
            return bytes(got["Body"].read())

    def open(self, key: str, size: int, sha256: str | None = None) -> BinaryIO:
        """A seekable stream of the object; with `sha256`, a read from first to last byte checks it."""
        return io.BufferedReader(RangedObject(self, key, size, sha256), buffer_size=READ_BLOCK)

    def url(self, key: str, download_name: str | None = None) -> str:
        """A presigned GET, valid for `url_ttl` seconds."""
        params: dict[str, str] = {"Bucket": self.bucket, "Key": self.prefix + key}
        if download_name:
            params["ResponseContentDisposition"] = _attachment(download_name)
        with _store_errors(f"sign a download of {key}"):
            return str(self.signer.generate_presigned_url("get_object", Params=params,
                                                          ExpiresIn=self.options.url_ttl))

    def delete(self, key: str) -> None:
        with _store_errors(f"delete {key}"):
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def check(self) -> None:
        """Raise StorageUnavailable unless the bucket answers (start-up and health checks)."""
        with _store_errors(f"reach bucket {self.bucket}"):
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except FileNotFoundError:
                raise StorageUnavailable(f"Bucket {self.bucket} does not exist", retry_after=RETRY_AFTER) from None


class S3BlobStore:
    """The BlobStore protocol (storage/blobs.py) on S3Objects."""

    def __init__(self, url: str, options: S3Options) -> None:
        self.objects = S3Objects(url, options)

    @staticmethod
    def key(oid: str) -> str:
        check_oid(oid)
        return f"lfs/{oid[:2]}/{oid[2:4]}/{oid}"

    def size(self, oid: str) -> int | None:
        return self.objects.size(self.key(oid))

    def exists(self, oid: str) -> bool:
        return self.size(oid) is not None

    def put(self, staged: StagedFile) -> None:
        """Upload a verified staged file under its sha256; consumes the staged file either way."""
        try:
            if self.size(staged.sha256) != staged.size:  # else content-addressed: the same bytes are there
                self.objects.put_file(staged.path, self.key(staged.sha256), staged.size)
        finally:
            staged.discard()

    def open(self, oid: str) -> BinaryIO:
        size = self.size(oid)
        if size is None:
            raise FileNotFoundError(oid)
        return self.objects.open(self.key(oid), size, sha256=oid)

    def read_range(self, oid: str, offset: int, length: int) -> bytes:
        return self.objects.read_range(self.key(oid), offset, length)

    def local_path(self, oid: str) -> Path | None:
        return None

    def download_url(self, oid: str, download_name: str | None = None) -> str | None:
        """A presigned GET of the object; None when the hub proxies (MODELHUB_S3_REDIRECT=0)."""
        return self.objects.url(self.key(oid), download_name) if self.objects.options.redirect else None

    def delete(self, oid: str) -> None:
        self.objects.delete(self.key(oid))


def _attachment(name: str) -> str:
    from urllib.parse import quote

    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("\\", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


class RangedObject(SizedStream):
    """A stored object as a seekable raw stream: each read continues one ranged GET, a seek starts
    another. Werkzeug serves Range requests from it by seeking; readers of headers (safetensors)
    fetch only what they read. A body shorter than the object's size is an error, never EOF, and
    a read from the first byte to the last checks the sha256 (the object's name) on the way: bytes
    that changed in the bucket end the stream with an error instead of being delivered as valid."""

    def __init__(self, objects: S3Objects, key: str, size: int, sha256: str | None) -> None:
        super().__init__(size)
        self._objects, self._key, self._sha256 = objects, key, sha256
        self._body: Any = None
        self._hash: Any = hashlib.sha256() if sha256 else None  # while reading in order from byte 0

    def _moved(self) -> None:
        self._drop_body()
        self._hash = hashlib.sha256() if self._pos == 0 and self._sha256 else None

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        if self._body is None:
            self._open_body()
        view = memoryview(buffer).cast("B")
        with _store_errors(f"read object {self._key}"):
            n = self._body.readinto(view[:want]) if hasattr(self._body, "readinto") else self._read_into(view, want)
        if not n:
            self._drop_body()
            raise StorageUnavailable(f"Object {self._key} ended at byte {self._pos} of {self._size} in the "
                                     "object store: it changed or was cut", retry_after=RETRY_AFTER)
        if self._hash is not None:
            self._hash.update(view[:n])
        self._pos += n
        if self._pos == self._size and self._hash is not None:
            digest, self._hash = self._hash.hexdigest(), None
            if digest != self._sha256:
                raise StorageUnavailable(f"Object {self._key} changed in the object store (its bytes hash to "
                                         f"{digest}): not served", retry_after=RETRY_AFTER)
        return n

    def _read_into(self, view: memoryview, want: int) -> int:
        data = self._body.read(want)
        view[:len(data)] = data
        return len(data)

    def _open_body(self) -> None:
        """GET from the position to the end: reads are sequential (proxied downloads, mirroring),
        and a reader that stops early (a safetensors header) closes the body."""
        with _store_errors(f"read object {self._key}"):
            got = self._objects.client.get_object(Bucket=self._objects.bucket, Key=self._objects.prefix + self._key,
                                                  Range=f"bytes={self._pos}-{self._size - 1}")
        total = str(got.get("ContentRange", "")).rpartition("/")[2]
        if total.isdigit() and int(total) != self._size:
            got["Body"].close()
            raise StorageUnavailable(f"Object {self._key} is {total} bytes in the object store, not {self._size}: "
                                     "it changed there and is not served", retry_after=RETRY_AFTER)
        self._body = got["Body"]

    def _drop_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._drop_body()
        super().close()
