"""Per-repository switch: the owner may allow force-pushes to the default branch.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 20:50:53.068120
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('repositories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allow_force_push', sa.Boolean(), server_default='0', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('repositories', schema=None) as batch_op:
        batch_op.drop_column('allow_force_push')

