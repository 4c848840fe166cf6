"""The provenance half of the Workspace API: the analyst's entities, quotes and speakers, recycled
sources, the same quote across documents and languages, narrative spread, coordinated publication
and the graphs behind them. Workspace inherits it; algorithms live in enrich/ and detect/."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import aliased

from narratrace.records import Records, _Record
from narratrace.store.models import (
    Actor,
    Document,
    EnrichState,
    Entity,
    Mention,
    Narrative,
    NarrativeMatch,
    Quote,
    Review,
    Sentence,
    Source,
)


class ProvenanceError(RuntimeError):
    pass


@dataclass
class EntityInfo(_Record):
    key: str
    name: str
    kind: str
    actor: str | None
    description: str | None
    aliases: list[str]
    mentions: int
    quotes: int


@dataclass
class QuoteInfo(_Record):
    id: int
    document_id: int
    text: str
    start: int
    end: int
    kind: str
    speaker: str | None        # the resolved speaker's display name
    speaker_key: str | None
    speaker_as_written: str | None
    resolution: str
    cue: str | None
    reason: str | None
    language: str | None
    published_at: datetime | None
    source: str | None
    audience: str | None
    url: str | None


# The source's actor is plain ``Actor`` so that Workspace._filter(actor=…) means "outlets owned by".
SpeakerActor = aliased(Actor)


def _quote_query():
    return (select(Quote, Document.text, Document.published_at, Document.url, Document.title, Source.key,
                   Source.audience, Actor.key, Entity.key, Entity.name, SpeakerActor.key)
            .join(Document, Quote.document_id == Document.id)
            .outerjoin(Source, Document.source_id == Source.id)
            .outerjoin(Actor, Source.actor_id == Actor.id)
            .outerjoin(Entity, Quote.entity_id == Entity.id)
            .outerjoin(SpeakerActor, Entity.actor_id == SpeakerActor.id))


def _row(r) -> dict:
    q, text, published, url, title, src, audience, src_actor, ekey, ename, sp_actor = r
    return {"quote_id": q.id, "document_id": q.document_id, "text": text[q.start:q.end], "quote": q,
            "published_at": published, "url": url, "title": title, "source": src, "audience": audience,
            "source_actor": src_actor, "entity": ekey, "entity_name": ename, "speaker_actor": sp_actor,
            "speaker_key": q.speaker_key, "speaker_name": q.speaker_name, "language": q.language,
            "speaker": ename or q.speaker_name, "resolution": q.resolution}


class ProvenanceMixin:
    """Needs ``self.sessions`` and ``self._filter`` (Workspace) and ``self.vector_store()`` (analysis)."""

    # -- entities -------------------------------------------------------------------------------

    def import_entities(self, path: str | os.PathLike) -> dict[str, int]:
        """Import or update the alias registry (YAML or CSV). Re-run `extract_quotes(redo=True)` after
        changing aliases of entities already in stored quotes."""
        from narratrace.enrich.entities import apply_entities, load_entities

        rows = load_entities(Path(path))  # read and check everything before writing
        with self.sessions.begin() as s:
            return apply_entities(s, rows)

    def entities(self) -> Records:
        with self.sessions() as s:
            mentions = dict(s.execute(select(Mention.entity_id, func.count()).group_by(Mention.entity_id)).all())
            quotes = dict(s.execute(select(Quote.entity_id, func.count()).group_by(Quote.entity_id)).all())
            out = Records()
            for e, actor in s.execute(select(Entity, Actor.key).outerjoin(Actor, Entity.actor_id == Actor.id)
                                      .order_by(Entity.key)):
                out.append(EntityInfo(e.key, e.name, e.kind, actor, e.description, [a.alias for a in e.aliases],
                                      mentions.get(e.id, 0), quotes.get(e.id, 0)))
            return out

    # -- enrich: mentions and quotes -----------------------------------------------------------------

    def extract_quotes(self, *, redo: bool = False, progress: Callable[[int], None] | None = None,
                       on_total: Callable[[int], None] | None = None) -> dict[str, int]:
        """Mentions, quotes and speakers for every document not yet enriched by this version of the
        rules (incremental and resumable: one transaction per batch of documents)."""
        from narratrace.enrich.annotate import VERSION, annotate, sentence_of
        from narratrace.enrich.entities import Gazetteer

        with self.sessions.begin() as s:
            if redo:
                s.execute(delete(EnrichState).where(EnrichState.stage == "quotes"))
            gazetteer = Gazetteer.load(s)
            entity_keys = dict(s.execute(select(Entity.id, Entity.key)).all())
            done = select(EnrichState.document_id).where(EnrichState.stage == "quotes", EnrichState.version == VERSION)
            todo = list(s.scalars(select(Document.id).where(Document.id.not_in(done)).order_by(Document.id)))
        if on_total:
            on_total(len(todo))
        counts = {"documents": 0, "quotes": 0, "attributed": 0, "mentions": 0}
        nlp_cache: dict[str, object] = {}

        def nlp_for(lang: str):
            if lang not in nlp_cache:
                nlp_cache[lang] = _pipeline(lang)
            return nlp_cache[lang]

        for lo in range(0, len(todo), 64):
            batch = todo[lo:lo + 64]
            with self.sessions.begin() as s:
                s.execute(delete(Quote).where(Quote.document_id.in_(batch)))
                s.execute(delete(Mention).where(Mention.document_id.in_(batch)))
                s.execute(delete(EnrichState).where(EnrichState.document_id.in_(batch), EnrichState.stage == "quotes"))
                for doc in s.scalars(select(Document).where(Document.id.in_(batch))):
                    sents = [(se.start, se.end, se.language) for se in doc.sentences]
                    ann = annotate(doc.text, sents, doc.language, gazetteer, entity_keys, nlp_for)
                    starts, ids = [se.start for se in doc.sentences], [se.id for se in doc.sentences]
                    for m in ann.mentions:
                        s.add(Mention(document_id=doc.id, start=m.start, end=m.end, label=m.label, method=m.method,
                                      entity_id=m.entity_id))
                    for q, eid, key in ann.quotes:
                        s.add(Quote(document_id=doc.id, sentence_id=sentence_of(starts, ids, q.start), start=q.start,
                                    end=q.end, kind=q.kind, language=q.language, cue=(q.cue or None) and q.cue[:256],
                                    cue_start=q.cue_start, cue_end=q.cue_end, speaker_start=q.speaker_start,
                                    speaker_end=q.speaker_end, speaker_name=(q.speaker_name or None) and q.speaker_name[:512],
                                    speaker_name_start=q.speaker_name_start, speaker_name_end=q.speaker_name_end,
                                    resolution=q.resolution, entity_id=eid, speaker_key=key, reason=q.reason,
                                    confidence=q.confidence))
                        counts["attributed"] += key is not None
                    counts["quotes"] += len(ann.quotes)
                    counts["mentions"] += len(ann.mentions)
                    s.add(EnrichState(document_id=doc.id, stage="quotes", version=VERSION))
                    counts["documents"] += 1
            if progress:
                progress(len(batch))
        return counts

    def quotes(self, *, speaker: str | None = None, document: int | None = None, kind: str | None = None,
               attributed: bool | None = None, limit: int | None = None, **filters) -> Records:
        """Stored quotes, oldest first. ``speaker`` is an entity key, a speaker key or a name."""
        with self.sessions() as s:
            q = self._filter(_quote_query(), **filters)
            if speaker:
                from narratrace.enrich.annotate import speaker_key

                q = q.where(Quote.speaker_key.in_([speaker, f"entity:{speaker}", speaker_key(None, speaker)]))
            if document is not None:
                q = q.where(Quote.document_id == document)
            if kind:
                q = q.where(Quote.kind == kind)
            if attributed is not None:
                q = q.where(Quote.speaker_key.is_not(None) if attributed else Quote.speaker_key.is_(None))
            q = q.order_by(Document.published_at.is_(None), Document.published_at, Quote.document_id, Quote.start)
            if limit is not None:
                q = q.limit(limit)
            out = Records()
            for r in s.execute(q):
                d = _row(r)
                qt = d["quote"]
                as_written = r[1][qt.speaker_start:qt.speaker_end] if qt.speaker_start is not None else None
                out.append(QuoteInfo(qt.id, qt.document_id, d["text"], qt.start, qt.end, qt.kind, d["speaker"],
                                     qt.speaker_key, as_written, qt.resolution, qt.cue, qt.reason, qt.language,
                                     d["published_at"], d["source"], d["audience"], d["url"]))
            return out

    def _quote_rows(self, **filters) -> list[dict]:
        with self.sessions() as s:
            return [_row(r) for r in s.execute(self._filter(_quote_query(), **filters))]

    def _speaker_rows(self, **filters) -> list[dict]:
        """Attributed quotes without their text: what speakers and the citation graph need. Reading
        each quote's document text (as _quote_rows must) made speakers() take 4 s at 100k documents."""
        cols = (Quote.document_id, Quote.speaker_key, Quote.speaker_name, Quote.resolution, Quote.language,
                Document.published_at, Document.title, Source.key, Actor.key, Entity.key, Entity.name,
                SpeakerActor.key)
        q = (select(*cols).join(Document, Quote.document_id == Document.id)
             .outerjoin(Source, Document.source_id == Source.id).outerjoin(Actor, Source.actor_id == Actor.id)
             .outerjoin(Entity, Quote.entity_id == Entity.id)
             .outerjoin(SpeakerActor, Entity.actor_id == SpeakerActor.id)
             .where(Quote.speaker_key.is_not(None)))
        names = ("document_id", "speaker_key", "speaker_name", "resolution", "language", "published_at", "title",
                 "source", "source_actor", "entity", "entity_name", "speaker_actor")
        with self.sessions() as s:
            return [dict(zip(names, r)) for r in s.execute(self._filter(q, **filters))]

    def speakers(self, *, min_outlets: int = 1, limit: int | None = None, **filters) -> Records:
        """Who is quoted, by how many outlets, first where; sorted by outlets outside the speaker's
        own actor (the recycled voices first)."""
        from narratrace.detect.provenance import speakers

        rows = speakers(self._speaker_rows(**filters), min_outlets=min_outlets)
        return Records(rows[:limit] if limit else rows)

    def recycled_sources(self, k: int = 3, **filters) -> Records:
        """Named people quoted by at least ``k`` distinct outlets that are not their own actor's."""
        return Records(sp for sp in self.speakers(**filters) if sp.other_outlets >= k and sp.named)

    def quote_trails(self, *, speaker: str | None = None, min_documents: int = 2, **filters) -> Records:
        """The same quote found in several documents, in any language: first carrier and repeaters."""
        from narratrace.detect.provenance import MIN_QUOTE_CHARS, quote_trails

        rows = [r for r in self._quote_rows(**filters) if len(r["text"].strip()) >= MIN_QUOTE_CHARS]
        if speaker:
            rows = [r for r in rows if speaker in (r["entity"], r["speaker_key"], r["speaker_name"])]
        if not rows:
            return Records()
        vectors = self.vector_store().embed([r["text"] for r in rows], kind="passage")
        return Records(quote_trails(rows, vectors, min_documents=min_documents))

    def narrative_spread(self, narrative: str, **filters) -> Records:
        """Where a narrative first appeared, then each outlet in the order it first carried it
        (statements matched as asserting it; rejected matches left out)."""
        from narratrace.detect.provenance import narrative_spread

        with self.sessions() as s:
            nid = s.scalar(select(Narrative.id).where(Narrative.key == narrative))
            if nid is None:
                raise ProvenanceError(f"no narrative '{narrative}' (list them with `narratrace narratives list`)")
            rejected = select(Review.sentence_id).where(Review.kind == "match", Review.narrative_id == nid,
                                                        Review.verdict == "rejected")
            q = (select(Sentence.id, Sentence.document_id, Sentence.start, Sentence.end, Sentence.language,
                        Document.text, Document.published_at, Source.key, Source.audience)
                 .join(NarrativeMatch, NarrativeMatch.sentence_id == Sentence.id)
                 .join(Document, Sentence.document_id == Document.id)
                 .outerjoin(Source, Document.source_id == Source.id).outerjoin(Actor, Source.actor_id == Actor.id)
                 .where(NarrativeMatch.narrative_id == nid, NarrativeMatch.stance == "asserts",
                        Sentence.id.not_in(rejected)))
            rows = [{"sentence_id": r[0], "document_id": r[1], "text": r[5][r[2]:r[3]], "language": r[4],
                     "published_at": r[6], "source": r[7], "audience": r[8]}
                    for r in s.execute(self._filter(q, **filters))]
        return Records(narrative_spread(rows))

    def finding_counts(self) -> dict[str, int]:
        """How many narratives, contradictions, quotes and coordination groups are stored — counted
        in SQL (the dashboard's overview listed them all to count them: 9 s at 100k documents)."""
        from narratrace.store.models import Contradiction, CoordinationGroup

        with self.sessions() as s:
            def n(model, *where):
                return s.scalar(select(func.count()).select_from(model).where(*where)) or 0

            return {"narratives": n(Narrative, Narrative.status != "dismissed"), "contradictions": n(Contradiction),
                    "quotes": n(Quote), "coordination groups": n(CoordinationGroup)}

    # -- coordinated publication ------------------------------------------------------------------

    def find_coordination(self, *, window: float | str | None = None, threshold: float | None = None,
                          translations: bool = True, translation_window: float | None = None,
                          **filters) -> dict:
        """Groups of near-identical (MinHash LSH) and, with ``translations``, translated (cross-lingual
        e5 vectors) documents that different outlets published within a window; replaces the stored
        groups. ``window``: seconds, "auto" (estimated from the data, as CooRnet does) or None (one
        hour). Documents without a source or a date cannot be placed and are counted, not grouped."""
        from narratrace.detect import coordination as co
        from narratrace.ingest.dedup import from_bytes
        from narratrace.store.models import CoordinationGroup, CoordinationMember, DocumentSignature

        with self.sessions() as s:
            q = (select(Document.id, Source.key, Document.published_at, Document.language, DocumentSignature.minhash)
                 .outerjoin(Source, Document.source_id == Source.id).outerjoin(Actor, Source.actor_id == Actor.id)
                 .outerjoin(DocumentSignature, DocumentSignature.document_id == Document.id))
            rows = s.execute(self._filter(q, **filters).order_by(Document.id)).all()
        no_source = [r[0] for r in rows if r[1] is None]
        rows = [r for r in rows if r[1] is not None]
        items = [co.Item(r[0], r[1], _epoch(r[2]), signature=from_bytes(r[4]) if r[4] else None) for r in rows]
        near = co.near_duplicate_groups(items, threshold=threshold or co.NEAR_DUPLICATE, window=window)
        groups = list(near.groups)
        found = {"near_duplicate": len(near.groups), "translation": 0, "window_seconds": near.window,
                 "undated": len(near.undated), "no_source": len(no_source), "unsigned": len(near.skipped)}
        if translations and rows:
            dated = [(r, it) for r, it in zip(rows, items) if it.published_at is not None]
            with self.sessions() as s:
                texts = dict(s.execute(select(Document.id, Document.text)
                                       .where(Document.id.in_([r[0] for r, _ in dated]))).all()) if dated else {}
            vecs = co.sentence_vectors([texts[r[0]] for r, _ in dated], _CachedEmbedder(self.vector_store()))
            kw = {"window": translation_window} if translation_window else {}
            tr = co.translation_groups([it for _, it in dated], vecs, [r[3] for r, _ in dated], **kw)
            groups += tr.groups
            found["translation"] = len(tr.groups)
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        with self.sessions.begin() as s:
            s.execute(delete(CoordinationGroup))
            src_ids = dict(s.execute(select(Source.key, Source.id)).all())
            for g in groups:
                s.add(CoordinationGroup(
                    method=g.method, window_seconds=float(near.window if g.method == "near-duplicate" else
                                                          (translation_window or co.TRANSLATION_WINDOW)),
                    first_document_id=g.first_doc_id, started_at=_utc(g.first_published_at),
                    span_seconds=float(g.span_seconds), n_documents=len(g.documents), n_sources=len(set(g.sources)),
                    run_at=now, members=[CoordinationMember(document_id=m.doc_id, source_id=src_ids.get(m.source),
                                                            published_at=_utc(m.published_at),
                                                            similarity=float(m.similarity)) for m in g.documents]))
        return found

    def coordination(self, *, method: str | None = None, source: str | None = None, limit: int | None = None) -> Records:
        """Stored coordination groups, largest first, each with its documents in publication order."""
        from narratrace.store.models import CoordinationGroup, CoordinationMember

        with self.sessions() as s:
            q = select(CoordinationGroup)
            if method:
                q = q.where(CoordinationGroup.method == method)
            if source:
                q = q.where(CoordinationGroup.id.in_(
                    select(CoordinationMember.group_id).join(Source, CoordinationMember.source_id == Source.id)
                    .where(Source.key == source)))
            q = q.order_by(CoordinationGroup.n_sources.desc(), CoordinationGroup.started_at, CoordinationGroup.id)
            groups = list(s.scalars(q.limit(limit) if limit else q))
            ids = [m.document_id for g in groups for m in g.members]
            meta = {}
            for i in range(0, len(ids), 900):
                meta.update({r[0]: r[1:] for r in s.execute(
                    select(Document.id, Source.key, Document.language, Document.title, Document.url)
                    .outerjoin(Source, Document.source_id == Source.id).where(Document.id.in_(ids[i:i + 900])))})
            out = Records()
            for g in groups:
                docs = [CoordinatedDocument(m.document_id, meta[m.document_id][0], m.published_at,
                                            round(m.similarity, 4), *meta[m.document_id][1:]) for m in g.members]
                out.append(CoordinationInfo(g.id, g.method, g.window_seconds, g.first_document_id,
                                            meta[g.first_document_id][0], g.started_at, g.span_seconds,
                                            sorted({d.source for d in docs if d.source}), docs))
            return out

    def coordination_graph(self, *, method: str | None = None):
        """networkx Graph of outlets, edges weighted by the coordination groups they share."""
        from narratrace.detect.coordination import Group, outlet_network

        groups = [Group(g.method, [], g.first_document_id, g.first_source or "", 0.0, g.span_seconds,
                        [d.source or "" for d in g.documents]) for g in self.coordination(method=method)]
        return outlet_network(groups)

    def export_graph(self, graph: str, fmt: str, output: str, **filters) -> tuple[int, int]:
        """Write the ``citation`` (speaker → outlet), ``citation-documents`` or ``coordination``
        (outlet network) graph as GEXF, GraphML or a CSV edge list. Returns (nodes, edges)."""
        from narratrace.report.graphs import write_graph

        if graph == "coordination":
            g = self.coordination_graph()
        elif graph in ("citation", "citation-documents"):
            self.extract_quotes()
            g = self.citation_graph(documents=graph == "citation-documents", **filters)
        else:
            raise ProvenanceError(f"unknown graph '{graph}' (citation, citation-documents, coordination)")
        return write_graph(g, fmt, output)

    def citation_graph(self, *, documents: bool = False, **filters):
        """networkx DiGraph speaker → outlet ("quoted by"), or speaker → document → outlet."""
        from narratrace.detect.provenance import citation_graph

        with self.sessions() as s:
            meta = {k: {"name": n, "actor": a, "audience": au} for k, n, a, au in
                    s.execute(select(Source.key, Source.name, Actor.key, Source.audience)
                              .outerjoin(Actor, Source.actor_id == Actor.id))}
        return citation_graph(self._speaker_rows(**filters), meta, documents=documents)


@dataclass
class CoordinatedDocument(_Record):
    document_id: int
    source: str | None
    published_at: datetime
    similarity: float
    language: str | None
    title: str | None
    url: str | None


@dataclass
class CoordinationInfo(_Record):
    id: int
    method: str
    window_seconds: float
    first_document_id: int
    first_source: str | None
    started_at: datetime
    span_seconds: float
    sources: list[str]
    documents: list[CoordinatedDocument]


class _CachedEmbedder:
    """The vector store's cache behind the Embedder interface the detect/ functions take."""

    def __init__(self, vs) -> None:
        self.vs, self.dim = vs, vs.embedder.dim

    def embed(self, texts, kind="passage"):
        return self.vs.embed(list(texts), kind=kind)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc).replace(tzinfo=None)


def _epoch(dt: datetime | None) -> float | None:
    return None if dt is None else dt.replace(tzinfo=timezone.utc).timestamp()


def _pipeline(language: str):
    """The spaCy pipeline for a language that has one (English), else None: rules only."""
    if language != "en":
        return None
    from narratrace.enrich.quotes import english_pipeline

    return english_pipeline()
