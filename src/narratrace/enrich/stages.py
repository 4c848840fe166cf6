"""The enrich stage of the pipeline: ``quotes`` — named mentions, quotes and their speakers for
every document not yet enriched by this version of the rules (enrich/annotate.py does one
document; this driver reads and writes the store, a transaction per batch)."""

from __future__ import annotations

from sqlalchemy import delete, select

from narratrace.context import Context, stage
from narratrace.enrich.annotate import VERSION, annotate, sentence_of
from narratrace.enrich.entities import Gazetteer
from narratrace.enrich.quotes import english_pipeline
from narratrace.ingest import deadline
from narratrace.store.models import Document, EnrichState, Entity, Mention, Quote

BATCH = 64  # documents per transaction: a crash loses at most one batch's work


def _name(doc: Document) -> str:
    """How the analyst finds a document again: its title and its URL (else where it came from)."""
    return ", ".join(x[:200] for x in (doc.title, doc.url or doc.origin) if x) or "untitled"


def _pipeline(language: str):
    """The spaCy pipeline for a language that has one (English), else None: rules only."""
    return english_pipeline() if language == "en" else None


# The per-document version (enrich/annotate.py VERSION) decides what is redone: documents
# enriched by an older version are done again by the next run, so the stage's version is that one.
@stage("quotes", requires=("sentences", "entities"), writes=("quotes", "mentions"), version=VERSION,
       incremental=True)
def extract_quotes(ctx: Context, *, redo: bool = False) -> dict:
    """Mentions, quotes and speakers for every document not yet enriched by this version of the
    rules (incremental and resumable: one transaction per batch of documents). ``redo`` does every
    document again (after changing the aliases of entities already in stored quotes). A document
    that runs past its time budget (ingest/deadline.py: NARRATRACE_DOCUMENT_SECONDS plus 600 s per
    MB) is left without quotes and named in ``overruns``; the run goes on."""
    with ctx.sessions.begin() as s:
        if redo or ctx.redo:
            s.execute(delete(EnrichState).where(EnrichState.stage == "quotes"))
        gazetteer = Gazetteer.load(s)
        entity_keys = dict(s.execute(select(Entity.id, Entity.key)).all())
        done = select(EnrichState.document_id).where(EnrichState.stage == "quotes", EnrichState.version == VERSION)
        todo = list(s.scalars(select(Document.id).where(Document.id.not_in(done)).order_by(Document.id)))
    # overruns: documents left without quotes because they ran past their time budget (named, one line each)
    counts = {"documents": 0, "quotes": 0, "attributed": 0, "mentions": 0, "overruns": []}
    nlp_cache: dict[str, object] = {}

    def nlp_for(lang: str):
        if lang not in nlp_cache:
            nlp_cache[lang] = _pipeline(lang)
        return nlp_cache[lang]

    with ctx.progress.step("quotes and speakers") as (on_total, advance):
        on_total(len(todo))
        for lo in range(0, len(todo), BATCH):
            batch = todo[lo:lo + BATCH]
            with ctx.sessions.begin() as s:
                _enrich_batch(s, batch, gazetteer, entity_keys, nlp_for, counts)
            advance(len(batch))
    return counts


def _enrich_batch(s, batch: list[int], gazetteer, entity_keys: dict, nlp_for, counts: dict) -> None:
    s.execute(delete(Quote).where(Quote.document_id.in_(batch)))
    s.execute(delete(Mention).where(Mention.document_id.in_(batch)))
    s.execute(delete(EnrichState).where(EnrichState.document_id.in_(batch), EnrichState.stage == "quotes"))
    for doc in s.scalars(select(Document).where(Document.id.in_(batch))):
        sents = [(se.start, se.end, se.language) for se in doc.sentences]
        size = len(doc.text.encode("utf-8"))
        try:
            ann = deadline.call_with_deadline(
                lambda: annotate(doc.text, sents, doc.language, gazetteer, entity_keys, nlp_for),
                deadline.budget(size, deadline.QUOTES_SECONDS_PER_MB), what="quote extraction",
                per_mb=deadline.QUOTES_SECONDS_PER_MB)
        except deadline.Overrun as exc:
            # Recorded as done (this version), so the next analyze does not stall on it again;
            # `narratrace quotes --redo` (or a larger NARRATRACE_DOCUMENT_SECONDS) tries it anew.
            counts["overruns"].append(f"document {doc.id} ({_name(doc)}): {exc}")
            s.add(EnrichState(document_id=doc.id, stage="quotes", version=VERSION))
            continue
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
                        confidence=q.confidence, carrier=(q.carrier or None) and q.carrier[:256],
                        carrier_start=q.carrier_start, carrier_end=q.carrier_end))
            counts["attributed"] += key is not None
        counts["quotes"] += len(ann.quotes)
        counts["mentions"] += len(ann.mentions)
        s.add(EnrichState(document_id=doc.id, stage="quotes", version=VERSION))
        counts["documents"] += 1
