"""Runners: who executes the batches of the model stages (embedding, NLI for matching and for
contradictions).

A stage is planned on the driver (the process that holds the store): it lists what is missing,
cuts it into batches in a fixed order, and writes every result to the store as soon as it comes
back. The runner only executes ``task(batch)`` for each batch, where ``task`` is a class built
once per worker (that is where models load). Because both runners execute the same task classes
(``run/tasks.py``) on the same batches, their results are the same bytes; only where the work
runs differs:

- ``local`` (default): in this process, batch after batch.
- ``ray``: Ray Data ``map_batches`` over a local Ray instance or a cluster (``run/ray_runner.py``,
  docs/ray.md). Ray is an optional extra and is imported only there.

Choose with ``get_runner(name)``, the ``runner=`` argument of the Workspace methods, the CLI's
``--runner`` or ``$NARRATRACE_RUNNER``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from narratrace import settings
from narratrace.errors import Unavailable

RUNNERS = ("local", "ray")
RUNNER_ENV = "NARRATRACE_RUNNER"
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


def get_runner(name: str | Runner | None = None, *, address: str | None = None,
               num_cpus: int | None = None) -> Runner:
    """The runner called ``name`` (else $NARRATRACE_RUNNER, else local). A runner object passes through.
    ``address`` (a Ray cluster, else $RAY_ADDRESS) and ``num_cpus`` (local Ray) apply to ray only."""
    if name is not None and not isinstance(name, str):
        return name
    name = (name or settings.get(RUNNER_ENV) or "local").strip().lower()
    if name == "local":
        from narratrace.run.local import LocalRunner

        return LocalRunner()
    if name == "ray":
        from narratrace.run.ray_runner import RayRunner

        return RayRunner(address=address, num_cpus=num_cpus)
    raise RunnerError(f"unknown runner '{name}' (choose one of: {', '.join(RUNNERS)})")


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
