"""The NLI cross-encoder at inference: its CPU engines against numpy.

    python bench/nli.py [--pairs 256] [--model PATH]

Baseline, measured in the same run: the ``numpy`` engine on one BLAS thread (what the runners use,
for identical bytes). Compared: numpy on every core, and for each engine (``numpy``,
``onnx-fp32``, ``onnx-int8``; ``cross_nli.ENGINES``) the local runner's tasks on one thread and on
a thread per core — what matching runs. Pairs are real-looking sentence × narrative-statement
pairs from the demo corpus, length-sorted and batched as the matcher does. For the ONNX engines
also printed: the largest and mean |difference| in probability from numpy and the share of pairs
with the same most likely label.
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

import numpy as np
import yaml
from threadpoolctl import threadpool_limits
from timing import best_time

ROOT = Path(__file__).resolve().parent.parent


def _pairs(n: int) -> tuple[list[str], list[str]]:
    narratives = yaml.safe_load((ROOT / "src/narratrace/demo/data/narratives.yaml").read_text())["narratives"]
    statements = [s for nrt in narratives for s in nrt.get("assertions", [])]
    sentences = [s for nrt in narratives for s in nrt.get("counters", [])] + statements
    rng = np.random.default_rng(0)
    prem = [sentences[i] + " " + sentences[j] for i, j in rng.integers(0, len(sentences), (n, 2))]
    hyp = [statements[i] for i in rng.integers(0, len(statements), n)]
    return prem, hyp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=256)
    ap.add_argument("--model", default=None)
    a = ap.parse_args()
    from narratrace.match import cross_format as cf
    from narratrace.match.nli import load_nli

    m = load_nli(a.model, engine="numpy")
    prem, hyp = _pairs(a.pairs)
    toks = sum(len(cf.pair_ids(m.tok, p, h)) for p, h in zip(prem, hyp)) / len(prem)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, {platform.python_version()}; "
          f"load average {os.getloadavg()[0]:.1f}; {a.pairs} pairs, {toks:.0f} tokens per pair on average")
    with threadpool_limits(1, user_api="blas"):
        base = best_time(lambda: m.predict(prem, hyp))
        ref = m.predict(prem, hyp)
    print(f"numpy, 1 BLAS thread (baseline): {a.pairs / base:7.1f} pairs/s")
    t = best_time(lambda: m.predict(prem, hyp))
    print(f"numpy, all cores:                {a.pairs / t:7.1f} pairs/s  ({base / t:.2f}x)")
    # what matching runs: nli_batches through the local runner, its tasks on a thread per core
    from narratrace.match.batches import nli_batches
    from narratrace.match.cross_nli import ENGINES
    from narratrace.run.local import LocalRunner, default_workers

    asks = [(prem, hyp, False)]
    for engine in reversed(ENGINES):
        em = load_nli(a.model, engine=engine)
        p = em.predict(prem, hyp)
        diff = "" if engine == "numpy" else (
            f"; |p - numpy| max {np.abs(p - ref).max():.3f} mean {np.abs(p - ref).mean():.4f}, "
            f"same label {(p.argmax(1) == ref.argmax(1)).mean():.3f}")
        for workers in sorted({1, default_workers()}):
            runner = LocalRunner(workers=workers)
            t = best_time(lambda r=runner, em=em: nli_batches(None, em, asks, r))
            print(f"{engine:9s} local runner, {workers} thread(s): {a.pairs / t:7.1f} pairs/s  ({base / t:.2f}x)"
                  f"{diff if workers == 1 else ''}", flush=True)


if __name__ == "__main__":
    main()
