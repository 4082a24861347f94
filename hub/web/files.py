"""Pages: the "Files and versions" tab — folder listings, the file viewer, history and commits.

Revisions and paths come from the raw request path (see `hub.api.common.raw_path_segments`): a
revision containing '/' (refs/pr/1, feat/x) travels percent-encoded as a single segment, which
Werkzeug would otherwise decode into two. Unknown revisions, paths and commits are the site's 404.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from urllib.parse import quote
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

from flask import Blueprint, abort, current_app, redirect, render_template, request
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

from models_registry.errors import BadRequest, EntryNotFound, RegistryError, RevisionNotFound
from models_registry.gating import UNGATED_FILES, GatedRepo
from models_registry.merging import FileChange, changes, files_of, unified_diff
from models_registry.names import FULL_SHA_RE, validate_path
from models_registry.permissions import can_write
from models_registry import safetensors_meta
from models_registry.rendering import render_markdown
from models_registry.safetensors_meta import SafetensorsError
from models_registry.repos import CommitData

from .. import auth
from ..localize import commit_title
from ..api.common import raw_path_segments
from ..wiring import services
from .helpers import qrev
from .pages import int_param, load_repo

bp = Blueprint("web_files", __name__)

MAX_VIEW_BYTES = 1024 * 1024  # text files up to 1 MiB are shown in the page
MAX_TREE_ENTRIES = 1000  # a folder listing shows at most this many entries
MAX_COMMITS_PER_PAGE = 30
MAX_DIFF_FILES = 200  # a commit page renders the diffs of at most this many files
MAX_DIFF_TOTAL_LINES = 20_000  # ... and at most this many diff lines in all
MAX_REV_SEGMENTS = 8  # an unencoded revision may span this many path segments
MARKDOWN_SUFFIXES = (".md", ".markdown")
TENSORS_PER_PAGE = 100  # the safetensors viewer lists this many tensors per page
SHARD_INDEX_SUFFIX = ".safetensors.index.json"  # model.safetensors.index.json of a sharded model
NOT_FOUND = (RevisionNotFound, EntryNotFound, BadRequest)


# ---- shared helpers -----------------------------------------------------------------------------

def _header_context(repo) -> dict:
    """What models/_header.html needs, as pages.model passes it."""
    p = auth.current()
    return {"repo": repo, "tab": "files", "is_maintainer": can_write(p, repo.namespace),
            "open_discussions": services().community.list(p, repo, status="open", page_size=1)[1]}


def _segments(ns: str, name: str, marker: str) -> list[str]:
    """The raw path after /{ns}/{name}/{marker}/, each segment percent-decoded on its own."""
    segs = raw_path_segments()  # ['', ns, name, marker, rev, *path]
    if len(segs) < 5 or segs[3] != marker:
        abort(404)
    return segs[4:]


def _rev_and_path(repo, segs: list[str]) -> tuple[str, str, str]:
    """(revision as written, commit sha, path) from the segments after the marker.

    The revision is normally one (percent-encoded) segment. When it does not resolve, longer
    prefixes are tried, so a hand-typed /tree/feat/x/dir still finds branch feat/x.
    """
    if not segs or not segs[0]:
        abort(404)
    reg = services().registry
    with reg.repos.open_git(repo) as git:
        for n in range(1, min(len(segs), MAX_REV_SEGMENTS) + 1):
            rev = "/".join(segs[:n])
            try:
                commit = git.resolve(rev)
            except RegistryError:
                continue
            path = "/".join(s for s in segs[n:] if s != "")
            if path:
                try:
                    validate_path(path)
                except BadRequest:
                    abort(404)
            return rev, commit, path
    abort(404)


def _ts(seconds: int) -> dt.datetime:
    """Commit time (epoch seconds) as the naive UTC datetime the |ago and |when filters take."""
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class CommitRow:
    sha: str
    title: str
    body: str
    author: str
    date: dt.datetime
    parents: tuple[str, ...]

    @classmethod
    def of(cls, c: CommitData) -> CommitRow:
        title, _sep, body = c.message.strip("\n").partition("\n")
        return cls(c.sha, commit_title(title, c.parents) or c.sha[:7], body.strip("\n"), c.author_name,
                   _ts(c.author_time), c.parents)


def _rev_label(rev: str) -> str:
    return rev[:7] if FULL_SHA_RE.match(rev) else rev


def _refs_context(repo, rev: str, commit: str) -> dict:
    refs = services().registry.repos.refs(repo)
    return {"branches": refs.branches, "tags": refs.tags, "pull_requests": refs.pull_requests,
            "rev_label": _rev_label(rev), "commit": commit}


def _crumbs(path: str) -> list[tuple[str, str]]:
    """[(name, path so far)] for each folder of `path`."""
    parts = path.split("/") if path else []
    return [(part, "/".join(parts[:i + 1])) for i, part in enumerate(parts)]


def _highlight(path: str, text: str) -> Markup:
    """Pygments HTML: CSS classes only (no inline styles), a line-number column, #L-n anchors.

    Pygments escapes the text; the markup it adds around it is its own, so the result is safe.
    """
    try:
        lexer = get_lexer_for_filename(posixpath.basename(path), text, stripnl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False)
    formatter = HtmlFormatter(linenos="table", cssclass="highlight", lineanchors="L", wrapcode=True)
    html = highlight(text, lexer, formatter)
    # The line-number column is layout, not data (escaped content cannot contain this tag).
    html = html.replace('<table class="highlighttable">', '<table class="highlighttable" role="presentation">', 1)
    return Markup(html)


def _looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:8000]


# ---- routes -------------------------------------------------------------------------------------

@bp.get("/<ns>/<name>/tree")
def tree_default(ns: str, name: str):
    repo = load_repo(ns, name)
    return redirect(f"/{repo.repo_id}/tree/{qrev(repo.default_branch)}")


@bp.get("/<ns>/<name>/tree/<path:_rest>")
def tree(ns: str, name: str, _rest: str):
    repo = load_repo(ns, name)
    rev, commit, path = _rev_and_path(repo, _segments(ns, name, "tree"))
    reg = services().registry
    try:
        entries = reg.repos.tree(repo, commit, path, recursive=False)
    except NOT_FOUND:
        if path and reg.repos.exists_at(repo, commit, path):  # a file: show it in the viewer
            return redirect(f"/{repo.repo_id}/blob/{qrev(rev)}/{quote(path)}")
        abort(404)
    folders = [e for e in entries if e.type == "directory"]
    files = [e for e in entries if e.type == "file"]
    shown = (folders + files)[:MAX_TREE_ENTRIES]
    with reg.repos.open_git(repo) as git:
        last = CommitRow.of(git.commit(commit))
    return render_template(
        "files/tree.html", **_header_context(repo), **_refs_context(repo, rev, commit), rev=rev, path=path,
        crumbs=_crumbs(path), entries=shown, total_entries=len(entries), last=last, view="tree",
        parent_path=posixpath.dirname(path) if path else None, changes=_last_changes(repo, commit, shown),
        total_size=reg.repos.total_size(repo, commit), security=reg.scanning.status_of(shown))


def _last_changes(repo, commit: str, entries) -> dict[str, CommitRow]:
    """{path: the commit that last changed it}: the API's `expand=true` data (one history walk,
    remembered per commit, so a page seen again walks nothing)."""
    found = services().registry.repos.last_changes(repo, commit, [e.path for e in entries])
    rows: dict[str, CommitRow] = {}
    by_sha: dict[str, CommitRow] = {}
    for path, c in found.items():
        rows[path] = by_sha.get(c.sha) or by_sha.setdefault(c.sha, CommitRow.of(c))
    return rows


@bp.get("/<ns>/<name>/blob/<path:_rest>")
def blob(ns: str, name: str, _rest: str):
    repo = load_repo(ns, name)
    rev, commit, path = _rev_and_path(repo, _segments(ns, name, "blob"))
    if not path:
        return redirect(f"/{repo.repo_id}/tree/{qrev(rev)}")
    reg = services().registry
    try:
        f = reg.repos.resolve_file(repo, commit, path)
    except NOT_FOUND:
        try:
            reg.repos.tree(repo, commit, path, recursive=False)
        except NOT_FOUND:
            abort(404)
        return redirect(f"/{repo.repo_id}/tree/{qrev(rev)}/{quote(path)}")

    p = auth.current()
    content = {"kind": None}
    is_markdown = path.lower().endswith(MARKDOWN_SUFFIXES)
    plain = request.args.get("plain") in ("1", "true")
    try:
        reg.gating.check_file(p, repo, path)
    except GatedRepo:
        content = {"kind": "gated"}
    else:
        if f.lfs:
            content = {"kind": "lfs"}
        elif f.size > MAX_VIEW_BYTES:
            content = {"kind": "large"}
        else:
            data = reg.repos.read_regular(repo, f.blob_sha)
            if _looks_binary(data):
                content = {"kind": "binary"}
            elif not data:
                content = {"kind": "empty"}
            else:
                text = data.decode("utf-8", "replace")
                lines = text.count("\n") + (0 if text.endswith("\n") else 1)
                if is_markdown and not plain:
                    html = render_markdown(text, repo_path=f"/{repo.repo_id}", revision=rev,
                                           doc_dir=posixpath.dirname(path), heading_level=3)  # under the file's h2
                    content = {"kind": "markdown", "html": html, "lines": lines}
                else:
                    content = {"kind": "code", "html": _highlight(path, text), "lines": lines}
    weights = _weights_context(repo, f, content["kind"] != "gated")
    return render_template(
        "files/blob.html", **_header_context(repo), **_refs_context(repo, rev, commit), rev=rev, path=path,
        crumbs=_crumbs(path), file=f, content=content, is_markdown=is_markdown, plain=plain, view="blob",
        file_name=posixpath.basename(path), **weights)


def _weights_context(repo, f, readable: bool) -> dict:
    """The safetensors viewer of a blob page: for a .safetensors file its header (tensors a page at
    a time, `?tp=`) or why it cannot be read; for a sharded model's index, its shards."""
    out: dict = {"st_problem": None, "st_header": None, "st_tensors": [], "st_page": 0, "st_pages": 0,
                 "shards": None}
    reg = services().registry
    if f.path.endswith(".safetensors"):
        if not readable:  # gated: not even the tensor names
            return out
        try:
            header = reg.repos.safetensors_header(repo, f)
        except SafetensorsError as e:
            out["st_problem"] = str(e)
            return out
        except EntryNotFound:
            return out
        pages = max(1, -(-len(header.tensors) // TENSORS_PER_PAGE))
        page = min(int_param("tp", 0, 1_000_000), pages - 1)
        out.update(st_header=header, st_page=page, st_pages=pages,
                   st_tensors=header.tensors[page * TENSORS_PER_PAGE:(page + 1) * TENSORS_PER_PAGE],
                   st_total=sum(t.parameters for t in header.tensors))
    elif f.path.endswith(SHARD_INDEX_SUFFIX) and readable and not f.lfs and f.size <= MAX_VIEW_BYTES:
        try:
            out["shards"] = safetensors_meta.shards(reg.repos.read_regular(repo, f.blob_sha))
        except SafetensorsError as e:
            out["st_problem"] = str(e)
    return out


@bp.get("/<ns>/<name>/commits")
def commits_default(ns: str, name: str):
    repo = load_repo(ns, name)
    return redirect(f"/{repo.repo_id}/commits/{qrev(repo.default_branch)}")


@bp.get("/<ns>/<name>/commits/<path:_rest>")
def commits(ns: str, name: str, _rest: str):
    repo = load_repo(ns, name)
    segs = [s for s in _segments(ns, name, "commits") if s != ""]
    rev, commit, path = _rev_and_path(repo, segs)
    if path:  # history of one file or folder is not offered (yet)
        abort(404)
    per_page = max(1, min(int(current_app.config.get("PAGE_SIZE") or MAX_COMMITS_PER_PAGE), MAX_COMMITS_PER_PAGE))
    page = int_param("p", 0, 100_000)
    history: Iterator[CommitData] = services().registry.repos.history(repo, commit)
    try:
        rows = [CommitRow.of(c) for c in islice(history, page * per_page, (page + 1) * per_page + 1)]
    finally:
        history.close()  # type: ignore[attr-defined]  # a generator: closes the git repository
    if page > 0 and not rows:
        abort(404)
    return render_template(
        "files/commits.html", **_header_context(repo), **_refs_context(repo, rev, commit), rev=rev,
        rows=rows[:per_page], page=page, has_more=len(rows) > per_page, view="commits")


@dataclass
class DiffLine:
    kind: str  # add, del, hunk, note, ctx
    text: str


@dataclass
class FileDiff:
    change: FileChange
    old_lfs: object | None = None
    new_lfs: object | None = None
    old_size: int | None = None
    new_size: int | None = None
    lines: list[DiffLine] | None = None
    note: str = ""  # why no diff is shown
    added: int = 0
    removed: int = 0


def _diff_lines(text: str) -> list[DiffLine]:
    out = []
    for line in text.splitlines():
        if line.startswith(("diff --git ", "--- ", "+++ ")):
            continue
        if line.startswith("@@"):
            out.append(DiffLine("hunk", line))
        elif line.startswith("+"):
            out.append(DiffLine("add", line))
        elif line.startswith("-"):
            out.append(DiffLine("del", line))
        elif line.startswith("\\"):
            out.append(DiffLine("note", line))
        else:
            out.append(DiffLine("ctx", line))
    return out


@bp.get("/<ns>/<name>/commit/<path:_rest>")
def commit_page(ns: str, name: str, _rest: str):
    repo = load_repo(ns, name)
    segs = [s for s in _segments(ns, name, "commit") if s != ""]
    if len(segs) != 1:
        abort(404)
    reg = services().registry
    p = auth.current()
    has_access = reg.gating.has_access(p, repo)
    diffs: list[FileDiff] = []
    with reg.repos.open_git(repo) as git:
        try:
            sha = git.resolve(segs[0])
            c = git.commit(sha)
        except RegistryError:
            abort(404)
        parent = c.parents[0] if c.parents else None
        chs = changes(files_of(git, parent), files_of(git, sha))
        infos = reg.repos.blob_infos(git, [s for ch in chs for s in (ch.old_sha, ch.new_sha) if s])
        budget = MAX_DIFF_TOTAL_LINES
        for i, ch in enumerate(chs):
            d = FileDiff(ch)
            if ch.old_sha:
                d.old_size, d.old_lfs = infos[ch.old_sha]
            if ch.new_sha:
                d.new_size, d.new_lfs = infos[ch.new_sha]
            if d.old_lfs or d.new_lfs:
                d.note = "lfs"
            elif not has_access and ch.path not in UNGATED_FILES:
                d.note = "gated"
            elif i >= MAX_DIFF_FILES or budget <= 0:
                d.note = "too_many"
            else:
                text = unified_diff(git, ch)
                if "\nBinary files differ: " in text:
                    d.note = "binary"
                else:
                    d.lines = _diff_lines(text)[:budget]
                    budget -= len(d.lines)
                    d.added = sum(1 for line in d.lines if line.kind == "add")
                    d.removed = sum(1 for line in d.lines if line.kind == "del")
                    if not d.lines:
                        d.note = "empty"
            diffs.append(d)
    return render_template(
        "files/commit.html", **_header_context(repo), commit=CommitRow.of(c), diffs=diffs,
        total_added=sum(d.added for d in diffs), total_removed=sum(d.removed for d in diffs))

