import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from narratrace.store import db
from narratrace.store.models import Base


def include_name(name, type_, _parents):
    return not db.is_backend_object(name, type_)


# the PostgreSQL variant starts a throwaway server: integration (SQLite stays in the fast lane)
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def empty_store(request, tmp_path):
    if request.param == "sqlite":
        yield db.store_url(tmp_path / "m.db")
        return
    server = request.getfixturevalue("pg_server")
    name = f"mig{next(server.databases)}"
    yield server.create_database(name)  # empty: not the test template
    server.drop_database(name)


def test_migrations_match_models_and_downgrade_cleanly(empty_store):
    engine = db.make_engine(empty_store)
    db.upgrade(engine)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    if engine.dialect.name == "sqlite":
        assert "document_fts" in inspect(engine).get_table_names()
    else:
        assert "ix_document_fts_pg" in {i["name"] for i in inspect(engine).get_indexes("document")}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")).scalar()
    cfg = db._alembic_config(engine)
    command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    db.upgrade(engine)
    db.upgrade(engine)  # idempotent
    assert "document" in inspect(engine).get_table_names()
    engine.dispose()
