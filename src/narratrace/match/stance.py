"""Match sentences to narratives and score their stance (asserts / denies / neutral).

For each active narrative:
1. candidates: the nearest sentences to each of its statements in the vector index;
2. similarity: cosine of each candidate to the narrative's assertions and counter-statements
   (max over each); candidates below ``MIN_SIMILARITY`` are dropped;
3. stance: the similarity margin between the closest assertion and the closest counter-statement
   (plus, when it earns its place, NLI of the sentence against both — see NLI_WEIGHT).
Every score is stored with the model ids. Re-running replaces the matches of a narrative,
never the analyst's reviews (stored separately, keyed by sentence and narrative).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import sessionmaker

from narratrace.match.batches import cache_texts, nli_batches
from narratrace.match.vectors import VectorStore
from narratrace.run import Runner
from narratrace.store.models import Narrative, NarrativeMatch

# Calibrated on the demo corpus by sweeping against its gold (docs/decisions.md, 2026-11-23):
# e5-small cosines of a sentence to a paraphrase of a narrative statement lie mostly in
# 0.84–0.93, but sentences on the same topic (same country, same protests) reach 0.83 too, so
# a sentence is kept only for the narratives within RELATIVE_MARGIN of its best one. Sweep
# (recall / precision on gold sentences): 0.82+0.02 → 0.79/0.39, 0.835+0.01 → 0.64/0.50,
# 0.845+0.0 → 0.48/0.58; the middle keeps recall for an analyst who reviews.
MIN_SIMILARITY = 0.835
RELATIVE_MARGIN = 0.01
# Nearest neighbours fetched per statement before the similarity cut.
CANDIDATES = 400
# Stance evidence = (sim_assertion − sim_counter) + ASSERT_PRIOR + NLI_WEIGHT × NLI evidence;
# asserts above +NEUTRAL_BAND, denies below −NEUTRAL_BAND, neutral between. Measured on the 110
# demo gold sentences with stance asserts/rejects (86 % asserts): the similarity margin alone is
# right for 0.73, with a 0.02 prior towards "asserts" for 0.86 (finds 6 of 15 denials); adding
# the NLI head's evidence at any weight did not help (0.48 with NLI alone: the frozen-encoder
# head reads a specific news sentence against a generic assertion as "contradiction"), so its
# weight is 0 and its probabilities are stored beside each match as evidence only.
ASSERT_PRIOR = 0.02
NLI_WEIGHT = 0.0
NEUTRAL_BAND = 0.005


@dataclass
class MatchReport:
    narratives: int = 0
    candidates: int = 0
    matches: int = 0
    asserts: int = 0
    denies: int = 0
    neutral: int = 0

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def decide_stance(sim_a: np.ndarray, sim_c: np.ndarray | None, nli_a: np.ndarray | None,
                  nli_c: np.ndarray | None) -> tuple[list[str], np.ndarray]:
    """Stance and its signed score per sentence. nli_* are (n, 3) [entail, neutral, contradict]
    against the closest assertion / counter-statement."""
    score = np.full(len(sim_a), ASSERT_PRIOR, np.float32)
    if sim_c is not None:
        score += sim_a - sim_c
    if NLI_WEIGHT:
        if nli_a is not None:
            score += NLI_WEIGHT * (nli_a[:, 0] - nli_a[:, 2])
        if nli_c is not None:
            score += NLI_WEIGHT * (nli_c[:, 2] - nli_c[:, 0])
    stance = ["asserts" if d > NEUTRAL_BAND else "denies" if d < -NEUTRAL_BAND else "neutral" for d in score]
    return stance, score


def match_narratives(sessions: sessionmaker, vectors: VectorStore, nli, runner: Runner, *,
                     keys: list[str] | None = None, progress: Callable[[int], None] | None = None,
                     on_total: Callable[[int], None] | None = None,
                     min_similarity: float = MIN_SIMILARITY) -> MatchReport:
    """Candidates (ANN search) and decisions run here; the model work — statement vectors, NLI of
    the kept pairs — runs through ``runner`` (run/) in batches of one narrative's pairs, so every
    runner stores the same rows. Needs every sentence indexed (the ``embed`` stage)."""
    report = MatchReport()
    with sessions() as s:
        q = select(Narrative).where(Narrative.status == "active")
        if keys:
            q = q.where(Narrative.key.in_(keys))
        narratives = list(s.scalars(q))
        specs = [(n.id, [(st.id, st.kind, st.text) for st in n.statements]) for n in narratives]
    if on_total:
        on_total(len(specs))
    # statement vectors from the cache, never fresh float32 ones: the same inputs on every run
    cache_texts(vectors, [t for _, sts in specs for _, _, t in sts], "query", runner)
    plans = [_candidates(sessions, vectors, nid, statements, min_similarity, report) for nid, statements in specs]
    nli_out: list = []
    if nli is not None:
        asks = []  # one NLI batch per narrative and statement kind, as match_narratives always asked
        for p in plans:
            if p is not None:
                asks.append((p["prem"], [p["a_items"][p["best_a"][k]][1] for k in p["keep"]], False))
                if p["C"] is not None and NLI_WEIGHT:  # stored evidence is against the assertion only
                    asks.append((p["prem"], [p["c_items"][p["best_c"][k]][1] for k in p["keep"]], False))
        nli_out = [probs[0] for probs in nli_batches(vectors, nli, asks, runner)]
    for (nid, _statements), p in zip(specs, plans):
        report.narratives += 1
        rows = []
        if p is not None:
            nli_a = nli_c = None
            if nli is not None:
                nli_a = nli_out.pop(0)
                if p["C"] is not None and NLI_WEIGHT:
                    nli_c = nli_out.pop(0)
            keep, sim, sim_a, sim_c, ids, best_a = p["keep"], p["sim"], p["sim_a"], p["sim_c"], p["ids"], p["best_a"]
            stance, score = decide_stance(sim_a[keep], None if sim_c is None else sim_c[keep], nli_a, nli_c)
            now = datetime.now(UTC).replace(tzinfo=None)
            for j, k in enumerate(keep):
                rows.append({
                    "sentence_id": ids[k], "narrative_id": nid, "similarity": float(sim[k]),
                    "sim_assertion": float(sim_a[k]), "sim_counter": None if sim_c is None else float(sim_c[k]),
                    "stance": stance[j], "stance_score": float(score[j]),
                    "p_entail": None if nli_a is None else float(nli_a[j, 0]),
                    "p_contradict": None if nli_a is None else float(nli_a[j, 2]),
                    "statement_id": p["a_items"][best_a[k]][0], "embed_model": vectors.embedder.model_id,
                    "nli_model": None if nli is None else nli.model_id, "run_at": now})
        with sessions.begin() as s:
            s.execute(delete(NarrativeMatch).where(NarrativeMatch.narrative_id == nid))
            if rows:
                s.execute(insert(NarrativeMatch.__table__), rows)
        if progress:
            progress(1)
    report.matches, report.asserts, report.denies, report.neutral = _keep_best(sessions)
    return report


def _candidates(sessions: sessionmaker, vectors: VectorStore, nid: int, statements: list, min_similarity: float,
                report: MatchReport) -> dict | None:
    """One narrative's candidates above the similarity cut, with their similarities (driver side:
    index search and dot products over cached vectors). None when nothing passes."""
    a_items = [(i, t) for i, k, t in statements if k == "assertion"]
    c_items = [(i, t) for i, k, t in statements if k == "counter"]
    A = vectors.embed([t for _, t in a_items], kind="query")
    C = vectors.embed([t for _, t in c_items], kind="query") if c_items else None
    cands: set[int] = set()
    for vec in (A if C is None else np.vstack([A, C])):
        cands.update(sid for sid, sim in vectors.search(vec, CANDIDATES) if sim >= min_similarity - 0.03)
    ids = sorted(cands)
    report.candidates += len(ids)
    if not ids:
        return None
    with sessions() as s:
        texts = dict(vectors.sentence_texts(s, ids))
    V = vectors.embed([texts[i] for i in ids])
    SA = V @ A.T
    sim_a, best_a = SA.max(1), SA.argmax(1)
    sim_c = best_c = None
    if C is not None:
        SC = V @ C.T
        sim_c, best_c = SC.max(1), SC.argmax(1)
    sim = sim_a if sim_c is None else np.maximum(sim_a, sim_c)
    keep = np.flatnonzero(sim >= min_similarity)
    if not len(keep):
        return None
    return {"ids": ids, "keep": keep, "sim": sim, "sim_a": sim_a, "sim_c": sim_c, "best_a": best_a,
            "best_c": best_c, "a_items": a_items, "c_items": c_items, "C": C,
            "prem": [texts[ids[k]] for k in keep]}


def _keep_best(sessions: sessionmaker) -> tuple[int, int, int, int]:
    """Drop matches more than RELATIVE_MARGIN below the sentence's best narrative."""
    with sessions.begin() as s:
        rows = s.execute(select(NarrativeMatch.id, NarrativeMatch.sentence_id, NarrativeMatch.similarity,
                                NarrativeMatch.stance)).all()
        best: dict[int, float] = {}
        for _id, sid, sim, _st in rows:
            best[sid] = max(best.get(sid, 0.0), sim)
        drop = [i for i, sid, sim, _st in rows if sim < best[sid] - RELATIVE_MARGIN]
        for k in range(0, len(drop), 900):
            s.execute(delete(NarrativeMatch).where(NarrativeMatch.id.in_(drop[k:k + 900])))
        kept = [st for i, sid, sim, st in rows if sim >= best[sid] - RELATIVE_MARGIN]
    return len(kept), kept.count("asserts"), kept.count("denies"), kept.count("neutral")
