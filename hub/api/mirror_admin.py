"""Followed mirrors for site admins: `GET /api/mirrors` and `GET /api/mirrors/{ns}/{name}`.

Everyone else gets a 404, as for any admin-only resource: no mirror's existence or upstream leaks.
Tokens of mirrors are never returned (only whether one is stored).
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from models_registry.errors import NotFound
from models_registry.sync.mirror_records import AlertView, MirrorView, RunView

from .. import auth
from ..wiring import services
from .common import iso

bp = Blueprint("mirrors", __name__)


def _admin() -> None:
    p = auth.current()
    if p is None or not p.is_admin:
        raise NotFound("Not found")


def mirror_json(m: MirrorView) -> dict:
    return {"id": m.repo_id, "type": m.repo_type, "upstream": m.upstream_link, "upstreamUrl": m.upstream_url,
            "upstreamRepo": m.upstream_repo, "revision": m.revision, "hasToken": m.has_token,
            "intervalSeconds": m.interval_seconds, "origin": m.origin, "nextDue": iso(m.next_due),
            "lastStarted": iso(m.last_started_at), "lastFinished": iso(m.last_finished_at),
            "lastStatus": m.last_status, "lastError": m.last_error, "lastSyncedCommit": m.last_synced_commit,
            "lastSynced": iso(m.last_synced_at), "acceptedLicense": m.accepted_license,
            "acceptedGated": m.accepted_gated}


def run_json(r: RunView) -> dict:
    return {"id": r.id, "trigger": r.trigger, "started": iso(r.started_at), "finished": iso(r.finished_at),
            "status": r.status, "method": r.method, "refsUpdated": r.refs_updated, "gitObjects": r.git_objects,
            "lfsObjects": r.lfs_objects, "bytes": r.bytes_transferred, "skipped": r.skipped, "failures": r.failures}


def alert_json(a: AlertView) -> dict:
    return {"id": a.id, "repo": a.repo_id, "kind": a.kind, "old": a.old, "new": a.new, "created": iso(a.created_at),
            "acknowledgedBy": a.acknowledged_by, "acknowledged": iso(a.acknowledged_at)}


@bp.get("/api/mirrors")
def listing():
    _admin()
    mirrors = services().registry.mirrors
    return jsonify({"mirrors": [mirror_json(m) for m in mirrors.list()],
                    "alerts": [alert_json(a) for a in mirrors.alerts(open_only=True)]})


@bp.get("/api/mirrors/<ns>/<name>")
def one(ns: str, name: str):
    _admin()
    reg = services().registry
    m = reg.mirrors.get("model", f"{ns}/{name}")
    if m is None:
        raise NotFound(f"{ns}/{name} is not a mirror")
    out = mirror_json(m)
    out["runs"] = [run_json(r) for r in reg.mirrors.runs(m.id)]
    out["alerts"] = [alert_json(a) for a in reg.mirrors.alerts(mirror_id=m.id)]
    repo = reg.repos.by_id(m.repo_pk) if m.repo_pk else None
    trust = reg.mirrors.trust(repo) if repo else None
    out["verified"] = bool(trust and trust.verified)
    out["lfsChecks"] = [{"commit": c.commit, "path": c.path, "upstreamSha256": c.upstream_sha256, "sha256": c.sha256,
                         "size": c.size, "verified": c.verified} for c in (trust.checks if trust else [])]
    return jsonify(out)
