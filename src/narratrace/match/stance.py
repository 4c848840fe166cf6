"""Match sentences to narratives: a sentence matches only when it makes the claim or denies it.

For each active narrative:
1. retrieval: the nearest sentences to each of its statements in the vector index (cosine ≥
   ``RETRIEVE_MIN``); each sentence goes on to its ``TOP_NARRATIVES`` most similar narratives;
2. holder: the sentence's views (enrich/holder.py) — its own voice, and the claim inside a
   reporting frame or a stored quote, each with its holder;
3. decision: the NLI cross-encoder reads each view against the narrative's closest statements
   (p entailment of the assertions, p contradiction of them, p entailment of the counters);
   with the two cosines, a calibrated model (match/relatedness.py) gives p(related) and
   p(denies). The view is related when p(related) ≥ 1 − sensitivity; topic alone is no match.
   A reporting frame's view wins over the own voice: "the regime claims P" is the regime's P,
   not the outlet's.
Every score is stored with the model ids and the holder. Re-running replaces the matches of a
narrative, never the analyst's reviews (stored separately, keyed by sentence and narrative).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import sessionmaker

from narratrace.enrich.entities import Gazetteer
from narratrace.enrich.holder import View, views
from narratrace.match import relatedness as rel
from narratrace.match.batches import cache_texts, nli_batches
from narratrace.match.vectors import VectorStore
from narratrace.run import Runner
from narratrace.store.models import Document, Entity, Narrative, NarrativeMatch, Quote, Sentence, Source

# Retrieval only proposes; the cross-encoder decides. e5-small cosines of a sentence to a
# paraphrase of a statement lie mostly in 0.84–0.93 and on-topic sentences reach 0.83, so
# retrieval keeps a margin below both: on campaign-dev, 0.80 keeps 96 % of the gold match rows
# (0.82: 88 %) at ~6 candidate narratives per sentence, which TOP_NARRATIVES then cuts to 3.
RETRIEVE_MIN = 0.80
CANDIDATES = 400  # nearest neighbours fetched per statement
TOP_NARRATIVES = 3
# Statements read per narrative: the closest assertions and counter-statements by cosine.
# More assertions raised campaign-dev recall by < 1 point and cost a pair each.
ASSERTIONS_READ = 2
COUNTERS_READ = 1
# Default sensitivity (related when p(related) ≥ 1 − sensitivity) when the calibration file has
# none; the calibration stores the setting that maximised cross-validated F1 on campaign-dev
# (evaluation/fit_relatedness.py).
SENSITIVITY = 0.5


@dataclass
class MatchReport:
    narratives: int = 0
    candidates: int = 0
    pairs: int = 0
    matches: int = 0
    asserts: int = 0
    denies: int = 0
    reported: int = 0
    speaker: int = 0
    calibrated: bool = False

    def as_dict(self) -> dict:
        return self.__dict__.copy()


# A frame's or quote's content at least this share of the sentence leaves the outlet nothing but
# the attribution ("…, he said." is ~10 characters of 100+). On campaign-dev's gold (2026-12-01)
# 52 of 166 speaker/reported sentences have such a view and 10 of 97 outlet-voice ones do; at 0.7
# it is 76 against 12. The own-voice-wins case ("state media claimed X, but Y") stays under it.
ATTRIBUTED_SHARE = 0.8


@dataclass
class _Cand:
    sid: int
    nid: int
    sim: float
    sim_a: float
    sim_c: float | None
    a_idx: list[int]   # assertions read (indices into the narrative's assertions)
    c_idx: list[int]
    views: list[View]


def view_features(c: _Cand, p_a: np.ndarray, p_c: np.ndarray) -> list[float]:
    """relatedness.FEATURES of one view from its NLI rows against the assertions and counters read."""
    return rel.features(c.sim_a, c.sim_c, float(p_a[:, 0].max()), float(p_a[:, 2].max()),
                        float(p_c[:, 0].max()) if len(p_c) else None)


def choose(scored: list[tuple], threshold: float) -> tuple | None:
    """(view, p related, p denies, …) of the view that carries the claim: a frame or quote view
    that is related wins over the own voice (the claim belongs to whom it is attributed); else the
    own voice when it is related — held by the attributed speaker all the same when the frame or
    quote spans nearly the whole sentence ("«…», he said": the outlet wrote only the attribution,
    and reporting a claim is not asserting it); None when no view is related."""
    related = [x for x in scored if x[1] >= threshold]
    if not related:
        return None
    others = [x for x in related if x[0].kind != "outlet"]
    best = max(others or related, key=lambda x: x[1])
    if others or best[0].kind != "outlet":
        return best
    whole = best[0].end - best[0].start
    wide = [x[0] for x in scored if x[0].kind != "outlet" and x[0].end - x[0].start >= ATTRIBUTED_SHARE * whole]
    if not wide:
        return best
    # the probabilities are the own voice's, read with the frame's verb ("denied") in it: the
    # attributed view lends its holder only, never a second reversal of the stance
    return (replace(max(wide, key=lambda v: v.end - v.start), negates=False), *best[1:])


def match_narratives(sessions: sessionmaker, vectors: VectorStore, nli, runner: Runner, *,
                     keys: list[str] | None = None, progress: Callable[[int], None] | None = None,
                     on_total: Callable[[int], None] | None = None,
                     sensitivity: float | None = None) -> MatchReport:
    """Retrieval and decisions run here; the model work (statement vectors, NLI of every view
    against the closest statements) runs through ``runner`` (run/). Needs every sentence indexed
    (the ``embed`` stage) and quotes extracted (the ``quotes`` stage)."""
    report = MatchReport()
    with sessions() as s:
        q = select(Narrative).where(Narrative.status == "active")
        if keys:
            q = q.where(Narrative.key.in_(keys))
        narratives = list(s.scalars(q))
        specs = {n.id: ([(st.id, st.text) for st in n.statements if st.kind == "assertion"],
                        [(st.id, st.text) for st in n.statements if st.kind == "counter"],
                        sensitivity if sensitivity is not None else n.sensitivity)
                 for n in narratives}
    if on_total:  # one step per narrative read by the NLI model, one per narrative written
        on_total(2 * len(specs))
    cache_texts(vectors, [t for a, c, _ in specs.values() for _, t in a + c], "query", runner)
    cal = rel.load(nli.model_id)
    report.calibrated = cal.active
    default = cal.default_sensitivity(SENSITIVITY)
    specs = {nid: (a, c, default if sens is None else sens) for nid, (a, c, sens) in specs.items()}
    cands = _retrieve(sessions, vectors, specs, report)
    scored, owners = score_candidates(sessions, vectors, nli, runner, specs, cands, report, progress)
    if progress:  # narratives without candidates had no NLI batch
        progress(len(specs) - len({c.nid for c in cands}))
    decided: dict[int, list[dict]] = defaultdict(list)
    holders = _HolderLinker(sessions)
    now = datetime.now(UTC).replace(tzinfo=None)
    for c, views_scored in scored:
        best = choose([(v, cal.related(f), cal.denies(f), f) for v, f in views_scored], 1.0 - specs[c.nid][2])
        if best is None:
            continue
        v, p_rel, p_deny, f = best
        if v.negates:  # "X denied that P": X's stance is the reverse of P's
            p_deny = 1.0 - p_deny
        entity_id, entity_key, actor_id = holders.resolve(v, owners.get(c.sid))
        a_items = specs[c.nid][0]
        held_by = entity_key or v.holder
        decided[c.nid].append({
            "sentence_id": c.sid, "narrative_id": c.nid, "similarity": c.sim, "sim_assertion": c.sim_a,
            "sim_counter": c.sim_c, "stance": "denies" if p_deny >= 0.5 else "asserts",
            "stance_score": 1.0 - 2.0 * p_deny, "p_entail": f[3], "p_contradict": max(f[4], f[5]),
            "p_related": p_rel,
            "statement_id": a_items[c.a_idx[0]][0], "embed_model": vectors.embedder.model_id,
            "nli_model": nli.model_id, "run_at": now, "holder_kind": v.kind,
            "holder": held_by[:256] if held_by else None, "holder_entity_id": entity_id,
            "holder_actor_id": actor_id, "claim_start": v.start, "claim_end": v.end,
            "writer_stance": v.writer_stance})
    for nid in specs:
        rows = decided.get(nid, [])
        with sessions.begin() as s:
            s.execute(delete(NarrativeMatch).where(NarrativeMatch.narrative_id == nid))
            if rows:
                s.execute(insert(NarrativeMatch.__table__), rows)
        report.narratives += 1
        report.matches += len(rows)
        for r in rows:
            report.asserts += r["stance"] == "asserts"
            report.denies += r["stance"] == "denies"
            report.reported += r["holder_kind"] == "reported"
            report.speaker += r["holder_kind"] == "speaker"
        if progress:
            progress(1)
    return report


def score_candidates(sessions: sessionmaker, vectors: VectorStore, nli, runner: Runner, specs: dict,
                     cands: list[_Cand], report: MatchReport | None = None,
                     progress: Callable[[int], None] | None = None):
    """Every view of every candidate read by the NLI model against the narrative's closest
    statements: [(candidate, [(view, p asserts, p denies), ...])] and each sentence's outlet actor.
    One NLI batch per narrative, through ``runner``."""
    texts, langs, quote_views, owners = _sentence_info(sessions, vectors, {c.sid for c in cands})
    for c in cands:
        c.views = views(texts[c.sid], langs[c.sid], quote_views.get(c.sid, []))
    asks, layout = [], []
    for nid, (a_items, c_items, _sens) in specs.items():
        prem, hyp, lay = [], [], []
        for c in (c for c in cands if c.nid == nid):
            for v in c.views:
                content = texts[c.sid][v.start:v.end]
                rows = [a_items[i][1] for i in c.a_idx] + [c_items[i][1] for i in c.c_idx]
                prem += [content] * len(rows)
                hyp += rows
                lay.append((c, v, len(rows), len(c.a_idx)))
        if prem:
            asks.append((prem, hyp, False))
            layout.append(lay)
    if report is not None:
        report.pairs = sum(len(p) for p, _, _ in asks)
    probs = [out[0] for out in nli_batches(vectors, nli, asks, runner, progress)] if asks else []
    out: dict[int, tuple[_Cand, list]] = {}
    for lay, P in zip(layout, probs):
        at = 0
        for c, v, n_rows, n_a in lay:
            block = P[at:at + n_rows]
            at += n_rows
            out.setdefault(id(c), (c, []))[1].append((v, view_features(c, block[:n_a], block[n_a:])))
    return list(out.values()), owners


def calibrate(sessions: sessionmaker, vectors: VectorStore, nli, runner: Runner,
              reviewed: list[tuple[int, int, bool]]) -> list[dict]:
    """Precision and recall of relatedness at each sensitivity, against reviewed matches
    ((sentence id, narrative id, confirmed?)): each reviewed pair is scored again as ``match``
    would score it, then cut at every setting."""
    with sessions() as s:
        nids = sorted({n for _, n, _ in reviewed})
        specs = {n.id: ([(st.id, st.text) for st in n.statements if st.kind == "assertion"],
                        [(st.id, st.text) for st in n.statements if st.kind == "counter"], SENSITIVITY)
                 for n in s.scalars(select(Narrative).where(Narrative.id.in_(nids)))}
        texts = dict(vectors.sentence_texts(s, sorted({sid for sid, _, _ in reviewed})))
    cands = []
    for nid, (a_items, c_items, _) in specs.items():
        pairs = [(sid, ok) for sid, n, ok in reviewed if n == nid and sid in texts]
        if not pairs:
            continue
        A = vectors.embed([t for _, t in a_items], kind="query")
        C = vectors.embed([t for _, t in c_items], kind="query") if c_items else None
        V = vectors.embed([texts[sid] for sid, _ in pairs])
        for r, (sid, _ok) in enumerate(pairs):
            sa = V[r] @ A.T
            sc = V[r] @ C.T if C is not None else None
            cands.append(_Cand(sid, nid, float(max(sa.max(), sc.max() if sc is not None else -1)), float(sa.max()),
                               None if sc is None else float(sc.max()),
                               [int(i) for i in np.argsort(-sa)[:ASSERTIONS_READ]],
                               [int(i) for i in np.argsort(-sc)[:COUNTERS_READ]] if sc is not None else [], []))
    scored, _ = score_candidates(sessions, vectors, nli, runner, specs, cands)
    cal = rel.load(nli.model_id)
    truth = {(sid, nid): ok for sid, nid, ok in reviewed}
    p_best = {(c.sid, c.nid): max(cal.related(f) for _, f in vs) for c, vs in scored}
    rows = []
    for sens in [round(0.1 * k, 1) for k in range(1, 10)]:
        thr = 1.0 - sens
        tp = sum(1 for k, p in p_best.items() if p >= thr and truth[k])
        fp = sum(1 for k, p in p_best.items() if p >= thr and not truth[k])
        pos = sum(truth[k] for k in p_best)
        prec = tp / (tp + fp) if tp + fp else None
        rec = tp / pos if pos else None
        rows.append({"sensitivity": sens, "kept": tp + fp, "precision": prec, "recall": rec, "default": False})
    default = cal.default_sensitivity(SENSITIVITY)  # the setting nearest to it is marked
    min(rows, key=lambda r: abs(r["sensitivity"] - default))["default"] = True
    return rows


def _retrieve(sessions: sessionmaker, vectors: VectorStore, specs: dict, report: MatchReport) -> list[_Cand]:
    """Candidates: sentences near any statement of a narrative, each kept for its TOP_NARRATIVES
    most similar narratives, with the closest statements to read."""
    per_sentence: dict[int, list[_Cand]] = defaultdict(list)
    stmt_vecs = {}
    for nid, (a_items, c_items, _) in specs.items():
        A = vectors.embed([t for _, t in a_items], kind="query")
        C = vectors.embed([t for _, t in c_items], kind="query") if c_items else None
        stmt_vecs[nid] = (A, C)
        ids: set[int] = set()
        for vec in (A if C is None else np.vstack([A, C])):
            ids.update(sid for sid, sim in vectors.search(vec, CANDIDATES) if sim >= RETRIEVE_MIN - 0.02)
        if not ids:
            continue
        ids_l = sorted(ids)
        with sessions() as s:
            texts = dict(vectors.sentence_texts(s, ids_l))
        V = vectors.embed([texts[i] for i in ids_l])
        SA = V @ A.T
        SC = V @ C.T if C is not None else None
        for r, sid in enumerate(ids_l):
            sim_a = float(SA[r].max())
            sim_c = float(SC[r].max()) if SC is not None else None
            sim = max(sim_a, sim_c or -1.0)
            if sim < RETRIEVE_MIN:
                continue
            a_idx = [int(i) for i in np.argsort(-SA[r])[:ASSERTIONS_READ]]
            c_idx = [int(i) for i in np.argsort(-SC[r])[:COUNTERS_READ]] if SC is not None else []
            per_sentence[sid].append(_Cand(sid, nid, sim, sim_a, sim_c, a_idx, c_idx, []))
    out = []
    for items in per_sentence.values():
        out += sorted(items, key=lambda c: -c.sim)[:TOP_NARRATIVES]
    report.candidates = len(out)
    return out


def _sentence_info(sessions: sessionmaker, vectors: VectorStore, ids: set[int]):
    """Texts, languages, stored quotes (as sentence-offset spans with speaker keys) and the
    owning actor of each candidate sentence."""
    texts, langs, quotes, owners = {}, {}, defaultdict(list), {}
    idl = sorted(ids)
    with sessions() as s:
        for k in range(0, len(idl), 900):
            chunk = idl[k:k + 900]
            rows = s.execute(select(Sentence.id, Sentence.language, Document.language, Sentence.start, Source.actor_id)
                             .join(Document, Sentence.document_id == Document.id)
                             .outerjoin(Source, Document.source_id == Source.id).where(Sentence.id.in_(chunk))).all()
            texts.update(vectors.sentence_texts(s, chunk))
            starts = {}
            for sid, lang, dlang, start, actor in rows:
                langs[sid], owners[sid], starts[sid] = lang or dlang, actor, start
            for sid, qs, qe, key in s.execute(select(Quote.sentence_id, Quote.start, Quote.end, Quote.speaker_key)
                                              .where(Quote.sentence_id.in_(chunk), Quote.speaker_key.is_not(None))):
                quotes[sid].append((qs - starts[sid], qe - starts[sid], key))
    return texts, langs, quotes, owners


class _HolderLinker:
    """Holder as written → (entity id, entity key, actor id); the outlet's own voice → its actor."""

    def __init__(self, sessions: sessionmaker) -> None:
        with sessions() as s:
            self.gazetteer = Gazetteer.load(s)
            self.by_id = {e.id: (e.key, e.actor_id) for e in s.scalars(select(Entity))}
            self.by_key = {k: (i, a) for i, (k, a) in self.by_id.items()}

    def resolve(self, v: View, outlet_actor: int | None) -> tuple[int | None, str | None, int | None]:
        if v.kind == "outlet":
            return None, None, outlet_actor
        if v.entity_key and v.entity_key in self.by_key:
            eid, actor = self.by_key[v.entity_key]
            return eid, v.entity_key, actor
        if v.holder:
            eid = self.gazetteer.link(v.holder, kinds=("person", "organisation", "other"))
            if eid is None:
                hits = self.gazetteer.find(v.holder)
                eid = hits[-1].entity_id if hits else None
            if eid is not None and eid in self.by_id:
                key, actor = self.by_id[eid]
                return eid, key, actor
        # a speaker the registry does not know ("the minister said"), quoted without distance by
        # an actor's own outlet, speaks for that actor; a reported (distanced) claim never does
        return None, None, outlet_actor if v.kind == "speaker" else None
