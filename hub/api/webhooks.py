"""The Hub's webhooks API, as huggingface_hub calls it: /api/settings/webhooks (list, create),
/api/settings/webhooks/<id> (get, update by POST, delete), .../enable and .../disable, plus the
delivery log and redelivery (ModelHub's own). The rules are community/webhooks.py's."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from community.webhooks import DeliveryView, WebhookView
from models_registry.errors import BadRequest

from .. import auth
from ..wiring import services
from .common import base_url, iso, json_body

# Not "webhooks": blueprints named web* are pages (CSRF-checked forms), see hub/web/__init__.py.
bp = Blueprint("api_webhooks", __name__)


def webhook_json(view: WebhookView) -> dict[str, Any]:
    """What huggingface_hub's WebhookInfo reads."""
    return {"id": view.hex_id, "url": view.url, "watched": view.watched, "domains": view.domains,
            "secret": view.secret, "disabled": view.disabled, "job": None, "createdAt": iso(view.created_at)}


def delivery_json(d: DeliveryView) -> dict[str, Any]:
    return {"id": d.hex_id, "event": {"scope": d.scope, "action": d.action}, "status": d.status,
            "attempts": d.attempts, "responseStatus": d.response_status, "responseExcerpt": d.response_excerpt,
            "error": d.error, "durationMs": d.duration_ms, "createdAt": iso(d.created_at),
            "lastAttemptAt": iso(d.last_attempt_at), "nextAttemptAt": iso(d.next_attempt_at)}


def _no_jobs(body: dict[str, Any]) -> None:
    if body.get("jobSourceId") is not None or body.get("secrets") is not None:
        raise BadRequest("This hub runs no Jobs: a webhook needs a 'url'")


@bp.get("/api/settings/webhooks")
def listing():
    return jsonify([webhook_json(w) for w in services().community.webhooks.list(auth.require())])


@bp.post("/api/settings/webhooks")
def create():
    body = json_body()
    _no_jobs(body)
    view = services().community.webhooks.create(auth.require(), body.get("url"), body.get("watched"),
                                                body.get("domains"), body.get("secret"), hub_url=base_url())
    return jsonify({"webhook": webhook_json(view)})


@bp.get("/api/settings/webhooks/<hex_id>")
def get(hex_id: str):
    return jsonify({"webhook": webhook_json(services().community.webhooks.get(auth.require(), hex_id))})


@bp.post("/api/settings/webhooks/<hex_id>")
def update(hex_id: str):
    body = json_body()
    _no_jobs(body)
    view = services().community.webhooks.update(auth.require(), hex_id, url=body.get("url"),
                                                watched=body.get("watched"), domains=body.get("domains"),
                                                secret=body.get("secret"), hub_url=base_url())
    return jsonify({"webhook": webhook_json(view)})


@bp.post("/api/settings/webhooks/<hex_id>/enable")
def enable(hex_id: str):
    return jsonify({"webhook": webhook_json(services().community.webhooks.set_disabled(auth.require(), hex_id, False))})


@bp.post("/api/settings/webhooks/<hex_id>/disable")
def disable(hex_id: str):
    return jsonify({"webhook": webhook_json(services().community.webhooks.set_disabled(auth.require(), hex_id, True))})


@bp.delete("/api/settings/webhooks/<hex_id>")
def delete(hex_id: str):
    services().community.webhooks.delete(auth.require(), hex_id)
    return jsonify({})


@bp.get("/api/settings/webhooks/<hex_id>/deliveries")
def deliveries(hex_id: str):
    return jsonify([delivery_json(d) for d in services().community.webhooks.deliveries(auth.require(), hex_id)])


@bp.post("/api/settings/webhooks/<hex_id>/deliveries/<delivery_id>/redeliver")
def redeliver(hex_id: str, delivery_id: str):
    return jsonify(delivery_json(services().community.webhooks.redeliver(auth.require(), hex_id, delivery_id)))
