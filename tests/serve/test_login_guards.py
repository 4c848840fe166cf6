"""Sign-in guards: wrong tokens are throttled per client address (429 with Retry-After), and
/login and /logout refuse cross-site form posts (login CSRF)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(tmp_path):
    from narratrace.serve.app import create_app
    from narratrace.workspace import Workspace

    Workspace(tmp_path / "w.db", create=True).close()
    app = create_app(str(tmp_path / "w.db"), tokens={"analyst-token-456": ("ana", "analyst")})
    return TestClient(app, follow_redirects=False)


def test_wrong_tokens_are_throttled_per_address(client):
    from narratrace.serve.auth import MAX_FAILURES

    for _ in range(MAX_FAILURES):
        assert client.get("/api/documents", headers={"Authorization": "Bearer wrong-guess-1"}).status_code == 401
    r = client.get("/api/documents", headers={"Authorization": "Bearer analyst-token-456"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0  # even the right token waits
    assert "too many wrong tokens" in r.json()["detail"]
    assert client.post("/login", data={"token": "another-guess"}).status_code == 429  # the form counts too


def test_the_right_token_is_not_throttled(client):
    for _ in range(50):
        assert client.get("/api/documents", headers={"Authorization": "Bearer analyst-token-456"}).status_code == 200


def test_login_and_logout_refuse_cross_site_posts(client):
    evil = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    assert client.post("/login", data={"token": "analyst-token-456"}, headers=evil).status_code == 403
    assert client.post("/logout", headers=evil).status_code == 403
    assert client.post("/login", data={"token": "analyst-token-456"}, headers={"Origin": "null"}).status_code == 403
    own = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    r = client.post("/login", data={"token": "analyst-token-456"}, headers=own)
    assert r.status_code == 303 and "narratrace_token" in r.headers.get("set-cookie", "")
    assert client.post("/logout", headers=own).status_code == 303
    assert client.post("/login", data={"token": "analyst-token-456"}).status_code == 303  # a script: no Origin
