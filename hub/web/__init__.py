"""The website: server-rendered pages (Jinja), in English and Simplified Chinese.

Pages authenticate with the session cookie (the API only with tokens, so only pages need CSRF
protection, and every page form has it). Blueprints here are all named web_*: that is how
auth, errors and CSRF tell pages from the API.
"""

from __future__ import annotations

from flask import Flask, request, session
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from .. import localize
from . import helpers

LANGUAGES = {"en": "English", "zh": "简体中文"}
csrf = CSRFProtect()


def select_locale() -> str:
    lang = request.cookies.get("lang")
    if lang in LANGUAGES:
        return lang
    # In the reader's order of preference, by primary language: en-GB is English, zh-TW and
    # zh-Hans Chinese. (werkzeug's best_match would prefer an exact "zh;q=0.5" over "en-GB".)
    for value, _quality in request.accept_languages:
        primary = value.replace("_", "-").split("-", 1)[0].lower()
        if primary in LANGUAGES:
            return primary
    return "en"


def is_page_request() -> bool:
    return bool(request.blueprint and request.blueprint.startswith("web"))


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # checked for pages only, below
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # tied to the session instead
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if str(app.config.get("PUBLIC_URL") or "").startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    Babel(app, locale_selector=select_locale)
    csrf.init_app(app)

    @app.before_request
    def _protect_forms() -> None:
        if is_page_request() and request.method not in ("GET", "HEAD", "OPTIONS"):
            csrf.protect()

    helpers.init_app(app, LANGUAGES)
    localize.init_app(app)  # domain messages, facet values
    from . import accounts, admin, admin_mirrors, community, files, pages, publish, settings, settings_webhooks

    for module in (pages, accounts, files, publish, settings, settings_webhooks, community, admin_mirrors, admin):
        app.register_blueprint(module.bp)
    from . import collections

    collections.init_app(app)  # collection pages, and the helpers profile and model pages use
    _ = session  # the cookie carries the web session's secret (see auth), the CSRF token, flashes, drafts
