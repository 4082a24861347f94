"""Pull requests: a discussion with a git ref, refs/pr/N. Who may add commits to it, its diff against
the target branch, merging it, and the timeline entries for commits that land on it (whether they
came through the API, the site or a git push: the registry's ref listener sees them all).

Opening one is `Discussions.create(pull_request=True)`; opening one *for a commit* is
`publishing.Publishing.commit_or_open_pr`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from models_registry import search_feed
from models_registry.db import Database
from models_registry.errors import BadRequest, Forbidden, NotFound
from models_registry.messages import N_
from models_registry.merging import changes, files_of, merge_base, three_way, unified_diff
from models_registry.tables import User, utcnow
from models_registry.names import PR_REF_RE
from models_registry.permissions import Principal
from models_registry.registry import Registry
from models_registry.records import RepoView

from . import policy
from .discussions import Discussions
from .tables import Discussion, DiscussionEvent, Notification
from .notifications import notify
from .webhooks import record_discussion
from .records import MAX_COMMENT, DiscussionView, clean_text
from .timeline import discussion_row, discussion_view


class PullRequests:
    """Everything about a discussion that only a pull request has: its ref, commits, diff and merge."""

    def __init__(self, db: Database, registry: Registry, discussions: Discussions) -> None:
        self.db = db
        self.registry = registry
        self.discussions = discussions  # a merge comment is a comment: same limits, same notifications

    def pr_for_ref(self, repo: RepoView, ref: str) -> DiscussionView | None:
        """The pull request behind refs/pr/N, or None for another ref or a plain discussion."""
        m = PR_REF_RE.match(ref)
        if not m:
            return None
        with self.db.session() as s:
            d = s.scalar(select(Discussion).where(Discussion.repo_id == repo.id, Discussion.num == int(m.group(1))))
            return discussion_view(s, d, None, repo) if d is not None and d.is_pull_request else None

    def check_pr_commit(self, principal: Principal | None, repo: RepoView, ref: str) -> None:
        """May `principal` commit to refs/pr/N? Maintainers and the PR's author, while it is open."""
        m = PR_REF_RE.match(ref)
        if not m:
            return
        with self.db.session() as s:
            d = s.scalar(select(Discussion).where(Discussion.repo_id == repo.id, Discussion.num == int(m.group(1))))
            if d is None or not d.is_pull_request:
                raise NotFound(N_("No pull request #%(num)s in %(repo)s", num=m.group(1), repo=repo.repo_id))
            if d.status not in ("open", "draft"):
                raise BadRequest(N_("Pull request #%(num)s is %(status)s: reopen it to add commits",
                                    num=d.num, status=d.status))
            if not policy.can_push_to_pr(principal, repo.namespace, d.author_id):
                raise Forbidden(N_("Only the author of pull request #%(num)s and maintainers can add commits to it",
                                   num=d.num))

    def pushable_pr_refs(self, principal: Principal | None, repo: RepoView) -> list[str]:
        """The refs/pr/N `principal` may push to: open pull requests it authored, or all if maintainer."""
        with self.db.session() as s:
            rows = s.execute(select(Discussion.num, Discussion.author_id).where(
                Discussion.repo_id == repo.id, Discussion.is_pull_request.is_(True),
                Discussion.status.in_(("open", "draft")))).all()
        return [f"refs/pr/{num}" for num, author in rows if policy.can_push_to_pr(principal, repo.namespace, author)]

    def abandon_pull_request(self, repo: RepoView, num: int) -> None:
        """Undo a pull request opened a moment ago whose first commit was refused: nothing stays."""
        with self.db.session(write=True) as s:
            d = discussion_row(s, repo, num)
            s.execute(delete(Notification).where(Notification.discussion_id == d.id))
            s.delete(d)
            search_feed.touch(s, "discussion", d.id)
        self.registry.repos.delete_pr_ref(repo, num)

    def merge(self, principal: Principal | None, repo: RepoView, num: int, comment: Any = None) -> str:
        """Merge refs/pr/N into its target branch; the merge commit's sha."""
        comment = clean_text(comment, N_("Comment"), MAX_COMMENT, required=False)
        with self.db.session() as s:
            d = discussion_row(s, repo, num)
            if not d.is_pull_request:
                raise BadRequest(N_("#%(num)s is a discussion, not a pull request", num=num))
            if d.status != "open":
                raise BadRequest(N_("Pull request #%(num)s is %(status)s: only open pull requests can be merged",
                                    num=num, status=d.status))
            if not policy.can_merge(principal, repo.namespace):
                raise Forbidden(N_("Only maintainers (write access) can merge pull requests"))
            if comment:  # refuse before merging: the merge and its record must go together
                self.discussions.check_rate(s, principal)
            title, target = d.title, d.target_branch or repo.default_branch
        sha = self.registry.commits.merge(principal, repo, f"refs/pr/{num}", target,
                                          f"Merge pull request #{num}: {title}")
        with self.db.session(write=True) as s:
            d = discussion_row(s, repo, num)
            if comment:
                self.discussions.add_comment(s, principal, repo, d, comment)
            e = DiscussionEvent(discussion_id=d.id, type="status-change", author_id=principal.user_id,
                                data={"status": "merged"}, created_at=utcnow())
            d.status, d.merge_commit, d.updated_at = "merged", sha, e.created_at
            s.add(e)
            s.flush()
            notify(s, d, e, principal, "merged")
            search_feed.touch(s, "discussion", d.id)
            record_discussion(s, repo, d, "update")
        return sha

    def on_ref_moved(self, repo: RepoView, ref: str, old: str | None, new: str) -> None:
        """Commits that land on refs/pr/N (API or git push) appear in the pull request's timeline."""
        m = PR_REF_RE.match(ref)
        if not m or new is None:
            return
        with self.registry.repos.open_git(repo) as git:
            commits = []
            for c in git.history(new):
                if c.sha == old or len(commits) >= 100:
                    break
                commits.append(c)
            # Stop at commits already on the target branch (a PR starts at its head).
        with self.db.session(write=True) as s:
            d = s.scalar(select(Discussion).where(Discussion.repo_id == repo.id, Discussion.num == int(m.group(1))))
            if d is None:
                return
            known = s.scalars(select(DiscussionEvent.data).where(
                DiscussionEvent.discussion_id == d.id, DiscussionEvent.type == "commit")).all()
            known_oids = {k.get("oid") for k in known if isinstance(k, dict)}
            for c in reversed(commits):
                if c.sha in known_oids:
                    continue
                author = s.scalar(select(User.id).where(User.name == c.author_name))
                s.add(DiscussionEvent(discussion_id=d.id, type="commit", author_id=author,
                                      data={"subject": c.title, "oid": c.sha}, created_at=utcnow()))
            d.updated_at = utcnow()

    def diff(self, repo: RepoView, num: int) -> tuple[list, str, list[str]]:
        """(changed files, unified diff text, conflicting paths) of a pull request against its target."""
        with self.db.session() as s:
            d = discussion_row(s, repo, num)
            if not d.is_pull_request:
                return [], "", []
            target = d.target_branch or repo.default_branch
            merged_commit = d.merge_commit
        with self.registry.repos.open_git(repo) as git:
            head = git.ref_sha(f"refs/pr/{num}")
            tip = git.ref_sha(f"refs/heads/{target}")
            if head is None:
                return [], "", []
            if merged_commit:
                base = git.commit(merged_commit).parents[0]
            else:
                base = merge_base(git, tip, head) if tip else None
            base_files, head_files = files_of(git, base), files_of(git, head)
            changed = changes(base_files, head_files)
            text = "".join(unified_diff(git, c) for c in changed[:200])
            conflicts: list[str] = []
            if tip and not merged_commit:
                conflicts = three_way(base_files, files_of(git, tip), head_files)[1]
            return changed, text, conflicts
