from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from narratrace.store import db
from narratrace.store.models import Base
from narratrace.store.sqlite import is_fts_table


def include_name(name, type_, _parents):
    return not (type_ == "table" and is_fts_table(name))


def test_migrations_match_models_and_downgrade_cleanly(tmp_path):
    engine = db.make_engine(db.store_url(tmp_path / "m.db"))
    db.upgrade(engine)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert "document_fts" in inspect(engine).get_table_names()
    cfg = db._alembic_config(engine)
    command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    db.upgrade(engine)
    db.upgrade(engine)  # idempotent
    assert "document" in inspect(engine).get_table_names()
