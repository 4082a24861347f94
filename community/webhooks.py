"""Webhooks: a user's subscriptions to changes of repositories, users and organizations, and the
delivery of the Hub's payloads to them, from a background worker.

Rules (the API and the settings page both call these methods):
- A webhook belongs to the user who made it; to anyone else it does not exist (NotFound). Changing
  one needs a token that may write and an account that is not suspended.
- It watches repositories (`model`, `dataset`, `space` + `ns/name`), users and organizations (every
  repository of that namespace), in the domains `repo` (creation, deletion, visibility, refs) and
  `discussion` (discussions, comments, merges). A watched name need not exist yet.
- It is told only of what its owner may see at the time of the change: a private repository's events
  reach the webhooks of its namespace's members (and site admins), no one else's.

Delivery (cluster-safe: several hub nodes on one database):
1. Changes are logged in `repo_events` (models_registry/repo_events.py), in the change's transaction.
2. `dispatch` turns each logged event into one delivery row per matching webhook and deletes the
   event, in one transaction, under the `webhooks-dispatch` lock (one dispatcher at a time).
3. `deliver_due` claims due deliveries one by one with a conditional UPDATE of `claimed_until` (a
   lease: a node that dies mid-send frees its claim when it expires) and sends each with
   `webhook_sender.send`. A failed attempt is retried after retry_seconds * 2**(attempt-1), at most
   max_attempts times; then the delivery is `failed`. The log keeps status, duration and an excerpt
   of the answer; `redeliver` queues the same body again as a new delivery.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from models_registry import repo_events

from models_registry.clock import utcnow
from models_registry.db import Database
from models_registry.errors import BadRequest, Forbidden, NotFound
from models_registry.messages import N_
from models_registry.permissions import Principal, can_read
from models_registry.records import RepoView
from models_registry.registry import Registry
from models_registry.tables import RepoEvent, User

from .tables import Discussion, DiscussionEvent, Webhook, WebhookDelivery
from .webhook_sender import AllowList, TargetRefused, check_url, send

DOMAINS = ("repo", "discussion")
WATCH_TYPES = ("model", "dataset", "space", "user", "org")
PAYLOAD_VERSION = 3  # the Hub's webhook payload version
MAX_URL = 2000
MAX_SECRET = 200
MAX_WATCHED = 100
MAX_PER_USER = 50
LOG_LENGTH = 50  # deliveries shown per webhook
LOG_KEPT = dt.timedelta(days=30)  # finished deliveries older than this are deleted (prune_log)
TYPE_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
SIGNATURE_HEADER = "X-Webhook-Signature"


@dataclass(frozen=True)
class WebhookSettings:
    allow: AllowList = field(default_factory=AllowList)
    max_attempts: int = 5
    retry_seconds: float = 10.0  # the first retry's delay; each next one waits twice as long
    timeout: float = 5.0  # seconds to connect, and between bytes of the answer
    base_url: str = ""  # the hub's PUBLIC_URL, which the payload's links start with (else the webhook's hub_url)


@dataclass(frozen=True)
class WebhookView:
    hex_id: str
    owner: str
    url: str
    secret: str | None
    watched: list[dict[str, str]]
    domains: list[str]
    disabled: bool
    created_at: dt.datetime

    @classmethod
    def of(cls, w: Webhook, owner: str) -> WebhookView:
        return cls(w.hex_id, owner, w.url, w.secret, list(w.watched), list(w.domains), w.disabled, w.created_at)


@dataclass(frozen=True)
class DeliveryView:
    hex_id: str
    scope: str
    action: str
    status: str
    attempts: int
    response_status: int | None
    response_excerpt: str | None
    error: str | None
    duration_ms: int | None
    created_at: dt.datetime
    last_attempt_at: dt.datetime | None
    next_attempt_at: dt.datetime

    @classmethod
    def of(cls, d: WebhookDelivery) -> DeliveryView:
        return cls(d.hex_id, d.scope, d.action, d.status, d.attempts, d.response_status, d.response_excerpt,
                   d.error, d.duration_ms, d.created_at, d.last_attempt_at, d.next_attempt_at)


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of the body under the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _new_hex() -> str:
    return secrets.token_hex(12)


def _clean_watched(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise BadRequest(N_("'watched' must be a non-empty list of {type, name} items"))
    if len(raw) > MAX_WATCHED:
        raise BadRequest(N_("A webhook watches at most %(n)s items", n=MAX_WATCHED))
    out: list[dict[str, str]] = []
    for item in raw:
        if not isinstance(item, dict) or item.get("type") not in WATCH_TYPES \
                or not isinstance(item.get("name"), str) or not item["name"].strip() or len(item["name"]) > 200:
            raise BadRequest(N_("Each watched item needs a type (model, dataset, space, user or org) and a name"))
        name = item["name"].strip()
        if item["type"] in ("user", "org") and "/" in name:
            raise BadRequest(N_("A watched user or organization is a name without '/'"))
        if item["type"] not in ("user", "org") and name.count("/") != 1:
            raise BadRequest(N_("A watched repository is named namespace/name"))
        entry = {"type": item["type"], "name": name}
        if entry not in out:
            out.append(entry)
    return out


def _clean_domains(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not raw or any(d not in DOMAINS for d in raw):
        raise BadRequest(N_("'domains' must be a non-empty list of 'repo' and 'discussion'"))
    return [d for d in DOMAINS if d in raw]


def _clean_secret(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > MAX_SECRET:
        raise BadRequest(N_("The secret must be text of at most %(n)s characters", n=MAX_SECRET))
    return raw


def watches(watched: list[dict[str, str]], repo_type: str, namespace: str, name: str) -> bool:
    """Whether a webhook watching `watched` hears of a change to the repository `namespace/name`."""
    repo_id = f"{namespace}/{name}".lower()
    for item in watched:
        kind, target = item["type"], item["name"].lower()
        if kind in ("user", "org") and target == namespace.lower():
            return True
        if kind == repo_type and target == repo_id:
            return True
    return False


def domain_of(scope: str) -> str:
    return scope.split(".", 1)[0]


class Webhooks:
    """Create, read, change and delete webhooks (each with its permission check), and deliver."""

    def __init__(self, db: Database, registry: Registry, settings: WebhookSettings | None = None) -> None:
        self.db = db
        self.registry = registry
        self.settings = settings or WebhookSettings()

    # ---- the owner's side ---------------------------------------------------------------------
    @staticmethod
    def _check_write(p: Principal | None) -> Principal:
        if p is None:
            raise Forbidden(N_("Sign in to manage webhooks"))
        if not p.can_write_at_all:
            raise Forbidden(N_("A read-only token or a suspended account cannot change webhooks"))
        return p

    def _clean_url(self, raw: Any) -> str:
        if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_URL:
            raise BadRequest(N_("The webhook needs a URL (http:// or https://)"))
        try:
            check_url(raw.strip(), self.settings.allow)
        except TargetRefused as e:
            raise BadRequest(str(e)) from None
        return raw.strip()

    @staticmethod
    def _mine(s: Any, p: Principal | None, hex_id: str) -> Webhook:
        w = s.scalar(select(Webhook).where(Webhook.hex_id == str(hex_id)))
        if w is None or p is None or w.owner_id != p.user_id:
            raise NotFound(N_("Webhook %(id)s not found", id=repr(hex_id)))
        return w

    def list(self, p: Principal | None) -> list[WebhookView]:
        if p is None:
            raise Forbidden(N_("Sign in to manage webhooks"))
        with self.db.session() as s:
            rows = s.scalars(select(Webhook).where(Webhook.owner_id == p.user_id).order_by(Webhook.id)).all()
            return [WebhookView.of(w, p.name) for w in rows]

    def get(self, p: Principal | None, hex_id: str) -> WebhookView:
        with self.db.session() as s:
            return WebhookView.of(self._mine(s, p, hex_id), p.name if p else "")

    def create(self, p: Principal | None, url: Any, watched: Any, domains: Any = None,
               secret: Any = None, hub_url: str = "") -> WebhookView:
        """`hub_url`: the hub's address as the caller reached it (for the payload's links)."""
        p = self._check_write(p)
        url = self._clean_url(url)
        watched = _clean_watched(watched)
        domains = _clean_domains(list(DOMAINS) if domains is None else domains)
        secret = _clean_secret(secret)
        with self.db.session(write=True) as s:
            count = len(s.scalars(select(Webhook.id).where(Webhook.owner_id == p.user_id)).all())
            if count >= MAX_PER_USER:
                raise BadRequest(N_("You have %(n)s webhooks, the most one account may have", n=MAX_PER_USER))
            now = utcnow()
            w = Webhook(hex_id=_new_hex(), owner_id=p.user_id, url=url, secret=secret, watched=watched,
                        domains=domains, disabled=False, hub_url=hub_url[:500], created_at=now, updated_at=now)
            s.add(w)
            s.flush()
            return WebhookView.of(w, p.name)

    def update(self, p: Principal | None, hex_id: str, *, url: Any = None, watched: Any = None,
               domains: Any = None, secret: Any = None, hub_url: str | None = None) -> WebhookView:
        """Change what is given; an empty `watched` keeps the list (huggingface_hub sends [] when
        its caller gave none). An empty secret removes it."""
        p = self._check_write(p)
        with self.db.session(write=True) as s:
            w = self._mine(s, p, hex_id)
            if url is not None:
                w.url = self._clean_url(url)
            if watched:
                w.watched = _clean_watched(watched)
            if domains is not None:
                w.domains = _clean_domains(domains)
            if secret is not None:
                w.secret = _clean_secret(secret)
            if hub_url:
                w.hub_url = hub_url[:500]
            w.updated_at = utcnow()
            s.flush()
            return WebhookView.of(w, p.name)

    def set_disabled(self, p: Principal | None, hex_id: str, disabled: bool) -> WebhookView:
        p = self._check_write(p)
        with self.db.session(write=True) as s:
            w = self._mine(s, p, hex_id)
            w.disabled, w.updated_at = disabled, utcnow()
            s.flush()
            return WebhookView.of(w, p.name)

    def delete(self, p: Principal | None, hex_id: str) -> None:
        p = self._check_write(p)
        with self.db.session(write=True) as s:
            s.delete(self._mine(s, p, hex_id))

    def deliveries(self, p: Principal | None, hex_id: str, limit: int = LOG_LENGTH) -> list[DeliveryView]:
        """The webhook's newest deliveries first."""
        with self.db.session() as s:
            w = self._mine(s, p, hex_id)
            rows = s.scalars(select(WebhookDelivery).where(WebhookDelivery.webhook_id == w.id)
                             .order_by(WebhookDelivery.id.desc()).limit(limit)).all()
            return [DeliveryView.of(d) for d in rows]

    def redeliver(self, p: Principal | None, hex_id: str, delivery_hex: str) -> DeliveryView:
        """Queue the body of an earlier delivery again, as a new delivery (the log keeps both)."""
        p = self._check_write(p)
        with self.db.session(write=True) as s:
            w = self._mine(s, p, hex_id)
            old = s.scalar(select(WebhookDelivery).where(WebhookDelivery.hex_id == str(delivery_hex),
                                                         WebhookDelivery.webhook_id == w.id))
            if old is None:
                raise NotFound(N_("Delivery %(id)s not found", id=repr(delivery_hex)))
            now = utcnow()
            d = WebhookDelivery(hex_id=_new_hex(), webhook_id=w.id, scope=old.scope, action=old.action,
                                body=old.body, status="pending", attempts=0, next_attempt_at=now, created_at=now)
            s.add(d)
            s.flush()
            return DeliveryView.of(d)

    # ---- the worker's side --------------------------------------------------------------------
    def prune_log(self, older_than: dt.timedelta = LOG_KEPT) -> int:
        """Delete finished deliveries older than `older_than` (a daily background job); how many."""
        D = WebhookDelivery
        with self.db.session(write=True) as s:
            gone = s.execute(delete(D).where(D.status.in_(("delivered", "failed")),
                                             D.created_at < utcnow() - older_than))
            return int(gone.rowcount or 0)

    def run_once(self) -> tuple[int, int]:
        """One turn of the background worker: (events dispatched, deliveries attempted)."""
        return self.dispatch(), self.deliver_due()

    def dispatch(self, limit: int = 200) -> int:
        """Turn logged events into deliveries (see the module docstring); returns how many events."""
        with self.db.session() as s:  # the usual answer, without a lock or a write transaction
            if s.scalar(select(RepoEvent.id).limit(1)) is None:
                return 0
        with self.registry.locks.try_hold("webhooks-dispatch") as got:
            if not got:
                return 0
            with self.db.session() as s:
                hooks = [(w.id, w.hex_id, list(w.domains), list(w.watched), w.hub_url, owner) for w, owner in s.execute(
                    select(Webhook, User.name).join(User, User.id == Webhook.owner_id)
                    .where(Webhook.disabled.is_(False))).all()]
            principals: dict[str, Principal | None] = {}
            for *_, owner in hooks:
                if owner not in principals:
                    try:
                        principals[owner] = self.registry.accounts.principal_for_name(owner)
                    except NotFound:
                        principals[owner] = None
            with self.db.session(write=True) as s:
                events = s.scalars(select(RepoEvent).order_by(RepoEvent.id).limit(limit)).all()
                now = utcnow()
                for ev in events:
                    s.delete(ev)  # dispatched: its deliveries carry it on
                    for hook_id, hook_hex, domains, watched, hub_url, owner in hooks:
                        if domain_of(ev.scope) not in domains or \
                                not watches(watched, ev.repo_type, ev.namespace, ev.name) or \
                                not can_read(principals[owner], ev.namespace, ev.private):
                            continue
                        body = json.dumps(self.payload(ev, hook_hex, hub_url), separators=(",", ":"))
                        s.add(WebhookDelivery(hex_id=_new_hex(), webhook_id=hook_id, scope=ev.scope,
                                              action=ev.action, body=body, status="pending", attempts=0,
                                              next_attempt_at=now, created_at=now))
                return len(events)

    def payload(self, ev: RepoEvent, webhook_hex: str, hub_url: str = "") -> dict[str, Any]:
        """The Hub's payload for one event and one webhook."""
        base = (self.settings.base_url or hub_url).rstrip("/")
        repo_id = f"{ev.namespace}/{ev.name}"
        web = f"{base}/{TYPE_PREFIX.get(ev.repo_type, '')}{repo_id}"
        data = dict(ev.data or {})
        out: dict[str, Any] = {
            "event": {"action": ev.action, "scope": ev.scope},
            "repo": {"type": ev.repo_type, "name": repo_id, "id": str(ev.repo_pk), "private": ev.private,
                     "headSha": data.pop("headSha", None), "owner": {"id": ev.namespace},
                     "url": {"web": web, "api": f"{base}/api/{ev.repo_type}s/{repo_id}"}},
        }
        discussion = data.pop("discussion", None)
        if discussion is not None:
            num = discussion["num"]
            discussion = {**discussion, "url": {"web": f"{web}/discussions/{num}",
                                                "api": f"{base}/api/{ev.repo_type}s/{repo_id}/discussions/{num}"}}
            out["discussion"] = discussion
        comment = data.pop("comment", None)
        if comment is not None and discussion is not None:
            comment = {**comment, "url": {"web": f"{discussion['url']['web']}#{comment['id']}"}}
            out["comment"] = comment
        out.update(data)  # updatedRefs, updatedConfig
        out["webhook"] = {"id": webhook_hex, "version": PAYLOAD_VERSION}
        return out

    def deliver_due(self, limit: int = 20) -> int:
        """Claim and send up to `limit` due deliveries; returns how many were attempted."""
        now = utcnow()
        with self.db.session() as s:
            due = s.scalars(select(WebhookDelivery.id).join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
                                   Webhook.disabled.is_(False),
                                   or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now))
                            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)).all()
        attempted = 0
        for delivery_id in due:
            if self._deliver(delivery_id):
                attempted += 1
        return attempted

    def _claim(self, delivery_id: int) -> bool:
        now = utcnow()
        lease = dt.timedelta(seconds=self.settings.timeout * 4 + 10)  # resolve, connect, send, read
        D = WebhookDelivery
        with self.db.session(write=True) as s:
            claimed = s.execute(update(D).where(
                D.id == delivery_id, D.status == "pending",
                or_(D.claimed_until.is_(None), D.claimed_until < now)).values(claimed_until=now + lease))
            return claimed.rowcount == 1

    def _deliver(self, delivery_id: int) -> bool:
        if not self._claim(delivery_id):
            return False  # another node took it
        with self.db.session() as s:
            d = s.get(WebhookDelivery, delivery_id)
            w = s.get(Webhook, d.webhook_id) if d is not None else None
            if d is None or w is None:
                return False
            url, secret, body, attempts = w.url, w.secret, d.body.encode(), d.attempts
        headers: dict[str, str] = {}
        if secret:
            headers["X-Webhook-Secret"] = secret
            headers[SIGNATURE_HEADER] = sign(secret, body)
        outcome = send(url, body, headers, self.settings.allow, self.settings.timeout)
        now = utcnow()
        attempts += 1
        with self.db.session(write=True) as s:
            d = s.get(WebhookDelivery, delivery_id)
            if d is None:
                return True
            d.attempts, d.last_attempt_at, d.claimed_until = attempts, now, None
            d.response_status, d.response_excerpt, d.error = outcome.status, outcome.excerpt, outcome.error
            d.duration_ms = outcome.duration_ms
            if outcome.ok:
                d.status = "delivered"
            elif attempts >= self.settings.max_attempts:
                d.status = "failed"
            else:
                d.next_attempt_at = now + dt.timedelta(seconds=self.settings.retry_seconds * 2 ** (attempts - 1))
        return True


def record_discussion(s: Session, repo: RepoView, d: Discussion, action: str, comment: DiscussionEvent | None = None
                      ) -> None:
    """Log a discussion's creation or change (or, with `comment`, a new comment) for webhooks, in the
    caller's transaction."""
    author = s.get(User, d.author_id) if d.author_id is not None else None
    discussion: dict[str, Any] = {"id": str(d.id), "num": d.num, "title": d.title, "status": d.status,
                                  "isPullRequest": d.is_pull_request, "author": {"id": author.name if author else None}}
    if d.is_pull_request:
        discussion["changes"] = {"base": f"refs/heads/{d.target_branch or repo.default_branch}"}
        if d.merge_commit:
            discussion["changes"]["mergeCommitId"] = d.merge_commit
    data: dict[str, Any] = {"discussion": discussion}
    scope = "discussion"
    if comment is not None:
        scope = "discussion.comment"
        who = s.get(User, comment.author_id) if comment.author_id is not None else None
        data["comment"] = {"id": str(comment.id), "author": {"id": who.name if who else None},
                           "content": comment.body or "", "hidden": comment.hidden}
    repo_events.record(s, repo, scope, action, **data)
