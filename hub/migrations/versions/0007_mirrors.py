"""Followed mirrors: their upstream and schedule, sync history, LFS trust records and license/gating alerts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 22:55:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'mirrors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('repo_type', sa.String(length=16), nullable=False),
        sa.Column('namespace', sa.String(length=96), nullable=False),
        sa.Column('name', sa.String(length=96), nullable=False),
        sa.Column('repo_pk', sa.Integer(), nullable=True),
        sa.Column('upstream_url', sa.String(length=1000), nullable=False),
        sa.Column('upstream_repo', sa.String(length=200), nullable=False),
        sa.Column('revision', sa.String(length=255), nullable=True),
        sa.Column('token', sa.Text(), nullable=True),
        sa.Column('interval_seconds', sa.Integer(), nullable=True),
        sa.Column('origin', sa.String(length=16), nullable=False),
        sa.Column('next_due', sa.DateTime(), nullable=True),
        sa.Column('last_started_at', sa.DateTime(), nullable=True),
        sa.Column('last_finished_at', sa.DateTime(), nullable=True),
        sa.Column('last_status', sa.String(length=16), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('last_synced_commit', sa.String(length=40), nullable=True),
        sa.Column('last_synced_at', sa.DateTime(), nullable=True),
        sa.Column('lfs_checked_commit', sa.String(length=40), nullable=True),
        sa.Column('accepted_license', sa.JSON(), nullable=True),
        sa.Column('accepted_gated', sa.String(length=16), nullable=True),
        sa.Column('accepted_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['repo_pk'], ['repositories.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('repo_type', 'namespace', 'name'),
        sa.UniqueConstraint('repo_pk'),
    )
    with op.batch_alter_table('mirrors', schema=None) as batch_op:
        batch_op.create_index('ix_mirrors_next_due', ['next_due'], unique=False)
    op.create_table(
        'mirror_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mirror_id', sa.Integer(), nullable=False),
        sa.Column('trigger', sa.String(length=16), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('method', sa.String(length=8), nullable=True),
        sa.Column('refs_updated', sa.JSON(), nullable=True),
        sa.Column('git_objects', sa.Integer(), nullable=False),
        sa.Column('lfs_objects', sa.Integer(), nullable=False),
        sa.Column('bytes_transferred', sa.BigInteger(), nullable=False),
        sa.Column('skipped', sa.Integer(), nullable=False),
        sa.Column('failures', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['mirror_id'], ['mirrors.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('mirror_runs', schema=None) as batch_op:
        batch_op.create_index('ix_mirror_runs_mirror_id', ['mirror_id'], unique=False)
    op.create_table(
        'mirror_lfs_checks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('repo_pk', sa.Integer(), nullable=False),
        sa.Column('commit', sa.String(length=40), nullable=False),
        sa.Column('path', sa.String(length=1000), nullable=False),
        sa.Column('upstream_sha256', sa.String(length=64), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('checked_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['repo_pk'], ['repositories.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('repo_pk', 'commit', 'path'),
    )
    op.create_table(
        'mirror_alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mirror_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('old', sa.JSON(), nullable=True),
        sa.Column('new', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('acknowledged_by', sa.String(length=96), nullable=True),
        sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['mirror_id'], ['mirrors.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('mirror_alerts', schema=None) as batch_op:
        batch_op.create_index('ix_mirror_alerts_mirror_id', ['mirror_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mirror_alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_mirror_alerts_mirror_id')
    op.drop_table('mirror_alerts')
    op.drop_table('mirror_lfs_checks')
    with op.batch_alter_table('mirror_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_mirror_runs_mirror_id')
    op.drop_table('mirror_runs')
    with op.batch_alter_table('mirrors', schema=None) as batch_op:
        batch_op.drop_index('ix_mirrors_next_due')
    op.drop_table('mirrors')
