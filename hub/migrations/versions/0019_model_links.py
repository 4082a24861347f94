"""The model tree (issue #22): one row per (model, base model it names), so that a base model's page
counts its derivatives from one index range, without joining 20,000 repositories for a popular base
(models_registry/model_tree.py). Filled here from the `base_model:RELATION:ID` tags the repositories
already have (repo_tags); from now on written with the tags at each commit.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 03:10:00.000000
"""
import sqlalchemy as sa
from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

RELATIONS = ("finetune", "adapter", "quantized", "merge")  # models_registry.model_tree.RELATIONS then


def upgrade() -> None:
    op.create_table(
        'model_links',
        sa.Column('repo_id', sa.Integer(), nullable=False),
        sa.Column('base_id', sa.String(length=255), nullable=False),
        sa.Column('relation', sa.String(length=16), nullable=False),
        sa.Column('public', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('repo_id', 'base_id'),
    )
    op.create_index('ix_model_links_base', 'model_links', ['base_id', 'public', 'relation'], unique=False)
    links = sa.table('model_links', sa.column('repo_id', sa.Integer), sa.column('base_id', sa.String),
                     sa.column('relation', sa.String), sa.column('public', sa.Boolean))
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT t.repo_id, t.tag, r.private FROM repo_tags t JOIN repositories r ON r.id = t.repo_id "
        "WHERE r.repo_type = 'model' AND t.tag LIKE 'base_model:%:%'"))
    batch: dict[tuple[int, str], dict] = {}
    for repo_id, tag, private in rows:
        _, relation, base = tag.split(":", 2)
        if relation in RELATIONS and base:
            batch[(repo_id, base)] = {"repo_id": repo_id, "base_id": base, "relation": relation,
                                      "public": not private}
    values = list(batch.values())
    for k in range(0, len(values), 5000):
        op.bulk_insert(links, values[k:k + 5000])


def downgrade() -> None:
    op.drop_index('ix_model_links_base', table_name='model_links')
    op.drop_table('model_links')
