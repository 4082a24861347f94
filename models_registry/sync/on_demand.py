"""On-demand mirroring: a missing repository whose id is allowed is mirrored on its first request.

Rules (the HTTP side, which requests wait and which stream, is hub/api/on_demand.py):
- Only ids matched by one of the configured fnmatch patterns (`allowed`, case-sensitive) are ever
  fetched; the upstream and its token come from the server's configuration, never the database.
- A repository that exists locally always wins; one that is waiting for its first sync is not
  ready yet (`is_ready`).
- At most one pull per repository at a time: once per process (an in-flight set), and once across
  processes (the same per-mirror lock as a followed mirror's sync). The pull is recorded as a mirror
  of origin "on-demand" (read-only, no schedule) keeping the upstream's id.
- A failure is remembered for RETRY_FAILED_AFTER seconds: asked again within that time, the
  upstream is not asked again; a repository the upstream does not have (or refuses) is a
  RepoNotFound, anything else a MirrorBusy (503, retry later).
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import time

from sqlalchemy import select

from ..errors import RegistryError, RepoNotFound
from ..tables import Repository, utcnow
from .followed import FollowedMirrors, row_named
from .mirror_records import MirrorView, lock_name

log = logging.getLogger(__name__)

RETRY_FAILED_AFTER = 30  # seconds an on-demand failure is remembered before the upstream is asked again


def allowed(repo_id: str, patterns: list[str]) -> bool:
    """On-demand mirroring: is `repo_id` (ns/name) matched by one of the fnmatch patterns?"""
    return any(fnmatch.fnmatchcase(repo_id, p) for p in patterns if p)


class MirrorBusy(RegistryError):
    """The repository is being mirrored (or the upstream failed just now): retry later."""

    status = 503


class OnDemand:
    def __init__(self, followed: FollowedMirrors) -> None:
        self.followed = followed
        self.db = followed.db
        self._inflight: set[str] = set()
        self._inflight_lock = threading.Lock()

    def is_ready(self, repo_type: str, repo_id: str) -> bool:
        """Served locally: the repository exists and is not waiting for its first sync."""
        if repo_id.count("/") != 1:
            return True  # not a repository id: the normal path answers
        ns, name = repo_id.split("/")
        with self.db.session() as s:
            repo_pk = s.scalar(select(Repository.id).where(Repository.repo_type == repo_type,
                                                           Repository.namespace == ns, Repository.name == name))
            if repo_pk is None:
                return False
            m = row_named(s, repo_type, repo_id)
            return m is None or m.last_synced_commit is not None

    def fetch_on_demand(self, repo_type: str, repo_id: str, upstream_url: str, token: str | None,
                        wait: float) -> None:
        """Make `repo_id` local, mirroring it from the upstream (at most one pull at a time per
        repository across all workers). Returns once it is ready; raises RepoNotFound if the
        upstream has no such repository (or refuses it), MirrorBusy if it is not ready in `wait`."""
        asked = utcnow()
        recent = self.followed.get(repo_type, repo_id)
        if recent is not None and recent.last_status == "failed" and recent.last_finished_at and \
                (asked - recent.last_finished_at).total_seconds() < RETRY_FAILED_AFTER:
            self._raise_failure(recent, repo_id)  # asked again at once: the upstream is not asked again yet
        self.start_on_demand(repo_type, repo_id, upstream_url, token)
        deadline = time.monotonic() + wait
        while True:
            if self.is_ready(repo_type, repo_id):
                return
            m = self.followed.get(repo_type, repo_id)
            if m is not None and m.last_status == "failed" and m.last_finished_at and m.last_finished_at >= asked:
                self._raise_failure(m, repo_id)
            if time.monotonic() >= deadline:
                raise MirrorBusy(f"{repo_id} is being mirrored from {upstream_url}; try again in a moment",
                                 retry_after=5)
            time.sleep(0.2)

    @staticmethod
    def _raise_failure(m: MirrorView, repo_id: str) -> None:
        err = (m.last_error or "").lower()
        if "not found" in err or "no access" in err or "401" in err or "404" in err:
            raise RepoNotFound()
        raise MirrorBusy(f"Mirroring {repo_id} from the upstream failed; try again later",
                         retry_after=RETRY_FAILED_AFTER)

    def start_on_demand(self, repo_type: str, repo_id: str, upstream_url: str, token: str | None) -> None:
        """Start the on-demand pull in a background thread of this process (once per process; the
        lock makes it once across processes)."""
        key = lock_name(repo_type, repo_id)
        with self._inflight_lock:
            if key in self._inflight:
                return
            self._inflight.add(key)
        threading.Thread(target=self._pull_on_demand, args=(repo_type, repo_id, upstream_url, token, key),
                         name=f"mirror-{repo_id}", daemon=True).start()

    def _pull_on_demand(self, repo_type: str, repo_id: str, upstream_url: str, token: str | None, key: str) -> None:
        try:
            if self.is_ready(repo_type, repo_id):
                return
            m = self.followed.get(repo_type, repo_id) or self.followed.add(upstream_url, repo_id, repo_id,
                                                                            repo_type=repo_type, origin="on-demand")
            o = self.followed.sync(m, trigger="on-demand", token=token)
            if o.status == "ok":
                log.info("mirrored %s on demand from %s", repo_id, upstream_url)
        except Exception:
            log.exception("on-demand mirroring of %s failed", repo_id)
        finally:
            with self._inflight_lock:
                self._inflight.discard(key)
