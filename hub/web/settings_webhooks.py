"""Settings → Webhooks: the signed-in user's webhooks (create, edit, enable/disable, delete) and
each one's delivery log with "redeliver". The rules are community/webhooks.py's; this module reads
the forms (CSRF is checked for every page POST, hub/web/__init__.py) and shows the answers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request
from flask_babel import gettext as _

from community.webhooks import DOMAINS, WATCH_TYPES, WebhookView
from models_registry.errors import BadRequest, Forbidden, NotFound

from .. import auth
from ..localize import localize
from ..wiring import services
from .settings import _me, _nav

bp = Blueprint("web_webhooks", __name__)


def watched_text(watched: list[dict[str, str]]) -> str:
    """The watch list as the form shows it: one `type name` per line."""
    return "\n".join(f"{w['type']} {w['name']}" for w in watched)


def _parse_watched(text: str) -> list[dict[str, str]]:
    out = []
    for line in text.splitlines():
        kind, _sep, name = line.strip().replace(":", " ", 1).partition(" ")
        if kind or name:
            out.append({"type": kind.strip(), "name": name.strip()})
    return out


def _form() -> dict[str, Any]:
    f = request.form
    return {"url": f.get("url", "").strip(), "watched": _parse_watched(f.get("watched", "")),
            "domains": [d for d in DOMAINS if f.get(f"domain_{d}")], "secret": f.get("secret", "")}


def _hub_url() -> str:
    return request.host_url.rstrip("/")


def _render(template: str, status: int = 200, **ctx: Any):
    resp = make_response(render_template(template, section="webhooks", watch_types=WATCH_TYPES, domains=DOMAINS,
                                         watched_text=watched_text, **ctx, **_nav()), status)
    resp.headers["Cache-Control"] = "no-store"  # the page shows secrets
    return resp


@bp.route("/settings/webhooks", methods=["GET", "POST"])
def webhooks():
    p = _me()
    hooks = services().community.webhooks
    if request.method == "POST":
        form = _form()
        try:
            view = hooks.create(p, form["url"], form["watched"], form["domains"] or [], form["secret"],
                                hub_url=_hub_url())
        except (BadRequest, Forbidden) as e:
            return _render("settings/webhooks.html", 400, hooks=hooks.list(p), form=form, error=localize(e.message))
        flash(_("Webhook created."))
        return redirect(f"/settings/webhooks/{view.hex_id}", 303)
    return _render("settings/webhooks.html", hooks=hooks.list(p), form={"domains": list(DOMAINS)}, error=None)


def _mine(hex_id: str) -> WebhookView:
    try:
        return services().community.webhooks.get(auth.current(), hex_id)
    except NotFound:
        abort(404)


@bp.route("/settings/webhooks/<hex_id>", methods=["GET", "POST"])
def webhook(hex_id: str):
    p = _me()
    hooks = services().community.webhooks
    view = _mine(hex_id)
    form: dict[str, Any] = {"url": view.url, "watched": view.watched, "domains": view.domains,
                            "secret": view.secret or ""}
    error = None
    if request.method == "POST":
        form = _form()
        try:
            hooks.update(p, hex_id, url=form["url"], watched=form["watched"] or [{}], domains=form["domains"],
                         secret=form["secret"], hub_url=_hub_url())
        except (BadRequest, Forbidden) as e:
            error = localize(e.message)
        else:
            flash(_("Webhook saved."))
            return redirect(f"/settings/webhooks/{hex_id}", 303)
    return _render("settings/webhook.html", 400 if error else 200, hook=view, form=form, error=error,
                   deliveries=hooks.deliveries(p, hex_id))


@bp.post("/settings/webhooks/<hex_id>/<any(enable, disable):what>")
def toggle(hex_id: str, what: str):
    p = _me()
    _mine(hex_id)
    services().community.webhooks.set_disabled(p, hex_id, what == "disable")
    flash(_("Webhook disabled.") if what == "disable" else _("Webhook enabled."))
    return redirect(f"/settings/webhooks/{hex_id}", 303)


@bp.post("/settings/webhooks/<hex_id>/delete")
def delete(hex_id: str):
    p = _me()
    _mine(hex_id)
    services().community.webhooks.delete(p, hex_id)
    flash(_("Webhook deleted."))
    return redirect("/settings/webhooks", 303)


@bp.post("/settings/webhooks/<hex_id>/deliveries/<delivery_id>/redeliver")
def redeliver(hex_id: str, delivery_id: str):
    p = _me()
    _mine(hex_id)
    try:
        services().community.webhooks.redeliver(p, hex_id, delivery_id)
    except NotFound:
        abort(404)
    flash(_("Delivery queued again."))
    return redirect(f"/settings/webhooks/{hex_id}", 303)
