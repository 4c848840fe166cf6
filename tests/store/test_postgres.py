"""PostgreSQL-specific behaviour: `migrate` is lossless, the analysis gives the same findings,
full-text and vector search agree with SQLite. The generic store tests run on both backends
through the parametrised `ws`/`store_url` fixtures (conftest.py)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from conftest import copy_demo
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from narratrace import Workspace
from narratrace.cli.main import app
from narratrace.errors import StoreFailure
from narratrace.ingest.items import RawItem
from narratrace.store import db
from narratrace.store.migrate import MigrateError, copy_store, count_rows, verify
from narratrace.store.models import Embedding, Sentence


def _strip(rows, drop=("run_at", "at")):
    rows = rows.dicts() if hasattr(rows, "dicts") else [r if isinstance(r, dict) else vars(r) for r in rows]
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


@pytest.fixture(scope="module")
def demo_pair(demo_build, pg_server, tmp_path_factory):
    """(SQLite demo workspace, its PostgreSQL copy), both opened."""
    src = copy_demo(demo_build, tmp_path_factory.mktemp("pgdemo"))
    url = pg_server.create_database("demo_copy")
    report = copy_store(str(src), url)
    a, b = Workspace(src), Workspace(url)
    yield a, b, report, url
    a.close()
    b.close()
    pg_server.drop_database("demo_copy")


def test_migrate_copies_every_record_and_verify_compares_them_all(demo_pair):
    a, b, report, url = demo_pair
    expected = count_rows(a.engine)
    assert report.rows == expected and report.total > 2000  # the demo: ~2,900 rows
    checked = verify(a.path, url)
    assert checked.ok, checked.mismatches
    assert checked.rows == expected
    # What an analyst sees is the same on both stores.
    assert a.stats()["documents"] == b.stats()["documents"]
    for name in ("narratives", "contradictions", "quotes", "speakers", "coordination", "reviews", "entities"):
        assert _strip(getattr(a, name)()) == _strip(getattr(b, name)()), name
    assert _strip(a.matches(limit=None)) == _strip(b.matches(limit=None))
    assert a.documents(limit=None).dicts() == b.documents(limit=None).dicts()


def test_verify_reports_a_changed_record(demo_pair, pg_server):
    a, _, _, _ = demo_pair
    url = pg_server.create_database("demo_tampered")
    try:
        copy_store(a.path, url)
        engine = db.make_engine(url)
        with engine.begin() as conn:
            conn.execute(update(Sentence).where(Sentence.id == 7).values(end=Sentence.end - 1))
        engine.dispose()
        checked = verify(a.path, url)
        assert not checked.ok and list(checked.mismatches) == ["sentence"]
        assert "7" in checked.mismatches["sentence"][0]
    finally:
        pg_server.drop_database("demo_tampered")


def test_failed_copy_leaves_the_destination_empty_and_names_the_table(tmp_path, pg_server, demo_build):
    src = copy_demo(demo_build, tmp_path)
    con = sqlite3.connect(src)  # a value PostgreSQL cannot hold: the copy must fail cleanly
    con.execute("UPDATE document SET title = ? WHERE id = 5", ("bad\x00title",))
    con.commit()
    con.close()
    url = pg_server.create_database("demo_fail")
    try:
        with pytest.raises(MigrateError, match="table document"):
            copy_store(str(src), url)
        assert sum(count_rows(db.make_engine(url)).values()) == 0
        # A destination that already holds records is refused, not merged into.
        good = copy_demo(demo_build, tmp_path / "good")
        copy_store(str(good), url)
        with pytest.raises(MigrateError, match="not empty"):
            copy_store(str(good), url)
    finally:
        pg_server.drop_database("demo_fail")


def test_cli_migrate_prints_the_verified_copy(demo_build, pg_server, tmp_path):
    src = copy_demo(demo_build, tmp_path)
    url = pg_server.create_database("demo_cli")
    try:
        res = CliRunner().invoke(app, ["migrate", str(src), url])
        assert res.exit_code == 0, res.output
        assert "verified: all" in res.output and "document" in res.output
        res = CliRunner().invoke(app, ["migrate", str(src), url])
        assert res.exit_code == 1 and "not empty" in res.output
        res = CliRunner().invoke(app, ["migrate", str(tmp_path / "typo.db"), url])
        assert res.exit_code == 1 and "no workspace at" in res.output and not (tmp_path / "typo.db").exists()
        # Copied ids were explicit: new rows must still get fresh ones (sequences moved past them).
        with Workspace(url) as ws:
            with ws.sessions() as s:
                top = s.scalar(select(Sentence.id).order_by(Sentence.id.desc()).limit(1))
            rep = ws.ingest_items([RawItem(origin="after-migrate", kind="record", text=(
                "A fresh statement from the Ministry of Fictional Affairs. It has two sentences."))])
            assert rep.added == 1
            with ws.sessions() as s:
                assert s.scalar(select(Sentence.id).order_by(Sentence.id.desc()).limit(1)) > top
    finally:
        pg_server.drop_database("demo_cli")


def test_analysis_on_postgresql_reproduces_the_sqlite_findings(demo_pair, pg_server):
    """Matching and contradiction scoring re-run on a PostgreSQL copy (pgvector candidates,
    PostgreSQL reads and writes) give the findings SQLite computed."""
    a, _, _, _ = demo_pair
    url = pg_server.create_database("demo_rerun")  # its own copy: a rerun renumbers the findings
    try:
        copy_store(a.path, url)
        with Workspace(url) as b:
            before_m, before_c = _strip(b.matches(limit=None)), _strip(b.contradictions())
            b.analyze(["match"])["match"]
            b.analyze(["contradictions"])["contradictions"]
            after_m, after_c = _strip(b.matches(limit=None)), _strip(b.contradictions())
    finally:
        pg_server.drop_database("demo_rerun")
    key = lambda r: (r["sentence_id"], r["narrative"])  # noqa: E731
    assert {key(r) for r in after_m} == {key(r) for r in before_m}
    for x, y in zip(sorted(after_m, key=key), sorted(before_m, key=key)):
        assert x["stance"] == y["stance"]
        assert x["similarity"] == pytest.approx(y["similarity"], abs=1e-6)
    assert len(after_c) == len(before_c)
    pairs = lambda rows: {(r["a_sentence_id"], r["b_sentence_id"]) for r in rows}  # noqa: E731
    assert pairs(after_c) == pairs(before_c)


QUERIES = ["Front", "exiles OR cult", '"handful of exiles"', "exil*", "کشور", "جبهه", "Sorkhabad riots",
           "'); DROP TABLE document; --", "NEAR(a b)", "*", ":*&|! <->", '"unterminated', "OR", ""]


@pytest.mark.parametrize("query", QUERIES)
def test_full_text_search_finds_the_same_documents(demo_pair, query):
    a, b, _, _ = demo_pair
    ha, hb = a.search(query, limit=200), b.search(query, limit=200)
    assert {h.document_id for h in ha} == {h.document_id for h in hb}
    for h in hb:
        assert "\u27e8" in h.snippet or not h.snippet.strip() or h.title
    assert b.search("document", limit=5, audience="domestic").dicts() is not None


def test_pgvector_index_agrees_with_exact_search(demo_pair):
    a, b, _, _ = demo_pair
    vs = b.context().vectors
    vs.update()
    with b.sessions() as s:
        rows = vs.sentence_texts(s)
    from narratrace.match.vectors import MIN_CHARS

    rows = [(i, t) for i, t in rows if len(t) >= MIN_CHARS]
    ids = np.array([i for i, _ in rows])
    V = vs.embed([t for _, t in rows])
    assert len(vs.index()) == len(rows)
    rng = np.random.default_rng(0)
    recall = []
    for q in rng.choice(len(rows), 30, replace=False):
        exact = set(ids[np.argsort(-(V @ V[q]))[:10]])
        got = {sid for sid, _ in vs.search(V[q], 10)}
        recall.append(len(exact & got) / 10)
    assert np.mean(recall) >= 0.95, recall
    hits_a = a.semantic_search("the Front organised the riots in fourteen cities", limit=5)
    hits_b = b.semantic_search("the Front organised the riots in fourteen cities", limit=5)
    assert [h.sentence_id for h in hits_a][:3] == [h.sentence_id for h in hits_b][:3]


def test_a_vector_index_ahead_of_its_state_is_rebuilt(demo_pair):
    """A crash between writing vectors and recording them: the next open rebuilds from the cache."""
    _, b, _, url = demo_pair
    vs = b.context().vectors
    vs.update()
    table = vs.index().table
    with b.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {table} WHERE sentence_id IN (SELECT sentence_id FROM {table} LIMIT 5)"))
        n_cache = conn.execute(select(Embedding.key)).all()
    fresh = Workspace(url)
    idx = fresh.context().vectors.index()
    assert len(idx) == len(vs.index())  # rebuilt to the recorded count, nothing re-embedded
    with fresh.engine.connect() as conn:
        assert len(conn.execute(select(Embedding.key)).all()) == len(n_cache)
    fresh.close()


def test_unreachable_server_gives_a_clear_error(tmp_path):
    with pytest.raises(db.StoreError, match="cannot connect to postgresql"):
        Workspace("postgresql://someone:secret@127.0.0.1:1/nowhere")
    res = CliRunner().invoke(app, ["stats", "-w", "postgresql://someone:secret@127.0.0.1:1/nowhere"])
    assert res.exit_code == StoreFailure.exit_code == 4 and "cannot connect" in res.output and "secret" not in res.output


API_READS = ["/api/sources", "/api/documents?limit=500", "/api/documents?language=fa&limit=5", "/api/documents/12",
             "/api/sentences?limit=50", "/api/narratives", "/api/matches?limit=1000",
             "/api/narratives/front-organises-unrest/matches", "/api/narratives/front-organises-unrest/prevalence",
             "/api/narratives/front-organises-unrest/spread", "/api/contradictions", "/api/quotes?limit=500",
             "/api/speakers", "/api/coordination", "/api/entities", "/api/search?q=Front&semantic=true&limit=5"]


def test_the_rest_api_answers_the_same_on_both_stores(demo_pair):
    """The analyst's desk reads through the same Workspace calls: every read gives the same JSON."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from narratrace.serve.app import create_app

    a, b, _, _ = demo_pair
    ca, cb = TestClient(create_app(a)), TestClient(create_app(b))
    for url in API_READS:
        ra, rb = ca.get(url), cb.get(url)
        assert ra.status_code == rb.status_code == 200, (url, ra.status_code, rb.status_code, rb.text[:300])
        assert ra.json() == rb.json(), url
    stats_a, stats_b = ca.get("/api/stats").json(), cb.get("/api/stats").json()
    stats_a.pop("workspace"), stats_b.pop("workspace")
    assert stats_a == stats_b


@pytest.mark.slow
def test_the_demo_runs_on_postgresql_and_scores_as_on_sqlite(demo_build, pg_server, tmp_path, monkeypatch):
    """The whole pipeline — ingest, clean, quotes, embeddings (pgvector), matching, contradictions,
    coordination — on PostgreSQL from the start, scored against the same gold as the SQLite build."""
    import io

    from rich.console import Console

    from narratrace.demo.run import run_demo

    monkeypatch.chdir(tmp_path)  # the chart of a URL workspace goes to the current folder
    url = pg_server.create_database("demo_native")
    try:
        got = run_demo(url, console=Console(file=io.StringIO(), width=160), err=Console(file=io.StringIO()))
    finally:
        pg_server.drop_database("demo_native")
    ref = demo_build["result"]
    assert "secret" not in got["workspace"] and got["workspace"].startswith("postgresql")
    assert got["ingest"]["added"] == ref["ingest"]["added"]
    assert got["gold_record"] == ref["gold_record"]
    for key in ("gold_provenance", "gold_quotes"):
        assert got["provenance"][key] == ref["provenance"][key], key
    for key in ("gold_matches", "gold_contradictions", "gold_translations", "matches", "contradictions", "narratives"):
        assert got["analysis"][key] == ref["analysis"][key], key
    assert (tmp_path / "narratrace-demo.prevalence.html").exists()
