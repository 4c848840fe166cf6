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

# Everything that must be identical; times of ingestion naturally differ. Rows are compared by their
# natural keys (a document by its origin, a sentence by origin and index), not by surrogate ids:
# PostgreSQL's sequences are not transactional, so the insert that kill -9 interrupted burns ids and
# the rerun's documents may be numbered one higher. SQLite reuses them; the content must match on both.
TABLES = {
    "document": "SELECT d.origin, d.source_id, d.url, d.canonical_url, d.title, d.author, d.site_name, "
                "d.published_at, d.language, d.content_type, d.text, d.raw_hash, d.clean_hash, r.origin, "
                "d.duplicate_kind, d.duplicate_score, d.meta "
                "FROM document d LEFT JOIN document r ON r.id = d.duplicate_of_id ORDER BY d.origin",
    "sentence": "SELECT d.origin, s.idx, s.start, s.\"end\", s.language FROM sentence s "
                "JOIN document d ON d.id = s.document_id ORDER BY d.origin, s.idx",
    "document_signature": "SELECT d.origin, g.num_perm, g.minhash FROM document_signature g "
                          "JOIN document d ON d.id = g.document_id ORDER BY d.origin",
    "boilerplate_scope": "SELECT * FROM boilerplate_scope ORDER BY scope",
    "boilerplate_line": "SELECT * FROM boilerplate_line ORDER BY scope, line_hash",
}
SQLITE_ONLY = {"fts": "SELECT d.origin, f.title, f.text FROM document_fts f JOIN document d ON d.id = f.rowid "
                      "ORDER BY d.origin"}


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


# the PostgreSQL variant starts a throwaway server: integration (the test itself is `slow`, so integration anyway)
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
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
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while count(crashed) < CHUNK + 20 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed; make the corpus larger"
    # The whole process group, as a crash of the machine or a container kill would: killing only the
    # main process left its forked extraction workers orphaned, waiting on a queue for ever.
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = count(crashed)
    assert CHUNK < partial < N_DOCS

    done = subprocess.run(cli("ingest", str(corpus), "-w", crashed, "--json"), check=True, env=env,
                          capture_output=True, text=True)
    assert f'"already_present": {partial}' in done.stdout

    a, b = dump(ref), dump(crashed)
    assert a.keys() == b.keys()
    for name in a:
        if a[name] != b[name]:
            diff = next((x, y) for x, y in zip(a[name], b[name]) if x != y) if len(a[name]) == len(b[name]) else None
            cols = [i for i, (u, v) in enumerate(zip(*diff)) if u != v] if diff else "row counts differ"
            raise AssertionError(f"{name} differs after kill -9 and rerun: columns {cols} of "
                                 f"{diff[0][:3] if diff else (len(a[name]), len(b[name]))}; "
                                 f"{[(diff[0][i], diff[1][i]) for i in cols] if diff else ''}")
    assert len(a["document"]) > 400 and len(a["boilerplate_line"]) > 0
