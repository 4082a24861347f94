"""Listing pages (models_registry/listing.py): walking every sort in both directions by cursor gives
the same repositories, once each and in the same order, as one page holding them all, ties
included; a rare filter that drives the query gives what the walked plan gives; cursors are checked.
On the embedded SQLite database, and on PostgreSQL when MODELHUB_TEST_DATABASE_URL is set."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from models_registry.errors import BadRequest
from models_registry.listing import Driver, RepoFilter, choose_driver, cursor_after, list_query
from models_registry.permissions import Principal
from models_registry.records import RepoView
from models_registry.registry import Registry
from models_registry.tables import Repository

SORTS = [None, "id", "downloads", "likes", "trendingScore", "lastModified", "createdAt"]


@pytest.fixture
def reg(registry_on_each_database) -> Registry:
    return registry_on_each_database


@pytest.fixture
def repos(reg) -> list[RepoView]:
    """17 repositories of two owners, one private, with many ties in every sort column."""
    reg.accounts.create_user("lister", "pw-lister-12345")
    reg.accounts.create_user("other", "pw-other-12345")
    owner = reg.accounts.authenticate_token(reg.accounts.create_token("lister", role="write"))
    other = reg.accounts.authenticate_token(reg.accounts.create_token("other", role="write"))
    base = dt.datetime(2026, 1, 1)
    made = []
    for i in range(17):
        who, ns = (other, "other") if i % 4 == 0 else (owner, "lister")
        repo = reg.repos.create(who, "model", ns, f"m-{i % 5}-{i:02d}", private=(i == 6))
        with reg.db.session(write=True) as s:
            s.execute(update(Repository).where(Repository.id == repo.id).values(
                downloads=i % 3 * 10, likes=i % 2, trending_score=(i % 4) / 3,
                last_modified=base + dt.timedelta(hours=i % 5), created_at=base + dt.timedelta(days=i % 2),
                pipeline_tag="text-generation" if i % 3 else "fill-mask", tags=[]))
        made.append(repo)
    return made


def walk(reg, sort, ascending, principal=None, f=RepoFilter(), page=3, driver=None) -> list[int]:
    seen, cursor = [], None
    while True:
        with reg.db.session() as s:
            rows = [RepoView.of(r) for r in s.scalars(list_query(
                "model", principal, f, sort=sort, ascending=ascending, cursor=cursor, limit=page, driver=driver))]
        seen += [r.id for r in rows]
        if len(rows) < page:
            return seen
        cursor = cursor_after(rows[-1], sort, ascending)


def expected(views: list[RepoView], sort, ascending) -> list[int]:
    if not sort:
        return [v.id for v in sorted(views, key=lambda v: (v.namespace, v.name, v.id))]
    attr = {"id": "namespace", "downloads": "downloads", "likes": "likes", "trendingScore": "trending_score",
            "lastModified": "last_modified", "createdAt": "created_at"}[sort]
    if attr == "namespace":
        key = lambda v: (v.namespace, v.name, v.id)  # noqa: E731
    else:
        key = lambda v: (getattr(v, attr), v.id)  # noqa: E731
    return [v.id for v in sorted(views, key=key, reverse=not ascending)]


@pytest.mark.parametrize("ascending", [False, True])
@pytest.mark.parametrize("sort", SORTS)
def test_cursor_pages_are_the_whole_listing_once_in_order(reg, repos, sort, ascending):
    everyone = reg.repos.list("model", None, sort=sort, ascending=ascending, limit=1000)
    visible = [r for r in reg.repos.by_ids([r.id for r in repos], None)]
    assert [r.id for r in everyone] == expected(visible, sort, ascending)
    assert walk(reg, sort, ascending) == [r.id for r in everyone]
    assert len(everyone) == 16  # the private one is not listed for anonymous callers
    admin = Principal(user_id=0, name="admin", is_admin=True)
    assert len(walk(reg, sort, ascending, admin, page=4)) == 17


@pytest.mark.parametrize("sort", ["downloads", "lastModified", None])
def test_a_driving_filter_finds_what_the_walked_plan_finds(reg, repos, sort):
    for f, driver in ((RepoFilter(pipeline_tag="fill-mask"), Driver("task", "fill-mask")),
                      (RepoFilter(author="other"), Driver("author", "other")),
                      (RepoFilter(author="other", pipeline_tag="fill-mask"), Driver("author", "other"))):
        walked = walk(reg, sort, False, f=f, page=2)
        assert walked and walk(reg, sort, False, f=f, page=2, driver=driver) == walked
        with reg.db.session() as s:
            chosen = choose_driver(s, f)
        assert chosen is not None  # a handful of rows: rare enough to start from
        assert reg.repos.list("model", None, pipeline_tag=f.pipeline_tag, author=f.author, sort=sort) \
            == reg.repos.list("model", None, pipeline_tag=f.pipeline_tag, author=f.author, sort=sort, limit=1000)


def test_a_tag_nobody_has_lists_nothing_and_drives(reg, repos):
    with reg.db.session() as s:
        assert choose_driver(s, RepoFilter(tags=["no-such-tag"])) == Driver("tag", "no-such-tag")
    assert reg.repos.list("model", None, tags=["no-such-tag"], sort="downloads") == []


def test_cursors_are_checked(reg, repos):
    first = reg.repos.list("model", None, sort="downloads", limit=2)
    cursor = cursor_after(first[-1], "downloads", False)
    for sort, ascending in (("likes", False), ("downloads", True), (None, False)):
        with pytest.raises(BadRequest, match="another sort order"):
            reg.repos.list("model", None, sort=sort, ascending=ascending, cursor=cursor)
    for junk in ("%%%", "bm90IGpzb24", "WyJkb3dubG9hZHMiLGZhbHNlLCJ4IiwxXQ"):  # not base64 / not JSON / a str count
        with pytest.raises(BadRequest, match="Invalid cursor"):
            reg.repos.list("model", None, sort="downloads", cursor=junk)
    with pytest.raises(BadRequest, match="Unknown sort key"):
        reg.repos.list("model", None, sort="stars")


def plan(reg, statement, **params) -> str:
    compiled = statement.compile(reg.db.engine)
    values = compiled.construct_params(params)
    with reg.db.engine.connect() as c:
        rows = c.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled),
                                 tuple(values[k] for k in compiled.positiontup))
        return " | ".join(row[-1] for row in rows)


def test_sqlite_plans_read_an_index_not_every_row(reg, repos):
    """What keeps a million rows fast on the embedded database (bench/scale.py measures it): each
    sort walks its own index (no sorting step) and seeks a cursor in it; a rare filter starts from
    its own rows; a lookup by another spelling of the id reads the lower-case index."""
    if reg.db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plans (PostgreSQL chooses from its statistics)")
    first = reg.repos.list("model", None, limit=1)[0]
    for sort, index in (("downloads", "ix_repositories_type_downloads"), ("likes", "ix_repositories_type_likes"),
                        ("trendingScore", "ix_repositories_type_trending"),
                        ("lastModified", "ix_repositories_type_modified"), ("createdAt", "ix_repositories_type_created")):
        for ascending in (False, True):
            p = plan(reg, list_query("model", None, RepoFilter(), sort=sort, ascending=ascending, limit=20,
                                     cursor=cursor_after(first, sort, ascending)))
            assert index in p and "TEMP B-TREE" not in p, (sort, p)
    p = plan(reg, list_query("model", None, RepoFilter(tags=["rare"]), sort="downloads", limit=20,
                             driver=Driver("tag", "rare")))
    assert p.startswith("SEARCH repositories USING INTEGER PRIMARY KEY") and "ix_repo_tags_tag_repo" in p, p
    p = plan(reg, list_query("model", None, RepoFilter(pipeline_tag="x"), sort="likes", limit=20,
                             driver=Driver("task", "x")))
    assert "ix_repositories_pipeline_tag" in p and "ix_repositories_type_likes" not in p, p
    from models_registry.repos import _BY_NAME_ANY_CASE

    p = plan(reg, _BY_NAME_ANY_CASE, repo_type="model", ns="lister", name="m-1-01")
    assert "ix_repositories_type_lower_id" in p, p
    assert reg.repos.get("model", "LISTER/M-1-01", None).repo_id == "lister/m-1-01"
