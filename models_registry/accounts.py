"""Users, organizations, memberships, access tokens and web sessions."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .db import Database
from .errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from .messages import N_
from .tables import AccessToken, Membership, Organization, User, WebSession, utcnow
from .names import validate_namespace
from .permissions import ROLES, Principal

TOKEN_PREFIX = "mh_"
# Writing last_used_at on every request would turn every read into a write; a minute is precise enough.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _like_prefix(prefix: str) -> str:
    """A LIKE pattern (escape character: backslash) matching names that start with `prefix`."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass(frozen=True)
class SessionLifetime:
    """How long a web session lasts: `idle` after its last request, `absolute` after sign-in,
    whichever comes first. Both are checked on the server, whatever the cookie says."""

    idle: dt.timedelta = dt.timedelta(days=7)
    absolute: dt.timedelta = dt.timedelta(days=30)

    def expired(self, created_at: dt.datetime, last_seen_at: dt.datetime, now: dt.datetime) -> bool:
        return now - created_at > self.absolute or now - last_seen_at > self.idle


@dataclass(frozen=True)
class SessionInfo:
    id: int
    user_agent: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    current: bool


@dataclass(frozen=True)
class TokenInfo:
    id: int
    label: str
    role: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None


# Built once: every API request authenticates, and building the statement cost as much as running it.
_TOKEN_WITH_USER = (select(AccessToken, User).join(User, AccessToken.user_id == User.id)
                    .where(AccessToken.token_hash == bindparam("digest")))
_MEMBERSHIPS = select(Organization.name, Membership.role).join(Membership).where(
    Membership.user_id == bindparam("user_id"))


class Accounts:
    def __init__(self, db: Database, session_lifetime: SessionLifetime | None = None) -> None:
        self.db = db
        self.session_lifetime = session_lifetime or SessionLifetime()

    # ---- users and organizations ----------------------------------------------------------
    def _name_taken(self, s: Session, name: str) -> bool:
        lname = name.lower()
        return any(
            n.lower() == lname
            for n in s.scalars(select(User.name).where(User.name.ilike(name))).all()
            + s.scalars(select(Organization.name).where(Organization.name.ilike(name))).all()
        )

    def create_user(self, name: str, password: str, email: str | None = None, is_admin: bool = False,
                    fullname: str = "") -> int:
        validate_namespace(name)
        if not password or len(password) < 8:
            raise BadRequest(N_("Password must be at least 8 characters"))
        with self.db.session(write=True) as s:
            if self._name_taken(s, name):
                raise Conflict(N_("The name %(name)s is already taken", name=repr(name)))
            user = User(name=name, email=email or None, password_hash=generate_password_hash(password),
                        is_admin=is_admin, fullname=fullname or name)
            s.add(user)
            try:
                s.flush()
            except IntegrityError:
                raise Conflict(N_("The name %(name)s or email %(email)s is already taken", name=repr(name),
                                     email=repr(email))) from None
            return user.id

    def create_org(self, name: str, owner: str, fullname: str = "") -> int:
        validate_namespace(name)
        with self.db.session(write=True) as s:
            user = s.scalar(select(User).where(User.name == owner))
            if user is None:
                raise NotFound(N_("No user named %(name)s", name=repr(owner)))
            if self._name_taken(s, name):
                raise Conflict(N_("The name %(name)s is already taken", name=repr(name)))
            org = Organization(name=name, fullname=fullname or name)
            s.add(org)
            s.flush()
            s.add(Membership(org_id=org.id, user_id=user.id, role="admin"))
            return org.id

    def set_member(self, org: str, user: str, role: str) -> None:
        if role not in ROLES:
            raise BadRequest(N_("Unknown role %(role)s (expected one of %(roles)s)", role=repr(role),
                                roles=", ".join(ROLES)))
        with self.db.session(write=True) as s:
            o = s.scalar(select(Organization).where(Organization.name == org))
            u = s.scalar(select(User).where(User.name == user))
            if o is None or u is None:
                raise NotFound(N_("No such organization or user"))
            m = s.scalar(select(Membership).where(Membership.org_id == o.id, Membership.user_id == u.id))
            if m is None:
                s.add(Membership(org_id=o.id, user_id=u.id, role=role))
            else:
                m.role = role

    def remove_member(self, org: str, user: str) -> None:
        """End a membership; an organization always keeps at least one admin."""
        with self.db.session(write=True) as s:
            m = s.scalar(select(Membership).join(Organization).join(User, User.id == Membership.user_id)
                         .where(Organization.name == org, User.name == user))
            if m is None:
                raise NotFound(N_("%(user)s is not a member of %(org)s", user=user, org=org))
            if m.role == "admin":
                admins = s.scalar(select(func.count()).select_from(Membership).where(
                    Membership.org_id == m.org_id, Membership.role == "admin")) or 0
                if admins <= 1:
                    raise BadRequest(N_("An organization needs at least one admin"))
            s.delete(m)

    def set_moderator(self, name: str, moderator: bool = True) -> None:
        with self.db.session(write=True) as s:
            u = s.scalar(select(User).where(User.name == name))
            if u is None:
                raise NotFound(N_("No user named %(name)s", name=repr(name)))
            u.is_moderator = moderator

    def namespace_kind(self, name: str) -> str | None:
        """'user', 'org' or None."""
        with self.db.session() as s:
            if s.scalar(select(User.id).where(User.name == name)) is not None:
                return "user"
            if s.scalar(select(Organization.id).where(Organization.name == name)) is not None:
                return "org"
        return None

    def find_names(self, prefix: str, limit: int = 10) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Users and organizations whose name starts with `prefix` or whose full name holds it
        (case-insensitive), name matches first: people type a handle's start, or any part of a full
        name (智能语音实验室 for 语音; a Chinese name has no word boundary to start from)."""
        prefix = prefix.strip()[:100]
        if not prefix:
            return [], []
        by_name = _like_prefix(prefix)
        in_fullname = "%" + by_name
        found = []
        with self.db.session() as s:
            for table in (User, Organization):
                name_first = case((table.name.ilike(by_name, escape="\\"), 0), else_=1)
                found.append(s.execute(
                    select(table.name, table.fullname)
                    .where(or_(table.name.ilike(by_name, escape="\\"), table.fullname.ilike(in_fullname, escape="\\")))
                    .order_by(name_first, table.name).limit(limit)).all())
        users, orgs = found
        return [(n, f or n) for n, f in users], [(n, f or n) for n, f in orgs]

    def org_fullnames(self, names: list[str]) -> dict[str, str]:
        """Organization name -> its display name, for the names given."""
        if not names:
            return {}
        with self.db.session() as s:
            return dict(s.execute(select(Organization.name, Organization.fullname)
                                  .where(Organization.name.in_(names))).all())

    def org_profile(self, name: str) -> dict | None:
        with self.db.session() as s:
            o = s.scalar(select(Organization).where(Organization.name == name))
            if o is None:
                return None
            members = s.execute(select(User.name, Membership.role).join(Membership, Membership.user_id == User.id)
                                .where(Membership.org_id == o.id).order_by(User.name)).all()
            return {"name": o.name, "fullname": o.fullname, "members": [{"name": n, "role": r} for n, r in members]}

    def active_orgs(self, limit: int = 8, scan: int = 2000) -> list[dict]:
        """Organizations with the most recently updated public models.

        An organization's rank is its newest public model, so they appear in the order of a walk
        down the (repo_type, last_modified) index: the home page reads a few hundred recent rows
        instead of grouping every repository (~100 ms at 100k). Only when the `scan` newest models
        hold fewer than `limit` organizations does it fall back to the aggregate."""
        from sqlalchemy import func

        from .tables import Repository

        recent = (select(Repository.namespace).where(Repository.repo_type == "model", Repository.private.is_(False))
                  .order_by(Repository.last_modified.desc()))
        with self.db.session() as s:
            found: dict[str, str] = {}
            for offset in range(0, scan, 250):
                names = list(dict.fromkeys(s.scalars(recent.offset(offset).limit(250))))
                if not names:
                    break
                orgs = dict(s.execute(select(Organization.name, Organization.fullname)
                                      .where(Organization.name.in_(names))).all())
                for n in names:
                    if n in orgs and n not in found:
                        found[n] = orgs[n] or n
                if len(found) >= limit:
                    return [{"name": n, "fullname": f} for n, f in list(found.items())[:limit]]
            else:
                rows = s.execute(select(Organization.name, Organization.fullname, func.max(Repository.last_modified))
                                 .join(Repository, Repository.namespace == Organization.name)
                                 .where(Repository.repo_type == "model", Repository.private.is_(False))
                                 .group_by(Organization.id)
                                 .order_by(func.max(Repository.last_modified).desc()).limit(limit)).all()
                return [{"name": n, "fullname": f or n} for n, f, _ in rows]
            return [{"name": n, "fullname": f} for n, f in found.items()]

    def user_profile(self, name: str) -> dict | None:
        with self.db.session() as s:
            u = s.scalar(select(User).where(User.name == name))
            if u is None:
                return None
            return {"name": u.name, "fullname": u.fullname, "email": u.email, "is_admin": u.is_admin}

    # ---- authentication -------------------------------------------------------------------
    def _principal(self, s: Session, user: User, token: AccessToken | None) -> Principal:
        rows = s.execute(_MEMBERSHIPS, {"user_id": user.id}).all()
        return Principal(user_id=user.id, name=user.name, is_admin=user.is_admin,
                         token_role=token.role if token else None, org_roles={n: r for n, r in rows},
                         token_label=token.label if token else None, is_moderator=user.is_moderator,
                         suspended=user.suspended_at is not None, token_id=token.id if token else None)

    def authenticate_token(self, secret: str) -> Principal:
        if not secret:
            raise Unauthorized(N_("Invalid credentials in Authorization header"))
        digest = hash_token(secret)
        with self.db.session() as s:
            # The token and its user in one query: this runs for every API request.
            found = s.execute(_TOKEN_WITH_USER, {"digest": digest}).first()
            if found is None:
                raise Unauthorized(N_("Invalid credentials in Authorization header"))
            tok, user = found
            principal = self._principal(s, user, tok)
            stale = tok.last_used_at is None or utcnow() - tok.last_used_at > LAST_USED_RESOLUTION
            token_id = tok.id
        if stale:
            with self.db.session(write=True) as s:
                s.execute(update(AccessToken).where(AccessToken.id == token_id).values(last_used_at=utcnow()))
        return principal

    def principal_for_name(self, name: str) -> Principal:
        """A user acting from the operator's command line (imports, mirrors): no token, full role."""
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name == name))
            if user is None:
                raise NotFound(N_("No user named %(name)s", name=repr(name)))
            return self._principal(s, user, None)

    def change_password(self, user_id: int, old: str, new: str, keep_session: str | None = None) -> None:
        """Set a new password and end every web session of the user but `keep_session` (the one
        that asked), in the same transaction: whoever knew the old password is signed out."""
        if not new or len(new) < 8:
            raise BadRequest(N_("Password must be at least 8 characters"))
        with self.db.session(write=True) as s:
            user = s.get(User, user_id)
            if user is None or not check_password_hash(user.password_hash, old):
                raise Unauthorized(N_("The current password is wrong"))
            user.password_hash = generate_password_hash(new)
            end_sessions(s, user_id, keep=keep_session)

    def update_profile(self, user_id: int, fullname: str, email: str | None) -> None:
        with self.db.session(write=True) as s:
            user = s.get(User, user_id)
            if user is None:
                raise NotFound(N_("No such user"))
            user.fullname, user.email = fullname.strip()[:200] or user.name, (email or None)
            try:
                s.flush()
            except IntegrityError:
                raise Conflict(N_("That email address is used by another account")) from None

    def authenticate_password(self, name: str, password: str) -> Principal:
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name == name))
            if user is None or not check_password_hash(user.password_hash, password):
                raise Unauthorized(N_("Invalid username or password"))
            return self._principal(s, user, None)

    # ---- tokens -----------------------------------------------------------------------------
    def create_token(self, user: str, role: str = "write", label: str = "") -> str:
        """Create a token and return its secret: the only time it is ever visible."""
        if role not in ("read", "write"):
            raise BadRequest(N_("Unknown token role %(role)s (expected read or write)", role=repr(role)))
        secret = TOKEN_PREFIX + secrets.token_urlsafe(30)
        with self.db.session(write=True) as s:
            u = s.scalar(select(User).where(User.name == user))
            if u is None:
                raise NotFound(N_("No user named %(name)s", name=repr(user)))
            s.add(AccessToken(user_id=u.id, label=label or f"{role}-token", role=role,
                              token_hash=hash_token(secret), token_prefix=secret[:7]))
        return secret

    def list_tokens(self, user: str) -> list[TokenInfo]:
        with self.db.session() as s:
            rows = s.scalars(
                select(AccessToken).join(User).where(User.name == user).order_by(AccessToken.created_at)
            ).all()
            return [TokenInfo(t.id, t.label, t.role, t.token_prefix, t.created_at, t.last_used_at) for t in rows]

    def revoke_token(self, user: str, token_id: int) -> None:
        with self.db.session(write=True) as s:
            tok = s.scalar(select(AccessToken).join(User).where(User.name == user, AccessToken.id == token_id))
            if tok is None:
                raise NotFound(N_("No such token"))
            s.delete(tok)


    # ---- web sessions -----------------------------------------------------------------------
    # A session is a row, found by the sha256 of the secret its cookie carries: ending one is a
    # DELETE, seen at once by every process and node sharing the database. Rows past their
    # lifetime are deleted when met, and a user's expired rows at each of their sign-ins.
    def open_session(self, user_id: int, user_agent: str = "") -> str:
        """Open a web session for the user and return its secret: the cookie's, never stored."""
        secret = secrets.token_urlsafe(32)
        now = utcnow()
        with self.db.session(write=True) as s:
            if s.get(User, user_id) is None:
                raise NotFound(N_("No such user"))
            self._delete_expired(s, user_id, now)
            s.add(WebSession(user_id=user_id, secret_hash=hash_token(secret), user_agent=(user_agent or "")[:300],
                             created_at=now, last_seen_at=now))
        return secret

    def principal_for_session(self, secret: str | None) -> Principal | None:
        """The user of a web session, or None once the session was ended, expired, or opened before
        the user was suspended (a suspended user may sign in again, to read)."""
        if not secret:
            return None
        now = utcnow()
        with self.db.session() as s:
            row = s.scalar(select(WebSession).where(WebSession.secret_hash == hash_token(secret)))
            if row is None:
                return None
            user = s.get(User, row.user_id)
            ended = (user is None or self.session_lifetime.expired(row.created_at, row.last_seen_at, now)
                     or (user.suspended_at is not None and row.created_at <= user.suspended_at))
            principal = None if ended else self._principal(s, user, None)
            session_id, stale = row.id, now - row.last_seen_at > LAST_USED_RESOLUTION
        if ended:
            with self.db.session(write=True) as s:
                s.execute(delete(WebSession).where(WebSession.id == session_id))
        elif stale:  # as for tokens: a write per minute at most, not per request
            with self.db.session(write=True) as s:
                s.execute(update(WebSession).where(WebSession.id == session_id).values(last_seen_at=now))
        return principal

    def end_session(self, secret: str | None) -> None:
        """Sign out: end the session of this secret (nothing if it is already gone)."""
        if secret:
            with self.db.session(write=True) as s:
                s.execute(delete(WebSession).where(WebSession.secret_hash == hash_token(secret)))

    def list_sessions(self, user_id: int, current: str | None = None) -> list[SessionInfo]:
        """The user's live sessions, most recently used first; `current` marks the caller's own."""
        now, mine = utcnow(), hash_token(current) if current else None
        with self.db.session() as s:
            rows = s.scalars(select(WebSession).where(WebSession.user_id == user_id)
                             .order_by(WebSession.last_seen_at.desc(), WebSession.id.desc())).all()
            return [SessionInfo(r.id, r.user_agent, r.created_at, r.last_seen_at, r.secret_hash == mine)
                    for r in rows if not self.session_lifetime.expired(r.created_at, r.last_seen_at, now)]

    def revoke_session(self, user_id: int, session_id: int) -> None:
        """End one of the user's own sessions (another browser of theirs, from the settings page)."""
        with self.db.session(write=True) as s:
            gone = s.execute(delete(WebSession).where(WebSession.id == session_id, WebSession.user_id == user_id))
            if not gone.rowcount:
                raise NotFound(N_("No such session"))

    def end_other_sessions(self, user_id: int, keep: str | None) -> int:
        """End every session of the user but `keep`; returns how many ended."""
        with self.db.session(write=True) as s:
            return end_sessions(s, user_id, keep=keep)

    def sign_out_everywhere(self, principal: Principal | None, name: str) -> int:
        """A site admin ends every web session of user `name` (tokens are revoked separately)."""
        if principal is None or not principal.is_admin:
            raise Forbidden(N_("Only site administrators can sign other users out"))
        with self.db.session(write=True) as s:
            user_id = s.scalar(select(User.id).where(User.name == name))
            if user_id is None:
                raise NotFound(N_("No user named %(name)s", name=repr(name)))
            return end_sessions(s, user_id)

    def users_for_admin(self, principal: Principal | None, prefix: str, limit: int = 50) -> list[dict]:
        """Users whose name starts with `prefix` (all, by name, if empty), with their live session count."""
        if principal is None or not principal.is_admin:
            raise Forbidden(N_("Only site administrators can list users"))
        pattern, now = _like_prefix(prefix.strip()), utcnow()
        with self.db.session() as s:
            users = s.scalars(select(User).where(User.name.ilike(pattern, escape="\\"))
                              .order_by(User.name).limit(limit)).all()
            counts = dict(s.execute(
                select(WebSession.user_id, func.count()).where(
                    WebSession.user_id.in_([u.id for u in users]),
                    WebSession.created_at >= now - self.session_lifetime.absolute,
                    WebSession.last_seen_at >= now - self.session_lifetime.idle)
                .group_by(WebSession.user_id)).all())
            return [{"name": u.name, "fullname": u.fullname or u.name, "is_admin": u.is_admin,
                     "suspended": u.suspended_at is not None, "sessions": counts.get(u.id, 0)} for u in users]

    def _delete_expired(self, s: Session, user_id: int, now: dt.datetime) -> None:
        s.execute(delete(WebSession).where(
            WebSession.user_id == user_id,
            (WebSession.created_at < now - self.session_lifetime.absolute)
            | (WebSession.last_seen_at < now - self.session_lifetime.idle)))


def end_sessions(s: Session, user_id: int, keep: str | None = None) -> int:
    """End every web session of a user (but `keep`'s) inside the caller's transaction: a password
    change, a suspension; returns how many ended."""
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if keep:
        query = query.where(WebSession.secret_hash != hash_token(keep))
    return s.execute(query).rowcount or 0
