"""Browsing: home, the model list with facets, the model page, profiles and licenses."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask_babel import gettext as _

from models_registry import licenses as license_catalogue
from models_registry.errors import BadRequest, EntryNotFound, RepoNotFound
from models_registry.gating import questions
from models_registry.model_tree import relation_tag
from models_registry.permissions import can_write
from models_registry.rendering import render_document
from models_registry.usage import WEIGHTS_FILE_LIBRARIES, UsageSnippet, usage_snippet
from search_index.query import FACETS, SearchRequest

from .. import auth
from ..localize import N_, localize
from ..search_writer import viewer_namespaces
from ..wiring import services
from .helpers import qrev, repo_path

bp = Blueprint("web_pages", __name__)
PAGE_SIZE = 30
SORTS = {"trending": "trending", "downloads": "downloads", "likes": "likes", "recent": "recent",
         "created": "createdAt"}


def int_param(name: str, default: int = 0, hi: int = 10_000) -> int:
    try:
        return max(0, min(int(request.args.get(name, default)), hi))
    except ValueError:
        return default


@bp.get("/")
def home():
    reg = services().registry
    p = auth.current()
    trending = services().search.search(SearchRequest(sort="trending", limit=12, viewer=viewer_namespaces(p)))
    return render_template(
        "home.html",
        trending=reg.repos.by_ids([h.pk for h in trending.hits], p),
        recent=reg.repos.list("model", p, sort="lastModified", limit=12),
        orgs=reg.accounts.active_orgs(8),
    )


MAX_PAGE = 300  # the last page number (from 0) /models offers: search pages up to offset 10,000
FACET_VALUES_SHOWN = 12  # per facet on /models (the most frequent, and any filtered on)


@bp.get("/models")
def models():
    p = auth.current()
    sort = request.args.get("sort") or ("relevance" if request.args.get("search") else "trending")
    page = int_param("p", 0, MAX_PAGE)
    filters = {f: request.args.getlist(f) for f in FACETS if request.args.getlist(f)}
    # `other=` is the Hub's name for a tag filter (/models?other=base_model:finetune:ORG/NAME)
    tags = request.args.getlist("tag") + request.args.getlist("other")
    if tags:
        filters["tags"] = tags
    result = services().search.search(SearchRequest(
        text=request.args.get("search", ""), filters=filters, sort=SORTS.get(sort), offset=page * PAGE_SIZE,
        limit=PAGE_SIZE + 1, viewer=viewer_namespaces(p), facets=True, facet_limit=FACET_VALUES_SHOWN,
        highlight=bool(request.args.get("search"))))
    hits = result.hits[:PAGE_SIZE]
    repos = {r.id: r for r in services().registry.repos.by_ids([h.pk for h in hits], p)}
    items = [(repos[h.pk], h.snippet) for h in hits if h.pk in repos]
    # Numbered pages go by offset (p=), as far as search pages (MAX_PAGE); the API's keyset cursors
    # are for walking everything, which a reader choosing page 4 of 9 does not do.
    last_page = min(max(0, -(-result.total // PAGE_SIZE) - 1), MAX_PAGE)
    active = [(FACET_LABELS.get(k, N_("Tag")), k, v) for k in ("tag", "other", *FACETS)
              for v in request.args.getlist(k)]
    return render_template("models/list.html", items=items, total=result.total, facets=result.facets,
                           filters=filters, sort=sort, page=page, has_more=len(result.hits) > PAGE_SIZE,
                           suggestion=result.suggestion, facet_names=FACET_LABELS, last_page=last_page,
                           past_end=bool(result.total) and page > last_page, active=active)


FACET_LABELS = {"task": N_("Task"), "library": N_("Library"), "license": N_("License"), "language": N_("Language"),
                "industry": N_("Industry"), "region": N_("Region"), "author": N_("Author")}


def load_repo(ns: str, name: str, repo_type: str = "model"):
    """The repository for a page, or the 404 page (private ones included: no existence leak). Asked
    by an old name or another spelling, the page moves to the repository's own address."""
    try:
        repo = services().registry.repos.get(repo_type, f"{ns}/{name}", auth.current())
    except RepoNotFound:
        abort(404)
    if (repo.namespace, repo.name) != (ns, name) and request.method in ("GET", "HEAD"):  # a form posts on
        path = request.path.replace(f"/{ns}/{name}", f"/{repo.repo_id}", 1)
        query = request.query_string.decode()
        abort(redirect(path + (f"?{query}" if query else ""), 302))  # not 301: the old name may be taken
    return repo


@bp.get("/<ns>/<name>")
def model(ns: str, name: str):
    reg = services().registry
    p = auth.current()
    repo = load_repo(ns, name)
    card_html, toc, readme_missing = "", [], True
    if repo.head_sha:
        try:
            f = reg.repos.resolve_file(repo, repo.head_sha, "README.md")
            if not f.lfs and f.size <= 1024 * 1024:
                text = reg.repos.read_regular(repo, f.blob_sha).decode("utf-8", "replace")
                card = render_document(text, repo_path=f"/{repo.repo_id}", revision=repo.default_branch,
                                       heading_level=2)  # under the repository's name (h1)
                card_html, toc, readme_missing = card.html, card.toc, False
        except EntryNotFound:
            pass
    meta = repo.card_data or {}
    lic_ids = [str(x) for x in (meta.get("license") if isinstance(meta.get("license"), list)
                                  else [meta.get("license")] if meta.get("license") else [])]
    lics = [(lid, license_catalogue.get(lid), license_href(repo, lid)) for lid in lic_ids]
    is_maintainer = can_write(p, repo.namespace)
    open_discussions = services().community.list(p, repo, status="open", page_size=1)[1]
    return render_template(
        "models/page.html", repo=repo, card_html=card_html, readme_missing=readme_missing, meta=meta,
        toc=toc if len(toc) > 1 else [], tree=reg.model_trees.of(repo, p), relation_tag=relation_tag,
        licenses=lics, liked=reg.engagement.has_liked(p, repo), access=reg.gating.status_of(p, repo),
        has_access=reg.gating.has_access(p, repo), is_maintainer=is_maintainer,
        questions=questions(repo), open_discussions=open_discussions, base_url=request.host_url.rstrip("/"),
        tab="card", mirror=reg.mirrors.trust(repo), usage=usage_of(repo),
        total_size=reg.repos.total_size(repo, repo.head_sha) if repo.head_sha else None,
        dangerous=reg.scanning.dangerous_files(repo))


def license_href(repo, lid: str) -> str:
    """The license's page, or for `license: other` the repository's own terms: its `license_link`
    (a URL, or a file of the repository), else its LICENSE file if it has one."""
    terms = license_catalogue.own_terms(lid, repo.card_data)
    if terms and "://" in terms:
        return terms
    if terms is None and lid.lower() in ("other", "unknown") and repo.head_sha:
        reg = services().registry
        terms = next((f for f in license_catalogue.LICENSE_FILES if reg.repos.exists_at(repo, repo.head_sha, f)), None)
    if terms:
        return f"{repo_path(repo)}/blob/{qrev(repo.default_branch)}/{quote(terms)}"
    return f"/licenses/{lid.lower()}"


def usage_of(repo) -> UsageSnippet:
    """"Use this model" for the repository's library; weights-file libraries get the file's name."""
    files: list[str] = []
    if repo.head_sha and ((repo.library_name or "").lower() in WEIGHTS_FILE_LIBRARIES or "gguf" in repo.tags):
        files = [e.path for e in services().registry.repos.tree(repo, repo.head_sha, "", False) if e.type == "file"]
    return usage_snippet(repo.repo_id, repo.library_name, repo.pipeline_tag, repo.tags,
                         request.host_url.rstrip("/"), files)


@bp.post("/<ns>/<name>/like")
def like(ns: str, name: str):
    from .accounts import login_required

    login_required()
    reg = services().registry
    repo = load_repo(ns, name)
    if reg.engagement.has_liked(auth.current(), repo):
        reg.engagement.unlike(auth.current(), repo)
    else:
        reg.engagement.like(auth.current(), repo)
    return redirect(f"/{repo.repo_id}")


@bp.post("/<ns>/<name>/ask-access-form")
def ask_access(ns: str, name: str):
    from .accounts import login_required

    login_required()
    repo = load_repo(ns, name)
    answers = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        status = services().registry.gating.request_access(auth.current(), repo, answers)
    except BadRequest as e:
        flash(localize(e.message), "error")
    else:
        flash(_("Access granted.") if status == "accepted" else _("Your request was sent to the owner."))
    return redirect(f"/{repo.repo_id}")


@bp.get("/<ns>")
def profile(ns: str):
    reg = services().registry
    p = auth.current()
    kind = reg.accounts.namespace_kind(ns)
    if kind is None:
        abort(404)
    page = int_param("p", 0, 1000)
    repos = reg.repos.list("model", p, author=ns, sort="lastModified", offset=page * PAGE_SIZE, limit=PAGE_SIZE + 1)
    info = reg.accounts.user_profile(ns) if kind == "user" else reg.accounts.org_profile(ns)
    return render_template("profile.html", ns=ns, kind=kind, info=info, repos=repos[:PAGE_SIZE], page=page,
                           has_more=len(repos) > PAGE_SIZE)


@bp.get("/status")
def status():
    """The footer's "Status": the same checks as GET /api/health (which monitors keep reading), for people."""
    health = services().registry.health()
    indexed = services().search.search(SearchRequest(limit=0, viewer=viewer_namespaces(None))).total
    return render_template("status.html", health=health, indexed=indexed)


@bp.get("/licenses")
def licenses():
    # From the search index's facet counts: a GROUP BY over the tag rows takes seconds at a million
    # repositories (bench/scale.py); the index counts the visible ones in milliseconds.
    counts = services().search.search(SearchRequest(limit=0, facets=True, viewer=viewer_namespaces(auth.current()))
                                      ).facets.get("license", {})
    rows = sorted(license_catalogue.CATALOGUE.values(), key=lambda lic: (-counts.get(lic.id, 0), lic.id))
    return render_template("licenses/index.html", licenses=rows, counts=counts)


@bp.get("/licenses/<lid>")
def license_page(lid: str):
    lic = license_catalogue.get(lid)
    if lic is None and not license_catalogue.is_known(lid):
        abort(404)
    page = int_param("p", 0, 1000)
    repos = services().registry.repos.list("model", auth.current(), tags=[f"license:{lid.lower()}"], sort="downloads",
                                  offset=page * PAGE_SIZE, limit=PAGE_SIZE + 1)
    return render_template("licenses/show.html", lid=lid, lic=lic, repos=repos[:PAGE_SIZE], page=page,
                           has_more=len(repos) > PAGE_SIZE)
