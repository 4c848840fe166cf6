"""Reads of contradictions: the stored pairs with both sides' documents, spans and reviews."""

from __future__ import annotations

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from narratrace.filters import Filters
from narratrace.records import ContradictionInfo, Records
from narratrace.store.models import Actor, Contradiction, Document, Narrative, Review, Sentence, Source
from narratrace.store.queries.narratives import review_filter

# Built once: an alias memoises how columns adapt to it, and rebuilding nine of them per call cost
# more than running the query (~13 of 23 ms per listing on the demo workspace, cProfile).
_ALIASES = (aliased(Sentence), aliased(Sentence), aliased(Document), aliased(Document), aliased(Source),
            aliased(Source), aliased(Narrative), aliased(Narrative), aliased(Review))


def _query(*, actor: str | None, cross_audience: bool | None, review: str | None, narrative: str | None = None,
           filters: Filters | None = None, min_score: float | None = None):
    """The select behind ``contradictions`` and ``count_contradictions``, and its review alias.

    A pair passes an outlet, audience, language or date filter when either side does: the
    point of a contradiction is that its two sides differ, so "the pairs that involve outlet X
    (or Persian, or March)" is the question a filter asks."""
    sa, sb, da, db_, ra, rb, na, nb, rv = _ALIASES
    a_lt_b = Contradiction.sentence_a_id < Contradiction.sentence_b_id
    # each side's sentence cut in SQL: reading both documents' whole text per pair only to slice
    # a sentence out of it made the listing cost the documents' size
    ta = func.substr(da.text, sa.start + 1, sa.end - sa.start)
    tb = func.substr(db_.text, sb.start + 1, sb.end - sb.start)
    c = Contradiction  # columns, not the entity: ORM instances cost more than the query (py-spy)
    q = (select(c.id, c.kind, c.score, c.cross_audience, c.cross_language, c.p_contradict, c.similarity,
                c.sentence_a_id, c.sentence_b_id, c.folded, Actor.key, na.key, nb.key,
                sa.start, sa.end, sa.language, ta, da.published_at, da.url, da.language, ra.key, ra.audience,
                sb.start, sb.end, sb.language, tb, db_.published_at, db_.url, db_.language, rb.key, rb.audience,
                rv.verdict, da.id, db_.id)
         .outerjoin(Actor, Contradiction.actor_id == Actor.id)
         .join(sa, Contradiction.sentence_a_id == sa.id).join(da, sa.document_id == da.id)
         .outerjoin(ra, da.source_id == ra.id)
         .join(sb, Contradiction.sentence_b_id == sb.id).join(db_, sb.document_id == db_.id)
         .outerjoin(rb, db_.source_id == rb.id)
         .outerjoin(na, Contradiction.narrative_a_id == na.id).outerjoin(nb, Contradiction.narrative_b_id == nb.id)
         # a review stores a pair in sorted id order; the pair may be listed either way round
         # (CASE, not min(a, b): portable to PostgreSQL, whose two-argument form is LEAST)
         .outerjoin(rv, and_(rv.kind == "contradiction", rv.sentence_id == case((a_lt_b, Contradiction.sentence_a_id),
                                                                             else_=Contradiction.sentence_b_id),
                             rv.other_sentence_id == case((a_lt_b, Contradiction.sentence_b_id),
                                                          else_=Contradiction.sentence_a_id))))
    f = filters or Filters()
    actor = actor or f.actor
    if actor:
        q = q.where(Actor.key == actor)
    if cross_audience is not None:
        q = q.where(Contradiction.cross_audience.is_(cross_audience))
    if narrative:
        q = q.where(or_(na.key == narrative, nb.key == narrative))
    if min_score is not None:
        q = q.where(Contradiction.score >= min_score)
    if f.source:
        q = q.where(or_(ra.key.in_(list(f.source)), rb.key.in_(list(f.source))))
    if f.audience:
        q = q.where(or_(ra.audience == f.audience, rb.audience == f.audience))
    if f.language:
        q = q.where(or_(func.coalesce(sa.language, da.language) == f.language,
                        func.coalesce(sb.language, db_.language) == f.language))
    if f.since is not None or f.until is not None:
        def within(pub):
            cond = [pub.is_not(None)]
            if f.since is not None:
                cond.append(pub >= f.since_utc)
            if f.until is not None:
                cond.append(pub <= f.until_utc)
            return and_(*cond)
        q = q.where(or_(within(da.published_at), within(db_.published_at)))
    return review_filter(q, rv.verdict, review), rv


def count_contradictions(s: Session, **kw) -> int:
    """How many pairs ``contradictions`` would list with these filters and no limit (``top`` aside)."""
    q, _ = _query(**kw)
    return s.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0


def contradictions(s: Session, *, actor: str | None, cross_audience: bool | None, limit: int | None,
                   top: int | None = None, review: str | None = None, narrative: str | None = None,
                   filters: Filters | None = None, min_score: float | None = None, offset: int = 0,
                   queue: bool = False) -> Records:
    """Stored contradictions, cross-audience first then by score (``queue``: unreviewed pairs
    before reviewed ones, then that order), each side with its document, span, outlet and date,
    and the analyst's review of the pair. ``top``: at most this many per actor (the head of each
    actor's list). ``review``: "unreviewed" (no verdict yet), "hide-rejected" (everything but
    rejected), or a verdict ("confirmed", "rejected"). ``narrative``: either side matched to it;
    ``filters``: either side passes (``_query``); ``min_score``: score at least this."""
    q, rv = _query(actor=actor, cross_audience=cross_audience, review=review, narrative=narrative, filters=filters,
                   min_score=min_score)
    order = (Contradiction.cross_audience.desc(), Contradiction.score.desc(), Contradiction.id)
    q = q.order_by(rv.verdict.is_not(None), *order) if queue else q.order_by(*order)
    if limit and not top:
        q = q.limit(limit)
    if offset and not top:
        q = q.offset(offset)
    out = Records(of=ContradictionInfo)
    per_actor: dict = {}
    for row in s.execute(q):
        (cid, kind, score, cross_aud, cross_lang, p_contra, sim, sid_a, sid_b, folded, akey, nak, nbk, a0, a1, alang,
         atext, apub, aurl, adlang, asrc, aaud, b0, b1, blang, btext, bpub, burl, bdlang, bsrc, baud, verdict, adoc,
         bdoc) = row
        if top:
            n = per_actor[akey] = per_actor.get(akey, 0) + 1
            if n > top:
                continue
            if limit and len(out) >= limit:
                break
        out.append(ContradictionInfo(
            cid, akey, kind, round(score, 4), cross_aud, cross_lang, p_contra, sim, nak, nbk, sid_a, adoc, a0, a1,
            atext, apub, asrc, aaud, alang or adlang, aurl, sid_b, bdoc, b0, b1, btext, bpub, bsrc, baud,
            blang or bdlang, burl, verdict, folded or 0))
    return out
