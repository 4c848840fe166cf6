from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

try:
    # Ray before anything imports usearch: with usearch 2.26.6 (numkong 7.8.6) loaded first, ray
    # 2.60's GCS client dies on start ("std::regex_error: Invalid range in brace expression",
    # Fatal Python error: Aborted) on some machines — this one did, 2026-12-01. narratrace itself
    # now loads onnxruntime before usearch, which avoids it too (docs/ray.md); this keeps tests
    # that import usearch directly safe.
    import ray  # noqa: F401
except ImportError:
    pass

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEMO_DATA = REPO / "src" / "narratrace" / "demo" / "data"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with a clear message when it is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} is not here (published evaluation data lives beside the repo in ../shared)")
    return p


# The PostgreSQL half of every store test starts a throwaway server: integration. SQLite stays fast.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]

# `pytest -m "not integration"` is the day-to-day loop (under two minutes on 2 cores); CI runs everything.
# A test is integration when it needs one of these fixtures (directly or through another fixture):
INTEGRATION_FIXTURES = {
    "demo_build": "builds the whole fictional demo workspace (40 s idle, minutes under load)",
    "pg_server": "starts a throwaway PostgreSQL server",
    "ray_instance": "starts a local Ray instance",
    "browser": "drives Chromium through Playwright",
}


def pytest_collection_modifyitems(config, items):
    """Mark integration by fixture (INTEGRATION_FIXTURES) and every `slow` test; tests whose cost is
    not a fixture (quality gates over ../shared, heavy models on big inputs, demo runs through the
    CLI) carry `@pytest.mark.integration` in their own file, each with the reason beside it."""
    for item in items:
        needs = INTEGRATION_FIXTURES.keys() & set(getattr(item, "fixturenames", ()))
        if needs or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def pg_server():
    """One throwaway PostgreSQL (with pgvector) per test session, on loopback, stopped after.
    Each test gets its own database, copied from a template that already has the schema.
    Without PostgreSQL binaries the PostgreSQL half of the store tests skips, unless
    NARRATRACE_TEST_PG=require (CI sets it), which turns the skip into a failure."""
    from narratrace.store import db
    from narratrace.store.localpg import LocalPostgres, LocalPostgresError

    try:
        server = LocalPostgres().start()  # its own /tmp folder: pytest's is closed to `nobody`
    except LocalPostgresError as exc:
        if os.environ.get("NARRATRACE_TEST_PG") == "require":
            pytest.fail(f"PostgreSQL is required here (NARRATRACE_TEST_PG=require): {exc}")
        pytest.skip(f"no local PostgreSQL for the store tests: {exc}")
    engine = db.make_engine(server.create_database("nt_template"))
    db.upgrade(engine)
    engine.dispose()
    server.databases = itertools.count()
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path):
    """Where a test's workspace lives: an SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "ws.db")
        return
    server = request.getfixturevalue("pg_server")
    name = f"t{next(server.databases)}"
    yield server.create_database(name, template="nt_template")
    server.drop_database(name)


@pytest.fixture
def ws(store_url):
    from narratrace import Workspace

    w = Workspace(store_url, create=True)
    yield w
    w.close()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    """No workspace from the environment, and no network: a socket to anything but
    loopback fails the test loudly instead of silently depending on the internet."""
    import socket

    monkeypatch.delenv("NARRATRACE_WORKSPACE", raising=False)
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"test tried to reach the network: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield


def write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode(encoding)
    path.write_bytes(content)
    return path


def article_html(title: str, paragraphs: list[str], *, url: str | None = None, published: str | None = None,
                 lang: str = "en", footer: str = "Share on Facebook | Tweet | Print") -> str:
    meta = f'<meta property="article:published_time" content="{published}">' if published else ""
    canon = f'<link rel="canonical" href="{url}">' if url else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>{meta}{canon}'
            f'</head><body><nav><a href="/">Home</a> <a href="/world">World</a></nav>'
            f'<article><h1>{title}</h1>{body}</article><div class="share">{footer}</div>'
            f'<footer>© 2026 Example Media. All rights reserved.</footer></body></html>')


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory):
    """The fictional demo workspace with the whole analysis, built once per test session (it takes
    40 s on an idle 2-core machine, minutes under load). Tests take private copies with
    `copy_demo`, so a file that writes reviews or hostile documents never changes another's data."""
    import io
    import sqlite3

    from rich.console import Console

    from narratrace.demo.run import run_demo

    path = tmp_path_factory.mktemp("demo-build") / "demo.db"
    printed = io.StringIO()
    result = run_demo(str(path), console=Console(file=printed, width=160), err=Console(file=io.StringIO()))
    con = sqlite3.connect(path)  # fold the WAL into the file, so copying the file copies everything
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return {"path": path, "result": result, "printed": printed.getvalue()}


def copy_demo(build: dict, dest: Path) -> Path:
    """A private copy of the session's demo workspace (database, vector index, chart) under ``dest``."""
    import shutil

    src = build["path"]
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / src.name
    shutil.copyfile(src, out)
    for suffix in ("-wal", ".prevalence.html"):
        if Path(str(src) + suffix).exists():
            shutil.copyfile(str(src) + suffix, str(out) + suffix)
    if Path(str(src) + ".vectors").is_dir():
        shutil.copytree(str(src) + ".vectors", str(out) + ".vectors")
    return out
