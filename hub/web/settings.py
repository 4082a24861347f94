"""Pages: settings (being built)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web_settings", __name__)
