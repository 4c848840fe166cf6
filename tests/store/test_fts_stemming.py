"""English full-text search stems (porter on SQLite, Snowball English on PostgreSQL) while Persian
search stays as it was (exact normalised forms), and migration 0013 rebuilds an existing index —
on a tiny fictional corpus (Veltria, Morrow), on both backends (PostgreSQL: integration)."""

from __future__ import annotations

from datetime import datetime

import pytest
from alembic import command
from sqlalchemy import text

from narratrace.ingest.items import RawItem
from narratrace.store import db

DOCS = [
    ("en-1", "en", "Thousands protested outside the Veltria assembly on Monday."),
    ("en-2", "en", "The protests in Morrow grew louder after the harbour closed."),
    ("en-3", "en", "A single protest was held by fishermen near the old lighthouse."),
    ("en-4", "en", "The ministry published a report on harbour tariffs."),
    ("fa-1", "fa", "اعتراضات در شهر مورو ادامه دارد و بازاریان مغازه‌ها را بستند."),
    ("fa-2", "fa", "یک اعتراض کوچک در نزدیکی بندر برگزار شد."),
    ("fa-3", "fa", "معترضان خواستار بازگشایی بندر شدند."),
]


def origins(hits) -> set[str]:
    return {h.url.rsplit("/", 1)[-1] for h in hits}


def ingest(ws) -> None:
    ws.ingest_items([RawItem(origin=o, kind="record", language=lang, published_at=datetime(2026, 5, 4, 9),
                             url=f"https://news.example/{o}", text=body, title=None) for o, lang, body in DOCS])


@pytest.fixture
def corpus(ws):
    ingest(ws)
    return ws


def test_english_words_find_their_inflections_both_ways(corpus):
    every = {"en-1", "en-2", "en-3"}
    for q in ("protest", "protests", "protested", "protesting", "PROTESTS"):
        assert origins(corpus.search(q)) == every, q
    # prefix and phrase keep their meaning (the phrase's words are stemmed too, in order)
    assert origins(corpus.search("protest*")) == every
    assert origins(corpus.search('"protests in Morrow"')) == {"en-2"}
    assert origins(corpus.search('"protest in morrow"')) == {"en-2"}
    assert corpus.search('"Morrow protests"') == []
    assert origins(corpus.search("harbours tariff")) == {"en-4"}
    # the snippet marks the word as written in the document, whatever form was asked for
    hit = next(h for h in corpus.search("protest") if h.url.endswith("en-2"))
    assert "\u27e8protests\u27e9" in hit.snippet


def test_persian_search_is_unchanged_exact_normalised_forms(corpus):
    # no English rule touches Arabic-script tokens: each form finds only itself, as before
    assert origins(corpus.search("اعتراضات")) == {"fa-1"}
    assert origins(corpus.search("اعتراض")) == {"fa-2"}
    assert origins(corpus.search("معترضان")) == {"fa-3"}
    assert origins(corpus.search("مغازه‌ها")) == {"fa-1"}  # ZWNJ kept inside the word
    assert origins(corpus.search("بندر", language="fa")) == {"fa-2", "fa-3"}
    assert origins(corpus.search("protest OR اعتراض")) == {"en-1", "en-2", "en-3", "fa-2"}


def _fts_rows(engine) -> int:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return conn.execute(text("SELECT count(*) FROM document_fts WHERE document_fts MATCH 'protest'")).scalar()
        return conn.execute(text("SELECT count(*) FROM document WHERE fts_vector @@ "
                                 "to_tsquery('narratrace_search', 'protest')")).scalar()


def test_migration_0013_rebuilds_an_existing_index_and_is_rerunnable(corpus):
    engine = corpus.engine
    cfg = db._alembic_config(engine)
    command.downgrade(cfg, "0012")  # the index as it was before: every document, unstemmed
    # (PostgreSQL stems the query with today's configuration: only the exact form compares here)
    assert origins(corpus.search("protest")) == {"en-3"}
    assert origins(corpus.search("اعتراض")) == {"fa-2"}
    command.upgrade(cfg, "head")  # rebuilt from the stored text: old documents are stemmed
    assert origins(corpus.search("protest")) == {"en-1", "en-2", "en-3"}
    assert _fts_rows(engine) == 3
    # re-running the migration over an index it already rebuilt changes nothing and adds no rows
    command.stamp(cfg, "0012")
    command.upgrade(cfg, "head")
    assert origins(corpus.search("protests")) == {"en-1", "en-2", "en-3"}
    assert origins(corpus.search("اعتراضات")) == {"fa-1"}
    assert _fts_rows(engine) == 3
    # documents stored after the migration are indexed by the triggers / generated column
    corpus.ingest_items([RawItem(origin="en-5", kind="record", language="en", url="https://news.example/en-5",
                                 text="Dockworkers are protesting the new tariffs in Morrow.")])
    assert "en-5" in origins(corpus.search("protested"))


def test_search_page_finds_inflections_and_marks_the_written_form(corpus):
    from fastapi.testclient import TestClient

    from narratrace.serve.app import create_app

    client = TestClient(create_app(corpus.path), follow_redirects=False)
    r = client.get("/search", params={"q": "protested"})
    assert r.status_code == 200
    assert "3 documents for" in r.text and "<mark>protests</mark>" in r.text and "<mark>protest</mark>" in r.text
    fa = client.get("/search", params={"q": "اعتراض"}).text
    assert "1 documents for" in fa and "<mark>اعتراض</mark>" in fa
