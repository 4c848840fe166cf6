"""Fetch retries on 429/502/503/504 (ingest/web.py, tenacity): Retry-After honoured in seconds or as
an HTTP date, never past the fetch deadline nor beyond MAX_TRIES, and the last failure says the
status and the tries. httpx.MockTransport answers; sleep and clock are fakes (no real waiting)."""

from __future__ import annotations

import httpx
import pytest

from narratrace.ingest.items import InputError
from narratrace.ingest.web import MAX_TRIES, Fetcher, retry_after

PUBLIC_IP = "93.184.216.34"
URL = "http://busy.example/page"


class FakeTime:
    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def fetcher(responses: list[httpx.Response], t: FakeTime, seconds: float = 60) -> tuple[Fetcher, list]:
    hits: list[str] = []

    def handler(request):
        hits.append(str(request.url))
        return responses[min(len(hits), len(responses)) - 1]

    f = Fetcher(client=httpx.Client(transport=httpx.MockTransport(handler)), resolver=lambda h: [PUBLIC_IP],
                seconds=seconds, sleep=t.sleep, clock=t.clock)
    return f, hits


def ok() -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/html"}, content=b"<p>fine</p>")


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_a_busy_answer_is_retried_then_succeeds(status):
    t = FakeTime()
    f, hits = fetcher([httpx.Response(status), httpx.Response(status), ok()], t)
    assert f.get(URL)[1] == b"<p>fine</p>"
    assert len(hits) == 3 and len(t.sleeps) == 2
    assert all(0 < s <= 5 for s in t.sleeps)  # exponential backoff with jitter, not a fixed hammer


def test_retry_after_seconds_is_honoured():
    t = FakeTime()
    f, hits = fetcher([httpx.Response(429, headers={"Retry-After": "7"}), ok()], t)
    f.get(URL)
    assert t.sleeps == [7.0] and len(hits) == 2


def test_retry_after_http_date_is_read_against_the_servers_clock():
    t = FakeTime()
    headers = {"Retry-After": "Wed, 21 Oct 2026 07:28:12 GMT", "Date": "Wed, 21 Oct 2026 07:28:00 GMT"}
    f, _ = fetcher([httpx.Response(503, headers=headers), ok()], t)
    f.get(URL)
    assert t.sleeps == [12.0]


def test_the_last_failure_names_the_status_and_the_tries():
    t = FakeTime()
    f, hits = fetcher([httpx.Response(503)], t)
    with pytest.raises(InputError, match=rf"^HTTP 503 after {MAX_TRIES} tries$"):
        f.get(URL)
    assert len(hits) == MAX_TRIES


def test_a_retry_after_past_the_deadline_is_not_waited_for():
    t = FakeTime()
    f, hits = fetcher([httpx.Response(429, headers={"Retry-After": "25"})], t, seconds=20)
    with pytest.raises(InputError, match=r"HTTP 429 after 1 try: Retry-After 25 s would run past the fetch deadline"):
        f.get(URL)
    assert hits == [URL] and t.sleeps == []


def test_a_retry_after_of_hours_is_not_waited_for_even_without_a_deadline():
    t = FakeTime()
    f, hits = fetcher([httpx.Response(503, headers={"Retry-After": "7200"})], t, seconds=0)
    with pytest.raises(InputError, match=r"HTTP 503 after 1 try: Retry-After 7200 s would run past the 30 s"):
        f.get(URL)
    assert t.sleeps == []


def test_a_refusal_is_not_retried():
    t = FakeTime()
    f, hits = fetcher([httpx.Response(404), ok()], t)
    with pytest.raises(InputError, match=r"^HTTP 404$"):
        f.get(URL)
    assert len(hits) == 1 and t.sleeps == []


def test_retries_follow_a_redirect_and_share_one_deadline():
    t = FakeTime()
    moved = httpx.Response(302, headers={"Location": "http://busy.example/new"})
    f, hits = fetcher([moved, httpx.Response(503, headers={"Retry-After": "4"}), ok()], t, seconds=60)
    final, body, _ = f.get(URL)
    assert final == "http://busy.example/new" and body == b"<p>fine</p>" and t.sleeps == [4.0]


@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120.0), (" 3 ", 3.0), ("", None), (None, None), ("soon", None), ("-5", None),
    ("Wed, 21 Oct 2026 07:27:00 GMT", 0.0),  # in the past: now
])
def test_retry_after_values(value, expected):
    assert retry_after(value, now=1792567680.0) == expected  # 2026-10-21 07:28:00 UTC
