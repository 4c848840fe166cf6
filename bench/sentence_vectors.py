"""Benchmark: handing each document its sentence vectors in translation detection
(``detect.coordination.sentence_vectors``), the step that grew with the square of the corpus.

The encoder is replaced by a stub that returns fixed vectors (its cost is measured elsewhere,
bench/analyze.py): what is timed is splitting the texts into sentences and the vectors back
into documents. Baseline, in the same run: the former per-document mask (``vecs[owner == i]``).

    python bench/sentence_vectors.py --docs 5000,20000,40000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from narratrace.detect.coordination import sentence_vectors


class StubEmbedder:
    dim = 384

    def embed(self, texts):
        return np.ones((len(texts), self.dim), np.float32)


def corpus(n: int) -> list[str]:
    s = "The ministry of Norland said the talks with Kavaran would resume next week in Dastgerd. "
    return [s * 12 for _ in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", default="5000,20000,40000")
    args = ap.parse_args()
    for n in (int(x) for x in args.docs.split(",")):
        texts = corpus(n)
        t = time.perf_counter()
        new = sentence_vectors(texts, StubEmbedder())
        t_new = time.perf_counter() - t
        owner = np.repeat(np.arange(n), [len(v) for v in new])
        vecs = np.concatenate(new)
        t = time.perf_counter()
        old = [vecs[owner == i] for i in range(n)]  # baseline: the former split
        t_old = time.perf_counter() - t
        t = time.perf_counter()
        split = np.split(vecs, np.searchsorted(owner, np.arange(1, n)))  # what sentence_vectors does now
        t_split = time.perf_counter() - t
        assert all(np.array_equal(a, b) and np.array_equal(a, c) for a, b, c in zip(old, new, split))
        print(f"{n:>7} documents, {len(vecs):>7} sentences: whole step {t_new:6.2f} s (sentence splitting "
              f"included); the split: baseline {t_old:7.3f} s, now {t_split:6.3f} s ({t_old / t_split:,.0f}×)",
              flush=True)


if __name__ == "__main__":
    main()
