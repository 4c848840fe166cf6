"""Reads of the record: sources, documents, sentences, full-text search, counts, ingest problems."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from narratrace.errors import NotFound
from narratrace.filters import Filters
from narratrace.records import DocumentInfo, Records, SearchHit, SentenceInfo, SentenceRecord, SourceInfo
from narratrace.store import db
from narratrace.store.models import Actor, Document, IngestEvent, Sentence, Source, StageState
from narratrace.store.queries import apply_filters, chunks, with_outlet


def sources(s: Session) -> Records:
    counts = dict(s.execute(select(Document.source_id, func.count()).group_by(Document.source_id)).all())
    out = Records(of=SourceInfo)
    for src in s.scalars(select(Source).order_by(Source.key)):
        locs: dict[str, list[str]] = {"domain": [], "feed": [], "channel": []}
        for loc in src.locators:
            locs.setdefault(loc.kind, []).append(loc.value)
        out.append(SourceInfo(src.key, src.name, src.actor.key if src.actor else None, src.audience,
                              src.country, src.language, src.kind, locs["domain"], locs["feed"],
                              locs["channel"], counts.get(src.id, 0)))
    return out


def names(s: Session) -> dict[str, dict[str, str]]:
    """Display names: ``{"actors": {key: name}, "sources": {key: name}}``."""
    return {"actors": dict(s.execute(select(Actor.key, Actor.name)).all()),
            "sources": dict(s.execute(select(Source.key, Source.name)).all())}


def actors(s: Session) -> dict[str, dict]:
    """``{key: {"name", "kind", "country", "description"}}`` for every registered actor."""
    return {key: {"name": name, "kind": kind, "country": country, "description": description}
            for key, name, kind, country, description in
            s.execute(select(Actor.key, Actor.name, Actor.kind, Actor.country, Actor.description).order_by(Actor.key))}


def _doc_query():
    return with_outlet(select(Document, Source.key, Actor.key, Source.audience))


def _info(doc: Document, source_key, actor_key, audience, with_text=False) -> DocumentInfo:
    return DocumentInfo(
        id=doc.id, title=doc.title, url=doc.url, canonical_url=doc.canonical_url, author=doc.author,
        published_at=doc.published_at, language=doc.language, source=source_key, actor=actor_key,
        audience=audience, origin=doc.origin, content_type=doc.content_type, duplicate_of=doc.duplicate_of_id,
        duplicate_kind=doc.duplicate_kind, duplicate_score=doc.duplicate_score, raw_hash=doc.raw_hash,
        clean_hash=doc.clean_hash, ingested_at=doc.ingested_at, chars=len(doc.text),
        text=doc.text if with_text else None, date_precision=doc.date_precision, date_source=doc.date_source)


def documents(s: Session, f: Filters, *, limit: int | None, offset: int, with_text: bool,
              include_duplicates: bool) -> Records:
    q = apply_filters(_doc_query(), f).order_by(Document.published_at.is_(None), Document.published_at, Document.id)
    if not include_duplicates:
        q = q.where(Document.duplicate_of_id.is_(None))
    q = q.offset(offset)
    if limit is not None:
        q = q.limit(limit)
    return Records((_info(*row, with_text=with_text) for row in s.execute(q)), of=DocumentInfo)


def _no_document(doc_id: int) -> NotFound:
    return NotFound(f"no document with id {doc_id} (list them with `narratrace docs list`)")


def document(s: Session, doc_id: int) -> DocumentInfo:
    row = s.execute(_doc_query().where(Document.id == doc_id)).first()
    if row is None:
        raise _no_document(doc_id)
    info = _info(*row, with_text=True)
    info.sentences = [SentenceInfo(se.id, se.idx, se.start, se.end, se.language, row[0].text[se.start:se.end])
                      for se in row[0].sentences]
    return info


def document_text(s: Session, doc_id: int) -> str:
    """Only a document's clean text (what span reads need), not its row and sentences."""
    text = s.scalar(select(Document.text).where(Document.id == doc_id))
    if text is None:
        raise _no_document(doc_id)
    return text


def sentences(s: Session, f: Filters, *, limit: int | None) -> Records:
    q = with_outlet(select(Sentence, Document.text, Document.id).join(Document, Sentence.document_id == Document.id))
    q = apply_filters(q, f).order_by(Document.id, Sentence.idx)
    if limit is not None:
        q = q.limit(limit)
    return Records((SentenceRecord(se.id, doc_id, se.idx, se.start, se.end, se.language, text[se.start:se.end])
                    for se, text, doc_id in s.execute(q)), of=SentenceRecord)


def sentence_spans(s: Session, ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """``{sentence id: (document id, start, end)}`` for the ids that exist."""
    out: dict[int, tuple[int, int, int]] = {}
    for part in chunks(sorted(set(ids))):
        out.update({sid: (did, a, b) for sid, did, a, b in s.execute(
            select(Sentence.id, Sentence.document_id, Sentence.start, Sentence.end).where(Sentence.id.in_(part)))})
    return out


def search(s: Session, query: str, f: Filters, *, limit: int) -> Records:
    backend = db.dialect_module(s.get_bind())
    fts = backend.fts_subquery(query)
    if fts is None:
        return Records(of=SearchHit)
    q = with_outlet(select(Document.id, fts.c.rank, Document.title, Document.url, Document.published_at,
                           Document.language, Source.key, Actor.key, Source.audience)
                    .join(fts, fts.c.id == Document.id))
    rows = s.execute(apply_filters(q, f).order_by(fts.c.rank, Document.id).limit(limit)).all()
    snips = backend.snippets(s.connection(), query, [r[0] for r in rows])
    return Records((SearchHit(r[0], r[1], snips.get(r[0], ""), *r[2:]) for r in rows), of=SearchHit)


def cleaning_totals(s: Session) -> dict[str, int]:
    """What cleaning removed, summed over every document (lines by rule, learned chrome, …)."""
    totals: dict[str, int] = defaultdict(int)
    for meta in s.scalars(select(Document.meta)):
        for k, v in ((meta or {}).get("clean") or {}).items():
            totals[k] += v
    return dict(totals)


def stats(s: Session, shown_path: str) -> dict:
    # The document counts in one pass and the table sizes in one statement: twelve round trips
    # through the ORM cost ~7 ms of a ~8 ms /api/stats on the demo workspace (cProfile).
    def n(cond):
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    (n_docs, exact, near, unattributed, undated, first, last, first_in) = s.execute(select(
        func.count(), n(Document.duplicate_kind == "exact"), n(Document.duplicate_kind == "near"),
        n(Document.source_id.is_(None)), n(Document.published_at.is_(None)), func.min(Document.published_at),
        func.max(Document.published_at), func.min(Document.ingested_at)).select_from(Document)).one()
    n_sentences, n_sources, n_actors = s.execute(select(
        select(func.count()).select_from(Sentence).scalar_subquery(),
        select(func.count()).select_from(Source).scalar_subquery(),
        select(func.count()).select_from(Actor).scalar_subquery())).one()
    langs = dict(s.execute(select(Document.language, func.count()).group_by(Document.language)
                           .order_by(func.count().desc())).all())
    sent_langs = dict(s.execute(select(Sentence.language, func.count()).group_by(Sentence.language)
                                .order_by(func.count().desc())).all())
    by_source = dict(s.execute(select(Source.key, func.count(Document.id))
                               .outerjoin(Document, Document.source_id == Source.id)
                               .group_by(Source.key).order_by(Source.key)).all())
    events = dict(s.execute(select(IngestEvent.status, func.count()).group_by(IngestEvent.status)).all())
    return {
        "workspace": shown_path,
        "documents": n_docs,
        "unique_documents": n_docs - exact - near,
        "exact_duplicates": exact,
        "near_duplicates": near,
        "sentences": n_sentences,
        "sources": n_sources,
        "actors": n_actors,
        "languages": {str(k): v for k, v in langs.items()},
        "sentence_languages": {str(k): v for k, v in sent_langs.items()},
        "documents_by_source": by_source,
        "unattributed_documents": unattributed,
        "published_first": first.isoformat() if first else None,
        "published_last": last.isoformat() if last else None,
        # counted, never silently left out of a range (issue 14): what has no date to place
        "undated_documents": undated,
        "first_ingested": first_in.isoformat() if first_in else None,
        "ingest_problems": events,
    }


def problems(s: Session, limit: int) -> list[dict]:
    rows = s.execute(select(IngestEvent).order_by(IngestEvent.id.desc()).limit(limit)).scalars()
    return [{"at": e.at.isoformat(), "input": e.origin, "status": e.status, "reason": e.reason} for e in rows]


def stage_states(s: Session) -> list[StageState]:
    """The last completed run of each pipeline stage."""
    return list(s.scalars(select(StageState).order_by(StageState.stage)))
