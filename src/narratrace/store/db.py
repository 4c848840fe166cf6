"""Opening a store: engine, migrations (Alembic, from the first table on), sessions."""

from __future__ import annotations

import importlib.util
import re
import sqlite3
import threading
from pathlib import Path
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError
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


class NotAWorkspace(StoreError):
    """The file given as the workspace is something else (another program's database, a damaged
    file): refused before anything writes to it."""


_SQLITE_MAGIC = b"SQLite format 3\x00"


def check_sqlite_file(file: Path) -> None:
    """Refuse, untouched, a file that is not a narratrace workspace: opening it the usual way
    would switch it to WAL mode and migrate our tables into it before any error (issue 15).

    Accepted: no file, an empty file, an SQLite file with no tables yet, or one with Alembic's
    ``alembic_version`` table (every workspace has it from its first migration). Read through a
    read-only connection, so even the check writes nothing."""
    if not file.exists() or file.stat().st_size == 0:
        return
    with open(file, "rb") as fh:
        head = fh.read(len(_SQLITE_MAGIC))
    if head != _SQLITE_MAGIC:
        raise NotAWorkspace(f"{file} is not a narratrace workspace (not an SQLite file): give a workspace's "
                            "path, or a new file name to `narratrace init`")
    uri = "file:" + quote(str(file)) + "?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True)
        try:
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise NotAWorkspace(f"{file} is a damaged SQLite file ({exc}): restore the workspace from a backup, "
                            "or rebuild it with `narratrace init` and ingest again") from exc
    if names and "alembic_version" not in names:
        shown = ", ".join(sorted(names)[:5]) + (", …" if len(names) > 5 else "")
        raise NotAWorkspace(f"{file} is another program's SQLite database (tables {shown}), not a narratrace "
                            "workspace: left untouched; give a workspace's path, or a new file name")


def redact(url: str) -> str:
    """The URL without its password, for messages and `stats`."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", str(url))


class Revision:
    """A number that changes whenever anything (this process or another) commits to an SQLite
    store: ``PRAGMA data_version`` on a read-only connection of its own, which SQLite changes on
    every commit by any other connection. ``current()`` is None for PostgreSQL, which has no such
    counter: a caller then caches nothing. One lock: the connection is shared by the server's threads."""

    def __init__(self, url: str) -> None:
        self._file = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def current(self) -> int | None:
        if self._file is None:
            return None
        with self._lock:
            if self._conn is None:
                self._conn = sqlite3.connect(f"file:{quote(self._file)}?mode=ro", uri=True, check_same_thread=False)
            return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


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
    except DatabaseError as exc:  # server down, wrong password, no such database; a damaged file
        raise StoreError(f"cannot connect to {redact(engine.url.render_as_string(hide_password=True))}: "
                         f"{str(exc.orig).strip().splitlines()[0] if exc.orig else exc}") from exc
    if current != head:
        command.upgrade(cfg, "head")


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
