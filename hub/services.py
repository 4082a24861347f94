"""Access to the Registry wired by create_app, without importing the app."""

from __future__ import annotations

from flask import current_app

from models_registry.registry import Registry


def registry() -> Registry:
    return current_app.extensions["modelhub"]


def community():
    return current_app.extensions["modelhub_community"]


def search_service():
    return current_app.extensions["modelhub_search"]
