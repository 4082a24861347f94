"""The LFS files of a repository, as the Hub lists them for freeing space, their permanent
deletion, and their duplication into another repository (a cross-repository copy).

Deleting rewrites the repository's history without the files that point at the objects
(storage/history.py: every branch, tag and pull request ref that reached them gets new commits),
then the repository stops referencing the objects; garbage collection (storage_gc.py) frees the
bytes after its grace period, once no other repository needs them. Only the history rewrite is
offered: deleting the bytes while pointers to them stay would leave files nobody can download.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select

from .access import TransferAccess
from .commits import Commits
from .db import Database
from .dbutil import insert_ignore
from .errors import BadRequest, Conflict
from .object_use import mark_used
from .permissions import Principal
from .records import RepoView
from .repos import Repos
from .storage import GitStore, history
from .storage.blobs import check_oid
from .tables import LfsObject, RepoLfsObject

MAX_DELETIONS = 1000  # per request, as the client sends them


@dataclass(frozen=True)
class LfsFileView:
    oid: str
    size: int
    filename: str  # where a branch holds it now ("" if only older commits do)
    ref: str | None  # that branch
    pushed_at: dt.datetime


class LfsFiles:
    def __init__(self, db: Database, git: GitStore, repos: Repos, commits: Commits, access: TransferAccess) -> None:
        self.db = db
        self.git = git
        self.repos = repos
        self.commits = commits
        self.access = access

    def duplicate(self, principal: Principal | None, source: RepoView, target: RepoView,
                  oids: list[str]) -> list[dict[str, str]]:
        """Let `target` use LFS objects of `source` (huggingface_hub's cross-repository copy_files):
        the bytes are stored once; the commit that follows names them in the target. Returns the
        objects that could not be linked, each with why."""
        self.access.authorize_download(principal, source)
        self.access.authorize_upload(principal, target, to_branch=True)
        self.repos.check_writable(target)
        if len(oids) > MAX_DELETIONS:
            raise BadRequest(f"At most {MAX_DELETIONS} files per request")
        failed, wanted = [], []
        for oid in dict.fromkeys(oids):
            try:
                wanted.append(check_oid(oid))
            except BadRequest as e:
                failed.append({"sha256": str(oid), "error": e.message})
        with self.db.session(write=True) as s:
            linked = set(s.scalars(select(RepoLfsObject.oid).where(RepoLfsObject.repo_id == source.id,
                                                                   RepoLfsObject.oid.in_(wanted))))
            ok = [o for o in wanted if o in linked]
            failed += [{"sha256": o, "error": f"not an LFS file of {source.repo_id}"} for o in wanted if o not in linked]
            gone = mark_used(s, ok)  # collected meanwhile: nothing to link
            failed += [{"sha256": o, "error": "the object is gone from the store"} for o in ok if o in gone]
            insert_ignore(s, RepoLfsObject, [{"repo_id": target.id, "oid": o} for o in ok if o not in gone])
        return failed

    def list(self, principal: Principal | None, repo: RepoView) -> list[LfsFileView]:
        """The objects `repo` references, each with a file and branch that hold it, the default
        branch first; newest upload first."""
        self._check(principal, repo)
        with self.db.session() as s:
            rows = s.execute(select(LfsObject.oid, LfsObject.size, LfsObject.created_at)
                             .join(RepoLfsObject, RepoLfsObject.oid == LfsObject.oid)
                             .where(RepoLfsObject.repo_id == repo.id)).all()
        where = self._where(repo, {r.oid for r in rows})
        out = [LfsFileView(r.oid, r.size, *where.get(r.oid, ("", None)), r.created_at) for r in rows]
        return sorted(out, key=lambda f: (f.pushed_at, f.oid), reverse=True)

    def _where(self, repo: RepoView, oids: set[str]) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        with self.repos.open_git(repo) as git:
            heads = sorted((ref[len("refs/heads/"):], sha) for ref, sha in git.refs().items()
                           if ref.startswith("refs/heads/"))
            heads.sort(key=lambda h: h[0] != repo.default_branch)
            for branch, sha in heads:
                files = git.files(sha)
                infos = self.repos.blob_infos(git, [i.sha for i in files.values()])
                for path, item in sorted(files.items()):
                    lfs = infos[item.sha][1]
                    if lfs is not None and lfs.oid in oids and lfs.oid not in found:
                        found[lfs.oid] = (path, branch)
        return found

    def delete(self, principal: Principal | None, repo: RepoView, oids: list[str], rewrite_history: bool) -> int:
        """Rewrite the history without the files pointing at `oids` and stop referencing them;
        returns how many refs moved."""
        self._check(principal, repo, admin=True)
        if not rewrite_history:
            raise BadRequest("Only rewriteHistory=true is supported: the files that point at the objects are "
                             "taken out of every commit, so nothing is left pointing at deleted bytes")
        if not oids or len(oids) > MAX_DELETIONS:
            raise BadRequest(f"'sha' must list 1 to {MAX_DELETIONS} LFS object ids")
        wanted = {check_oid(o) for o in oids}
        self.repos.check_writable(repo)
        with self.git.writing(repo.storage_key) as git:
            refs = git.refs(peeled=False)
            blobs = history.reachable_blobs(git, sorted(set(git.refs().values())))
            infos = self.repos.blob_infos(git, sorted(blobs))
            doomed = {sha for sha, (_size, lfs) in infos.items() if lfs is not None and lfs.oid in wanted}
            moved = history.drop_blobs(git, refs, doomed) if doomed else {}
            for ref, new in moved.items():
                if not git.set_ref(ref, new, refs[ref]):
                    raise Conflict(f"{ref} moved while the history was being rewritten; try again")
            for ref, new in moved.items():
                if ref.startswith("refs/heads/"):
                    self.commits.after_ref_moved(git, repo, ref, new, refs[ref])
        with self.db.session(write=True) as s:
            s.execute(delete(RepoLfsObject).where(RepoLfsObject.repo_id == repo.id, RepoLfsObject.oid.in_(wanted)))
        self.repos.touch(repo)
        return len(moved)

    def _check(self, principal: Principal | None, repo: RepoView, admin: bool = False) -> None:
        """Writers list, admins delete (RepoNotFound for those who may not see it, as everywhere)."""
        self.repos.get(repo.repo_type, repo.repo_id, principal, need="admin" if admin else "write")
