"""The upload page: files posted in a form are committed to a branch, or a pull request is opened
with them.

Uploads stream: the multipart body is parsed by werkzeug's streaming parser, which asks the request
for one file object per file part (hub.web.upload_stream); this page gives it a registry staging file,
hashed as it is written, so no file is held in memory or copied again. publish.js adds a progress bar.
"""

from __future__ import annotations

import logging
import posixpath

from flask import flash, g, jsonify, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import MultipleFileField, StringField
from wtforms.validators import Length, Optional

from community.publishing import opens_pr
from models_registry.commits import AddFile
from models_registry.errors import (BadRequest, Conflict, EntryNotFound, Forbidden, PayloadTooLarge,
                                    PreconditionFailed, RegistryError)
from models_registry.names import validate_path

from .. import auth
from ..localize import localize
from ..wiring import services
from .forms import CommitMessageForm
from .pages import load_repo
from .publish import after_commit_url, bp, check_commit_rev, commit_mode, repo_context, signed_in
from .upload_stream import streams_files

log = logging.getLogger(__name__)


class UploadForm(CommitMessageForm):
    class Meta:
        csrf = False  # every page POST is checked once, before the view (hub.web.init_app)

    folder = StringField(_l("Folder in the repository"), validators=[Optional(), Length(max=900)])
    files = MultipleFileField(_l("Files"))


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


# ---- streaming into staging -----------------------------------------------------------------
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
                services().registry.repos.get("model", f"{args.get('ns')}/{args.get('name')}", p)  # may read it
            except RegistryError:
                ok = False
        g.may_stage = ok
    return g.may_stage


def _staging_stream(total_content_length=None, content_type=None, filename=None, content_length=None):
    reg = services().registry
    sinks = g.setdefault("upload_sinks", [])
    if total_content_length and total_content_length > reg.settings.max_commit_bytes:
        raise PayloadTooLarge(_("The upload is larger than the limit of %(n)s bytes.",
                                n=reg.settings.max_commit_bytes))
    sink = _StagingSink(reg.stager.writer(max_bytes=reg.settings.max_lfs_object_bytes)) if _may_stage() \
        else _Discard()
    sinks.append(sink)
    return sink


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
            form.folder.errors = [*form.folder.errors, localize(e.message)]
            return None
    paths = []
    for fs in uploads:
        base = posixpath.basename((fs.filename or "").replace("\\", "/"))
        path = f"{folder}/{base}" if folder else base
        try:
            validate_path(path)
        except BadRequest as e:
            form.files.errors = [*form.files.errors, localize(e.message)]
            return None
        if path in paths:
            form.files.errors = [*form.files.errors, _("Two files would be saved as %(path)s.", path=path)]
            return None
        paths.append(path)
    return paths


@bp.route("/<ns>/<name>/upload/<path:rev>", methods=["GET", "POST"])
@streams_files(_staging_stream)
def upload(ns: str, name: str, rev: str):
    p = signed_in()
    repo = load_repo(ns, name)
    mode = commit_mode(p, repo, rev)
    check_commit_rev(repo, rev)
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
                    result, pr = services().community.commit_or_open_pr(p, repo, rev, ops, summary,
                                                                form.description.data or "", create_pr)
                except (BadRequest, Conflict, PreconditionFailed, EntryNotFound, PayloadTooLarge) as e:
                    form_error = localize(e.message)
                else:
                    target = after_commit_url(repo, rev, pr)
                    for w in result.warnings:  # as the editor does: the card was accepted, with these
                        flash(_("Model card warning: %(w)s", w=localize(w)), "warning")
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
