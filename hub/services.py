"""Access to the Registry wired by create_app, without importing the app."""

from __future__ import annotations

from flask import current_app

from models_registry.grants import Grants
from models_registry.registry import Registry


def registry() -> Registry:
    return current_app.extensions["modelhub"]


def community():
    return current_app.extensions["modelhub_community"]


def search_service():
    return current_app.extensions["modelhub_search"]


def grants() -> Grants:
    """The use-time check of signed transfer links (LFS hrefs, Xet tokens and xorb URLs)."""
    return registry().grants
