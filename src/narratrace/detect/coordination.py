"""Coordinated publication: outlets that publish the same text, or its translation, within minutes
of each other — and CooRTweet's account-level co-sharing network for share tables.

Pure functions over plain records (no database): the workspace, a DataFrame or a benchmark builds
``Item`` rows and calls them. Everything is near-linear in the number of documents: MinHash LSH
banding (never all pairs) for near-identical text, k-nearest-neighbour search for translations,
and a per-object sliding window for share tables.

Evidence, not verdicts: a group says "these outlets carried near-identical text within this
window, this one first"; whether that is a campaign, a wire service or a shared press release is
for the analyst to judge.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from narratrace.ingest import dedup
from narratrace.match.embed import get_embedder
from narratrace.match.vectors import knn
from narratrace.records import _Record
from narratrace.segment.sentences import split_sentences

# --- thresholds, and how each was calibrated -------------------------------------------------

# Estimated Jaccard (MinHash, word 3-grams, dedup's scheme) at or above which two documents are
# the "same text". Calibrated on the demo corpus (2026-11-23): the coordinated burst B1 is four
# *edited* copies whose pairwise Jaccard is 0.63-0.81 (exact) / 0.62-0.81 (MinHash); syndicated
# copies score 0.74-0.93; the most similar unrelated pair of the 69 documents scores 0.16.
# 0.5 sits in the middle of that gap. CooRTweet's detect_similar_text default (0.8) would keep only
# one of the burst's six pairs, and dedup's 0.7 (made for copies with one sentence changed) three.
NEAR_DUPLICATE = 0.5

# Publication window for one group, in seconds. Calibrated on the demo corpus: the burst spans
# 17 minutes (10:00-10:17), the quickest syndicated copy follows its original after 100 minutes.
# One hour keeps the burst whole and leaves syndication out (it shows up as its own, slower group
# when the caller widens the window). window="auto" estimates it from the data instead
# (estimate_window, CooRnet's method).
DEFAULT_WINDOW = 3600.0

# Translations take longer than copy-paste: the demo's one translated article (kna, Persian, 06:30)
# appears in English on kt 23 hours later. Two days keeps it with margin.
TRANSLATION_WINDOW = 48 * 3600.0

# Margin score (Artetxe & Schwenk 2019, "ratio margin": cos(x, y) divided by the mean of x's and
# y's average similarity to their k nearest other-language neighbours) at or above which two
# documents in different languages are a translation pair. Raw e5 cosines sit high on a one-topic
# corpus (same-story articles score as high as the real translation), the margin removes that hub
# effect. Calibrated on the demo corpus with e5-small: the gold translation pair scores 1.056 with
# sentence alignment (1.054 with lead-sentence vectors); the best of the 1,182 other cross-language
# pairs from different outlets scores 1.019 (1.023). 1.04 lies between. One positive pair is thin
# evidence: treat this threshold as provisional and re-check it on a corpus with more translations.
TRANSLATION_MARGIN = 1.04
MARGIN_K = 4  # neighbours in the margin's denominator (LASER mining uses 4)
CANDIDATES_K = 8  # nearest other-language documents checked per document
# Exact blocked search up to this many documents per language, an HNSW index (usearch) above.
EXACT_KNN_MAX = 20_000

# Sentences per document for sentence_vectors(): leads carry the story; 12 is enough for a news
# article and bounds embedding cost (e5-small runs ~40 sentences/s on a 2-core machine).
DOC_SENTENCES = 12
MIN_SENTENCE_CHARS = 20


# --- records -----------------------------------------------------------------------------------

@dataclass
class Item:
    doc_id: int
    source: str
    published_at: float | None  # epoch seconds, UTC
    text: str | None = None
    signature: np.ndarray | None = None  # dedup.signature(text): 128 uint64 MinHash values


@dataclass
class Member(_Record):
    doc_id: int
    source: str
    published_at: float
    similarity: float  # to the group's first document (estimated Jaccard, or translation margin)
    language: str | None = None


@dataclass
class Group(_Record):
    method: str  # "near-duplicate" | "translation"
    documents: list[Member]
    first_doc_id: int
    first_source: str
    first_published_at: float
    span_seconds: float
    sources: list[str]


@dataclass
class GroupResult:
    groups: list[Group]
    undated: list[int] = field(default_factory=list)  # doc_ids left out: no date
    skipped: list[int] = field(default_factory=list)  # doc_ids left out: too short to sign / no vector
    window: float = DEFAULT_WINDOW
    threshold: float = NEAR_DUPLICATE

    def __iter__(self):
        return iter(self.groups)

    def __len__(self) -> int:
        return len(self.groups)

    def as_dict(self) -> dict:
        return {"groups": [g.as_dict() for g in self.groups], "undated": self.undated,
                "skipped": self.skipped, "window": self.window, "threshold": self.threshold}


# --- coordination interval (CooRnet) -----------------------------------------------------------

def estimate_window(times, groups=None, *, q: float = 0.1, p: float = 0.5, minimum: float = 1.0) -> float:
    """CooRnet's ``estimate_coord_interval`` in numpy.

    ``times`` is either one sequence of publication times per object (a URL, a near-duplicate
    cluster), or a flat array with ``groups`` giving each time's object. As CooRnet does: keep the
    objects shared more than once; take each one's delay from first to second share; keep the
    objects whose delay is within the ``q`` quantile of those delays (the quickest); for each of
    them, the seconds from its first share until more than ``p`` of its shares are out; return the
    ``p`` quantile of those. Quantiles are R's default (type 7 = numpy "linear"). CooRnet returns
    1 s where the result is 0; ``minimum`` generalises that. Vectorised: one sort, no pairs.
    """
    if groups is None:
        seqs = [np.asarray(t, dtype=np.float64).ravel() for t in times]
        t = np.concatenate(seqs) if seqs else np.zeros(0)
        g = np.repeat(np.arange(len(seqs)), [len(s) for s in seqs])
    else:
        t = np.asarray(times, dtype=np.float64).ravel()
        g = np.unique(np.asarray(groups), return_inverse=True)[1].ravel()
    keep = ~np.isnan(t)
    t, g = t[keep], g[keep]
    if len(t) < 2:
        raise ValueError("estimate_window needs at least one object shared twice")
    order = np.lexsort((t, g))
    t, g = t[order], g[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    counts = np.diff(np.r_[starts, len(g)])
    multi = counts > 1
    starts, counts = starts[multi], counts[multi]
    if len(starts) == 0:
        raise ValueError("estimate_window needs at least one object shared twice")
    second = t[starts + 1] - t[starts]
    quick = second <= np.quantile(second, q)
    starts, counts = starts[quick], counts[quick]
    # CooRnet: min seconds-from-first among shares whose rank/count > p; rank r is 1-based, so the
    # first such share is rank floor(p*count)+1, i.e. offset floor(p*count) from the start.
    off = np.floor(p * counts).astype(np.int64)
    ok = off < counts
    reach = t[starts[ok] + off[ok]] - t[starts[ok]]
    if len(reach) == 0:
        raise ValueError("no object reaches the share fraction p")
    return float(max(np.quantile(reach, p), minimum))


# --- near-identical text ------------------------------------------------------------------------

def signatures(items: Sequence[Item]) -> list[np.ndarray | None]:
    """Each item's MinHash signature: the precomputed one, else dedup.signature(text) (the same
    shingles, permutations and scheme as ingest, so stored signatures can be passed straight in)."""
    out = []
    for it in items:
        if it.signature is not None:
            out.append(np.asarray(it.signature, dtype=np.uint64))
        elif it.text:
            out.append(dedup.signature(it.text))
        else:
            out.append(None)
    return out


def _lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands and rows as datasketch's MinHashLSH chooses them (equal weight on false positives
    and negatives), so the banding below behaves like datasketch.MinHashLSH(threshold)."""
    from datasketch.lsh import _optimal_param  # lazy: datasketch imports scipy (~1.5 s, measured)

    return _optimal_param(threshold, num_perm, 0.5, 0.5)


def candidate_pairs(sig: np.ndarray, threshold: float) -> np.ndarray:
    """(m, 2) index pairs i < j whose signatures share at least one LSH band bucket.

    The banding of datasketch.MinHashLSH done on the whole (n, num_perm) matrix at once: each band
    hashes to one uint64 (random odd multipliers, wrapping), one argsort per band finds the buckets.
    In a bucket, items are linked to their successor in time order, plus every pair in buckets of
    up to SMALL_BUCKET items; big buckets (hundreds of copies of one wire story) would otherwise
    cost quadratic pairs, and chaining them keeps their connectivity."""
    n, num_perm = sig.shape
    bands, rows = _lsh_params(threshold, num_perm)
    rng = np.random.default_rng(20261123)
    mult = (rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) | np.uint64(1))
    pairs = []
    with np.errstate(over="ignore"):
        for b in range(bands):
            cols = slice(b * rows, (b + 1) * rows)
            key = (sig[:, cols] * mult[cols]).sum(axis=1, dtype=np.uint64)
            order = np.argsort(key, kind="stable")
            k = key[order]
            same = k[1:] == k[:-1]
            if not same.any():
                continue
            # successor links (order is stable, and callers pass items sorted by time)
            pairs.append(np.stack([order[:-1][same], order[1:][same]], axis=1))
            # every pair in small buckets, so one false collision cannot break a chain
            starts = np.flatnonzero(np.r_[True, ~same])
            sizes = np.diff(np.r_[starts, n])
            for s, c in zip(starts[(sizes > 2) & (sizes <= SMALL_BUCKET)], sizes[(sizes > 2) & (sizes <= SMALL_BUCKET)]):
                members = order[s:s + c]
                ii, jj = np.triu_indices(c, 2)
                pairs.append(np.stack([members[ii], members[jj]], axis=1))
    if not pairs:
        return np.zeros((0, 2), np.int64)
    p = np.concatenate(pairs).astype(np.int64)
    p.sort(axis=1)
    return np.unique(p, axis=0)


SMALL_BUCKET = 32


def _components(n: int, edges: np.ndarray) -> np.ndarray:
    """Connected-component label per node (smallest member index), union-find with path halving."""
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges.tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(i) for i in range(n)], dtype=np.int64)


def _split_by_window(idx: np.ndarray, t: np.ndarray, window: float) -> list[np.ndarray]:
    """Cut a time-sorted cluster into groups: a group opens with its earliest document and takes
    every later one published within ``window`` of *that opening document*; the first one beyond
    opens the next group. Anchoring on the opener (not on the previous document) keeps a slow
    trickle of copies over days from chaining into one "burst", and makes span ≤ window."""
    out, start = [], 0
    for k in range(1, len(idx) + 1):
        if k == len(idx) or t[idx[k]] - t[idx[start]] > window:
            out.append(idx[start:k])
            start = k
    return out


def _make_group(method: str, members: list[tuple[Item, float, str | None]]) -> Group:
    docs = [Member(it.doc_id, it.source, float(it.published_at), round(float(s), 4), lang) for it, s, lang in members]
    first = docs[0]
    sources = list(dict.fromkeys(d.source for d in docs))
    return Group(method, docs, first.doc_id, first.source, first.published_at,
                 float(docs[-1].published_at - first.published_at), sources)


def _dated(items: Sequence[Item]) -> tuple[list[int], list[int]]:
    dated, undated = [], []
    for i, it in enumerate(items):
        if it.published_at is None or not np.isfinite(it.published_at):
            undated.append(i)
        else:
            dated.append(i)
    return dated, undated


def near_duplicate_groups(items: Sequence[Item], threshold: float = NEAR_DUPLICATE,
                          window: float | str | None = None, *, min_sources: int = 2) -> GroupResult:
    """Groups of near-identical documents published by at least ``min_sources`` distinct outlets
    within ``window`` seconds (None: DEFAULT_WINDOW; "auto": estimate_window over the clusters).

    MinHash signatures (given or computed with dedup's shingles) → LSH banding → candidate pairs
    verified by estimated Jaccard ≥ threshold → connected components → each component cut into
    time-windowed groups. Undated items cannot be placed in time and are listed in ``undated``;
    items without a signature (no text, or fewer than dedup.MIN_SHINGLES shingles) in ``skipped``.
    Within a group, documents are ordered by time, ties by doc_id; the first is the first publisher.
    """
    dated, undated = _dated(items)
    sigs = signatures([items[i] for i in dated])
    skipped = [items[dated[k]].doc_id for k, s in enumerate(sigs) if s is None]
    keep = [dated[k] for k, s in enumerate(sigs) if s is not None]
    S = [s for s in sigs if s is not None]
    result = GroupResult([], [items[i].doc_id for i in undated], skipped,
                         float(DEFAULT_WINDOW if window is None or window == "auto" else window), threshold)
    if len(keep) < 2:
        return result
    # sort by (time, doc_id) so LSH successor links and groups run in publication order
    order = sorted(range(len(keep)), key=lambda k: (items[keep[k]].published_at, items[keep[k]].doc_id))
    its = [items[keep[k]] for k in order]
    sig = np.stack([S[k] for k in order]).astype(np.uint64)
    t = np.array([it.published_at for it in its], dtype=np.float64)

    pairs = candidate_pairs(sig, threshold)
    if len(pairs):
        sim = np.empty(len(pairs))
        for lo in range(0, len(pairs), 65536):  # verify in chunks: bounded memory
            a, b = pairs[lo:lo + 65536, 0], pairs[lo:lo + 65536, 1]
            sim[lo:lo + 65536] = (sig[a] == sig[b]).mean(axis=1)
        pairs = pairs[sim >= threshold]
    if len(pairs) == 0:
        return result
    nodes = np.unique(pairs)
    local = np.searchsorted(nodes, pairs)
    label = _components(len(nodes), local)
    clusters: dict[int, list[int]] = defaultdict(list)
    for node, lab in zip(nodes.tolist(), label.tolist()):
        clusters[lab].append(node)
    cl = [np.array(sorted(c)) for c in clusters.values() if len(c) > 1]  # index order = time order

    if window == "auto":
        try:
            result.window = estimate_window([t[c] for c in cl])
        except ValueError:
            result.window = DEFAULT_WINDOW
    for c in cl:
        for g in _split_by_window(c, t, result.window):
            if len({its[i].source for i in g}) < min_sources:
                continue
            first = sig[g[0]]
            sims = (sig[g] == first).mean(axis=1)
            result.groups.append(_make_group("near-duplicate", [(its[i], s, None) for i, s in zip(g, sims)]))
    result.groups.sort(key=lambda g: (g.first_published_at, g.first_doc_id))
    return result


# --- translations --------------------------------------------------------------------------------

def sentence_vectors(texts: Sequence[str], embedder=None, *, max_sentences: int = DOC_SENTENCES) -> list[np.ndarray]:
    """Per document, the passage vectors of its first ``max_sentences`` sentences (≥ 20 chars),
    for translation_groups. One embed call for all documents (the embedder batches)."""
    if embedder is None:
        embedder = get_embedder()
    flat, owner = [], []
    for i, text in enumerate(texts):
        sents = [text[s.start:s.end] for s in split_sentences(text or "")]
        sents = [s for s in sents if len(s.strip()) >= MIN_SENTENCE_CHARS][:max_sentences]
        if not sents and (text or "").strip():
            sents = [text[:1000]]
        flat += sents
        owner += [i] * len(sents)
    vecs = embedder.embed(flat) if flat else np.zeros((0, getattr(embedder, "dim", 384)), np.float32)
    # owners are in document order, so each document's rows are one slice: np.split at the
    # boundaries is linear (a mask per document was quadratic: 184 s at 40k documents, issue 17)
    bounds = np.searchsorted(np.asarray(owner, dtype=np.int64), np.arange(1, len(texts)))
    return np.split(vecs, bounds) if len(texts) else []


def _unit(m: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(m, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return (m / n).astype(np.float32)


def translation_groups(items: Sequence[Item], vectors, languages: Sequence[str | None], *,
                       threshold: float = TRANSLATION_MARGIN, window: float = TRANSLATION_WINDOW,
                       k: int = CANDIDATES_K) -> GroupResult:
    """Cross-lingual copies: documents in different languages, by different outlets, published
    within ``window`` seconds of each other, whose margin score is ≥ ``threshold``.

    ``vectors``: either one unit vector per document (n × d; e.g. its lead sentence's e5 vector), or
    per document an (s_i × d) array of sentence vectors (sentence_vectors()). With sentence vectors
    the pair score is the sentence alignment (mean over both documents' sentences of the best
    cosine in the other document) — a translation matches sentence by sentence, a same-topic
    article does not — and candidates come from the mean vector. Candidates are each document's
    k nearest documents of each other language (kNN, never all pairs); the margin divides the pair
    score by the mean of both documents' average score to their MARGIN_K nearest other-language
    neighbours. Pairs are joined into groups (connected components); the first is the earliest.
    """
    ragged = not (isinstance(vectors, np.ndarray) and vectors.ndim == 2)
    dated, undated = _dated(items)
    result = GroupResult([], [items[i].doc_id for i in undated], [], float(window), threshold)
    if ragged:
        sent = [np.asarray(vectors[i], np.float32) for i in range(len(items))]
        ok = [i for i in dated if len(sent[i])]
        doc = np.zeros((len(items), sent[ok[0]].shape[1] if ok else 1), np.float32)
        for i in ok:
            doc[i] = sent[i].mean(axis=0)
        doc = _unit(doc)
    else:
        doc = _unit(np.asarray(vectors, np.float32))
        ok = [i for i in dated if np.any(doc[i])]
    result.skipped = [items[i].doc_id for i in dated if i not in set(ok)]
    langs = np.array([(languages[i] or "") for i in range(len(items))], dtype=object)

    def score(i: int, j: int) -> float:
        if not ragged:
            return float(doc[i] @ doc[j])
        s = sent[i] @ sent[j].T
        return float((s.max(axis=1).mean() + s.max(axis=0).mean()) / 2)

    by_lang: dict[str, list[int]] = defaultdict(list)
    for i in ok:
        if langs[i]:
            by_lang[langs[i]].append(i)
    if len(by_lang) < 2:
        return result
    # neighbours of each document among every other language
    neigh: dict[int, list[int]] = defaultdict(list)
    for la, members in by_lang.items():
        q = doc[members]
        for lb, others in by_lang.items():
            if lb == la:
                continue
            keys, _ = knn(q, doc[others], max(k, MARGIN_K), exact_max=EXACT_KNN_MAX)
            for r, i in enumerate(members):
                neigh[i].extend(others[c] for c in keys[r])
    cache: dict[tuple[int, int], float] = {}

    def pair_score(i: int, j: int) -> float:
        key = (min(i, j), max(i, j))
        if key not in cache:
            cache[key] = score(*key)
        return cache[key]

    # the margin's denominator: a document's average score to its MARGIN_K best other-language
    # neighbours (by the same score as the pair, so numerator and denominator share a scale)
    radius = {i: float(np.mean(sorted((pair_score(i, j) for j in neigh[i]), reverse=True)[:MARGIN_K])) for i in neigh}
    t = {i: float(items[i].published_at) for i in ok}
    edges, margins = [], {}
    seen: set[tuple[int, int]] = set()
    for i in neigh:
        for j in neigh[i]:
            if (min(i, j), max(i, j)) in seen:
                continue
            seen.add((min(i, j), max(i, j)))
            if items[i].source == items[j].source or abs(t[i] - t[j]) > window:
                continue
            m = pair_score(i, j) / ((radius[i] + radius.get(j, radius[i])) / 2)
            if m >= threshold:
                a, b = min(i, j), max(i, j)
                edges.append((a, b))
                margins[(a, b)] = max(m, margins.get((a, b), 0.0))
    if not edges:
        return result
    nodes = np.unique(np.array(edges))
    label = _components(len(nodes), np.searchsorted(nodes, np.array(edges)))
    comps: dict[int, list[int]] = defaultdict(list)
    for node, lab in zip(nodes.tolist(), label.tolist()):
        comps[lab].append(node)
    for comp in comps.values():
        comp.sort(key=lambda i: (t[i], items[i].doc_id))
        if len({items[i].source for i in comp}) < 2:
            continue
        first = comp[0]
        members = [(items[first], 1.0, langs[first])]
        for i in comp[1:]:
            key = (min(first, i), max(first, i))
            m = margins.get(key)
            if m is None:  # joined through another member: report its margin to the first anyway
                m = pair_score(first, i) / ((radius[first] + radius.get(i, radius[first])) / 2)
            members.append((items[i], m, langs[i]))
        result.groups.append(_make_group("translation", members))
    result.groups.sort(key=lambda g: (g.first_published_at, g.first_doc_id))
    return result


# --- outlet network --------------------------------------------------------------------------------

def outlet_network(groups: Iterable[Group]):
    """Outlets as nodes (n_groups: groups they are in; n_first: groups they opened), an edge between
    two outlets that appear in the same group, with ``weight`` = number of shared groups and
    ``weight_norm`` = shared / min(n_groups of the two): 1.0 means the less active outlet never
    appears in a group without the other (an overlap coefficient; it does not punish an outlet
    for also carrying other material, which a Jaccard weight would)."""
    import networkx as nx  # lazy: networkx costs +0.18 s at CLI start (measured)

    G = nx.Graph()
    n_groups: dict[str, int] = defaultdict(int)
    n_first: dict[str, int] = defaultdict(int)
    shared: dict[tuple[str, str], int] = defaultdict(int)
    methods: dict[tuple[str, str], set] = defaultdict(set)
    for g in groups:
        outlets = sorted(set(g.sources))
        for o in outlets:
            n_groups[o] += 1
        n_first[g.first_source] += 1
        for a_i, a in enumerate(outlets):
            for b in outlets[a_i + 1:]:
                shared[(a, b)] += 1
                methods[(a, b)].add(g.method)
    for o in sorted(n_groups):
        G.add_node(o, n_groups=int(n_groups[o]), n_first=int(n_first.get(o, 0)))
    for (a, b), w in shared.items():
        G.add_edge(a, b, weight=int(w), weight_norm=round(w / min(n_groups[a], n_groups[b]), 6),
                   methods=",".join(sorted(methods[(a, b)])))
    return G


def spread_network(groups: Iterable, outlets: dict[str, dict]):
    """Who publishes first and who follows: a directed graph, an edge from each group's first
    publisher to every other outlet in it (``weight`` = groups, ``lag_seconds`` = the median delay,
    ``first``/``last`` = ISO times of the first and last follow, for a timeline). ``groups``:
    stored ``CoordinationInfo`` records; ``outlets``: key → {name, actor, audience} for the labels
    and the colours (keys are ids, names what a reader knows)."""
    import networkx as nx  # lazy: networkx costs +0.18 s at CLI start (measured)

    G = nx.DiGraph()
    lags: dict[tuple[str, str], list[float]] = defaultdict(list)

    def node(key: str, when) -> None:
        meta = outlets.get(key, {})
        if key not in G:
            G.add_node(key, label=meta.get("name") or key, actor=meta.get("actor") or "",
                       audience=meta.get("audience") or "", first="", n_first=0, n_follow=0)
        iso = when.isoformat() if when else ""
        if iso and (not G.nodes[key]["first"] or iso < G.nodes[key]["first"]):
            G.nodes[key]["first"] = iso

    for g in groups:
        lead = g.first_source or "unknown"
        node(lead, g.started_at)
        G.nodes[lead]["n_first"] += 1
        seen = {lead}
        for d in g.documents:  # in publication order; an outlet's first copy in the group counts
            o = d.source or "unknown"
            if o in seen:
                continue
            seen.add(o)
            node(o, d.published_at)
            G.nodes[o]["n_follow"] += 1
            if not G.has_edge(lead, o):
                G.add_edge(lead, o, weight=0, first="", last="", methods="")
            e = G.edges[lead, o]
            e["weight"] += 1
            e["methods"] = ",".join(sorted(set(filter(None, e["methods"].split(","))) | {g.method}))
            if d.published_at is None or g.started_at is None:  # a group is a time window: not expected
                continue
            iso = d.published_at.isoformat()
            e["first"] = min(e["first"] or iso, iso)
            e["last"] = max(e["last"], iso)
            lags[(lead, o)].append((d.published_at - g.started_at).total_seconds())
    for (a, b), xs in lags.items():
        G.edges[a, b]["lag_seconds"] = float(np.median(xs))
    return G


# --- CooRTweet on share tables ----------------------------------------------------------------------

def _share_frame(shares):
    import pandas as pd  # lazy: pandas costs ~90 MB RSS and +0.3 s at CLI start (measured)

    df = shares if isinstance(shares, pd.DataFrame) else pd.DataFrame(shares)
    ts = "timestamp_share" if "timestamp_share" in df.columns else "timestamp"
    missing = {"object_id", "account_id", ts} - set(df.columns)
    if missing:
        raise ValueError(f"share table lacks columns: {sorted(missing)}")
    out = pd.DataFrame({"object_id": df["object_id"].astype(str).to_numpy(),
                        "account_id": df["account_id"].astype(str).to_numpy(),
                        "content_id": (df["content_id"].astype(str).to_numpy() if "content_id" in df.columns
                                       else np.arange(len(df)).astype(str)),
                        "timestamp": pd.to_numeric(df[ts], errors="coerce").to_numpy(np.float64)})
    return out[~np.isnan(out["timestamp"].to_numpy())].reset_index(drop=True)


def coortweet_pairs(shares, time_window: float = 10, min_participation: int = 2):
    """CooRTweet's ``detect_groups`` (v2.x): pairs of shares of the same object within
    ``time_window`` seconds, by different accounts, after its participation filters.

    Same steps as the R code: keep accounts with ≥ min_participation shares; all pairs of shares of
    one object with |Δt| ≤ time_window; drop loops (same content, same account, object == content);
    keep pairs where at least one side's account has ≥ min_participation shares among the shares
    that appear in any pair; order each pair older → newer. Done with one sort and a sliding window
    per object (searchsorted), so the cost is the number of pairs in the window, not all pairs.
    Returns a DataFrame: object_id, account_id, account_id_y, content_id, content_id_y, time_delta.
    """
    import pandas as pd  # lazy: pandas costs ~90 MB RSS and +0.3 s at CLI start (measured)

    x = _share_frame(shares)
    counts = x.groupby("account_id")["account_id"].transform("size")
    x = x[counts >= min_participation].reset_index(drop=True)
    cols = ["object_id", "account_id", "account_id_y", "content_id", "content_id_y", "time_delta"]
    if len(x) < 2:
        return pd.DataFrame(columns=cols)
    obj = pd.factorize(x["object_id"])[0]
    t = x["timestamp"].to_numpy()
    order = np.lexsort((t, obj))
    obj_s, t_s = obj[order], t[order]
    # one monotone key: objects laid end to end with a gap wider than the window between them
    span = float(t_s.max() - t_s.min()) + 2 * float(time_window) + 1
    key = obj_s * span + (t_s - t_s.min())
    end = np.searchsorted(key, key + float(time_window), side="right")
    c = end - np.arange(len(key)) - 1
    total = int(c.sum())
    if total == 0:
        return pd.DataFrame(columns=cols)
    i = np.repeat(np.arange(len(key)), c)
    j = i + 1 + (np.arange(total) - np.repeat(np.cumsum(c) - c, c))
    a, b = order[i], order[j]  # a is the older (or equally old) share
    acc = x["account_id"].to_numpy()
    cid = x["content_id"].to_numpy()
    oid = x["object_id"].to_numpy()
    # integer codes (objects and contents in one code space, for the object == content loop test):
    # np.isin on Python strings is quadratic-slow
    codes = pd.factorize(np.concatenate([oid, cid]))[0]
    ocode, ccode = codes[:len(x)], codes[len(x):]
    acode = pd.factorize(acc)[0]
    keep = (acode[a] != acode[b]) & (ccode[a] != ccode[b]) & (ocode[a] != ccode[a]) & (ocode[a] != ccode[b])
    a, b = a[keep], b[keep]
    if min_participation >= 1 and len(a):
        in_result = np.zeros(codes.max() + 1, bool)
        in_result[ccode[a]] = True
        in_result[ccode[b]] = True
        in_pairs = in_result[ccode]  # input rows whose content appears in a pair
        per_acc = np.bincount(acode[in_pairs], minlength=acode.max() + 1)
        ok_content = np.zeros(codes.max() + 1, bool)
        ok_content[ccode[in_pairs & (per_acc[acode] >= min_participation)]] = True
        keep = ok_content[ccode[a]] | ok_content[ccode[b]]
        a, b = a[keep], b[keep]
    return pd.DataFrame({"object_id": oid[a], "account_id": acc[a], "account_id_y": acc[b],
                         "content_id": cid[a], "content_id_y": cid[b], "time_delta": np.abs(t[b] - t[a])})


def coortweet_network(shares, time_window: float = 10, min_participation: int = 2, edge_weight: float = 0.5,
                      *, pairs=None):
    """CooRTweet's ``detect_groups`` + ``generate_coordinated_network`` (subgraph = 0): an undirected
    account graph; an edge's ``weight`` is the number of coordinated share pairs of the two
    accounts (over all objects), with avg_time_delta, n_content_id / n_content_id_y (distinct older
    / newer contents), edge_symmetry_score = min/max of those two, and ``weight_threshold`` = 1 when
    weight > the ``edge_weight`` quantile of all edge weights (R's default quantile, strictly
    greater, as in CooRTweet). The threshold value is in G.graph["weight_threshold_value"];
    coordinated_subgraph(G) keeps the edges over it (CooRTweet's subgraph = 1)."""
    import networkx as nx  # lazy: networkx costs +0.18 s at CLI start (measured)

    if not 0 <= edge_weight <= 1:
        raise ValueError("edge_weight must be between 0 and 1")
    r = coortweet_pairs(shares, time_window, min_participation) if pairs is None else pairs
    G = nx.Graph(time_window=float(time_window), min_participation=int(min_participation), edge_weight=float(edge_weight))
    if len(r) == 0:
        G.graph["weight_threshold_value"] = 0.0
        return G
    u = np.minimum(r["account_id"].to_numpy(), r["account_id_y"].to_numpy())
    v = np.maximum(r["account_id"].to_numpy(), r["account_id_y"].to_numpy())
    agg = r.assign(u=u, v=v).groupby(["u", "v"], sort=True).agg(
        weight=("time_delta", "size"), avg_time_delta=("time_delta", "mean"),
        n_content_id=("content_id", "nunique"), n_content_id_y=("content_id_y", "nunique")).reset_index()
    thr = float(np.quantile(agg["weight"].to_numpy(), edge_weight))
    G.graph["weight_threshold_value"] = thr
    for row in agg.itertuples(index=False):
        n1, n2 = int(row.n_content_id), int(row.n_content_id_y)
        G.add_edge(row.u, row.v, weight=int(row.weight), avg_time_delta=float(row.avg_time_delta),
                   n_content_id=n1, n_content_id_y=n2, edge_symmetry_score=min(n1, n2) / max(n1, n2),
                   weight_threshold=int(row.weight > thr))
    return G


def coordinated_subgraph(G):
    """The edges over the edge-weight threshold and their accounts (CooRTweet's subgraph = 1)."""
    return G.edge_subgraph([(a, b) for a, b, d in G.edges(data=True) if d.get("weight_threshold") == 1]).copy()


def network_summary(G) -> Mapping[str, float]:
    import networkx as nx  # lazy: networkx costs +0.18 s at CLI start (measured)

    comps = list(nx.connected_components(G)) if G.number_of_nodes() else []
    return {"accounts": G.number_of_nodes(), "edges": G.number_of_edges(), "components": len(comps),
            "largest_component": max((len(c) for c in comps), default=0),
            "weight_threshold_value": float(G.graph.get("weight_threshold_value", 0.0))}
