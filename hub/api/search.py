"""Search endpoints: full search with facets, and quick search (autocomplete) as the Hub offers it."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from models_registry.errors import BadRequest

from .. import auth
from ..search_writer import viewer_namespaces
from ..wiring import services
from .common import int_arg, repo_type_of
from .serialize import repo_json
from search_index.query import FACETS, SearchRequest

bp = Blueprint("search", __name__)


@bp.get("/api/search")
def full_search():
    """?q=text&license=mit&task=...&sort=downloads&offset=&limit=: hits, facet counts, suggestion."""
    filters = {f: request.args.getlist(f) for f in FACETS if request.args.getlist(f)}  # case: see LOWERCASED
    if request.args.getlist("tag"):
        filters["tags"] = request.args.getlist("tag")
    kind = request.args.get("type", "models")
    sort = request.args.get("sort") or None
    if sort not in (None, "relevance", "downloads", "likes", "trending", "recent", "lastModified", "createdAt"):
        raise BadRequest(f"Unknown sort {sort!r}")
    req = SearchRequest(text=request.args.get("q", ""), filters=filters, repo_type=repo_type_of(kind),
                        sort=None if sort == "relevance" else sort, offset=int_arg("offset", 0, 0, 10_000),
                        limit=int_arg("limit", 20, 1, 100), viewer=viewer_namespaces(auth.current()),
                        facets=True, highlight=True)
    result = services().search.search(req)
    views = {v.id: v for v in services().registry.repos.by_ids([h.pk for h in result.hits], auth.current())}
    hits = []
    for h in result.hits:
        if h.pk in views:
            item = repo_json(views[h.pk], full=False, card=False)
            item["snippet"] = h.snippet
            hits.append(item)
    return jsonify({"q": req.text, "total": result.total, "hits": hits, "facets": result.facets,
                    "suggestion": result.suggestion, "tookMs": round(result.took_ms, 2)})


@bp.get("/api/quicksearch")
def quicksearch():
    """Autocomplete over models, users, organizations and collections, in huggingface.co's shape.

    Models: name prefixes, then for Chinese input tags and card words (search_index.query.quick);
    users and organizations: name prefix or any part of the full name."""
    q = request.args.get("q", "")[:100]
    limit = int_arg("limit", 10, 1, 50)
    principal = auth.current()
    found = services().search.quick(q, viewer_namespaces(principal), limit)
    # Re-checked against the database: the index may lag a visibility change by a moment.
    ids = [r.repo_id for r in services().registry.repos.by_repo_ids(found, principal)]
    users, orgs = services().registry.accounts.find_names(q, limit)
    # Collections by title words, from the database: a collection is no repository, so it is not in
    # the search index; titles are short and collections few next to repositories.
    collections = services().community.collections.list(principal, text=q, limit=limit) if q.strip() else []
    return jsonify({"q": q, "models": [{"id": i} for i in ids],
                    # The Hub's shape; no avatars are stored here (avatarUrl empty, as elsewhere in
                    # the API): the site's dropdown draws an initial instead.
                    "users": [{"user": u, "fullname": f, "type": "user", "isPro": False, "avatarUrl": ""}
                              for u, f in users],
                    "orgs": [{"name": o, "fullname": f, "type": "org", "isEnterprise": False, "avatarUrl": ""}
                             for o, f in orgs],
                    "collections": [{"slug": c.slug, "title": c.title} for c in collections]})
