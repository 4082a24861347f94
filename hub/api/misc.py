"""Health, identity and card validation (the Xet token endpoints are in xet.py)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from models_registry import cards
from models_registry.errors import BadRequest

from .. import auth
from ..wiring import services
from .common import json_body

bp = Blueprint("misc", __name__)


@bp.get("/api/health")
def health():
    return jsonify(services().registry.health())


@bp.get("/api/agent-harnesses")
def agent_harnesses():
    # The HF client asks this once a day; we have nothing to tell it.
    return jsonify({"standardEnvVars": [], "harnesses": {}})


@bp.get("/api/whoami-v2")
def whoami():
    p = auth.require()
    accounts = services().registry.accounts
    profile = accounts.user_profile(p.name) or {}
    fullnames = accounts.org_fullnames(list(p.org_roles))
    return jsonify({
        "type": "user",
        "id": str(p.user_id),
        "name": p.name,
        "fullname": profile.get("fullname") or p.name,
        "email": profile.get("email"),
        "isAdmin": p.is_admin,
        "orgs": [{"name": org, "fullname": fullnames.get(org) or org, "roleInOrg": role}
                 for org, role in sorted(p.org_roles.items())],
        "auth": {"type": "access_token",
                 "accessToken": {"displayName": p.token_label or "session", "role": p.token_role or "write"}},
    })


@bp.post("/api/validate-yaml")
def validate_yaml():
    body = json_body()
    content = body.get("content")
    if not isinstance(content, str):
        raise BadRequest("'content' must be the README text")
    report = cards.parse_card(content)
    status = 400 if report.errors else 200
    if request.accept_mimetypes.best == "text/plain":  # RepoCard.validate() asks so, and raises the text
        lines = [f"- Error: {e.message}" for e in report.errors] + [f"- Warning: {w.message}" for w in report.warnings]
        return Response("\n".join(lines), status, mimetype="text/plain")
    out = {"errors": [{"message": str(e)} for e in report.errors],
           "warnings": [{"message": str(w)} for w in report.warnings]}
    return jsonify(out), status

