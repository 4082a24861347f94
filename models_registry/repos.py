"""Repositories: create, find (with access checks), list, settings, refs, history, trees and files.

Commits (the one way to change files) live in `commits.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import model_tree, names, repo_events, safetensors_meta
from .names import FULL_SHA_RE
from .accounts import Accounts
from .db import Database
from .dbutil import insert_ignore
from .object_use import mark_used
from .errors import BadRequest, Conflict, EntryNotFound, Forbidden, NotFound, RepoNotFound, RevisionNotFound
from .file_facts import ABSENT, FileFacts
from .listing import RepoFilter, choose_driver, list_query
from .messages import N_
from .locks import Locks
from .tables import GitBlobInfo, LfsObject, RepoLfsObject, RepoRedirect, Repository, utcnow
from .permissions import Principal, can_admin, can_read, can_write
from .settings import RegistrySettings
from .storage import BlobStore, GitRepo, GitStore
from .storage import history
from .storage.gitrepo import CommitData
from .storage.lfs import DEFAULT_GITATTRIBUTES, parse_pointer
from .records import FileEntry, LfsInfo, RepoView, ResolvedFile


# The message of the commit that starts every repository: the Hub's own words, by which mirrors
# (sync pull/push) and the pre-receive hook recognise it; pages show it translated (hub/localize.py).
INITIAL_COMMIT_MESSAGE = "initial commit"
SUSPENDED = N_("Your account is suspended: you can read but not change anything")


@dataclass(frozen=True)
class RefInfo:
    name: str
    ref: str
    target: str


@dataclass(frozen=True)
class RepoStorage:
    """One repository of a namespace with the bytes it holds in the LFS store (`Repos.storage_of`)."""

    repo: RepoView
    storage: int


@dataclass(frozen=True)
class Refs:
    branches: list[RefInfo]
    tags: list[RefInfo]
    converts: list[RefInfo]
    pull_requests: list[RefInfo]


# Built once: every download and API call looks its repository up by name.
_BY_NAME = select(Repository).where(Repository.repo_type == bindparam("repo_type"),
                                    Repository.namespace == bindparam("ns"), Repository.name == bindparam("name"))
_BY_NAME_ANY_CASE = select(Repository).where(
    Repository.repo_type == bindparam("repo_type"), func.lower(Repository.namespace) == bindparam("ns"),
    func.lower(Repository.name) == bindparam("name"))


class Repos:
    def __init__(self, settings: RegistrySettings, db: Database, git: GitStore, blobs: BlobStore,
                 locks: Locks, accounts: Accounts) -> None:
        self.settings = settings
        self.db = db
        self.git = git
        self.blobs = blobs
        self.locks = locks
        self.accounts = accounts
        self.facts = FileFacts()  # what a commit cannot change, per process (file_facts.py)
        # Called with the repository before any file or ref changes (a mirror refuses: read-only).
        self.write_guards: list = []

    def check_writable(self, repo: RepoView) -> None:
        for guard in self.write_guards:
            guard(repo)

    # ---- lookup and access ------------------------------------------------------------------
    def get(self, repo_type: str, repo_id: str, principal: Principal | None, need: str = "read") -> RepoView:
        """The repository if `principal` may `need` (read/write/admin) it. Invisible ones are RepoNotFound."""
        try:
            ns, name = names.split_repo_id(repo_id)
        except BadRequest:
            raise RepoNotFound() from None
        with self.db.session() as s:
            r = s.scalar(_BY_NAME, {"repo_type": repo_type, "ns": ns, "name": name})
            if r is None:  # ids are case-insensitive, as on the Hub (and unique so: see `create`)
                r = s.scalar(_BY_NAME_ANY_CASE, {"repo_type": repo_type, "ns": ns.lower(), "name": name.lower()})
            if r is None:  # an old name of a renamed repository still leads to it
                moved_to = s.scalar(select(RepoRedirect.repo_id).where(
                    RepoRedirect.repo_type == repo_type, RepoRedirect.namespace == ns.lower(),
                    RepoRedirect.name == name.lower()))
                r = s.get(Repository, moved_to) if moved_to is not None else None
            view = RepoView.of(r) if r is not None else None
        if view is None or not can_read(principal, view.namespace, view.private):
            raise RepoNotFound()
        if need == "write" and not can_write(principal, view.namespace):
            if principal is not None and principal.suspended:
                raise Forbidden(SUSPENDED)
            if principal is not None and principal.token_role == "read":
                raise Forbidden(N_("You don't have write access to %(repo)s (this token is read-only)", repo=repo_id))
            raise Forbidden(N_("You don't have write access to %(repo)s", repo=repo_id))
        if need == "admin" and not can_admin(principal, view.namespace):
            raise Forbidden(N_("You must be an admin of %(namespace)s to do this", namespace=view.namespace))
        return view

    def each(self, batch: int = 500) -> Iterator[RepoView]:
        """Every repository in id order, `batch` rows per query. No access check: for sweeps over
        the whole hub (metadata reconciliation, `modelhub scan --all`)."""
        last = 0
        while True:
            with self.db.session() as s:
                views = [RepoView.of(r) for r in s.scalars(
                    select(Repository).where(Repository.id > last).order_by(Repository.id).limit(batch))]
            if not views:
                return
            yield from views
            last = views[-1].id

    def by_id(self, repo_pk: int) -> RepoView | None:
        """No access check: for links that carry their own signed authorization."""
        with self.db.session() as s:
            row = s.get(Repository, repo_pk)
            return RepoView.of(row) if row is not None else None

    def all_by_ids(self, pks: list[int]) -> list[RepoView]:
        """No access check, in the given order, missing ones skipped: for the search indexer, which
        reads a million repositories in batches rather than one query each."""
        if not pks:
            return []
        with self.db.session() as s:
            rows = {r.id: RepoView.of(r) for r in s.scalars(select(Repository).where(Repository.id.in_(pks)))}
        return [rows[pk] for pk in pks if pk in rows]

    def by_ids(self, pks: list[int], principal: Principal | None) -> list[RepoView]:
        """Views for these primary keys, in the given order, skipping missing ones and those
        `principal` may not see (the search index can lag a visibility change by a moment)."""
        if not pks:
            return []
        with self.db.session() as s:
            rows = {r.id: RepoView.of(r) for r in s.scalars(select(Repository).where(Repository.id.in_(pks)))}
        return [rows[pk] for pk in pks if pk in rows and can_read(principal, rows[pk].namespace, rows[pk].private)]

    def by_repo_ids(self, repo_ids: list[str], principal: Principal | None, repo_type: str = "model") -> list[RepoView]:
        """Like by_ids, from "ns/name" ids (what the quick search index returns)."""
        pairs = [tuple(r.split("/", 1)) for r in repo_ids if r.count("/") == 1]
        if not pairs:
            return []
        with self.db.session() as s:
            rows = s.scalars(select(Repository).where(
                Repository.repo_type == repo_type,
                or_(*[(Repository.namespace == ns) & (Repository.name == n) for ns, n in pairs]))).all()
            found = {r.repo_id: RepoView.of(r) for r in rows}
        return [found[r] for r in repo_ids if r in found and can_read(principal, found[r].namespace, found[r].private)]

    def open_git(self, repo: RepoView) -> GitRepo:
        return self.git.open(repo.storage_key)

    def _check_namespace_write(self, principal: Principal, namespace: str) -> None:
        kind = self.accounts.namespace_kind(namespace)
        if kind is None:
            raise NotFound(N_("No user or organization named %(name)s", name=repr(namespace)))
        if principal.suspended:
            raise Forbidden(N_("Your account is suspended: you can read but not create or change repositories"))
        if not can_write(principal, namespace):
            raise Forbidden(N_("You don't have the rights to create a repository under %(namespace)s",
                               namespace=repr(namespace)))

    # ---- create, delete, move, settings -----------------------------------------------------
    def create(self, principal: Principal, repo_type: str, namespace: str, name: str, private: bool = False,
               space_sdk: str | None = None) -> RepoView:
        if repo_type not in names.REPO_TYPES:
            raise BadRequest(f"Unknown repository type {repo_type!r}")
        readme = _space_readme(name, space_sdk) if repo_type == "space" else None
        names.validate_name(namespace, names.NAMESPACE)
        names.validate_name(name, names.REPOSITORY_NAME)
        self._check_namespace_write(principal, namespace)
        with self.db.session(write=True) as s:
            existing = s.scalar(select(Repository).where(
                Repository.repo_type == repo_type,
                func.lower(Repository.namespace) == namespace.lower(),
                func.lower(Repository.name) == name.lower()))
            if existing is not None:
                raise Conflict(N_("You already created this %(type)s repo", type=repo_type),
                               repo=f"{existing.namespace}/{existing.name}")
            _free_name(s, repo_type, namespace, name)  # an old name taken anew leads here now
            repo = Repository(repo_type=repo_type, namespace=namespace, name=name, private=private)
            s.add(repo)
            try:
                s.flush()
            except IntegrityError:
                raise Conflict(N_("You already created this %(type)s repo", type=repo_type),
                               repo=f"{namespace}/{name}") from None
            # The git repository is created inside the transaction: if this fails, no row remains.
            self.git.init(repo.storage_key).close()
            try:
                with self.git.writing(repo.storage_key) as git:
                    blob = git.add_blob(DEFAULT_GITATTRIBUTES.encode())
                    files = {".gitattributes": (0o100644, blob)}
                    if readme is not None:  # a Space starts with its configuration card, as on the Hub
                        files["README.md"] = (0o100644, git.add_blob(readme))
                    tree = git.write_tree(files)
                    sha = git.make_commit(tree, [], _author_line(principal), INITIAL_COMMIT_MESSAGE)
                    git.set_ref("refs/heads/main", sha, None)
            except BaseException:
                self.git.delete(repo.storage_key)
                raise
            repo.head_sha = sha
            insert_ignore(s, GitBlobInfo, [{"sha": blob, "size": len(DEFAULT_GITATTRIBUTES.encode()),
                                            "lfs_oid": None, "lfs_size": None}])
            s.flush()
            view = RepoView.of(repo)
            repo_events.record(s, view, "repo", "create")
            return view

    def create_filled(self, principal: Principal, repo_type: str, repo_id: str, storage_key: str, *,
                      private: bool, lfs_oids: Iterable[str], prepare: Callable[[Session], object] | None = None
                      ) -> RepoView:
        """Make the bare repository already filled under `storage_key` (refs and all: a first `sync
        pull` fills it where nobody sees it, `GitStore.init_unfinished`) a repository, in one
        transaction: its row, its links to the LFS objects its refs reach, and whatever `prepare`
        adds in that transaction (a mirror's missing namespace). Before this commits nothing of it
        is visible, and if it fails nothing is; `Commits.after_push` then fills in the metadata (a
        crash before that is what the start-up sweep's `reconcile_heads` repairs)."""
        namespace, name = names.split_repo_id(repo_id)
        if repo_type not in names.REPO_TYPES or not principal.is_admin:
            raise Forbidden("Only the hub's own tools make a repository of a filled folder")
        oids = sorted(set(lfs_oids))
        if prepare is None and self.accounts.namespace_kind(namespace) is None:
            raise NotFound(f"No user or organization named {namespace!r}")
        with self.db.session(write=True) as s:
            if prepare is not None:
                prepare(s)
            if s.scalar(_BY_NAME_ANY_CASE, {"repo_type": repo_type, "ns": namespace.lower(),
                                            "name": name.lower()}) is not None:
                raise Conflict(f"{repo_id} was created meanwhile; nothing was changed", repo=repo_id)
            _free_name(s, repo_type, namespace, name)
            repo = Repository(repo_type=repo_type, namespace=namespace, name=name, private=private,
                              storage_key=storage_key)
            s.add(repo)
            try:
                s.flush()
            except IntegrityError:
                raise Conflict(f"{repo_id} was created meanwhile; nothing was changed", repo=repo_id) from None
            insert_ignore(s, RepoLfsObject, [{"repo_id": repo.id, "oid": o} for o in oids])
            collected = mark_used(s, oids)  # garbage collection keeps them from now on
            if collected:
                raise Conflict(f"LFS object {min(collected)} was removed by garbage collection during the "
                               "pull; nothing was changed, run it again")
            view = RepoView.of(repo)
        self.git.finished(storage_key)
        return view

    def sweep_unfinished(self) -> int:
        """Remove what first `sync pull`s that were killed left: repositories still marked unfinished
        whose filler is gone and that no row names (none was ever visible). Returns how many."""
        removed = 0
        for key, claim in self.git.unfinished_keys():
            with claim as free:
                if not free:
                    continue  # a pull is filling it right now
                with self.db.session() as s:
                    named = s.scalar(select(Repository.id).where(Repository.storage_key == key)) is not None
                if named:  # killed after its row committed, before the mark went
                    self.git.finished(key)
                else:
                    self.git.delete(key)
                    removed += 1
        return removed

    def delete(self, principal: Principal, repo_type: str, repo_id: str) -> None:
        repo = self.get(repo_type, repo_id, principal, need="admin")
        with self.locks.hold(repo.storage_key):
            with self.db.session(write=True) as s:
                row = s.get(Repository, repo.id)
                if row is not None:
                    repo_events.record(s, repo, "repo", "delete")
                    s.delete(row)
            self.git.delete(repo.storage_key)

    def move(self, principal: Principal, repo_type: str, from_id: str, to_id: str) -> RepoView:
        repo = self.get(repo_type, from_id, principal, need="admin")
        ns, name = names.split_repo_id(to_id)
        self._check_namespace_write(principal, ns)
        with self.db.session(write=True) as s:
            clash = s.scalar(select(Repository.id).where(
                Repository.repo_type == repo_type, func.lower(Repository.namespace) == ns.lower(),
                func.lower(Repository.name) == name.lower(), Repository.id != repo.id))
            if clash is not None:
                raise Conflict(N_("A %(repo_type)s repository called %(repo_id)s already exists",
                                  repo_type=repo_type, repo_id=to_id))
            row = s.get(Repository, repo.id)
            _free_name(s, repo_type, ns, name)
            if (row.namespace.lower(), row.name.lower()) != (ns.lower(), name.lower()):
                s.add(RepoRedirect(repo_type=repo_type, namespace=row.namespace.lower(), name=row.name.lower(),
                                   repo_id=row.id))
            row.namespace, row.name = ns, name
            s.flush()
            # told under the old name: that is what its watchers know it by
            repo_events.record(s, repo, "repo", "move", movedTo={"name": f"{ns}/{name}", "owner": {"id": ns}})
            return RepoView.of(row)

    def update_settings(self, principal: Principal, repo_type: str, repo_id: str,
                        private: bool | None = None, gated: str | bool | None = None,
                        allow_force_push: bool | None = None) -> RepoView:
        repo = self.get(repo_type, repo_id, principal, need="admin")
        if gated not in (None, False, "auto", "manual"):
            raise BadRequest("gated must be false, 'auto' or 'manual'")
        with self.db.session(write=True) as s:
            row = s.get(Repository, repo.id)
            if private is not None and private != row.private:
                row.private = private
                s.flush()
                repo_events.record(s, RepoView.of(row), "repo.config", "update", updatedConfig={"private": private})
                model_tree.set_public(s, row.id, private)
            if gated is not None:
                row.gated = gated or None
            if allow_force_push is not None:
                row.allow_force_push = allow_force_push
            return RepoView.of(row)

    # ---- listing ----------------------------------------------------------------------------
    def storage_of(self, principal: Principal | None, namespace: str) -> list[RepoStorage]:
        """Every repository of `namespace` (all types, private ones too) with its storage, most recently
        updated first: what the Hub's storage settings show (`hf repos ls`). Only for whoever may see
        all of the namespace's repositories: the user, a member of the organization, a site admin.

        A repository's storage is the size of the LFS objects it holds (uploaded, pushed, pulled,
        less what was permanently deleted): the bytes it costs the blob store. Git objects are left
        out, being small beside them and shared by forks of the same history."""
        kind = self.accounts.namespace_kind(namespace)
        if kind is None:
            raise NotFound(f"No user or organization named {namespace!r}")
        if principal is None or not can_read(principal, namespace, private=True):
            raise Forbidden(f"Only {'the user' if kind == 'user' else 'members of the organization'} "
                            f"{namespace!r} can see its repositories' storage")
        # Ids are case-insensitive: by type and lower(namespace), the lookup index's leading columns.
        mine = Repository.repo_type.in_(names.REPO_TYPES) & (func.lower(Repository.namespace) == namespace.lower())
        with self.db.session() as s:
            repos = s.scalars(select(Repository).where(mine)
                              .order_by(Repository.last_modified.desc(), Repository.id.desc())).all()
            used = dict(s.execute(select(Repository.id, func.sum(LfsObject.size))
                                  .join(RepoLfsObject, RepoLfsObject.repo_id == Repository.id)
                                  .join(LfsObject, LfsObject.oid == RepoLfsObject.oid)
                                  .where(mine).group_by(Repository.id)).all())
            return [RepoStorage(RepoView.of(r), int(used.get(r.id) or 0)) for r in repos]

    def list(self, repo_type: str, principal: Principal | None, *, search: str | None = None,
             author: str | None = None, tags: list[str] | None = None, pipeline_tag: str | None = None,
             gated: bool | None = None, ids: list[int] | None = None, sort: str | None = None,
             ascending: bool = False, cursor: str | None = None, offset: int = 0, limit: int = 100
             ) -> list[RepoView]:
        """Repositories `principal` may see, filtered, one page (listing.py: after `cursor`, the
        `cursor_after` of the previous page's last item, or `offset`)."""
        f = RepoFilter(author=author, tags=list(tags or []), pipeline_tag=pipeline_tag, gated=gated, ids=ids,
                       search=search)
        with self.db.session() as s:
            q = list_query(repo_type, principal, f, sort=sort, ascending=ascending, cursor=cursor, offset=offset,
                           limit=limit, driver=choose_driver(s, f))
            return [RepoView.of(r) for r in s.scalars(q)]

    # ---- revisions and refs -----------------------------------------------------------------
    def resolve_revision(self, repo: RepoView, rev: str) -> str:
        with self.open_git(repo) as git:
            return git.resolve(rev)

    def refs(self, repo: RepoView) -> Refs:
        with self.open_git(repo) as git:
            all_refs = git.refs()
        out: dict[str, list[RefInfo]] = {"heads": [], "tags": [], "convert": [], "pr": []}
        for ref, sha in sorted(all_refs.items()):
            kind, _, short = ref[len("refs/"):].partition("/")
            if kind in ("heads", "tags", "convert"):
                out[kind].append(RefInfo(short, ref, sha))
            elif kind == "pr":
                out["pr"].append(RefInfo(ref, ref, sha))
        return Refs(out["heads"], out["tags"], out["convert"], out["pr"])

    def create_branch(self, principal: Principal, repo: RepoView, branch: str, starting_point: str | None) -> str:
        names.validate_branch_name(branch)
        self.check_writable(repo)
        with self.git.writing(repo.storage_key) as git:
            target = git.resolve(starting_point or repo.default_branch)
            if not git.set_ref(f"refs/heads/{branch}", target, None):
                raise Conflict(f"Reference refs/heads/{branch} already exists")
        self._refs_changed(repo, {f"refs/heads/{branch}": (None, target)})
        return target

    def delete_branch(self, principal: Principal, repo: RepoView, branch: str) -> None:
        if branch == repo.default_branch:
            raise Forbidden(f"Cannot delete refs/heads/{branch}: it is the default branch")
        self.check_writable(repo)
        with self.git.writing(repo.storage_key) as git:
            ref = f"refs/heads/{branch}"
            if git.ref_sha(ref) is None:
                raise RevisionNotFound(f"Invalid rev id: {branch} is not a branch")
            old = git.ref_sha(ref)
            git.delete_ref(ref)
        self._refs_changed(repo, {ref: (old, None)})

    def create_tag(self, principal: Principal, repo: RepoView, tag: str, revision: str, message: str | None) -> str:
        self.check_writable(repo)
        with self.git.writing(repo.storage_key) as git:
            target = git.resolve(revision, short_sha=True)  # the revision first, then the name, as the Hub
            names.validate_tag_name(tag)
            ref = f"refs/tags/{tag}"
            if git.ref_sha(ref) is not None:
                raise Conflict(f"Tag {tag!r} already exists")
            obj = git.create_annotated_tag(tag, target, message, _author_line(principal)) if message else target
            if not git.set_ref(ref, obj, None):
                raise Conflict(f"Tag {tag!r} already exists")
        self._refs_changed(repo, {ref: (None, obj)})
        return target

    def delete_tag(self, principal: Principal, repo: RepoView, tag: str) -> None:
        self.check_writable(repo)
        with self.git.writing(repo.storage_key) as git:
            ref = f"refs/tags/{tag}"
            old = git.ref_sha(ref)
            if old is None:
                raise RevisionNotFound(f"Tag {tag!r} not found")
            git.delete_ref(ref)
        self._refs_changed(repo, {ref: (old, None)})

    def create_pr_ref(self, repo: RepoView, num: int, target_branch: str) -> str:
        """Point refs/pr/`num` at the head of `target_branch` (a new pull request starts there)."""
        with self.git.writing(repo.storage_key) as git:
            head = git.ref_sha(f"refs/heads/{target_branch}")
            if head is None:
                raise RevisionNotFound(f"Invalid rev id: {target_branch} is not a branch a pull request can target")
            if not git.set_ref(f"refs/pr/{num}", head, None):
                raise Conflict(f"refs/pr/{num} already exists")
            return head

    def delete_pr_ref(self, repo: RepoView, num: int) -> None:
        """Remove refs/pr/`num` (a pull request undone before anyone saw it)."""
        with self.git.writing(repo.storage_key) as git:
            git.delete_ref(f"refs/pr/{num}")

    def _refs_changed(self, repo: RepoView, changes: dict[str, tuple[str | None, str | None]]) -> None:
        """A branch or tag was made or removed: the repository changed, and webhooks hear of it."""
        self.touch(repo)
        repo_events.record_now(self.db, repo, "repo.content", "update", updatedRefs=repo_events.updated_refs(changes))

    def touch(self, repo: RepoView) -> None:
        with self.db.session(write=True) as s:
            row = s.get(Repository, repo.id)
            if row is not None:
                row.last_modified = utcnow()

    def history(self, repo: RepoView, rev: str) -> Iterator[CommitData]:
        """Commits reachable from `rev`, newest first (a generator; the caller pages through it)."""
        git = self.open_git(repo)
        try:
            sha = git.resolve(rev)
            yield from git.history(sha)
        finally:
            git.close()

    # ---- trees and files --------------------------------------------------------------------
    def blob_infos(self, git: GitRepo, shas: list[str]) -> dict[str, tuple[int, LfsInfo | None]]:
        """size and LFS facts for git blobs: from the cache table, filling it for blobs pushed by git."""
        out: dict[str, tuple[int, LfsInfo | None]] = {}
        wanted = list(dict.fromkeys(shas))
        with self.db.session() as s:
            for i in range(0, len(wanted), 500):
                for row in s.scalars(select(GitBlobInfo).where(GitBlobInfo.sha.in_(wanted[i:i + 500]))):
                    out[row.sha] = _blob_fact(row.size, row.lfs_oid, row.lfs_size)
        missing = [sha for sha in wanted if sha not in out]
        if missing:
            rows = []
            for sha in missing:
                data = git.read_blob(sha)
                ptr = parse_pointer(data)
                rows.append({"sha": sha, "size": len(data), "lfs_oid": ptr.oid if ptr else None,
                             "lfs_size": ptr.size if ptr else None})
                out[sha] = _blob_fact(len(data), ptr.oid if ptr else None, ptr.size if ptr else None)
            with self.db.session(write=True) as s:
                insert_ignore(s, GitBlobInfo, rows)
        return out

    def tree(self, repo: RepoView, commit: str, path: str, recursive: bool) -> list[FileEntry]:
        """Entries under `path` at `commit`. A missing path, or a file, is EntryNotFound."""
        with self.open_git(repo) as git:
            item = git.lookup(commit, path)
            if item is None or not item.is_dir:
                raise EntryNotFound(f"{path!r} does not exist or is not a folder at {commit}", commit=commit)
            items = list(git.list_tree(item.sha, path, recursive))
            return self._entries(git, items)

    def paths_info(self, repo: RepoView, commit: str, paths: list[str]) -> list[FileEntry]:
        with self.open_git(repo) as git:
            items = []
            for p in paths:
                p = p.strip("/")
                if not p:
                    continue
                item = git.lookup(commit, p)
                if item is not None:
                    items.append(item)
            return self._entries(git, items)

    def last_changes(self, repo: RepoView, commit: str, paths: list[str]) -> dict[str, CommitData]:
        """The commit that last changed each path as of `commit` (tree and paths-info with
        `expand`): one history walk for the paths not already remembered (file_facts.py)."""
        out: dict[str, CommitData] = {}
        missing = []
        for p in paths:
            known = self.facts.last_change(repo.storage_key, commit, p)
            if known is None:
                missing.append(p)
            else:
                out[p] = known  # type: ignore[assignment]
        if missing:
            with self.open_git(repo) as git:
                found = history.last_changes(git, commit, missing)
            for p, c in found.items():
                self.facts.remember_last_change(repo.storage_key, commit, p, c)
            out.update(found)
        return out

    def _entries(self, git: GitRepo, items: list) -> list[FileEntry]:
        infos = self.blob_infos(git, [i.sha for i in items if i.is_file])
        out = []
        for i in items:
            if i.is_dir:
                out.append(FileEntry(i.path, "directory", i.sha))
            elif i.is_file:
                size, lfs = infos[i.sha]
                out.append(FileEntry(i.path, "file", i.sha, size, lfs))
        return out

    def resolve_file(self, repo: RepoView, rev: str, path: str) -> ResolvedFile:
        """The file at `path` of `rev`. A branch is read from its ref and a known (commit, path)
        from `facts`, so a repeated download opens nothing; anything else (tags, shas, a first
        request) walks the tree once and teaches `facts`."""
        names.validate_path(path)
        commit = self.git.branch_tip(repo.storage_key, rev)
        if commit is None and FULL_SHA_RE.match(rev):
            # Known to `facts` only if this repository resolved it before. (A tag named like
            # another commit's sha would win in `resolve`; git itself calls that name ambiguous.)
            commit = rev
        known = self.facts.file(repo.storage_key, commit, path) if commit else None
        if known is None:
            with self.open_git(repo) as git:
                commit = git.resolve(rev)
                known = self._file_fact(git, repo, commit, path)
        if known is ABSENT:
            raise EntryNotFound(f"Entry not found: {path!r} does not exist at revision {rev!r}", commit=commit)
        blob_sha, size, lfs = known  # type: ignore[misc]
        return ResolvedFile(commit, path, blob_sha, size, lfs)

    def _file_fact(self, git: GitRepo, repo: RepoView, commit: str, path: str) -> object:
        known = self.facts.file(repo.storage_key, commit, path)
        if known is None:
            item = git.lookup(commit, path)
            if item is None or not item.is_file:
                known = ABSENT
            else:
                size, lfs = self.blob_infos(git, [item.sha])[item.sha]
                known = (item.sha, size, lfs)
            self.facts.remember_file(repo.storage_key, commit, path, known)
        return known

    def exists_at(self, repo: RepoView, commit: str, path: str) -> bool:
        known = self.facts.file(repo.storage_key, commit, path)
        if known is None:
            with self.open_git(repo) as git:
                known = self._file_fact(git, repo, commit, path)
        return known is not ABSENT

    def total_size(self, repo: RepoView, commit: str) -> int:
        """Bytes of all the files at `commit`, LFS files at their real size (the files page and
        the model page sidebar; the API's `usedStorage` is the same sum). Remembered per commit."""
        known = self.facts.total_size(repo.storage_key, commit)
        if known is None:
            known = sum(e.size for e in self.tree(repo, commit, "", recursive=True) if e.type == "file")
            self.facts.remember_total_size(repo.storage_key, commit, known)
        return known

    def safetensors_header(self, repo: RepoView, f: ResolvedFile) -> safetensors_meta.Header:
        """The header of the .safetensors file `f`, read alone: an LFS file through ranged reads of
        blob storage (local or S3), never its tensors. SafetensorsError says what is wrong with it;
        EntryNotFound if an LFS file's content is missing from storage."""
        if f.lfs is None:
            data = self.read_regular(repo, f.blob_sha)
            return safetensors_meta.read_header(lambda offset, length: data[offset:offset + length], len(data))
        oid = f.lfs.oid
        try:
            return safetensors_meta.read_header(lambda offset, length: self.blobs.read_range(oid, offset, length),
                                                f.size)
        except FileNotFoundError:
            raise EntryNotFound(f"The content of {f.path!r} is missing from storage", commit=f.commit) from None

    def read_regular(self, repo: RepoView, blob_sha: str) -> bytes:
        data = self.facts.blob(blob_sha)
        if data is None:
            with self.open_git(repo) as git:
                data = git.read_blob(blob_sha)
            self.facts.remember_blob(blob_sha, data)
        return data


def _blob_fact(size: int, lfs_oid: str | None, lfs_size: int | None) -> tuple[int, LfsInfo | None]:
    if lfs_oid is None:
        return size, None
    return int(lfs_size or 0), LfsInfo(lfs_oid, int(lfs_size or 0), size)


def _author_line(principal: Principal) -> str:
    return f"{principal.name} <{principal.name}@users.noreply.modelhub>"


SPACE_SDKS = ("gradio", "streamlit", "docker", "static")


def _space_readme(name: str, sdk: str | None) -> bytes:
    """The card a new Space starts with on the Hub: its configuration in the front matter."""
    sdk = sdk or "static"
    if sdk not in SPACE_SDKS:
        raise BadRequest(f"Unknown Space SDK {sdk!r} (use one of {', '.join(SPACE_SDKS)})")
    return (f"---\ntitle: {json.dumps(name)}\nemoji: 🚀\ncolorFrom: blue\ncolorTo: gray\nsdk: {sdk}\npinned: false\n---\n\n"
            "Check out the configuration reference at https://huggingface.co/docs/hub/spaces-config-reference\n"
            ).encode()


def _free_name(s, repo_type: str, namespace: str, name: str) -> None:  # type: ignore[no-untyped-def]
    """Forget a redirect from this name: a repository now holds it."""
    s.execute(delete(RepoRedirect).where(RepoRedirect.repo_type == repo_type,
                                         RepoRedirect.namespace == namespace.lower(), RepoRedirect.name == name.lower()))
