"""PostgreSQL: pgvector extension and the full-text index (SQLite has its FTS5 table since 0001)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 17:00:00
"""
from alembic import op

from narratrace.store import postgres


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        postgres.install_extension(op.get_bind())
        for ddl in postgres.FTS_DDL:
            op.execute(ddl)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for ddl in postgres.FTS_DROP:
            op.execute(ddl)
        # The extension stays: other databases' objects or the per-model vector tables may use it.
