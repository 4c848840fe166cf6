"""Opening a store: engine, migrations (Alembic, from the first table on), sessions."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from narratrace.errors import StoreFailure
from narratrace.store import postgres, sqlite

MIGRATIONS = Path(__file__).with_name("migrations")


class StoreError(StoreFailure):
    pass


def store_url(path_or_url: str | Path) -> str:
    """A path means an embedded SQLite file; a URL is used as is, except that a plain
    ``postgresql://`` (SQLAlchemy's default driver is psycopg2) means psycopg 3, the one the
    ``postgres`` extra installs."""
    s = str(path_or_url)
    if "://" in s:
        if s.startswith(("postgresql://", "postgres://")):
            s = "postgresql+psycopg://" + s.split("://", 1)[1]
        return s
    return "sqlite:///" + str(Path(s).expanduser().resolve())


def redact(url: str) -> str:
    """The URL without its password, for messages and `stats`."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", str(url))


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        sqlite.install_pragmas(engine)
        return engine
    if url.startswith("postgresql") and importlib.util.find_spec("psycopg") is None:
        raise StoreError("a PostgreSQL store needs the postgres extra: pip install 'narratrace[postgres]'")
    try:
        return create_engine(url, pool_pre_ping=True)
    except Exception as exc:  # a malformed URL or an unknown driver
        raise StoreError(f"cannot open store {redact(url)}: {exc}") from exc


def dialect_module(engine: Engine):
    """The module with this backend's own SQL (full text, vector index): sqlite or postgres."""
    if engine.dialect.name == "sqlite":
        return sqlite
    if engine.dialect.name == "postgresql":
        return postgres
    raise ValueError(f"unsupported database backend {engine.dialect.name!r}: use SQLite or PostgreSQL")


def is_backend_object(name: str | None, type_: str) -> bool:
    """Objects a backend adds beside the portable schema (FTS5 tables, the tsvector column and
    index, the per-model pgvector tables): not in the models, so autogenerate and schema checks skip them."""
    if not name:
        return False
    if type_ == "table":
        return name.startswith(("document_fts", "vec_"))
    if type_ == "index":
        return name == "ix_document_fts_pg" or name.startswith("vec_")
    if type_ == "column":
        return name == "fts_vector"
    return False


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision; a no-op when it already is."""
    cfg = _alembic_config(engine)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:  # server down, wrong password, no such database
        raise StoreError(f"cannot connect to {redact(engine.url.render_as_string(hide_password=True))}: "
                         f"{str(exc.orig).strip().splitlines()[0] if exc.orig else exc}") from exc
    if current != head:
        command.upgrade(cfg, "head")


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
