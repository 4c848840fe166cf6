"""Natural-language inference (entailment / neutral / contradiction) for English and Persian.

A small MLP head over the frozen multilingual-e5-small sentence vectors (see ``embed.py``),
trained by ``narratrace.evaluation.train_nli`` and shipped as ``models/nli/e5-head-v1.npz``
(see ``models/nli/MODEL_CARD.md`` for data, recipe and measured accuracy). Inference needs
numpy only.

Features for a pair (premise p, hypothesis h) with unit vectors u, v:
``[u, v, |u - v|, u * v]`` plus a few cheap lexical features (token overlap, negation and
number mismatch, script), standardised with the training mean / std stored in the weights.

On a CUDA GPU (``load_nli(device=...)`` / ``$NARRATRACE_DEVICE``, see ``device.py``) the
forward pass runs in torch float32 with the same weights; probabilities agree with numpy to
float32 rounding (measured on 2,000 demo pairs: logits within 2.3e-5 of values up to 26,
probabilities within 2.1e-6, every label the same).

The scores are evidence for an analyst, never a verdict: the head is small and the encoder is
frozen, so negation, numbers and world knowledge are often missed.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from narratrace.errors import Unavailable
from narratrace.match import device as devices
from narratrace.match.embed import get_embedder

LABELS = ("entailment", "neutral", "contradiction")
FEATURE_VERSION = 1
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "models" / "nli" / "e5-head-v1.npz"

Vectors = Callable[[list[str]], np.ndarray]


class NLIError(Unavailable):
    pass


# ---------------------------------------------------------------------------- lexical features

_TOKEN = re.compile(r"\w+(?:'\w+)?", re.UNICODE)
_FA_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
_LATIN = re.compile(r"[A-Za-z]")

_NEG_EN = frozenset("not no never nobody nothing none neither nor without cannot nowhere "
                    "isn't aren't wasn't weren't don't doesn't didn't won't can't couldn't "
                    "shouldn't wouldn't hasn't haven't hadn't".split())
_NEG_FA_WORDS = frozenset("نمی نه نیست نیستند نیستیم نبود نبودند هیچ هرگز بدون نباید نمی‌تواند "
                          "ندارد ندارند نداشت نداشتند نشد نشده نکرد نکردند نخواهد".split())
_NEG_FA_PREFIXES = ("نمی", "نخواه", "نکرد", "نکن", "نشد", "نشو", "ندار", "نداشت",
                    "نبود", "نیست", "نباید", "نتوان", "نتوانست", "نگرفت", "ندید", "نرفت", "نیامد")
_NUM_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
_STOP_EN = frozenset("a an the of in on at to is are was were be been and or for with by from "
                     "as that this it its his her their".split())
_STOP_FA = frozenset("و در به از که را با این آن است برای تا یا هم می بر".split())

N_LEXICAL = 11


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(_FA_DIGITS)
    return text.replace("\u2019", "'").lower()


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(_norm(text))


def _is_negation(tok: str) -> bool:
    if tok in _NEG_EN or tok.endswith("n't") or tok in _NEG_FA_WORDS:
        return True
    return len(tok) > 3 and tok.startswith(_NEG_FA_PREFIXES)


def _numbers(tokens: list[str]) -> set[str]:
    out = set()
    for t in tokens:
        if t.isdigit():
            out.add(t.lstrip("0") or "0")
        elif t in _NUM_WORDS:
            out.add(_NUM_WORDS[t])
    return out


def _content(tokens: list[str]) -> set[str]:
    return {t for t in tokens if t not in _STOP_EN and t not in _STOP_FA}


def lexical_features(premise: str, hypothesis: str) -> np.ndarray:
    """N_LEXICAL cheap features of one pair (float32)."""
    tp, th = _tokens(premise), _tokens(hypothesis)
    sp, sh = _content(tp), _content(th)
    inter = len(sp & sh)
    h_cov = inter / len(sh) if sh else 1.0
    p_cov = inter / len(sp) if sp else 1.0
    jacc = inter / len(sp | sh) if (sp | sh) else 1.0
    neg_p = sum(_is_negation(t) for t in tp)
    neg_h = sum(_is_negation(t) for t in th)
    np_, nh = _numbers(tp), _numbers(th)
    new_num = 1.0 if nh - np_ else 0.0
    num_clash = 1.0 if (np_ and nh and not (np_ & nh)) else 0.0
    len_ratio = np.log((len(th) + 1) / (len(tp) + 1))
    n_fa = len(_ARABIC_SCRIPT.findall(premise + hypothesis))
    n_la = len(_LATIN.findall(premise + hypothesis))
    persian = n_fa / (n_fa + n_la) if (n_fa + n_la) else 0.0
    return np.array([
        h_cov, p_cov, jacc,
        min(neg_p, 3), min(neg_h, 3), float((neg_p > 0) != (neg_h > 0)),
        new_num, num_clash, len_ratio, persian, len(sh - sp) / (len(sh) + 1),
    ], np.float32)


def pair_features(P: np.ndarray, H: np.ndarray, premises: Sequence[str],
                  hypotheses: Sequence[str]) -> np.ndarray:
    """(n, 4*dim + N_LEXICAL + 1) float32: [u, v, |u-v|, u*v, cos, lexical...]."""
    P = np.asarray(P, np.float32)
    H = np.asarray(H, np.float32)
    cos = np.sum(P * H, axis=1, keepdims=True)
    lex = np.stack([lexical_features(p, h) for p, h in zip(premises, hypotheses)]) if len(premises) \
        else np.zeros((0, N_LEXICAL), np.float32)
    return np.hstack([P, H, np.abs(P - H), P * H, cos, lex]).astype(np.float32)


# ---------------------------------------------------------------------------- the model

def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class NLIModel:
    """The MLP head; ``predict`` gives (n, 3) float32 probabilities in ``LABELS`` order."""

    def __init__(self, params: dict[str, np.ndarray], meta: dict, source: str = "<memory>") -> None:
        self.meta = dict(meta)
        self.source = source
        self.kind = self.meta.get("kind", "query")
        self.embedder = self.meta.get("embedder", "e5-small")
        self.model_id = self.meta.get("model_id", "nli-e5-head")
        f32 = {k: np.asarray(v, np.float32) for k, v in params.items()}
        try:
            self.mean, self.std = f32["mean"], f32["std"]
            self.W1, self.b1, self.W2, self.b2 = f32["W1"], f32["b1"], f32["W2"], f32["b2"]
        except KeyError as exc:
            raise NLIError(f"NLI weights {source} lack array {exc}") from None
        d = self.mean.shape[0]
        if (self.std.shape != (d,) or self.W1.shape[0] != d or self.b1.shape != (self.W1.shape[1],)
                or self.W2.shape != (self.W1.shape[1], len(LABELS)) or self.b2.shape != (len(LABELS),)):
            raise NLIError(f"NLI weights {source} have inconsistent shapes")
        self.dim = (d - 1 - N_LEXICAL) // 4
        self.std = np.where(self.std < 1e-6, 1.0, self.std).astype(np.float32)
        self.device = "cpu (numpy)"
        self.device_spec: str | None = None  # what default_vectors asks the embedder for
        self._torch: dict | None = None

    def to(self, device: str) -> NLIModel:
        """Run ``logits`` in torch on ``device`` ("cpu", "cuda", "cuda:1"); returns self."""
        try:
            import torch  # lazy: [ml] extra (torch: +1.4 s, ~230 MB RSS)
        except ImportError as exc:
            raise NLIError("the torch NLI path needs the ml extra: pip install 'narratrace[ml]'") from exc
        dev = torch.device(device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise NLIError(f"device {device!r} asked for, but torch sees no CUDA device")
        self._torch = {k: torch.from_numpy(np.ascontiguousarray(getattr(self, k))).to(dev)
                       for k in ("mean", "std", "W1", "b1", "W2", "b2")}
        self._torch["dev"] = dev
        self.device = f"{dev} (torch)"
        self.device_spec = str(dev)
        return self

    # -- inference
    def logits(self, X: np.ndarray) -> np.ndarray:
        if self._torch is not None:
            return self._logits_torch(X)
        Z = (X - self.mean) / self.std
        h = np.maximum(Z @ self.W1 + self.b1, 0.0)
        return h @ self.W2 + self.b2

    def _logits_torch(self, X: np.ndarray) -> np.ndarray:
        import torch  # lazy: [ml] extra (torch: +1.4 s, ~230 MB RSS)

        t = self._torch
        with torch.inference_mode():
            Z = (torch.from_numpy(np.ascontiguousarray(X, np.float32)).to(t["dev"]) - t["mean"]) / t["std"]
            h = torch.relu(Z @ t["W1"] + t["b1"])
            return (h @ t["W2"] + t["b2"]).cpu().numpy()

    def predict_vectors(self, P: np.ndarray, H: np.ndarray, premises: Sequence[str],
                        hypotheses: Sequence[str]) -> np.ndarray:
        n = len(premises)
        if len(hypotheses) != n or len(P) != n or len(H) != n:
            raise NLIError(f"mismatched inputs: {n} premises, {len(hypotheses)} hypotheses, "
                           f"{len(P)} premise vectors, {len(H)} hypothesis vectors")
        if n == 0:
            return np.zeros((0, len(LABELS)), np.float32)
        P, H = np.asarray(P, np.float32), np.asarray(H, np.float32)
        if P.ndim != 2 or P.shape[1] != self.dim or H.shape != P.shape:
            raise NLIError(f"expected ({n}, {self.dim}) vectors, got {P.shape} and {H.shape}")
        X = pair_features(P, H, premises, hypotheses)
        return _softmax(self.logits(X)).astype(np.float32)

    def predict(self, premises: Sequence[str], hypotheses: Sequence[str],
                vectors: Vectors | None = None) -> np.ndarray:
        premises, hypotheses = list(premises), list(hypotheses)
        if len(premises) != len(hypotheses):
            raise NLIError(f"mismatched inputs: {len(premises)} premises, {len(hypotheses)} hypotheses")
        if not premises:
            return np.zeros((0, len(LABELS)), np.float32)
        if vectors is None:
            vectors = self.default_vectors()
        uniq = list(dict.fromkeys(premises + hypotheses))
        V = np.asarray(vectors(uniq), np.float32)
        if V.shape[0] != len(uniq):
            raise NLIError(f"the vectors function returned {V.shape[0]} rows for {len(uniq)} texts")
        row = {t: i for i, t in enumerate(uniq)}
        P = V[[row[t] for t in premises]]
        H = V[[row[t] for t in hypotheses]]
        return self.predict_vectors(P, H, premises, hypotheses)

    def default_vectors(self) -> Vectors:
        emb = get_embedder(self.embedder, device=self.device_spec)
        kind = self.kind
        return lambda texts: emb.embed(texts, kind=kind)

    def labels(self, probs: np.ndarray) -> list[str]:
        return [LABELS[i] for i in np.argmax(probs, axis=1)]

    # -- persistence
    def save(self, path: str | Path, *, dtype=np.float16) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {k: getattr(self, k).astype(dtype) for k in ("W1", "b1", "W2", "b2")}
        arrays["mean"] = self.mean.astype(np.float32)
        arrays["std"] = self.std.astype(np.float32)
        arrays["meta"] = np.array(json.dumps(self.meta, ensure_ascii=False, sort_keys=True))
        with open(path, "wb") as f:
            np.savez_compressed(f, **arrays)
        return path


def read_weights(path: str | Path) -> NLIModel:
    path = Path(path)
    if not path.is_file():
        raise NLIError(f"NLI weights not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("meta"))) if "meta" in arrays else {}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, json.JSONDecodeError) as exc:
        raise NLIError(f"NLI weights {path} are unreadable or corrupt: {exc}") from exc
    if not isinstance(meta, dict):
        raise NLIError(f"NLI weights {path} carry malformed metadata")
    if meta.get("feature_version", FEATURE_VERSION) != FEATURE_VERSION:
        raise NLIError(f"NLI weights {path} use feature version {meta.get('feature_version')}, "
                       f"this code computes version {FEATURE_VERSION}")
    return NLIModel(arrays, meta, source=str(path))


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, torch_device: str | None = None) -> NLIModel:
    model = read_weights(path)
    return model.to(torch_device) if torch_device else model


def load_nli(path: str | Path | None = None, device: str | None = None) -> NLIModel:
    """The shipped NLI head (or the one at ``path``), loaded once per path and device. ``device``
    (else $NARRATRACE_DEVICE, else auto) picks numpy on the CPU or torch on a CUDA GPU."""
    try:
        dev = devices.resolve(device)
    except devices.DeviceError as exc:
        raise NLIError(str(exc)) from exc
    return _load_cached(str(Path(path or DEFAULT_PATH).resolve()),
                        dev.torch_device if dev.backend == "torch" else None)


def compare(model: NLIModel, vs, a: str, b: str) -> dict:
    """NLI between two statements, both directions: entail / neutral / contradict with scores,
    and their cosine similarity (``vs``: the vector store, whose cache gives the vectors)."""
    kind = getattr(model, "kind", "query")
    p = model.predict([a, b], [b, a], vectors=lambda t: vs.embed(t, kind=kind))
    va, vb = vs.embed([a, b], kind="query")

    def side(row):
        return {"label": LABELS[int(row.argmax())], **{lab: round(float(x), 4) for lab, x in zip(LABELS, row)}}

    both = (p[0] + p[1]) / 2
    return {"a_to_b": side(p[0]), "b_to_a": side(p[1]), "label": LABELS[int(both.argmax())],
            "scores": {lab: round(float(x), 4) for lab, x in zip(LABELS, both)}, "similarity": round(float(va @ vb), 4),
            "nli_model": model.model_id, "embed_model": vs.embedder.model_id}
