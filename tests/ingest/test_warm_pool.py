"""Ingests from a server thread (``POST /api/ingest``) extract in the process's warm pool
(ingest/deadline.py ``timed_pool``): made once, reused by the next upload, still enforcing the
per-document budget with the setting as it is now, and replaced when a worker dies."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from narratrace.ingest import deadline
from narratrace.ingest.items import RawItem


@pytest.fixture
def fresh_pool(request):
    deadline.reset_pool()
    request.addfinalizer(deadline.reset_pool)


def _in_thread(fn):
    box: dict = {}
    th = threading.Thread(target=lambda: box.update(out=fn()))
    th.start()
    th.join(120)
    assert not th.is_alive(), "the ingest stalled"
    return box["out"]


def _note(i: int) -> RawItem:
    return RawItem(origin=f"note-{i}.txt", kind="text",
                   data=f"Note {i}\n\nThe harbour board of Norvale met on day {i} and kept the fees.".encode())


def test_the_pool_is_made_once_and_reused(ws, fresh_pool):
    first = _in_thread(lambda: ws.ingest_items([_note(1)]))
    pool = deadline._pool
    assert first.added == 1 and pool is not None
    t0 = time.perf_counter()
    second = _in_thread(lambda: ws.ingest_items([_note(2)]))
    assert second.added == 1 and deadline._pool is pool  # the same workers: no start-up again
    assert time.perf_counter() - t0 < 5  # measured 0.14–0.19 s; a fresh pool paid 11–13 s under load


def test_the_warm_workers_get_the_budget_as_set_now(ws, fresh_pool, monkeypatch):
    assert _in_thread(lambda: ws.ingest_items([_note(3)])).added == 1  # the pool exists, started earlier
    monkeypatch.setenv("NARRATRACE_DOCUMENT_SECONDS", "0.000001")  # set after the fork
    monkeypatch.setattr(deadline, "SECONDS_PER_MB", 0.0)
    report = _in_thread(lambda: ws.ingest_items([_note(4)]))
    assert report.added == 0 and "time budget" in report.failed[0].reason


def test_a_dead_worker_fails_its_items_and_the_next_upload_gets_a_new_pool(ws, fresh_pool):
    assert _in_thread(lambda: ws.ingest_items([_note(5)])).added == 1
    pool = deadline._pool
    for pid in list(pool._processes):
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)  # the executor notices its workers are gone
    report = _in_thread(lambda: ws.ingest_items([_note(6)]))
    assert report.added == 0 and "extraction worker stopped" in report.failed[0].reason
    again = _in_thread(lambda: ws.ingest_items([_note(6)]))
    assert again.added == 1 and deadline._pool is not pool
