"""The NLI cross-encoder at inference: numpy (what narratrace ships) against ONNX Runtime.

    python bench/nli.py [--pairs 256] [--model PATH]

Baseline, measured in the same run: the numpy forward on one BLAS thread (what the local and Ray
runners use, for identical bytes). Compared: numpy on every core, the local runner's tasks on one
thread and on a thread per core (what matching runs), and ONNX Runtime (if
``onnxruntime`` and ``torch`` are installed: the same weights exported through the training
model with ``torch.onnx``) on one thread and on every core. Pairs are real-looking sentence ×
narrative-statement pairs from the demo corpus, length-sorted and batched as the matcher does.
Also printed: the largest |difference| in probability between ONNX Runtime and numpy.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent


def _pairs(n: int) -> tuple[list[str], list[str]]:
    narratives = yaml.safe_load((ROOT / "src/narratrace/demo/data/narratives.yaml").read_text())["narratives"]
    statements = [s for nrt in narratives for s in nrt.get("assertions", [])]
    sentences = [s for nrt in narratives for s in nrt.get("counters", [])] + statements
    rng = np.random.default_rng(0)
    prem = [sentences[i] + " " + sentences[j] for i, j in rng.integers(0, len(sentences), (n, 2))]
    hyp = [statements[i] for i in rng.integers(0, len(statements), n)]
    return prem, hyp


def _time(fn, reps: int = 2) -> float:
    fn()  # warm
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def onnx_session(model, threads: int):
    """Export the numpy model's weights through the torch training model, then load in ORT."""
    import onnxruntime as ort
    import torch

    from narratrace.training.cross_nli import _warm_start, build_model

    tm, _tok, _fp = build_model(8)
    _warm_start(tm, model.source, lambda m: None)
    tm.eval()
    path = Path(tempfile.mkdtemp()) / "cross.onnx"
    ids = torch.zeros((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.bool)
    dims = {0: torch.export.Dim("b"), 1: torch.export.Dim("l", max=160)}
    torch.onnx.export(tm, (ids, mask), str(path), input_names=["ids", "mask"], output_names=["logits"],
                      dynamic_shapes=(dims, dims), opset_version=18, dynamo=True)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=256)
    ap.add_argument("--model", default=None)
    a = ap.parse_args()
    from narratrace.match import cross_format as cf
    from narratrace.match.nli import load_nli

    m = load_nli(a.model)
    prem, hyp = _pairs(a.pairs)
    toks = sum(len(cf.pair_ids(m.tok, p, h)) for p, h in zip(prem, hyp)) / len(prem)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, {platform.python_version()}; "
          f"load average {os.getloadavg()[0]:.1f}; {a.pairs} pairs, {toks:.0f} tokens per pair on average")
    with threadpool_limits(1, user_api="blas"):
        base = _time(lambda: m.predict(prem, hyp))
        ref = m.predict(prem, hyp)
    print(f"numpy, 1 BLAS thread (baseline): {a.pairs / base:7.1f} pairs/s")
    t = _time(lambda: m.predict(prem, hyp))
    print(f"numpy, all cores:                {a.pairs / t:7.1f} pairs/s  ({base / t:.2f}x)")
    # what matching runs: nli_batches through the local runner, its tasks on a thread per core
    from narratrace.match.batches import nli_batches
    from narratrace.run.local import LocalRunner, default_workers

    asks = [(prem, hyp, False)]
    for workers in sorted({1, default_workers()}):
        runner = LocalRunner(workers=workers)
        t = _time(lambda r=runner: nli_batches(None, m, asks, r))
        same = np.array_equal(nli_batches(None, m, asks, runner)[0][0], nli_batches(None, m, asks, LocalRunner(1))[0][0])
        print(f"local runner, {workers} thread(s):     {a.pairs / t:7.1f} pairs/s  ({base / t:.2f}x)"
              f"{'' if workers == 1 else f'; same bytes as 1 thread: {same}'}")
    try:
        import onnxruntime  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        print(f"ONNX Runtime not measured: {exc}")
        return
    seqs = [cf.pair_ids(m.tok, p, h) for p, h in zip(prem, hyp)]
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    for threads in (1, os.cpu_count() or 1):
        sess = onnx_session(m, threads)

        def run():
            out = np.zeros((len(seqs), 3), np.float32)
            for j in range(0, len(order), 64):
                idx = order[j:j + 64]
                ids, mask = cf.batch_arrays([seqs[i] for i in idx])
                out[idx] = sess.run(None, {"ids": ids, "mask": mask})[0]
            return out

        t = _time(run)
        logits = run()
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        print(f"ONNX Runtime, {threads} thread(s):      {a.pairs / t:7.1f} pairs/s  ({base / t:.2f}x); "
              f"max |p - numpy| {np.abs(p - ref).max():.1e}")


if __name__ == "__main__":
    main()
