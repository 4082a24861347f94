"""Xet storage: xorbs, the global chunk-dedup index and file reconstructions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 22:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'xet_xorbs',
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('num_chunks', sa.Integer(), nullable=False),
        sa.Column('unpacked_bytes', sa.BigInteger(), nullable=False),
        sa.Column('stored_bytes', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('hash'),
    )
    op.create_table(
        'xet_chunks',
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('xorb_hash', sa.String(length=64), nullable=False),
        sa.Column('chunk_index', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['xorb_hash'], ['xet_xorbs.hash']),
        sa.PrimaryKeyConstraint('hash'),
    )
    op.create_table(
        'xet_files',
        sa.Column('file_hash', sa.String(length=64), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('terms', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('file_hash'),
    )
    with op.batch_alter_table('xet_files', schema=None) as batch_op:
        batch_op.create_index('ix_xet_files_sha256', ['sha256'], unique=False)
    op.create_table(
        'xet_file_xorbs',
        sa.Column('file_hash', sa.String(length=64), nullable=False),
        sa.Column('xorb_hash', sa.String(length=64), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['file_hash'], ['xet_files.file_hash'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('file_hash', 'xorb_hash'),
    )
    with op.batch_alter_table('xet_file_xorbs', schema=None) as batch_op:
        batch_op.create_index('ix_xet_file_xorbs_xorb_hash', ['xorb_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('xet_file_xorbs', schema=None) as batch_op:
        batch_op.drop_index('ix_xet_file_xorbs_xorb_hash')
    op.drop_table('xet_file_xorbs')
    with op.batch_alter_table('xet_files', schema=None) as batch_op:
        batch_op.drop_index('ix_xet_files_sha256')
    op.drop_table('xet_files')
    op.drop_table('xet_chunks')
    op.drop_table('xet_xorbs')
