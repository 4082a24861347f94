"""Sign up, sign in, sign out and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from models_registry.errors import BadRequest, Conflict, Unauthorized

from .. import auth
from ..localize import localize
from ..wiring import services
from . import LANGUAGES
from .forms import JoinForm, LoginForm
from .helpers import safe_next

bp = Blueprint("web_accounts", __name__)


@bp.route("/join", methods=["GET", "POST"])
def join():
    form = JoinForm()
    if form.validate_on_submit():
        try:
            uid = services().registry.accounts.create_user(form.username.data, form.password.data, email=form.email.data or None)
        except Conflict:
            form.username.errors = [*form.username.errors, _("This username or email is already taken.")]
        except BadRequest as e:
            form.username.errors = [*form.username.errors, localize(e.message)]
        else:
            auth.sign_in(uid)
            return redirect(safe_next(request.args.get("next")))
    return render_template("accounts/join.html", form=form), 400 if form.errors else 200


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            p = services().registry.accounts.authenticate_password(form.username.data, form.password.data)
        except Unauthorized:
            error = _("Wrong username or password.")
        else:
            auth.sign_in(p.user_id)
            return redirect(safe_next(request.args.get("next")))
    status = 400 if (form.errors or error) else 200
    return render_template("accounts/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    auth.sign_out()  # the session row goes: a copy of the cookie signs nobody in any more
    return redirect("/")


@bp.get("/lang/<code>")
def set_language(code: str):
    if code not in LANGUAGES:
        abort(404)
    resp = make_response(redirect(safe_next(request.args.get("next") or request.referrer and
                                             urlsplit(request.referrer).path)))
    resp.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                    secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return resp


def login_required() -> None:
    if auth.current() is None:
        abort(redirect(url_for("web_accounts.login", next=request.full_path.rstrip("?"))))


def site_admin_required():
    """The signed-in site admin; for anyone else the admin pages do not exist (the 404 page)."""
    p = auth.current()
    if p is None or not p.is_admin:
        abort(404)
    return p
