"""Reads of contradictions: the stored pairs with both sides' documents, spans and reviews."""

from __future__ import annotations

from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import Session, aliased

from narratrace.records import ContradictionInfo, Records
from narratrace.store.models import Actor, Contradiction, Document, Narrative, Review, Sentence, Source


def contradictions(s: Session, *, actor: str | None, cross_audience: bool | None, limit: int | None,
                   top: int | None = None, review: str | None = None) -> Records:
    """Stored contradictions, cross-audience first then by score, each side with its document,
    span, outlet and date, and the analyst's review of the pair. ``top``: at most this many per
    actor (the head of each actor's list). ``review``: "unreviewed" (no verdict yet), "hide-rejected"
    (everything but rejected), or a verdict ("confirmed", "rejected")."""
    sa, sb = aliased(Sentence), aliased(Sentence)
    da, db_ = aliased(Document), aliased(Document)
    ra, rb = aliased(Source), aliased(Source)
    na, nb = aliased(Narrative), aliased(Narrative)
    rv = aliased(Review)
    a_lt_b = Contradiction.sentence_a_id < Contradiction.sentence_b_id
    q = (select(Contradiction, Actor.key, na.key, nb.key, sa.start, sa.end, sa.language, da.text, da.published_at,
                da.url, da.language, ra.key, ra.audience, sb.start, sb.end, sb.language, db_.text, db_.published_at,
                db_.url, db_.language, rb.key, rb.audience, rv.verdict, da.id, db_.id)
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
    if actor:
        q = q.where(Actor.key == actor)
    if cross_audience is not None:
        q = q.where(Contradiction.cross_audience.is_(cross_audience))
    if review == "unreviewed":
        q = q.where(rv.verdict.is_(None))
    elif review == "hide-rejected":
        q = q.where(or_(rv.verdict.is_(None), rv.verdict != "rejected"))
    elif review:
        q = q.where(rv.verdict == review)
    q = q.order_by(Contradiction.cross_audience.desc(), Contradiction.score.desc(), Contradiction.id)
    if limit and not top:
        q = q.limit(limit)
    out = Records(of=ContradictionInfo)
    per_actor: dict = {}
    for row in s.execute(q):
        if top:
            n = per_actor[row[1]] = per_actor.get(row[1], 0) + 1
            if n > top:
                continue
            if limit and len(out) >= limit:
                break
        (c, akey, nak, nbk, a0, a1, alang, atext, apub, aurl, adlang, asrc, aaud,
         b0, b1, blang, btext, bpub, burl, bdlang, bsrc, baud, verdict, adoc, bdoc) = row
        out.append(ContradictionInfo(
            c.id, akey, c.kind, round(c.score, 4), c.cross_audience, c.cross_language, c.p_contradict,
            c.similarity, nak, nbk, c.sentence_a_id, adoc, a0, a1, atext[a0:a1], apub, asrc, aaud, alang or adlang,
            aurl, c.sentence_b_id, bdoc, b0, b1, btext[b0:b1], bpub, bsrc, baud, blang or bdlang, burl, verdict,
            c.folded or 0))
    return out
