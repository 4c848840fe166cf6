"""Claim matching scored on CLEF 2020 CheckThat! task 2 (English verified-claim retrieval).

Given a tweet, rank the 10,375 verified claims (``verified_claims.docs.tsv``: id, vclaim, title) so
that the claim(s) the tweet repeats come first. The qrels are TREC style (``qid 0 docid 1``).

The metric is the task's: its scorer (``evaluate.py`` in sshaar/clef2020-factchecking-task2) runs
trectools' ``get_map(depth=5)``: for each query, the precision at every rank <= 5 that holds a
relevant claim, summed and divided by the query's number of relevant claims, then averaged over all
queries in the qrels (a query with no hit in the top 5 scores 0). Some write-ups divide by
min(#relevant, 5) instead; on this set no tweet has more than 2 relevant claims, so the two agree.

Rankers: Okapi BM25 (the task's published baseline is BM25 through Elasticsearch, so BM25 is the
reference to beat), dense retrieval with narratrace's embedder (e5: tweets as ``query``, claims as
``passage``), and a hybrid that sums per-query min-max-normalised BM25 and dense scores with a
fixed weight chosen on the train split (dev and test are not used for tuning).

CLI: ``python -m narratrace.evaluation.claims --split test --eval-dir ../shared/eval``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import math
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from narratrace.match.embed import get_embedder

_WORD = re.compile(r"\w+", re.UNICODE)
_URL = re.compile(r"(?:https?://|pic\.twitter\.com/)\S+", re.IGNORECASE)
SPLITS = ("train", "dev", "test")
# Weight of BM25 in the hybrid (1 - weight goes to dense). Chosen on the train split (MAP@5 0.877 at 0.2) by
# `tune_hybrid` (grid 0.0..1.0 step 0.05); see bench/RESULTS.md.
HYBRID_BM25_WEIGHT = 0.2
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "narratrace-claims-cache"


# ---------------------------------------------------------------- data


@dataclass
class ClaimSet:
    claim_ids: list[str]
    claims: list[str]  # vclaim
    titles: list[str]
    queries: dict[str, str]  # split's tweet id -> text
    qrels: dict[str, set[str]]  # tweet id -> relevant claim ids

    def claim_texts(self) -> list[str]:
        """What is indexed and embedded: the fact-checker's title, then the normalised claim."""
        return [f"{t} {c}".strip() for t, c in zip(self.titles, self.claims)]


def _read_tsv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    return rows[1:]  # header: "\tvclaim\ttitle" / "\ttweet_content"


def load(split: str = "dev", eval_dir: str | Path = "../shared/eval") -> ClaimSet:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    root = Path(eval_dir) / "claims-en" if (Path(eval_dir) / "claims-en").exists() else Path(eval_dir)
    ids, claims, titles = [], [], []
    for row in _read_tsv(root / "verified_claims.docs.tsv"):
        row = row + [""] * (3 - len(row))
        ids.append(row[0].strip())
        claims.append(row[1].strip())
        titles.append(row[2].strip())
    queries = {r[0].strip(): r[1] for r in _read_tsv(root / split / "tweets.queries.tsv") if len(r) >= 2}
    qrels: dict[str, set[str]] = {}
    for line in (root / split / "tweet-vclaim-pairs.qrels").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 4 and int(parts[3]) > 0:
            qrels.setdefault(parts[0], set()).add(parts[2])
    return ClaimSet(ids, claims, titles, queries, qrels)


def clean_tweet(text: str) -> str:
    """Links carry no words to match on; drop them (the author line and date stay)."""
    return _URL.sub(" ", text).strip()


# ---------------------------------------------------------------- metric


def average_precision_at_k(ranked: Sequence[str], relevant: set[str] | frozenset[str], k: int = 5) -> float:
    """AP@k as trectools/the task scorer computes it: sum of precision@i over the ranks i <= k
    holding a relevant item, divided by the number of relevant items."""
    if not relevant:
        return 0.0
    hits, total = 0, 0.0
    for i, doc in enumerate(ranked[:k], start=1):
        if doc in relevant:
            hits += 1
            total += hits / i
    return total / len(relevant)


def map_at_k(rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, set[str]], k: int = 5) -> float:
    """Mean AP@k over every query in the qrels; a query missing from ``rankings`` scores 0."""
    if not qrels:
        return 0.0
    return sum(average_precision_at_k(rankings.get(q, ()), rel, k) for q, rel in qrels.items()) / len(qrels)


def recall_at_k(rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, set[str]], k: int = 5) -> float:
    if not qrels:
        return 0.0
    return sum(len(set(rankings.get(q, ())[:k]) & rel) / len(rel) for q, rel in qrels.items()) / len(qrels)


# ---------------------------------------------------------------- BM25


def tokenize(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class BM25:
    """Okapi BM25 (Robertson/Lucene idf: log(1 + (N - df + 0.5) / (df + 0.5))) over lowercase words."""

    def __init__(self, docs: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.n = len(docs)
        toks = [tokenize(d) for d in docs]
        lengths = np.array([len(t) for t in toks], np.float64)
        self.avgdl = float(lengths.mean()) if self.n else 0.0
        norm = k1 * (1 - b + b * lengths / (self.avgdl or 1.0))
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for i, t in enumerate(toks):
            for term, tf in Counter(t).items():
                p = postings.setdefault(term, ([], []))
                p[0].append(i)
                p[1].append(tf)
        # per term: doc ids and the precomputed idf * tf (k1 + 1) / (tf + norm)
        self._post: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, (ids, tfs) in postings.items():
            ids_a = np.array(ids, np.int64)
            tf_a = np.array(tfs, np.float64)
            idf = math.log(1 + (self.n - len(ids) + 0.5) / (len(ids) + 0.5))
            self._post[term] = (ids_a, idf * tf_a * (k1 + 1) / (tf_a + norm[ids_a]))

    def scores(self, query: str) -> np.ndarray:
        s = np.zeros(self.n, np.float64)
        for term, qtf in Counter(tokenize(query)).items():
            p = self._post.get(term)
            if p is not None:
                s[p[0]] += qtf * p[1]
        return s


# ---------------------------------------------------------------- dense


def _embed_cached(texts: list[str], kind: str, embedder, cache_dir: Path | None) -> np.ndarray:
    h = hashlib.blake2b(digest_size=12)
    h.update(f"{embedder.model_id}\x00{kind}\x00".encode())
    for t in texts:
        h.update(t.encode("utf-8") + b"\x00")
    path = None
    if cache_dir is not None:
        cache_dir = Path(cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        path = cache_dir / f"{kind}-{len(texts)}-{h.hexdigest()}.npy"
        if path.exists():
            return np.load(path)
    vecs = np.asarray(embedder.embed(texts, kind=kind), np.float32)
    if path is not None:
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, vecs)
        tmp.replace(path)
    return vecs


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(scores))
    idx = np.argpartition(-scores, k - 1)[:k]
    return idx[np.argsort(-scores[idx], kind="stable")]


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


@dataclass
class Scores:
    """Per-query score vectors over all claims, for each ranker (rows follow ``qids``)."""
    qids: list[str]
    bm25: np.ndarray  # (nq, nclaims)
    dense: np.ndarray | None


def score_split(data: ClaimSet, *, dense: bool = True, embedder=None,
                cache_dir: str | Path | None = DEFAULT_CACHE, bm25: BM25 | None = None) -> Scores:
    qids = sorted(data.qrels, key=lambda q: (len(q), q))
    texts = [clean_tweet(data.queries.get(q, "")) for q in qids]
    bm25 = bm25 or BM25(data.claim_texts())
    b = np.vstack([bm25.scores(t) for t in texts]) if texts else np.zeros((0, len(data.claim_ids)))
    d = None
    if dense:
        if embedder is None:
            embedder = get_embedder("e5-small")
        cdir = Path(cache_dir) if cache_dir is not None else None
        cv = _embed_cached(data.claim_texts(), "passage", embedder, cdir)
        qv = _embed_cached(texts, "query", embedder, cdir)
        d = qv @ cv.T
    return Scores(qids, b, d)


def hybrid_scores(s: Scores, bm25_weight: float = HYBRID_BM25_WEIGHT) -> np.ndarray:
    """Per query: weight * minmax(BM25) + (1 - weight) * minmax(dense)."""
    assert s.dense is not None
    out = np.empty_like(s.dense, dtype=np.float64)
    for i in range(len(s.qids)):
        out[i] = bm25_weight * _minmax(s.bm25[i]) + (1 - bm25_weight) * _minmax(s.dense[i].astype(np.float64))
    return out


def rankings_from(scores: np.ndarray, qids: list[str], claim_ids: list[str], k: int = 10) -> dict[str, list[str]]:
    return {q: [claim_ids[j] for j in _top(scores[i], k)] for i, q in enumerate(qids)}


def metrics(rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, set[str]]) -> dict[str, float]:
    return {"map1": map_at_k(rankings, qrels, 1), "map3": map_at_k(rankings, qrels, 3),
            "map5": map_at_k(rankings, qrels, 5), "recall5": recall_at_k(rankings, qrels, 5)}


def tune_hybrid(s: Scores, data: ClaimSet, grid: Sequence[float] | None = None) -> tuple[float, dict[float, float]]:
    """MAP@5 of the hybrid for each BM25 weight in the grid; returns the best weight and the table."""
    grid = grid if grid is not None else [round(0.05 * i, 2) for i in range(21)]
    table = {w: map_at_k(rankings_from(hybrid_scores(s, w), s.qids, data.claim_ids, 5), data.qrels, 5) for w in grid}
    best = max(table, key=lambda w: (table[w], -abs(w - 0.5)))
    return best, table


def evaluate(split: str = "dev", eval_dir: str | Path = "../shared/eval", *, dense: bool = True,
             cache_dir: str | Path | None = DEFAULT_CACHE, embedder=None,
             bm25_weight: float = HYBRID_BM25_WEIGHT) -> dict:
    """MAP@1/3/5 and recall@5 of bm25, dense and hybrid on one split.

    Returns ``{"split", "queries", "claims", "seconds", "bm25": {...}, "dense": {...}, "hybrid": {...}}``.
    """
    t0 = time.perf_counter()
    data = load(split, eval_dir)
    s = score_split(data, dense=dense, embedder=embedder, cache_dir=cache_dir)
    out: dict = {"split": split, "queries": len(data.qrels), "claims": len(data.claim_ids)}
    out["bm25"] = metrics(rankings_from(s.bm25, s.qids, data.claim_ids), data.qrels)
    if dense:
        out["dense"] = metrics(rankings_from(s.dense, s.qids, data.claim_ids), data.qrels)
        out["hybrid"] = metrics(rankings_from(hybrid_scores(s, bm25_weight), s.qids, data.claim_ids), data.qrels)
        out["hybrid_bm25_weight"] = bm25_weight
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def format_table(result: dict) -> str:
    lines = [f"CLEF 2020 CheckThat! 2a, split {result['split']}: {result['queries']} tweets, "
             f"{result['claims']} verified claims",
             f"{'ranker':<8} {'MAP@1':>7} {'MAP@3':>7} {'MAP@5':>7} {'R@5':>7}"]
    for name in ("bm25", "dense", "hybrid"):
        if name in result:
            m = result[name]
            lines.append(f"{name:<8} {m['map1']:>7.4f} {m['map3']:>7.4f} {m['map5']:>7.4f} {m['recall5']:>7.4f}")
    lines.append(f"({result['seconds']} s; hybrid BM25 weight {result.get('hybrid_bm25_weight', '-')}; "
                 "BM25 is the task's published baseline)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m narratrace.evaluation.claims", description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=SPLITS, default="dev")
    ap.add_argument("--eval-dir", default="../shared/eval", help="folder holding claims-en/")
    ap.add_argument("--cache-dir", default=str(DEFAULT_CACHE), help="where claim vectors are cached (.npy)")
    ap.add_argument("--no-dense", action="store_true", help="BM25 only (no embedding)")
    ap.add_argument("--tune", action="store_true", help="print MAP@5 of the hybrid per BM25 weight on this split")
    args = ap.parse_args(argv)
    if not (Path(args.eval_dir) / "claims-en").exists() and not (Path(args.eval_dir) / "verified_claims.docs.tsv").exists():
        print(f"no claims-en/ under {args.eval_dir}", file=sys.stderr)
        return 2
    if args.tune:
        data = load(args.split, args.eval_dir)
        s = score_split(data, cache_dir=args.cache_dir)
        best, table = tune_hybrid(s, data)
        for w, v in table.items():
            print(f"bm25_weight {w:.2f}  MAP@5 {v:.4f}")
        print(f"best {best}")
        return 0
    print(format_table(evaluate(args.split, args.eval_dir, dense=not args.no_dense, cache_dir=args.cache_dir)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
