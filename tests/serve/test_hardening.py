"""No 500 for the inputs issue 15's fuzzers found: ids beyond 64 bits, an upload naming an unknown
source (a 404/400 with a message, never the framework's internals)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from narratrace.serve.app import create_app

TOKENS = {"analyst-token-456": ("ana", "analyst")}
H = {"Authorization": "Bearer analyst-token-456", "X-Narratrace": "1"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from narratrace.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("hard") / "w.db", create=True)
    yield TestClient(create_app(ws, tokens=TOKENS), raise_server_exceptions=False)
    ws.close()


@pytest.mark.parametrize("url", ["/api/documents/9223372036854775808", "/api/documents/99999999999999999999",
                                 "/documents/9223372036854775808", "/documents/18446744073709551616",
                                 "/api/quotes?document=9223372036854775808"])
def test_huge_document_ids_are_not_a_500(client, url):
    r = client.get(url, headers=H)
    assert r.status_code in (404, 422), (r.status_code, r.text[:200])
    assert "Traceback" not in r.text and "sqlalchemy" not in r.text.lower()


def test_upload_with_an_unknown_source_is_a_400_naming_it(client):
    r = client.post("/api/ingest", headers=H, data={"source": "no-such-outlet"},
                    files={"files": ("a.txt", b"Hello\n\nThe mayor of Kestrel spoke today.")})
    assert r.status_code == 400 and "no-such-outlet" in r.json()["detail"]
