"""Duplicates: exact by clean-text hash, near (syndicated copies, light edits) by MinHash LSH.

Duplicates are stored and linked (duplicate_of), never dropped: a syndicated copy on
another outlet is evidence of who carried a text.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading

import numpy as np

NUM_PERM = 128
SHINGLE = 3  # word 3-grams: robust to a sentence added or removed, strict on rewrites
# Calibrated on the demo corpus: syndicated copies with one sentence added/removed score
# 0.80–0.95, unrelated articles of the same outlet on the same topic stay below 0.25.
# 0.7 leaves a margin on both sides.
NEAR_THRESHOLD = 0.7
MIN_SHINGLES = 8
# The hashing scheme is part of the stored signature format: changing it needs a migration
# that recomputes document_signature.
SCHEME = "affine32"  # shorter texts (one-line posts) are judged by exact hash only

_WORD = re.compile(r"\w+", re.UNICODE)


def clean_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def shingles(text: str) -> set[bytes]:
    words = _WORD.findall(text.casefold())
    return {" ".join(words[i:i + SHINGLE]).encode("utf-8") for i in range(max(0, len(words) - SHINGLE + 1))}


@functools.cache
def _permutations():
    """The seed's permutation parameters, drawn once: datasketch draws them again for every MinHash
    it builds, and building one per stored signature was most of an upload's cost (cProfile)."""
    from datasketch import MinHash  # lazy: datasketch imports scipy, ~1.5 s at CLI start (measured)

    return MinHash(num_perm=NUM_PERM, seed=1, scheme=SCHEME).permutations


@functools.cache
def _lsh_params() -> tuple[int, int]:
    """Bands and rows for NEAR_THRESHOLD, found once (datasketch integrates for them with scipy on
    every MinHashLSH it makes: ~20 ms)."""
    from datasketch import MinHashLSH  # lazy: see _permutations

    lsh = MinHashLSH(threshold=NEAR_THRESHOLD, num_perm=NUM_PERM)
    return lsh.b, lsh.r


def signature(text: str) -> np.ndarray | None:
    sh = shingles(text)
    if len(sh) < MIN_SHINGLES:
        return None
    from datasketch import MinHash  # lazy: see _permutations

    m = MinHash(num_perm=NUM_PERM, seed=1, scheme=SCHEME, permutations=_permutations())
    m.update_batch(list(sh))
    return m.hashvalues.astype(np.uint64)


def to_bytes(sig: np.ndarray) -> bytes:
    return sig.astype("<u8").tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<u8").astype(np.uint64)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / len(a)


def _minhash(sig: np.ndarray):
    from datasketch import MinHash  # lazy: see _permutations

    return MinHash(num_perm=NUM_PERM, seed=1, hashvalues=sig, scheme=SCHEME, permutations=_permutations())


class NearDuplicateIndex:
    """LSH over stored signatures. A Workspace keeps one for its life and brings it up to date
    before each ingest (ingest/pipeline.py ``Ingestor``): ``add`` is idempotent and thread-safe,
    and ``high`` is the largest document id it holds, so only what was stored since is read."""

    def __init__(self) -> None:
        from datasketch import MinHashLSH  # lazy: see _permutations

        self.lsh = MinHashLSH(num_perm=NUM_PERM, params=_lsh_params())
        self.high = 0
        self.size = 0
        self.lock = threading.Lock()

    def add(self, doc_id: int, sig: np.ndarray) -> None:
        with self.lock:
            if doc_id in self.lsh:  # a concurrent upload's catch-up read it already
                return
            self.lsh.insert(doc_id, _minhash(sig))
            self.high = max(self.high, doc_id)
            self.size += 1

    def __contains__(self, doc_id: int) -> bool:
        return doc_id in self.lsh

    def candidates(self, sig: np.ndarray) -> list[int]:
        with self.lock:
            return sorted(self.lsh.query(_minhash(sig)))
