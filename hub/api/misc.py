"""Health, identity, card validation and the Xet token endpoints."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect

from models_registry import cards
from models_registry.errors import BadRequest

from .. import auth
from ..errors import error_response
from ..services import registry
from .common import json_body

bp = Blueprint("misc", __name__)


@bp.get("/api/health")
def health():
    reg = registry()
    with reg.db.engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    return jsonify({"status": "ok", "database": reg.db.engine.dialect.name})


@bp.get("/api/agent-harnesses")
def agent_harnesses():
    # The HF client asks this once a day; we have nothing to tell it.
    return jsonify({"standardEnvVars": [], "harnesses": {}})


@bp.get("/api/whoami-v2")
def whoami():
    p = auth.require()
    profile = registry().accounts.user_profile(p.name) or {}
    return jsonify({
        "type": "user",
        "id": str(p.user_id),
        "name": p.name,
        "fullname": profile.get("fullname") or p.name,
        "email": profile.get("email"),
        "isAdmin": p.is_admin,
        "orgs": [{"name": org, "roleInOrg": role} for org, role in sorted(p.org_roles.items())],
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
    out = {"errors": [{"message": str(e)} for e in report.errors],
           "warnings": [{"message": str(w)} for w in report.warnings]}
    return jsonify(out), 400 if report.errors else 200


XET_MESSAGE = (
    "This hub does not speak the Xet protocol yet, so files that preupload marks as LFS cannot be "
    "uploaded with hf_xet. Set HF_HUB_DISABLE_XET=1 in your environment to upload them over git-LFS."
)
# hf_xet (Rust) fetches the token itself and reports only the status and the final URL of a
# failure, never our message. So the URL it ends on carries the advice.
XET_ADVICE_PATH = "/api/xet-unsupported/set-HF_HUB_DISABLE_XET=1-to-upload-large-files-over-git-lfs"


@bp.route("/api/<any(models,datasets,spaces):kind>/<ns>/<name>/xet-write-token/<path:rev>")
@bp.route("/api/<any(models,datasets,spaces):kind>/<ns>/<name>/xet-read-token/<path:rev>")
def xet_token(kind: str, ns: str, name: str, rev: str):
    return redirect(XET_ADVICE_PATH, code=307)


@bp.route(XET_ADVICE_PATH)
def xet_unsupported():
    # 501, not a 5xx the client retries: backoff would only delay the same answer.
    return error_response(501, XET_MESSAGE)
