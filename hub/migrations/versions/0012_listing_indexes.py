"""A million repositories (issue #20): an index per sort of the listings, each ending in id, so that
a sorted page and the seek of its keyset cursor (models_registry/listing.py) are one index range at
any depth (trending had only an index of its own column, which cannot skip the other repository
types, and PostgreSQL's indexes did not include the id that breaks ties); and an index of the
lower-cased repository id, which the case-insensitive lookups (repos.py) read instead of every row
(2.3 s for a create or a missed lookup at a million repositories).

Plain CREATE INDEX: on PostgreSQL it blocks writes to `repositories` while it runs (seconds at a
million rows), which `modelhub db upgrade` during a maintenance window allows.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 12:45:00.000000
"""
import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

SORTS = (("modified", "last_modified"), ("created", "created_at"), ("downloads", "downloads"), ("likes", "likes"))


def upgrade() -> None:
    with op.batch_alter_table('repositories') as batch:
        batch.drop_index('ix_repositories_trending_score')
        for name, _col in SORTS:
            batch.drop_index(f'ix_repositories_type_{name}')
    with op.batch_alter_table('repositories') as batch:
        for name, col in (*SORTS, ("trending", "trending_score")):
            batch.create_index(f'ix_repositories_type_{name}', ['repo_type', col, 'id'], unique=False)
    op.create_index('ix_repositories_type_lower_id', 'repositories',
                    ['repo_type', sa.text('lower(namespace)'), sa.text('lower(name)')], unique=False)


def downgrade() -> None:
    op.drop_index('ix_repositories_type_lower_id', table_name='repositories')
    with op.batch_alter_table('repositories') as batch:
        for name, _col in (*SORTS, ("trending", "trending_score")):
            batch.drop_index(f'ix_repositories_type_{name}')
    with op.batch_alter_table('repositories') as batch:
        for name, col in SORTS:
            batch.create_index(f'ix_repositories_type_{name}', ['repo_type', col], unique=False)
        batch.create_index('ix_repositories_trending_score', ['trending_score'], unique=False)
