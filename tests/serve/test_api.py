"""The REST API over the fictional demo workspace: reads, spans, auth, writes with audit, hostile
uploads, security headers, the committed OpenAPI spec and a schemathesis run over every GET."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from narratrace.serve.app import SECURITY_HEADERS, create_app
from narratrace.serve.auth import AuthConfigError

REPO = Path(__file__).resolve().parents[2]  # tests/serve/test_api.py -> the repository
DEMO_DATA = REPO / "src" / "narratrace" / "demo" / "data"
TOKENS = {"viewer-token-123": ("vic", "viewer"), "analyst-token-456": ("ana", "analyst")}
VIEW = {"Authorization": "Bearer viewer-token-123"}
ANALYST = {"Authorization": "Bearer analyst-token-456"}
CSRF = {"X-Narratrace": "1"}


@pytest.fixture(scope="module")
def dws(demo_build, tmp_path_factory):
    from conftest import copy_demo

    from narratrace.workspace import Workspace

    ws = Workspace(copy_demo(demo_build, tmp_path_factory.mktemp("api")))
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def client(dws):
    return TestClient(create_app(dws))


@pytest.fixture(scope="module")
def authed(dws):
    return TestClient(create_app(dws, tokens=TOKENS, host="0.0.0.0"))


def _ok(client, url, **kw):
    r = client.get(url, **kw)
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


# -- reads ---------------------------------------------------------------------------------------

def test_read_endpoints_return_the_demo(client, dws):
    sources = _ok(client, "/api/sources")
    assert {"kt", "kna", "gpw"} <= {s["key"] for s in sources}
    fa = _ok(client, "/api/documents?language=fa&limit=5")
    assert fa and all(d["language"] == "fa" and d.get("text") is None for d in fa)
    kt = _ok(client, "/api/documents?source=kt&since=2026-03-08T00:00:00&until=2026-03-08T23:59:59")
    assert kt and all(d["source"] == "kt" and d["published_at"].startswith("2026-03-08") for d in kt)
    page = _ok(client, "/api/documents?limit=3&offset=2")
    assert [d["id"] for d in page] == [d.id for d in dws.documents(limit=3, offset=2)]
    assert client.get("/api/documents?limit=1001").status_code == 422  # pages are capped
    assert len(_ok(client, "/api/sentences?limit=7")) == 7
    hits = _ok(client, "/api/search?q=cult&audience=foreign")
    assert hits and all(h["audience"] == "foreign" for h in hits)
    assert _ok(client, "/api/stats")["documents"] >= 69

    keys = {n["key"] for n in _ok(client, "/api/narratives")}
    assert {"no-domestic-support", "front-organises-unrest"} <= keys
    m = _ok(client, "/api/narratives/no-domestic-support/matches")
    assert m and all(x["narrative"] == "no-domestic-support" for x in m)
    prev = _ok(client, "/api/narratives/no-domestic-support/prevalence?period=week&by=source")
    assert prev and sum(r["documents"] for r in prev) > 0
    spread = _ok(client, "/api/narratives/no-domestic-support/spread")
    assert spread and spread[0]["first"] <= spread[-1]["first"]
    r = client.get("/api/narratives/no-such-thing/matches")
    assert r.status_code == 404 and "no narrative 'no-such-thing'" in r.json()["detail"]
    assert client.get("/api/narratives/x/prevalence?period=year").status_code == 422

    contra = _ok(client, "/api/contradictions?cross_audience=true")
    assert contra and all(c["cross_audience"] for c in contra)
    assert _ok(client, "/api/contradictions?actor=kavaran-state&limit=1")[0]["actor"] == "kavaran-state"
    quotes = _ok(client, "/api/quotes?speaker=henrik-vallo")
    assert quotes and all(q["speaker_key"] == "entity:henrik-vallo" for q in quotes)
    speakers = _ok(client, "/api/speakers?min_outlets=3")
    assert "entity:henrik-vallo" in {s["key"] for s in speakers}
    burst = _ok(client, "/api/coordination?method=near-duplicate")[0]
    assert burst["first_source"] == "kt" and len(burst["sources"]) >= 4
    assert any(e["key"] == "henrik-vallo" for e in _ok(client, "/api/entities"))


def test_errors_are_json_with_the_message(client):
    r = client.get("/api/documents/999999")
    assert r.status_code == 404 and r.json() == {"detail": "no document with id 999999 (list them with "
                                                           "`narratrace docs list`)"}
    r = client.get("/api/narratives/nope/spread")
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    assert client.get("/api/documents/0").status_code == 422


def test_semantic_search_finds_across_languages(client):
    hits = _ok(client, "/api/search", params={"q": "the opposition organises the riots", "semantic": 1, "limit": 10})
    assert hits and {"sentence_id", "score", "text"} <= set(hits[0])
    assert {h["language"] for h in hits} & {"fa"}


def test_document_spans_are_exact(client):
    quotes = _ok(client, "/api/quotes?speaker=henrik-vallo&limit=3")
    doc = _ok(client, f"/api/documents/{quotes[0]['document_id']}")
    text = doc["text"]
    assert doc["sentences"] and all(text[s["start"]:s["end"]] == s["text"] for s in doc["sentences"])
    kinds = {sp["kind"] for sp in doc["spans"]}
    assert {"quote", "cue", "speaker", "mention"} <= kinds
    for sp in doc["spans"]:
        assert text[sp["start"]:sp["end"]] == sp["text"], sp
    q = quotes[0]
    assert any(sp["kind"] == "quote" and sp["quote_id"] == q["id"] and sp["text"] == q["text"] for sp in doc["spans"])
    match = _ok(client, "/api/narratives/no-domestic-support/matches?limit=1")[0]
    doc = _ok(client, f"/api/documents/{match['document_id']}")
    assert any(sp["kind"] == "match" and sp["sentence_id"] == match["sentence_id"] and sp["text"] == match["text"]
               for sp in doc["spans"])


def test_concurrent_reads_share_the_workspace(client):
    urls = ["/api/sources", "/api/documents?limit=50", "/api/quotes?limit=50", "/api/contradictions", "/api/stats",
            "/api/narratives", "/api/coordination", "/api/documents/1"] * 6
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda u: client.get(u).status_code, urls))
    assert codes == [200] * len(urls)


# -- auth ----------------------------------------------------------------------------------------

def test_open_on_loopback_refused_beyond_it(dws, client):
    assert _ok(client, "/api/sources")
    for host in ("0.0.0.0", "192.168.1.5", "::"):
        with pytest.raises(AuthConfigError, match=f"bound to {host} narratrace needs tokens: --token NAME:ROLE:TOKEN"):
            create_app(dws, host=host)
        with pytest.raises(AuthConfigError):
            create_app(dws, host=host, tokens={})
    create_app(dws, host="::1")
    create_app(dws, host="localhost")
    # open mode answers localhost only: a DNS-rebinding page arrives with its own host name
    r = client.get("/api/sources", headers={"Host": "evil.example"})
    assert r.status_code == 400 and "localhost" in r.json()["detail"]
    assert client.get("/api/sources", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    # and an open-mode write from a browser form (no custom header) is refused: CSRF
    r = client.post("/api/reviews", json={"kind": "match", "sentence_id": 1, "narrative": "x", "verdict": "confirmed"})
    assert r.status_code == 403 and "X-Narratrace" in r.json()["detail"]


def test_roles_bearer(authed, dws):
    assert authed.get("/api/sources").status_code == 401
    assert authed.get("/api/sources", headers={"Authorization": "Bearer wrong-token-000"}).status_code == 401
    assert authed.get("/api/sources", headers=VIEW).status_code == 200
    m = dws.matches("no-domestic-support", limit=1)[0]
    body = {"kind": "match", "sentence_id": m.sentence_id, "narrative": "no-domestic-support", "verdict": "rejected",
            "note": "sarcasm"}
    r = authed.post("/api/reviews", json=body, headers=VIEW)
    assert r.status_code == 403 and "analyst role" in r.json()["detail"]
    assert authed.post("/api/narratives", content=b"narratives: []", headers=VIEW).status_code == 403
    r = authed.post("/api/reviews", json=body, headers=ANALYST)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["reviewer"] == "ana" and out["verdict"] == "rejected" and out["note"] == "sarcasm"
    again = [x for x in dws.matches("no-domestic-support") if x.sentence_id == m.sentence_id][0]
    assert again.review == "rejected"


def test_cookie_login_and_csrf(authed, dws):
    c = TestClient(authed.app)
    r = c.post("/login", data={"token": "nope-nope-nope"}, follow_redirects=False)
    assert r.status_code == 401
    r = c.post("/login", data={"token": "analyst-token-456", "next": "//evil.example/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "narratrace_token=" in cookie and "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    assert c.get("/api/sources").status_code == 200
    # a pair stored in id order: list_contradictions joins reviews on (a, b) as stored, while
    # review() stores (min, max) — pairs stored the other way round never show their review (reported)
    c2 = next(c for c in dws.contradictions() if c.a_sentence_id < c.b_sentence_id)
    body = {"kind": "contradiction", "sentence_id": c2.a_sentence_id, "other_sentence_id": c2.b_sentence_id,
            "verdict": "confirmed"}
    r = c.post("/api/reviews", json=body)
    assert r.status_code == 403 and "X-Narratrace: 1" in r.json()["detail"]
    r = c.post("/api/reviews", json=body, headers=CSRF)
    assert r.status_code == 200 and r.json()["reviewer"] == "ana"
    assert next(c for c in dws.contradictions() if c.id == c2.id).review == "confirmed"
    r = c.post("/logout", follow_redirects=False)
    assert r.status_code == 303 and 'narratrace_token=""' in r.headers["set-cookie"]


def test_review_bad_input_is_400(client):
    r = client.post("/api/reviews", json={"kind": "match", "sentence_id": 1, "narrative": "no-such",
                                          "verdict": "confirmed"}, headers=CSRF)
    assert r.status_code == 400 and "unknown narrative 'no-such'" in r.json()["detail"]
    r = client.post("/api/reviews", json={"kind": "match", "sentence_id": 10**9, "narrative": "no-such",
                                          "verdict": "confirmed"}, headers=CSRF)
    assert r.status_code == 400 and "no sentence with id" in r.json()["detail"]
    r = client.post("/api/reviews", json={"kind": "bogus", "sentence_id": 1, "verdict": "confirmed"}, headers=CSRF)
    assert r.status_code == 422


# -- writes with audit ---------------------------------------------------------------------------

def test_imports_are_audited(authed, dws):
    yaml = (DEMO_DATA / "narratives.yaml").read_bytes()
    r = authed.post("/api/narratives", content=yaml, headers={**ANALYST, "Content-Type": "application/yaml"})
    assert r.status_code == 200, r.text
    assert r.json()["by"] == "ana" and r.json()["counts"]
    files = {"file": ("sources.yaml", (DEMO_DATA / "sources.yaml").read_bytes(), "application/yaml")}
    r = authed.post("/api/sources", files=files, headers=ANALYST)
    assert r.status_code == 200, r.text
    r = authed.post("/api/sources", content=b"sources: [ {unclosed", headers=ANALYST)
    assert r.status_code == 400 and r.json()["detail"].startswith("body.yaml: ")
    assert "/tmp" not in r.json()["detail"]
    rows = dws.audit()
    actions = [(e.action, e.user, e.role, e.target) for e in rows]
    assert ("narratives.import", "ana", "analyst", "body.yaml") in actions
    assert ("sources.import", "ana", "analyst", "sources.yaml") in actions
    assert all(e.at is not None for e in rows)
    assert _ok(authed, "/api/audit", headers=VIEW)[0]["action"] == "sources.import"


def test_hostile_uploads_name_the_file_and_lose_nothing(client, dws):
    before = dws.stats()
    files = [("files", ("junk.html", bytes(range(256)) * 64 + b"\x00\xff" * 500, "text/html")),
             ("files", ("empty.txt", b"", "text/plain")),
             ("files", ("../../etc/passwd.exe", b"root:x:0:0", "application/octet-stream"))]
    r = client.post("/api/ingest", files=files, headers=CSRF)
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert "upload:junk.html" in detail and "upload:empty.txt" in detail and "passwd.exe" in detail
    assert "/tmp" not in detail and "narratrace-ingest" not in detail
    after = dws.stats()
    assert (after["documents"], after["sentences"]) == (before["documents"], before["sentences"])
    assert dws.document(1).text  # the store still reads
    good = [("files", ("note.txt", b"A fictional note about the Dastgerd hearings, written for the API "
                                   b"test. It has two sentences.", "text/plain"))]
    r = client.post("/api/ingest", files=good, headers=CSRF)
    assert r.status_code == 200 and r.json()["added"] == 1, r.text
    doc = dws.document(r.json()["document_ids"][0])
    assert doc.origin == "upload:note.txt"
    assert client.post("/api/ingest", files=good, headers=CSRF).json()["already_present"] == 1


# -- headers, spec, CLI ------------------------------------------------------------------------------

def test_security_headers_on_every_response(client, authed):
    for r in (client.get("/api/sources"), client.get("/docs"), client.get("/openapi.json"),
              client.get("/api/documents/999999"), authed.get("/api/sources"), client.get("/no/such/page")):
        for k, v in SECURITY_HEADERS.items():
            assert r.headers.get(k) == v, (r.url, k)
    page = client.get("/docs")
    assert page.headers["content-type"].startswith("text/html") and "/api/reviews" in page.text
    assert "<script" not in page.text and "cdn" not in page.text.lower()


def test_committed_openapi_is_current(client):
    committed = json.loads((REPO / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(client.app.openapi())), \
        "docs/openapi.json is stale: run `python -m narratrace.serve.app --write-openapi docs/openapi.json`"


def test_serve_command_help_and_refusal(dws):
    import typer
    from typer.testing import CliRunner

    from narratrace.cli.serve import register

    app = typer.Typer()
    register(app)

    @app.command()
    def _other() -> None:  # a second command keeps Typer from collapsing the app into `serve`
        pass

    runner = CliRunner()
    r = runner.invoke(app, ["serve", "--help"])
    assert r.exit_code == 0 and "Example:" in r.output
    r = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--workspace", dws.path], env={"NARRATRACE_TOKENS": ""})
    assert r.exit_code == 1 and "needs tokens" in r.output
    r = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--workspace", dws.path, "--token", "ana:boss:long-enough-1"])
    assert r.exit_code == 1 and "role 'boss'" in r.output


# -- schemathesis over every read -------------------------------------------------------------------

def test_reads_conform_to_the_spec(client):
    """Every GET with generated parameters: no 5xx, declared status codes, bodies valid against the spec."""
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app).include(method="GET")
    ran = []
    for result in schema.get_all_operations():
        op = result.ok()
        ran.append(op.label)

        @given(case=op.as_strategy())
        @settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(checks=checks)

        run()
    assert len(ran) >= 17 and "GET /api/documents/{doc_id}" in ran, ran
