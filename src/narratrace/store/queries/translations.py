"""Analyst translations: set and list renderings of stored sentences and quotes.

A translation is keyed by the span it renders (document, start, end) and its language, not by a
quote's or a finding's row id: the analysis stages replace quotes, matches and contradictions on
every re-run, never sentences, so a translation outlives them (as a review does).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from narratrace.errors import InvalidInput, NotFound, TooLarge
from narratrace.records import Records, TranslationInfo
from narratrace.store.models import (
    Document,
    Narrative,
    NarrativeMatch,
    NarrativeStatement,
    Quote,
    Review,
    Sentence,
    Translation,
)

# Longest accepted rendering. Sentences are capped by the segmenter's split of over-long lines; an
# English rendering of a Persian sentence runs ~1.1–1.4× its length (campaign-dev's longest stored
# sentence: ~1,400 characters), so 4,000 leaves room for any real sentence or quote and refuses
# a pasted document.
MAX_TRANSLATION_CHARS = 4_000
# A translator's note ("idiom: literally …"): a few lines, not an essay.
MAX_NOTE_CHARS = 1_000
LANGUAGE_MAX = 16


def _check(text: str, note: str | None, language: str) -> tuple[str, str | None, str]:
    text = (text or "").strip()
    if not text:
        raise InvalidInput("a translation needs its text (an empty one is refused)")
    if len(text) > MAX_TRANSLATION_CHARS:
        raise TooLarge(f"translation is {len(text):,} characters; the limit is {MAX_TRANSLATION_CHARS:,} "
                       "(translate one sentence or quote at a time)")
    note = (note or "").strip() or None
    if note and len(note) > MAX_NOTE_CHARS:
        raise TooLarge(f"translator's note is {len(note):,} characters; the limit is {MAX_NOTE_CHARS:,}")
    language = (language or "").strip().lower()
    if not language or len(language) > LANGUAGE_MAX or not language.replace("-", "").isalnum():
        raise InvalidInput(f"language must be a short code such as 'en', not {language[:40]!r}")
    return text, note, language


def _span(s: Session, sentence_id: int | None, quote_id: int | None) -> tuple[int, int, int, int]:
    """(sentence id, document id, start, end) of what is translated: a sentence, or a quote's span
    (filed under the sentence where the quote starts)."""
    if (sentence_id is None) == (quote_id is None):
        raise InvalidInput("translate either a sentence id or a quote id")
    if quote_id is not None:
        q = s.get(Quote, quote_id)
        if q is None:
            raise NotFound(f"no quote with id {quote_id} (list them with `narratrace quotes`)")
        sent = s.scalar(select(Sentence).where(Sentence.document_id == q.document_id, Sentence.start <= q.start)
                        .order_by(Sentence.start.desc()).limit(1))
        if sent is None:
            raise NotFound(f"quote {quote_id} lies in no stored sentence")
        return sent.id, q.document_id, q.start, q.end
    sent = s.get(Sentence, sentence_id)
    if sent is None:
        raise NotFound(f"no sentence with id {sentence_id} (ids are in `narratrace narratives matches` "
                       "and `narratrace contradictions`)")
    return sent.id, sent.document_id, sent.start, sent.end


def save_translation(s: Session, text: str, *, sentence_id: int | None, quote_id: int | None,
                     language: str, note: str | None, translator: str | None) -> TranslationInfo:
    text, note, language = _check(text, note, language)
    sid, doc_id, start, end = _span(s, sentence_id, quote_id)
    t = s.scalar(select(Translation).where(Translation.document_id == doc_id, Translation.start == start,
                                           Translation.end == end, Translation.language == language))
    if t is None:
        t = Translation(sentence_id=sid, document_id=doc_id, start=start, end=end, language=language)
        s.add(t)
    t.text, t.note, t.translator = text, note, translator
    t.at = datetime.now(UTC).replace(tzinfo=None)
    s.flush()
    return _info(t, s.get(Document, doc_id).text)


def _info(t: Translation, doc_text: str) -> TranslationInfo:
    return TranslationInfo(t.id, t.sentence_id, t.document_id, t.start, t.end, t.language, t.text,
                           doc_text[t.start:t.end], t.note, t.translator, t.at)


def translations(s: Session, *, document_ids=None, language: str | None = None) -> Records:
    q = select(Translation, Document.text).join(Document, Document.id == Translation.document_id)
    if document_ids is not None:
        q = q.where(Translation.document_id.in_(list(document_ids)))
    if language:
        q = q.where(Translation.language == language)
    rows = s.execute(q.order_by(Translation.document_id, Translation.start, Translation.id))
    return Records((_info(t, text) for t, text in rows), of=TranslationInfo)


def statements_for(s: Session, sentence_ids) -> list[tuple[int, str, str, str | None, str | None, list[tuple[str, str]]]]:
    """Per (sentence, narrative) match: (sentence id, narrative key, effective stance, the matched
    statement's text, its kind, and every statement of the narrative as (kind, text)), for glosses."""
    ids = sorted(set(sentence_ids))
    if not ids:
        return []
    rv = aliased(Review)
    rows = s.execute(
        select(NarrativeMatch.sentence_id, Narrative.id, Narrative.key, func.coalesce(rv.stance, NarrativeMatch.stance),
               NarrativeStatement.text, NarrativeStatement.kind)
        .join(Narrative, Narrative.id == NarrativeMatch.narrative_id)
        .outerjoin(NarrativeStatement, NarrativeStatement.id == NarrativeMatch.statement_id)
        .outerjoin(rv, and_(rv.kind == "match", rv.sentence_id == NarrativeMatch.sentence_id,
                            rv.narrative_id == NarrativeMatch.narrative_id))
        .where(NarrativeMatch.sentence_id.in_(ids), func.coalesce(rv.verdict, "") != "rejected")
        .order_by(NarrativeMatch.sentence_id, Narrative.key)).all()
    nids = {r[1] for r in rows}
    by_narrative: dict[int, list[tuple[str, str]]] = {n: [] for n in nids}
    if nids:
        for nid, kind, text in s.execute(select(NarrativeStatement.narrative_id, NarrativeStatement.kind,
                                                NarrativeStatement.text)
                                         .where(NarrativeStatement.narrative_id.in_(nids))
                                         .order_by(NarrativeStatement.id)):
            by_narrative[nid].append((kind, text))
    return [(sid, key, stance, text, kind, by_narrative[nid]) for sid, nid, key, stance, text, kind in rows]
