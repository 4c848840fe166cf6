"""full-text search stems English: "protest" finds "protests" and "protested" (Persian unchanged)

SQLite: the FTS5 table is recreated with ``porter unicode61 remove_diacritics 2`` and rebuilt
from the document table. PostgreSQL: the ``narratrace_search`` configuration (``simple`` plus
Snowball English for ASCII words, no stop words) and the ``fts_vector`` column recomputed with it.
Both re-runnable: every statement is IF [NOT] EXISTS, and the index is rebuilt from the stored
text whatever state it was left in.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 21:30:00
"""
from alembic import op

from narratrace.store import postgres, sqlite

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def _rebuild(stemmed: bool) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        # An FTS5 table's tokenizer is fixed when it is created: drop it and its triggers (in one
        # transaction with the rebuild: a failure leaves the old index in place), create, refill.
        for ddl in sqlite.FTS_DROP + sqlite.fts_ddl(sqlite.FTS_TOKENIZE if stemmed else sqlite.FTS_TOKENIZE_UNSTEMMED):
            op.execute(ddl)
        op.execute(sqlite.FTS_REBUILD)
    elif dialect == "postgresql":
        # a generated column cannot change its expression: drop it and add it again, which
        # recomputes every row's tsvector; the GIN index follows it
        for ddl in postgres.FTS_DROP_COLUMN + postgres.fts_ddl(postgres.FTS_CONFIG if stemmed
                                                               else postgres.FTS_UNSTEMMED):
            op.execute(ddl)


def upgrade() -> None:
    _rebuild(stemmed=True)


def downgrade() -> None:
    _rebuild(stemmed=False)
