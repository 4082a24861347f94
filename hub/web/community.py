"""Pages: community (being built)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web_community", __name__)
