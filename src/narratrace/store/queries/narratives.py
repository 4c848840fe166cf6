"""Reads of narratives: the registry, matches, the rows behind prevalence and semantic search,
analyst reviews (and the one place a review's key is derived)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from narratrace.errors import InvalidInput, NotFound
from narratrace.filters import Filters
from narratrace.records import MatchInfo, NarrativeInfo, Records, ReviewInfo, SentenceHit
from narratrace.store.models import (
    Actor,
    Document,
    Narrative,
    NarrativeMatch,
    NarrativeStatement,
    Review,
    Sentence,
    Source,
)
from narratrace.store.queries import apply_filters, with_outlet

REVIEW_KINDS = ("match", "contradiction")
VERDICTS = ("confirmed", "rejected")
STANCES = ("asserts", "denies", "neutral")
# Prevalence groups documents by one of these (None: one group per narrative).
DIMENSIONS = {"source": Source.key, "actor": Actor.key, "audience": Source.audience,
              "language": Document.language, "none": None}

_HIT_COLUMNS = (Sentence.id, Sentence.document_id, Sentence.start, Sentence.end, Sentence.language, Document.text,
                Document.title, Document.url, Document.published_at, Source.key, Actor.key, Source.audience)


def _sentence_query():
    return with_outlet(select(*_HIT_COLUMNS).join(Document, Sentence.document_id == Document.id))


def narrative_id(s: Session, key: str) -> int:
    nid = s.scalar(select(Narrative.id).where(Narrative.key == key))
    if nid is None:
        raise NotFound(f"no narrative '{key}' (list them with `narratrace narratives list`)")
    return nid


def narratives(s: Session, *, include_dismissed: bool) -> Records:
    counts = {nid: (n, a, d) for nid, n, a, d in s.execute(
        select(NarrativeMatch.narrative_id, func.count(),
               func.sum(case((NarrativeMatch.stance == "asserts", 1), else_=0)),
               func.sum(case((NarrativeMatch.stance == "denies", 1), else_=0)))
        .group_by(NarrativeMatch.narrative_id))}
    q = select(Narrative).order_by(Narrative.key)
    if not include_dismissed:
        q = q.where(Narrative.status != "dismissed")
    out = Records(of=NarrativeInfo)
    for n in s.scalars(q):
        c = counts.get(n.id, (0, 0, 0))
        out.append(NarrativeInfo(n.key, n.name, n.description, n.status, n.origin,
                                 [st.text for st in n.statements if st.kind == "assertion"],
                                 [st.text for st in n.statements if st.kind == "counter"],
                                 list(n.entities or []), list(n.contradicts or []), list(n.disarm or []),
                                 c[0], c[1] or 0, c[2] or 0))
    return out


def sentence_hits(s: Session, scores: dict[int, float], f: Filters) -> list[SentenceHit]:
    """The sentences among ``scores`` (id → similarity) that pass the filters, as hits."""
    rows = s.execute(apply_filters(_sentence_query().where(Sentence.id.in_(list(scores))), f)).all()
    return [SentenceHit(r[0], r[1], round(scores[r[0]], 4), r[5][r[2]:r[3]], r[2], r[3], r[4], r[6], r[7], r[8],
                        r[9], r[10], r[11]) for r in rows]


def matches(s: Session, narrative: str | None, f: Filters, *, stance: str | None, limit: int | None) -> Records:
    rv = aliased(Review)
    q = (_sentence_query().add_columns(Narrative.key, NarrativeMatch, rv.verdict, rv.stance)
         .join(NarrativeMatch, NarrativeMatch.sentence_id == Sentence.id)
         .join(Narrative, NarrativeMatch.narrative_id == Narrative.id)
         .outerjoin(rv, and_(rv.kind == "match", rv.sentence_id == Sentence.id, rv.narrative_id == Narrative.id)))
    if narrative:
        q = q.where(Narrative.key == narrative)
    if stance:
        q = q.where(NarrativeMatch.stance == stance)
    q = apply_filters(q, f).order_by(Document.published_at.is_(None), Document.published_at, Sentence.id,
                                     Narrative.key)
    if limit:
        q = q.limit(limit)
    out = Records(of=MatchInfo)
    actor_keys = dict(s.execute(select(Actor.id, Actor.key)).all())
    for sid, did, a, b, lang, text, _title, url, pub, src, actor, aud, key, m, verdict, rstance in s.execute(q):
        out.append(MatchInfo(key, sid, did, text[a:b], a, b, m.stance, round(m.stance_score, 4),
                             round(m.similarity, 4), m.p_entail, m.p_contradict, pub, src, actor, aud, lang,
                             url, verdict, rstance, m.p_related, m.holder_kind or "outlet", m.holder,
                             actor_keys.get(m.holder_actor_id),
                             None if m.claim_start is None else a + m.claim_start,
                             None if m.claim_end is None else a + m.claim_end, m.writer_stance))
    return out


def prevalence_rows(s: Session, f: Filters, *, by: str, stance: str, narrative: str | None) -> list[tuple]:
    """(narrative key, document id, duplicate-group id, published_at or None, group value) per
    match that passes the filters; rejected matches left out, reviewed stances win. Undated
    documents are kept (prevalence counts them apart); a since/until filter leaves them out, as it
    cannot place them."""
    if by not in DIMENSIONS:
        raise InvalidInput(f"--by must be one of {', '.join(DIMENSIONS)}")
    rv = aliased(Review)
    dim = DIMENSIONS[by]
    effective = func.coalesce(rv.stance, NarrativeMatch.stance)
    q = with_outlet(select(Narrative.key, Document.id, func.coalesce(Document.duplicate_of_id, Document.id),
                           Document.published_at, dim if dim is not None else Narrative.key)
                    .join(NarrativeMatch, NarrativeMatch.narrative_id == Narrative.id)
                    .join(Sentence, NarrativeMatch.sentence_id == Sentence.id)
                    .join(Document, Sentence.document_id == Document.id))
    q = (q.outerjoin(rv, and_(rv.kind == "match", rv.sentence_id == Sentence.id, rv.narrative_id == Narrative.id))
         .where(func.coalesce(rv.verdict, "") != "rejected")
         # a reported claim ("state media claimed …") is not the reporting outlet's statement
         .where(NarrativeMatch.holder_kind != "reported"))
    if stance != "any":
        q = q.where(effective == stance)
    if narrative:
        q = q.where(Narrative.key == narrative)
    return [tuple(r) if dim is not None else (*r[:4], "all") for r in s.execute(apply_filters(q, f))]


def spread_rows(s: Session, narrative: str, f: Filters) -> list[dict]:
    """Sentences matched as asserting ``narrative`` (rejected matches left out), for its spread."""
    nid = narrative_id(s, narrative)
    rejected = select(Review.sentence_id).where(Review.kind == "match", Review.narrative_id == nid,
                                                Review.verdict == "rejected")
    q = with_outlet(select(Sentence.id, Sentence.document_id, Sentence.start, Sentence.end, Sentence.language,
                           Document.text, Document.published_at, Source.key, Source.audience)
                    .join(NarrativeMatch, NarrativeMatch.sentence_id == Sentence.id)
                    .join(Document, Sentence.document_id == Document.id))
    q = q.where(NarrativeMatch.narrative_id == nid, NarrativeMatch.stance == "asserts", Sentence.id.not_in(rejected),
                NarrativeMatch.holder_kind != "reported")  # who said it first: not who reported it
    return [{"sentence_id": r[0], "document_id": r[1], "text": r[5][r[2]:r[3]], "language": r[4],
             "published_at": r[6], "source": r[7], "audience": r[8]} for r in s.execute(apply_filters(q, f))]


# -- reviews -----------------------------------------------------------------------------------------

def review_key(s: Session, kind: str, sentence_id: int, *, narrative: str | None = None,
               other_sentence_id: int | None = None) -> tuple[str, int, int, int]:
    """What a review is about, as stored: (kind, sentence id, other sentence id or 0, narrative id
    or 0). A contradiction pair is stored in sorted id order, whichever way round it was given."""
    if kind not in REVIEW_KINDS:
        raise InvalidInput("review kind is 'match' or 'contradiction'")
    if s.get(Sentence, sentence_id) is None:
        raise NotFound(f"no sentence with id {sentence_id}")
    if kind == "match":
        if not narrative:
            raise InvalidInput("a match review names its narrative")
        try:
            return kind, sentence_id, 0, narrative_id(s, narrative)
        except NotFound:
            raise NotFound(f"unknown narrative '{narrative}' (see `narratrace narratives list`)") from None
    if not other_sentence_id or s.get(Sentence, other_sentence_id) is None:
        raise InvalidInput("a contradiction review names both sentence ids")
    a, b = sorted((sentence_id, other_sentence_id))
    return kind, a, b, 0


def save_review(s: Session, kind: str, sentence_id: int, verdict: str, *, narrative: str | None,
                other_sentence_id: int | None, stance: str | None, note: str | None,
                reviewer: str | None) -> ReviewInfo:
    if verdict not in VERDICTS:
        raise InvalidInput("verdict is 'confirmed' or 'rejected'")
    if stance not in (None, *STANCES):
        raise InvalidInput("stance is asserts, denies or neutral")
    kind, sid, other, nid = review_key(s, kind, sentence_id, narrative=narrative, other_sentence_id=other_sentence_id)
    r = s.scalar(select(Review).where(Review.kind == kind, Review.sentence_id == sid,
                                      Review.other_sentence_id == other, Review.narrative_id == nid))
    if r is None:
        r = Review(kind=kind, sentence_id=sid, other_sentence_id=other, narrative_id=nid)
        s.add(r)
    r.verdict, r.stance, r.note, r.reviewer = verdict, stance, note, reviewer
    r.at = datetime.now(UTC).replace(tzinfo=None)
    s.flush()
    return _review_info(r, narrative if kind == "match" else None)


def _review_info(r: Review, narrative: str | None) -> ReviewInfo:
    return ReviewInfo(r.id, r.kind, r.sentence_id, r.other_sentence_id or None, narrative, r.verdict, r.stance,
                      r.note, r.reviewer, r.at)


def reviews(s: Session) -> Records:
    rows = s.execute(select(Review, Narrative.key).outerjoin(Narrative, Review.narrative_id == Narrative.id)
                     .order_by(Review.at, Review.id))
    return Records((_review_info(r, key) for r, key in rows), of=ReviewInfo)


def match_verdicts(s: Session, narrative: str | None = None) -> list[tuple[int, int, bool]]:
    """(sentence id, narrative id, confirmed?) of every reviewed match (a corrected stance counts
    as confirmed: the sentence is about the narrative)."""
    q = (select(Review.sentence_id, Review.narrative_id, Review.verdict, Review.stance)
         .where(Review.kind == "match", Review.narrative_id.is_not(None)))
    if narrative:
        q = q.join(Narrative, Narrative.id == Review.narrative_id).where(Narrative.key == narrative)
    return [(sid, nid, verdict == "confirmed" or stance is not None) for sid, nid, verdict, stance in s.execute(q)]


def reviewed_pairs(s: Session) -> list[tuple[str, str, str]]:
    """Analyst reviews as NLI training pairs (premise, hypothesis, label)."""
    labels = {"asserts": "entailment", "denies": "contradiction", "neutral": "neutral"}
    out = []
    for r, st_text, match_stance, a, b, text in s.execute(
            select(Review, NarrativeStatement.text, NarrativeMatch.stance, Sentence.start, Sentence.end,
                   Document.text)
            .join(NarrativeMatch, and_(NarrativeMatch.sentence_id == Review.sentence_id,
                                       NarrativeMatch.narrative_id == Review.narrative_id))
            .join(NarrativeStatement, NarrativeStatement.id == NarrativeMatch.statement_id)
            .join(Sentence, Sentence.id == Review.sentence_id).join(Document, Document.id == Sentence.document_id)
            .where(Review.kind == "match").order_by(Review.id)):
        # corrected stance > confirmed model stance > rejected (the sentence does not take the
        # narrative's side: neutral towards its closest assertion)
        stance = r.stance or (match_stance if r.verdict == "confirmed" else "neutral")
        out.append((text[a:b], st_text, labels[stance]))
    sa, sb, da, db_ = aliased(Sentence), aliased(Sentence), aliased(Document), aliased(Document)
    for r, a0, a1, atext, b0, b1, btext in s.execute(
            select(Review, sa.start, sa.end, da.text, sb.start, sb.end, db_.text)
            .join(sa, sa.id == Review.sentence_id).join(da, da.id == sa.document_id)
            .join(sb, sb.id == Review.other_sentence_id).join(db_, db_.id == sb.document_id)
            .where(Review.kind == "contradiction").order_by(Review.id)):
        out.append((atext[a0:a1], btext[b0:b1], "contradiction" if r.verdict == "confirmed" else "neutral"))
    return out
