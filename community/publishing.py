"""Commit or open a pull request: who may commit where, and a commit that opens its own pull request.

The one implementation behind the commit API (`hub/api/commits.py`) and the site's upload, edit and
delete pages (`hub/web/publish_upload.py`, `hub/web/publish_edit.py`); git pushes reach the same
refs/pr/N rule through `PullRequests.check_pr_commit`. The rule:

- writers (write access to the namespace) commit to any branch;
- anyone else who may read the repository and change things at all (signed in, not suspended, not
  a read token) proposes: a new pull request on the branch, with the commit on its refs/pr/N;
- the author of an open pull request, and maintainers, add commits to its refs/pr/N.

The two surfaces ask in the order their requests come: the API knows `create_pr` before it reads
the body (`repo_for_commit`), the site picks a mode before it shows the form (`commit_mode`: a
reader is offered only the pull request).
"""

from __future__ import annotations

import logging
from models_registry.commits import AddFile, CommitResult, Operation
from models_registry.errors import Forbidden
from models_registry.names import PR_REF_RE
from models_registry.permissions import Principal, can_write
from models_registry.registry import Registry
from models_registry.records import RepoView

from .discussions import Discussions
from .pull_requests import PullRequests
from .records import DiscussionView

log = logging.getLogger(__name__)

PR_REF, DIRECT, PR_ONLY = "pr-ref", "direct", "pr-only"


class ReadOnlyPrincipal(Forbidden):
    """Can read, cannot change anything: a suspended account or a read token. A Forbidden of its own
    so that the site can answer in the reader's language."""

    def __init__(self, message: str = "Your token is read-only or your account is suspended") -> None:
        super().__init__(message)


class Publishing:
    """Writes to a repository's files that may open a pull request on the way."""

    def __init__(self, registry: Registry, discussions: Discussions, pull_requests: PullRequests) -> None:
        self.registry = registry
        self.discussions = discussions
        self.pull_requests = pull_requests

    def commit_mode(self, principal: Principal, repo: RepoView, revision: str) -> str:
        """'pr-ref' (committing to refs/pr/N, if allowed), 'direct' (a writer: a pull request is
        optional) or 'pr-only' (a reader who can only propose changes through a pull request)."""
        if PR_REF_RE.match(revision):
            self.pull_requests.check_pr_commit(principal, repo, revision)
            return PR_REF
        if can_write(principal, repo.namespace):
            return DIRECT
        _require_can_change(principal)
        return PR_ONLY

    def repo_for_commit(self, principal: Principal, repo_type: str, repo_id: str, revision: str,
                        create_pr: bool) -> RepoView:
        """The repository, if `principal` may commit to `revision` (or open a pull request on it)."""
        if not create_pr and not PR_REF_RE.match(revision):
            # A direct commit: writers only, refused in the registry's words for every write.
            return self.registry.repos.get(repo_type, repo_id, principal, need="write")
        repo = self.registry.repos.get(repo_type, repo_id, principal)
        if create_pr:
            _require_can_change(principal)
        else:
            self.pull_requests.check_pr_commit(principal, repo, revision)
        return repo

    def commit_or_open_pr(self, principal: Principal, repo: RepoView, revision: str, operations: list[Operation],
                          summary: str, description: str, create_pr: bool,
                          parent_commit: str | None = None) -> tuple[CommitResult, DiscussionView | None]:
        """Commit to `revision`, or (create_pr) open a pull request on it and commit to its refs/pr/N.

        Returns (the commit, the pull request or None). Nothing is half-done: if the commit is
        refused, the pull request it would have opened is removed again. As with `Commits.commit`,
        the staged files of AddFile operations are consumed whatever happens."""
        pr = None
        target = revision
        if create_pr:
            try:
                pr = self.discussions.create(principal, repo, summary, description, pull_request=True,
                                             target_branch=revision)
            except BaseException:
                _discard(operations)  # the commit that would have consumed them will not run
                raise
            # A pull request starts at the branch head, so a parent commit has nothing to guard.
            target, parent_commit = f"refs/pr/{pr.num}", None
        try:
            result = self.registry.commits.commit(principal, repo, target, operations, summary, description,
                                                  parent_commit=parent_commit)
        except BaseException:
            if pr is not None:
                try:
                    self.pull_requests.abandon_pull_request(repo, pr.num)
                except Exception:  # the caller hears why the commit failed, not why the cleanup did
                    log.exception("removing pull request #%s of %s after a failed commit", pr.num, repo.repo_id)
            raise
        return result, pr


def opens_pr(mode: str, requested: bool) -> bool:
    """Whether a commit in `mode` opens a pull request: always for a reader, on request for a
    writer, never on refs/pr/N (it adds to the pull request it is)."""
    return mode == PR_ONLY or (mode == DIRECT and bool(requested))


def _require_can_change(principal: Principal | None) -> None:
    if principal is None or not principal.can_write_at_all:
        raise ReadOnlyPrincipal()


def _discard(operations: list[Operation]) -> None:
    for op in operations:
        if isinstance(op, AddFile):
            op.staged.discard()
