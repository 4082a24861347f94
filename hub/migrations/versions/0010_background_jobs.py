"""Background jobs: when each cluster-wide job (stats refresh, ...) last ran and on which node, so
that of several hub nodes only one runs it per period (issue #19, models_registry/jobs.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 04:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('background_jobs',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('last_started_at', sa.DateTime(), nullable=True),
    sa.Column('last_finished_at', sa.DateTime(), nullable=True),
    sa.Column('last_node', sa.String(length=64), nullable=True),
    sa.Column('last_status', sa.String(length=16), nullable=True),
    sa.Column('last_detail', sa.Text(), nullable=True),
    sa.Column('runs', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('background_jobs')
