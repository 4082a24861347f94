"""Who may do what in a repository's community: small pure functions, tested as a matrix.

Roles, from the caller's point of view on one repository:
- moderator of the repository: its owner (user namespace), an admin of its organization, a site
  moderator or a site admin;
- maintainer: anyone with write access to the repository (moderators included);
- author: who opened the discussion, or wrote the comment.
A suspended account, or a read-only token, can do none of the writing actions.
"""

from __future__ import annotations

from models_registry.permissions import Principal, can_read, can_write


def _active(p: Principal | None) -> bool:
    return p is not None and p.can_write_at_all


def is_moderator(p: Principal | None, namespace: str) -> bool:
    if not _active(p):
        return False
    return p.is_admin or p.is_moderator or p.name == namespace or p.org_roles.get(namespace) == "admin"


def is_maintainer(p: Principal | None, namespace: str) -> bool:
    return is_moderator(p, namespace) or can_write(p, namespace)


def can_view(p: Principal | None, namespace: str, private: bool) -> bool:
    return can_read(p, namespace, private)


def can_open(p: Principal | None, namespace: str, private: bool) -> bool:
    """Open a discussion or pull request: any active signed-in reader."""
    return _active(p) and can_read(p, namespace, private)


def can_comment(p: Principal | None, namespace: str, private: bool, status: str, locked: bool) -> bool:
    if not can_open(p, namespace, private):
        return False
    if status in ("closed", "merged"):
        return False
    return not locked or is_moderator(p, namespace)


def is_author(p: Principal | None, author_id: int | None) -> bool:
    return p is not None and author_id is not None and p.user_id == author_id


def can_edit_comment(p: Principal | None, author_id: int | None, locked: bool, namespace: str) -> bool:
    """Only the author edits a comment (moderators hide, they do not rewrite)."""
    return _active(p) and is_author(p, author_id) and (not locked or is_moderator(p, namespace))


def can_hide_comment(p: Principal | None, namespace: str, author_id: int | None) -> bool:
    return is_moderator(p, namespace) or (_active(p) and is_author(p, author_id))


def can_unhide_comment(p: Principal | None, namespace: str) -> bool:
    return is_moderator(p, namespace)


def can_rename(p: Principal | None, namespace: str, author_id: int | None) -> bool:
    return is_maintainer(p, namespace) or (_active(p) and is_author(p, author_id))


def can_change_status(p: Principal | None, namespace: str, author_id: int | None) -> bool:
    return is_maintainer(p, namespace) or (_active(p) and is_author(p, author_id))


def can_merge(p: Principal | None, namespace: str) -> bool:
    return is_maintainer(p, namespace)


def can_push_to_pr(p: Principal | None, namespace: str, pr_author_id: int | None) -> bool:
    """Commits to refs/pr/N: maintainers, and the pull request's own author."""
    return is_maintainer(p, namespace) or (_active(p) and is_author(p, pr_author_id))


def can_lock_or_pin(p: Principal | None, namespace: str) -> bool:
    return is_moderator(p, namespace)


def can_report(p: Principal | None, namespace: str, private: bool) -> bool:
    return _active(p) and can_read(p, namespace, private)


def can_review(p: Principal | None, namespace: str) -> bool:
    """Resolve reports and approve held posts of this repository."""
    return is_moderator(p, namespace)


def can_suspend(p: Principal | None) -> bool:
    return _active(p) and p.is_admin


def can_see_site_log(p: Principal | None) -> bool:
    return _active(p) and (p.is_admin or p.is_moderator)
