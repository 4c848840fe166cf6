"""Reads of narratives: the registry, matches, the rows behind prevalence and semantic search,
analyst reviews (and the one place a review's key is derived)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased, selectinload

from narratrace.errors import InvalidInput, NotFound, TooLarge
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
# A review note is the analyst's reason ("same wording, different event"): a paragraph, not a
# report (an A4 page of prose is ~3,000 characters). Tags are labels for sorting the queue
# ("needs-translation", "op-2026-03"): a few short words each.
MAX_REVIEW_NOTE_CHARS = 2_000
MAX_TAGS = 10
MAX_TAG_CHARS = 40
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
    # statements in one query for all narratives, not one per narrative (15 → 3 queries on the
    # demo, /api/narratives 91 → 46 ms in process)
    q = select(Narrative).options(selectinload(Narrative.statements)).order_by(Narrative.key)
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


REVIEW_FILTERS = ("unreviewed", "hide-rejected", "confirmed", "rejected")
HOLDER_KINDS = ("outlet", "speaker", "reported")


def review_filter(q, verdict_column, review: str | None):
    """Narrow ``q`` by the review status of its finding (REVIEW_FILTERS; None: every finding)."""
    if review == "unreviewed":
        return q.where(verdict_column.is_(None))
    if review == "hide-rejected":
        return q.where(func.coalesce(verdict_column, "") != "rejected")
    if review in VERDICTS:
        return q.where(verdict_column == review)
    if review is not None:
        raise InvalidInput(f"unknown review filter '{review}' ({', '.join(REVIEW_FILTERS)})")
    return q


def _match_query(s: Session, narrative: str | None, f: Filters, *, stance: str | None,
                 holder_actor: str | None = None, holder_kind: str | None = None, min_p: float | None = None,
                 review: str | None = None):
    rv = aliased(Review)
    q = (_sentence_query().add_columns(Narrative.key, NarrativeMatch, rv.verdict, rv.stance)
         .join(NarrativeMatch, NarrativeMatch.sentence_id == Sentence.id)
         .join(Narrative, NarrativeMatch.narrative_id == Narrative.id)
         .outerjoin(rv, and_(rv.kind == "match", rv.sentence_id == Sentence.id, rv.narrative_id == Narrative.id)))
    if narrative:
        q = q.where(Narrative.key == narrative)
    if stance:
        q = q.where(NarrativeMatch.stance == stance)
    if holder_actor:
        ha = aliased(Actor)
        q = q.where(NarrativeMatch.holder_actor_id.in_(select(ha.id).where(ha.key == holder_actor)))
    if holder_kind:
        if holder_kind not in HOLDER_KINDS:
            raise InvalidInput(f"holder kind is one of {', '.join(HOLDER_KINDS)}, not '{holder_kind[:40]}'")
        q = q.where(func.coalesce(NarrativeMatch.holder_kind, "outlet") == holder_kind)
    if min_p is not None:
        q = q.where(NarrativeMatch.p_related >= min_p)
    return review_filter(apply_filters(q, f), rv.verdict, review), rv


def count_matches(s: Session, narrative: str | None, f: Filters, *, stance: str | None = None, **kw) -> int:
    """How many matches ``matches`` would list without a limit."""
    q, _ = _match_query(s, narrative, f, stance=stance, **kw)
    return s.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0


def matches(s: Session, narrative: str | None, f: Filters, *, stance: str | None, limit: int | None,
            offset: int = 0, queue: bool = False, **kw) -> Records:
    """Matches oldest first, or with ``queue`` as a review queue: unreviewed first, then the
    highest p(related). ``kw``: holder_actor, holder_kind, min_p (p_related at least), review."""
    q, rv = _match_query(s, narrative, f, stance=stance, **kw)
    if queue:
        q = q.order_by(rv.verdict.is_not(None), NarrativeMatch.p_related.is_(None), NarrativeMatch.p_related.desc(),
                       Sentence.id, Narrative.key)
    else:
        q = q.order_by(Document.published_at.is_(None), Document.published_at, Sentence.id, Narrative.key)
    if limit:
        q = q.limit(limit)
    if offset:
        q = q.offset(offset)
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


def volume_rows(s: Session, f: Filters, *, by: str) -> list[tuple]:
    """(document id, duplicate-group id, published_at or None, group value) of every document that
    passes the filters, matched or not: the denominator of normalised prevalence (a group's volume
    in a period). Undated documents are kept (their own row), as in ``prevalence_rows``."""
    if by not in DIMENSIONS:
        raise InvalidInput(f"--by must be one of {', '.join(DIMENSIONS)}")
    dim = DIMENSIONS[by]
    q = with_outlet(select(Document.id, func.coalesce(Document.duplicate_of_id, Document.id), Document.published_at,
                           dim if dim is not None else Document.id).select_from(Document))
    return [tuple(r) if dim is not None else (*r[:3], "all") for r in s.execute(apply_filters(q, f))]


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


def check_note(note: str | None) -> str | None:
    """A review note, stripped ("" clears it); over MAX_REVIEW_NOTE_CHARS is TooLarge naming the limit."""
    if note is None:
        return None
    note = note.strip()
    if len(note) > MAX_REVIEW_NOTE_CHARS:
        raise TooLarge(f"review note is {len(note):,} characters; the limit is {MAX_REVIEW_NOTE_CHARS:,}")
    return note


def check_tags(tags: str | list[str] | tuple[str, ...] | None) -> list[str] | None:
    """Tags from a list or a comma-separated string: stripped, empty ones dropped, duplicates
    (case-insensitive) kept once, in the order given. More than MAX_TAGS, or one longer than
    MAX_TAG_CHARS, is TooLarge naming the limit; a control character in a tag is InvalidInput."""
    if tags is None:
        return None
    items = tags.split(",") if isinstance(tags, str) else list(tags)
    out: list[str] = []
    seen: set[str] = set()
    for raw in items:
        if not isinstance(raw, str):
            raise InvalidInput("tags are strings")
        t = " ".join(raw.split())  # one line: newlines and runs of spaces become one space
        if not t or t.casefold() in seen:
            continue
        if len(t) > MAX_TAG_CHARS:
            raise TooLarge(f"tag '{t[:MAX_TAG_CHARS]}…' is {len(t):,} characters; the limit is {MAX_TAG_CHARS} "
                           "per tag")
        # control and bidi-override characters (a tag is shown inline): refused; ZWNJ (Persian) is fine
        if "," in t or any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 or 0x202a <= ord(c) <= 0x202e
                           or 0x2066 <= ord(c) <= 0x2069 for c in t):
            raise InvalidInput(f"tag {t[:MAX_TAG_CHARS]!r} has a comma, a control or a bidi-override character")
        seen.add(t.casefold())
        out.append(t)
    if len(out) > MAX_TAGS:
        raise TooLarge(f"{len(out)} tags; the limit is {MAX_TAGS} per review")
    return out


def save_review(s: Session, kind: str, sentence_id: int, verdict: str, *, narrative: str | None,
                other_sentence_id: int | None, stance: str | None, note: str | None,
                reviewer: str | None, tags: str | list[str] | None = None) -> ReviewInfo:
    """Set the review of a finding. ``note``/``tags`` None keep what the review had (a bulk
    confirm does not wipe notes); "" and [] clear them."""
    if verdict not in VERDICTS:
        raise InvalidInput("verdict is 'confirmed' or 'rejected'")
    if stance not in (None, *STANCES):
        raise InvalidInput("stance is asserts, denies or neutral")
    note, tags = check_note(note), check_tags(tags)
    kind, sid, other, nid = review_key(s, kind, sentence_id, narrative=narrative, other_sentence_id=other_sentence_id)
    r = s.scalar(select(Review).where(Review.kind == kind, Review.sentence_id == sid,
                                      Review.other_sentence_id == other, Review.narrative_id == nid))
    if r is None:
        r = Review(kind=kind, sentence_id=sid, other_sentence_id=other, narrative_id=nid)
        s.add(r)
    r.verdict, r.stance, r.reviewer = verdict, stance, reviewer
    if note is not None:
        r.note = note or None
    if tags is not None:
        r.tags = tags or None
    r.at = datetime.now(UTC).replace(tzinfo=None)
    s.flush()
    return _review_info(r, narrative if kind == "match" else None)


def _review_info(r: Review, narrative: str | None) -> ReviewInfo:
    return ReviewInfo(r.id, r.kind, r.sentence_id, r.other_sentence_id or None, narrative, r.verdict, r.stance,
                      r.note, r.reviewer, r.at, list(r.tags or []))


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
