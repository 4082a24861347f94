"""The transfer adapter: the one module of the Flask shell that speaks to storage, to move bytes.

Views decide nothing here: the services have already said who may read what (access.py), and the
view hands over an object id. This module turns it into a response the fastest way the blob store
allows: sendfile with Range from local disk, else a stream from `open`; presigned redirects for
object storage belong here too. LFS objects (`send_blob`) and Xet xorbs (`send_xorb`) both leave here. The import contract (.importlinter) lets only this module of `hub`
import `models_registry.storage`.
"""

from __future__ import annotations

import io

from flask import Response, current_app, redirect, request, send_file
from werkzeug.wsgi import wrap_file

from models_registry.errors import NotFound
from models_registry.storage import BlobStore

from .security_headers import is_active, raw_file, raw_mimetype
from .wiring import services

# Bytes per read when the hub streams an object itself: with werkzeug's 8 KiB default, proxied
# downloads in bench/storage.py ran about 12% slower (one read and one write call per block).
TRANSFER_BLOCK = 1 << 20


def _client_fetches_from_the_store() -> bool:
    """API clients, git-lfs and browser navigations (a download link) follow a redirect to the
    store. A page's own subresources (card images, media: Sec-Fetch-Mode other than "navigate")
    are served from the hub's origin: the pages' CSP allows only it, and no page makes the
    browser contact another host."""
    mode = request.headers.get("Sec-Fetch-Mode")
    return mode is None or mode == "navigate"


def send_blob(oid: str, size: int, etag: str, download_name: str | None = None) -> Response:
    """An LFS object's bytes with Range support, the fastest way the store allows: sendfile from
    local disk; a 302 to a presigned URL on object storage; else streamed through the hub from
    `open` (object storage the clients cannot reach, and Xet-uploaded files, rebuilt from xorbs on
    the fly).

    The hub answers itself whatever needs no bytes, so that its headers (X-Repo-Commit, the ETag
    named by the sha256, X-Linked-*) are the ones clients read: HEAD (the Hub client's metadata
    probe, which then GETs the resolve URL, where downloads are counted) and conditional GETs that
    match. Active files (HTML, SVG, ...) never leave for the store: only the hub's response carries
    the attachment, nosniff and sandbox headers that keep them from running."""

    blobs: BlobStore = services().registry.blobs
    local = blobs.local_path(oid)
    mimetype = raw_mimetype(download_name) if download_name else "application/octet-stream"
    if local is not None and local.exists():
        resp = send_file(local, mimetype=mimetype, conditional=True, etag=etag,
                         download_name=download_name, max_age=0)
        return raw_file(resp, download_name)
    if request.method == "HEAD" or request.if_none_match.contains(etag):
        resp = current_app.response_class(status=200, mimetype=mimetype)
        resp.set_etag(etag)
        resp.cache_control.no_cache = True
        resp.accept_ranges = "bytes"
        raw_file(resp, download_name)
        resp.make_conditional(request.environ)
        if resp.status_code == 200:
            resp.content_length = size
        return resp
    active = bool(download_name) and is_active(download_name or "")
    url = blobs.download_url(oid, download_name) if _client_fetches_from_the_store() and not active else None
    if url is not None:
        resp = redirect(url, code=302)
        resp.set_etag(etag)
        resp.cache_control.no_cache = True
        return resp
    try:
        f = blobs.open(oid)
    except FileNotFoundError:
        raise NotFound(f"The content of object {oid} is missing from storage") from None
    resp = current_app.response_class(wrap_file(request.environ, f, buffer_size=TRANSFER_BLOCK),
                                      mimetype=mimetype, direct_passthrough=True)
    resp.content_length = size
    resp.set_etag(etag)
    resp.cache_control.no_cache = True
    raw_file(resp, download_name)
    return resp.make_conditional(request.environ, accept_ranges=True, complete_length=size)


def xorb_fetch_url(xorb_hash: str) -> str | None:
    """A presigned URL of a xorb on object storage, for the reconstruction's fetch_info (clients
    GET their range from the store); None on local disk, where the hub serves signed ranges."""
    return services().registry.xet.xorb_url(xorb_hash)


def send_xorb(xorb_hash: str) -> Response:
    """A stored xorb, for the byte range a signed fetch URL granted (the view checked the signature
    and the Range header): sendfile with Range from local disk, a redirect on object storage."""
    xet = services().registry.xet
    path = xet.xorb_path(xorb_hash)
    if path is None:  # object storage
        url = xet.xorb_url(xorb_hash)
        if url is not None:
            return redirect(url, code=302)
        try:
            f = xet.open_xorb(xorb_hash)
        except FileNotFoundError:
            raise NotFound(f"Xorb {xorb_hash} is missing from storage") from None
        size = f.seek(0, io.SEEK_END)
        f.seek(0)
        resp = current_app.response_class(wrap_file(request.environ, f, buffer_size=TRANSFER_BLOCK),
                                          mimetype="application/octet-stream", direct_passthrough=True)
        resp.content_length = size
        resp.set_etag(xorb_hash)
        return resp.make_conditional(request.environ, accept_ranges=True, complete_length=size)
    if not path.exists():
        raise NotFound(f"Xorb {xorb_hash} is missing from storage")
    return send_file(path, mimetype="application/octet-stream", conditional=True, etag=xorb_hash, max_age=0)
