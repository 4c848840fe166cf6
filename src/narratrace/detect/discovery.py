"""Discover candidate narratives: recurring claims no registered narrative covers.

Claim-like sentences (≥ MIN_CHARS, from unique documents — syndicated copies would make any
text "recur") that match no active narrative are clustered by cosine similarity of their
(cached, multilingual) vectors, so an English and a Persian phrasing of one claim can meet.
Clustering is greedy "leader" clustering in publication order: a sentence joins the nearest
existing cluster at or above THRESHOLD, else founds one. Earlier candidates are loaded first,
so a candidate's id — derived from its founding sentence — stays the same when new documents
arrive; dismissed candidates stay dismissed. Analysts promote (``status=active``, then it is
matched like any narrative), rename or dismiss them.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from narratrace.errors import InvalidInput, NotFound
from narratrace.match.embed import normalise_for_cache
from narratrace.match.vectors import VectorStore
from narratrace.store.models import Document, Narrative, NarrativeMatch, NarrativeStatement, Sentence, Source

# A claim is a sentence, not a dateline or a heading.
MIN_CHARS = 40
# e5-small cosine at which two sentences say the same thing (paraphrases and translations of
# one claim in the demo corpus lie at 0.88–0.95; same-topic different claims at 0.83–0.87).
THRESHOLD = 0.89
# A candidate needs this many documents from at least MIN_SOURCES sources: one outlet
# repeating itself is a house style, several outlets repeating a claim is a narrative.
MIN_DOCUMENTS = 3
MIN_SOURCES = 2
MAX_EXAMPLES = 5


@dataclass
class DiscoveryReport:
    sentences: int = 0
    clusters: int = 0
    new_candidates: int = 0
    updated_candidates: int = 0

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def candidate_key(text: str) -> str:
    return "auto-" + hashlib.blake2b(normalise_for_cache(text).casefold().encode(), digest_size=4).hexdigest()


def discover(sessions: sessionmaker, vs: VectorStore, *, threshold: float = THRESHOLD,
             min_documents: int = MIN_DOCUMENTS, min_sources: int = MIN_SOURCES) -> DiscoveryReport:
    """Cluster the claim-like sentences no active narrative matched into candidate narratives;
    candidates keep their ids as data grows (the first sentence of a cluster names it)."""
    report = DiscoveryReport()
    with sessions() as s:
        matched = select(NarrativeMatch.sentence_id).join(Narrative, Narrative.id == NarrativeMatch.narrative_id) \
            .where(Narrative.status == "active")
        rows = s.execute(select(Sentence.id, Sentence.start, Sentence.end, Document.text, Document.id,
                                func.coalesce(Source.key, "?"))
                         .join(Document, Sentence.document_id == Document.id)
                         .outerjoin(Source, Document.source_id == Source.id)
                         .where(Document.duplicate_of_id.is_(None), (Sentence.end - Sentence.start) >= MIN_CHARS,
                                Sentence.id.not_in(matched))
                         .order_by(Document.published_at.is_(None), Document.published_at, Sentence.id)).all()
        existing = list(s.scalars(select(Narrative).where(Narrative.origin == "discovered")))
        seeds = [(n.key, [st.text for st in n.statements]) for n in existing]
        status = {n.key: n.status for n in existing}
    report.sentences = len(rows)
    if not rows:
        return report
    texts = [t[a:b] for _sid, a, b, t, _d, _s in rows]
    V = vs.embed(texts)
    # clusters: row j of `sums` / `unit` is cluster keys[j]; earlier candidates first so their ids
    # hold. Preallocated: one matrix-vector product per sentence, no re-stacking.
    seeds = [(key, ex) for key, ex in seeds if ex]
    sums = np.zeros((len(seeds) + len(V), V.shape[1]), np.float32)
    unit = np.zeros_like(sums)
    keys: list[str] = []
    taken: set[str] = set()
    members: dict[str, list[int]] = defaultdict(list)

    def found(key: str, vec: np.ndarray) -> None:
        sums[len(keys)] = vec
        unit[len(keys)] = vec / np.linalg.norm(vec)
        keys.append(key)
        taken.add(key)

    for key, examples in seeds:
        found(key, vs.embed(examples).sum(0))
    for i, v in enumerate(V):
        if keys:
            sims = unit[:len(keys)] @ v
            j = int(sims.argmax())
            if sims[j] >= threshold:
                members[keys[j]].append(i)
                sums[j] += v
                unit[j] = sums[j] / np.linalg.norm(sums[j])
                continue
        key = candidate_key(texts[i])
        while key in taken:  # two founding sentences with one normalised text
            key += "x"
        found(key, v)
        members[key].append(i)
    report.clusters = len(keys)
    with sessions.begin() as s:
        for j, key in enumerate(keys):
            idx = members.get(key, [])
            docs = {rows[i][4] for i in idx}
            sources = {rows[i][5] for i in idx}
            if len(docs) < min_documents or len(sources) < min_sources or status.get(key) == "dismissed":
                continue
            centroid = unit[j]
            order = sorted(idx, key=lambda i: -float(V[i] @ centroid))
            examples, seen = [], set()
            for i in order:
                norm = normalise_for_cache(texts[i]).casefold()
                if norm not in seen:
                    seen.add(norm)
                    examples.append(texts[i])
                if len(examples) == MAX_EXAMPLES:
                    break
            n = s.scalar(select(Narrative).where(Narrative.key == key))
            desc = f"Discovered: {len(docs)} documents from {len(sources)} sources ({', '.join(sorted(sources))})."
            if n is None:
                n = Narrative(key=key, name=examples[0][:120], status="candidate", origin="discovered")
                s.add(n)
                report.new_candidates += 1
            else:
                report.updated_candidates += 1
            if n.status == "candidate":
                n.description = desc
                n.statements.clear()
                s.flush()
                n.statements.extend(NarrativeStatement(kind="assertion", text=t) for t in examples)
    return report


def set_status(sessions: sessionmaker, key: str, status: str, *, name: str | None = None) -> None:
    """Promote (active), dismiss or reopen (candidate) a narrative; optionally rename it."""
    if status not in ("active", "candidate", "dismissed"):
        raise InvalidInput("status is active, candidate or dismissed")
    with sessions.begin() as s:
        n = s.scalar(select(Narrative).where(Narrative.key == key))
        if n is None:
            raise NotFound(f"unknown narrative '{key}' (see `narratrace narratives list --all`)")
        n.status = status
        if name:
            n.name = name
