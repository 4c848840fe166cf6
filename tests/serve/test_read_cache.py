"""The read cache (serve/cache.py): an answer is kept only while nothing commits to the store,
whoever commits (this server, another process, another connection), and only after the request
was authorised. PostgreSQL has no revision counter: nothing is cached there."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from narratrace.ingest.items import RawItem
from narratrace.serve.app import create_app
from narratrace.serve.cache import ReadCache
from narratrace.workspace import Workspace

TOKENS = {"viewer-token-123": ("vic", "viewer"), "analyst-token-456": ("ana", "analyst")}
VIEW = {"Authorization": "Bearer viewer-token-123"}


def _note(i: int) -> RawItem:
    return RawItem(origin=f"note-{i}.txt", kind="text",
                   data=f"Note {i}\n\nThe harbour board of Norvale met on day {i} and kept the fees.".encode())


def _docs(client, **kw) -> int:
    r = client.get("/api/stats", **kw)
    assert r.status_code == 200, r.text
    return r.json()["documents"]


@pytest.fixture
def served(ws):
    app = create_app(ws)
    return app, TestClient(app)


def test_a_repeated_read_is_answered_from_the_cache_until_something_commits(served, ws):
    app, client = served
    cache: ReadCache = app.state.read_cache
    assert _docs(client) == 0
    misses = cache.misses
    assert _docs(client) == 0
    if ws.revision() is None:  # PostgreSQL: nothing cached, every read computed
        assert cache.hits == 0 and cache.misses == misses
        return
    assert cache.hits == 1 and cache.misses == misses
    ws.ingest_items([_note(1)], workers=1)  # a commit through this Workspace's own pool
    assert _docs(client) == 1
    assert cache.misses == misses + 1


def test_a_commit_by_another_connection_or_process_is_seen(served, ws, store_url):
    app, client = served
    assert _docs(client) == 0 and _docs(client) == 0
    other = Workspace(store_url)  # another connection pool, as another process would have
    try:
        other.ingest_items([_note(2)], workers=1)
    finally:
        other.close()
    assert _docs(client) == 1


def test_the_query_string_is_part_of_the_key(served, ws):
    _, client = served
    ws.ingest_items([_note(3), _note(4)], workers=1)
    one = client.get("/api/documents?limit=1").json()
    two = client.get("/api/documents?limit=2").json()
    assert len(one) == 1 and len(two) == 2


def test_a_cached_answer_is_never_served_without_authorisation(ws):
    client = TestClient(create_app(ws, tokens=TOKENS, host="0.0.0.0"))
    assert _docs(client, headers=VIEW) == 0
    assert _docs(client, headers=VIEW) == 0  # now cached (SQLite)
    assert client.get("/api/stats").status_code == 401
    assert client.get("/api/stats", headers={"Authorization": "Bearer wrong-token-000"}).status_code == 401


def test_the_cache_keeps_within_its_bounds():
    cache = ReadCache(max_bytes=100, max_body=60)
    cache.put("a", 1, b"x" * 50)
    cache.put("b", 1, b"y" * 40)
    cache.put("big", 1, b"z" * 61)  # larger than one body may be: not kept
    assert cache.get("big", 1) is None
    cache.put("c", 1, b"w" * 30)  # 120 bytes: the oldest goes
    assert cache.get("a", 1) is None and cache.get("b", 1) == b"y" * 40 and cache.get("c", 1) == b"w" * 30
    assert cache.get("b", 2) is None  # another revision: a miss


def test_the_cache_can_be_turned_off_and_a_bad_size_is_named(ws, monkeypatch):
    from narratrace.errors import InvalidInput

    monkeypatch.setenv("NARRATRACE_READ_CACHE_MB", "0")
    app = create_app(ws)
    client = TestClient(app)
    assert _docs(client) == 0 and _docs(client) == 0
    assert app.state.read_cache.hits == 0 and not app.state.read_cache.enabled
    monkeypatch.setenv("NARRATRACE_READ_CACHE_MB", "lots")
    with pytest.raises(InvalidInput, match="NARRATRACE_READ_CACHE_MB"):
        create_app(ws)
