"""Reads of provenance: the analyst's entities, stored quotes and speakers, the spans of a
document, coordination groups, and how many findings of each kind are stored."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from narratrace.filters import Filters
from narratrace.records import (
    AuditInfo,
    CoordinatedDocument,
    CoordinationInfo,
    EntityInfo,
    QuoteInfo,
    Records,
    SpanInfo,
)
from narratrace.store.models import (
    Actor,
    AuditEvent,
    Contradiction,
    CoordinationGroup,
    CoordinationMember,
    Document,
    Entity,
    Mention,
    Narrative,
    NarrativeMatch,
    Quote,
    Review,
    Sentence,
    Source,
)
from narratrace.store.queries import apply_filters, chunks

# The source's actor is plain ``Actor`` so that Filters(actor=…) means "outlets owned by"; the
# speaker's own actor is this alias.
SpeakerActor = aliased(Actor)


def entities(s: Session) -> Records:
    mentions = dict(s.execute(select(Mention.entity_id, func.count()).group_by(Mention.entity_id)).all())
    quotes_ = dict(s.execute(select(Quote.entity_id, func.count()).group_by(Quote.entity_id)).all())
    out = Records(of=EntityInfo)
    for e, actor in s.execute(select(Entity, Actor.key).outerjoin(Actor, Entity.actor_id == Actor.id)
                              .order_by(Entity.key)):
        out.append(EntityInfo(e.key, e.name, e.kind, actor, e.description, [a.alias for a in e.aliases],
                              mentions.get(e.id, 0), quotes_.get(e.id, 0)))
    return out


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


def quotes(s: Session, f: Filters, *, speakers: Sequence[str] | None, document: int | None, kind: str | None,
           attributed: bool | None, limit: int | None) -> Records:
    """``speakers``: the stored speaker keys to match (any of them); the caller builds them from what the
    analyst typed (``enrich.annotate.speaker_keys``), so the store needs no text normalisation."""
    q = apply_filters(_quote_query(), f)
    if speakers:
        q = q.where(Quote.speaker_key.in_(list(speakers)))
    if document is not None:
        q = q.where(Quote.document_id == document)
    if kind:
        q = q.where(Quote.kind == kind)
    if attributed is not None:
        q = q.where(Quote.speaker_key.is_not(None) if attributed else Quote.speaker_key.is_(None))
    q = q.order_by(Document.published_at.is_(None), Document.published_at, Quote.document_id, Quote.start)
    if limit is not None:
        q = q.limit(limit)
    out = Records(of=QuoteInfo)
    for r in s.execute(q):
        d = _row(r)
        qt = d["quote"]
        as_written = r[1][qt.speaker_start:qt.speaker_end] if qt.speaker_start is not None else None
        out.append(QuoteInfo(qt.id, qt.document_id, d["text"], qt.start, qt.end, qt.kind, d["speaker"],
                             qt.speaker_key, as_written, qt.resolution, qt.cue, qt.reason, qt.language,
                             d["published_at"], d["source"], d["audience"], d["url"]))
    return out


def quote_rows(s: Session, f: Filters) -> list[dict]:
    """Every stored quote with its text and its document's outlet, as plain rows for detect/."""
    return [_row(r) for r in s.execute(apply_filters(_quote_query(), f))]


def speaker_rows(s: Session, f: Filters) -> list[dict]:
    """Attributed quotes without their text: what speakers and the citation graph need. Reading
    each quote's document text (as quote_rows must) made speakers() take 4 s at 100k documents."""
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
    return [dict(zip(names, r)) for r in s.execute(apply_filters(q, f))]


def outlet_meta(s: Session) -> dict[str, dict]:
    """Per source key: its display name, owning actor and audience (nodes of the citation graph)."""
    return {k: {"name": n, "actor": a, "audience": au} for k, n, a, au in
            s.execute(select(Source.key, Source.name, Actor.key, Source.audience)
                      .outerjoin(Actor, Source.actor_id == Actor.id))}


def document_spans(s: Session, doc_id: int, text: str) -> list[SpanInfo]:
    """Every stored span of a document, in text order; ``text[start:end]`` is each span's text.
    Spans outside the text (a store edited by hand) are left out rather than shown wrong."""
    spans: list[SpanInfo] = []

    def add(kind, a, b, **kw):
        if a is not None and b is not None and 0 <= a < b <= len(text):
            spans.append(SpanInfo(kind=kind, start=a, end=b, text=text[a:b], **kw))

    for q, ekey, ename in s.execute(select(Quote, Entity.key, Entity.name)
                                    .outerjoin(Entity, Quote.entity_id == Entity.id)
                                    .where(Quote.document_id == doc_id)):
        who = ename or q.speaker_name
        add("quote", q.start, q.end, quote_id=q.id, speaker=who, entity=ekey, label=q.kind)
        add("cue", q.cue_start, q.cue_end, quote_id=q.id, speaker=who)
        add("speaker", q.speaker_start, q.speaker_end, quote_id=q.id, speaker=who, entity=ekey)
        if (q.speaker_name_start, q.speaker_name_end) != (q.speaker_start, q.speaker_end):
            add("speaker_name", q.speaker_name_start, q.speaker_name_end, quote_id=q.id, speaker=who, entity=ekey)
    for m, ekey in s.execute(select(Mention, Entity.key).outerjoin(Entity, Mention.entity_id == Entity.id)
                             .where(Mention.document_id == doc_id)):
        add("mention", m.start, m.end, label=m.label, entity=ekey)
    for se, key, m, verdict in s.execute(
            select(Sentence, Narrative.key, NarrativeMatch, Review.verdict)
            .join(NarrativeMatch, NarrativeMatch.sentence_id == Sentence.id)
            .join(Narrative, NarrativeMatch.narrative_id == Narrative.id)
            .outerjoin(Review, (Review.kind == "match") & (Review.sentence_id == Sentence.id)
                       & (Review.narrative_id == Narrative.id))
            .where(Sentence.document_id == doc_id)):
        add("match", se.start, se.end, sentence_id=se.id, narrative=key, stance=m.stance, review=verdict)
    spans.sort(key=lambda sp: (sp.start, -sp.end, sp.kind))
    return spans


def coordination(s: Session, *, method: str | None, source: str | None, limit: int | None) -> Records:
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
    for part in chunks(ids):
        meta.update({r[0]: r[1:] for r in s.execute(
            select(Document.id, Source.key, Document.language, Document.title, Document.url)
            .outerjoin(Source, Document.source_id == Source.id).where(Document.id.in_(part)))})
    out = Records(of=CoordinationInfo)
    for g in groups:
        docs = [CoordinatedDocument(m.document_id, meta[m.document_id][0], m.published_at,
                                    round(m.similarity, 4), *meta[m.document_id][1:]) for m in g.members]
        out.append(CoordinationInfo(g.id, g.method, g.window_seconds, g.first_document_id,
                                    meta[g.first_document_id][0], g.started_at, g.span_seconds,
                                    sorted({d.source for d in docs if d.source}), docs))
    return out


def finding_counts(s: Session) -> dict[str, int]:
    """How many narratives, contradictions, quotes and coordination groups are stored — counted
    in SQL (the dashboard's overview listed them all to count them: 9 s at 100k documents)."""
    def n(model, *where):
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0

    return {"narratives": n(Narrative, Narrative.status != "dismissed"), "contradictions": n(Contradiction),
            "quotes": n(Quote), "coordination groups": n(CoordinationGroup)}


def record_audit(s: Session, at, user: str, role: str, action: str, target: str | None, detail: dict | None) -> None:
    s.add(AuditEvent(at=at, user=user, role=role, action=action, target=target, detail=detail))


def audit(s: Session, limit: int) -> Records:
    rows = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit))
    return Records((AuditInfo(e.id, e.at, e.user, e.role, e.action, e.target, e.detail) for e in rows), of=AuditInfo)
