"""The transfer adapter: the one module of the Flask shell that speaks to storage, to move bytes.

Views decide nothing here: the services have already said who may read what (access.py), and the
view hands over an object id. This module turns it into a response the fastest way the blob store
allows: sendfile with Range from local disk, else a stream from `open`; presigned redirects for
object storage belong here too. LFS objects (`send_blob`) and Xet xorbs (`send_xorb`) both leave here. The import contract (.importlinter) lets only this module of `hub`
import `models_registry.storage`.
"""

from __future__ import annotations

from flask import Response, current_app, request, send_file
from werkzeug.wsgi import wrap_file

from models_registry.errors import NotFound
from models_registry.storage import BlobStore

from .security_headers import raw_file, raw_mimetype
from .wiring import services


def send_blob(oid: str, size: int, etag: str, download_name: str | None = None) -> Response:
    """An LFS object's bytes with Range support: sendfile from local disk, else streamed from `open`
    (Xet-uploaded files are rebuilt from xorbs on the fly and have no local path)."""

    blobs: BlobStore = services().registry.blobs
    local = blobs.local_path(oid)
    mimetype = raw_mimetype(download_name) if download_name else "application/octet-stream"
    if local is not None and local.exists():
        resp = send_file(local, mimetype=mimetype, conditional=True, etag=etag,
                         download_name=download_name, max_age=0)
        return raw_file(resp, download_name)
    try:
        f = blobs.open(oid)
    except FileNotFoundError:
        raise NotFound(f"The content of object {oid} is missing from storage") from None
    resp = current_app.response_class(wrap_file(request.environ, f), mimetype=mimetype,
                                      direct_passthrough=True)
    resp.content_length = size
    resp.set_etag(etag)
    resp.cache_control.no_cache = True
    raw_file(resp, download_name)
    return resp.make_conditional(request.environ, accept_ranges=True, complete_length=size)


def send_xorb(xorb_hash: str) -> Response:
    """A stored xorb, for the byte range a signed fetch URL granted (the view checked the signature
    and the Range header): sendfile with Range from local disk."""
    path = services().registry.xet.xorb_path(xorb_hash)
    if not path.exists():
        raise NotFound(f"Xorb {xorb_hash} is missing from storage")
    return send_file(path, mimetype="application/octet-stream", conditional=True, etag=xorb_hash, max_age=0)
