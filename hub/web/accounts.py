"""Sign up, sign in, sign out and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from models_registry.errors import BadRequest, Conflict, Unauthorized

from .. import auth
from ..services import registry
from . import LANGUAGES
from .forms import JoinForm, LoginForm
from .helpers import safe_next

bp = Blueprint("web_accounts", __name__)


def sign_in(user_id: int) -> None:
    session.clear()
    session["uid"] = user_id
    session["pw"] = registry().accounts.fingerprint(user_id)
    session.permanent = True


@bp.route("/join", methods=["GET", "POST"])
def join():
    form = JoinForm()
    if form.validate_on_submit():
        try:
            uid = registry().accounts.create_user(form.username.data, form.password.data, email=form.email.data or None)
        except Conflict:
            form.username.errors = [*form.username.errors, _("This username or email is already taken.")]
        except BadRequest as e:
            form.username.errors = [*form.username.errors, e.message]
        else:
            sign_in(uid)
            return redirect(safe_next(request.args.get("next")))
    return render_template("accounts/join.html", form=form), 400 if form.errors else 200


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            p = registry().accounts.authenticate_password(form.username.data, form.password.data)
        except Unauthorized:
            error = _("Wrong username or password.")
        else:
            sign_in(p.user_id)
            return redirect(safe_next(request.args.get("next")))
    status = 400 if (form.errors or error) else 200
    return render_template("accounts/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    session.clear()
    return redirect("/")


@bp.get("/lang/<code>")
def set_language(code: str):
    if code not in LANGUAGES:
        abort(404)
    resp = make_response(redirect(safe_next(request.args.get("next") or request.referrer and
                                             urlsplit(request.referrer).path)))
    resp.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return resp


def login_required() -> None:
    if auth.current() is None:
        abort(redirect(url_for("web_accounts.login", next=request.full_path.rstrip("?"))))
