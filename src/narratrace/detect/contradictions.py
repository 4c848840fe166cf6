"""Contradictions: pairs of one actor's own statements that cannot both hold.

An actor's statements are what it says itself: the sentences its outlets publish in their own
voice, and what its people say (speaker holders whose entity speaks for the actor, in any
outlet). A reported claim ("state media claimed…") is never a statement of the outlet that
reports it, nor evidence against the actor it is attributed to (enrich/holder.py). Evidence:

- ``narratives``: the actor asserts narrative A in one statement and, in another, a narrative the
  registry declares incompatible with A (``contradicts:``); ``stance``: it asserts A in one and
  denies A in another. No sentence model can know that "no support at home" meets "the movement
  organised the riots"; the analyst's registry says so. Both stances must be confident.
- ``nli``: the cross-encoder calls the two statements a contradiction in *both* directions, for
  near-topic pairs proposed by the vector index (never all pairs).

One finding per (actor, claim pair, pair of documents): the best sentence pair is stored and the
other pairs of the same claims in the same two documents are folded under it (``folded``).
Copies of one text (duplicate groups) never contradict themselves. Each finding's score is a
probability (the product of the two stances' probabilities, or the smaller NLI probability);
findings that cross audiences (domestic vs foreign) rank first, as analysts look for those.
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

# A statement counts as evidence when p(related) × p(its stance) reaches this (both calibrated
# probabilities, match/relatedness.py); a finding's score is the product over its two sides.
# Set on campaign-dev (evaluation/campaign.py, docs/decisions.md 2026-12-01).
CONFIDENT = 0.35
# NLI evidence: p(contradiction) in both directions at least this (cross-encoder, dev split of
# its training mix: contradiction precision 0.9 at 0.7 one-way; two-way is stricter still).
NLI_MIN_CONTRADICT = 0.7
# Near-topic: cosine between two statements before NLI is asked (e5-small: same-topic statements
# of one actor lie above ~0.85, unrelated ones below ~0.8).
NLI_MIN_SIMILARITY = 0.86
NLI_NEIGHBOURS = 10
# The cross-encoder costs ~20–50 pairs/s per core (bench/analyze.py): per actor at most this many
# candidate pairs (most similar first), each scored both ways — so NLI work is bounded by a
# constant per actor, not by the square of its statements.
MAX_NLI_PAIRS = 1000
NLI_CHUNK = 512
# Per narrative and stance only the SIDE_LIMIT most confident statements of an actor are paired,
# and per actor the MAX_FINDINGS best findings are stored: work and memory stay linear in the
# corpus; an analyst reads the head of the list (``--top``).
SIDE_LIMIT = 100
MAX_FINDINGS = 1000


@dataclass
class _Stmt:
    sid: int
    group: int  # duplicate-group root document id
    document: int
    audience: str | None
    language: str | None
    published_at: datetime | None


def statements(s, actor_id: int) -> tuple[dict[int, _Stmt], list[tuple[int, int, str, float]]]:
    """The actor's statements and their confident matches (sentence, narrative, stance, p): its
    outlets' own voice and its people's words, never a claim reported by someone else."""
    rows = s.execute(select(NarrativeMatch.sentence_id, NarrativeMatch.narrative_id, NarrativeMatch.stance,
                            func.coalesce(NarrativeMatch.p_related, 0.0), NarrativeMatch.stance_score)
                     .where(NarrativeMatch.holder_actor_id == actor_id, NarrativeMatch.holder_kind.in_(("outlet", "speaker")),
                            NarrativeMatch.stance.in_(("asserts", "denies")))).all()
    # stance_score = 1 − 2·p(denies): the stance's own probability is (1 + |score|) / 2
    scored = [(sid, nid, st, p_rel * (1 + abs(sc)) / 2) for sid, nid, st, p_rel, sc in rows]
    matches = [m for m in scored if m[3] >= CONFIDENT]
    ids = sorted({m[0] for m in matches})
    stmts: dict[int, _Stmt] = {}
    for k in range(0, len(ids), 900):
        for r in s.execute(select(Sentence.id, func.coalesce(Document.duplicate_of_id, Document.id), Document.id,
                                  Source.audience, func.coalesce(Sentence.language, Document.language),
                                  Document.published_at)
                           .join(Document, Sentence.document_id == Document.id)
                           .outerjoin(Source, Document.source_id == Source.id).where(Sentence.id.in_(ids[k:k + 900]))):
            stmts[r[0]] = _Stmt(*r)
    return stmts, matches


def _ordered(a: _Stmt, b: _Stmt) -> tuple[_Stmt, _Stmt]:
    """Earlier statement first (undated last), then by id: one row per unordered pair."""
    ka = (a.published_at is None, a.published_at or datetime.min, a.sid)
    kb = (b.published_at is None, b.published_at or datetime.min, b.sid)
    return (a, b) if ka <= kb else (b, a)


class _Findings:
    """The best sentence pair per (claim pair, document-group pair); the rest are counted."""

    def __init__(self, actor_id: int, now: datetime) -> None:
        self.actor_id, self.now = actor_id, now
        self.best: dict[tuple, dict] = {}

    def add(self, a: _Stmt, b: _Stmt, row: dict, claim: tuple) -> None:
        a, b = _ordered(a, b)
        key = (min(a.group, b.group), max(a.group, b.group), claim)
        row.update(sentence_a_id=a.sid, sentence_b_id=b.sid, actor_id=self.actor_id, run_at=self.now, folded=0,
                   cross_audience=bool(a.audience and b.audience and a.audience != b.audience),
                   cross_language=bool(a.language and b.language and a.language != b.language))
        old = self.best.get(key)
        if old is None:
            self.best[key] = row
        elif row["score"] > old["score"]:
            row["folded"] = old["folded"] + 1
            self.best[key] = row
        else:
            old["folded"] += 1

    def rows(self) -> list[dict]:
        # one row per sentence pair (the unique key): narrative evidence outranks NLI for a pair
        uniq: dict[tuple[int, int], dict] = {}
        for r in sorted(self.best.values(), key=lambda r: (r["kind"] == "nli", -r["score"])):
            k = (r["sentence_a_id"], r["sentence_b_id"])
            if k in uniq:
                uniq[k]["folded"] += 1 + r["folded"]
            else:
                uniq[k] = r
        ranked = sorted(uniq.values(), key=lambda r: (not r["cross_audience"], -r["score"]))
        return ranked[:MAX_FINDINGS]


def find_contradictions(sessions: sessionmaker, vs: VectorStore, nli, runner: Runner, *, actor: str | None = None,
                        progress: Callable[[int], None] | None = None) -> dict:
    """Per actor: narrative evidence on the driver; NLI evidence for the candidate pairs of every
    actor scored first, in one pass through ``runner`` (run/). Needs the ``match`` stage."""
    with sessions() as s:
        q = select(Actor.id, Actor.key)
        if actor:
            q = q.where(Actor.key == actor)
        actors = s.execute(q.order_by(Actor.key)).all()
        if actor and not actors:
            raise NotFound(f"unknown actor '{actor}' (see `narratrace sources list`)")
        narr = {n.id: n for n in s.scalars(select(Narrative))}
        by_key = {n.key: n.id for n in narr.values()}
        incompatible = {(a, by_key[k]) for a, n in narr.items() for k in (n.contradicts or []) if k in by_key}
        incompatible |= {(b, a) for a, b in incompatible}
        per_actor = {actor_id: statements(s, actor_id) for actor_id, _key in actors}
    totals = {"actors": 0, "narratives": 0, "stance": 0, "nli": 0, "folded": 0, "nli_pairs_scored": 0}
    now = datetime.now(UTC).replace(tzinfo=None)
    # NLI candidates of every actor first, so the runner gets one job for all of them
    asks, slots = [], []
    for actor_id, _key in actors:
        stmts, _m = per_actor[actor_id]
        ranked = _nli_candidates(sessions, vs, stmts)
        for c0 in range(0, len(ranked), NLI_CHUNK):
            chunk = ranked[c0:c0 + NLI_CHUNK]
            texts = dict(_texts(sessions, vs, sorted({x for (a, b), _ in chunk for x in (a, b)})))
            asks.append(([texts[a] for (a, b), _ in chunk], [texts[b] for (a, b), _ in chunk], True))
            slots.append((actor_id, chunk))
            totals["nli_pairs_scored"] += len(chunk)
    p_both: dict[int, list] = defaultdict(list)
    for (actor_id, chunk), (ab, ba) in zip(slots, nli_batches(vs, nli, asks, runner) if asks else []):
        p_both[actor_id].append((chunk, np.minimum(ab[:, 2], ba[:, 2])))
    for actor_id, _key in actors:
        stmts, matches = per_actor[actor_id]
        found = _Findings(actor_id, now)
        by_narr: dict[int, list] = defaultdict(list)
        for sid, nid, stance, p in matches:
            by_narr[nid].append((sid, stance, p))
        for nid, items in by_narr.items():  # the SIDE_LIMIT most confident per narrative and stance
            kept, per = [], defaultdict(int)
            for x in sorted(items, key=lambda x: -x[2]):
                per[x[1]] += 1
                if per[x[1]] <= SIDE_LIMIT:
                    kept.append(x)
            by_narr[nid] = kept
        for (na, nb) in sorted({(a, b) for a, b in incompatible if a < b} | {(n, n) for n in by_narr}):
            for sa, sta, pa in by_narr.get(na, []):
                for sb, stb, pb in by_narr.get(nb, []):
                    # same narrative: asserted in one, denied in the other (each pair once)
                    conflict = (sta == stb == "asserts") if na != nb else (sta == "asserts" and stb == "denies")
                    if not conflict or stmts[sa].group == stmts[sb].group:
                        continue
                    found.add(stmts[sa], stmts[sb], {
                        "kind": "narratives" if na != nb else "stance", "score": pa * pb, "similarity": None,
                        "p_contradict": None, "narrative_a_id": na, "narrative_b_id": nb,
                        "embed_model": vs.embedder.model_id, "nli_model": nli.model_id if nli is not None else None},
                        (min(na, nb), max(na, nb)))
        for chunk, pc in p_both.pop(actor_id, []):
            for ((a, b), sim), p in zip(chunk, pc):
                if p >= NLI_MIN_CONTRADICT:
                    found.add(stmts[a], stmts[b], {"kind": "nli", "score": float(p), "similarity": float(sim),
                                                   "p_contradict": float(p), "narrative_a_id": None,
                                                   "narrative_b_id": None, "embed_model": vs.embedder.model_id,
                                                   "nli_model": nli.model_id}, ("nli",))
        rows = found.rows()
        with sessions.begin() as s:
            s.execute(delete(Contradiction).where(Contradiction.actor_id == actor_id))
            if rows:
                s.execute(insert(Contradiction.__table__), rows)
        totals["actors"] += 1
        for r in rows:
            totals[r["kind"]] += 1
            totals["folded"] += r["folded"]
        if progress:
            progress(1)
    return totals


def _nli_candidates(sessions: sessionmaker, vs: VectorStore, stmts: dict[int, _Stmt]) -> list[tuple[tuple[int, int], float]]:
    """Near-topic pairs of the actor's statements from different document groups: the
    MAX_NLI_PAIRS most similar, as ((a, b), cosine)."""
    claim_ids = sorted(stmts)
    pairs: dict[tuple[int, int], float] = {}
    if claim_ids:
        V = vs.embed([t for _, t in _texts(sessions, vs, claim_ids)])
        claim_set = set(claim_ids)
        for i, sid in enumerate(claim_ids):
            for other, sim in vs.search(V[i], NLI_NEIGHBOURS * 4):
                if other in claim_set and other != sid and sim >= NLI_MIN_SIMILARITY \
                        and stmts[other].group != stmts[sid].group:
                    pairs[(min(sid, other), max(sid, other))] = sim
    return sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_NLI_PAIRS]


def _texts(sessions: sessionmaker, vs: VectorStore, ids: list[int]) -> list[tuple[int, str]]:
    with sessions() as s:
        return vs.sentence_texts(s, ids)
