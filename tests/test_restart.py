"""kill -9 in the middle of a large ingest, run it again: the store ends identical to an
uninterrupted run."""

import os
import signal
import subprocess
import sys
import time

import pytest

from narratrace.demo.synthetic import generate_corpus
from narratrace.ingest.pipeline import CHUNK

N_DOCS = 420  # two chunks: the kill lands inside the second one, after some of it is stored

# Everything that must be identical; times of ingestion naturally differ.
TABLES = {
    "document": "SELECT id, source_id, origin, url, canonical_url, title, author, site_name, published_at, language, "
                "content_type, text, raw_hash, clean_hash, duplicate_of_id, duplicate_kind, duplicate_score, meta "
                "FROM document ORDER BY id",
    "sentence": "SELECT id, document_id, idx, start, \"end\", language FROM sentence ORDER BY id",
    "document_signature": "SELECT * FROM document_signature ORDER BY document_id",
    "boilerplate_scope": "SELECT * FROM boilerplate_scope ORDER BY scope",
    "boilerplate_line": "SELECT * FROM boilerplate_line ORDER BY scope, line_hash",
}
SQLITE_ONLY = {"fts": "SELECT rowid, title, text FROM document_fts ORDER BY rowid"}


def cli(*args):
    return [sys.executable, "-m", "narratrace.cli.main", *args]


def _engine(db):
    from narratrace.store import db as store

    return store.make_engine(store.store_url(db))


def dump(db):
    from sqlalchemy import text

    engine = _engine(db)
    try:
        with engine.connect() as con:
            tables = {**TABLES, **(SQLITE_ONLY if engine.dialect.name == "sqlite" else {})}
            return {name: [tuple(r) for r in con.execute(text(sql))] for name, sql in tables.items()}
    finally:
        engine.dispose()


def count(db):
    from sqlalchemy import text

    engine = _engine(db)
    try:
        with engine.connect() as con:
            return con.execute(text("SELECT count(*) FROM document")).scalar_one()
    except Exception:  # not created yet, or locked mid-write
        return 0
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def two_stores(request, tmp_path):
    if request.param == "sqlite":
        yield str(tmp_path / "ref.db"), str(tmp_path / "crashed.db")
        return
    server = request.getfixturevalue("pg_server")
    names = [f"restart{next(server.databases)}" for _ in range(2)]
    yield tuple(server.create_database(n) for n in names)
    for n in names:
        server.drop_database(n)


@pytest.mark.slow
def test_kill_9_then_rerun_gives_the_same_store(tmp_path, two_stores):
    corpus = tmp_path / "corpus"
    registry = generate_corpus(corpus, N_DOCS, seed=11)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    ref, crashed = two_stores
    for db in (ref, crashed):
        subprocess.run(cli("sources", "import", str(registry), "-w", db), check=True, env=env, capture_output=True)

    subprocess.run(cli("ingest", str(corpus), "-w", ref), check=True, env=env, capture_output=True)

    proc = subprocess.Popen(cli("ingest", str(corpus), "-w", crashed), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while count(crashed) < CHUNK + 20 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed; make the corpus larger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = count(crashed)
    assert CHUNK < partial < N_DOCS

    done = subprocess.run(cli("ingest", str(corpus), "-w", crashed, "--json"), check=True, env=env,
                          capture_output=True, text=True)
    assert f'"already_present": {partial}' in done.stdout

    a, b = dump(ref), dump(crashed)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name] == b[name], f"{name} differs after kill -9 and rerun"
    assert len(a["document"]) > 400 and len(a["boilerplate_line"]) > 0
