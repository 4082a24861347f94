"""Pages: publish (being built)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web_publish", __name__)
