"""Repository endpoints: create, delete, move, settings, info and listing."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from models_registry.errors import BadRequest, Conflict
from models_registry.listing import cursor_after

from .. import auth
from ..search_writer import viewer_namespaces
from ..wiring import services
from search_index.query import SearchRequest
from .common import flag, int_arg, iso, json_body, next_link, repo_type_of, repo_url
from .serialize import expand_only, repo_json, repo_security_json, sibling_json

bp = Blueprint("repos", __name__)
KINDS = "<any(models,datasets,spaces):kind>"


def _body_type(body: dict) -> str:
    t = body.get("type") or "model"
    if t not in ("model", "dataset", "space"):
        raise BadRequest(f"Unknown repository type {t!r}")
    return t


@bp.post("/api/repos/create")
def create():
    p = auth.require()
    body = json_body()
    repo_type = _body_type(body)
    name = body.get("name")
    namespace = body.get("organization") or p.name
    if not isinstance(name, str) or not isinstance(namespace, str):
        raise BadRequest("'name' (and 'organization' if given) must be strings")
    if "/" in name:  # some clients send the full id as name
        namespace, _, name = name.partition("/")
    visibility = body.get("visibility")
    private = body.get("private")
    if visibility is not None:
        if visibility not in ("public", "private"):
            raise BadRequest("visibility must be 'public' or 'private'")
        private = visibility == "private"
    try:
        sdk = body.get("sdk")
        if sdk is not None and not isinstance(sdk, str):
            raise BadRequest("'sdk' must be a string")
        repo = services().registry.repos.create(p, repo_type, namespace, name, private=bool(private), space_sdk=sdk)
    except Conflict as e:
        existing = str(e.extra.get("repo") or f"{namespace}/{name}")
        e.extra["url"] = repo_url(repo_type, existing)
        raise
    return jsonify({"url": repo_url(repo_type, repo.repo_id), "name": repo.repo_id, "id": str(repo.id)})


@bp.delete("/api/repos/delete")
def delete():
    p = auth.require()
    body = json_body()
    name, org = body.get("name"), body.get("organization") or p.name
    if not isinstance(name, str):
        raise BadRequest("'name' must be a string")
    repo_id = name if "/" in name else f"{org}/{name}"
    services().registry.repos.delete(p, _body_type(body), repo_id)
    return jsonify({})


@bp.post("/api/repos/move")
def move():
    p = auth.require()
    body = json_body()
    src, dst = body.get("fromRepo"), body.get("toRepo")
    if not isinstance(src, str) or not isinstance(dst, str):
        raise BadRequest("'fromRepo' and 'toRepo' are required")
    repo = services().registry.repos.move(p, _body_type(body), src, dst)
    return jsonify({"url": repo_url(repo.repo_type, repo.repo_id)})


@bp.put(f"/api/{KINDS}/<ns>/<name>/settings")
def settings(kind: str, ns: str, name: str):
    p = auth.require()
    body = json_body()
    private = body.get("private")
    if "visibility" in body:
        if body["visibility"] not in ("public", "private"):
            raise BadRequest("visibility must be 'public' or 'private'")
        private = body["visibility"] == "private"
    if private is not None and not isinstance(private, bool):
        raise BadRequest("'private' must be a boolean")
    force = body.get("allowForcePush")
    if force is not None and not isinstance(force, bool):
        raise BadRequest("'allowForcePush' must be a boolean")
    services().registry.repos.update_settings(p, repo_type_of(kind), f"{ns}/{name}", private=private,
                                     gated=body.get("gated"), allow_force_push=force)
    return jsonify({})


@bp.get(f"/api/{KINDS}/<ns>/<name>/auth-check")
def auth_check(kind: str, ns: str, name: str):
    """Whether the caller may read the repository's files: RepoNotFound, GatedRepo, or 200."""
    reg = services().registry
    repo = reg.repos.get(repo_type_of(kind), f"{ns}/{name}", auth.current())
    reg.access.authorize_download(auth.current(), repo)
    return jsonify({})


@bp.get(f"/api/{KINDS}/<ns>/<name>")
@bp.get(f"/api/{KINDS}/<ns>/<name>/revision/<path:rev>")
def info(kind: str, ns: str, name: str, rev: str | None = None):
    reg = services().registry
    repo = reg.repos.get(repo_type_of(kind), f"{ns}/{name}", auth.current())
    sha = reg.repos.resolve_revision(repo, rev or repo.default_branch)
    expand = request.args.getlist("expand") + request.args.getlist("expand[]")
    blobs = flag("blobs")
    entries = [e for e in reg.repos.tree(repo, sha, "", recursive=True) if e.type == "file"]
    data = repo_json(repo, sha=sha, siblings=[sibling_json(e, blobs) for e in entries])
    data["downloads"], data["downloadsAllTime"] = reg.engagement.exact_counts(repo)
    if repo.repo_type == "model" and "usedStorage" in expand:
        data["usedStorage"] = sum(e.size for e in entries)
    if repo.repo_type == "model" and ("securityRepoStatus" in expand or flag("securityStatus")):
        data["securityRepoStatus"] = repo_security_json(reg.scanning.status_of(entries))
    if expand:
        data = expand_only(data, expand)
    return jsonify(data)


MAX_LIST_PAGE = 1000


@bp.get("/api/settings/repositories")
@bp.get("/api/organizations/<org>/settings/repositories")
def storage_settings(org: str | None = None):
    """The caller's repositories (or an organization's, for its members) with the storage each uses:
    `HfApi.list_user_repos`, `hf repos ls`. One page: a namespace's repositories, not the hub's."""
    p = auth.require()
    used = services().registry.repos.storage_of(p, org if org is not None else p.name)
    total = sum(u.storage for u in used)
    return jsonify([{"id": u.repo.repo_id, "type": u.repo.repo_type, "updatedAt": iso(u.repo.last_modified),
                     "visibility": "private" if u.repo.private else "public", "storage": u.storage,
                     "storagePercent": round(100 * u.storage / total, 2) if total else 0}
                    for u in used])


@bp.get(f"/api/{KINDS}")
def listing(kind: str):
    reg = services().registry
    page = int(current_app.config["PAGE_SIZE"])
    # `limit` is the page size, as on the Hub (whose client stops reading after `limit` items
    # itself): a crawler asking for 2 still gets `rel="next"`. `skip` is the Hub's offset.
    limit = int_arg("limit", 0, 0, 10_000)
    size = min(limit, MAX_LIST_PAGE) if limit else page
    offset = int_arg("skip", 0) or int_arg("offset", 0)
    direction = request.args.get("direction")
    ascending = direction in ("1", "asc")
    tags = request.args.getlist("filter")
    tags += request.args.getlist("library") + request.args.getlist("language")
    tags += [f"license:{lic.lower()}" for lic in request.args.getlist("license")]
    gated = request.args.get("gated")
    text = " ".join(request.args.getlist("search")).strip()
    if text:
        # Text queries go to the search index (relevance, Chinese segmentation, typo tolerance).
        filters: dict[str, list[str]] = {"tags": tags}
        if request.args.get("author"):
            filters["author"] = [request.args["author"]]
        if request.args.get("pipeline_tag"):
            filters["task"] = [request.args["pipeline_tag"]]
        result = services().search.search(SearchRequest(
            text=text, filters=filters, repo_type=repo_type_of(kind), sort=request.args.get("sort") or None,
            ascending=ascending, offset=offset, limit=size + 1, viewer=viewer_namespaces(auth.current()),
            gated=None if gated is None else gated.lower() in ("1", "true")))
        repos = reg.repos.by_ids([h.pk for h in result.hits], auth.current())
    else:
        repos = reg.repos.list(
            repo_type_of(kind), auth.current(),
            author=request.args.get("author") or None, tags=tags,
            pipeline_tag=request.args.get("pipeline_tag") or None,
            gated=None if gated is None else gated.lower() in ("1", "true"),
            sort=request.args.get("sort") or None, ascending=ascending, cursor=request.args.get("cursor") or None,
            offset=offset, limit=size + 1)
    more = len(repos) > size
    repos = repos[:size]
    full, card = flag("full"), flag("cardData") or flag("full")
    expand = request.args.getlist("expand") + request.args.getlist("expand[]")
    items = []
    for r in repos:
        d = repo_json(r, full=full or bool(expand), card=card or "cardData" in expand)
        if full:
            d["siblings"] = [{"rfilename": e.path} for e in reg.repos.tree(r, r.head_sha, "", True) if e.type == "file"] \
                if r.head_sha else []
        items.append(expand_only(d, expand) if expand else d)
    resp = jsonify(items)
    if more and text:
        resp.headers["Link"] = f'<{next_link(offset=offset + size, skip=None)}>; rel="next"'
    elif more:  # a keyset cursor: the next page costs the same however deep it is (models_registry/listing.py)
        nxt = cursor_after(repos[-1], request.args.get("sort") or None, ascending)
        resp.headers["Link"] = f'<{next_link(cursor=nxt, skip=None, offset=None)}>; rel="next"'
    return resp

