"""Contradictions: pairs of one actor's own statements that cannot both hold.

An actor's statements are the sentences of documents from sources it owns (quote speakers join
in a later issue). Two kinds of evidence, each stored with every score:

- ``narratives``: the actor asserts narrative A in one statement and, in another, asserts a
  narrative the registry declares incompatible with A (``contradicts:``), or denies A itself.
  This is how "no support at home" (to foreigners) meets "the movement organised the riots"
  (at home): no sentence-level model can know those two are incompatible; the analyst's
  registry says so.
- ``nli``: the NLI head calls the pair a contradiction (either direction), for near-topic pairs
  proposed by the vector index (never all pairs).

Copies of one text (duplicate groups) never contradict themselves; for each pair of document
groups and narrative pair only the best sentence pair is kept, so a long article does not fill
the list. Pairs that cross audiences (domestic vs foreign) or languages are flagged; they rank
first in listings because that is what analysts look for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import sessionmaker

from narratrace.errors import NotFound
from narratrace.match.batches import nli_batches
from narratrace.match.vectors import VectorStore
from narratrace.run import Runner
from narratrace.store.models import Actor, Contradiction, Document, Narrative, NarrativeMatch, Sentence, Source

# NLI evidence: keep a pair when p(contradiction) in either direction reaches this. Set on the
# NLI head's SNLI/FarsTail validation split (models/nli/MODEL_CARD.md): at 0.6 precision of the
# contradiction class is higher than at argmax, at a loss of recall an analyst can afford.
NLI_MIN_CONTRADICT = 0.6
# Near-topic: cosine between two statements before NLI is asked (e5-small; same-topic
# statements of one actor on the demo corpus lie above ~0.85, unrelated ones below ~0.8).
NLI_MIN_SIMILARITY = 0.86
NLI_NEIGHBOURS = 30
# Sentence pairs kept per pair of document groups and narrative pair: a title and a body
# sentence often carry the same claim; keeping 3 lets the analyst see the one that quotes.
PER_SLOT = 3
# Bounds, so work and memory stay linear in the corpus (300 generated articles produced 59k
# narrative pairs and a 2.9 GB peak before these): per narrative and stance only the
# SIDE_LIMIT most similar statements of an actor are paired, and per actor the MAX_PAIRS
# best pairs are stored (cross-audience first). An analyst reads the head of the list.
SIDE_LIMIT = 100
MAX_PAIRS = 5000
# NLI: at most this many candidate pairs per actor (most similar first), scored NLI_CHUNK at a
# time — the feature matrix is 1,548 floats per pair and direction.
MAX_NLI_PAIRS = 20_000
NLI_CHUNK = 2048




@dataclass
class _Stmt:
    sid: int
    group: int  # duplicate-group root document id
    audience: str | None
    language: str | None
    published_at: datetime | None


def _statements(s, actor_id: int) -> dict[int, _Stmt]:
    rows = s.execute(select(Sentence.id, func.coalesce(Document.duplicate_of_id, Document.id), Source.audience,
                            func.coalesce(Sentence.language, Document.language), Document.published_at)
                     .join(Document, Sentence.document_id == Document.id)
                     .join(Source, Document.source_id == Source.id).where(Source.actor_id == actor_id))
    return {r[0]: _Stmt(*r) for r in rows}


def _ordered(a: _Stmt, b: _Stmt) -> tuple[_Stmt, _Stmt]:
    """Earlier statement first (undated last), then by id: one row per unordered pair."""
    ka = (a.published_at is None, a.published_at or datetime.min, a.sid)
    kb = (b.published_at is None, b.published_at or datetime.min, b.sid)
    return (a, b) if ka <= kb else (b, a)


def find_contradictions(sessions: sessionmaker, vs: VectorStore, nli, runner: Runner, *, actor: str | None = None,
                        progress: Callable[[int], None] | None = None) -> dict:
    """Per actor: narrative evidence on the driver; NLI evidence for the candidate pairs of every
    actor scored first, in one pass through ``runner`` (run/), then the same per-actor decisions
    and writes as always. Needs every sentence indexed (the ``embed`` stage)."""
    with sessions() as s:
        q = select(Actor.id, Actor.key).where(Actor.id.in_(select(Source.actor_id)))
        if actor:
            q = q.where(Actor.key == actor)
        actors = s.execute(q.order_by(Actor.key)).all()
        if actor and not actors:
            raise NotFound(f"unknown actor '{actor}', or it owns no sources (see `narratrace sources list`)")
        narr = {n.id: n for n in s.scalars(select(Narrative))}
        by_key = {n.key: n.id for n in narr.values()}
        incompatible = {(a, by_key[k]) for a, n in narr.items() for k in (n.contradicts or []) if k in by_key}
        incompatible |= {(b, a) for a, b in incompatible}
    totals = {"actors": 0, "narratives": 0, "nli": 0}
    now = datetime.now(UTC).replace(tzinfo=None)
    # NLI candidates of every actor first, so the runner gets one job for all of them (a Ray job
    # per actor would pay its start-up and model loads once per actor)
    ranked_by_actor = {actor_id: _nli_candidates(sessions, vs, actor_id) for actor_id, _key in actors}
    asks, slots = [], []
    for actor_id, _key in actors:
        ranked = ranked_by_actor[actor_id]
        for c0 in range(0, len(ranked), NLI_CHUNK):  # chunks as before: bounded memory, same batches
            chunk = ranked[c0:c0 + NLI_CHUNK]
            texts = dict(_texts(sessions, vs, sorted({x for (a, b), _ in chunk for x in (a, b)})))
            asks.append(([texts[a] for (a, b), _ in chunk], [texts[b] for (a, b), _ in chunk], True))
            slots.append((actor_id, chunk))
    p_contradict: dict[int, list] = defaultdict(list)
    for (actor_id, chunk), (ab, ba) in zip(slots, nli_batches(vs, nli, asks, runner) if asks else []):
        p_contradict[actor_id].append((chunk, np.maximum(ab[:, 2], ba[:, 2])))
    for actor_id, _key in actors:
        with sessions() as s:
            stmts = _statements(s, actor_id)
            matches = [(m.sentence_id, m.narrative_id, m.stance, m.similarity) for m in s.scalars(
                select(NarrativeMatch).where(NarrativeMatch.sentence_id.in_(list(stmts)),
                                             NarrativeMatch.stance.in_(("asserts", "denies"))))]
        best: dict[tuple, list[dict]] = defaultdict(list)

        def keep(a: _Stmt, b: _Stmt, row: dict, slot: tuple) -> None:
            a, b = _ordered(a, b)
            row.update(sentence_a_id=a.sid, sentence_b_id=b.sid, actor_id=actor_id, run_at=now,
                       cross_audience=bool(a.audience and b.audience and a.audience != b.audience),
                       cross_language=bool(a.language and b.language and a.language != b.language))
            kept = best[(a.group, b.group, slot)]
            kept.append(row)
            kept.sort(key=lambda r: -r["score"])
            del kept[PER_SLOT:]

        # narrative evidence: incompatible narratives asserted, or one narrative asserted and denied
        by_narr: dict[int, list] = defaultdict(list)
        for sid, nid, stance, sim in matches:
            by_narr[nid].append((sid, stance, sim))
        for nid, items in by_narr.items():  # the SIDE_LIMIT most similar per narrative and stance
            kept, per = [], defaultdict(int)
            for x in sorted(items, key=lambda x: -x[2]):
                per[x[1]] += 1
                if per[x[1]] <= SIDE_LIMIT:
                    kept.append(x)
            by_narr[nid] = kept
        for (na, nb) in sorted({(a, b) for a, b in incompatible if a < b} | {(n, n) for n in by_narr}):
            for sa, sta, sima in by_narr.get(na, []):
                for sb, stb, simb in by_narr.get(nb, []):
                    conflict = (sta == stb == "asserts") if na != nb else (sta != stb)
                    if not conflict or stmts[sa].group == stmts[sb].group:
                        continue
                    keep(stmts[sa], stmts[sb], {"kind": "narratives" if na != nb else "stance", "score": (sima + simb) / 2,
                                                "similarity": None, "p_contradict": None, "narrative_a_id": na,
                                                "narrative_b_id": nb, "embed_model": vs.embedder.model_id,
                                                "nli_model": None}, (min(na, nb), max(na, nb)))
        # NLI evidence among the actor's claim-like statements (those matched to a narrative)
        for chunk, pc in p_contradict.pop(actor_id, []):
            for ((a, b), sim), p in zip(chunk, pc):
                if p >= NLI_MIN_CONTRADICT:
                    keep(stmts[a], stmts[b], {"kind": "nli", "score": float(p), "similarity": float(sim),
                                              "p_contradict": float(p), "narrative_a_id": None, "narrative_b_id": None,
                                              "embed_model": vs.embedder.model_id, "nli_model": nli.model_id},
                         ("nli",))
        rows = [r for kept in best.values() for r in kept]
        # one row per sentence pair (the unique key): narrative evidence outranks NLI for the same pair
        uniq: dict[tuple[int, int], dict] = {}
        for r in sorted(rows, key=lambda r: (r["kind"] == "nli", -r["score"])):
            uniq.setdefault((r["sentence_a_id"], r["sentence_b_id"]), r)
        if len(uniq) > MAX_PAIRS:
            ranked = sorted(uniq.items(), key=lambda kv: (not kv[1]["cross_audience"], -kv[1]["score"]))
            uniq = dict(ranked[:MAX_PAIRS])
        with sessions.begin() as s:
            s.execute(delete(Contradiction).where(Contradiction.actor_id == actor_id))
            if uniq:
                s.execute(insert(Contradiction.__table__), list(uniq.values()))
        totals["actors"] += 1
        for r in uniq.values():
            totals["nli" if r["kind"] == "nli" else "narratives"] += 1
        if progress:
            progress(1)
    return totals


def _nli_candidates(sessions: sessionmaker, vs: VectorStore, actor_id: int) -> list[tuple[tuple[int, int], float]]:
    """Near-topic pairs of the actor's claim-like statements (those matched to a narrative), from
    different document groups: the MAX_NLI_PAIRS most similar, as ((a, b), cosine)."""
    with sessions() as s:
        stmts = _statements(s, actor_id)
        claim_ids = sorted(set(s.scalars(select(NarrativeMatch.sentence_id).where(
            NarrativeMatch.sentence_id.in_(list(stmts)), NarrativeMatch.stance.in_(("asserts", "denies"))))))
    pairs: dict[tuple[int, int], float] = {}
    if claim_ids:
        V = vs.embed([t for _, t in _texts(sessions, vs, claim_ids)])
        claim_set = set(claim_ids)
        for i, sid in enumerate(claim_ids):
            for other, sim in vs.search(V[i], NLI_NEIGHBOURS * 4):
                if other in claim_set and other != sid and sim >= NLI_MIN_SIMILARITY \
                        and stmts[other].group != stmts[sid].group:
                    pairs[(min(sid, other), max(sid, other))] = sim
    # the most similar pairs first, at most MAX_NLI_PAIRS
    return sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_NLI_PAIRS]


def _texts(sessions: sessionmaker, vs: VectorStore, ids: list[int]) -> list[tuple[int, str]]:
    with sessions() as s:
        return vs.sentence_texts(s, ids)
