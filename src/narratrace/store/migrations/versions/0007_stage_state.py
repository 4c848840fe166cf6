"""stage state: the last completed run of each declared pipeline stage and its version

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'stage_state',
        sa.Column('stage', sa.String(length=32), nullable=False),
        sa.Column('version', sa.String(length=32), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('stage'),
    )


def downgrade() -> None:
    op.drop_table('stage_state')
