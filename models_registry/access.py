"""Who may move bytes in or out of a repository: one decision for every way in.

Downloads (the API's resolve, the git-LFS batch API, a Xet read token, git clone and fetch): the
repository must be visible to the caller (Repos.get answers RepoNotFound otherwise) and, when it
is gated, the caller approved — except for the files that present the gate (gating.UNGATED_FILES).

Uploads of objects (git-LFS, a Xet write token, the objects of a push) move no ref: any account
that may write at all may store objects in a repository it can see, for the pull request it opens,
unless the repository takes no writes (a mirror). Where an upload is for a branch itself
(`to_branch`), the caller must be able to write to the repository. Moving a ref is decided where
it moves (Commits, the pre-receive hook), not here.

The same decisions are taken again each time a signed transfer link is used (grants.py).
"""

from __future__ import annotations

from .errors import Forbidden, Unauthorized
from .gating import Gating
from .messages import N_
from .permissions import Principal, can_write
from .repos import SUSPENDED, Repos
from .records import RepoView


class TransferAccess:
    def __init__(self, repos: Repos, gating: Gating) -> None:
        self.repos = repos
        self.gating = gating

    def authorize_download(self, principal: Principal | None, repo: RepoView, path: str | None = None) -> None:
        """GatedRepo unless `principal` may download `path` of `repo` (None: any of its files)."""
        self.gating.check_file(principal, repo, "" if path is None else path)

    def authorize_upload(self, principal: Principal | None, repo: RepoView, *, to_branch: bool = False) -> None:
        """Unauthorized/Forbidden unless `principal` may store objects in `repo`."""
        if principal is None:
            raise Unauthorized("Authentication (with a write token) required to upload")
        if not principal.can_write_at_all:
            if principal.suspended:
                raise Forbidden(SUSPENDED)
            raise Forbidden("This token is read-only: uploads need a write token")
        if to_branch and not can_write(principal, repo.namespace):
            raise Forbidden(N_("You don't have write access to %(repo)s", repo=repo.repo_id))
        self.repos.check_writable(repo)  # a mirror takes no upload
