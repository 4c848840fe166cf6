"""How prevalent each narrative is over time, split by outlet, actor, audience or language.

Prevalence counts *documents* (not sentences) that carry at least one sentence with the given
stance towards a narrative, per period. Syndicated copies count once per outlet that published
them: reach is part of the story (``unique=True`` counts duplicate groups once instead).
Analyst reviews win over the model: a rejected match is not counted, a corrected stance is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from narratrace.records import Records, _Record
from narratrace.store.models import Actor, Document, Narrative, NarrativeMatch, Review, Sentence, Source

PERIODS = ("day", "week", "month")
DIMENSIONS = {"source": Source.key, "actor": Actor.key, "audience": Source.audience,
              "language": Document.language, "none": None}


class PrevalenceError(ValueError):
    pass


@dataclass
class PrevalenceRow(_Record):
    narrative: str
    period: str  # ISO date of the period's first day
    group: str
    documents: int


def period_start(ts: datetime, period: str) -> str:
    d = ts.date()
    if period == "week":
        d = d - timedelta(days=d.weekday())
    elif period == "month":
        d = d.replace(day=1)
    return d.isoformat()


def prevalence(ws, *, period: str = "day", by: str = "audience", stance: str = "asserts",
               narrative: str | None = None, unique: bool = False, **filters) -> Records:
    if period not in PERIODS:
        raise PrevalenceError(f"period must be one of {', '.join(PERIODS)}")
    if by not in DIMENSIONS:
        raise PrevalenceError(f"--by must be one of {', '.join(DIMENSIONS)}")
    if stance not in ("asserts", "denies", "neutral", "any"):
        raise PrevalenceError("stance must be asserts, denies, neutral or any")
    rv = aliased(Review)
    dim = DIMENSIONS[by]
    effective = func.coalesce(rv.stance, NarrativeMatch.stance)
    q = (select(Narrative.key, Document.id, func.coalesce(Document.duplicate_of_id, Document.id), Document.published_at,
                dim if dim is not None else Narrative.key)
         .join(NarrativeMatch, NarrativeMatch.narrative_id == Narrative.id)
         .join(Sentence, NarrativeMatch.sentence_id == Sentence.id)
         .join(Document, Sentence.document_id == Document.id)
         .outerjoin(Source, Document.source_id == Source.id).outerjoin(Actor, Source.actor_id == Actor.id)
         .outerjoin(rv, and_(rv.kind == "match", rv.sentence_id == Sentence.id, rv.narrative_id == Narrative.id))
         .where(Document.published_at.is_not(None))
         .where(func.coalesce(rv.verdict, "") != "rejected"))
    if stance != "any":
        q = q.where(effective == stance)
    if narrative:
        q = q.where(Narrative.key == narrative)
    q = ws._filter(q, **filters)
    seen: set[tuple] = set()
    counts: dict[tuple, int] = defaultdict(int)
    with ws.sessions() as s:
        for key, doc_id, group_id, pub, g in s.execute(q):
            group = "all" if dim is None else (g or "unknown")
            ident = (key, group_id if unique else doc_id)
            if ident in seen:
                continue
            seen.add(ident)
            counts[(key, period_start(pub, period), str(group))] += 1
    return Records(PrevalenceRow(k, p, g, n) for (k, p, g), n in sorted(counts.items()))


def chart(rows: Records, output: str | Path, *, title: str = "Narrative prevalence") -> Path:
    """Write the prevalence table as a chart: .html (interactive Vega-Lite) or .png."""
    import altair as alt
    import pandas as pd

    output = Path(output)
    if output.suffix.lower() not in (".html", ".png", ".svg", ".json"):
        raise PrevalenceError("chart file must end in .html, .png, .svg or .json")
    df = pd.DataFrame([r.as_dict() for r in rows]) if rows else pd.DataFrame(
        columns=["narrative", "period", "group", "documents"])
    df["period"] = pd.to_datetime(df["period"])
    base = alt.Chart(df).mark_bar().encode(
        x=alt.X("period:T", title="period"), y=alt.Y("sum(documents):Q", title="documents"),
        color=alt.Color("group:N", title="group"),
        tooltip=["narrative", "period:T", "group", "documents"])
    narratives = sorted(df["narrative"].unique()) if len(df) else []
    ch = base.properties(width=520, height=110).facet(row=alt.Row("narrative:N", title=None)) if len(narratives) > 1 \
        else base.properties(width=520, height=220)
    ch = ch.properties(title=title)
    output.parent.mkdir(parents=True, exist_ok=True)
    ch.save(str(output))  # .png/.svg need vl-convert-python, a dependency; no network is used
    return output
