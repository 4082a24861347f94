"""The admin pages of site admins: users (find one and sign them out everywhere: every web session
ends at once; access tokens are the user's to revoke), and model files the security scanner flagged
across the hub. Everyone else gets the 404 page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import ngettext

from models_registry.errors import NotFound

from ..wiring import services
from .accounts import site_admin_required

bp = Blueprint("web_admin", __name__)


@bp.get("/admin/users")
def users():
    p = site_admin_required()
    q = request.args.get("q", "").strip()[:96]
    return render_template("admin/users.html", users=services().registry.accounts.users_for_admin(p, q), q=q)


@bp.post("/admin/users/<name>/sign-out")
def sign_out_everywhere(name: str):
    p = site_admin_required()
    try:
        ended = services().registry.accounts.sign_out_everywhere(p, name)
    except NotFound:
        abort(404)
    flash(ngettext("%(user)s was signed out of %(num)s session.", "%(user)s was signed out of %(num)s sessions.",
                   ended, user=name))
    return redirect(url_for("web_admin.users", q=name), 303)


@bp.get("/admin/scans")
def scans():
    """Flagged files of every repository, private ones too (site admins see all), filtered by level."""
    site_admin_required()
    status = request.args.get("status", "")
    status = status if status in ("dangerous", "suspicious") else ""
    return render_template("admin/scans.html", files=services().registry.scanning.flagged(status or None),
                           status=status)

