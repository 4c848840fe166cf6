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
(``Ingestor._extract_all``).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import TypeVar

from narratrace import settings
from narratrace.ingest.items import InputError

T = TypeVar("T")

# Extraction (decode, trafilatura, cleaning, segmentation, language) of ordinary text measured
# 3.0–3.4 s per MB on this 2-core machine under load (bench/hostile.py, section 3); a document
# gets three times that on top of the base budget, so a 50 MB file (the per-file cap) is never
# refused for its size alone.
SECONDS_PER_MB = 10.0


class Overrun(InputError):
    """A document's cleaning ran past its time budget: a failed problem naming the document."""


def budget(n_bytes: int) -> float:
    """Seconds a document of ``n_bytes`` may take; 0 turns the budget off."""
    base = float(settings.get("NARRATRACE_DOCUMENT_SECONDS") or 0)
    if base <= 0:
        return 0.0
    return base + SECONDS_PER_MB * n_bytes / 1_000_000


def enforceable() -> bool:
    """Can a budget be enforced here: the main thread, on a system with interval timers."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def call_with_deadline(fn: Callable[[], T], seconds: float) -> T:
    """``fn()``, or ``Overrun`` once it has run ``seconds`` (no limit when 0 or not enforceable)."""
    if seconds <= 0 or not enforceable():
        return fn()

    def _alarm(signum, frame):
        raise Overrun(f"cleaning ran past its time budget of {seconds:.0f} s (NARRATRACE_DOCUMENT_SECONDS "
                      "plus 10 s per MB): left out, the run went on")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
