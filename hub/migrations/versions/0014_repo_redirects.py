"""Old names of renamed repositories keep working, as on the Hub (issue #21): a lookup that finds
no repository under a name follows repo_redirects to the one that had it, until a repository is
created or moved under that name (models_registry/repos.py).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 13:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'repo_redirects',
        sa.Column('repo_type', sa.String(length=16), nullable=False),
        sa.Column('namespace', sa.String(length=96), nullable=False),
        sa.Column('name', sa.String(length=96), nullable=False),
        sa.Column('repo_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('repo_type', 'namespace', 'name'),
    )
    op.create_index('ix_repo_redirects_repo_id', 'repo_redirects', ['repo_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_repo_redirects_repo_id', table_name='repo_redirects')
    op.drop_table('repo_redirects')
