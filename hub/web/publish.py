"""Pages that change a repository's files: create a model, upload files, edit a file with a live
preview of the model card, delete a file. Every page works without JavaScript; publish.js adds an
upload progress bar and a live preview.

This module holds the one blueprint (web_publish), what its pages share and the new-model page; the
upload page (publish_upload, which streams files into staging) and the edit and delete pages
(publish_edit) add their views to the same blueprint, imported at the bottom, so endpoint names stay
web_publish.<view>.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, redirect, render_template, request
from flask_babel import gettext as _

from community.publishing import ReadOnlyPrincipal
from models_registry import licenses as license_catalogue
from models_registry.commits import AddFile
from models_registry.errors import BadRequest, Conflict, Forbidden, NotFound, RevisionNotFound
from models_registry.names import PR_REF_RE
from models_registry.permissions import can_write

from .. import auth
from ..localize import localize
from ..wiring import services
from .accounts import login_required
from .forms import NewRepoForm
from .helpers import qrev, repo_path

log = logging.getLogger(__name__)
bp = Blueprint("web_publish", __name__)


# ---- shared helpers -------------------------------------------------------------------------
def signed_in():
    """The signed-in principal; anyone else is sent to sign in."""
    login_required()
    return auth.current()


def repo_context(repo, tab: str) -> dict[str, Any]:
    """What models/_header.html needs (tabs, counts)."""
    p = auth.current()
    try:
        open_discussions = services().community.list(p, repo, status="open", page_size=1)[1]
    except Exception:  # the community service is optional decoration here
        open_discussions = 0
    return {"repo": repo, "tab": tab, "is_maintainer": can_write(p, repo.namespace),
            "open_discussions": open_discussions}


def branch_names(repo) -> tuple[list[str], list[str]]:
    """(branches, pull requests' refs/pr/N)."""
    refs = services().registry.repos.refs(repo)
    return [b.name for b in refs.branches], [r.name for r in refs.pull_requests]


def check_commit_rev(repo, rev: str) -> None:
    """Only branches (and open pull requests' refs/pr/N) take commits."""
    branches, prs = branch_names(repo)
    if rev in branches or (PR_REF_RE.match(rev) and rev in prs):
        return
    if not branches and rev == repo.default_branch:
        return
    if rev in prs or PR_REF_RE.match(rev):
        abort(404)
    try:
        services().registry.repos.resolve_revision(repo, rev)
    except RevisionNotFound:
        abort(404)
    raise BadRequest(_("Only branches take commits: %(rev)s is not a branch.", rev=rev))


def commit_mode(p, repo, rev: str) -> str:
    """'pr-ref', 'direct' or 'pr-only' (see community.publishing); refused in the reader's language."""
    try:
        return services().community.commit_mode(p, repo, rev)
    except ReadOnlyPrincipal:
        raise Forbidden(_("Your account is suspended: you can read but not change anything.")) from None


def after_commit_url(repo, rev: str, pr, path: str | None = None) -> str:
    """Where a page goes after a commit: the pull request, the card, the file or the tree."""
    base = repo_path(repo)
    if pr is not None:
        return f"{base}/discussions/{pr.num}"
    if path == "README.md" and rev == repo.default_branch:
        return base
    if path:
        return f"{base}/blob/{qrev(rev)}/{quote(path)}"
    return f"{base}/tree/{qrev(rev)}"


# ---- new repository -------------------------------------------------------------------------
def owner_choices(p) -> list[tuple[str, str]]:
    """Where `p` may put a repository: their own namespace and the organizations they write to."""
    orgs = sorted(o for o, role in p.org_roles.items() if role in ("write", "admin"))
    return [(p.name, p.name), *((o, o) for o in orgs)]


def _license_choices() -> list[tuple[str, str]]:
    rows = sorted(license_catalogue.CATALOGUE.values(), key=lambda lic: lic.name.lower())
    return [("", _("No license")), *((lic.id, f"{lic.name} ({lic.id})") for lic in rows)]


def starter_card(name: str, license_id: str | None) -> str:
    front = f"license: {license_id}\n" if license_id else "tags: []\n"
    return (f"---\n{front}---\n\n# {name}\n\n"
            + _("Describe your model here: what it does, how it was trained, how to use it and its limits.")
            + "\n")


@bp.route("/new", methods=["GET", "POST"])
def new_repo():
    p = signed_in()
    form = NewRepoForm()
    form.owner.choices = owner_choices(p)
    form.license.choices = _license_choices()
    if request.method == "GET":
        form.owner.data = request.args.get("owner") if request.args.get("owner") in dict(form.owner.choices) \
            else p.name
    if form.validate_on_submit():
        reg = services().registry
        owner, name = form.owner.data, form.name.data.strip()
        private = form.visibility.data == "private"
        try:
            repo = reg.repos.create(p, "model", owner, name, private=private)
        except Conflict:
            form.name.errors = [*form.name.errors, _("%(owner)s already has a model named %(name)s.",
                                                     owner=owner, name=name)]
        except (Forbidden, NotFound) as e:
            form.owner.errors = [*form.owner.errors, localize(e.message)]
        except BadRequest as e:
            form.name.errors = [*form.name.errors, localize(e.message)]
        else:
            if form.license.data:
                try:
                    staged = reg.stager.from_bytes(starter_card(name, form.license.data).encode())
                    reg.commits.commit(p, repo, repo.default_branch, [AddFile("README.md", staged)],
                                       _("Add a model card"))
                except Exception:
                    log.exception("adding the starter card to %s failed", repo.repo_id)
                    try:
                        reg.repos.delete(p, "model", repo.repo_id)
                    except Exception:
                        log.exception("removing %s after its failed creation", repo.repo_id)
                    form.name.errors = [*form.name.errors,
                                        _("The model could not be created. Please try again.")]
                    return render_template("publish/new.html", form=form), 500
            return redirect(f"/{repo.repo_id}")
    status = 400 if request.method == "POST" else 200
    return render_template("publish/new.html", form=form), status


# The other pages of this blueprint: imported last, as they import bp and the helpers above.
from . import publish_edit, publish_upload  # noqa: E402,F401
