"""The pages that create a file, edit one (with a live preview of the model card) and delete one."""

from __future__ import annotations

import posixpath
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from community.publishing import opens_pr
from models_registry import cards
from models_registry.commits import AddFile, DeletePath
from models_registry.errors import (BadRequest, Conflict, EntryNotFound, InvalidPath, PreconditionFailed,
                                   RevisionNotFound)
from models_registry.names import validate_path
from models_registry.rendering import render_markdown

from .. import auth
from ..localize import localize
from ..wiring import services
from .forms import CommitMessageForm
from .helpers import repo_path
from .pages import load_repo
from .publish import (after_commit_url, bp, branch_names, check_commit_rev, commit_mode, repo_context, signed_in,
                      starter_card)

MAX_EDIT_BYTES = cards.MAX_CARD_BYTES  # files edited in the browser (and previews)


class EditForm(CommitMessageForm):
    class Meta:
        csrf = False

    content = TextAreaField(_l("Content"), validators=[Length(max=MAX_EDIT_BYTES)])
    parent = HiddenField()


class NewFileForm(EditForm):
    path = StringField(_l("File path"), validators=[DataRequired(), Length(max=1000)])
    existing: str | None = None  # the path, when a file is there already (the page links its editor)


class DeleteFileForm(CommitMessageForm):
    class Meta:
        csrf = False


def _split_rev_path(marker: str, path_required: bool = True) -> tuple[str, str]:
    """(revision, path) after /<ns>/<name>/<marker>/ in the *raw* request path: the revision may be
    refs/pr/N, sent percent-encoded ('refs%2Fpr%2F1'), which PATH_INFO has already decoded."""
    from ..api.common import raw_path_segments

    segs = raw_path_segments()
    try:
        i = segs.index(marker, 3)
    except ValueError:
        abort(404)
    rest = segs[i + 1:]
    if rest and not rest[-1] and not path_required:  # /new/main/folder/
        rest = rest[:-1]
    if len(rest) < (2 if path_required else 1) or not rest[0] or not all(rest[1:]):
        abort(404)
    return rest[0], "/".join(rest[1:])


def _commit_target(ns: str, name: str, marker: str):
    """(principal, repo, revision, path, commit mode) of an edit or delete page, each checked."""
    p = signed_in()
    repo = load_repo(ns, name)
    rev, path = _split_rev_path(marker)
    validate_path(path)
    mode = commit_mode(p, repo, rev)
    check_commit_rev(repo, rev)
    return p, repo, rev, path, mode


def _problems(items) -> list[dict[str, Any]]:
    return [{"message": localize(p.message), "line": p.line, "field": p.field, "text": localize(p.text)}
            for p in items]


# ---- edit and preview -----------------------------------------------------------------------
def _is_card(path: str) -> bool:
    return path == "README.md"


def _is_markdown(path: str) -> bool:
    return path.lower().endswith((".md", ".markdown"))


def preview_data(repo, rev: str, path: str, text: str) -> dict[str, Any]:
    # The preview sits under the form's "Preview" heading (h3): its headings start one level below.
    html = render_markdown(text, repo_path=repo_path(repo), revision=rev,
                           doc_dir=posixpath.dirname(path), strip_front_matter=_is_card(path),
                           heading_level=4) \
        if _is_markdown(path) else ""
    if _is_card(path):
        report = cards.parse_card(text)
        return {"html": html, "errors": _problems(report.errors), "warnings": _problems(report.warnings)}
    return {"html": html, "errors": [], "warnings": []}


def _load_text(repo, rev: str, path: str) -> tuple[str | None, str]:
    """(current text or None for a new file, commit it was read at)."""
    reg = services().registry
    try:
        commit = reg.repos.resolve_revision(repo, rev)
    except RevisionNotFound:
        if not branch_names(repo)[0] and rev == repo.default_branch:
            return None, ""
        abort(404)
    try:
        f = reg.repos.resolve_file(repo, commit, path)
    except EntryNotFound:
        return None, commit
    if f.lfs is not None or f.size > MAX_EDIT_BYTES:
        raise BadRequest(_("%(path)s is too large (or stored with LFS) to be edited in the browser.", path=path))
    data = reg.repos.read_regular(repo, f.blob_sha)
    try:
        return data.decode("utf-8"), commit
    except UnicodeDecodeError:
        raise BadRequest(_("%(path)s is not a text file: it cannot be edited in the browser.", path=path)) from None


@bp.route("/<ns>/<name>/edit/<path:rest>", methods=["GET", "POST"])
def edit(ns: str, name: str, rest: str):
    p, repo, rev, path, mode = _commit_target(ns, name, "edit")
    current, commit = _load_text(repo, rev, path)
    form = EditForm()
    if request.method == "GET":
        form.content.data = current if current is not None else (
            starter_card(repo.name, None) if _is_card(path) else "")
        form.parent.data = commit
    text = (form.content.data or "").replace("\r\n", "\n")
    form.content.data = text
    preview = preview_data(repo, rev, path, text)
    status = 200
    if request.method == "POST":
        if not form.validate():
            status = 400
        elif request.form.get("action") == "commit":
            status = 400  # unless it commits, below
            if preview["errors"]:
                form.content.errors = [*form.content.errors, _(
                    "Nothing was committed: the model card metadata has errors (see below).")]
            else:
                redirect_to = _commit_edit(p, repo, rev, path, mode, form, text, current is None)
                if redirect_to:
                    return redirect(redirect_to, 303)
    return render_template("publish/edit.html", form=form, rev=rev, path=path, mode=mode, is_new=current is None,
                           preview=preview, is_markdown=_is_markdown(path), is_card=_is_card(path),
                           **repo_context(repo, "card" if _is_card(path) else "files")), status


@bp.route("/<ns>/<name>/new/<path:rest>", methods=["GET", "POST"])
def new_file(ns: str, name: str, rest: str):
    """Create a file in the browser (the file list's "Create a new file"): its path, its text and the
    commit message; a pull request for who may only propose changes. An existing file is not
    overwritten here (its editor is linked instead)."""
    p = signed_in()
    repo = load_repo(ns, name)
    rev, folder = _split_rev_path("new", path_required=False)
    mode = commit_mode(p, repo, rev)
    check_commit_rev(repo, rev)
    form = NewFileForm()
    status = 200
    if request.method == "GET":
        form.path.data = f"{folder}/" if folder else ""
    else:
        status = 400  # unless it commits, below
        text = (form.content.data or "").replace("\r\n", "\n")
        form.content.data = text
        path = (form.path.data or "").strip()
        if form.validate() and _new_path_ok(repo, rev, path, form):
            if _is_card(path) and preview_data(repo, rev, path, text)["errors"]:
                form.content.errors = [*form.content.errors, _(
                    "Nothing was committed: the model card metadata has errors.")]
            else:
                _current, form.parent.data = _load_text(repo, rev, path)
                redirect_to = _commit_edit(p, repo, rev, path, mode, form, text, True)
                if redirect_to:
                    return redirect(redirect_to, 303)
    return render_template("publish/new_file.html", form=form, rev=rev, folder=folder, mode=mode,
                           **repo_context(repo, "files")), status


def _new_path_ok(repo, rev: str, path: str, form: NewFileForm) -> bool:
    """Whether a new file may be created at `path`; if not, why, on the form's path field."""
    try:
        validate_path(path)
    except InvalidPath as e:
        form.path.errors = [*form.path.errors, localize(e.message)]
        return False
    reg = services().registry
    try:
        commit = reg.repos.resolve_revision(repo, rev)
    except RevisionNotFound:
        return True  # an empty repository: nothing to clash with
    if reg.repos.exists_at(repo, commit, path):
        form.path.errors = [*form.path.errors, _(
            "%(path)s already exists. Edit it instead, or choose another path.", path=path)]
        form.existing = path
        return False
    return True  # a clash with a folder is the commit's to refuse (models_registry.commits)


def _commit_edit(p, repo, rev: str, path: str, mode: str, form: EditForm, text: str, is_new: bool) -> str | None:
    """Commit the edited text; the URL to go to, or None with the errors put on the form."""
    default = _("Create %(path)s", path=path) if is_new else _("Update %(path)s", path=path)
    summary = (form.summary.data or "").strip() or default
    create_pr = opens_pr(mode, form.create_pr.data)
    reg = services().registry
    staged = reg.stager.from_bytes(text.encode("utf-8"))
    try:
        result, pr = services().community.commit_or_open_pr(
            p, repo, rev, [AddFile(path, staged)], summary, form.description.data or "", create_pr,
            parent_commit=(form.parent.data or None) if mode == "direct" else None)
    except PreconditionFailed:
        form.content.errors = [*form.content.errors, _(
            "Someone changed this branch since you opened the editor. Commit again to replace their "
            "version of %(path)s with yours.", path=path)]
        form.parent.data = reg.repos.resolve_revision(repo, rev)
        return None
    except (BadRequest, Conflict, EntryNotFound) as e:
        errs = e.extra.get("errors") if isinstance(e.extra.get("errors"), list) else (e.message,)
        form.content.errors = [*form.content.errors, *(localize(m) for m in errs)]
        return None
    for w in result.warnings:
        flash(_("Model card warning: %(w)s", w=localize(w)), "warning")
    flash(_("Pull request opened with your changes.") if pr else _("Changes committed."))
    return after_commit_url(repo, rev, pr, path)


@bp.post("/<ns>/<name>/preview")
def preview(ns: str, name: str):
    """JSON {text, path?, rev?} -> {html, errors, warnings}: the editor's live preview."""
    if auth.current() is None:
        return jsonify({"error": _("Sign in to preview.")}), 401
    repo = load_repo(ns, name)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        return jsonify({"error": _("Send a JSON object with a 'text' string.")}), 400
    text = body["text"]
    if len(text.encode("utf-8", "replace")) > MAX_EDIT_BYTES:
        return jsonify({"error": _("The text is larger than %(n)s KiB.", n=MAX_EDIT_BYTES // 1024)}), 413
    path = body.get("path") if isinstance(body.get("path"), str) and body.get("path") else "README.md"
    rev = body.get("rev") if isinstance(body.get("rev"), str) and body.get("rev") else repo.default_branch
    try:
        validate_path(path)
    except BadRequest as e:
        return jsonify({"error": localize(e.message)}), 400
    return jsonify(preview_data(repo, rev, path, text.replace("\r\n", "\n")))


# ---- delete a file --------------------------------------------------------------------------
@bp.route("/<ns>/<name>/delete/<path:rest>", methods=["GET", "POST"])
def delete_file(ns: str, name: str, rest: str):
    p, repo, rev, path, mode = _commit_target(ns, name, "delete")
    reg = services().registry
    try:
        f = reg.repos.resolve_file(repo, rev, path)
    except (EntryNotFound, RevisionNotFound):
        abort(404)
    form = DeleteFileForm()
    form_error = None
    if request.method == "POST" and form.validate():
        summary = (form.summary.data or "").strip() or _("Delete %(path)s", path=path)
        create_pr = opens_pr(mode, form.create_pr.data)
        try:
            _result, pr = services().community.commit_or_open_pr(p, repo, rev, [DeletePath(path)], summary,
                                                        form.description.data or "", create_pr)
        except (BadRequest, Conflict, PreconditionFailed, EntryNotFound) as e:
            form_error = localize(e.message)
        else:
            flash(_("Pull request opened to delete %(path)s.", path=path) if pr
                  else _("%(path)s deleted.", path=path))
            return redirect(after_commit_url(repo, rev, pr), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("publish/delete.html", form=form, rev=rev, path=path, file=f, mode=mode,
                           form_error=form_error, **repo_context(repo, "files")), status
