"""One meaning of the time filters and one error handler, on the REST API and the dashboard, over
a tiny workspace (no demo build, no model): ``until=<day>`` keeps that whole day in UTC, a bad
date is a 400 that names its parameter, and a Workspace error answers with its class's status."""

from __future__ import annotations

from datetime import datetime

import pytest
from conftest import write
from fastapi.testclient import TestClient

CSRF = {"X-Narratrace": "1"}
SOURCES = """actors:
- id: kv
  name: Government of Kavaran
  kind: state
sources:
- id: kt
  name: Kavaran Times
  actor: kv
  audience: foreign
  language: en
"""
# published late on 1 March, early on 2 March (UTC), and on 28 February
DAYS = {"late": datetime(2026, 3, 1, 23, 59, 30), "next": datetime(2026, 3, 2, 0, 0, 30),
        "before": datetime(2026, 2, 28, 12, 0)}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    from narratrace.ingest.items import RawItem
    from narratrace.workspace import Workspace

    root = tmp_path_factory.mktemp("filters")
    ws = Workspace(root / "ws.db", create=True)
    ws.import_sources(write(root / "sources.yaml", SOURCES))
    report = ws.ingest_items([RawItem(origin=f"{name}.jsonl#1", kind="record", source="kt", language="en",
                                      published_at=at, title=f"Dastgerd bulletin {name}",
                                      text=f"The Dastgerd bulletin ({name}) reports on the hearings. It is fictional.")
                              for name, at in DAYS.items()], workers=1)
    assert report.added == len(DAYS)
    ids = {d.title.split()[-1]: d.id for d in ws.documents()}
    yield {"ws": ws, "ids": ids}
    ws.close()


@pytest.fixture(scope="module")
def client(small):
    from narratrace.serve.app import create_app

    return TestClient(create_app(small["ws"]))


def _ids(r) -> set[int]:
    assert r.status_code == 200, r.text
    return {d["document_id"] if "document_id" in d else d["id"] for d in r.json()}


def test_until_a_day_keeps_the_whole_day_on_the_api(client, small):
    ids = small["ids"]
    assert _ids(client.get("/api/documents?until=2026-03-01")) == {ids["late"], ids["before"]}
    assert _ids(client.get("/api/documents?since=2026-03-01&until=2026-03-01")) == {ids["late"]}
    assert _ids(client.get("/api/documents?since=2026-03-02")) == {ids["next"]}
    # a timestamp without a zone is UTC; with one it is converted
    assert _ids(client.get("/api/documents?until=2026-03-01T23:59:00")) == {ids["before"]}
    assert _ids(client.get("/api/documents", params={"since": "2026-03-02T02:00:00+03:00"})) == {ids["late"],
                                                                                                   ids["next"]}
    # the same Filters behind every read that narrows documents
    assert {ids["late"]} <= _ids(client.get("/api/search?q=bulletin&until=2026-03-01"))
    assert ids["next"] not in _ids(client.get("/api/search?q=bulletin&until=2026-03-01"))
    sentences = client.get("/api/sentences?since=2026-03-01&until=2026-03-01").json()
    assert sentences and {s["document_id"] for s in sentences} == {ids["late"]}


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("url", ["/api/documents", "/api/sentences", "/api/search?q=bulletin", "/api/quotes",
                                 "/api/matches", "/api/speakers"])
def test_a_bad_date_is_a_400_naming_the_parameter(client, url, name):
    sep = "&" if "?" in url else "?"
    r = client.get(f"{url}{sep}{name}=2026-02-30")
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert detail.startswith(f"{name} '2026-02-30'") and "YYYY-MM-DD" in detail


def test_until_a_day_keeps_the_whole_day_on_the_dashboard(client, small):
    def titles(url):
        r = client.get(url)
        assert r.status_code == 200, r.text
        return {k for k in DAYS if f"Dastgerd bulletin {k}" in r.text}

    assert titles("/search?q=bulletin&until=2026-03-01") == {"late", "before"}
    assert titles("/search?q=bulletin&since=2026-03-01&until=2026-03-01") == {"late"}
    assert titles("/search?q=bulletin") == set(DAYS)
    r = client.get("/search?q=bulletin&until=01/03/2026x")
    assert r.status_code == 400 and "until &#39;01/03/2026x&#39; is not a date" in r.text
    assert not {k for k in DAYS if f"Dastgerd bulletin {k}" in r.text}


def test_workspace_errors_answer_with_their_class_status(client, small):
    r = client.get("/api/documents/999999")
    assert r.status_code == 404 and r.json() == {"detail": "no document with id 999999 (list them with "
                                                           "`narratrace docs list`)"}
    assert client.get("/documents/999999").status_code == 404  # the dashboard's page too
    r = client.get("/api/narratives/nope/matches")
    assert r.status_code == 404 and "no narrative 'nope'" in r.json()["detail"]
    r = client.get("/api/narratives/nope/spread")
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    r = client.get("/api/narratives/nope/prevalence")
    assert r.status_code == 404
    # what a review body names but the store lacks is bad input (400), not a missing /api/reviews
    r = client.post("/api/reviews", json={"kind": "match", "sentence_id": 10**9, "narrative": "nope",
                                          "verdict": "confirmed"}, headers=CSRF)
    assert r.status_code == 400 and "no sentence with id" in r.json()["detail"]
    r = client.post("/api/reviews", json={"kind": "contradiction", "sentence_id": 1, "verdict": "confirmed"},
                    headers=CSRF)
    assert r.status_code == 400 and "both sentence ids" in r.json()["detail"]


def test_review_and_audit_go_through_the_workspace(client, small):
    ws = small["ws"]
    s1, s2 = [s.id for s in ws.sentences(limit=2)]
    body = {"kind": "contradiction", "sentence_id": s2, "other_sentence_id": s1, "verdict": "rejected",
            "note": "same text"}
    r = client.post("/api/reviews", json=body, headers=CSRF)
    assert r.status_code == 200, r.text
    out = r.json()
    # stored as the sorted pair, answered from the ReviewInfo the Workspace returned
    assert (out["sentence_id"], out["other_sentence_id"], out["verdict"], out["reviewer"]) == (s1, s2, "rejected",
                                                                                              "local")
    assert out["at"].endswith("Z") and out["narrative"] is None
    assert [x.id for x in ws.reviews()] == [out["id"]]
    good = [("files", ("note.txt", b"A fictional note about the Dastgerd hearings. It has two sentences.",
                       "text/plain"))]
    r = client.post("/api/ingest", files=good, headers=CSRF)
    assert r.status_code == 200 and r.json()["added"] == 1, r.text
    log = client.get("/api/audit").json()
    assert log[0]["action"] == "ingest" and log[0]["user"] == "local" and log[0]["target"] == "note.txt"
    assert log[0]["at"].endswith("Z") and log[0]["detail"]["added"] == 1
    assert client.post("/api/ingest", files=[], headers=CSRF).status_code in (400, 422)
    r = client.post("/api/sources", content=b"  ", headers={**CSRF, "Content-Type": "application/yaml"})
    assert r.status_code == 400 and r.json()["detail"].startswith("empty body")
