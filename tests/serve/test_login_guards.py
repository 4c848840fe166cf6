"""Sign-in guards: wrong tokens are throttled per client address and per token name (429 with
Retry-After; a guesser spread over many addresses does not lock out an address that signed in before), and
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
    # Chromium's own form post under our no-referrer policy: Origin null, vouched for by fetch metadata
    chromium = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    assert client.post("/login", data={"token": "analyst-token-456"}, headers=chromium).status_code == 303
    assert client.post("/logout", headers=chromium).status_code == 303
    assert client.post("/logout", headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"}).status_code == 403


# -- per token name: a guesser spread over many addresses ---------------------------------------------------

def _from(app, address: str) -> TestClient:
    return TestClient(app, follow_redirects=False, client=(address, 50000))


def test_guesses_from_many_addresses_are_limited_per_token_name(client):
    from narratrace.serve.auth import MAX_FAILURES, MAX_NAME_FAILURES

    app = client.app
    real = _from(app, "10.0.0.1")  # the analyst, signed in before the attack
    assert real.get("/api/documents", headers={"Authorization": "Bearer analyst-token-456"}).status_code == 200
    # Each address stays under its own limit; together they pass the per-name one.
    addresses = [f"203.0.113.{i}" for i in range(MAX_NAME_FAILURES // (MAX_FAILURES - 1) + 1)]
    sent = 0
    for addr in addresses:
        guesser = _from(app, addr)
        for k in range(MAX_FAILURES - 1):
            if sent == MAX_NAME_FAILURES:
                break
            assert guesser.get("/api/documents", headers={"Authorization": f"Bearer guess-{addr}-{k}"}).status_code == 401
            sent += 1
    assert sent == MAX_NAME_FAILURES
    # Now a new address is held, with a wrong token or with the right one (so a guess learns nothing) …
    fresh = _from(app, "198.51.100.7")
    for token in ("yet-another-guess", "analyst-token-456"):
        r = fresh.get("/api/documents", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 429, token
        assert "from many addresses" in r.json()["detail"] and 0 < int(r.headers["retry-after"]) <= 61
    assert fresh.post("/login", data={"token": "analyst-token-456"}).status_code == 429  # the form too
    # … while the analyst, who signed in from their address before, is not locked out.
    assert real.get("/api/documents", headers={"Authorization": "Bearer analyst-token-456"}).status_code == 200


def test_the_per_name_hold_ends_after_the_window():
    from fastapi import HTTPException

    from narratrace.serve.auth import FailureThrottle

    now = [0.0]
    t = FailureThrottle(max_failures=10, window=60, max_name_failures=5, clock=lambda: now[0])
    for i in range(5):
        t.check(f"a{i}")
        t.settle(f"a{i}", None)
    with pytest.raises(HTTPException) as exc:
        t.settle("new-address", "ana")
    assert exc.value.status_code == 429 and int(exc.value.headers["Retry-After"]) == 61
    now[0] = 61.0  # the burst stopped a window ago: the real user gets in from anywhere
    t.settle("new-address", "ana")
    now[0] = 62.0
    for i in range(5):  # a new burst: the address that just signed in stays trusted
        t.settle(f"b{i}", None)
    t.settle("new-address", "ana")
    with pytest.raises(HTTPException):
        t.settle("other-address", "ana")
