"""Standard exports of the workspace's findings, so that other tools can take them in.

- **ClaimReview** (schema.org JSON-LD, as fact-checkers publish it): one per finding an analyst
  *confirmed* (a statement asserts/denies a narrative; a statement contradicts an earlier one of the
  same actor). The rating names the analyst's finding, never a truth verdict; reviewBody says so.
- **STIX 2.1** (via the ``stix2`` library, no custom objects so any STIX consumer reads it):

  ==========================  =============================================================
  actor (state, movement…)    ``identity`` (identity_class from the actor's kind)
  outlet (source)             ``identity`` (organization) + ``related-to`` its actor
  narrative                   ``campaign`` (name, description as objective, first/last seen)
  DISARM technique ids        ``attack-pattern`` with an external reference
                              ``{source_name: DISARM, external_id: T0022}`` as the DISARM
                              Foundation's DISARM_CTI bundles use; campaign ``uses`` it
  an outlet carrying it       ``sighting`` of the campaign where_sighted_refs the outlet,
                              count = documents asserting it, first/last seen
  contradiction, confirmed    ``note`` on the actor, both outlets and narratives, with the two
  match                       quotes, dates and links (labels say the review state)
  coordination group          ``grouping`` (context suspicious-activity) of the outlets
  the whole export            ``report`` referencing every object
  ==========================  =============================================================

  Narratives carry DISARM ids when the analyst tags them in the registry (``disarm: [T0022]``).
  Actors are ``identity`` objects, not ``threat-actor``: the tool is actor-neutral and calling an
  actor a threat is the analyst's call, not the export's.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from narratrace.errors import InvalidInput
from narratrace.report.briefing import document_link

DISARM_URL = "https://github.com/DISARMFoundation/DISARMframeworks/blob/main/generated_pages/techniques/{}.md"
# A fixed namespace makes ids deterministic: the same workspace exports the same ids, so a
# consumer (OpenCTI, MISP) updates objects on re-import instead of duplicating them.
NAMESPACE = uuid.UUID("6f1b2c1e-4d7a-5b8e-9c3f-2a1d0e5b7c49")
IDENTITY_CLASS = {"state": "organization", "government": "organization", "party": "organization",
                  "company": "organization", "organisation": "organization", "organization": "organization",
                  "movement": "group", "group": "group", "person": "individual", "individual": "individual"}
EVIDENCE_NOT_VERDICT = ("This is evidence, not a verdict on truth: it records an analyst's finding about who said "
                        "what, where and when, and does not rate whether the statement is true.")


class InteropError(InvalidInput):
    pass


def _iso(d: datetime | None) -> str | None:
    return d.replace(microsecond=0).isoformat() if d else None


# -- ClaimReview -----------------------------------------------------------------------------------

def claimreviews(ws, *, publisher: str = "narratrace analyst", base_url: str | None = None,
                 narrative: str | None = None, actor: str | None = None) -> list[dict]:
    """schema.org ClaimReview objects (JSON-LD) for every confirmed match and contradiction.

    ``base_url``: where the reviews will be published (ClaimReview.url is required and must be the
    page hosting the review); without it each review gets a ``narratrace://`` address."""
    sources = {s.key: s for s in ws.sources()}
    actors = ws.names()["actors"]
    names = {n.key: n.name for n in ws.narratives(include_dismissed=True)}
    today = datetime.now(UTC).date().isoformat()

    def org(source: str | None) -> dict:
        src = sources.get(source)
        o = {"@type": "Organization", "name": src.name if src else (source or "unknown outlet")}
        if src and src.domains:
            o["url"] = f"https://{src.domains[0]}"
        if src and src.actor:
            o["parentOrganization"] = {"@type": "Organization", "name": actors.get(src.actor, src.actor)}
        return o

    def review_url(anchor: str) -> str:
        return f"{base_url.rstrip('#')}#{anchor}" if base_url else f"narratrace://review/{anchor}"

    def claim(source, published, link, first: dict | None = None) -> dict:
        c = {"@type": "Claim", "author": org(source), "datePublished": _iso(published),
             "appearance": {"@type": "CreativeWork", "url": link}}
        if first:
            c["firstAppearance"] = first
        return c

    first_seen: dict[str, dict | None] = {}

    def first_appearance(key: str) -> dict | None:
        """Where the narrative first appeared (provenance: the earliest dated document asserting it)."""
        if key not in first_seen:
            steps = ws.narrative_spread(key)
            st = next((x for x in steps if x.first is not None), None)  # undated carriers come last
            first_seen[key] = st and {"@type": "CreativeWork", "url": document_link(st.document_id,
                                                                                   ws.document(st.document_id).url),
                                      "datePublished": _iso(st.first), "author": org(st.source), "text": st.text}
        return first_seen[key]

    out = []
    for m in ws.matches(narrative, actor=actor):
        if m.review != "confirmed":
            continue
        stance = m.reviewed_stance or m.stance
        verb = {"asserts": "Asserts", "denies": "Denies"}.get(stance, "Is neutral towards")
        finding = f"{verb} narrative “{names.get(m.narrative, m.narrative)}”"
        outlet = org(m.source)["name"]
        out.append({
            "@context": "https://schema.org", "@type": "ClaimReview",
            "url": review_url(f"match-{m.narrative}-{m.sentence_id}"),
            "claimReviewed": m.text, "datePublished": today,
            "author": {"@type": "Organization", "name": publisher},
            "itemReviewed": claim(m.source, m.published_at, document_link(m.document_id, m.url),
                                  first_appearance(m.narrative)),
            # a short textual rating, as fact-checkers give ("False"): the finding, never a verdict
            "reviewRating": {"@type": "Rating", "alternateName": f"{verb} narrative", "name": finding},
            "reviewBody": (f"An analyst confirmed that this statement, published by {outlet}"
                           f"{' on ' + m.published_at.date().isoformat() if m.published_at else ''}, "
                           f"{verb.lower()} the narrative “{names.get(m.narrative, m.narrative)}” ({m.narrative}). "
                           + EVIDENCE_NOT_VERDICT),
        })
    found = [c for c in ws.contradictions(actor=actor) if c.review == "confirmed"
             and (not narrative or narrative in (c.narrative_a, c.narrative_b))]
    for c in found:  # each side carries its document id
        a_link = document_link(c.a_document_id, c.a_url)
        b_link = document_link(c.b_document_id, c.b_url)
        a_outlet = org(c.a_source)["name"]
        finding = f"Contradicts statement: “{c.a_text}”"
        out.append({
            "@context": "https://schema.org", "@type": "ClaimReview",
            "url": review_url(f"contradiction-{c.a_sentence_id}-{c.b_sentence_id}"),
            "claimReviewed": c.b_text, "datePublished": today,
            "author": {"@type": "Organization", "name": publisher},
            "itemReviewed": claim(c.b_source, c.b_published_at, b_link),
            "reviewRating": {"@type": "Rating", "alternateName": "Contradicts own statement", "name": finding[:300]},
            "citation": {"@type": "CreativeWork", "url": a_link, "text": c.a_text, "datePublished": _iso(c.a_published_at),
                         "author": org(c.a_source)},
            "reviewBody": (f"An analyst confirmed that this statement ({c.b_audience or 'unknown'} audience) "
                           f"contradicts a statement carried by {a_outlet} ({c.a_audience or 'unknown'} audience"
                           f"{', ' + c.a_published_at.date().isoformat() if c.a_published_at else ''}): "
                           f"“{c.a_text}” ({a_link}). " + EVIDENCE_NOT_VERDICT),
        })
    return out


def write_claimreview(ws, output: str | Path, **options) -> int:
    reviews = claimreviews(ws, **options)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(json.dumps(reviews, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return len(reviews)


# -- STIX 2.1 --------------------------------------------------------------------------------------

def _sid(kind: str, key: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, f'{kind}:{key}')}"


def stix_bundle(ws, *, narrative: str | None = None, actor: str | None = None, contradictions: int = 25,
                candidates: bool = False):
    """A STIX 2.1 bundle of the registry and the findings (see the module docstring for the mapping).
    ``contradictions``: how many unreviewed contradictions to add beside every confirmed one.
    Narratives: the analyst's (from the registry or promoted after review); discovered candidates
    nobody reviewed only with ``candidates`` — a consumer would otherwise take a clustering
    guess for a tracked campaign."""
    import stix2  # lazy: stix2 costs +0.19 s at CLI start (measured)

    now = datetime.now(UTC).replace(microsecond=0)
    # ``created`` is the workspace's first ingest, the same on every export: objects keep their
    # deterministic ids, so a consumer sees a new version (``modified``), never a new object
    first = ws.stats()["first_ingested"]
    created = min(now, datetime.fromisoformat(first).replace(tzinfo=UTC, microsecond=0)) if first else now
    producer = stix2.Identity(id=_sid("identity", "narratrace-export"), name="narratrace export",
                              identity_class="system", created=created, modified=now,
                              description="Findings exported from a narratrace workspace: " + EVIDENCE_NOT_VERDICT)
    common = {"created_by_ref": producer.id, "created": created, "modified": now}
    objects: dict[str, object] = {producer.id: producer}
    actors = ws.actors()
    sources = {s.key: s for s in ws.sources()}
    narratives = {n.key: n for n in ws.narratives() if n.status == "active" or (candidates and n.status == "candidate")}
    if narrative and narrative not in narratives:
        raise InteropError(f"no narrative '{narrative}' (known: {', '.join(sorted(narratives))}"
                           f"{'' if candidates else '; unreviewed candidates need candidates=True / --candidates'})")
    if actor and actor not in actors:
        raise InteropError(f"no actor '{actor}' (known: {', '.join(sorted(actors))})")

    def add(obj):
        objects.setdefault(obj.id, obj)
        return obj.id

    def actor_id(key: str) -> str:
        a = actors[key]
        return add(stix2.Identity(id=_sid("identity", f"actor:{key}"), name=a["name"], labels=["actor"],
                                  identity_class=IDENTITY_CLASS.get((a["kind"] or "").lower(), "unknown"),
                                  description=a["description"], **common))

    def outlet_id(key: str | None) -> str:
        key = key or "unknown"
        src = sources.get(key)
        labels = ["outlet"] + [f"{k}:{v}" for k, v in (("audience", src and src.audience),
                                                       ("language", src and src.language)) if v]
        oid = add(stix2.Identity(id=_sid("identity", f"source:{key}"), name=src.name if src else key,
                                 identity_class="organization", labels=labels,
                                 description=f"Outlet '{key}'" + (f" ({src.kind})" if src and src.kind else ""),
                                 **common))
        if src and src.actor and src.actor in actors:
            add(stix2.Relationship(id=_sid("relationship", f"owned:{key}:{src.actor}"), relationship_type="related-to",
                                   source_ref=oid, target_ref=actor_id(src.actor),
                                   description="The analyst's source registry says this outlet belongs to this actor.",
                                   **common))
        return oid

    # narratives, the techniques they are tagged with, and where they were seen
    by_outlet: dict[tuple[str, str | None], list] = defaultdict(list)
    for m in ws.matches(narrative, actor=actor):
        if m.review != "rejected" and (m.reviewed_stance or m.stance) == "asserts" and m.published_at:
            by_outlet[(m.narrative, m.source)].append(m)
    # with an actor, only the narratives its outlets carried; otherwise the whole registry
    keys = [narrative] if narrative else sorted({k for k, _ in by_outlet} if actor else narratives)

    def campaign_id(key: str) -> str:
        if _sid("campaign", f"narrative:{key}") in objects:
            return _sid("campaign", f"narrative:{key}")
        n = narratives[key]
        seen = [m.published_at for (k, _), ms in by_outlet.items() if k == key for m in ms]
        cid = add(stix2.Campaign(id=_sid("campaign", f"narrative:{key}"), name=n.name, labels=["narrative"],
                                 description=n.description or n.name, objective=n.description or n.name,
                                 aliases=[key], first_seen=min(seen) if seen else None,
                                 last_seen=max(seen) if seen else None, **common))
        for tid in n.disarm:
            ap = add(stix2.AttackPattern(id=_sid("attack-pattern", f"disarm:{tid}"), name=f"DISARM {tid}", **common,
                                         external_references=[{"source_name": "DISARM", "external_id": tid,
                                                               "url": DISARM_URL.format(tid)}]))
            add(stix2.Relationship(id=_sid("relationship", f"uses:{key}:{tid}"), relationship_type="uses",
                                   source_ref=cid, target_ref=ap, **common))
        return cid

    for key in keys:
        if key in narratives:
            campaign_id(key)
    for (key, src), ms in sorted(by_outlet.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        if key not in narratives:
            continue
        docs = {m.document_id for m in ms}
        first, last = min(m.published_at for m in ms), max(m.published_at for m in ms)
        add(stix2.Sighting(id=_sid("sighting", f"{key}:{src}"), sighting_of_ref=campaign_id(key),
                           where_sighted_refs=[outlet_id(src)], count=min(len(docs), 999999999),
                           first_seen=first, last_seen=max(last, first),
                           description=f"{len(docs)} documents of this outlet assert the narrative '{key}'.",
                           external_references=[{"source_name": "narratrace", "url": document_link(m.document_id, m.url),
                                                 "description": m.text[:1000]} for m in ms[:5]], **common))

    # confirmed matches as notes: the analyst's evidence, quote by quote
    for ms in by_outlet.values():
        for m in ms:
            if m.review == "confirmed":
                add(stix2.Note(id=_sid("note", f"match:{m.narrative}:{m.sentence_id}"),
                               abstract=f"Confirmed: {m.source} asserts '{m.narrative}'",
                               content=f"“{m.text}” — {m.source}, {_iso(m.published_at)}. " + EVIDENCE_NOT_VERDICT,
                               object_refs=[campaign_id(m.narrative), outlet_id(m.source)],
                               labels=["narrative-match", "review:confirmed"],
                               external_references=[{"source_name": m.source or "unknown",
                                                     "url": document_link(m.document_id, m.url)}], **common))

    # contradictions: every confirmed one, plus the strongest unreviewed leads
    found = []
    for c in ws.contradictions(actor=actor):
        if c.review != "rejected" and (not narrative or narrative in (c.narrative_a, c.narrative_b)):
            found.append(c)
    chosen = [c for c in found if c.review == "confirmed"] + [c for c in found if c.review is None][:contradictions]
    for c in chosen:
        refs = [outlet_id(c.a_source), outlet_id(c.b_source)]
        if c.actor in actors:
            refs.insert(0, actor_id(c.actor))
        refs += [campaign_id(k) for k in (c.narrative_a, c.narrative_b) if k in narratives]
        ext = [{"source_name": src or "unknown", "url": document_link(doc_id, url), "description": text[:1000]}
               for src, doc_id, url, text in ((c.a_source, c.a_document_id, c.a_url, c.a_text),
                                              (c.b_source, c.b_document_id, c.b_url, c.b_text))]
        add(stix2.Note(id=_sid("note", f"contradiction:{c.a_sentence_id}:{c.b_sentence_id}"),
                       abstract=f"Contradiction ({'across audiences' if c.cross_audience else 'same audience'}), "
                                f"score {c.score:.2f}",
                       content=(f"A: “{c.a_text}” — {c.a_source}, {c.a_audience} audience, {_iso(c.a_published_at)}.\n"
                                f"B: “{c.b_text}” — {c.b_source}, {c.b_audience} audience, {_iso(c.b_published_at)}.\n"
                                + EVIDENCE_NOT_VERDICT),
                       object_refs=list(dict.fromkeys(refs)), external_references=ext,
                       labels=["contradiction", "cross-audience" if c.cross_audience else "same-audience",
                               f"review:{c.review or 'unreviewed'}"], **common))

    # coordinated publication
    owned = {k for k, s in sources.items() if s.actor == actor}
    for g in ws.coordination():
        if actor and not {d.source for d in g.documents} & owned:
            continue
        refs = list(dict.fromkeys(outlet_id(d.source) for d in g.documents))
        add(stix2.Grouping(id=_sid("grouping", f"coordination:{g.id}:{g.first_document_id}"), context="suspicious-activity",
                           name=f"Coordinated publication ({g.method}), first by {g.first_source} at {_iso(g.started_at)}",
                           description=f"{len(g.documents)} documents from {len(g.sources)} outlets within "
                                       f"{round(g.span_seconds / 60)} minutes. " + EVIDENCE_NOT_VERDICT,
                           object_refs=refs, labels=["coordination", g.method],
                           external_references=[{"source_name": d.source or "unknown",
                                                 "url": document_link(d.document_id, d.url),
                                                 "description": f"published {_iso(d.published_at)}"}
                                                for d in g.documents], **common))

    content = [oid for oid in objects if oid != producer.id]
    if content:
        add(stix2.Report(id=_sid("report", f"export:{narrative}:{actor}"), name="narratrace export", published=now,
                         report_types=["campaign"], object_refs=content, description=EVIDENCE_NOT_VERDICT, **common))
    return stix2.Bundle(objects=list(objects.values()), allow_custom=False)


def write_stix(ws, output: str | Path, **options) -> int:
    bundle = stix_bundle(ws, **options)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(bundle.serialize(pretty=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(bundle.objects)
