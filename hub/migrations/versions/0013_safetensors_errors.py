"""A .safetensors file whose header cannot be read is accepted, as on the Hub (issue #21): its row in
safetensors_files keeps why (`error`), so that it counts no parameters and its page says so,
instead of the commit or push being refused.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 13:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('safetensors_files') as batch:
        batch.add_column(sa.Column('error', sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('safetensors_files') as batch:
        batch.drop_column('error')
