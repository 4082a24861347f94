"""Garbage collection of stored objects (issue #19): when a writer last counted on each LFS object and
xorb, so that `modelhub storage gc` deletes only what nobody used since before its grace window, and a
commit landing while it runs either keeps its objects or fails cleanly (models_registry/storage_gc.py).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 04:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lfs_objects') as batch:
        batch.add_column(sa.Column('used_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('xet_xorbs') as batch:
        batch.add_column(sa.Column('used_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('xet_xorbs') as batch:
        batch.drop_column('used_at')
    with op.batch_alter_table('lfs_objects') as batch:
        batch.drop_column('used_at')
