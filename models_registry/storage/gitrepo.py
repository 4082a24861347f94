"""Bare git repositories, read and written in-process with dulwich.

Writes are atomic the way git's are: objects first (each written to a temporary file and renamed),
then one compare-and-swap of the ref. A crash at any point leaves the ref where it was; at worst
some unreachable objects remain for `git gc`.

A writer killed mid-write also leaves git's lock files behind (`refs/heads/main.lock`,
`objects/ab/<sha>.lock`): git and dulwich refuse to touch a file whose `.lock` exists, so without
recovery that ref, or that object, could never be written again. Every write goes through
`GitStore.writing`, which holds the repository's lock: a ref lock file met there belongs to a dead
writer and is removed. An object's lock file may belong to a live `sync pull`, which writes objects
without that lock (`GitStore.incoming`): the object is written beside it instead (content-addressed
names make that safe). `GitStore.sweep_locks`, run as `serve` starts, removes what is left.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from dulwich.errors import NotTreeError
from dulwich.file import FileLocked
from dulwich.object_store import tree_lookup_path
from dulwich.objects import Blob, Commit, Tag, Tree
from dulwich.refs import DiskRefsContainer
from dulwich.repo import Repo

from ..errors import BadRequest, RevisionNotFound
from ..locks import LockDir, Locks
from ..names import FULL_SHA_RE, PR_REF_RE, SHORT_SHA_RE
from .durable import publish, write_file

log = logging.getLogger(__name__)
T = TypeVar("T")

FILE_MODE = 0o100644
EXEC_MODE = 0o100755
LINK_MODE = 0o120000
DIR_MODE = 0o040000
SUBMODULE_MODE = 0o160000
# Refs written without the repository lock: `sync pull` fetches into refs/mirror-incoming/<run>/
# under GitStore.incoming only (a fetch can take minutes).
INCOMING_REFS = "refs/mirror-incoming"
# The lock files git and dulwich take outside refs/ and objects/ (always under the repository lock).
# In a repository a first `sync pull` is filling: no row names it yet (GitStore.init_unfinished).
UNFINISHED_MARK = "modelhub-unfinished"
TOP_LEVEL_LOCKS = ("HEAD.lock", "config.lock", "packed-refs.lock", "shallow.lock", "index.lock")


@dataclass(frozen=True)
class TreeItem:
    path: str
    mode: int
    sha: str

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)

    @property
    def is_file(self) -> bool:
        return not self.is_dir and self.mode != SUBMODULE_MODE


@dataclass(frozen=True)
class CommitData:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author: str
    author_time: int
    message: str

    @property
    def title(self) -> str:
        return self.message.split("\n", 1)[0]

    @property
    def author_name(self) -> str:
        return self.author.split(" <", 1)[0]



class GitRepo:
    """One bare repository. Cheap to create; holds no locks.

    `writer` is for `GitStore.writing` only: the caller holds the repository lock, so a ref's lock
    file met while writing belongs to a dead writer and is recovered (see the module docstring);
    `pulls_idle` then tells whether no `sync pull` runs, which makes object lock files stale too."""

    def __init__(self, path: Path, writer: bool = False,
                 pulls_idle: Callable[[], AbstractContextManager[bool]] | None = None) -> None:
        self.path = path
        self._writer = writer
        self._pulls_idle = pulls_idle
        self._repo = Repo(str(path))
        # git's lock-file protocol flushes ref files, but loose objects only with this on (dulwich's
        # and git's default is off): without it a power cut could leave a ref naming an object
        # that never reached the disk. Pushes get the same through hub/git/smart_http.py.
        self._repo.object_store.fsync_object_files = True

    def close(self) -> None:
        self._repo.close()

    def __enter__(self) -> GitRepo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- refs -------------------------------------------------------------------------------
    def refs(self, peeled: bool = True) -> dict[str, str]:
        """Every ref under refs/ (heads, tags, pr, convert) -> the commit it points to (annotated
        tags peeled, unless `peeled` is False: then the tag object's id)."""
        out: dict[str, str] = {}
        for name in self._repo.refs.allkeys():
            if not name.startswith(b"refs/"):
                continue
            try:
                sha = self._repo.refs[name]
            except KeyError:
                continue
            out[name.decode()] = (self._peel(sha) if peeled else sha).decode()
        return out

    @property
    def objects(self):  # type: ignore[no-untyped-def]
        """dulwich's object store, for the history walks of storage/history.py."""
        return self._repo.object_store

    def _peel(self, sha: bytes) -> bytes:
        obj = self._repo.object_store[sha]
        while isinstance(obj, Tag):
            obj = self._repo.object_store[obj.object[1]]
        return obj.id

    def ref_sha(self, ref: str) -> str | None:
        try:
            return self._repo.refs[ref.encode()].decode()
        except KeyError:
            return None

    def resolve(self, rev: str, short_sha: bool = False) -> str:
        """Branch, tag, refs/pr/N, refs/heads/..., or a full commit sha -> commit sha; with
        `short_sha`, also an abbreviated one (7 to 39 hex digits) naming exactly one commit."""
        if not rev:
            raise RevisionNotFound("Empty revision")
        candidates: list[str]
        if rev.startswith("refs/"):
            candidates = [rev]
        else:
            candidates = [f"refs/heads/{rev}", f"refs/tags/{rev}"]
        for ref in candidates:
            try:
                sha = self._repo.refs[ref.encode()]
            except (KeyError, ValueError):
                continue
            return self._peel(sha).decode()
        if FULL_SHA_RE.match(rev):
            try:
                obj = self._repo.object_store[rev.encode()]
            except KeyError:
                obj = None
            if isinstance(obj, Commit):
                return rev
        if short_sha and SHORT_SHA_RE.match(rev):
            found = [sha for sha in self._repo.object_store.iter_prefix(rev.encode())
                     if isinstance(self._repo.object_store[sha], Commit)]
            if len(found) == 1:
                return found[0].decode()
        raise RevisionNotFound(f"Invalid rev id: {rev}")

    def branch_ref(self, rev: str) -> str | None:
        """The ref a commit to `rev` moves: a branch or a PR ref; None if rev is a tag or a sha."""
        if PR_REF_RE.match(rev):
            return rev if self.ref_sha(rev) else None
        if rev.startswith("refs/heads/"):
            rev = rev[len("refs/heads/"):]
        ref = f"refs/heads/{rev}"
        return ref if self.ref_sha(ref) else None

    def set_ref(self, ref: str, new: str, old: str | None) -> bool:
        """Compare-and-swap: moves `ref` to `new` only if it still points at `old` (None: must not exist)."""
        if old is None:
            return bool(self._recovering(lambda: self._repo.refs.add_if_new(ref.encode(), new.encode())))
        return bool(self._recovering(lambda: self._repo.refs.set_if_equals(ref.encode(), old.encode(),
                                                                            new.encode())))

    def delete_ref(self, ref: str, old: str | None = None) -> bool:
        return bool(self._recovering(lambda: self._repo.refs.remove_if_equals(ref.encode(),
                                                                               old.encode() if old else None)))

    def _recovering(self, write: Callable[[], T]) -> T:
        """Run a ref write; as a writer under the repository lock, remove the lock file a dead
        writer left on the way (a ref move may meet two: the ref's own and packed-refs')."""
        for _ in range(3):
            try:
                return write()
            except FileLocked as e:
                lock = Path(os.fsdecode(e.lockfilename))
                if not self._writer or not _owned_by_repo_lock(self.path, lock):
                    raise
                log.warning("removing %s, left by a writer that died", lock)
                lock.unlink(missing_ok=True)
        return write()

    def recover_ref_locks(self) -> int:
        """Remove every ref lock file a dead writer left (for git itself, which cannot recover them:
        receive-pack, fetch). Only as a writer, under the repository lock."""
        assert self._writer, "recover_ref_locks needs the repository lock (GitStore.writing)"
        return _remove_locks(self.path, everything=False)

    def create_annotated_tag(self, name: str, target: str, message: str, tagger: str) -> str:
        tag = Tag()
        tag.name = name.encode()
        tag.object = (Commit, target.encode())
        tag.message = message.encode() + (b"" if message.endswith("\n") else b"\n")
        tag.tagger = tagger.encode()
        tag.tag_time = int(time.time())
        tag.tag_timezone = 0
        self._add_object(tag)
        return tag.id.decode()

    # ---- objects ----------------------------------------------------------------------------
    def commit(self, sha: str) -> CommitData:
        obj = self._repo.object_store[sha.encode()]
        if not isinstance(obj, Commit):
            raise RevisionNotFound(f"{sha} is not a commit")
        return CommitData(
            sha=sha,
            tree=obj.tree.decode(),
            parents=tuple(p.decode() for p in obj.parents),
            author=obj.author.decode("utf-8", "replace"),
            author_time=obj.author_time,
            message=obj.message.decode("utf-8", "replace"),
        )

    def lookup(self, commit_sha: str, path: str) -> TreeItem | None:
        """The entry at `path` in a commit's tree ('' is the root tree), or None."""
        tree = self.commit(commit_sha).tree
        if path == "":
            return TreeItem("", DIR_MODE, tree)
        try:
            mode, sha = tree_lookup_path(self._repo.object_store.__getitem__, tree.encode(), path.encode())
        except (KeyError, NotTreeError):
            return None
        return TreeItem(path, mode, sha.decode())

    def list_tree(self, tree_sha: str, prefix: str = "", recursive: bool = False) -> Iterator[TreeItem]:
        """Entries of a tree in git order, directories included; depth-first when recursive."""
        tree = self._repo.object_store[tree_sha.encode()]
        assert isinstance(tree, Tree)
        for entry in tree.iteritems():
            name = entry.path.decode("utf-8", "replace")
            path = f"{prefix}/{name}" if prefix else name
            item = TreeItem(path, entry.mode, entry.sha.decode())
            yield item
            if recursive and item.is_dir:
                yield from self.list_tree(item.sha, path, True)

    def files(self, commit_sha: str) -> dict[str, TreeItem]:
        """Every file of a commit, by path."""
        tree = self.commit(commit_sha).tree
        return {i.path: i for i in self.list_tree(tree, recursive=True) if not i.is_dir}

    def read_blob(self, sha: str) -> bytes:
        obj = self._repo.object_store[sha.encode()]
        if not isinstance(obj, Blob):
            raise BadRequest(f"{sha} is not a file")
        return obj.as_raw_string()

    def add_blob(self, data: bytes) -> str:
        blob = Blob.from_string(data)
        self._add_object(blob)
        return blob.id.decode()

    def _add_object(self, obj: Blob | Tree | Commit | Tag) -> None:
        store = self._repo.object_store
        try:
            store.add_object(obj)
        except FileLocked as e:
            # A writer that died (or, for a `sync pull`, one still running) holds this object's lock
            # file. The object's name is its content's hash: writing it beside the lock and renaming
            # it into place gives the same file whoever finishes first.
            sha = obj.id.decode()
            final = Path(os.fsdecode(store.path)) / sha[:2] / sha[2:]
            tmp = final.with_name(f"tmp_obj_{uuid.uuid4().hex}")
            write_file(tmp, obj.as_legacy_object(compression_level=store.loose_compression_level))
            try:
                publish(tmp, final)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            if self._pulls_idle is not None:  # given to writers only (GitStore.writing)
                with self._pulls_idle() as idle:
                    if idle:  # then nobody else writes objects here: the lock file is a dead writer's
                        log.warning("removing %s, left by a writer that died", os.fsdecode(e.lockfilename))
                        Path(os.fsdecode(e.lockfilename)).unlink(missing_ok=True)

    def write_tree(self, files: dict[str, tuple[int, str]]) -> str:
        """Build (and store) the tree for a flat {path: (mode, sha)} map; returns the root tree sha."""
        root: dict = {}
        for path, (mode, sha) in files.items():
            node = root
            parts = path.split("/")
            for part in parts[:-1]:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise BadRequest(f"Cannot add {path!r}: {part!r} is a file")
                node = child
            if isinstance(node.get(parts[-1]), dict):
                raise BadRequest(f"Cannot add {path!r}: a folder of that name exists")
            node[parts[-1]] = (mode, sha)
        return self._store_tree(root).decode()

    def _store_tree(self, node: dict) -> bytes:
        tree = Tree()
        for name, value in node.items():
            if isinstance(value, dict):
                tree.add(name.encode(), DIR_MODE, self._store_tree(value))
            else:
                tree.add(name.encode(), value[0], value[1].encode())
        self._add_object(tree)
        return tree.id

    def make_commit(self, tree: str, parents: list[str], author: str, message: str) -> str:
        c = Commit()
        c.tree = tree.encode()
        c.parents = [p.encode() for p in parents]
        c.author = c.committer = author.encode()
        c.author_time = c.commit_time = int(time.time())
        c.author_timezone = c.commit_timezone = 0
        c.encoding = b"UTF-8"
        c.message = message.encode()
        self._add_object(c)
        return c.id.decode()

    def history(self, sha: str) -> Iterator[CommitData]:
        """Commits reachable from `sha`, newest first."""
        for entry in self._repo.get_walker(include=[sha.encode()]):
            c = entry.commit
            yield CommitData(
                sha=c.id.decode(),
                tree=c.tree.decode(),
                parents=tuple(p.decode() for p in c.parents),
                author=c.author.decode("utf-8", "replace"),
                author_time=c.author_time,
                message=c.message.decode("utf-8", "replace"),
            )


class GitStore:
    """Where bare repositories live: ``<root>/<key[:2]>/<key>.git``; `locks` serializes the writers of
    each one (named by its key)."""

    def __init__(self, root: Path, locks: Locks | None = None) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.locks = locks if locks is not None else LockDir(root / ".locks")

    @contextmanager
    def writing(self, key: str) -> Iterator[GitRepo]:
        """The one way to write to a repository: under its lock, as a writer that recovers what a
        killed one left (see the module docstring). The few top-level lock files are checked at
        once (a commit never meets packed-refs.lock, which would wait there for the next deletion)."""
        idle = lambda: self.locks.try_hold(f"{key}-incoming")  # noqa: E731
        with self.locks.hold(key), GitRepo(self.path_for(key), writer=True, pulls_idle=idle) as git:
            _remove_locks(git.path, everything=False, refs=False)
            yield git

    @contextmanager
    def incoming(self, key: str) -> Iterator[GitRepo]:
        """For a `sync pull`, which adds objects and refs/incoming/ refs for minutes before it moves
        any visible ref (under `writing`): its own lock, so that a sweep knows their lock files live."""
        with self.locks.hold(f"{key}-incoming"), GitRepo(self.path_for(key)) as git:
            yield git

    def keys(self) -> Iterator[str]:
        """The storage keys of every repository on disk."""
        for folder in sorted(self.root.iterdir()):
            if len(folder.name) == 2 and folder.is_dir():
                for path in sorted(folder.glob("*.git")):
                    yield path.name[:-len(".git")]

    def sweep_locks(self, progress: Callable[[int], None] | None = None) -> tuple[int, int]:
        """Remove the git lock files that killed writers left in every repository; returns (files
        removed, repositories looked at). A repository being written is skipped (its writer recovers
        what it meets); one being pulled into keeps the lock files the pull may own."""
        removed = seen = 0
        for key in self.keys():
            with self.locks.try_hold(key) as held, self.locks.try_hold(f"{key}-incoming") as quiet:
                if held:
                    removed += _remove_locks(self.path_for(key), everything=quiet)
            seen += 1
            if progress:
                progress(1)
        return removed, seen

    # ---- repositories filled before any row names them (a first `sync pull`) ------------------
    @contextmanager
    def claim(self, key: str) -> Iterator[None]:
        """Held by whoever fills an unfinished repository (`init_unfinished`) until a row names it:
        while it is held, a sweep leaves the folder alone; once free, the holder is gone."""
        with self.locks.hold(f"{key}-claim"):
            yield

    def init_unfinished(self, key: str) -> None:
        """A new bare repository marked unfinished: no row names it yet, so nobody sees it (call
        under `claim`). `finished` removes the mark once a row names it."""
        self.init(key).close()
        write_file(self.path_for(key) / UNFINISHED_MARK, b"filled by a first sync pull; no row names it yet\n")

    def finished(self, key: str) -> None:
        (self.path_for(key) / UNFINISHED_MARK).unlink(missing_ok=True)

    def unfinished_keys(self) -> Iterator[tuple[str, AbstractContextManager[bool]]]:
        """(key, a try-claim of it) for every repository still marked unfinished; the claim is
        False while its filler lives."""
        for key in self.keys():
            if (self.path_for(key) / UNFINISHED_MARK).exists():
                yield key, self.locks.try_hold(f"{key}-claim")

    def path_for(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError(f"bad storage key {key!r}")
        return self.root / key[:2] / f"{key}.git"

    def init(self, key: str) -> GitRepo:
        """A new bare repository, created under its lock like every write (a sweep may be visiting)."""
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.locks.hold(key):
            repo = Repo.init_bare(str(path), mkdir=True)
            repo.refs.set_symbolic_ref(b"HEAD", b"refs/heads/main")
            repo.close()
        return GitRepo(path)

    def open(self, key: str) -> GitRepo:
        return GitRepo(self.path_for(key))

    def branch_tip(self, key: str, rev: str) -> str | None:
        """The commit a branch or pull-request ref names, read from the refs alone (no repository
        open: the hot path of downloads); None when `rev` is not one (a tag, a sha, unknown), for
        `GitRepo.resolve` to decide. Branch refs always name commits (git refuses anything else),
        and refs/heads/<rev> comes first there too, so a hit here is what `resolve` would say."""
        if rev.startswith(("refs/heads/", "refs/pr/")):
            ref = rev
        elif rev.startswith("refs/") or not rev:
            return None
        else:
            ref = f"refs/heads/{rev}"
        try:
            return DiskRefsContainer(str(self.path_for(key)))[ref.encode()].decode()
        except (KeyError, ValueError, OSError):
            return None

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_dir()

    def delete(self, key: str) -> None:
        """Rename out of the way first (atomic), then remove at leisure."""
        path = self.path_for(key)
        if not path.exists():
            return
        trash = self.root / ".trash"
        trash.mkdir(exist_ok=True)
        target = trash / f"{key}-{uuid.uuid4().hex}"
        os.replace(path, target)
        shutil.rmtree(target, ignore_errors=True)


def _owned_by_repo_lock(repo: Path, lock: Path) -> bool:
    """Whether `lock` guards a file that is only ever written under the repository lock."""
    try:
        rel = Path(os.path.abspath(lock)).relative_to(os.path.abspath(repo)).as_posix()
    except ValueError:
        return False
    if rel in TOP_LEVEL_LOCKS:
        return True
    return rel.startswith("refs/") and not rel.startswith(INCOMING_REFS + "/")


def _remove_locks(repo: Path, everything: bool, refs: bool = True) -> int:
    """Remove lock files of a repository whose lock is held: those guarding files written only under
    it (`refs`: those under refs/ too, a walk); with `everything` (no pull running either) the
    others too, objects' included."""
    candidates = [repo / name for name in TOP_LEVEL_LOCKS]
    folders = ("refs", "objects") if everything else ("refs",) if refs else ()
    for folder in folders:
        for dirpath, _dirs, filenames in os.walk(repo / folder):
            candidates.extend(Path(dirpath) / f for f in filenames if f.endswith(".lock"))
    removed = 0
    for lock in candidates:
        if (everything or _owned_by_repo_lock(repo, lock)) and lock.is_file():
            log.warning("removing %s, left by a writer that died", lock)
            lock.unlink(missing_ok=True)
            removed += 1
    return removed
