"""Settings pages: the account (profile, password, access tokens, signed-in sessions), organizations
and their members, and a repository's settings (visibility, gated access and its requests, deletion)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from models_registry.errors import BadRequest, Conflict, Forbidden, NotFound, RegistryError, Unauthorized
from models_registry.gating import questions
from models_registry.permissions import ROLES, can_admin

from .. import auth
from ..localize import ROLE_LABELS, localize
from ..wiring import services
from .accounts import login_required
from .forms import NAME, Form, PasswordForm, ProfileForm, TokenForm
from .pages import load_repo
from .publish import owner_choices, repo_context

bp = Blueprint("web_settings", __name__)

ROLE_LABELS = {"read": _l("Read"), "write": _l("Write"), "admin": _l("Admin")}


# ---- forms (page CSRF is checked once for every page POST, before the view) -----------------
class _NoCsrf(Form):
    class Meta:
        csrf = False


class VisibilityForm(_NoCsrf):
    visibility = RadioField(_l("Visibility"), choices=[("public", _l("Public")), ("private", _l("Private"))])


class GatingForm(_NoCsrf):
    gated = RadioField(_l("Access"), choices=[
        ("off", _l("Not gated: anyone who can see the model can download its files")),
        ("auto", _l("Gated, automatic approval: users accept your terms and get access at once")),
        ("manual", _l("Gated, manual approval: you review every request"))])


class GrantForm(_NoCsrf):
    user = StringField(_l("Username"), validators=[DataRequired(), Length(max=96)])


class DeleteRepoForm(_NoCsrf):
    confirm = StringField(_l("Repository name"), validators=[DataRequired(), Length(max=200)])


MOVE_PREFIX = "move"  # the page's other forms have a `confirm` and a `name` too: ids must stay unique


class MoveRepoForm(_NoCsrf):
    namespace = SelectField(_l("Owner"), choices=[], validate_choice=False)
    name = StringField(_l("New name"), validators=[DataRequired(), Length(max=96)])
    confirm = StringField(_l("Current name"), validators=[DataRequired(), Length(max=200)])


class OrgForm(_NoCsrf):
    name = StringField(_l("Organization name"), validators=[DataRequired(), Length(max=96), NAME])
    fullname = StringField(_l("Display name"), validators=[Optional(), Length(max=200)])


class MemberForm(_NoCsrf):
    user = StringField(_l("Username"), validators=[DataRequired(), Length(max=96)])
    role = SelectField(_l("Role"), choices=[(r, ROLE_LABELS[r]) for r in ROLES], default="read")


def _me():
    login_required()
    return auth.current()


def _nav() -> dict[str, Any]:
    p = auth.current()
    return {"admin_orgs": sorted(o for o, r in p.org_roles.items() if r == "admin"),
            "member_orgs": sorted(o for o, r in p.org_roles.items() if r != "admin")}


# ---- profile and password -------------------------------------------------------------------
def _render_profile(profile_form: ProfileForm | None = None, password_form: PasswordForm | None = None,
                    status: int = 200):
    p = auth.current()
    info = services().registry.accounts.user_profile(p.name) or {}
    if profile_form is None:
        profile_form = ProfileForm(formdata=None, data={"fullname": info.get("fullname") or "",
                                                        "email": info.get("email") or ""})
    if password_form is None:
        password_form = PasswordForm(formdata=None)
    return render_template("settings/profile.html", profile_form=profile_form, password_form=password_form,
                           info=info, section="profile", **_nav()), status


@bp.get("/settings")
def settings_home():
    _me()
    return redirect("/settings/profile")


@bp.route("/settings/profile", methods=["GET", "POST"])
def profile():
    p = _me()
    if request.method == "GET":
        return _render_profile()
    form = ProfileForm()
    if form.validate():
        try:
            services().registry.accounts.update_profile(p.user_id, form.fullname.data or "", (form.email.data or "").strip() or None)
        except Conflict:
            form.email.errors = [*form.email.errors, _("This email address is used by another account.")]
        else:
            flash(_("Profile saved."))
            return redirect("/settings/profile", 303)
    return _render_profile(profile_form=form, status=400)


@bp.post("/settings/password")
def password():
    p = _me()
    form = PasswordForm()
    if form.validate():
        try:
            services().registry.accounts.change_password(p.user_id, form.current.data, form.new.data)
        except Unauthorized:
            form.current.errors = [*form.current.errors, _("The current password is wrong.")]
        except BadRequest as e:
            form.new.errors = [*form.new.errors, localize(e.message)]
        else:
            # Every session ended with the old password, this one too: it goes on under a new
            # secret, so that even a copy of this browser's cookie stops working.
            auth.sign_in(p.user_id)
            flash(_("Password changed. You were signed out everywhere else."))
            return redirect("/settings/profile", 303)
    return _render_profile(password_form=form, status=400)


# ---- access tokens --------------------------------------------------------------------------
def _render_tokens(form: TokenForm | None = None, new_token: str | None = None, status: int = 200):
    p = auth.current()
    tokens = services().registry.accounts.list_tokens(p.name)
    if form is None:
        form = TokenForm(formdata=None)
    resp = make_response(render_template("settings/tokens.html", form=form, tokens=tokens, new_token=new_token,
                                         role_labels=ROLE_LABELS, section="tokens", **_nav()), status)
    resp.headers["Cache-Control"] = "no-store"  # the page may show a secret
    return resp


@bp.route("/settings/tokens", methods=["GET", "POST"])
def tokens():
    p = _me()
    if request.method == "GET":
        return _render_tokens()
    form = TokenForm()
    if form.validate():
        try:
            secret = services().registry.accounts.create_token(p.name, role=form.role.data, label=form.label.data.strip())
        except BadRequest as e:
            form.role.errors = [*form.role.errors, localize(e.message)]
        else:
            # Shown in this response only: it is never stored nor visible again.
            return _render_tokens(new_token=secret, status=201)
    return _render_tokens(form=form, status=400)


@bp.post("/settings/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    p = _me()
    try:
        services().registry.accounts.revoke_token(p.name, token_id)
    except NotFound:
        abort(404)
    flash(_("Token revoked: it no longer works."))
    return redirect("/settings/tokens", 303)


# ---- signed-in sessions ---------------------------------------------------------------------
@bp.get("/settings/sessions")
def sessions():
    p = _me()
    rows = services().registry.accounts.list_sessions(p.user_id, current=auth.session_secret())
    resp = make_response(render_template("settings/sessions.html", sessions=rows, section="sessions", **_nav()))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/settings/sessions/<int:session_id>/revoke")
def revoke_session(session_id: int):
    p = _me()
    try:
        services().registry.accounts.revoke_session(p.user_id, session_id)
    except NotFound:
        abort(404)
    flash(_("That session was signed out."))
    return redirect("/settings/sessions", 303)


@bp.post("/settings/sessions/others/revoke")
def revoke_other_sessions():
    p = _me()
    ended = services().registry.accounts.end_other_sessions(p.user_id, keep=auth.session_secret())
    flash(ngettext("Signed out of %(num)s other session.", "Signed out of %(num)s other sessions.", ended))
    return redirect("/settings/sessions", 303)


# ---- organizations --------------------------------------------------------------------------
@bp.route("/organizations/new", methods=["GET", "POST"])
def new_org():
    p = _me()
    form = OrgForm()
    if request.method == "POST":
        if form.validate():
            name = form.name.data.strip()
            try:
                services().registry.accounts.create_org(name, p.name, fullname=(form.fullname.data or "").strip())
            except Conflict:
                form.name.errors = [*form.name.errors, _("The name %(name)s is already taken.", name=name)]
            except (BadRequest, NotFound) as e:
                form.name.errors = [*form.name.errors, localize(e.message)]
            else:
                flash(_("Organization %(name)s created. You are its admin.", name=name))
                return redirect(f"/organizations/{name}/members", 303)
        return render_template("settings/new_org.html", form=form, section="orgs", **_nav()), 400
    return render_template("settings/new_org.html", form=form, section="orgs", **_nav())


def _org_for_admin(org: str) -> dict:
    p = _me()
    info = services().registry.accounts.org_profile(org)
    if info is None:
        abort(404)
    if not (p.is_admin or p.org_roles.get(org) == "admin"):
        raise Forbidden(_("Only the admins of %(org)s manage its members.", org=org))
    return info


def _render_members(org: str, info: dict, form: MemberForm | None = None, row_error: tuple[str, str] | None = None,
                    status: int = 200):
    if form is None:
        form = MemberForm(formdata=None)
    can_remove = True
    return render_template("settings/members.html", org=org, info=info, form=form, row_error=row_error,
                           roles=ROLES, role_labels=ROLE_LABELS, can_remove=can_remove, section="orgs",
                           **_nav()), status


@bp.route("/organizations/<org>/members", methods=["GET", "POST"])
def members(org: str):
    info = _org_for_admin(org)
    if request.method == "GET":
        return _render_members(org, info)
    form = MemberForm()
    if form.validate():
        user = form.user.data.strip()
        if any(m["name"] == user for m in info["members"]):
            form.user.errors = [*form.user.errors, _("%(user)s is already a member: change their role below.",
                                                     user=user)]
        elif services().registry.accounts.namespace_kind(user) != "user":
            form.user.errors = [*form.user.errors, _("There is no user named %(user)s.", user=user)]
        else:
            try:
                services().registry.accounts.set_member(org, user, form.role.data)
            except (BadRequest, NotFound) as e:
                form.user.errors = [*form.user.errors, localize(e.message)]
            else:
                flash(_("%(user)s joined %(org)s.", user=user, org=org))
                return redirect(f"/organizations/{org}/members", 303)
    return _render_members(org, info, form=form, status=400)


def _last_admin(info: dict, user: str) -> bool:
    admins = [m["name"] for m in info["members"] if m["role"] == "admin"]
    return admins == [user]


@bp.post("/organizations/<org>/members/<user>/role")
def member_role(org: str, user: str):
    info = _org_for_admin(org)
    role = request.form.get("role", "")
    if not any(m["name"] == user for m in info["members"]):
        abort(404)
    if role not in ROLES:
        return _render_members(org, info, row_error=(user, _("Choose a role.")), status=400)
    if role != "admin" and _last_admin(info, user):
        return _render_members(org, info, row_error=(user, _("An organization needs at least one admin.")), status=400)
    services().registry.accounts.set_member(org, user, role)
    flash(_("%(user)s is now %(role)s of %(org)s.", user=user, role=ROLE_LABELS[role], org=org))
    return redirect(f"/organizations/{org}/members", 303)


@bp.post("/organizations/<org>/members/<user>/remove")
def member_remove(org: str, user: str):
    info = _org_for_admin(org)
    if not any(m["name"] == user for m in info["members"]):
        abort(404)
    if _last_admin(info, user):
        return _render_members(org, info, row_error=(user, _("An organization needs at least one admin.")), status=400)
    services().registry.accounts.remove_member(org, user)
    flash(_("%(user)s was removed from %(org)s.", user=user, org=org))
    return redirect(f"/organizations/{org}/members", 303)


# ---- repository settings --------------------------------------------------------------------
def _settings_repo(ns: str, name: str, need: str):
    p = _me()
    load_repo(ns, name)  # invisible repositories are the 404 page, before any rights question
    return p, services().registry.repos.get("model", f"{ns}/{name}", p, need=need)


def _render_repo_settings(repo, status: int = 200, **forms):
    p = auth.current()
    reg = services().registry
    is_admin = can_admin(p, repo.namespace)
    vis = forms.get("visibility_form") or VisibilityForm(
        formdata=None, data={"visibility": "private" if repo.private else "public"})
    gate = forms.get("gating_form") or GatingForm(formdata=None, data={"gated": repo.gated or "off"})
    grant = forms.get("grant_form") or GrantForm(formdata=None)
    delete = forms.get("delete_form") or DeleteRepoForm(formdata=None)
    move = forms.get("move_form") or MoveRepoForm(formdata=None, prefix=MOVE_PREFIX,
                                                  data={"namespace": repo.namespace, "name": repo.name})
    move.namespace.choices = owner_choices(p)
    requests = {s: reg.gating.list_requests(p, repo, s) for s in ("pending", "accepted", "rejected")}
    return render_template("settings/repo.html", visibility_form=vis, gating_form=gate, grant_form=grant,
                           delete_form=delete, move_form=move, requests=requests, is_admin=is_admin,
                           access_error=forms.get("access_error"), questions=questions(repo),
                           **repo_context(repo, "settings")), status


@bp.get("/<ns>/<name>/settings")
def repo_settings(ns: str, name: str):
    _p, repo = _settings_repo(ns, name, "write")
    return _render_repo_settings(repo)


@bp.post("/<ns>/<name>/settings/visibility")
def repo_visibility(ns: str, name: str):
    p, repo = _settings_repo(ns, name, "admin")
    form = VisibilityForm()
    if form.validate():
        services().registry.repos.update_settings(p, "model", repo.repo_id, private=form.visibility.data == "private")
        flash(_("This model is now private.") if form.visibility.data == "private" else _("This model is now public."))
        return redirect(f"/{repo.repo_id}/settings", 303)
    return _render_repo_settings(repo, 400, visibility_form=form)


@bp.post("/<ns>/<name>/settings/history")
def repo_history(ns: str, name: str):
    """Whether git pushes may rewrite the default branch's history (force-push)."""
    p, repo = _settings_repo(ns, name, "admin")
    allow = request.form.get("allow_force_push") in ("1", "on", "true")
    services().registry.repos.update_settings(p, "model", repo.repo_id, allow_force_push=allow)
    flash(_("Force-pushes to the default branch are now allowed.") if allow
          else _("Force-pushes to the default branch are now refused."))
    return redirect(f"/{repo.repo_id}/settings#history", 303)


@bp.post("/<ns>/<name>/settings/gating")
def repo_gating(ns: str, name: str):
    p, repo = _settings_repo(ns, name, "admin")
    form = GatingForm()
    if form.validate():
        value = form.gated.data
        services().registry.repos.update_settings(p, "model", repo.repo_id, gated=False if value == "off" else value)
        flash(_("Access settings saved."))
        return redirect(f"/{repo.repo_id}/settings#access", 303)
    return _render_repo_settings(repo, 400, gating_form=form)


ACCESS_ACTIONS = {"accept": "accepted", "reject": "rejected", "revoke": "rejected", "pending": "pending"}


@bp.post("/<ns>/<name>/settings/access")
def repo_access(ns: str, name: str):
    p, repo = _settings_repo(ns, name, "write")
    action, user = request.form.get("action", ""), request.form.get("user", "")
    if action not in ACCESS_ACTIONS or not user:
        return _render_repo_settings(repo, 400, access_error=_("Unknown action."))
    try:
        services().registry.gating.handle(p, repo, ACCESS_ACTIONS[action], user=user)
    except NotFound:
        return _render_repo_settings(repo, 400, access_error=_("%(user)s has no access request.", user=user))
    messages = {"accept": _("%(user)s now has access.", user=user), "reject": _("%(user)s's request was rejected.", user=user),
                "revoke": _("%(user)s's access was revoked.", user=user),
                "pending": _("%(user)s's request is pending again.", user=user)}
    flash(messages[action])
    return redirect(f"/{repo.repo_id}/settings#requests", 303)


@bp.post("/<ns>/<name>/settings/grant")
def repo_grant(ns: str, name: str):
    p, repo = _settings_repo(ns, name, "write")
    form = GrantForm()
    if form.validate():
        user = form.user.data.strip()
        try:
            services().registry.gating.grant(p, repo, user)
        except NotFound:
            form.user.errors = [*form.user.errors, _("There is no user named %(user)s.", user=user)]
        except BadRequest as e:
            form.user.errors = [*form.user.errors, localize(e.message)]
        else:
            flash(_("%(user)s now has access.", user=user))
            return redirect(f"/{repo.repo_id}/settings#requests", 303)
    return _render_repo_settings(repo, 400, grant_form=form)


@bp.post("/<ns>/<name>/settings/delete")
def repo_delete(ns: str, name: str):
    p, repo = _settings_repo(ns, name, "admin")
    form = DeleteRepoForm()
    if form.validate():
        if form.confirm.data.strip() != repo.repo_id:
            form.confirm.errors = [*form.confirm.errors, _("Type %(id)s exactly to confirm.", id=repo.repo_id)]
        else:
            try:
                services().registry.repos.delete(p, "model", repo.repo_id)
            except RegistryError as e:
                form.confirm.errors = [*form.confirm.errors, localize(e.message)]
            else:
                flash(_("%(id)s was deleted.", id=repo.repo_id))
                return redirect(f"/{repo.namespace}", 303)
    return _render_repo_settings(repo, 400, delete_form=form)



@bp.post("/<ns>/<name>/settings/move")
def repo_move(ns: str, name: str):
    """Rename the repository or transfer it to another owner (the user, or an organization where they
    can write), as the Hub's move_repo: the old name keeps leading to it (pages, API and git)."""
    p, repo = _settings_repo(ns, name, "admin")
    form = MoveRepoForm(prefix=MOVE_PREFIX)
    form.namespace.choices = owner_choices(p)
    if form.validate():
        to_id = f"{form.namespace.data}/{form.name.data.strip()}"
        if form.confirm.data.strip() != repo.repo_id:
            form.confirm.errors = [*form.confirm.errors, _("Type %(id)s exactly to confirm.", id=repo.repo_id)]
        elif form.namespace.data not in dict(form.namespace.choices):
            form.namespace.errors = [*form.namespace.errors, _("You cannot move repositories to %(owner)s.",
                                                               owner=form.namespace.data)]
        elif to_id == repo.repo_id:
            form.name.errors = [*form.name.errors, _("Choose a new name or another owner.")]
        else:
            try:
                moved = services().registry.repos.move(p, "model", repo.repo_id, to_id)
            except RegistryError as e:
                form.name.errors = [*form.name.errors, localize(e.message)]
            else:
                flash(_("%(old)s is now %(new)s.", old=repo.repo_id, new=moved.repo_id))
                return redirect(f"/{moved.repo_id}/settings", 303)
    return _render_repo_settings(repo, 400, move_form=form)
