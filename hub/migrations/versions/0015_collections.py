"""Collections (issue #23): curated lists of repositories and other collections, owned by a user or an
organization, as the Hub's collections API has them (community/collections.py).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'collections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hex_id', sa.String(length=24), nullable=False),
        sa.Column('namespace', sa.String(length=96), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('title_slug', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('private', sa.Boolean(), nullable=False),
        sa.Column('theme', sa.String(length=16), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_updated', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('hex_id'),
        sa.UniqueConstraint('namespace', 'title_slug'),
    )
    op.create_index('ix_collections_namespace', 'collections', ['namespace'], unique=False)
    op.create_index('ix_collections_updated', 'collections', ['last_updated'], unique=False)
    op.create_table(
        'collection_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hex_id', sa.String(length=24), nullable=False),
        sa.Column('collection_id', sa.Integer(), nullable=False),
        sa.Column('item_type', sa.String(length=16), nullable=False),
        sa.Column('repo_id', sa.Integer(), nullable=True),
        sa.Column('item_collection_id', sa.Integer(), nullable=True),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['collection_id'], ['collections.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['item_collection_id'], ['collections.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('hex_id'),
        sa.UniqueConstraint('collection_id', 'repo_id'),
        sa.UniqueConstraint('collection_id', 'item_collection_id'),
    )
    op.create_index('ix_collection_items_repo_id', 'collection_items', ['repo_id'], unique=False)
    op.create_index('ix_collection_items_item_collection_id', 'collection_items', ['item_collection_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_collection_items_item_collection_id', table_name='collection_items')
    op.drop_index('ix_collection_items_repo_id', table_name='collection_items')
    op.drop_table('collection_items')
    op.drop_index('ix_collections_updated', table_name='collections')
    op.drop_index('ix_collections_namespace', table_name='collections')
    op.drop_table('collections')
