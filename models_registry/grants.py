"""Signed transfer links: who holds one, and whether they still may use it.

The LFS batch API and the Xet token endpoints hand out links and tokens that are used later
without the caller's credentials (the HF client sends none on an LFS PUT; the Xet CAS sees only
its own token). Each one is signed with the app's secret and names its holder: the user and, when
they authenticated with an access token, that token (`Principal.token_id`). Every use re-checks
the holder against the database, so a link stops working as soon as its holder could no longer
obtain it: removed from the organization, the repository made private or gated, a gated access
withdrawn, the account deleted, the token revoked. Links also expire after at most an hour
(MAX_TTL): that bounds what no check can see, such as a link passed on to someone else while its
holder keeps access.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .access import TransferAccess
from .accounts import Accounts
from .db import Database
from .errors import Forbidden, NotFound, RegistryError
from .tables import AccessToken
from .permissions import Principal, can_read
from .records import RepoView

MAX_TTL = 3600  # seconds: the longest any signed transfer link lives
NEEDS = ("read", "download", "upload")


def holder_of(p: Principal | None) -> dict[str, Any]:
    """What a signed link records about who it was issued to (empty for an anonymous caller)."""
    if p is None:
        return {}
    return {"u": p.user_id, "n": p.name, "t": p.token_id}


class Grants:
    """The use-time check of signed links (the issue-time check is the view's usual one)."""

    def __init__(self, db: Database, accounts: Accounts, access: TransferAccess) -> None:
        self.db = db
        self.accounts = accounts
        self.access = access

    def principal(self, holder: Any) -> Principal | None:
        """The holder as they are now; Forbidden if their account or token is gone."""
        if not holder:
            return None
        if not isinstance(holder, dict) or not isinstance(holder.get("u"), int) or not isinstance(holder.get("n"), str):
            raise Forbidden("This link does not say whom it was issued to: ask for a new one")
        try:
            p = self.accounts.principal_for_name(holder["n"])
        except NotFound:
            p = None
        if p is None or p.user_id != holder["u"]:  # deleted (and perhaps the name taken again)
            raise Forbidden("The account this link was issued to no longer exists")
        token_id = holder.get("t")
        if token_id is None:
            return p
        with self.db.session() as s:
            tok = s.get(AccessToken, token_id)
            if tok is None or tok.user_id != p.user_id:
                raise Forbidden("The access token this link was issued to has been revoked")
            return replace(p, token_role=tok.role, token_label=tok.label, token_id=tok.id)

    def check(self, holder: Any, repo: RepoView, need: str) -> Principal | None:
        """Forbidden unless the holder may still `need` the repository: read it, download its
        files (read, and through the gate) or upload objects to it (read, and write at all)."""
        if need not in NEEDS:
            raise ValueError(f"unknown need {need!r}")
        p = self.principal(holder)
        if not can_read(p, repo.namespace, repo.private):
            raise Forbidden(f"The holder of this link can no longer read {repo.repo_id}")
        try:
            if need == "download":
                self.access.authorize_download(p, repo)
            elif need == "upload":
                self.access.authorize_upload(p, repo)
        except RegistryError:
            verb = "download from" if need == "download" else "upload to"
            raise Forbidden(f"The holder of this link can no longer {verb} {repo.repo_id}") from None
        return p
