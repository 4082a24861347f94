"""Pages that change a repository's files: create a model, upload files, edit a file with a live
preview of the model card, delete a file.

Uploads stream: the multipart body is parsed by werkzeug's streaming parser, and each file part is
written straight into a staging file of the registry (hashed on the way), never held in memory.
Every page works without JavaScript; publish.js adds an upload progress bar and a live preview.
"""

from __future__ import annotations

import logging
import posixpath
from typing import Any
from urllib.parse import quote

from flask import (Blueprint, abort, flash, g, jsonify, redirect, render_template, request)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import HiddenField, MultipleFileField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from community.publishing import ReadOnlyPrincipal, opens_pr
from models_registry import cards
from models_registry import licenses as license_catalogue
from models_registry.commits import AddFile, DeletePath
from models_registry.errors import (BadRequest, Conflict, EntryNotFound, Forbidden, NotFound, PayloadTooLarge,
                                    PreconditionFailed, RegistryError, RevisionNotFound)
from models_registry.names import PR_REF_RE, validate_path
from models_registry.permissions import can_write
from models_registry.rendering import render_markdown

from .. import auth
from ..services import community, registry
from .accounts import login_required
from .forms import CommitMessageForm, NewRepoForm
from .helpers import qrev, repo_path
from .pages import load_repo

log = logging.getLogger(__name__)
bp = Blueprint("web_publish", __name__)

MAX_EDIT_BYTES = cards.MAX_CARD_BYTES  # files edited in the browser (and previews)


# ---- forms ----------------------------------------------------------------------------------
class UploadForm(CommitMessageForm):
    class Meta:
        csrf = False  # every page POST is checked once, before the view (hub.web.init_app)

    folder = StringField(_l("Folder in the repository"), validators=[Optional(), Length(max=900)])
    files = MultipleFileField(_l("Files"))


class EditForm(CommitMessageForm):
    class Meta:
        csrf = False

    content = TextAreaField(_l("Content"), validators=[Length(max=MAX_EDIT_BYTES)])
    parent = HiddenField()


class DeleteFileForm(CommitMessageForm):
    class Meta:
        csrf = False


# ---- shared helpers -------------------------------------------------------------------------
def _me():
    login_required()
    return auth.current()


def repo_context(repo, tab: str) -> dict[str, Any]:
    """What models/_header.html needs (tabs, counts)."""
    p = auth.current()
    try:
        open_discussions = community().list(p, repo, status="open", page_size=1)[1]
    except Exception:  # the community service is optional decoration here
        open_discussions = 0
    return {"repo": repo, "tab": tab, "is_maintainer": can_write(p, repo.namespace),
            "open_discussions": open_discussions}


def _split_rev_path(marker: str) -> tuple[str, str]:
    """(revision, path) after /<ns>/<name>/<marker>/ in the *raw* request path: the revision may be
    refs/pr/N, sent percent-encoded ('refs%2Fpr%2F1'), which PATH_INFO has already decoded."""
    from ..api.common import raw_path_segments

    segs = raw_path_segments()
    try:
        i = segs.index(marker, 3)
    except ValueError:
        abort(404)
    rest = segs[i + 1:]
    if len(rest) < 2 or not rest[0] or not all(rest[1:]):
        abort(404)
    return rest[0], "/".join(rest[1:])


def _branches(repo) -> tuple[list[str], list[str]]:
    refs = registry().repos.refs(repo)
    return [b.name for b in refs.branches], [r.name for r in refs.pull_requests]


def _check_commit_rev(repo, rev: str) -> None:
    """Only branches (and open pull requests' refs/pr/N) take commits."""
    branches, prs = _branches(repo)
    if rev in branches or (PR_REF_RE.match(rev) and rev in prs):
        return
    if not branches and rev == repo.default_branch:
        return
    if rev in prs or PR_REF_RE.match(rev):
        abort(404)
    try:
        registry().repos.resolve_revision(repo, rev)
    except RevisionNotFound:
        abort(404)
    raise BadRequest(_("Only branches take commits: %(rev)s is not a branch.", rev=rev))


def commit_mode(p, repo, rev: str) -> str:
    """'pr-ref', 'direct' or 'pr-only' (see community.publishing); refused in the reader's language."""
    try:
        return community().commit_mode(p, repo, rev)
    except ReadOnlyPrincipal:
        raise Forbidden(_("Your account is suspended: you can read but not change anything.")) from None


def _after_commit_url(repo, rev: str, pr, path: str | None = None) -> str:
    base = repo_path(repo)
    if pr is not None:
        return f"{base}/discussions/{pr.num}"
    if path == "README.md" and rev == repo.default_branch:
        return base
    if path:
        return f"{base}/blob/{qrev(rev)}/{quote(path)}"
    return f"{base}/tree/{qrev(rev)}"


def _problems(items) -> list[dict[str, Any]]:
    return [{"message": p.message, "line": p.line, "field": p.field, "text": str(p)} for p in items]


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


# ---- new repository -------------------------------------------------------------------------
def _owner_choices(p) -> list[tuple[str, str]]:
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
    p = _me()
    form = NewRepoForm()
    form.owner.choices = _owner_choices(p)
    form.license.choices = _license_choices()
    if request.method == "GET":
        form.owner.data = request.args.get("owner") if request.args.get("owner") in dict(form.owner.choices) \
            else p.name
    if form.validate_on_submit():
        reg = registry()
        owner, name = form.owner.data, form.name.data.strip()
        private = form.visibility.data == "private"
        try:
            repo = reg.repos.create(p, "model", owner, name, private=private)
        except Conflict:
            form.name.errors = [*form.name.errors, _("%(owner)s already has a model named %(name)s.",
                                                     owner=owner, name=name)]
        except (Forbidden, NotFound) as e:
            form.owner.errors = [*form.owner.errors, e.message]
        except BadRequest as e:
            form.name.errors = [*form.name.errors, e.message]
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


# ---- upload (streaming) ---------------------------------------------------------------------
class _StagingSink:
    """The file object werkzeug's multipart parser writes one file part into: a registry staging
    file, hashed as it is written. Nothing of the part stays in memory."""

    def __init__(self, writer) -> None:
        self.writer = writer
        self.staged = None
        self.closed = False

    def write(self, data: bytes) -> int:
        self.writer.write(data)
        return len(data)

    def seek(self, *args) -> int:  # the parser rewinds a finished part; we read the staged file instead
        return 0

    def tell(self) -> int:
        return self.writer.size

    def read(self, *args) -> bytes:
        return b""

    def finish(self):
        if self.staged is None:
            self.staged = self.writer.finish()
        return self.staged

    def close(self) -> None:
        pass  # the request closes its files before teardown; discard() decides

    def discard(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.staged is None:
            self.writer.abort()
        else:
            self.staged.discard()


class _Discard:
    """For a part nobody may store (not signed in): read and dropped, so the client gets our answer."""

    size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)

    def seek(self, *args) -> int:
        return 0

    def tell(self) -> int:
        return self.size

    def read(self, *args) -> bytes:
        return b""

    def close(self) -> None:
        pass

    def discard(self) -> None:
        pass


def _may_stage() -> bool:
    """Checked when the first file part arrives (the principal is known by then: the form is parsed
    by the CSRF check, after authentication). A cross-site post carries no session (SameSite=Lax)."""
    if "may_stage" not in g:
        p = auth.current()
        ok = p is not None and p.can_write_at_all
        if ok:
            args = request.view_args or {}
            try:
                registry().repos.get("model", f"{args.get('ns')}/{args.get('name')}", p)  # may read it
            except RegistryError:
                ok = False
        g.may_stage = ok
    return g.may_stage


def _staging_stream(total_content_length=None, content_type=None, filename=None, content_length=None):
    reg = registry()
    sinks = g.setdefault("upload_sinks", [])
    if total_content_length and total_content_length > reg.settings.max_commit_bytes:
        raise PayloadTooLarge(_("The upload is larger than the limit of %(n)s bytes.",
                                n=reg.settings.max_commit_bytes))
    sink = _StagingSink(reg.stager.writer(max_bytes=reg.settings.max_lfs_object_bytes)) if _may_stage() \
        else _Discard()
    sinks.append(sink)
    return sink


@bp.url_value_preprocessor
def _stream_uploads(endpoint, values) -> None:
    # url_value_preprocessors run before every before_request function, so before the CSRF check
    # that parses the form: from here on, file parts stream into staging files.
    if endpoint == "web_publish.upload" and request.method == "POST":
        request._get_current_object()._get_file_stream = _staging_stream


@bp.teardown_request
def _discard_unused_uploads(exc) -> None:
    for sink in g.pop("upload_sinks", []):
        try:
            sink.discard()
        except Exception:
            log.exception("discarding a staged upload")


def _upload_paths(form: UploadForm, uploads) -> list[str] | None:
    folder = (form.folder.data or "").strip().strip("/")
    if folder:
        try:
            validate_path(folder)
        except BadRequest as e:
            form.folder.errors = [*form.folder.errors, e.message]
            return None
    paths = []
    for fs in uploads:
        base = posixpath.basename((fs.filename or "").replace("\\", "/"))
        path = f"{folder}/{base}" if folder else base
        try:
            validate_path(path)
        except BadRequest as e:
            form.files.errors = [*form.files.errors, e.message]
            return None
        if path in paths:
            form.files.errors = [*form.files.errors, _("Two files would be saved as %(path)s.", path=path)]
            return None
        paths.append(path)
    return paths


@bp.route("/<ns>/<name>/upload/<path:rev>", methods=["GET", "POST"])
def upload(ns: str, name: str, rev: str):
    p = _me()
    repo = load_repo(ns, name)
    mode = commit_mode(p, repo, rev)
    _check_commit_rev(repo, rev)
    form = UploadForm()
    form_error = None
    if request.method == "POST" and form.validate():
        uploads = [fs for fs in request.files.getlist("files") if fs.filename]
        if not uploads:
            form.files.errors = [*form.files.errors, _("Choose at least one file.")]
        elif any(not isinstance(fs.stream, _StagingSink) for fs in uploads):
            raise Forbidden(_("You cannot upload files to this repository."))
        else:
            paths = _upload_paths(form, uploads)
            if paths is not None:
                ops = [AddFile(path, fs.stream.finish()) for path, fs in zip(paths, uploads)]
                summary = (form.summary.data or "").strip() or (
                    _("Upload %(path)s", path=paths[0]) if len(paths) == 1
                    else _("Upload %(n)s files", n=len(paths)))
                create_pr = opens_pr(mode, form.create_pr.data)
                try:
                    _result, pr = community().commit_or_open_pr(p, repo, rev, ops, summary,
                                                                form.description.data or "", create_pr)
                except (BadRequest, Conflict, PreconditionFailed, EntryNotFound, PayloadTooLarge) as e:
                    form_error = e.message
                else:
                    target = _after_commit_url(repo, rev, pr)
                    flash(_("Pull request opened with your files.") if pr else
                          ngettext("%(num)s file committed.", "%(num)s files committed.", len(ops)))
                    if _wants_json():  # the script goes there itself
                        return jsonify({"ok": True, "redirect": target})
                    return redirect(target, 303)
                finally:
                    for fs in uploads:  # consumed (published or discarded) by commit_or_open_pr
                        fs.stream.closed = True
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and _wants_json():
        return jsonify({"ok": False, "message": form_error,
                        "errors": {k: [str(m) for m in v] for k, v in form.errors.items()}}), 400
    return render_template("publish/upload.html", form=form, rev=rev, mode=mode, form_error=form_error,
                           **repo_context(repo, "files")), status


# ---- edit and preview -----------------------------------------------------------------------
def _is_card(path: str) -> bool:
    return path == "README.md"


def _is_markdown(path: str) -> bool:
    return path.lower().endswith((".md", ".markdown"))


def preview_data(repo, rev: str, path: str, text: str) -> dict[str, Any]:
    html = render_markdown(text, repo_path=repo_path(repo), revision=rev,
                           doc_dir=posixpath.dirname(path), strip_front_matter=_is_card(path)) \
        if _is_markdown(path) else ""
    if _is_card(path):
        report = cards.parse_card(text)
        return {"html": html, "errors": _problems(report.errors), "warnings": _problems(report.warnings)}
    return {"html": html, "errors": [], "warnings": []}


def _load_text(repo, rev: str, path: str) -> tuple[str | None, str]:
    """(current text or None for a new file, commit it was read at)."""
    reg = registry()
    try:
        commit = reg.repos.resolve_revision(repo, rev)
    except RevisionNotFound:
        if not _branches(repo)[0] and rev == repo.default_branch:
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
    p = _me()
    repo = load_repo(ns, name)
    rev, path = _split_rev_path("edit")
    validate_path(path)
    mode = commit_mode(p, repo, rev)
    _check_commit_rev(repo, rev)
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


def _commit_edit(p, repo, rev: str, path: str, mode: str, form: EditForm, text: str, is_new: bool) -> str | None:
    """Commit the edited text; the URL to go to, or None with the errors put on the form."""
    default = _("Create %(path)s", path=path) if is_new else _("Update %(path)s", path=path)
    summary = (form.summary.data or "").strip() or default
    create_pr = opens_pr(mode, form.create_pr.data)
    reg = registry()
    staged = reg.stager.from_bytes(text.encode("utf-8"))
    try:
        result, pr = community().commit_or_open_pr(
            p, repo, rev, [AddFile(path, staged)], summary, form.description.data or "", create_pr,
            parent_commit=(form.parent.data or None) if mode == "direct" else None)
    except PreconditionFailed:
        form.content.errors = [*form.content.errors, _(
            "Someone changed this branch since you opened the editor. Commit again to replace their "
            "version of %(path)s with yours.", path=path)]
        form.parent.data = reg.repos.resolve_revision(repo, rev)
        return None
    except (BadRequest, Conflict, EntryNotFound) as e:
        errs = e.extra.get("errors") if isinstance(e.extra.get("errors"), list) else [e.message]
        form.content.errors = [*form.content.errors, *errs]
        return None
    for w in result.warnings:
        flash(_("Model card warning: %(w)s", w=w), "warning")
    flash(_("Pull request opened with your changes.") if pr else _("Changes committed."))
    return _after_commit_url(repo, rev, pr, path)


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
        return jsonify({"error": e.message}), 400
    return jsonify(preview_data(repo, rev, path, text.replace("\r\n", "\n")))


# ---- delete a file --------------------------------------------------------------------------
@bp.route("/<ns>/<name>/delete/<path:rest>", methods=["GET", "POST"])
def delete_file(ns: str, name: str, rest: str):
    p = _me()
    repo = load_repo(ns, name)
    rev, path = _split_rev_path("delete")
    validate_path(path)
    mode = commit_mode(p, repo, rev)
    _check_commit_rev(repo, rev)
    reg = registry()
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
            _result, pr = community().commit_or_open_pr(p, repo, rev, [DeletePath(path)], summary,
                                                        form.description.data or "", create_pr)
        except (BadRequest, Conflict, PreconditionFailed, EntryNotFound) as e:
            form_error = e.message
        else:
            flash(_("Pull request opened to delete %(path)s.", path=path) if pr
                  else _("%(path)s deleted.", path=path))
            return redirect(_after_commit_url(repo, rev, pr), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("publish/delete.html", form=form, rev=rev, path=path, file=f, mode=mode,
                           form_error=form_error, **repo_context(repo, "files")), status

