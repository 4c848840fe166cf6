"""`narratrace serve` as a process: several workers on one port (serve/workers.py), and a server
whose upload pool ends with it (ingest/deadline.py ``timed_pool``: a forked pool once kept the
port bound and the command's output open after the server stopped)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextlib.contextmanager
def _served(workspace: Path, *extra: str):
    """``narratrace serve`` on a free port, answering: (process, port, base URL). Whatever the test
    does, nothing of it outlives the test (its whole process group is killed)."""
    port = _free_port()
    env = {**os.environ, "NARRATRACE_TOKENS": ""}
    proc = subprocess.Popen([sys.executable, "-m", "narratrace.cli.main", "serve", "--workspace", str(workspace),
                             "--port", str(port), *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
            try:
                if httpx.get(base + "/api/stats", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.time() < deadline, "the server did not answer within 60 s"
                time.sleep(0.2)
        yield proc, port, base
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _upload(base: str, n: int) -> dict:
    body = f"Bulletin {n}\n\nThe harbour master of Veltria said on day {n} that the ferries crossed.".encode()
    r = httpx.post(base + "/api/ingest", files={"files": (f"bulletin-{n}.txt", body, "text/plain")},
                   headers={"X-Narratrace": "1"}, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.delenv("NARRATRACE_WORKSPACE", raising=False)
    from narratrace import Workspace

    path = tmp_path / "served.db"
    Workspace(path, create=True).close()
    return path


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_a_stopped_server_leaves_no_worker_holding_its_port_or_output(workspace, stop):
    with _served(workspace) as (proc, port, base):
        assert _upload(base, 1)["added"] == 1  # starts the upload pool's workers
        proc.send_signal(stop)
        proc.communicate(timeout=30)  # returns only once every holder of its output has ended
        deadline = time.time() + 10
        while not _port_free(port) and time.time() < deadline:
            time.sleep(0.2)
        assert _port_free(port), "a process still holds the stopped server's port"


def test_two_workers_share_the_port_and_stop_together(workspace):
    with _served(workspace, "--workers", "2") as (proc, port, base):
        for n in range(3):  # writes from either worker land in the one store, once each
            assert _upload(base, n)["added"] == 1
        with httpx.Client(base_url=base) as client:
            counts = {client.get("/api/stats").json()["documents"] for _ in range(20)}
        assert counts == {3}
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out.decode(errors="replace")
        assert b"2 worker processes" in out
        assert _port_free(port)


def test_a_worker_that_dies_stops_the_server_with_a_message(workspace):
    with _served(workspace, "--workers", "2") as (proc, _port, _base):
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        if not children.exists():
            pytest.skip("no /proc children list to find the workers by")
        worker = int(children.read_text().split()[0])
        os.kill(worker, signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert f"worker {worker} exited (signal {int(signal.SIGKILL)})".encode() in out
