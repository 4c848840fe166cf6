"""How prevalent each narrative is over time, split by outlet, actor, audience or language.

Prevalence counts *documents* (not sentences) that carry at least one sentence with the given
stance towards a narrative, per period. Syndicated copies count once per outlet that published
them: reach is part of the story (``unique=True`` counts duplicate groups once instead).
Analyst reviews win over the model: a rejected match is not counted, a corrected stance is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from narratrace.errors import InvalidInput
from narratrace.records import PrevalenceRow, Records

PERIODS = ("day", "week", "month")
STANCES = ("asserts", "denies", "neutral", "any")


class PrevalenceError(InvalidInput):
    pass


def period_start(ts: datetime, period: str) -> str:
    d = ts.date()
    if period == "week":
        d = d - timedelta(days=d.weekday())
    elif period == "month":
        d = d.replace(day=1)
    return d.isoformat()


def prevalence(rows: Iterable[tuple], *, period: str = "day", unique: bool = False) -> Records:
    """Documents per (narrative, period, group) from match rows ``(narrative, document id,
    duplicate-group id, published_at, group)`` (store/queries/narratives.prevalence_rows). A
    document counts once per narrative and period; with ``unique``, once per duplicate group."""
    if period not in PERIODS:
        raise PrevalenceError(f"period must be one of {', '.join(PERIODS)}")
    seen: set[tuple] = set()
    counts: dict[tuple, int] = defaultdict(int)
    for key, doc_id, group_id, pub, g in rows:
        ident = (key, group_id if unique else doc_id)
        if ident in seen:
            continue
        seen.add(ident)
        counts[(key, period_start(pub, period), str(g or "unknown"))] += 1
    return Records((PrevalenceRow(k, p, g, n) for (k, p, g), n in sorted(counts.items())), of=PrevalenceRow)


def chart(rows: Records, output: str | Path, *, title: str = "Narrative prevalence") -> Path:
    """Write the prevalence table as a chart: .html (interactive Vega-Lite, its JavaScript inside the
    page: it opens offline), .svg, .png or .json (the Vega-Lite spec)."""
    import altair as alt  # lazy: altair costs +0.3 s at CLI start (measured)
    import pandas as pd  # lazy: pandas costs ~90 MB RSS and +0.3 s at CLI start (measured)

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
    if output.suffix.lower() == ".html":
        # inline: vl-convert embeds vega, vega-lite and vega-embed in the page (~0.9 MB) — the
        # default page loads them from a public CDN, blank offline and a tell to a third party
        # online; no actions menu, whose "open in editor" links to an outside site
        ch.save(str(output), inline=True, embed_options={"actions": False})
    else:
        ch.save(str(output))  # .png/.svg/.json: vl-convert-python, no network
    return output
