"""Security scans of stored model files (issue #23): one row per blob (LFS sha256 or git:<blob sha>)
with the imports a pickle would run and their verdict, queued after every commit, push, mirror
pull or import and filled by the scanner thread (models_registry/scanning.py).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 02:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'file_scans',
        sa.Column('key', sa.String(length=68), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('imports', sa.JSON(), nullable=True),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('repo_id', sa.Integer(), nullable=True),
        sa.Column('path', sa.String(length=1000), nullable=False),
        sa.Column('queued_at', sa.DateTime(), nullable=False),
        sa.Column('scanned_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index('ix_file_scans_status', 'file_scans', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_file_scans_status', table_name='file_scans')
    op.drop_table('file_scans')
