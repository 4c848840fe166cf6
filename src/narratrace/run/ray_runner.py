"""The Ray runner: each window of batches is one Ray Data job, ``map_batches`` over a pool of actors
that load the model once each (docs/ray.md for clusters).

- Each batch planned by the driver is one row and one block, and ``batch_size=1`` hands it to the
  task whole: the model sees exactly the batches the local runner would give it (same bytes out).
- Results stream back to the driver as each block finishes (``iter_rows``), and the driver commits
  them there and then; see match/batches.py for why the workers never write to the store.
- A worker process that dies is restarted by Ray and its block retried (Ray Data's actor pools
  default to ``max_restarts=-1`` and ``max_task_retries=-1``, so a batch that kills every worker
  it lands on would retry for ever: the fault injection uses a once-only marker for that reason).
  An exception inside a task ends the job; what had committed stays, and a rerun computes only
  the rest.

Ray is imported here only: it is the optional ``[ray]`` extra (~600 MB installed).
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from narratrace.run.base import RunnerError, TaskCall, fault_spec


def _import_ray():
    # Ray 2.60 writes an auth token under the home folder unless told not to; a local instance
    # started by narratrace needs none (the cluster's own setting wins when it has one).
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    try:
        import ray  # lazy: [ray] extra (~600 MB installed, +0.8 s to import)
        import ray.data  # noqa: F401  # lazy: [ray] extra (its [data] part)
    except ImportError as exc:
        raise RunnerError("the ray runner needs Ray: pip install 'narratrace[ray]'") from exc
    return ray


class _RayCall:
    """The Ray Data callable class: one per actor, wrapping the same TaskCall the local runner uses."""

    def __init__(self, task: type, config: dict, fault: str | None) -> None:
        self.call = TaskCall(task, config, fault)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        idx = [int(i) for i in batch["i"]]
        outs = [pickle.dumps(self.call(i, pickle.loads(p)), protocol=pickle.HIGHEST_PROTOCOL)
                for i, p in zip(idx, batch["payload"])]
        res = np.empty(len(outs), dtype=object)
        res[:] = outs
        return {"i": np.asarray(idx, np.int64), "out": res}


class RayRunner:
    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, workers: int | None = None) -> None:
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.num_cpus = num_cpus
        self.workers = workers
        self._started = False  # whether this runner started the local instance (and shuts it down)
        self._configured = False

    def _ray(self):
        ray = _import_ray()
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": "WARNING",
                                      "log_to_driver": False, "configure_logging": True}
            if self.address:
                ray.init(address=self.address, **kwargs)
            else:
                ray.init(num_cpus=self.num_cpus, **kwargs)
                self._started = True
        if not self._configured:  # also when someone else started Ray (a test, a notebook)
            self._configured = True
            ctx = ray.data.DataContext.get_current()
            ctx.enable_progress_bars = False  # the CLI draws its own
            ctx.print_on_execution_start = False
            # one INFO line per job and a warning about the bars we turned off would interleave
            # with the CLI's progress; errors still show
            logging.getLogger("ray.data").setLevel(logging.ERROR)
        return ray

    def _pool(self, ray) -> int:
        if self.workers:
            return self.workers
        cpus = int(ray.cluster_resources().get("CPU", 1))
        return max(1, cpus)

    def map(self, task: type, config: dict, batches: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        if not batches:
            return
        ray = self._ray()
        items = [{"i": i, "payload": pickle.dumps(b, protocol=pickle.HIGHEST_PROTOCOL)} for i, b in enumerate(batches)]
        ds = ray.data.from_items(items, override_num_blocks=len(items))  # one batch per block: commit granularity
        ds = ds.map_batches(
            _RayCall, fn_constructor_kwargs={"task": task, "config": config, "fault": fault_spec()},
            batch_size=1, batch_format="numpy", num_cpus=1,
            compute=ray.data.ActorPoolStrategy(size=min(self._pool(ray), len(items))))
        for row in ds.iter_rows():
            yield int(row["i"]), pickle.loads(row["out"])

    def close(self) -> None:
        if self._started:
            _import_ray().shutdown()
            self._started = False
