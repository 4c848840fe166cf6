"""Two ingests writing one store at once (issue 15): both finish, every document is stored once and
the learned-boilerplate counts equal a serial run's, on SQLite and (integration) PostgreSQL.

Before the upserts, the second writer of a new scope died on ``UNIQUE constraint failed:
boilerplate_scope.scope`` and concurrent increments were lost (read, add one, write back).
Processes, not threads: two CLI runs are two processes, and the GIL would serialise threads.
"""

from __future__ import annotations

import multiprocessing

import pytest
from conftest import write
from sqlalchemy import text

from narratrace import Workspace

N = 30
FOOTER = "Follow the Norvale Ledger on every channel for more"


def _corpus(tmp_path) -> list[str]:
    d = tmp_path / "ledger"
    paths = []
    for i in range(N):
        body = (f"Ledger item {i}\n\nThe harbour board of Norvale met for session {i} and voted {i % 7} "
                f"to {i % 5} on the new pier, a clerk said after meeting number {i * 13}.\n\n{FOOTER}\n\n"
                f"Share this item {i % 3}")
        paths.append(str(write(d / f"item{i:03d}.txt", body)))
    return paths


def _ingest(url: str, paths: list[str], start, out) -> None:
    ws = Workspace(url)
    try:
        start.wait(30)
        report = ws.ingest(paths, workers=1)
        out.put(("ok", report.added, report.already_present, len(report.failed)))
    except BaseException as exc:  # the parent asserts on it
        out.put(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        ws.close()


def _store_state(url: str) -> dict:
    ws = Workspace(url)
    try:
        with ws.engine.connect() as c:
            return {
                "raw_hashes": sorted(r[0] for r in c.execute(text("SELECT raw_hash FROM document"))),
                "origins": sorted(r[0].rsplit("/", 1)[-1] for r in c.execute(text("SELECT origin FROM document"))),
                "scopes": sorted(tuple(r) for r in c.execute(text("SELECT scope, doc_count FROM boilerplate_scope"))),
                "lines": sorted(tuple(r) for r in c.execute(
                    text("SELECT scope, line_hash, doc_count FROM boilerplate_line"))),
            }
    finally:
        ws.close()


def test_two_concurrent_ingests_equal_a_serial_run(ws, store_url, tmp_path, tmp_path_factory):
    paths = _corpus(tmp_path)
    # overlapping thirds: 10 files only the first run has, 10 both have, 10 only the second
    a, b = paths[: 2 * N // 3], paths[N // 3:]
    ws.close()
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_ingest, args=(store_url, part, start, out)) for part in (a, b)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(30)
    assert all(r[0] == "ok" for r in results), results
    assert sum(r[1] for r in results) == N  # every document added by exactly one of the two
    assert sum(r[2] for r in results) == len(a) + len(b) - N  # the overlap: already present for the other
    assert all(r[3] == 0 for r in results)
    concurrent = _store_state(store_url)

    serial_url = str(tmp_path_factory.mktemp("serial") / "serial.db")
    serial = Workspace(serial_url, create=True)
    try:
        assert serial.ingest(paths, workers=1).added == N
    finally:
        serial.close()
    expected = _store_state(serial_url)
    assert concurrent["origins"] == expected["origins"] and len(set(concurrent["raw_hashes"])) == N
    assert concurrent["raw_hashes"] == expected["raw_hashes"]
    assert concurrent["scopes"] == expected["scopes"] and expected["scopes"][0][1] == N
    # every line's count exact, the footer's (in all N documents) among them
    assert concurrent["lines"] == expected["lines"]
    assert max(n for *_, n in expected["lines"]) == N


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_busy_store_is_retried(ws, tmp_path, monkeypatch):
    """A write that meets "database is locked" is tried again, not fatal."""
    from sqlalchemy.exc import OperationalError

    from narratrace.ingest import pipeline

    real = pipeline.Ingestor._store
    calls = {"n": 0}

    def flaky(self, p, lookahead, report):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise OperationalError("INSERT INTO document …", {}, Exception("database is locked"))
        return real(self, p, lookahead, report)

    monkeypatch.setattr(pipeline.Ingestor, "_store", flaky)
    report = ws.ingest([str(write(tmp_path / "one.txt", "One\n\nThe Kestrel ferry sails again on Friday."))])
    assert report.added == 1 and calls["n"] == 3
