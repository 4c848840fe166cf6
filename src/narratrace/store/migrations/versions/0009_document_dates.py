"""document dates: precision, where the date came from, and the date module's version

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('document') as b:
        b.add_column(sa.Column('date_precision', sa.String(length=8), nullable=True))
        b.add_column(sa.Column('date_source', sa.String(length=16), nullable=True))
        b.add_column(sa.Column('dates_version', sa.Integer(), nullable=True))
    # What was known before: the ingest kept a day-only date's precision in meta; a stored date
    # without it came from a page's timestamp (minute) or a caller. Left NULL where unknown, and
    # dates_version NULL makes the next ingest of the same material re-date it.


def downgrade() -> None:
    with op.batch_alter_table('document') as b:
        for c in ('dates_version', 'date_source', 'date_precision'):
            b.drop_column(c)
