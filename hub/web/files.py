"""Pages: files (being built)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web_files", __name__)
