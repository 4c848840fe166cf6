"""What every runner shares: the ``Runner`` protocol, its error, the per-worker ``TaskCall`` and
the fault injection the resumability tests use. The runners (``local.py``, ``ray_runner.py``)
import this module, and ``narratrace.run`` re-exports it, so neither imports the package itself."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from narratrace import settings
from narratrace.errors import Unavailable

# Fault injection for the resumability tests and for rehearsing a failure on a real cluster:
# "TASK:INDEX[:MODE[:MARKER]]" makes batch INDEX of task TASK ("embed", "nli") fail, by raising
# (MODE "raise", the default) or by killing the worker process (MODE "exit"). With a MARKER
# path the fault fires once: the first attempt creates the file, later attempts run normally.
# Read on the driver and handed to the workers with the task, so it needs no environment there.
FAULT_ENV = "NARRATRACE_FAULT"


class RunnerError(Unavailable):
    pass


class Runner(Protocol):
    name: str

    def map(self, task: type, config: dict, batches: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, task(**config)(batch))`` for every batch, in any order, as each finishes.
        The caller commits each result when it arrives, so a failure loses only unfinished batches."""
        ...


def fault_spec() -> str | None:
    return settings.get(FAULT_ENV) or None


class TaskCall:
    """Builds the task once (models load here) and runs it on one batch at a time; the same
    wrapper runs in-process (local) and inside each Ray worker, so injected faults hit both alike."""

    def __init__(self, task: type, config: dict, fault: str | None = None) -> None:
        self.task = task(**config)
        self.name = getattr(task, "name", task.__name__)
        self.fault = fault

    def __call__(self, index: int, batch: Any) -> Any:
        if self.fault:
            _maybe_fail(self.fault, self.name, index)
        return self.task(batch)


def _maybe_fail(spec: str, name: str, index: int) -> None:
    parts = spec.split(":", 3)
    if len(parts) < 2 or parts[0] != name or parts[1] != str(index):
        return
    mode = parts[2] if len(parts) > 2 else "raise"
    if len(parts) > 3:
        marker = Path(parts[3])
        try:
            marker.touch(exist_ok=False)  # atomic: one attempt in the whole cluster fires the fault
        except FileExistsError:
            return
    if mode == "exit":
        os._exit(17)  # a dying worker, as the OOM killer or a lost node would leave it
    raise RuntimeError(f"injected fault in {name} batch {index} ({FAULT_ENV})")
