"""The Hub's collections API, as huggingface_hub calls it (create/get/list/update/delete collections,
add/update/delete their items). The rules are community/collections.py's; this module parses and
answers in the Hub's JSON shapes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from community.collections import CollectionRef, CollectionView, ItemView
from models_registry.errors import BadRequest, Conflict

from .. import auth
from ..errors import error_response
from ..wiring import services
from .common import base_url, int_arg, iso, json_body, next_link
from .serialize import repo_json

bp = Blueprint("collections", __name__)
MAX_PAGE = 100


def _owner_json(view: CollectionView) -> dict[str, Any]:
    o = view.owner
    return {"name": o.name, "fullname": o.fullname, "type": o.kind, "avatarUrl": f"{base_url()}/{o.name}"}


def _ref_json(ref: CollectionRef) -> dict[str, Any]:
    """A collection as an entry of another (the client takes `slug` as the entry's item_id)."""
    return {"id": ref.hex_id, "slug": ref.slug, "title": ref.title, "description": ref.description,
            "private": ref.private, "theme": ref.theme, "lastUpdated": iso(ref.last_updated)}


def _item_json(item: ItemView) -> dict[str, Any]:
    if item.repo is not None:
        out = repo_json(item.repo, full=False, card=False)
        out.update({"author": item.repo.namespace, "repoType": item.repo.repo_type})
    else:
        assert item.collection is not None
        out = _ref_json(item.collection)
    out.update({"_id": item.hex_id, "type": item.item_type, "position": item.position})
    if item.note is not None:
        out["note"] = {"text": item.note, "html": item.note_html}
    return out


def collection_json(view: CollectionView) -> dict[str, Any]:
    """The Hub's shape of a collection (what huggingface_hub's `Collection` reads)."""
    return {
        "slug": view.slug, "title": view.title, "description": view.description,
        "owner": _owner_json(view), "items": [_item_json(i) for i in view.items],
        "lastUpdated": iso(view.last_updated), "position": view.position, "private": view.private,
        "theme": view.theme, "upvotes": 0, "isUpvotedByUser": False, "gating": False,
        "shareUrl": f"{base_url()}/collections/{view.slug}",
    }


def _optional_bool(body: dict[str, Any], key: str) -> bool | None:
    v = body.get(key)
    if v is not None and not isinstance(v, bool):
        raise BadRequest(f"'{key}' must be true or false")
    return v


def _optional_int(body: dict[str, Any], key: str) -> int | None:
    v = body.get(key)
    if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
        raise BadRequest(f"'{key}' must be an integer")
    return v


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    v = body.get(key)
    if v is not None and not isinstance(v, str):
        raise BadRequest(f"'{key}' must be text")
    return v


@bp.get("/api/collections")
def listing():
    """?owner=&item=&sort=&limit= (a page size, with `Link: rel=next`) &skip=."""
    page = min(int(current_app.config["PAGE_SIZE"]), MAX_PAGE)
    limit = int_arg("limit", 0, 0, 10_000)
    size = min(limit, MAX_PAGE) if limit else page
    offset = int_arg("skip", 0)
    views = services().community.collections.list(
        auth.current(), owners=request.args.getlist("owner"), items=request.args.getlist("item"),
        sort=request.args.get("sort") or None, offset=offset, limit=size + 1,
        text=request.args.get("q") or None)
    # No `position` here: the client numbers a listing's collections itself (and refuses a second one).
    resp = jsonify([{k: v for k, v in collection_json(view).items() if k != "position"} for view in views[:size]])
    if len(views) > size:
        resp.headers["Link"] = f'<{next_link(skip=offset + size)}>; rel="next"'
    return resp


@bp.post("/api/collections")
def create():
    body = json_body()
    p = auth.require()
    namespace = _optional_str(body, "namespace") or p.name
    try:
        view = services().community.collections.create(
            p, namespace, body.get("title"), description=_optional_str(body, "description"),
            private=bool(_optional_bool(body, "private")), theme=_optional_str(body, "theme"))
    except Conflict as e:
        # create_collection(exists_ok=True) reads the existing collection's slug from this answer.
        return error_response(409, e.message, **({"slug": e.extra["slug"]} if e.extra.get("slug") else {}))
    return jsonify(collection_json(view))


@bp.get("/api/collections/<namespace>/<slug>")
def get(namespace: str, slug: str):
    return jsonify(collection_json(services().community.collections.get(auth.current(), f"{namespace}/{slug}")))


@bp.patch("/api/collections/<namespace>/<slug>")
def update(namespace: str, slug: str):
    body = json_body()
    view = services().community.collections.update(
        auth.require(), f"{namespace}/{slug}", title=_optional_str(body, "title"),
        description=_optional_str(body, "description"), private=_optional_bool(body, "private"),
        theme=_optional_str(body, "theme"), position=_optional_int(body, "position"))
    return jsonify({"success": True, "data": collection_json(view)})


@bp.delete("/api/collections/<namespace>/<slug>")
def delete(namespace: str, slug: str):
    services().community.collections.delete(auth.require(), f"{namespace}/{slug}")
    return jsonify({"success": True})


@bp.post("/api/collections/<namespace>/<slug>/items")
def add_item(namespace: str, slug: str):
    body = json_body()
    item = body.get("item")
    if not isinstance(item, dict):
        raise BadRequest("'item' must be an object: {\"id\": ..., \"type\": ...}")
    item_type, item_id = item.get("type"), item.get("id")
    if not isinstance(item_type, str) or not isinstance(item_id, str):
        raise BadRequest("'item.type' and 'item.id' must be text")
    view = services().community.collections.add_item(auth.require(), f"{namespace}/{slug}", item_type, item_id,
                                                     note=_optional_str(body, "note"))
    return jsonify(collection_json(view))


@bp.patch("/api/collections/<namespace>/<slug>/items/<item_id>")
def update_item(namespace: str, slug: str, item_id: str):
    body = json_body()
    services().community.collections.update_item(auth.require(), f"{namespace}/{slug}", item_id,
                                                  note=_optional_str(body, "note"),
                                                  position=_optional_int(body, "position"))
    return jsonify({"success": True})


@bp.delete("/api/collections/<namespace>/<slug>/items/<item_id>")
def delete_item(namespace: str, slug: str, item_id: str) -> Response:
    services().community.collections.delete_item(auth.require(), f"{namespace}/{slug}", item_id)
    return jsonify({"success": True})

