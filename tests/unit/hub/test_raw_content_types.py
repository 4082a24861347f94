"""Which raw files count as active content, and the types raw bytes are sent as."""

from __future__ import annotations

import pytest

from hub.security_headers import is_active, raw_mimetype


@pytest.mark.parametrize("name", ["index.html", "A.HTM", "page.shtml", "doc.xhtml", "logo.svg", "logo.SVGZ",
                                  "feed.xml", "style.xsl", "app.js", "mod.mjs", "lib.cjs"])
def test_active_by_name(name):
    assert is_active(name)


@pytest.mark.parametrize("mimetype", ["text/html", "text/html; charset=utf-8", "image/svg+xml",
                                      "application/atom+xml", "application/javascript", "text/xml"])
def test_active_by_type_whatever_the_name(mimetype):
    assert is_active("download", mimetype)


@pytest.mark.parametrize("name", ["README.md", "config.json", "model.safetensors", "notes.txt", "run.py",
                                  "image.png", "weights.bin", "html", "Makefile"])
def test_inert(name):
    assert not is_active(name, raw_mimetype(name))


def test_raw_types_are_never_documents():
    assert raw_mimetype("notes.txt") == raw_mimetype("LICENSE") == "text/plain"
    assert raw_mimetype("config.json") == "application/json"
    assert raw_mimetype("figure.PNG") == "image/png" and raw_mimetype("logo.svg") == "image/svg+xml"
    for name in ("index.html", "doc.xhtml", "feed.xml", "app.js", "model.safetensors"):
        assert raw_mimetype(name) == "application/octet-stream"
