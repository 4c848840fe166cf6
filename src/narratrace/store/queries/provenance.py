"""Reads of provenance: the analyst's entities, stored quotes and speakers, the spans of a
document, coordination groups, and how many findings of each kind are stored."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, literal_column, null, select
from sqlalchemy.orm import Session, aliased

from narratrace.errors import NotFound
from narratrace.filters import Filters, unknown
from narratrace.records import (
    AuditInfo,
    CoordinatedDocument,
    CoordinationInfo,
    EntityInfo,
    EntityMentions,
    MentionCount,
    MentionInfo,
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
from narratrace.store.queries import apply_filters, chunks, with_outlet

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
    # Both spans cut in SQL: reading each quote's whole document text to slice two spans out of it
    # made a listing cost the documents' size (as contradictions were, store/queries/contradictions.py).
    said = func.substr(Document.text, Quote.start + 1, Quote.end - Quote.start)
    written = func.substr(Document.text, Quote.speaker_start + 1, Quote.speaker_end - Quote.speaker_start)
    # columns, not the Quote entity: loading ORM instances was half of a 50-quote listing (py-spy)
    cols = (Quote.id, Quote.document_id, Quote.start, Quote.end, Quote.kind, Quote.speaker_name, Quote.speaker_key,
            Quote.speaker_start, Quote.resolution, Quote.cue, Quote.reason, Quote.language, Quote.carrier)
    q = apply_filters(select(*cols, said, written, Document.published_at, Document.url, Source.key, Source.audience,
                             Entity.name)
                      .join(Document, Quote.document_id == Document.id)
                      .outerjoin(Source, Document.source_id == Source.id)
                      .outerjoin(Actor, Source.actor_id == Actor.id)
                      .outerjoin(Entity, Quote.entity_id == Entity.id), f)
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
    for (qid, doc_id, start, end, kind, sp_name, sp_key, sp_start, resolution, cue, reason, language, carrier,
         text, as_written, published, url, src, audience, ename) in s.execute(q):
        out.append(QuoteInfo(qid, doc_id, text, start, end, kind, ename or sp_name, sp_key,
                             as_written if sp_start is not None else None, resolution, cue, reason, language,
                             published, src, audience, url, carrier))
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


# A mention's context is the sentence(s) holding it (and, for a quote, its speaker), cut to this many
# characters either side of the span where a "sentence" runs on (a list, a transcript without
# stops): 300 keeps two ordinary sentences of news prose whole (~25 words each) and a listing small.
CONTEXT_CHARS = 300
MENTION_KINDS = ("quote", "mention")


def entity_of(s: Session, key: str) -> tuple[int, EntityInfo]:
    """The stored entity ``key`` (its id and record, with its unfiltered counts); NotFound naming the
    closest key otherwise."""
    row = s.execute(select(Entity, Actor.key).outerjoin(Actor, Entity.actor_id == Actor.id)
                    .where(Entity.key == key)).first()
    if row is None:
        keys = s.scalars(select(Entity.key)).all()
        if not keys:
            raise NotFound(f"no entity '{str(key)[:80]}': no entities are registered "
                           "(`narratrace entities import FILE`)")
        raise NotFound(unknown("entity", key, keys, listed=False) + " (`narratrace entities list` shows them)")
    e, actor = row
    n = lambda model: s.scalar(select(func.count()).select_from(model).where(model.entity_id == e.id)) or 0  # noqa: E731
    return e.id, EntityInfo(e.key, e.name, e.kind, actor, e.description, [a.alias for a in e.aliases],
                            n(Mention), n(Quote))


_DOC_COLS = (Document.published_at, Document.language, Document.url, Document.title, Source.key, Source.name,
             Source.audience)


def _mention_places(s: Session, eid: int, f: Filters, kind: str | None) -> list[dict]:
    """Every quote by and mention of entity ``eid`` that passes the filters, without text."""
    # the constant columns are SQL literals, not bound parameters: PostgreSQL cannot type an untyped
    # parameter in a select list
    names = ("kind", "id", "document_id", "start", "end", "label", "speaker_start", "speaker_end", "carrier",
             "published_at", "language", "url", "title", "source", "outlet", "audience")
    out = []
    if kind in (None, "quote"):
        q = (select(literal_column("'quote'"), Quote.id, Quote.document_id, Quote.start, Quote.end, Quote.kind,
                    Quote.speaker_start, Quote.speaker_end, Quote.carrier, *_DOC_COLS)
             .join(Document, Quote.document_id == Document.id).where(Quote.entity_id == eid))
        out += [dict(zip(names, r)) for r in s.execute(apply_filters(with_outlet(q), f))]
    if kind in (None, "mention"):
        q = (select(literal_column("'mention'"), Mention.id, Mention.document_id, Mention.start, Mention.end, Mention.label,
                    null(), null(), null(), *_DOC_COLS)
             .join(Document, Mention.document_id == Document.id).where(Mention.entity_id == eid))
        out += [dict(zip(names, r)) for r in s.execute(apply_filters(with_outlet(q), f))]
    out.sort(key=lambda r: (r["published_at"] is None, r["published_at"] or 0, r["document_id"], r["start"],
                            r["kind"]))
    return out


def _counts(rows: list[dict], group, name=lambda r: None) -> list[MentionCount]:
    docs: dict = defaultdict(set)
    n: dict = defaultdict(lambda: {"quote": 0, "mention": 0})
    names: dict = {}
    for r in rows:
        g = group(r)
        docs[g].add(r["document_id"])
        n[g][r["kind"]] += 1
        names[g] = name(r)
    return [MentionCount(g, names[g], len(docs[g]), n[g]["quote"], n[g]["mention"]) for g in docs]


def _context(text: str, sents: list[tuple[int, int]], a: int, b: int) -> tuple[str, int]:
    """The sentences of ``text`` covering [a, b) (``sents`` sorted by start), at most CONTEXT_CHARS
    beyond the span on either side; (context, its start)."""
    starts = [x[0] for x in sents]
    i, j = bisect_right(starts, a) - 1, bisect_right(starts, max(a, b - 1)) - 1
    lo = sents[i][0] if i >= 0 else a
    hi = sents[j][1] if j >= 0 else b
    lo, hi = min(a, max(lo, a - CONTEXT_CHARS)), max(b, min(hi, b + CONTEXT_CHARS))
    return text[lo:hi], lo


def entity_mentions(s: Session, key: str, f: Filters, *, kind: str | None, limit: int | None) -> EntityMentions:
    """Who quotes (the entity is the speaker) and names (a ``mention`` row) entity ``key``: counts by
    outlet and by month over every match, then the first ``limit`` places with their exact spans."""
    eid, info = entity_of(s, key)
    rows = _mention_places(s, eid, f, kind)
    by_outlet = sorted(_counts(rows, lambda r: r["source"], lambda r: r["outlet"]),
                       key=lambda c: (c.group is None, -c.documents, -(c.quotes + c.mentions), c.group or ""))
    by_month = sorted(_counts(rows, lambda r: r["published_at"] and r["published_at"].strftime("%Y-%m")),
                      key=lambda c: (c.group is None, c.group or ""))
    shown = rows[:limit] if limit is not None else rows
    ids = sorted({r["document_id"] for r in shown})
    texts: dict[int, str] = {}
    sents: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for part in chunks(ids):
        texts.update(s.execute(select(Document.id, Document.text).where(Document.id.in_(part))).all())
        for d, a, b in s.execute(select(Sentence.document_id, Sentence.start, Sentence.end)
                                 .where(Sentence.document_id.in_(part)).order_by(Sentence.document_id, Sentence.start)):
            sents[d].append((a, b))
    items = []
    for r in shown:
        text = texts[r["document_id"]]
        a, b = r["start"], r["end"]
        if not 0 <= a < b <= len(text):
            continue  # a span outside its text (a store edited by hand) is left out rather than shown wrong
        ss, se = r["speaker_start"], r["speaker_end"]
        has_speaker = ss is not None and se is not None and 0 <= ss < se <= len(text)
        context, at = _context(text, sents[r["document_id"]], *((min(a, ss), max(b, se)) if has_speaker else (a, b)))
        items.append(MentionInfo(r["kind"], info.key, r["document_id"], a, b, text[a:b], context, at,
                                 r["published_at"], r["source"], r["outlet"], r["audience"], r["language"], r["url"],
                                 r["title"], r["label"], r["id"] if r["kind"] == "quote" else None,
                                 text[ss:se] if has_speaker else None, r["carrier"]))
    n = {k: sum(r["kind"] == k for r in rows) for k in MENTION_KINDS}
    dated = {r["document_id"] for r in rows if r["published_at"] is not None}
    docs = {r["document_id"] for r in rows}
    return EntityMentions(info, f.as_dict(), len(docs), n["quote"], n["mention"], len(docs - dated), by_outlet,
                          by_month, Records(items, of=MentionInfo), len(items))


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
        add("carrier", q.carrier_start, q.carrier_end, quote_id=q.id, speaker=who)
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


def undated_documents(s: Session, f: Filters) -> int:
    """Documents without a publication date that pass the (outlet, actor, audience, language)
    filters: counted everywhere, never placed in time (spread, first publisher, coordination)."""
    q = (select(func.count(Document.id)).select_from(Document).outerjoin(Source, Document.source_id == Source.id)
         .outerjoin(Actor, Source.actor_id == Actor.id).where(Document.published_at.is_(None)))
    return s.scalar(apply_filters(q, f)) or 0


def record_audit(s: Session, at, user: str, role: str, action: str, target: str | None, detail: dict | None) -> None:
    s.add(AuditEvent(at=at, user=user, role=role, action=action, target=target, detail=detail))


def _audit_query(q, user: str | None, action: str | None):
    if user:
        q = q.where(AuditEvent.user == user)
    if action:
        q = q.where(AuditEvent.action == action)
    return q


def audit(s: Session, limit: int, *, offset: int = 0, user: str | None = None, action: str | None = None) -> Records:
    q = _audit_query(select(AuditEvent), user, action).order_by(AuditEvent.id.desc()).limit(limit)
    rows = s.scalars(q.offset(offset) if offset else q)
    return Records((AuditInfo(e.id, e.at, e.user, e.role, e.action, e.target, e.detail) for e in rows), of=AuditInfo)


def audit_summary(s: Session, *, user: str | None = None, action: str | None = None) -> dict:
    """{"total": events with these filters, "users": every user in the log, "actions": every action}."""
    total = s.scalar(_audit_query(select(func.count(AuditEvent.id)), user, action)) or 0
    users = sorted(s.scalars(select(AuditEvent.user).distinct()))
    actions = sorted(s.scalars(select(AuditEvent.action).distinct()))
    return {"total": total, "users": users, "actions": actions}
