"""Request bodies: the token is checked before a byte of a write's body is read, and every body
is capped (NARRATRACE_MAX_BODY_MB), declared or chunked (serve/app.py BodyGuard).

The proof that nothing is read: requests go straight into the ASGI app with a ``receive`` that
hands over the body one chunk at a time and counts what it handed over. Without the guard FastAPI
reads the whole body before the auth dependency runs, so these counts would be the full body."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from narratrace.errors import InvalidInput
from narratrace.serve.app import PUBLIC_BODY_BYTES, SECURITY_HEADERS, create_app, max_body_bytes

DEMO_DATA = Path(__file__).resolve().parents[2] / "src" / "narratrace" / "demo" / "data"
TOKENS = {"viewer-token-123": ("vic", "viewer"), "analyst-token-456": ("ana", "analyst")}
VIEW = {"Authorization": "Bearer viewer-token-123"}
ANALYST = {"Authorization": "Bearer analyst-token-456"}
CSRF = {"X-Narratrace": "1"}
CHUNK = 64 * 1024
MB = 1024 * 1024
REVIEW = {"kind": "contradiction", "sentence_id": 1, "other_sentence_id": 2, "verdict": "confirmed"}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """An empty workspace plus one three-sentence document (no models, well under a second)."""
    from narratrace.ingest.items import RawItem
    from narratrace.workspace import Workspace

    w = Workspace(tmp_path_factory.mktemp("limits") / "w.db", create=True)
    w.ingest_items([RawItem(origin="t#1", kind="record", language="en",
                            text="The council met on Monday. The mayor said the budget was fine. The river rose.")])
    yield w
    w.close()


@pytest.fixture
def app(ws, monkeypatch):
    monkeypatch.setenv("NARRATRACE_MAX_BODY_MB", "1")
    return create_app(ws, tokens=TOKENS, host="0.0.0.0")


def body(n_bytes: int, chunk: int = CHUNK) -> Iterator[bytes]:
    """``n_bytes`` of body in ``chunk``-sized pieces, made only as they are asked for."""
    piece = b"x" * chunk
    for _ in range(n_bytes // chunk):
        yield piece


class Sent:
    def __init__(self, handed: int, messages: list[dict]):
        self.handed = handed  # body bytes the app pulled through receive()
        start = next(m for m in messages if m["type"] == "http.response.start")
        self.status = start["status"]
        self.headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
        self.body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")

    def json(self):
        return json.loads(self.body)


def call(app, method: str, path: str, headers: dict[str, str], chunks: Iterable[bytes] = (),
         length: int | None = None, host: str = "testserver") -> Sent:
    """One request straight into the ASGI app. The body is handed over only as the app calls
    ``receive()``; ``length`` is the declared Content-Length (None: chunked, none declared)."""
    handed = 0
    messages: list[dict] = []
    it = iter(chunks)

    async def run():
        done = asyncio.Event()
        finished = False

        async def receive():
            nonlocal handed, finished
            if not finished:
                piece = next(it, None)
                if piece is not None:
                    handed += len(piece)
                    return {"type": "http.request", "body": piece, "more_body": True}
                finished = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()  # as a server does: nothing more until the client goes away
            return {"type": "http.disconnect"}

        async def send(message):
            messages.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        raw = [(k.lower().encode(), v.encode()) for k, v in {"host": host, **headers}.items()]
        if length is not None:
            raw.append((b"content-length", str(length).encode()))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
                 "query_string": b"", "headers": raw, "client": ("127.0.0.1", 50000),
                 "server": ("testserver", 80)}
        await asyncio.wait_for(app(scope, receive, send), 60)

    asyncio.run(run())
    return Sent(handed, messages)


# -- auth before the body -------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/reviews", "/api/narratives", "/api/sources", "/api/ingest"])
def test_a_write_without_a_token_is_refused_unread(app, path):
    # 4 MB, under no limit that could explain a refusal: only the token can
    for length in (4 * MB, None):
        r = call(app, "POST", path, {"Content-Type": "application/json"}, body(4 * MB), length=length)
        assert r.status == 401 and r.handed == 0, (path, length, r.status, r.handed)
        assert r.json() == {"detail": "sign in: send 'Authorization: Bearer <token>' or log in at /login"}
        assert r.headers["www-authenticate"] == "Bearer" and r.headers["connection"] == "close"
        assert r.headers["x-frame-options"] == SECURITY_HEADERS["X-Frame-Options"]


def test_a_1_gib_body_without_a_token_gets_its_401_not_a_413(app):
    # declares 1 GiB; 2 MB are there to be read (a regression fails on the count, not on memory)
    r = call(app, "POST", "/api/reviews", {}, body(2 * MB), length=1024 * MB)
    assert r.status == 401 and r.handed == 0


def test_wrong_token_viewer_and_missing_csrf_header_are_refused_unread(app):
    r = call(app, "POST", "/api/reviews", {"Authorization": "Bearer wrong-token-000"}, body(4 * MB), length=4 * MB)
    assert r.status == 401 and r.handed == 0
    r = call(app, "POST", "/api/reviews", VIEW, body(4 * MB), length=4 * MB)
    assert r.status == 403 and r.handed == 0 and "analyst role" in r.json()["detail"]
    cookie = {"Cookie": "narratrace_token=analyst-token-456"}  # a browser session without the CSRF header
    r = call(app, "POST", "/api/reviews", cookie, body(4 * MB))
    assert r.status == 403 and r.handed == 0 and "X-Narratrace: 1" in r.json()["detail"]


def test_open_mode_refuses_a_foreign_host_unread_and_serves_loopback(ws):
    app = create_app(ws)
    r = call(app, "POST", "/api/reviews", CSRF, body(4 * MB), host="evil.example")
    assert r.status == 400 and r.handed == 0 and "open mode" in r.json()["detail"]
    r = call(app, "POST", "/api/reviews", {}, body(4 * MB))  # no CSRF header
    assert r.status == 403 and r.handed == 0
    r = TestClient(app).post("/api/reviews", json={**REVIEW, "note": "open"}, headers=CSRF)
    assert r.status_code == 200 and r.json()["reviewer"] == "local", r.text


# -- the size limit --------------------------------------------------------------------------------

def test_a_declared_length_over_the_limit_is_413_unread(app):
    for path in ("/api/reviews", "/api/ingest"):
        r = call(app, "POST", path, ANALYST, body(2 * MB), length=MB + 1)
        assert r.status == 413 and r.handed == 0
        assert list(r.json()) == ["detail"] and "larger than 1 MB" in r.json()["detail"]
        assert r.headers["connection"] == "close" and r.headers["content-type"] == "application/json"


def _multipart(payload: Iterable[bytes]) -> Iterator[bytes]:
    yield (b'--b0undary\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n'
           b"Content-Type: text/plain\r\n\r\n")
    yield from payload


@pytest.mark.parametrize(("path", "ctype", "make"), [
    ("/api/reviews", "application/json", lambda n: body(n)),                 # FastAPI reads it: a 400 inside
    ("/api/narratives", "application/yaml", lambda n: body(n)),              # the endpoint streams it
    ("/api/ingest", "multipart/form-data; boundary=b0undary", lambda n: _multipart(body(n))),  # spooled
])
def test_a_chunked_body_is_cut_at_the_limit(app, path, ctype, make):
    r = call(app, "POST", path, {**ANALYST, "Content-Type": ctype}, make(64 * MB))
    assert r.status == 413, (path, r.status, r.body[:200])
    assert MB < r.handed <= MB + CHUNK, r.handed
    assert r.json() == {"detail": "request body larger than 1 MB (NARRATRACE_MAX_BODY_MB): send less, "
                                  "or split the upload"}


def test_the_registry_import_streams_with_its_own_cap(ws, monkeypatch):
    monkeypatch.setenv("NARRATRACE_MAX_BODY_MB", "64")
    app = create_app(ws, tokens=TOKENS, host="0.0.0.0")
    r = call(app, "POST", "/api/narratives", {**ANALYST, "Content-Type": "application/yaml"}, body(32 * MB))
    assert r.status == 413 and "larger than 5 MB" in r.json()["detail"]
    assert r.handed <= 5 * MB + CHUNK, r.handed


def test_login_is_public_with_a_small_cap(app):
    r = call(app, "POST", "/login", {"Content-Type": "application/x-www-form-urlencoded"}, body(MB))
    assert r.status == 413 and r.handed <= PUBLIC_BODY_BYTES + CHUNK
    assert "larger than 64 KB" in r.json()["detail"]
    r = call(app, "POST", "/login", {}, body(MB), length=MB)
    assert r.status == 413 and r.handed == 0


# -- what must keep working ------------------------------------------------------------------------

def test_authorised_writes_go_through(app):
    c = TestClient(app)
    r = c.post("/api/reviews", json={**REVIEW, "note": "bearer"}, headers=ANALYST)
    assert r.status_code == 200, r.text
    assert r.json()["reviewer"] == "ana" and r.json()["note"] == "bearer"
    r = c.post("/api/narratives", content=(DEMO_DATA / "narratives.yaml").read_bytes(),
               headers={**ANALYST, "Content-Type": "application/yaml"})
    assert r.status_code == 200 and r.json()["counts"], r.text
    r = c.post("/api/ingest", files=[("files", ("note.txt", b"The harbour reopened on Tuesday.", "text/plain"))],
               headers=ANALYST)
    assert r.status_code == 200 and r.json()["added"] == 1, r.text
    # the browser: log in (a public write), then a write with the cookie and the CSRF header
    r = c.post("/login", data={"token": "analyst-token-456"}, follow_redirects=False)
    assert r.status_code == 303
    r = c.post("/api/reviews", json={**REVIEW, "note": "cookie"}, headers=CSRF)
    assert r.status_code == 200 and r.json()["note"] == "cookie", r.text
    # under the limit, chunked: read to the end and answered by the endpoint
    data = json.dumps({**REVIEW, "note": "x" * (MB // 2)}).encode()
    r = call(app, "POST", "/api/reviews", {**ANALYST, "Content-Type": "application/json"},
             (data[i:i + CHUNK] for i in range(0, len(data), CHUNK)))
    assert r.status == 422 and r.handed == len(data)  # the note is over ReviewIn's 10,000 characters
    assert r.json()["detail"][0]["loc"] == ["body", "note"]


def test_reads_are_unaffected(app):
    c = TestClient(app)
    r = c.get("/api/sentences", headers=VIEW)
    assert r.status_code == 200 and len(r.json()) >= 3
    assert c.get("/api/sentences").status_code == 401
    r = call(app, "GET", "/api/stats", VIEW)
    assert r.status == 200 and r.handed == 0 and r.json()["documents"] >= 1


def test_the_limit_is_a_setting(monkeypatch):
    monkeypatch.delenv("NARRATRACE_MAX_BODY_MB", raising=False)
    assert max_body_bytes() == 64 * MB
    monkeypatch.setenv("NARRATRACE_MAX_BODY_MB", "0.5")
    assert max_body_bytes() == MB // 2
    for bad in ("0", "-3", "lots", "inf", "nan"):
        monkeypatch.setenv("NARRATRACE_MAX_BODY_MB", bad)
        with pytest.raises(InvalidInput, match="NARRATRACE_MAX_BODY_MB"):
            max_body_bytes()
