"""`narratrace serve --workers N`: N server processes answering on one listening socket.

Why processes: a read spends its time in Python (SQLAlchemy, the ASGI stack, uvicorn) under the
GIL, so one process uses one core however many threads it has. On this project's 2-core machine
8 clients got 84 reads/s from one process and 148 from two (2026-12-02, bench/serve.py).

Why fork, not uvicorn's own ``workers=``: uvicorn's supervisor starts fresh interpreters that
import the app by name, so the workspace and the tokens would have to travel through the
environment; a forked child inherits them from the command. Each child opens its own Workspace
after the fork (a database connection must never cross one), and the parent holds none: it binds
the socket, forks, and waits. When a child dies, the others are stopped and the command fails
naming it — a server quietly running on fewer workers than asked for is the silent kind of
failure. Ctrl-C or SIGTERM stops every child gracefully (uvicorn's own shutdown in each).

Needs ``os.fork`` (Linux, macOS); elsewhere ``--workers`` above 1 is refused with that reason.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any


class WorkersUnsupported(RuntimeError):
    """More than one worker on a platform without ``os.fork``."""


def serve_forked(make_app: Callable[[], Any], *, workers: int, host: str, port: int, **uvicorn_options) -> int:
    """Serve ``make_app()`` (called once in each child) from ``workers`` forked processes; returns
    the exit status for the command: 0 after a requested stop, 1 when a child died on its own."""
    import uvicorn  # lazy: [web] extra

    if not hasattr(os, "fork"):
        raise WorkersUnsupported(f"--workers {workers} needs os.fork, which {sys.platform} lacks: use --workers 1")
    sock = uvicorn.Config(app=None, host=host, port=port).bind_socket()
    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # the child: its own app and Workspace, then uvicorn on the shared socket
            status = 0
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                config = uvicorn.Config(make_app(), host=host, port=port, **uvicorn_options)
                uvicorn.Server(config).run(sockets=[sock])
            except BaseException as exc:  # noqa: BLE001 - reported, then this process ends either way
                print(f"narratrace serve: worker {os.getpid()} stopped: {exc!r}", file=sys.stderr)
                status = 1
            finally:
                os._exit(status)
        children.append(pid)
    sock.close()

    stopping = False

    def _stop(signum, frame):
        nonlocal stopping
        stopping = True
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    failed = None
    try:
        alive = set(children)
        while alive:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            alive.discard(pid)
            if not stopping and failed is None:
                failed = (pid, status)
                print(f"narratrace serve: worker {pid} exited ({_how(status)}); stopping the other "
                      f"{len(alive)}", file=sys.stderr)
                _stop(None, None)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 1 if failed else 0


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"status {os.WEXITSTATUS(status)}"
