"""The app's request class: lets a page say where the files of a posted form are written as they arrive.

werkzeug parses a multipart body as it reads it and asks the request for one file object per file
part: `Request._get_file_stream`, the override point werkzeug documents for this. By default it gives
a spooled temporary file, which the page would then copy, byte by byte, into the registry. The upload
page wants each part written straight into a registry staging file instead (hashed on the way, never
held in memory), so the view names a factory with `@streams_files(...)` and this subclass calls it.

A subclass, not a patched request: the page used to replace the method on the live request object
before the form was parsed, which relies on werkzeug reading an instance attribute at parse time. Every
other request (and every method but POST) keeps werkzeug's default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, TypeVar

from flask import current_app

from ..limits import HubRequest

FileStreamFactory = Callable[[int | None, str | None, str | None, int | None], IO[bytes]]
View = TypeVar("View", bound=Callable[..., object])


def streams_files(factory: FileStreamFactory) -> Callable[[View], View]:
    """Mark a view: the file parts POSTed to it are written into `factory(total_content_length,
    content_type, filename, content_length)` as they arrive (the arguments of `_get_file_stream`)."""

    def mark(view: View) -> View:
        view.file_stream_factory = factory  # type: ignore[attr-defined]
        return view

    return mark


class UploadStreamRequest(HubRequest):
    """HubRequest, plus the file parts of a POST to a view marked with `streams_files`."""

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> IO[bytes]:
        factory = None
        if self.method == "POST" and self.endpoint is not None:
            factory = getattr(current_app.view_functions.get(self.endpoint), "file_stream_factory", None)
        if factory is None:
            return super()._get_file_stream(total_content_length, content_type, filename, content_length)
        return factory(total_content_length, content_type, filename, content_length)
