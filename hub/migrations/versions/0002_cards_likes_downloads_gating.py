"""Model cards, likes, per-day downloads, gated access and safetensors parameter counts.

Adds the repo_tags table so that tag filters are indexed joins at 100k repositories.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 19:15:37.774653
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('safetensors_files',
    sa.Column('oid', sa.String(length=64), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('oid')
    )
    op.create_table('access_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('access_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_events_repo_id'), ['repo_id'], unique=False)

    op.create_table('access_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('repo_id', 'user_id')
    )
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_requests_repo_id'), ['repo_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_requests_user_id'), ['user_id'], unique=False)

    op.create_table('download_days',
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('repo_id', 'day')
    )
    op.create_table('likes',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'repo_id')
    )
    with op.batch_alter_table('likes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_likes_repo_id'), ['repo_id'], unique=False)

    op.create_table('repo_tags',
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('repo_id', 'tag')
    )
    with op.batch_alter_table('repo_tags', schema=None) as batch_op:
        batch_op.create_index('ix_repo_tags_tag_repo', ['tag', 'repo_id'], unique=False)

    with op.batch_alter_table('repositories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('card_warnings', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('safetensors', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('parameter_count', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('trending_score', sa.Float(), nullable=False, server_default='0'))
        batch_op.create_index(batch_op.f('ix_repositories_pipeline_tag'), ['pipeline_tag'], unique=False)
        batch_op.create_index(batch_op.f('ix_repositories_trending_score'), ['trending_score'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('repositories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repositories_trending_score'))
        batch_op.drop_index(batch_op.f('ix_repositories_pipeline_tag'))
        batch_op.drop_column('trending_score')
        batch_op.drop_column('parameter_count')
        batch_op.drop_column('safetensors')
        batch_op.drop_column('card_warnings')

    with op.batch_alter_table('repo_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_repo_tags_tag_repo')

    op.drop_table('repo_tags')
    with op.batch_alter_table('likes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_likes_repo_id'))

    op.drop_table('likes')
    op.drop_table('download_days')
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_requests_user_id'))
        batch_op.drop_index(batch_op.f('ix_access_requests_repo_id'))

    op.drop_table('access_requests')
    with op.batch_alter_table('access_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_events_repo_id'))

    op.drop_table('access_events')
    op.drop_table('safetensors_files')
