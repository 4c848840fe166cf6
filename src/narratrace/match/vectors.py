"""Sentence vectors: a cache of embeddings in the store, and a persistent ANN index beside it.

- Cache: table ``embedding`` keyed by (model id, hash of the normalised text). A sentence that
  recurs across syndicated copies is embedded once per model.
- Index: a usearch HNSW file per model in ``<workspace>.vectors/``, keyed by sentence id,
  updated incrementally (sentence ids only grow; ``vector_index_state`` records how far it got).
  If the file is lost it is rebuilt from the cache without re-embedding. Why usearch and not
  sqlite-vec or faiss: docs/decisions.md and bench/analyze.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from narratrace.match.embed import Embedder, Kind, text_key
from narratrace.store.models import Document, Embedding, Sentence, VectorIndexState

# Sentences shorter than this are datelines, headings and "Yes." — no narrative lives there,
# and they would crowd the nearest-neighbour lists (checked on the demo corpus: every gold
# sentence is ≥ 40 characters; 20 keeps short Persian statements such as «جبهه فریب داد.»).
MIN_CHARS = 20
BATCH = 512
# Up to this many indexed sentences, search is exact (brute force over the index's float16
# vectors), above it HNSW. Exact makes results reproducible, the same on every backend and
# build (an HNSW graph differs from build to build, and missed a match at the 0.835 cut in one CI
# run); and at the k=400 of narrative matching it is no slower: usearch on 2 cores, 2026-11-23,
# exact vs HNSW per query 1.7 vs 2.0 ms at 10k, 3.4 vs 5.2 at 50k, 9.0 vs 10.9 ms at 100k.
EXACT_MAX = 100_000

Progress = Callable[[int], None]


def usearch_index(**kw):
    """A usearch ``Index``, usearch imported on first use and after ONNX Runtime. The native
    extension loaded first sets up the C++ runtime state the others share: with usearch 2.26.6
    (numkong 7.8.6) loaded first, ``import onnxruntime`` (1.32) segfaults and ray 2.60 aborts as
    it starts ("std::regex_error"), both on the CI machine (2026-12-01/02); with onnxruntime
    first, all three work (tests/match/test_onnx_engine.py runs that order in a subprocess)."""
    try:
        import onnxruntime  # noqa: F401  # lazy: loaded before usearch on purpose (docstring)
    except ImportError:
        pass
    from usearch.index import Index  # lazy: after onnxruntime (docstring); off the CLI's start-up

    return Index(**kw)


class VectorStore:
    def __init__(self, sessions: sessionmaker, embedder: Embedder, index_dir: Path | None,
                 index_factory: Callable[[str, int], object] | None = None) -> None:
        """``index_factory(model_id, dim)`` opens an index kept in the store itself (pgvector on
        PostgreSQL); without one, a usearch file in ``index_dir`` (or in memory when None)."""
        self.sessions = sessions
        self.embedder = embedder
        self.index_dir = index_dir
        self.index_factory = index_factory
        self._index = None

    # -- cache ---------------------------------------------------------------------------------

    def embed(self, texts: Sequence[str], kind: Kind = "passage", session: Session | None = None) -> np.ndarray:
        """Vectors for texts, from the cache where present; new ones are embedded once and stored."""
        if not texts:
            return np.zeros((0, self.embedder.dim), np.float32)
        keys = [text_key(t, kind) for t in texts]
        model = self.embedder.model_id
        own = session is None
        s = session or self.sessions()
        try:
            found: dict[bytes, np.ndarray] = {}
            uniq = list(dict.fromkeys(keys))
            for i in range(0, len(uniq), 900):  # stay under SQLite's bound-parameter limit
                for key, blob in s.execute(select(Embedding.key, Embedding.vector)
                                           .where(Embedding.model == model, Embedding.key.in_(uniq[i:i + 900]))):
                    found[key] = np.frombuffer(blob, np.float16).astype(np.float32)
            missing: dict[bytes, str] = {}
            for k, t in zip(keys, texts):
                if k not in found:
                    missing.setdefault(k, t)
            if missing:
                vecs = self.embedder.embed(list(missing.values()), kind)
                rows = []
                for k, v in zip(missing, vecs):
                    found[k] = v
                    rows.append({"model": model, "key": k, "vector": v.astype(np.float16).tobytes()})
                s.execute(insert(Embedding.__table__), rows)
                if own:
                    s.commit()
            out = np.vstack([found[k] for k in keys]).astype(np.float32)
        finally:
            if own:
                s.close()
        n = np.linalg.norm(out, axis=1, keepdims=True)
        n[n == 0] = 1
        return out / n

    # -- sentences -----------------------------------------------------------------------------

    def sentence_texts(self, s: Session, ids: Iterable[int] | None = None, after: int = 0,
                       limit: int | None = None) -> list[tuple[int, str]]:
        """(sentence id, text) sliced from the stored clean text, in id order."""
        q = (select(Sentence.id, Sentence.start, Sentence.end, Document.text)
             .join(Document, Sentence.document_id == Document.id).order_by(Sentence.id))
        if ids is not None:
            q = q.where(Sentence.id.in_(list(ids)))
        if after:
            q = q.where(Sentence.id > after)
        if limit:
            q = q.limit(limit)
        return [(sid, text[a:b]) for sid, a, b, text in s.execute(q)]

    def sentence_vectors(self, ids: Sequence[int]) -> np.ndarray:
        with self.sessions() as s:
            texts = dict(self.sentence_texts(s, ids))
        return self.embed([texts[i] for i in ids])

    # -- index ---------------------------------------------------------------------------------

    def _path(self) -> Path | None:
        if self.index_dir is None:
            return None
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", self.embedder.model_id)
        return self.index_dir / f"{safe}.usearch"

    def _new_index(self):
        if self.index_factory is not None:
            return self.index_factory(self.embedder.model_id, self.embedder.dim)
        # f16 storage: half the memory, recall unchanged at this dimension (bench/analyze.py).
        return usearch_index(ndim=self.embedder.dim, metric="cos", dtype="f16")

    def index(self):
        if self._index is not None:
            return self._index
        path = self._path()
        with self.sessions() as s:
            state = s.get(VectorIndexState, self.embedder.model_id)
        idx = self._new_index()
        if path is not None and path.exists() and state is not None:
            try:
                idx.load(str(path))
            except Exception:  # a damaged file: rebuilt below from the cache
                idx = self._new_index()
        # An index ahead of (or behind) the recorded state is a crash between writing vectors and
        # recording them: rebuild to what the state says (nothing, when there is no state yet).
        if len(idx) != (state.count if state else 0):
            idx = self._rebuild(state.last_sentence_id if state else 0)
        self._index = idx
        return idx

    def _rebuild(self, upto: int):
        """Recreate the index from cached vectors (no re-embedding)."""
        idx = self._new_index()
        idx.clear()  # a store-kept index persists: start it empty
        after = 0
        with self.sessions() as s:
            while True:
                rows = [(i, t) for i, t in self.sentence_texts(s, after=after, limit=BATCH * 4) if i <= upto]
                if not rows:
                    break
                after = rows[-1][0]
                keep = [(i, t) for i, t in rows if len(t) >= MIN_CHARS]
                if keep:
                    idx.add(np.array([i for i, _ in keep], np.uint64), self.embed([t for _, t in keep], session=s))
                s.commit()
        return idx

    def update(self, progress: Progress | None = None, on_total: Callable[[int], None] | None = None) -> int:
        """Embed and index every sentence added since the last update. Returns how many were indexed."""
        try:
            return self._update(progress, on_total)
        except BaseException:
            self._index = None  # the in-memory index may be ahead of the store: reload it next time
            raise

    def _update(self, progress: Progress | None, on_total: Callable[[int], None] | None) -> int:
        idx = self.index()
        model = self.embedder.model_id
        with self.sessions() as s:
            state = s.get(VectorIndexState, model)
            last = state.last_sentence_id if state else 0
            total = s.scalar(select(func.count()).select_from(Sentence).where(Sentence.id > last)) or 0
            if on_total:
                on_total(total)
            added = 0
            while True:
                rows = self.sentence_texts(s, after=last, limit=BATCH)
                if not rows:
                    break
                keep = [(i, t) for i, t in rows if len(t) >= MIN_CHARS]
                if keep:
                    vecs = self.embed([t for _, t in keep], session=s)
                    idx.add(np.array([i for i, _ in keep], np.uint64), vecs)
                    added += len(keep)
                last = rows[-1][0]
                s.commit()  # the batch's vectors are cached: a crash from here on re-embeds nothing
                if progress:
                    progress(len(rows))
            if last != (state.last_sentence_id if state else 0):
                # The file once at the end (saving it per batch rewrote a growing file: quadratic),
                # then the state; a crash between the two is caught in index() and rebuilt.
                self._save(idx)
                if state is None:
                    state = VectorIndexState(model=model, last_sentence_id=0, count=0)
                    s.add(state)
                state.last_sentence_id, state.count = last, len(idx)
                s.commit()
        return added

    def _save(self, idx) -> None:
        path = self._path()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            idx.save(str(tmp))
            tmp.replace(path)

    def search(self, vec: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Nearest sentences to one vector: (sentence id, cosine similarity), best first."""
        idx = self.index()
        if len(idx) == 0:
            return []
        m = idx.search(vec.astype(np.float32), min(k, len(idx)), exact=len(idx) <= EXACT_MAX)
        return [(int(key), float(1.0 - dist)) for key, dist in zip(m.keys, m.distances)]


def knn(query: np.ndarray, base: np.ndarray, k: int, *, exact_max: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """(keys, cosines) of the k nearest rows of ``base`` for each row of ``query`` (rows unit
    length): exact in blocks up to ``exact_max`` rows, an in-memory usearch HNSW index above, so
    callers stay near-linear. Used by coordination (translations) and provenance (quote trails)."""
    k = min(k, len(base))
    if k == 0:
        return np.zeros((len(query), 0), np.int64), np.zeros((len(query), 0), np.float32)
    if len(base) <= exact_max:
        keys = np.empty((len(query), k), np.int64)
        sims = np.empty((len(query), k), np.float32)
        for lo in range(0, len(query), 1024):
            s = query[lo:lo + 1024] @ base.T
            part = np.argpartition(-s, k - 1, axis=1)[:, :k]
            keys[lo:lo + 1024] = part
            sims[lo:lo + 1024] = np.take_along_axis(s, part, axis=1)
        return keys, sims
    index = usearch_index(ndim=base.shape[1], metric="cos", dtype="f16")
    index.add(np.arange(len(base)), base)
    m = index.search(query, k)
    return m.keys.astype(np.int64), (1 - m.distances).astype(np.float32)


# -- for the runners (match/batches.py): what is missing from the cache --------------------------

def cached_keys(s: Session, model: str, keys: Sequence[bytes]) -> set[bytes]:
    """The keys among ``keys`` that the cache holds for ``model``."""
    have: set[bytes] = set()
    for i in range(0, len(keys), 900):  # stay under SQLite's bound-parameter limit
        have.update(s.scalars(select(Embedding.key).where(Embedding.model == model,
                                                          Embedding.key.in_(keys[i:i + 900]))))
    return have


def missing_sentence_texts(vs: VectorStore, page: int = BATCH * 8) -> list[tuple[bytes, str]]:
    """(cache key, text) of every sentence that ``vs.update()`` would index next and whose passage
    vector is not cached: once per key, in sentence-id order (so every runner cuts the same batches)."""
    model = vs.embedder.model_id
    out: dict[bytes, str] = {}
    with vs.sessions() as s:
        state = s.get(VectorIndexState, model)
        after = state.last_sentence_id if state else 0
        while True:
            rows = vs.sentence_texts(s, after=after, limit=page)
            if not rows:
                break
            after = rows[-1][0]
            fresh: dict[bytes, str] = {}
            for _i, t in rows:
                if len(t) >= MIN_CHARS:
                    k = text_key(t, "passage")
                    if k not in out:
                        fresh.setdefault(k, t)
            have = cached_keys(s, model, list(fresh))
            out.update((k, t) for k, t in fresh.items() if k not in have)
    return list(out.items())
