"""Likes and downloads.

Downloads are counted the way the Hub counts them: one per model fetch, not per file. A fetch is
a GET of `config.json` when the revision has one (every library loads it exactly once); otherwise
a GET of a weights file (a GGUF repository's files are separate models). Counts are kept per UTC
day, so "last 30 days" and "all time" are exact sums; the repository row keeps both totals and a
trending score for sorting without aggregation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from .db import Database
from .dbutil import insert_ignore, upsert_increment
from .errors import NotFound
from .tables import DownloadDay, Like, Repository, User, utcnow
from .permissions import Principal
from .records import RepoView

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".ggml", ".pt", ".pth", ".ckpt", ".onnx", ".h5", ".keras",
                   ".msgpack", ".pkl", ".joblib", ".npz", ".tflite", ".mlmodel", ".nemo", ".model", ".llamafile")
TRENDING_DAYS = 7
LIKE_WEIGHT = 5.0


def counts_as_download(path: str, has_config: bool) -> bool:
    if path == "config.json":
        return True
    return not has_config and path.lower().endswith(WEIGHT_SUFFIXES)


@dataclass(frozen=True)
class Liker:
    user: str
    fullname: str


class Engagement:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- downloads --------------------------------------------------------------------------
    def record_download(self, repo: RepoView, when: dt.datetime | None = None) -> None:
        """One more download today. Cheap on purpose (it runs for every model fetch): the day row is
        exact; the repository's sort columns are bumped and re-summed exactly by refresh_all()."""
        day = (when or utcnow()).date()
        with self.db.session(write=True) as s:
            upsert_increment(s, DownloadDay, {"repo_id": repo.id, "day": day}, "count")
            row = s.get(Repository, repo.id)
            if row is None:
                return
            row.downloads_all_time = (row.downloads_all_time or 0) + 1
            row.downloads = (row.downloads or 0) + 1
            row.trending_score = (row.trending_score or 0.0) + 1.0

    def exact_counts(self, repo: RepoView) -> tuple[int, int]:
        """(downloads in the last 30 days, all time), summed from the day rows."""
        today = utcnow().date()
        with self.db.session() as s:
            last30 = s.scalar(select(func.coalesce(func.sum(DownloadDay.count), 0)).where(
                DownloadDay.repo_id == repo.id, DownloadDay.day > today - dt.timedelta(days=30))) or 0
            total = s.scalar(select(func.coalesce(func.sum(DownloadDay.count), 0)).where(
                DownloadDay.repo_id == repo.id)) or 0
        return int(last30), int(total)

    def _refresh_counters(self, s, row: Repository, today: dt.date) -> None:
        def since(days: int) -> int:
            return int(s.scalar(select(func.coalesce(func.sum(DownloadDay.count), 0)).where(
                DownloadDay.repo_id == row.id, DownloadDay.day > today - dt.timedelta(days=days))) or 0)

        row.downloads = since(30)
        recent_likes = s.scalar(select(func.count()).select_from(Like).where(
            Like.repo_id == row.id,
            Like.created_at > dt.datetime.combine(today - dt.timedelta(days=TRENDING_DAYS), dt.time()))) or 0
        row.trending_score = float(since(TRENDING_DAYS)) + LIKE_WEIGHT * recent_likes

    def refresh_all(self) -> int:
        """Recompute 30-day and trending counters of every repository (a daily job: old days age out)."""
        today = utcnow().date()
        n = 0
        with self.db.session(write=True) as s:
            for row in s.scalars(select(Repository)):
                self._refresh_counters(s, row, today)
                n += 1
        return n

    def downloads_by_day(self, repo: RepoView, days: int = 30) -> dict[dt.date, int]:
        start = utcnow().date() - dt.timedelta(days=days - 1)
        with self.db.session() as s:
            rows = s.execute(select(DownloadDay.day, DownloadDay.count).where(
                DownloadDay.repo_id == repo.id, DownloadDay.day >= start)).all()
        return {d: c for d, c in rows}

    # ---- likes ------------------------------------------------------------------------------
    def like(self, principal: Principal, repo: RepoView) -> None:
        with self.db.session(write=True) as s:
            before = s.get(Like, (principal.user_id, repo.id)) is not None
            if before:
                return
            insert_ignore(s, Like, [{"user_id": principal.user_id, "repo_id": repo.id, "created_at": utcnow()}])
            self._recount_likes(s, repo.id)

    def unlike(self, principal: Principal, repo: RepoView) -> None:
        with self.db.session(write=True) as s:
            like = s.get(Like, (principal.user_id, repo.id))
            if like is not None:
                s.delete(like)
                s.flush()
                self._recount_likes(s, repo.id)

    def _recount_likes(self, s, repo_pk: int) -> None:
        row = s.get(Repository, repo_pk)
        row.likes = s.scalar(select(func.count()).select_from(Like).where(Like.repo_id == repo_pk)) or 0
        self._refresh_counters(s, row, utcnow().date())

    def has_liked(self, principal: Principal | None, repo: RepoView) -> bool:
        if principal is None:
            return False
        with self.db.session() as s:
            return s.get(Like, (principal.user_id, repo.id)) is not None

    def likers(self, repo: RepoView, offset: int, limit: int) -> list[Liker]:
        with self.db.session() as s:
            rows = s.execute(select(User.name, User.fullname).join(Like, Like.user_id == User.id)
                             .where(Like.repo_id == repo.id).order_by(Like.created_at.desc(), User.id)
                             .offset(offset).limit(limit)).all()
        return [Liker(n, f or n) for n, f in rows]

    def liked_by(self, user: str, offset: int, limit: int) -> list[tuple[dt.datetime, int]]:
        """(liked at, repository pk) for a user's likes, newest first; the caller filters visibility."""
        with self.db.session() as s:
            u = s.scalar(select(User.id).where(User.name == user))
            if u is None:
                raise NotFound(f"No user named {user!r}")
            return [(c, r) for c, r in s.execute(select(Like.created_at, Like.repo_id).where(Like.user_id == u)
                                                 .order_by(Like.created_at.desc()).offset(offset).limit(limit))]
