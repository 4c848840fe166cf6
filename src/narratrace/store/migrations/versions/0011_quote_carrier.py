"""quote carrier: who relays a quote ("Agency quoted X as saying", «به گزارش ایسنا، X گفت»)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-09 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: a quote stored before the carrier was kept has none until the quotes stage redoes
    # it (enrich/annotate.py VERSION "quotes-4" makes the next run re-extract every document).
    with op.batch_alter_table('quote') as b:
        b.add_column(sa.Column('carrier', sa.String(length=256), nullable=True))
        b.add_column(sa.Column('carrier_start', sa.Integer(), nullable=True))
        b.add_column(sa.Column('carrier_end', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('quote') as b:
        for c in ('carrier_end', 'carrier_start', 'carrier'):
            b.drop_column(c)
