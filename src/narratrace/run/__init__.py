"""Runners: who executes the batches of the model stages (embedding, NLI for matching and for
contradictions).

A stage is planned on the driver (the process that holds the store): it lists what is missing,
cuts it into batches in a fixed order, and writes every result to the store as soon as it comes
back. The runner only executes ``task(batch)`` for each batch, where ``task`` is a class built
once per worker (that is where models load). Because both runners execute the same task classes
(``match/tasks.py``) on the same batches, their results are the same bytes; only where the work
runs differs:

- ``local`` (default): in this process, batch after batch.
- ``ray``: Ray Data ``map_batches`` over a local Ray instance or a cluster (``run/ray_runner.py``,
  docs/ray.md). Ray is an optional extra and is imported only there.

Choose with ``get_runner(name)``, the ``runner=`` argument of the Workspace methods, the CLI's
``--runner`` or ``$NARRATRACE_RUNNER``.
"""

from __future__ import annotations

from narratrace import settings
from narratrace.run.base import FAULT_ENV, Runner, RunnerError, TaskCall, fault_spec
from narratrace.run.local import LocalRunner
from narratrace.run.ray_runner import RayRunner

__all__ = ["FAULT_ENV", "RUNNERS", "RUNNER_ENV", "Runner", "RunnerError", "TaskCall", "fault_spec", "get_runner"]

RUNNERS = ("local", "ray")
RUNNER_ENV = "NARRATRACE_RUNNER"


def get_runner(name: str | Runner | None = None, *, address: str | None = None,
               num_cpus: int | None = None) -> Runner:
    """The runner called ``name`` (else $NARRATRACE_RUNNER, else local). A runner object passes through.
    ``address`` (a Ray cluster, else $RAY_ADDRESS) and ``num_cpus`` (local Ray) apply to ray only."""
    if name is not None and not isinstance(name, str):
        return name
    name = (name or settings.get(RUNNER_ENV) or "local").strip().lower()
    if name == "local":
        return LocalRunner()
    if name == "ray":
        return RayRunner(address=address, num_cpus=num_cpus)
    raise RunnerError(f"unknown runner '{name}' (choose one of: {', '.join(RUNNERS)})")
