"""How prevalent each narrative is over time, split by outlet, actor, audience or language.

Prevalence counts *documents* (not sentences) that carry at least one sentence with the given
stance towards a narrative, per period. Syndicated copies count once per outlet that published
them: reach is part of the story (``unique=True`` counts duplicate groups once instead).
Analyst reviews win over the model: a rejected match is not counted, a corrected stance is.

Undated documents are never dropped: they cannot be placed in a period, so they get a row of
their own (``period`` None, "not placed in time"), count in the all-periods ``totals`` and are
named in every chart ("N undated documents not placed in time").

Normalised (Media Cloud's view): beside each count, the group's *volume* — every document of that
outlet / actor / audience / language in that period, matched or not — and the *share* carrying
the narrative (documents ÷ volume). A loud outlet's hundred matching articles and a quiet one's
five then compare as 10 % and 50 %. Undated documents are normalised by the group's undated
documents, in their own row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from narratrace.errors import InvalidInput
from narratrace.records import PrevalenceRow, PrevalenceTotal, Records

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
    duplicate-group id, published_at or None, group)`` (store/queries/narratives.prevalence_rows).
    A document counts once per narrative; with ``unique``, once per duplicate group, at its earliest
    dated copy. Undated documents come last per narrative, with ``period`` None."""
    counts = _counts(rows, period=period, unique=unique)
    order = sorted(counts, key=lambda k: (k[0], k[1] is None, k[1] or "", k[2]))
    return Records((PrevalenceRow(k, p, g, counts[(k, p, g)]) for k, p, g in order), of=PrevalenceRow)


def _counts(rows: Iterable[tuple], *, period: str, unique: bool) -> dict[tuple, int]:
    """(narrative, period or None, group) → documents, each counted once per narrative."""
    if period not in PERIODS:
        raise PrevalenceError(f"period must be one of {', '.join(PERIODS)}")
    # earliest first, undated last: a duplicate group is placed where it first appeared, and only
    # counts as undated when none of its copies has a date (the order of SQL rows is arbitrary)
    rows = sorted(rows, key=lambda r: (r[3] is None, r[3] or datetime.max, r[1]))
    seen: set[tuple] = set()
    counts: dict[tuple, int] = defaultdict(int)
    for key, doc_id, group_id, pub, g in rows:
        ident = (key, group_id if unique else doc_id)
        if ident in seen:
            continue
        seen.add(ident)
        counts[(key, None if pub is None else period_start(pub, period), str(g or "unknown"))] += 1
    return counts


def volume(rows: Iterable[tuple], *, period: str = "day", unique: bool = False) -> dict[tuple, int]:
    """Every document per (period or None, group) from ``(document id, duplicate-group id,
    published_at or None, group)`` rows (store/queries/narratives.volume_rows), counted the way
    ``prevalence`` counts (``unique``: a duplicate group once, at its earliest dated copy)."""
    counts = _counts(((None, *r) for r in rows), period=period, unique=unique)
    return {(p, g): n for (_k, p, g), n in counts.items()}


def _share(documents: int, vol: int) -> float | None:
    return round(documents / vol, 4) if vol else None


def normalise(rows: Records, volumes: dict[tuple, int]) -> Records:
    """``prevalence`` rows with ``volume`` (the group's documents in that period, ``volume()``)
    and ``share`` = documents / volume. A period in which a group published but carried the
    narrative in none of its documents gets a row too (documents 0, share 0): in a share chart a
    missing point would be read as "no data", and a line would run straight over the silence.
    Count both sides the same way (``unique`` on both or neither). With ``unique``, a syndicated
    story sits in the group of its earliest copy on the volume side and of its earliest *matching*
    copy on the other; when those differ (by outlet, mostly) a group's share can pass 1."""
    have = {(r.narrative, r.period, r.group): r for r in rows}
    for key in {r.narrative for r in rows}:
        for (p, g), n in volumes.items():
            if n and (key, p, g) not in have:
                have[(key, p, g)] = PrevalenceRow(key, p, g, 0)
    order = sorted(have, key=lambda k: (k[0], k[1] is None, k[1] or "", k[2]))
    out = Records(of=PrevalenceRow)
    for k in order:
        vol = volumes.get((k[1], k[2]), 0)
        out.append(replace(have[k], volume=vol, share=_share(have[k].documents, vol)))
    return out


def totals(rows: Iterable[PrevalenceRow], volumes: dict[tuple, int] | None = None) -> Records:
    """All periods together per (narrative, group): documents (dated + undated), dated, undated.
    A document sits in one period only, so the sums are counts of distinct documents. With
    ``volumes`` (``volume()`` at any period), each group's volume over all periods and the share."""
    dated: dict[tuple, int] = defaultdict(int)
    undated: dict[tuple, int] = defaultdict(int)
    for r in rows:
        (undated if r.period is None else dated)[(r.narrative, r.group)] += r.documents
    keys = sorted(dated.keys() | undated.keys())
    per_group: dict[str, int] = defaultdict(int)
    for (_p, g), n in (volumes or {}).items():
        per_group[g] += n
    out = Records(of=PrevalenceTotal)
    for k, g in keys:
        n = dated[(k, g)] + undated[(k, g)]
        t = PrevalenceTotal(k, g, n, dated[(k, g)], undated[(k, g)])
        if volumes is not None:
            t.volume, t.share = per_group.get(g, 0), _share(n, per_group.get(g, 0))
        out.append(t)
    return out


def undated(rows: Iterable[PrevalenceRow]) -> dict[str, int]:
    """Undated documents per narrative (each one not placed in any period)."""
    out: dict[str, int] = defaultdict(int)
    for r in rows:
        if r.period is None:
            out[r.narrative] += r.documents
    return dict(out)


def undated_note(rows: Iterable[PrevalenceRow]) -> str:
    """ "3 undated documents not placed in time" (per narrative when there are several), or ""."""
    per = undated(rows)

    def say(n: int) -> str:
        return f"{n} undated document{'' if n == 1 else 's'} not placed in time"

    if len(per) == 1:
        return say(next(iter(per.values())))
    # per narrative: one document can carry two narratives, so a sum would count it twice
    return "; ".join(f"{say(n)} ({key})" for key, n in sorted(per.items()))


def chart(rows: Records, output: str | Path, *, title: str = "Narrative prevalence",
          value: str = "documents") -> Path:
    """Write the prevalence table as a chart: .html (interactive Vega-Lite, its JavaScript inside the
    page: it opens offline), .svg, .png or .json (the Vega-Lite spec). Undated documents have no
    place on a time axis: the subtitle says how many there are ("N undated documents not placed
    in time"). ``value="share"`` (rows from ``prevalence(normalise=True)``) plots each group's
    share as a line: shares of different groups do not add up, so they are not stacked."""
    if value not in ("documents", "share"):
        raise PrevalenceError("a chart shows documents or share")
    import altair as alt  # lazy: altair costs +0.3 s at CLI start (measured)
    import pandas as pd  # lazy: pandas costs ~90 MB RSS and +0.3 s at CLI start (measured)

    output = Path(output)
    if output.suffix.lower() not in (".html", ".png", ".svg", ".json"):
        raise PrevalenceError("chart file must end in .html, .png, .svg or .json")
    note = undated_note(rows)
    dated = [r for r in rows if r.period is not None]
    df = pd.DataFrame([r.as_dict() for r in dated]) if dated else pd.DataFrame(
        columns=["narrative", "period", "group", "documents", "volume", "share"])
    df["period"] = pd.to_datetime(df["period"])
    if value == "share":
        if len(df) and df["share"].isna().all():
            raise PrevalenceError("a share chart needs prevalence(normalise=True) rows")
        base = alt.Chart(df).mark_line(point=True).encode(
            x=alt.X("period:T", title="period"),
            y=alt.Y("share:Q", title="share of the group's documents", axis=alt.Axis(format="%")),
            color=alt.Color("group:N", title="group"),
            tooltip=["narrative", "period:T", "group", "documents", "volume", alt.Tooltip("share:Q", format=".1%")])
    else:
        base = alt.Chart(df).mark_bar().encode(
            x=alt.X("period:T", title="period"), y=alt.Y("sum(documents):Q", title="documents"),
            color=alt.Color("group:N", title="group"),
            tooltip=["narrative", "period:T", "group", "documents"])
    narratives = sorted(df["narrative"].unique()) if len(df) else []
    ch = base.properties(width=520, height=110).facet(row=alt.Row("narrative:N", title=None)) if len(narratives) > 1 \
        else base.properties(width=520, height=220)
    ch = ch.properties(title=alt.TitleParams(title, subtitle=[note]) if note else title)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix.lower() == ".html":
        # inline: vl-convert embeds vega, vega-lite and vega-embed in the page (~0.9 MB) — the
        # default page loads them from a public CDN, blank offline and a tell to a third party
        # online; no actions menu, whose "open in editor" links to an outside site
        ch.save(str(output), inline=True, embed_options={"actions": False})
    else:
        ch.save(str(output))  # .png/.svg/.json: vl-convert-python, no network
    return output
