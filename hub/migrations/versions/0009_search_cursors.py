"""Search cursors: search_queue becomes a change log that every hub node follows with a cursor of its
own (issue #19), instead of a queue whose entries the one index writer deleted once applied.

After this revision every node finds no cursor of its own and rebuilds its index once (in the
background, while search serves the old one); the entries already queued stay, and are pruned once
every node has passed them. A downgrade drops the cursors: the old single writer then re-applies
what is left in the queue, which is harmless (the index upserts).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('search_cursors',
    sa.Column('node_id', sa.String(length=64), nullable=False),
    sa.Column('applied_through', sa.BigInteger(), nullable=False),
    sa.Column('read_through', sa.BigInteger(), nullable=False),
    sa.Column('gaps', sa.JSON(), nullable=False),
    sa.Column('rebuilding', sa.Boolean(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('node_id')
    )


def downgrade() -> None:
    op.drop_table('search_cursors')
