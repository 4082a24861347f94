"""Gated repositories: the card and file list stay visible, the files need an accepted request.

`gated` is "auto" (requests are accepted at once, after the user accepted the terms) or "manual"
(an owner decides). The questions a requester answers come from the card's `extra_gated_fields`,
the terms from `extra_gated_prompt`. Every request, acceptance of terms, decision and grant is
appended to access_events, with who did it and what was answered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from .db import Database
from .errors import BadRequest, Forbidden, NotFound, RepoNotFound
from .messages import N_
from .tables import AccessEvent, AccessRequest, User, utcnow
from .permissions import Principal, can_write
from .records import RepoView

# Files anyone who can see the repository may read, as on the Hub: the card (its .gitattributes is
# gated like any other file there, which huggingface_hub's own tests check).
UNGATED_FILES = frozenset({"README.md"})
STATUSES = ("pending", "accepted", "rejected")
MAX_FIELD_LENGTH = 2000


class GatedRepo(RepoNotFound):
    """The HF client maps X-Error-Code GatedRepo to GatedRepoError (a RepositoryNotFoundError)."""

    code = "GatedRepo"
    status = 403


@dataclass(frozen=True)
class RequestView:
    id: int
    user: str
    fullname: str
    email: str | None
    status: str
    fields: dict[str, Any] | None
    created_at: dt.datetime
    updated_at: dt.datetime


def questions(repo: RepoView) -> dict[str, Any]:
    """The card's `extra_gated_fields`: {label: type or {"type": ..., "options": [...]}}."""
    fields = (repo.card_data or {}).get("extra_gated_fields")
    return fields if isinstance(fields, dict) else {}


def terms(repo: RepoView) -> str:
    prompt = (repo.card_data or {}).get("extra_gated_prompt")
    return prompt if isinstance(prompt, str) else (
        "You need to agree to share your contact information to access this model.")


class Gating:
    def __init__(self, db: Database) -> None:
        self.db = db

    def has_access(self, principal: Principal | None, repo: RepoView) -> bool:
        if not repo.gated:
            return True
        if principal is None:
            return False
        if principal.is_admin or can_write(principal, repo.namespace) or principal.name == repo.namespace \
                or principal.org_roles.get(repo.namespace) is not None:
            return True
        with self.db.session() as s:
            status = s.scalar(select(AccessRequest.status).where(
                AccessRequest.repo_id == repo.id, AccessRequest.user_id == principal.user_id))
        return status == "accepted"

    def check_file(self, principal: Principal | None, repo: RepoView, path: str) -> None:
        if path in UNGATED_FILES or self.has_access(principal, repo):
            return
        raise GatedRepo(
            f"Access to model {repo.repo_id} is restricted. You must have access to it and be authenticated "
            "to access it. Please log in." if principal is None else
            f"Access to model {repo.repo_id} is restricted and you are not in the authorized list. "
            f"Visit the model page to ask for access.")

    def status_of(self, principal: Principal | None, repo: RepoView) -> str | None:
        if principal is None:
            return None
        with self.db.session() as s:
            return s.scalar(select(AccessRequest.status).where(
                AccessRequest.repo_id == repo.id, AccessRequest.user_id == principal.user_id))

    def request_access(self, principal: Principal, repo: RepoView, answers: dict[str, Any]) -> str:
        """Record a request (the requester accepts the terms by sending it); returns its status."""
        if not repo.gated:
            raise BadRequest(N_("%(repo)s is not gated: no access request needed", repo=repo.repo_id))
        clean = self._check_answers(repo, answers)
        now = utcnow()
        with self.db.session(write=True) as s:
            req = s.scalar(select(AccessRequest).where(
                AccessRequest.repo_id == repo.id, AccessRequest.user_id == principal.user_id))
            if req is not None and req.status in ("accepted", "pending"):
                return req.status
            if req is not None and req.status == "rejected":
                raise Forbidden(N_("Your access request was rejected by the repository owner"))
            status = "accepted" if repo.gated == "auto" else "pending"
            s.add(AccessRequest(repo_id=repo.id, user_id=principal.user_id, status=status, fields=clean,
                                created_at=now, updated_at=now))
            terms_text = terms(repo)
            s.add(AccessEvent(repo_id=repo.id, user_id=principal.user_id, actor_id=principal.user_id,
                              action="requested", created_at=now,
                              detail={"fields": clean, "terms_sha256": hashlib.sha256(terms_text.encode()).hexdigest(),
                                      "terms": terms_text[:5000], "accepted_terms": True}))
            if status == "accepted":
                s.add(AccessEvent(repo_id=repo.id, user_id=principal.user_id, actor_id=None, action="accepted",
                                  created_at=now, detail={"by": "auto"}))
            return status

    def _check_answers(self, repo: RepoView, answers: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(answers, dict):
            raise BadRequest(N_("Answers must be an object of field -> value"))
        out: dict[str, Any] = {}
        for label, spec in questions(repo).items():
            kind = spec.get("type") if isinstance(spec, dict) else spec
            value = answers.get(label)
            if kind == "checkbox":
                if value not in (True, "true", "on", "1", 1):
                    raise BadRequest(N_("You must tick %(label)s to request access", label=repr(label)))
                out[label] = True
                continue
            if value is None or (isinstance(value, str) and not value.strip()):
                raise BadRequest(N_("Please answer %(label)s", label=repr(label)))
            value = str(value)[:MAX_FIELD_LENGTH]
            options = spec.get("options") if isinstance(spec, dict) else None
            if isinstance(options, list) and options:
                labels = [o.get("label", o.get("value")) if isinstance(o, dict) else o for o in options]
                values = [o.get("value", o.get("label")) if isinstance(o, dict) else o for o in options]
                if value not in [str(x) for x in labels + values]:
                    raise BadRequest(N_("%(value)s is not one of the choices for %(label)s", value=repr(value),
                                        label=repr(label)))
            out[label] = value
        return out

    # ---- owner side -------------------------------------------------------------------------
    def _check_owner(self, principal: Principal, repo: RepoView) -> None:
        if not can_write(principal, repo.namespace):
            raise Forbidden(N_("Only members with write access to %(namespace)s manage access requests",
                               namespace=repo.namespace))

    def list_requests(self, principal: Principal, repo: RepoView, status: str) -> list[RequestView]:
        self._check_owner(principal, repo)
        if status not in STATUSES:
            raise BadRequest(N_("Unknown status %(status)s", status=repr(status)))
        with self.db.session() as s:
            rows = s.scalars(select(AccessRequest).where(AccessRequest.repo_id == repo.id,
                                                         AccessRequest.status == status)
                             .order_by(AccessRequest.created_at)).all()
            # The email is shared by asking (the form says so); a user granted access by hand asked nothing.
            return [RequestView(r.id, r.user.name, r.user.fullname or r.user.name,
                                r.user.email if r.fields is not None else None, r.status,
                                r.fields, r.created_at, r.updated_at) for r in rows]

    def handle(self, principal: Principal, repo: RepoView, status: str, user: str | None = None,
               request_id: int | None = None, reason: str | None = None) -> None:
        """Accept, reject, or move back to pending (cancel) a user's request."""
        self._check_owner(principal, repo)
        if status not in STATUSES:
            raise BadRequest(N_("status must be one of %(statuses)s", statuses=", ".join(STATUSES)))
        with self.db.session(write=True) as s:
            q = select(AccessRequest).where(AccessRequest.repo_id == repo.id)
            if request_id is not None:
                q = q.where(AccessRequest.id == request_id)
            elif user is not None:
                q = q.join(User, User.id == AccessRequest.user_id).where(User.name == user)
            else:
                raise BadRequest(N_("Give 'user' or 'requestId'"))
            req = s.scalar(q)
            if req is None:
                raise NotFound(N_("No access request from this user"))
            if req.status == status:  # as on the Hub: accepting the accepted (and so on) is a mistake
                raise BadRequest(N_("This access request is already %(status)s", status=status))
            req.status, req.updated_at = status, utcnow()
            req.reason = reason
            s.add(AccessEvent(repo_id=repo.id, user_id=req.user_id, actor_id=principal.user_id, action=status,
                              created_at=req.updated_at, detail={"reason": reason} if reason else None))

    def grant(self, principal: Principal, repo: RepoView, user: str) -> None:
        self._check_owner(principal, repo)
        if not repo.gated:
            raise BadRequest(N_("%(repo)s is not gated", repo=repo.repo_id))
        now = utcnow()
        with self.db.session(write=True) as s:
            u = s.scalar(select(User).where(User.name == user))
            if u is None:
                raise NotFound(N_("No user named %(name)s", name=repr(user)))
            req = s.scalar(select(AccessRequest).where(AccessRequest.repo_id == repo.id, AccessRequest.user_id == u.id))
            if req is not None and req.status == "accepted":
                raise BadRequest(N_("%(user)s already has access to %(repo)s", user=user, repo=repo.repo_id))
            if req is None:
                s.add(AccessRequest(repo_id=repo.id, user_id=u.id, status="accepted", created_at=now, updated_at=now))
            else:
                req.status, req.updated_at = "accepted", now
            s.add(AccessEvent(repo_id=repo.id, user_id=u.id, actor_id=principal.user_id, action="granted",
                              created_at=now))

    def events(self, principal: Principal, repo: RepoView) -> list[dict[str, Any]]:
        self._check_owner(principal, repo)
        with self.db.session() as s:
            rows = s.execute(select(AccessEvent, User.name).join(User, User.id == AccessEvent.user_id)
                             .where(AccessEvent.repo_id == repo.id).order_by(AccessEvent.id)).all()
            return [{"user": name, "action": e.action, "actor_id": e.actor_id, "detail": e.detail,
                     "at": e.created_at} for e, name in rows]
