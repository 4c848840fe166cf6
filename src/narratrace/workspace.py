"""The Python API. The CLI, and later the REST API, are thin layers over this class.

    >>> from narratrace import Workspace
    >>> ws = Workspace("campaign.db")
    >>> ws.import_sources("sources.yaml")
    >>> ws.ingest(["articles/"]).summary()
    >>> ws.search("cult", audience="foreign").df()
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from narratrace.ingest.items import DEFAULT_MAX_BYTES, RawItem
from narratrace.ingest.pipeline import IngestReport, Ingestor, Progress
from narratrace.store import db
from narratrace.store.models import Actor, Document, IngestEvent, Sentence, Source
from narratrace.analysis import AnalysisMixin
from narratrace.provenance import ProvenanceMixin
from narratrace.records import Records, _Record
from narratrace.store.registry import apply_registry, load_registry

DEFAULT_WORKSPACE = "narratrace.db"


class WorkspaceError(RuntimeError):
    pass


def default_path() -> str:
    return os.environ.get("NARRATRACE_WORKSPACE") or DEFAULT_WORKSPACE


# -- plain result objects ------------------------------------------------------------------

@dataclass
class SourceInfo(_Record):
    key: str
    name: str
    actor: str | None
    audience: str | None
    country: str | None
    language: str | None
    kind: str | None
    domains: list[str]
    feeds: list[str]
    channels: list[str]
    documents: int


@dataclass
class SentenceInfo(_Record):
    id: int
    idx: int
    start: int
    end: int
    language: str | None
    text: str


@dataclass
class DocumentInfo(_Record):
    id: int
    title: str | None
    url: str | None
    canonical_url: str | None
    author: str | None
    published_at: datetime | None
    language: str | None
    source: str | None
    actor: str | None
    audience: str | None
    origin: str
    content_type: str
    duplicate_of: int | None
    duplicate_kind: str | None
    duplicate_score: float | None
    raw_hash: str
    clean_hash: str
    ingested_at: datetime
    chars: int
    text: str | None = None
    sentences: list[SentenceInfo] | None = None


@dataclass
class SearchHit(_Record):
    document_id: int
    rank: float
    snippet: str
    title: str | None
    url: str | None
    published_at: datetime | None
    language: str | None
    source: str | None
    actor: str | None
    audience: str | None


# -- the workspace -------------------------------------------------------------------------

RECORD_TYPES = ("documents", "sentences", "sources", "quotes", "speakers", "entities", "coordination",
                "narratives", "matches", "contradictions", "reviews")


class Workspace(AnalysisMixin, ProvenanceMixin):
    def __init__(self, path: str | os.PathLike | None = None, *, create: bool = True,
                 embedder: str | None = None) -> None:
        self.path = str(path or default_path())
        self.embedder_name = embedder
        url = db.store_url(self.path)
        if url.startswith("sqlite"):
            file = Path(url.removeprefix("sqlite:///"))
            if not file.exists():
                if not create:
                    raise WorkspaceError(f"no workspace at {file}: create one with `narratrace init --workspace {file}`"
                                         " or ingest into it")
                file.parent.mkdir(parents=True, exist_ok=True)
        self.engine = db.make_engine(url)
        db.upgrade(self.engine)
        self.sessions = db.session_factory(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- registry --------------------------------------------------------------------------

    def import_sources(self, path: str | os.PathLike) -> dict[str, int]:
        data = load_registry(Path(path))
        with self.sessions.begin() as s:
            return apply_registry(s, data)

    def sources(self) -> Records:
        with self.sessions() as s:
            counts = dict(s.execute(select(Document.source_id, func.count()).group_by(Document.source_id)).all())
            out = Records()
            for src in s.scalars(select(Source).order_by(Source.key)):
                locs = {"domain": [], "feed": [], "channel": []}
                for loc in src.locators:
                    locs.setdefault(loc.kind, []).append(loc.value)
                out.append(SourceInfo(src.key, src.name, src.actor.key if src.actor else None, src.audience,
                                      src.country, src.language, src.kind, locs["domain"], locs["feed"],
                                      locs["channel"], counts.get(src.id, 0)))
            return out

    # -- ingest ----------------------------------------------------------------------------

    def ingest(self, inputs: Sequence[str | os.PathLike], *, source: str | None = None,
               mapping: dict[str, str] | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
               recursive: bool = True, source_from_folder: bool = False, progress: Progress | None = None,
               on_files: Callable[[int], None] | None = None, workers: int | None = None) -> IngestReport:
        """Ingest local files, directories and globs.

        ``source_from_folder``: analysts often keep one folder per outlet (``corpus/<key>/…``);
        a file under such a folder is attributed to that source when ``<key>`` is registered,
        which is how transcripts and posts without a URL get their source. A page's own URL
        still decides where no folder key applies.
        """
        from narratrace.ingest.files import discover, read_path

        files, problems = discover([str(x) for x in inputs], recursive=recursive)
        if on_files:
            on_files(len(files))
        roots = [Path(x).resolve() for x in inputs if Path(x).is_dir()] if source_from_folder else []
        keys = {src.key for src in self.sources()} if roots else set()

        def folder_key(f: Path) -> str | None:
            for root in roots:
                try:
                    parts = f.resolve().relative_to(root).parts
                except ValueError:
                    continue
                if len(parts) > 1 and parts[0] in keys:
                    return parts[0]
            return None

        def stream():
            yield from problems
            for f in files:
                key = folder_key(f) if roots else None
                for item in read_path(f, mapping=mapping, max_bytes=max_bytes):
                    if key and isinstance(item, RawItem) and not item.source:
                        item.source = key
                    yield item

        return self.ingest_items(stream(), source=source, progress=progress, workers=workers)

    def ingest_urls(self, urls: Sequence[str], *, mode: str = "page", source: str | None = None,
                    allow_private: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
                    progress: Progress | None = None, fetcher=None) -> IngestReport:
        """Fetch pages, feeds (mode="feed") or sitemaps (mode="sitemap"); only when asked."""
        from narratrace.ingest.web import Fetcher, iter_urls

        fetcher = fetcher or Fetcher(allow_private=allow_private, max_bytes=max_bytes)
        return self.ingest_items(iter_urls(fetcher, list(urls), mode), source=source, progress=progress)

    def ingest_items(self, items: Iterable[RawItem], *, source: str | None = None,
                     progress: Progress | None = None, workers: int | None = None) -> IngestReport:
        """Ingest already-read items (the seam for custom readers). workers=1 disables processes."""
        return Ingestor(self.sessions, source=source, workers=workers).run(items, progress=progress)

    # -- reading ---------------------------------------------------------------------------

    def _doc_query(self):
        return (select(Document, Source.key, Actor.key, Source.audience)
                .outerjoin(Source, Document.source_id == Source.id)
                .outerjoin(Actor, Source.actor_id == Actor.id))

    @staticmethod
    def _filter(q, *, source=None, actor=None, audience=None, language=None, since=None, until=None):
        if source:
            q = q.where(Source.key.in_([source] if isinstance(source, str) else list(source)))
        if actor:
            q = q.where(Actor.key == actor)
        if audience:
            q = q.where(Source.audience == audience)
        if language:
            q = q.where(Document.language == language)
        if since:
            q = q.where(Document.published_at >= since)
        if until:
            q = q.where(Document.published_at <= until)
        return q

    @staticmethod
    def _info(doc: Document, source_key, actor_key, audience, with_text=False) -> DocumentInfo:
        return DocumentInfo(
            id=doc.id, title=doc.title, url=doc.url, canonical_url=doc.canonical_url, author=doc.author,
            published_at=doc.published_at, language=doc.language, source=source_key, actor=actor_key,
            audience=audience, origin=doc.origin, content_type=doc.content_type, duplicate_of=doc.duplicate_of_id,
            duplicate_kind=doc.duplicate_kind, duplicate_score=doc.duplicate_score, raw_hash=doc.raw_hash,
            clean_hash=doc.clean_hash, ingested_at=doc.ingested_at, chars=len(doc.text),
            text=doc.text if with_text else None)

    def documents(self, *, limit: int | None = None, offset: int = 0, with_text: bool = False,
                  include_duplicates: bool = True, **filters) -> Records:
        with self.sessions() as s:
            q = self._filter(self._doc_query(), **filters).order_by(Document.published_at.is_(None),
                                                                     Document.published_at, Document.id)
            if not include_duplicates:
                q = q.where(Document.duplicate_of_id.is_(None))
            q = q.offset(offset)
            if limit is not None:
                q = q.limit(limit)
            return Records(self._info(*row, with_text=with_text) for row in s.execute(q))

    def document(self, doc_id: int) -> DocumentInfo:
        with self.sessions() as s:
            row = s.execute(self._doc_query().where(Document.id == doc_id)).first()
            if row is None:
                raise WorkspaceError(f"no document with id {doc_id} (list them with `narratrace docs list`)")
            info = self._info(*row, with_text=True)
            info.sentences = [SentenceInfo(se.id, se.idx, se.start, se.end, se.language, row[0].text[se.start:se.end])
                              for se in row[0].sentences]
            return info

    def sentences(self, *, limit: int | None = None, **filters) -> Records:
        with self.sessions() as s:
            q = (select(Sentence, Document.text, Document.id)
                 .join(Document, Sentence.document_id == Document.id)
                 .outerjoin(Source, Document.source_id == Source.id)
                 .outerjoin(Actor, Source.actor_id == Actor.id))
            q = self._filter(q, **filters).order_by(Document.id, Sentence.idx)
            if limit is not None:
                q = q.limit(limit)
            out = Records()
            for se, text, doc_id in s.execute(q):
                out.append(SentenceRecord(se.id, doc_id, se.idx, se.start, se.end, se.language, text[se.start:se.end]))
            return out

    def search(self, query: str, *, limit: int = 20, **filters) -> Records:
        """Full-text search over clean text and titles, ranked (BM25 on SQLite, ts_rank_cd on
        PostgreSQL), with filters."""
        backend = db.dialect_module(self.engine)
        fts = backend.fts_subquery(query)
        if fts is None:
            return Records()
        with self.sessions() as s:
            q = (select(Document.id, fts.c.rank, Document.title, Document.url, Document.published_at,
                        Document.language, Source.key, Actor.key, Source.audience)
                 .join(fts, fts.c.id == Document.id)
                 .outerjoin(Source, Document.source_id == Source.id)
                 .outerjoin(Actor, Source.actor_id == Actor.id))
            rows = s.execute(self._filter(q, **filters).order_by(fts.c.rank, Document.id).limit(limit)).all()
            snips = backend.snippets(s.connection(), query, [r[0] for r in rows])
            return Records(SearchHit(r[0], r[1], snips.get(r[0], ""), *r[2:]) for r in rows)

    def stats(self) -> dict:
        with self.sessions() as s:
            n_docs = s.scalar(select(func.count()).select_from(Document))
            dup = dict(s.execute(select(Document.duplicate_kind, func.count())
                                 .where(Document.duplicate_kind.is_not(None))
                                 .group_by(Document.duplicate_kind)).all())
            langs = dict(s.execute(select(Document.language, func.count()).group_by(Document.language)
                                   .order_by(func.count().desc())).all())
            sent_langs = dict(s.execute(select(Sentence.language, func.count()).group_by(Sentence.language)
                                        .order_by(func.count().desc())).all())
            src = aliased(Source)
            by_source = dict(s.execute(select(src.key, func.count(Document.id))
                                       .outerjoin(Document, Document.source_id == src.id)
                                       .group_by(src.key).order_by(src.key)).all())
            unattributed = s.scalar(select(func.count()).select_from(Document).where(Document.source_id.is_(None)))
            first, last = s.execute(select(func.min(Document.published_at), func.max(Document.published_at))).one()
            events = dict(s.execute(select(IngestEvent.status, func.count()).group_by(IngestEvent.status)).all())
            return {
                "workspace": db.redact(self.path),
                "documents": n_docs,
                "unique_documents": n_docs - sum(dup.values()),
                "exact_duplicates": dup.get("exact", 0),
                "near_duplicates": dup.get("near", 0),
                "sentences": s.scalar(select(func.count()).select_from(Sentence)),
                "sources": s.scalar(select(func.count()).select_from(Source)),
                "actors": s.scalar(select(func.count()).select_from(Actor)),
                "languages": {str(k): v for k, v in langs.items()},
                "sentence_languages": {str(k): v for k, v in sent_langs.items()},
                "documents_by_source": by_source,
                "unattributed_documents": unattributed,
                "published_first": first.isoformat() if first else None,
                "published_last": last.isoformat() if last else None,
                "ingest_problems": events,
            }

    def problems(self, limit: int = 100) -> list[dict]:
        with self.sessions() as s:
            rows = s.execute(select(IngestEvent).order_by(IngestEvent.id.desc()).limit(limit)).scalars()
            return [{"at": e.at.isoformat(), "input": e.origin, "status": e.status, "reason": e.reason} for e in rows]

    def reviews(self) -> list[dict]:
        """Every analyst review with what it judged (sentence ids, narrative key), who and when."""
        from narratrace.store.models import Narrative, Review

        with self.sessions() as s:
            rows = s.execute(select(Review, Narrative.key).outerjoin(Narrative, Review.narrative_id == Narrative.id)
                             .order_by(Review.at, Review.id))
            return [{"id": r.id, "kind": r.kind, "sentence_id": r.sentence_id,
                     "other_sentence_id": r.other_sentence_id or None, "narrative": key, "verdict": r.verdict,
                     "stance": r.stance, "note": r.note, "reviewer": r.reviewer, "at": r.at.isoformat()}
                    for r, key in rows]

    def export(self, kind: str, fmt: str, output: str, **filters) -> int:
        from narratrace.report.export import export_records

        if kind == "documents":
            records = self.documents(with_text=True, **filters).dicts()
        elif kind == "sentences":
            records = self.sentences(**filters).dicts()
        elif kind == "sources":
            records = self.sources().dicts()
        elif kind == "quotes":
            self.extract_quotes()
            records = self.quotes(**filters).dicts()
        elif kind == "speakers":
            self.extract_quotes()
            records = self.speakers(**filters).dicts()
        elif kind == "entities":
            records = self.entities().dicts()
        elif kind == "coordination":
            records = self.coordination().dicts()
        elif kind == "narratives":
            records = self.narratives(include_dismissed=True).dicts()
        elif kind == "matches":
            records = self.matches(**filters).dicts()
        elif kind == "contradictions":
            records = self.contradictions().dicts()
        elif kind == "reviews":
            records = self.reviews()
        else:
            raise WorkspaceError(f"unknown record type '{kind}' ({', '.join(RECORD_TYPES)})")
        return export_records(records, fmt, output)


@dataclass
class SentenceRecord(_Record):
    id: int
    document_id: int
    idx: int
    start: int
    end: int
    language: str | None
    text: str
