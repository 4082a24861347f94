"""The on-disk index: one writer at a time, many readers, rebuilds that never interrupt search.

Layout under the search folder:
    current -> gen-<n>/      symlink to the live generation (replaced atomically by a rebuild)
    gen-<n>/                 whoosh storage holding the "repos" and "discussions" indexes
    writer.lock              the writer lock's file when the caller's locks are files (models_registry.locks)

One writer at a time (the drain loop, or a rebuild): the caller hands in its locks (`Locks`), the
hub's one lock module, so this package keeps importing nothing of the project. A reader keeps using
the generation it opened until it notices `current` moved; a crashed writer loses nothing that was
committed (whoosh commits by writing a new table of contents last) and its lock dies with it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from whoosh import index as windex
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import IndexWriter

from . import postings_table
from . import whoosh_fixes  # noqa: F401  (applied on import)
from .documents import PUBLIC, DiscussionDoc, RepoDoc
from .schema import MAX_CARD_CHARS, SCHEMA_VERSION, discussion_schema, repo_schema

REPOS, DISCUSSIONS = "repos", "discussions"
OPEN_RETRIES = 10


def _epoch(ts: dt.datetime | None) -> int:
    """Milliseconds: "recently updated" must order changes made within the same second."""
    if ts is None:
        return 0
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.timezone.utc)
    return int(ts.timestamp() * 1000)


def repo_fields(d: RepoDoc) -> dict:
    return {
        "key": str(d.pk), "pk": d.pk, "repo_type": d.repo_type, "repo_id": d.repo_id,
        "name": d.repo_id.replace("/", " "), "name_prefix": d.repo_id.replace("/", " "),
        "author": d.namespace, "card": d.card_text[:MAX_CARD_CHARS], "card_pairs": d.card_text[:MAX_CARD_CHARS],
        "tags": ",".join(t.replace(",", " ") for t in d.tags),
        "license": ",".join(d.licenses), "task": d.task or "", "library": d.library or "",
        "language": ",".join(d.languages), "region": ",".join(d.regions), "industry": ",".join(d.industries),
        "downloads": int(d.downloads), "likes": int(d.likes), "trending": int(d.trending * 1000),
        "last_modified": _epoch(d.last_modified), "created_at": _epoch(d.created_at),
        "visible_to": d.namespace if d.private else PUBLIC,
        "gated": d.gated,
    }


def discussion_fields(d: DiscussionDoc) -> dict:
    return {
        "key": str(d.pk), "pk": d.pk, "repo_pk": str(d.repo_pk), "repo_id": d.repo_id, "num": d.num, "title": d.title,
        "text": d.text[:MAX_CARD_CHARS], "author": d.author, "status": d.status, "is_pr": d.is_pull_request,
        "created_at": _epoch(d.created_at), "visible_to": d.namespace if d.private else PUBLIC,
    }


class Locks(Protocol):
    """Named exclusive locks that die with their holder (models_registry.locks.LockDir is one)."""

    def hold(self, name: str) -> AbstractContextManager[None]: ...

    def try_hold(self, name: str) -> AbstractContextManager[bool]: ...


class SearchIndex:
    def __init__(self, root: Path, locks: Locks) -> None:
        self.root = Path(root)
        self.locks = locks
        self.root.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._ensure_current()

    # ---- generations ------------------------------------------------------------------------
    @property
    def current_link(self) -> Path:
        return self.root / "current"

    def _ensure_current(self) -> None:
        if self.current_link.exists():
            return
        with self.writer_lock():
            if self.current_link.exists():
                return
            gen = self._new_generation()
            self._point_current_to(gen)

    def _new_generation(self) -> Path:
        n = 1 + max([int(p.name[4:]) for p in self.root.glob("gen-*") if p.name[4:].isdigit()], default=0)
        gen = self.root / f"gen-{n}"
        gen.mkdir()
        storage = FileStorage(str(gen))
        storage.create_index(repo_schema(), indexname=REPOS)
        storage.create_index(discussion_schema(), indexname=DISCUSSIONS)
        (gen / "schema-version").write_text(str(SCHEMA_VERSION))
        return gen

    def _point_current_to(self, gen: Path) -> None:
        tmp = self.root / f".current-{os.getpid()}-{threading.get_ident()}"
        if tmp.is_symlink():
            tmp.unlink()
        os.symlink(gen.name, tmp)
        os.replace(tmp, self.current_link)

    def generation(self) -> Path:
        return self.root / os.readlink(self.current_link)

    def is_current_schema(self) -> bool:
        """False when the live generation was built by an older schema (then rebuild)."""
        try:
            return int((self.generation() / "schema-version").read_text()) == SCHEMA_VERSION
        except (OSError, ValueError):
            return False

    # ---- writing ----------------------------------------------------------------------------
    @contextmanager
    def writer_lock(self, blocking: bool = True) -> Iterator[bool]:
        """The single-writer lock; with blocking=False, yields False if someone else holds it."""
        if not blocking:
            with self.locks.try_hold("writer") as mine:
                yield mine
            return
        with self.locks.hold("writer"):
            yield True

    def _open(self, gen: Path, name: str):
        # whoosh reads the newest table of contents when it opens an index; a commit in another
        # process may delete that file just then (it keeps only the newest). whoosh retries that
        # race when it opens a reader but not here, so a search could fail with a 500 while
        # another worker committed. Retried the same way: a few times, a moment apart.
        for _ in range(OPEN_RETRIES - 1):
            try:
                return windex.open_dir(str(gen), indexname=name)
            except OSError:
                if not gen.exists():
                    raise
                time.sleep(0.02)
        return windex.open_dir(str(gen), indexname=name)

    def apply(self, repos: Iterable[RepoDoc] = (), deleted_repos: Iterable[int] = (),
              discussions: Iterable[DiscussionDoc] = (), deleted_discussions: Iterable[int] = (),
              deleted_discussions_of_repos: Iterable[int] = ()) -> None:
        """Write a batch of changes. The caller holds writer_lock()."""
        gen = self.generation()
        repos, deleted_repos = list(repos), list(deleted_repos)
        if repos or deleted_repos:
            self._write(self._open(gen, REPOS), lambda w: self._apply_repos(w, repos, deleted_repos))
        discussions, deleted_discussions = list(discussions), list(deleted_discussions)
        gone_repos = list(deleted_discussions_of_repos)
        if discussions or deleted_discussions or gone_repos:
            def fn(w: IndexWriter) -> None:
                for pk in deleted_discussions:
                    w.delete_by_term("key", str(pk))
                for pk in gone_repos:
                    w.delete_by_term("repo_pk", str(pk))
                for d in discussions:
                    w.update_document(**discussion_fields(d))
            self._write(self._open(gen, DISCUSSIONS), fn)

    @staticmethod
    def _apply_repos(w: IndexWriter, repos: list[RepoDoc], deleted: list[int]) -> None:
        for pk in deleted:
            w.delete_by_term("key", str(pk))
        for d in repos:
            w.update_document(**repo_fields(d))

    @staticmethod
    def _write(ix, fn: Callable[[IndexWriter], None]) -> None:
        w = ix.writer(timeout=30)
        try:
            fn(w)
        except BaseException:
            w.cancel()
            raise
        w.commit()
        ix.close()
        # A merge may have made a big segment: decode its postings once, here (see postings_table).
        postings_table.write_missing(Path(ix.storage.folder), ix.indexname)

    def rebuild(self, repos: Iterable[RepoDoc], discussions: Iterable[DiscussionDoc],
                progress: Callable[[int], None] | None = None,
                phase: Callable[[str], None] | None = None, procs: int = 1) -> Path:
        """Index everything into a new generation, then swap it in; search keeps serving the old one.

        `progress(n)` counts documents added; `phase(text)` announces the steps after them, which
        take minutes at 100,000 repositories and count nothing (whoosh's merge, the postings tables).
        The caller holds writer_lock() throughout, so incremental updates wait (queued, not lost)
        and are applied to the new generation once it is live.

        procs > 1: whoosh's multi-process writer; each process analyses (jieba, stemming) and writes
        a segment of its own, kept as it is (no merge into one: the merge alone took minutes at
        100,000, single-threaded). It forks: call it from a process without other threads."""
        gen = self._new_generation()
        try:
            for name, docs, to_fields in ((REPOS, repos, repo_fields), (DISCUSSIONS, discussions, discussion_fields)):
                ix = self._open(gen, name)
                parallel = procs > 1 and name == REPOS
                w = ix.writer(limitmb=256, procs=procs, multisegment=True, batchsize=200) if parallel \
                    else ix.writer(limitmb=256, procs=1)
                try:
                    for d in docs:
                        w.add_document(**to_fields(d))
                        if progress:
                            progress(1)
                except BaseException:
                    w.cancel()
                    raise
                if phase:
                    phase(f"{name}: writing the index" + (f" ({procs} processes finishing their segments)"
                                                          if parallel else " (merging its segments into one)"))
                w.commit(optimize=not parallel)
                ix.close()
                if phase:
                    phase(f"{name}: decoding posting lists (search_index/postings_table.py)")
                postings_table.write_missing(gen, name)
        except BaseException:
            shutil.rmtree(gen, ignore_errors=True)
            raise
        old = self.generation()
        self._point_current_to(gen)
        # Keep the generation just replaced: a reader that opened it a moment ago may still open
        # its segment files. Anything older has had a whole rebuild's time to move on.
        for stale in self.root.glob("gen-*"):
            if stale not in (gen, old):
                shutil.rmtree(stale, ignore_errors=True)
        return gen

    # ---- reading ----------------------------------------------------------------------------
    def searcher(self, name: str = REPOS):
        """A per-thread searcher, refreshed when the index changed or a rebuild swapped generations."""
        cache = self._local.__dict__.setdefault("searchers", {})
        gen = self.generation()
        entry = cache.get(name)
        if entry is not None and entry[0] == gen and entry[1].up_to_date():
            return entry[1]
        # Reopen rather than Searcher.refresh(): refresh reuses segment readers and so misses
        # deletions recorded later in a segment it already had open (stale duplicate hits).
        if entry is not None:
            entry[1].close()
        s = self._open(gen, name).searcher()
        cache[name] = (gen, s)
        return s

    def bitmaps(self, searcher, name: str = REPOS):
        """The bitmap view (search_index.bitmaps) of `searcher`, one this thread got from searcher().

        One per thread and searcher (so rebuilt when searcher() reopens after a commit or a
        generation swap); its segment caches are keyed by root, generation and segment, and shared."""
        from .bitmaps import SearcherBitmaps

        views = self._local.__dict__.setdefault("bitmaps", {})
        got = views.get(name)
        if got is None or got[0] is not searcher:
            gen = self._local.searchers[name][0]
            got = (searcher, SearcherBitmaps(searcher, f"{self.root}:{gen.name}:{name}", gen))
            views[name] = got
        return got[1]

    def doc_count(self, name: str = REPOS) -> int:
        return self.searcher(name).doc_count()

    # ---- the search interface (search_index.query), as postgres.PostgresIndex has it too ------
    def search(self, req):
        """query.search on this index."""
        from .query import search

        return search(self, req)

    def quick(self, prefix: str, viewer: list[str] | None, limit: int = 10) -> list[str]:
        """query.quick on this index."""
        from .query import quick

        return quick(self, prefix, viewer, limit)

    def discussions(self, repo_pk: int, text: str, viewer: list[str] | None, limit: int = 20) -> list[dict]:
        """query.search_discussions on this index."""
        from .query import search_discussions

        return search_discussions(self, repo_pk, text, viewer, limit)
