"""Who may do what with a repository: small pure functions over a Principal and a repository's owner."""

from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("read", "write", "admin")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. `token_role` is None for a password/session login (full rights)."""

    user_id: int
    name: str
    is_admin: bool = False
    token_role: str | None = None
    org_roles: dict[str, str] = field(default_factory=dict)
    token_label: str | None = None
    is_moderator: bool = False
    suspended: bool = False
    token_id: int | None = None  # the access token this principal came with, if any

    @property
    def can_write_at_all(self) -> bool:
        """Read tokens and suspended accounts can read but change nothing."""
        return self.token_role != "read" and not self.suspended


def _role_in(p: Principal, namespace: str) -> str | None:
    if p.name == namespace:
        return "admin"
    return p.org_roles.get(namespace)


def can_read(p: Principal | None, namespace: str, private: bool) -> bool:
    if not private:
        return True
    if p is None:
        return False
    return p.is_admin or _role_in(p, namespace) is not None


def can_write(p: Principal | None, namespace: str) -> bool:
    if p is None or not p.can_write_at_all:
        return False
    return p.is_admin or _role_in(p, namespace) in ("write", "admin")


def can_admin(p: Principal | None, namespace: str) -> bool:
    """Delete, move, change visibility: the owner, an org admin, or a site admin."""
    if p is None or not p.can_write_at_all:
        return False
    return p.is_admin or _role_in(p, namespace) == "admin"
