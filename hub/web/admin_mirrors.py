"""The mirrors admin page: followed mirrors, their last result and history, failures and the
license/gating alerts to acknowledge. Site admins only; everyone else gets the 404 page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template
from flask_babel import gettext as _

from models_registry.errors import NotFound
from models_registry.sync.followed import format_duration

from ..wiring import services
from .accounts import site_admin_required as _admin

bp = Blueprint("web_mirrors", __name__)


@bp.get("/admin/mirrors")
def index():
    _admin()
    mirrors = services().registry.mirrors
    rows = mirrors.list()
    return render_template("admin/mirrors.html", mirrors=rows, runs=mirrors.runs(limit=100),
                           by_id={m.id: m for m in rows}, alerts=mirrors.alerts(),
                           every=format_duration)


@bp.post("/admin/mirrors/alerts/<int:alert_id>/ack")
def acknowledge(alert_id: int):
    p = _admin()
    try:
        a = services().registry.mirrors.acknowledge(alert_id, p.name)
    except NotFound:
        abort(404)
    flash(_("Accepted the upstream change of %(repo)s: it is shown from now on.", repo=a.repo_id))
    return redirect("/admin/mirrors")
