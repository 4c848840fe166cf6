"""The analysis half of the Workspace API: embeddings and semantic search, narratives, their
matches and stance, prevalence, contradictions, reviews. Workspace inherits it; the CLI is a
thin layer over both. Heavy pieces (embedder, NLI head, vector index) load on first use."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from narratrace.records import Records, _Record
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


class AnalysisError(RuntimeError):
    pass


@dataclass
class SentenceHit(_Record):
    sentence_id: int
    document_id: int
    score: float
    text: str
    start: int
    end: int
    language: str | None
    title: str | None
    url: str | None
    published_at: datetime | None
    source: str | None
    actor: str | None
    audience: str | None


@dataclass
class NarrativeInfo(_Record):
    key: str
    name: str
    description: str | None
    status: str
    origin: str
    assertions: list[str]
    counters: list[str]
    entities: list[str]
    contradicts: list[str]
    disarm: list[str]
    matches: int
    asserts: int
    denies: int


@dataclass
class MatchInfo(_Record):
    narrative: str
    sentence_id: int
    document_id: int
    text: str
    start: int
    end: int
    stance: str
    stance_score: float
    similarity: float
    p_entail: float | None
    p_contradict: float | None
    published_at: datetime | None
    source: str | None
    actor: str | None
    audience: str | None
    language: str | None
    url: str | None
    review: str | None
    reviewed_stance: str | None


_HIT_COLUMNS = (Sentence.id, Sentence.document_id, Sentence.start, Sentence.end, Sentence.language, Document.text,
                Document.title, Document.url, Document.published_at, Source.key, Actor.key, Source.audience)


def _sentence_query():
    return (select(*_HIT_COLUMNS).join(Document, Sentence.document_id == Document.id)
            .outerjoin(Source, Document.source_id == Source.id).outerjoin(Actor, Source.actor_id == Actor.id))


class AnalysisMixin:
    """Needs ``self.sessions``, ``self.path``, ``self.engine`` and ``self._filter`` (Workspace)."""

    embedder_name: str | None = None
    # Who runs the model stages: "local" (default), "ray", or a runner object (narratrace.run);
    # None means $NARRATRACE_RUNNER, else local. A method's own runner= argument wins.
    runner: object | None = None

    # -- models and vectors -----------------------------------------------------------------

    def vector_store(self):
        if getattr(self, "_vectors", None) is None:
            from narratrace.match.embed import get_embedder
            from narratrace.match.vectors import VectorStore

            index_dir, factory = None, None
            if self.engine.dialect.name == "postgresql":
                from narratrace.store.postgres import PgVectorIndex

                factory = lambda model_id, dim: PgVectorIndex(self.engine, model_id, dim)  # noqa: E731
            elif self.path != ":memory:":
                index_dir = Path(str(self.path) + ".vectors")
            self._vectors = VectorStore(self.sessions, get_embedder(self.embedder_name), index_dir, factory)
        return self._vectors

    def nli(self):
        if getattr(self, "_nli", None) is None:
            from narratrace.match.nli import load_nli

            self._nli = load_nli(os.environ.get("NARRATRACE_NLI_MODEL") or None)
        return self._nli

    def _runner(self, runner=None):
        from narratrace.run import get_runner

        return get_runner(runner if runner is not None else self.runner)

    def index_sentences(self, progress: Callable[[int], None] | None = None,
                        on_total: Callable[[int], None] | None = None, runner=None) -> int:
        """Embed (cached) and index every sentence added since the last call. The embedding runs
        through ``runner`` ("local" or "ray", see narratrace.run); progress counts texts embedded."""
        from narratrace.run.stages import index_sentences

        return index_sentences(self.vector_store(), self._runner(runner), progress=progress, on_total=on_total)

    def semantic_search(self, query: str, *, limit: int = 20, min_score: float = 0.0, **filters) -> Records:
        """Sentences closest in meaning to ``query``, in any language, with the record's filters."""
        query = (query or "").strip()
        if not query:
            raise AnalysisError("empty query: give a statement to search for")
        vs = self.vector_store()
        vs.update()
        qv = vs.embed([query], kind="query")[0]
        k = max(limit * 5, 50)
        with self.sessions() as s:
            while True:
                hits = vs.search(qv, k)
                scores = {sid: sc for sid, sc in hits if sc >= min_score}
                rows = s.execute(self._filter(_sentence_query().where(Sentence.id.in_(list(scores))), **filters)).all()
                if len(rows) >= limit or len(hits) < k or k >= 20_000:
                    break
                k *= 4  # filters removed too many: look further down the list
        out = [SentenceHit(r[0], r[1], round(scores[r[0]], 4), r[5][r[2]:r[3]], r[2], r[3], r[4], r[6], r[7], r[8],
                           r[9], r[10], r[11]) for r in rows]
        out.sort(key=lambda h: -h.score)
        return Records(out[:limit])

    # -- narratives ---------------------------------------------------------------------------

    def import_narratives(self, path: str | os.PathLike) -> dict[str, int]:
        from narratrace.match.registry import apply_narratives, load_narratives

        specs = load_narratives(path)  # all errors before anything is written
        with self.sessions.begin() as s:
            return apply_narratives(s, specs)

    def narratives(self, *, include_dismissed: bool = False) -> Records:
        with self.sessions() as s:
            counts = {nid: (n, a, d) for nid, n, a, d in s.execute(
                select(NarrativeMatch.narrative_id, func.count(),
                       func.sum(case((NarrativeMatch.stance == "asserts", 1), else_=0)),
                       func.sum(case((NarrativeMatch.stance == "denies", 1), else_=0)))
                .group_by(NarrativeMatch.narrative_id))}
            q = select(Narrative).order_by(Narrative.key)
            if not include_dismissed:
                q = q.where(Narrative.status != "dismissed")
            out = []
            for n in s.scalars(q):
                c = counts.get(n.id, (0, 0, 0))
                out.append(NarrativeInfo(n.key, n.name, n.description, n.status, n.origin,
                                         [st.text for st in n.statements if st.kind == "assertion"],
                                         [st.text for st in n.statements if st.kind == "counter"],
                                         list(n.entities or []), list(n.contradicts or []), list(n.disarm or []),
                                         c[0], c[1] or 0, c[2] or 0))
            return Records(out)

    def discover_narratives(self, **options):
        """Cluster recurring claims no active narrative covers into candidate narratives."""
        from narratrace.detect.discovery import discover

        return discover(self, **options)

    def set_narrative_status(self, key: str, status: str, *, name: str | None = None) -> None:
        """Promote (active), dismiss or reopen (candidate) a narrative; optionally rename it."""
        from narratrace.detect.discovery import set_status

        try:
            set_status(self, key, status, name=name)
        except ValueError as exc:
            raise AnalysisError(str(exc)) from exc

    def match_narratives(self, keys: list[str] | None = None, progress: Callable[[int], None] | None = None,
                         runner=None):
        from narratrace.match.stance import match_narratives

        return match_narratives(self.sessions, self.vector_store(), self.nli(), keys=keys, progress=progress,
                                runner=self._runner(runner))

    def matches(self, narrative: str | None = None, *, stance: str | None = None, limit: int | None = None,
                **filters) -> Records:
        with self.sessions() as s:
            rv = aliased(Review)
            q = (_sentence_query().add_columns(Narrative.key, NarrativeMatch, rv.verdict, rv.stance)
                 .join(NarrativeMatch, NarrativeMatch.sentence_id == Sentence.id)
                 .join(Narrative, NarrativeMatch.narrative_id == Narrative.id)
                 .outerjoin(rv, and_(rv.kind == "match", rv.sentence_id == Sentence.id, rv.narrative_id == Narrative.id)))
            if narrative:
                q = q.where(Narrative.key == narrative)
            if stance:
                q = q.where(NarrativeMatch.stance == stance)
            q = self._filter(q, **filters).order_by(Document.published_at.is_(None), Document.published_at,
                                                    Sentence.id, Narrative.key)
            if limit:
                q = q.limit(limit)
            out = []
            for sid, did, a, b, lang, text, _title, url, pub, src, actor, aud, key, m, verdict, rstance in s.execute(q):
                out.append(MatchInfo(key, sid, did, text[a:b], a, b, m.stance, round(m.stance_score, 4),
                                     round(m.similarity, 4), m.p_entail, m.p_contradict, pub, src, actor, aud, lang,
                                     url, verdict, rstance))
            return Records(out)

    def review(self, kind: str, sentence_id: int, verdict: str, *, narrative: str | None = None,
               other_sentence_id: int | None = None, stance: str | None = None, note: str | None = None,
               reviewer: str | None = None) -> None:
        """Confirm or reject a match (sentence × narrative) or a contradiction (sentence pair).
        Reviews survive every re-run of matching and detection."""
        if kind not in ("match", "contradiction"):
            raise AnalysisError("review kind is 'match' or 'contradiction'")
        if verdict not in ("confirmed", "rejected"):
            raise AnalysisError("verdict is 'confirmed' or 'rejected'")
        if stance not in (None, "asserts", "denies", "neutral"):
            raise AnalysisError("stance is asserts, denies or neutral")
        with self.sessions.begin() as s:
            if s.get(Sentence, sentence_id) is None:
                raise AnalysisError(f"no sentence with id {sentence_id}")
            nid = 0
            if kind == "match":
                if not narrative:
                    raise AnalysisError("a match review names its narrative")
                nid = s.scalar(select(Narrative.id).where(Narrative.key == narrative))
                if nid is None:
                    raise AnalysisError(f"unknown narrative '{narrative}' (see `narratrace narratives list`)")
            other = 0
            if kind == "contradiction":
                if not other_sentence_id or s.get(Sentence, other_sentence_id) is None:
                    raise AnalysisError("a contradiction review names both sentence ids")
                sentence_id, other = sorted((sentence_id, other_sentence_id))
            r = s.scalar(select(Review).where(Review.kind == kind, Review.sentence_id == sentence_id,
                                              Review.other_sentence_id == other, Review.narrative_id == nid))
            if r is None:
                r = Review(kind=kind, sentence_id=sentence_id, other_sentence_id=other, narrative_id=nid)
                s.add(r)
            r.verdict, r.stance, r.note, r.reviewer = verdict, stance, note, reviewer
            r.at = datetime.now(timezone.utc).replace(tzinfo=None)

    def reviewed_pairs(self) -> list[tuple[str, str, str]]:
        """Analyst reviews as NLI training pairs (premise, hypothesis, label)."""
        out = []
        with self.sessions() as s:
            vs = self.vector_store()
            labels = {"asserts": "entailment", "denies": "contradiction", "neutral": "neutral"}
            for r, st_text, match_stance in s.execute(
                    select(Review, NarrativeStatement.text, NarrativeMatch.stance)
                    .join(NarrativeMatch, and_(NarrativeMatch.sentence_id == Review.sentence_id,
                                               NarrativeMatch.narrative_id == Review.narrative_id))
                    .join(NarrativeStatement, NarrativeStatement.id == NarrativeMatch.statement_id)
                    .where(Review.kind == "match")):
                # corrected stance > confirmed model stance > rejected (the sentence does not take
                # the narrative's side: neutral towards its closest assertion)
                stance = r.stance or (match_stance if r.verdict == "confirmed" else "neutral")
                (_, text), = vs.sentence_texts(s, [r.sentence_id])
                out.append((text, st_text, labels[stance]))
            for r in s.scalars(select(Review).where(Review.kind == "contradiction")):
                texts = dict(vs.sentence_texts(s, [r.sentence_id, r.other_sentence_id]))
                label = "contradiction" if r.verdict == "confirmed" else "neutral"
                out.append((texts[r.sentence_id], texts[r.other_sentence_id], label))
        return out

    # -- prevalence ---------------------------------------------------------------------------

    def prevalence(self, *, period: str = "day", by: str = "audience", stance: str = "asserts",
                   narrative: str | None = None, **filters) -> Records:
        from narratrace.report.prevalence import prevalence

        return prevalence(self, period=period, by=by, stance=stance, narrative=narrative, **filters)

    # -- contradictions -----------------------------------------------------------------------

    def find_contradictions(self, *, actor: str | None = None, progress: Callable[[int], None] | None = None,
                            runner=None):
        from narratrace.detect.contradictions import find_contradictions

        return find_contradictions(self, actor=actor, progress=progress, runner=self._runner(runner))

    def contradictions(self, *, actor: str | None = None, cross_audience: bool | None = None,
                       limit: int | None = None) -> Records:
        from narratrace.detect.contradictions import list_contradictions

        return list_contradictions(self, actor=actor, cross_audience=cross_audience, limit=limit)

    def compare(self, a: str, b: str) -> dict:
        """NLI between two statements, both directions: entail / neutral / contradict with scores."""
        from narratrace.match.nli import LABELS

        a, b = (a or "").strip(), (b or "").strip()
        if not a or not b:
            raise AnalysisError("compare needs two non-empty statements")
        model = self.nli()
        vs = self.vector_store()
        kind = getattr(model, "kind", "query")
        p = model.predict([a, b], [b, a], vectors=lambda t: vs.embed(t, kind=kind))
        va, vb = vs.embed([a, b], kind="query")
        sim = float(va @ vb)

        def side(row):
            return {"label": LABELS[int(row.argmax())], **{lab: round(float(x), 4) for lab, x in zip(LABELS, row)}}

        both = (p[0] + p[1]) / 2
        return {"a_to_b": side(p[0]), "b_to_a": side(p[1]), "label": LABELS[int(both.argmax())],
                "scores": {lab: round(float(x), 4) for lab, x in zip(LABELS, both)}, "similarity": round(sim, 4),
                "nli_model": model.model_id, "embed_model": vs.embedder.model_id}
