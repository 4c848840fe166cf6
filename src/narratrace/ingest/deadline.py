"""A per-document time budget: a document whose cleaning overruns becomes a problem naming it,
never a stalled run.

How: ``SIGALRM`` from an interval timer, whose handler raises ``Overrun`` in the code that is
running. Python checks for signals between bytecodes *and inside the regular-expression engine*
(``_sre`` polls every few thousand steps), which is where every runaway path found so far ran: a
backtracking pattern or a rescan from the text's start (issue 15). A Python loop is interrupted
as well. Considered and not taken:

- a budget checked between steps: a single regex call on a hostile line is one step;
- a worker thread with a deadline: a thread cannot be stopped, and a stuck one keeps its core;
- killing a worker process per document: exact even for native code stuck in a C loop (lxml),
  but a process per document (or a pool that is torn down and rebuilt on each overrun) costs
  more than the rest of ingest on small items; none of the parsers has hung in native code.

Signals reach only the main thread, so the budget is enforced where ingest runs in a main
thread (the CLI) and in the extraction pool's worker processes; an ingest running in another
thread (the API's upload handler) sends its items to the pool for that reason
(``Ingestor._extract_all``). That pool is one per process, made on first use and kept (``timed_pool``):
a pool per upload paid fresh workers that each loaded the language model again (one small file
took 5.5 s through ``POST /api/ingest``, issue 15); its workers are spawned (see there why).

Off the main thread the budget is also kept cooperatively: ``call_with_deadline`` sets a deadline
for the calling thread and ``checkpoint()``, called between the steps of a long job (the quote
stage's 50,000-character parse pieces and language runs, enrich/annotate.py), raises ``Overrun``
once it has passed. That is what ``POST /api/analyze`` (a server thread) gets: a step that is
already running finishes first, so the budget can be passed by at most one step; every step on
that path is linear (issue 15).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from narratrace import settings
from narratrace.ingest.items import InputError

T = TypeVar("T")

# Extraction (decode, trafilatura, cleaning, segmentation, language) of ordinary text measured
# 3.0–3.4 s per MB on this 2-core machine under load (bench/hostile.py, section 3); a document
# gets three times that on top of the base budget, so a 50 MB file (the per-file cap) is never
# refused for its size alone.
SECONDS_PER_MB = 10.0
# The quote stage (enrich/stages.py: spaCy parse, quote rules, NER) on ordinary English measured
# 130–315 s per MB on this 2-core machine at load average 8–11 (2026-12-01: annotate() on
# bench/hostile.py's ordinary article at 5k–50k characters; ~80 % of it spaCy; Persian rules
# alone 80–150 s per MB). Twice the slowest figure keeps a long ordinary document inside its
# budget on a loaded machine, while a hostile 200 KB post is stopped after 150 s, not hours.
QUOTES_SECONDS_PER_MB = 600.0


class Overrun(InputError):
    """A document's cleaning ran past its time budget: a failed problem naming the document."""


def budget(n_bytes: int, per_mb: float = SECONDS_PER_MB) -> float:
    """Seconds a document of ``n_bytes`` may take (``per_mb`` seconds per MB on top of the base
    NARRATRACE_DOCUMENT_SECONDS); 0 turns the budget off."""
    base = float(settings.get("NARRATRACE_DOCUMENT_SECONDS") or 0)
    if base <= 0:
        return 0.0
    return base + per_mb * n_bytes / 1_000_000


def enforceable() -> bool:
    """Can a budget be enforced here: the main thread, on a system with interval timers."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


_cooperative = threading.local()  # .stop: (monotonic deadline, message) for this thread, or None


def checkpoint() -> None:
    """Between the steps of a document's work: ``Overrun`` once this thread's cooperative
    deadline (set by ``call_with_deadline`` off the main thread) has passed; else nothing."""
    stop = getattr(_cooperative, "stop", None)
    if stop is not None and time.monotonic() > stop[0]:
        raise Overrun(stop[1])


def call_with_deadline(fn: Callable[[], T], seconds: float, what: str = "cleaning",
                       per_mb: float = SECONDS_PER_MB) -> T:
    """``fn()``, or ``Overrun`` once it has run ``seconds`` (no limit when 0). On the main thread a
    signal interrupts ``fn`` wherever it is; elsewhere ``fn`` is stopped at its next ``checkpoint()``.
    ``what`` names the work in the message ("cleaning", "quote extraction"), ``per_mb`` the rate
    ``seconds`` was given by (``budget``)."""
    if seconds <= 0:
        return fn()
    message = (f"{what} ran past its time budget of {seconds:.0f} s (NARRATRACE_DOCUMENT_SECONDS "
               f"plus {per_mb:g} s per MB): left out, the run went on")
    if not enforceable():
        previous_stop = getattr(_cooperative, "stop", None)
        _cooperative.stop = (time.monotonic() + seconds, message)
        try:
            return fn()
        finally:
            _cooperative.stop = previous_stop

    def _alarm(signum, frame):
        raise Overrun(message)

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def timed_pool(workers: int, warm: Callable[[], object] | None = None) -> ProcessPoolExecutor:
    """The process's pool for work that needs its budget enforced off the main thread: made on first
    use and kept warm for the next call (the server's uploads). ``warm()`` runs in each worker as it
    starts (the models extraction loads lazily: language identification, the extractor).

    The workers are spawned, not forked. A fork of the server inherited its listening socket and
    uvicorn's signal handlers: after the server stopped, the workers ignored SIGTERM, kept the port
    bound (a new server could not start) and held the command's output open (found 2026-12-02
    running bench/serve.py twice). A spawned worker holds only its own pipes; it ends when the
    server shuts the pool down (serve/app.py, on shutdown) and, should the server be killed
    outright, on its own within a second or two (``_watch_parent``). Warming a spawned worker
    up no longer holds the server's GIL either: ~4 s in which that process answered no read."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max(1, workers), mp_context=multiprocessing.get_context(_start_method()),
                                        initializer=_start_worker, initargs=(os.getpid(), warm))
        return _pool


def _start_method() -> str:
    """spawn, unless this process's main module cannot be found again by a spawned worker (a script
    read from stdin: spawn would re-run ``<stdin>`` in every worker and each would die): then
    fork, whose known faults ``_start_worker`` undoes as far as it can."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path and not os.path.exists(path) and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def _start_worker(parent: int, warm: Callable[[], object] | None) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):  # a forked worker would keep the server's handlers
        signal.signal(sig, signal.SIG_DFL)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="watch-parent").start()
    if warm is not None:
        warm()


def _watch_parent(parent: int, every: float = 1.0) -> None:
    """End this worker once ``parent`` has gone (a pool worker waits on a pipe whose other end it
    holds itself, so it never sees its parent die)."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(0)


def discard_pool(pool: ProcessPoolExecutor) -> None:
    """Forget a broken pool (a worker was killed: out of memory, a crash in native code) so the
    next call makes a new one."""
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def reset_pool() -> None:
    """Shut the warm pool down and wait for its workers to end (a server shutting down, a test that
    wants fresh workers); the next call starts new ones."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
