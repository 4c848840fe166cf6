"""Opening a store: engine, migrations (Alembic, from the first table on), sessions."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def store_url(path_or_url: str | Path) -> str:
    """A path means an embedded SQLite file; a URL (postgresql://…) is used as is."""
    s = str(path_or_url)
    if "://" in s:
        return s
    return "sqlite:///" + str(Path(s).expanduser().resolve())


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        from narratrace.store import sqlite

        engine = create_engine(url, connect_args={"timeout": 30})
        sqlite.install_pragmas(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision; a no-op when it already is."""
    cfg = _alembic_config(engine)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head:
        command.upgrade(cfg, "head")


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
