"""The PostgreSQL search backend's index (MODELHUB_SEARCH=postgres, issue #20): one index held by the
database and shared by every node, instead of a whoosh folder per node (search_index/postgres.py).

Tokens are made by search_index.analysis (jieba for Chinese, English stems), not by PostgreSQL: each
row's `doc` is a tsvector built from them (weights A: name words, B: their letter/digit parts,
C: tags, D: card words with their positions), so a GIN index answers word, prefix (`:*`) and
phrase (`<->`) queries without PostgreSQL re-stemming anything. `search_name_words` is the
vocabulary of name words, with a pg_trgm index, for typo tolerance and "did you mean".

On SQLite this migration does nothing: the backend needs PostgreSQL (hub/config.py refuses it
otherwise), and the tables would only sit there empty.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 16:00:00.000000
"""
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

# The index definitions are read back by a rebuild (search_index/postgres.py), which loads a fresh
# table and builds the same indexes on it before swapping it in: this file stays their one source.
UPGRADE = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE search_repos (
    pk bigint PRIMARY KEY,
    repo_type text NOT NULL,
    repo_id text NOT NULL,
    author text NOT NULL,
    card text NOT NULL DEFAULT '',
    doc tsvector NOT NULL,
    tags text[] NOT NULL DEFAULT '{}',
    licenses text[] NOT NULL DEFAULT '{}',
    task text NOT NULL DEFAULT '',
    library text NOT NULL DEFAULT '',
    languages text[] NOT NULL DEFAULT '{}',
    regions text[] NOT NULL DEFAULT '{}',
    industries text[] NOT NULL DEFAULT '{}',
    labels text[] NOT NULL DEFAULT '{}',
    downloads bigint NOT NULL DEFAULT 0,
    likes bigint NOT NULL DEFAULT 0,
    trending double precision NOT NULL DEFAULT 0,
    last_modified bigint NOT NULL DEFAULT 0,
    created_at bigint NOT NULL DEFAULT 0,
    visible_to text NOT NULL,
    gated boolean NOT NULL DEFAULT false
);
CREATE INDEX ix_search_repos_doc ON search_repos USING gin (doc);
CREATE INDEX ix_search_repos_labels ON search_repos USING gin (labels);
CREATE INDEX ix_search_repos_tags ON search_repos USING gin (tags);
CREATE INDEX ix_search_repos_licenses ON search_repos USING gin (licenses);
CREATE INDEX ix_search_repos_languages ON search_repos USING gin (languages);
CREATE INDEX ix_search_repos_author ON search_repos (author);
CREATE INDEX ix_search_repos_task ON search_repos (task);
CREATE INDEX ix_search_repos_library ON search_repos (library);
CREATE INDEX ix_search_repos_downloads ON search_repos (downloads, pk);
CREATE INDEX ix_search_repos_likes ON search_repos (likes, pk);
CREATE INDEX ix_search_repos_trending ON search_repos (trending, pk);
CREATE INDEX ix_search_repos_last_modified ON search_repos (last_modified, pk);
CREATE INDEX ix_search_repos_created_at ON search_repos (created_at, pk);

CREATE TABLE search_name_words (
    word text PRIMARY KEY
);
CREATE INDEX ix_search_name_words_trgm ON search_name_words USING gin (word gin_trgm_ops);

CREATE TABLE search_discussions (
    pk bigint PRIMARY KEY,
    repo_pk bigint NOT NULL,
    repo_id text NOT NULL,
    num integer NOT NULL,
    title text NOT NULL,
    author text NOT NULL,
    status text NOT NULL,
    is_pr boolean NOT NULL,
    created_at bigint NOT NULL DEFAULT 0,
    visible_to text NOT NULL,
    doc tsvector NOT NULL
);
CREATE INDEX ix_search_discussions_repo_pk ON search_discussions (repo_pk);
CREATE INDEX ix_search_discussions_doc ON search_discussions USING gin (doc);
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in UPGRADE.split(";"):  # one at a time: a driver may refuse several in one
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # pg_trgm stays: other tables (or an operator) may use it, and it holds no data.
    op.execute("DROP TABLE IF EXISTS search_discussions, search_name_words, search_repos")
