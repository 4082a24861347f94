"""Feeding and querying the search index from the registry.

Every worker process runs one background thread that tries, without waiting, to take the index's
writer lock; whoever holds it applies the search log (models_registry.search_feed) to the index from
where this node's cursor stands, then lets go. So exactly one process of a node writes its index at a
time, any worker can take over if another dies, and a change is searchable a few hundred
milliseconds after its transaction commits, on every node.

Each node's index is one reader of the log, named by a random id kept in its folder (`node-id`,
made at first start). A folder without one (a new node) is a new reader, which rebuilds its index
once; so does a node the others forgot after a long absence. Copying a search folder to make another
node would make two readers of one name: delete the copy's `node-id`.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from community.service import Community
from models_registry import cards
from models_registry.locks import LockDir, PgLocks
from models_registry.registry import Registry
from models_registry.search_feed import Cursor, Pending, SearchFeed
from models_registry.records import RepoView
from models_registry.rendering import card_plain_text
from search_index import DiscussionDoc, RepoDoc, SearchIndex
from search_index.postgres import PostgresIndex
from search_index.query import SearchRequest, SearchResult

log = logging.getLogger(__name__)
POLL_SECONDS = 0.2
BATCH = 500
REBUILD_BATCH = 500  # repositories read per query by a rebuild
# How long one holder of the writer lock keeps draining: under a steady stream of changes the queue
# never empties, and a drain that waited for it to would keep the lock from a rebuild forever.
DRAIN_SLICE_SECONDS = 2.0
# How long a search waits for changes logged before it to reach the index (catch_up).
CATCH_UP_SECONDS = 2.0
CATCH_UP_MAX_BACKLOG = 200  # changes; more is a bulk job, which the writer thread applies
NODE_ID_FILE = "node-id"
# The cursor of the postgres backend's index in the search log: one index for the whole cluster, so
# one reader of the log, whichever node's worker holds its writer lock.
POSTGRES_CURSOR = "postgres"


def node_id_of(root: Path) -> str:
    """This index's name in the search log, made at its first start. It lives in the index's own
    folder because the cursor describes this index: a fresh folder is a new node, which rebuilds."""
    path = root / NODE_ID_FILE
    if not path.exists():
        tmp = root / f".{NODE_ID_FILE}-{os.getpid()}-{threading.get_ident()}"
        tmp.write_text(f"{socket.gethostname()[:40]}-{secrets.token_hex(8)}\n")
        try:
            os.link(tmp, path)  # atomic, and never replaces the one another worker made first
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


class SearchService:
    def __init__(self, registry: Registry, root: Path, community: Community | None = None,
                 backend: str = "whoosh") -> None:
        """backend: "whoosh", this node's index in `root` following the log with a cursor of its
        own; or "postgres", the index in the database (search_index/postgres.py), shared by every
        node, one writer at a time (an advisory lock) following the one POSTGRES_CURSOR."""
        self.registry = registry
        self.index: SearchIndex | PostgresIndex
        if backend == "postgres":
            root.mkdir(parents=True, exist_ok=True)
            self.index = PostgresIndex(registry.db.engine, PgLocks.for_database(registry.db))
            cursor_name = POSTGRES_CURSOR
        else:
            self.index = SearchIndex(root, LockDir(root))
            cursor_name = node_id_of(root)
        self.node_id = node_id_of(root)  # this node's name (its background jobs), whatever the backend
        self.feed = SearchFeed(registry.db, cursor_name)
        self.community = community  # discussions are indexed through it (none: repositories only)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- documents --------------------------------------------------------------------------
    def repo_doc(self, repo: RepoView) -> RepoDoc:
        facets = cards.card_facets(repo.card_data, repo.pipeline_tag)  # values the validator accepted
        return RepoDoc(
            pk=repo.id, repo_type=repo.repo_type, namespace=repo.namespace, name=repo.name, private=repo.private,
            gated=bool(repo.gated),
            card_text=self._card_text(repo), tags=repo.tags,
            licenses=facets.licenses, task=facets.task, library=repo.library_name,
            languages=facets.languages, regions=facets.regions, industries=facets.industries,
            downloads=repo.downloads, likes=repo.likes, trending=repo.trending_score,
            last_modified=repo.last_modified, created_at=repo.created_at,
        )

    @staticmethod
    def discussion_doc(repo: RepoView, d) -> DiscussionDoc:
        text = "\n".join(e.body for e in d.events if e.type == "comment" and e.body and not e.hidden
                         and not e.pending_review)
        return DiscussionDoc(pk=d.id, repo_pk=repo.id, repo_id=repo.repo_id, namespace=repo.namespace,
                             private=repo.private, num=d.num, title=d.title, text=text, author=d.author or "",
                             status=d.status, is_pull_request=d.is_pull_request, created_at=d.created_at)

    def _card_text(self, repo: RepoView) -> str:
        if not repo.head_sha:
            return ""
        try:
            f = self.registry.repos.resolve_file(repo, repo.head_sha, "README.md")
        except Exception:
            return ""
        if f.lfs or f.size > cards.MAX_CARD_BYTES:
            return ""
        # The rendered text, not the Markdown: search snippets quote what readers see (no `**`, `##`
        # or table pipes), and a word in bold is the same word.
        return card_plain_text(self.registry.repos.read_regular(repo, f.blob_sha).decode("utf-8", "replace"))

    # ---- writing ----------------------------------------------------------------------------
    def drain_once(self) -> int:
        """Apply logged changes if no other process is writing; returns how many were applied."""
        with self.index.writer_lock(blocking=False) as mine:
            if not mine:
                return 0
            return self._drain_locked()

    def _drain_locked(self) -> int:
        """Follow this node's cursor; without one (a new index, a node the others forgot, an
        interrupted rebuild) nobody knows what the index misses: rebuild it."""
        cursor = self.feed.cursor()
        if cursor is None:
            log.warning("search index %s has no cursor in the search log: rebuilding it", self.feed.node_id)
            return self._rebuild_locked()
        return self._follow(cursor)

    def _follow(self, cursor: Cursor) -> int:
        """Apply logged changes, batch after batch, until none is left or DRAIN_SLICE_SECONDS have
        passed (the lock is then let go; what is left is applied by the next drain)."""
        done = 0
        deadline = time.monotonic() + DRAIN_SLICE_SECONDS
        while True:
            pending = self.feed.read(cursor, BATCH)
            if pending.ids:
                self._apply(pending)
                done += len(pending.repos) + len(pending.discussions)
            cursor = self.feed.advance(pending)  # after the index commit: a crash re-applies, never skips
            if pending.complete or time.monotonic() >= deadline:  # at least one batch a drain
                break
        self._maintain(cursor)
        return done

    def _apply(self, pending: Pending) -> None:
        docs, gone = [], []
        for pk in pending.repos:
            repo = self.registry.repos.by_id(pk)
            if repo is None:
                gone.append(pk)
            else:
                docs.append(self.repo_doc(repo))
        ddocs, dgone = [], []
        for pk in pending.discussions:
            found = self.community.by_pk(pk) if self.community else None
            if found is None:
                dgone.append(pk)
            else:
                ddocs.append(self.discussion_doc(*found))
        self.index.apply(repos=docs, deleted_repos=gone, discussions=ddocs, deleted_discussions=dgone,
                         deleted_discussions_of_repos=gone)

    def _maintain(self, cursor: Cursor) -> None:
        """Once a minute: say this node is alive and prune the log. A failure (two nodes pruning at
        once on PostgreSQL may deadlock) costs nothing but a later prune: a warning, not a traceback."""
        try:
            self.feed.maintain(cursor)
        except Exception as e:
            log.warning("search log pruning failed (retried later): %s", e)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="search-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        from search_index.analysis import warm_up

        warm_up()
        try:
            self.rebuild(only_if_stale=True)
        except Exception:
            log.exception("search index rebuild failed")
        try:  # fill this worker's per-segment caches (facets, sort orders) before the first user does
            self.index.search(SearchRequest(facets=True, limit=1, viewer=None))
        except Exception:
            log.exception("search index warm-up failed")
        backoff = POLL_SECONDS
        while not self._stop.is_set():
            try:
                self.drain_once()
                backoff = POLL_SECONDS
            except Exception:  # never let the thread die: log, wait a little longer, retry
                log.exception("search index update failed; retrying")
                backoff = min(backoff * 2, 10.0)
            self._stop.wait(backoff)

    def rebuild(self, progress: Callable[[int], None] | None = None, only_if_stale: bool = False,
                phase: Callable[[str], None] | None = None, procs: int = 1) -> int:
        """Re-index every repository into a fresh generation while search serves the old one.

        only_if_stale: just when the live index was built with an older schema, or this node has no
        cursor in the search log (checked under the lock, so of several workers starting together
        only the first rebuilds). procs > 1 analyses and writes in that many processes
        (SearchIndex.rebuild); only from a process with no other threads (the CLI), as it forks."""
        with self.index.writer_lock():
            if only_if_stale and self.index.is_current_schema() and self.feed.cursor() is not None:
                return 0
            return self._rebuild_locked(progress, phase, procs)

    def _rebuild_locked(self, progress: Callable[[int], None] | None = None,
                        phase: Callable[[str], None] | None = None, procs: int = 1) -> int:
        """rebuild(), the caller holding the writer lock; then follows the log from the rebuild's cursor."""
        log.info("rebuilding the search index from the database")
        # The log first: what is in it now is reflected in the rows read after it; anything logged
        # later (or committed later with a lower id: a gap of this cursor) is followed below.
        cursor = self.feed.begin_rebuild()
        ids = self.feed.all_repo_ids()

        def docs() -> Iterator[RepoDoc]:
            for i in range(0, len(ids), REBUILD_BATCH):
                for repo in self.registry.repos.all_by_ids(ids[i:i + REBUILD_BATCH]):
                    yield self.repo_doc(repo)

        def discussion_docs() -> Iterator[DiscussionDoc]:
            for pk in (self.community.all_ids() if self.community else []):
                found = self.community.by_pk(pk) if self.community else None
                if found is not None:
                    yield self.discussion_doc(*found)

        self.index.rebuild(docs(), discussion_docs(), progress, phase, procs=procs)
        self.feed.end_rebuild()
        self._follow(cursor)
        return len(ids)

    # ---- reading ----------------------------------------------------------------------------
    def catch_up(self, timeout: float = CATCH_UP_SECONDS) -> bool:
        """Read-your-writes: apply what was logged before this call (or wait for the worker
        applying it), so that a search sees every change committed before it was asked, such as a
        repository created a moment ago. Costs one indexed query when nothing is pending; gives up
        after `timeout` (a rebuild holds the writer for minutes), or at once behind a bulk change
        (searches would queue behind an import), and says whether it caught up."""
        target = self.feed.newest()
        deadline = time.monotonic() + timeout
        while True:
            cursor = self.feed.cursor()
            if cursor is None:  # rebuilding (or about to): nothing to follow yet
                return False
            if cursor.read_through >= target:
                return True
            if time.monotonic() >= deadline or target - cursor.read_through > CATCH_UP_MAX_BACKLOG:
                return False  # a bulk change (an import, a rebuild's tail) is not waited for
            if not self.drain_once():  # another worker of this node holds the writer: let it finish
                time.sleep(0.01)

    def search(self, req: SearchRequest) -> SearchResult:
        self.catch_up()
        return self.index.search(req)

    def quick(self, prefix: str, viewer: list[str] | None, limit: int = 10) -> list[str]:
        return self.index.quick(prefix, viewer, limit)

    def discussions(self, repo_pk: int, text: str, viewer: list[str] | None) -> list[dict]:
        return self.index.discussions(repo_pk, text, viewer)


def viewer_namespaces(principal) -> list[str] | None:
    """Namespaces whose private repositories `principal` may see (None: all, for site admins)."""
    if principal is None:
        return []
    if principal.is_admin:
        return None
    return [principal.name, *principal.org_roles]
