"""Security headers, in one place: one policy for pages, one for raw file bytes.

Pages may run only the hub's own scripts and styles (files under /static): the templates hold no
inline <script>, no on*= handler, no javascript: URL and no style attribute, and the sanitized model
cards none either, so the policy needs neither a nonce nor 'unsafe-inline'. Keep it so: behaviour
goes into hub/static/js, looks into hub/static/css. Images may come from elsewhere (model cards
show badges and figures hosted anywhere). No page may be framed (clickjacking), and a link
followed to another site tells it our origin only.

Every response is `nosniff`: a browser never runs bytes as a type we did not name.

Raw file bytes (`resolve`, the site's Raw and Download buttons, LFS downloads) are whatever
anyone uploaded. A type a browser would run in our origin (HTML, SVG, XML, JavaScript) is always
an attachment, never shown inline, and every raw response carries a sandboxing CSP, so that even
a file opened in a tab runs nothing with the hub's cookies.
"""

from __future__ import annotations

import mimetypes
from urllib.parse import quote

from flask import Flask, Response

PAGE_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' https: http:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
# As raw.githubusercontent.com: nothing loads, nothing runs; inline styles keep an SVG legible.
RAW_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

ACTIVE_SUFFIXES = (".html", ".htm", ".shtml", ".xhtml", ".xht", ".svg", ".svgz", ".xml", ".xsl", ".xslt",
                   ".js", ".mjs", ".cjs")
ACTIVE_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
                "text/javascript", "application/javascript", "application/ecmascript", "text/ecmascript",
                "text/xsl")


TEXT_SUFFIXES = (".md", ".txt", ".py", ".yaml", ".yml", ".cfg", ".gitattributes")
# Images show in model cards (<img> never runs an SVG's scripts); opened in a tab, an SVG is an
# attachment like any other active type.
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp", ".avif": "image/avif", ".svg": "image/svg+xml"}


def raw_mimetype(filename: str) -> str:
    """The type raw bytes are sent as: text, JSON, an image, or opaque bytes (never HTML or script).
    Werkzeug adds the charset to text types."""
    lower = filename.lower()
    if lower.endswith(TEXT_SUFFIXES) or "." not in lower:
        return "text/plain"
    if lower.endswith(".json"):
        return "application/json"
    return IMAGE_TYPES.get(lower[lower.rfind("."):], "application/octet-stream")


def is_active(filename: str, mimetype: str | None = None) -> bool:
    """Whether a browser would run or render `filename` as a document that can script our origin."""
    lower = filename.lower()
    if lower.endswith(ACTIVE_SUFFIXES):
        return True
    for t in (mimetype, mimetypes.guess_type(lower)[0]):
        t = (t or "").split(";", 1)[0].strip().lower()
        if t in ACTIVE_TYPES or t.endswith("+xml") or "html" in t or "javascript" in t:
            return True
    return False


def raw_file(resp: Response, filename: str | None, download: bool = False) -> Response:
    """Mark `resp` as raw file bytes: attachment when asked for or when active, sandboxed, nosniff."""
    if filename:
        disposition = "attachment" if download or is_active(filename, resp.mimetype) else "inline"
        resp.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(filename)}"
    resp.headers["Content-Security-Policy"] = RAW_POLICY
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _add_headers(resp: Response) -> Response:
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if resp.mimetype == "text/html":
        resp.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        resp.headers["X-Frame-Options"] = "DENY"
    return resp


def init_app(app: Flask) -> None:
    """Every response, including error pages, leaves through `_add_headers`."""
    app.after_request(_add_headers)
