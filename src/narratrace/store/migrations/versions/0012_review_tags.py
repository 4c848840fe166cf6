"""review tags: an analyst's short labels on a reviewed match or contradiction

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 21:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A JSON list, like narrative.disarm: tags are few (≤ 10 of ≤ 40 characters, checked where a
    # review is saved) and only shown and exported with their review, never joined on. Nullable:
    # reviews stored before this have none.
    with op.batch_alter_table('review') as b:
        b.add_column(sa.Column('tags', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('review') as b:
        b.drop_column('tags')
