"""The read cache: JSON bodies of API reads, kept while nothing has been committed to the store.

A dashboard's readers ask the same few questions (the overview, a narrative's matches, the
contradiction queue) far more often than anything is written. So the answer to a read is kept,
keyed by its path and query string, together with the store's revision
(``Workspace.revision``: SQLite's ``data_version``, which any commit by any process changes). A
read whose revision has moved is computed again. What is kept is the finished body (bytes, so no
caller can change it), after authentication has run: the cache sits inside the endpoint.

PostgreSQL has no such counter, so its reads are never cached. The revision is read *before* the
answer is computed: an answer that raced a commit is filed under the older revision, which no
later reader can see.

Measured on the demo workspace with 8 readers and a writer committing about 3 times a second
(bench/serve.py --mixed): see docs/decisions.md, 2026-12-02.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from narratrace import settings
from narratrace.errors import InvalidInput

# The largest single body worth keeping (a 1,000-row listing of the demo is ~0.8 MB). The whole
# cache is bounded by NARRATRACE_READ_CACHE_MB (default 64: a fraction of a worker's ~250 MB).
MAX_BODY = 4 * 2**20


def configured_bytes() -> int:
    """NARRATRACE_READ_CACHE_MB in bytes (0: no cache); anything but a number ≥ 0 is an InvalidInput."""
    try:
        return settings.megabytes("NARRATRACE_READ_CACHE_MB", minimum=0,
                                  hint="set a number of MB (64; 0 turns the cache off)")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


class ReadCache:
    def __init__(self, max_bytes: int | None = None, max_body: int = MAX_BODY) -> None:
        self.max_bytes = configured_bytes() if max_bytes is None else max_bytes
        self.max_body = max_body
        self.enabled = self.max_bytes > 0
        self._items: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: str, revision: int) -> bytes | None:
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] != revision:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[1]

    def put(self, key: str, revision: int, body: bytes) -> None:
        if len(body) > self.max_body:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1])
            self._items[key] = (revision, body)
            self._bytes += len(body)
            while self._bytes > self.max_bytes and self._items:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= len(dropped)
