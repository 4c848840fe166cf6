"""The detect stages of the pipeline: ``contradictions``, ``discover`` (candidate narratives) and
``coordination`` (coordinated publication). The algorithms are pure functions in this folder
(contradictions.py, discovery.py, coordination.py); the coordination driver below reads their
input rows from the store and writes the groups back."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select

from narratrace.context import Context, stage
from narratrace.detect import coordination as co
from narratrace.detect.contradictions import find_contradictions
from narratrace.detect.discovery import MIN_DOCUMENTS, MIN_SOURCES, THRESHOLD, discover
from narratrace.ingest.dedup import from_bytes
from narratrace.store.models import CoordinationGroup, CoordinationMember, Document, DocumentSignature, Source


@stage("contradictions", requires=("sentence_vectors", "narrative_match"), writes=("contradiction",), version="2")
def contradictions(ctx: Context, *, actor: str | None = None) -> dict:
    """Pairs of one actor's own statements that cannot both hold: incompatible narratives asserted,
    a narrative asserted and denied, or an NLI contradiction between near-topic statements."""
    with ctx.progress.step("contradictions") as (_total, advance):
        return find_contradictions(ctx.sessions, ctx.vectors, ctx.nli, ctx.runner, actor=actor, progress=advance)


@stage("discover", requires=("sentence_vectors", "narrative_match"), writes=("candidate_narrative",), version="1")
def discover_narratives(ctx: Context, *, threshold: float = THRESHOLD, min_documents: int = MIN_DOCUMENTS,
                        min_sources: int = MIN_SOURCES) -> dict:
    """Cluster recurring claims no active narrative covers into candidate narratives (ids stay
    stable as data grows; the analyst promotes or dismisses them)."""
    with ctx.progress.step("discover narratives"):
        return discover(ctx.sessions, ctx.vectors, threshold=threshold, min_documents=min_documents,
                        min_sources=min_sources).as_dict()


# Translated copies use sentence vectors from the cache (embedding any missing: after ``embed`` none
# are), so the stage needs only the MinHash signatures ingest stored for its near-duplicate groups;
# ``--stages coordination`` alone does not embed the whole corpus first.
@stage("coordination", requires=("document_signatures",), writes=("coordination_group",),
       version="1")
def find_coordination(ctx: Context, *, window: float | str | None = None, threshold: float | None = None,
                      translations: bool = True, translation_window: float | None = None) -> dict:
    """Groups of near-identical (MinHash LSH) and, with ``translations``, translated (cross-lingual
    e5 vectors) documents that different outlets published within a window; replaces the stored
    groups. ``window``: seconds, "auto" (estimated from the data, as CooRnet does) or None (one
    hour). Documents without a source or a date cannot be placed and are counted, not grouped."""
    with ctx.progress.step("coordination"):
        return _coordination(ctx, window, threshold, translations, translation_window)


def _coordination(ctx: Context, window, threshold, translations: bool, translation_window) -> dict:
    with ctx.sessions() as s:
        rows = s.execute(select(Document.id, Source.key, Document.published_at, Document.language,
                                DocumentSignature.minhash)
                         .outerjoin(Source, Document.source_id == Source.id)
                         .outerjoin(DocumentSignature, DocumentSignature.document_id == Document.id)
                         .order_by(Document.id)).all()
    no_source = [r[0] for r in rows if r[1] is None]
    rows = [r for r in rows if r[1] is not None]
    items = [co.Item(r[0], r[1], _epoch(r[2]), signature=from_bytes(r[4]) if r[4] else None) for r in rows]
    near = co.near_duplicate_groups(items, threshold=threshold or co.NEAR_DUPLICATE, window=window)
    groups = list(near.groups)
    found = {"near_duplicate": len(near.groups), "translation": 0, "window_seconds": near.window,
             "undated": len(near.undated), "no_source": len(no_source), "unsigned": len(near.skipped)}
    if translations and rows:
        dated = [(r, it) for r, it in zip(rows, items) if it.published_at is not None]
        with ctx.sessions() as s:
            texts = dict(s.execute(select(Document.id, Document.text)
                                   .where(Document.id.in_([r[0] for r, _ in dated]))).all()) if dated else {}
        vecs = co.sentence_vectors([texts[r[0]] for r, _ in dated], _CachedEmbedder(ctx.vectors))
        kw = {"window": translation_window} if translation_window else {}
        tr = co.translation_groups([it for _, it in dated], vecs, [r[3] for r, _ in dated], **kw)
        groups += tr.groups
        found["translation"] = len(tr.groups)
    now = datetime.now(UTC).replace(tzinfo=None)
    with ctx.sessions.begin() as s:
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


class _CachedEmbedder:
    """The vector store's cache behind the Embedder interface the detect/ functions take."""

    def __init__(self, vs) -> None:
        self.vs, self.dim = vs, vs.embedder.dim

    def embed(self, texts, kind="passage"):
        return self.vs.embed(list(texts), kind=kind)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def _epoch(dt: datetime | None) -> float | None:
    return None if dt is None else dt.replace(tzinfo=UTC).timestamp()
