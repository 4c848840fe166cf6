"""The default runner: every batch in this process, in order (no extra dependency, no start-up)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from narratrace.run.base import TaskCall, fault_spec


class LocalRunner:
    name = "local"

    def map(self, task: type, config: dict, batches: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        if not batches:
            return
        call = TaskCall(task, config, fault_spec())  # built lazily: no model loads when nothing is missing
        for i, batch in enumerate(batches):
            yield i, call(i, batch)

    def close(self) -> None:
        pass
