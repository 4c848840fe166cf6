"""CLI for who said it and who carried it: entities, quotes, speakers, provenance, coordination.
Thin: everything happens in narratrace.Workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from narratrace.cli.common import (
    ActorF,
    AudienceF,
    JsonOpt,
    LanguageF,
    SinceF,
    SourceF,
    UntilF,
    WorkspaceOpt,
    _esc,
    _filters,
    _print_json,
    err,
    fail,
    open_ws,
    out,
)
from narratrace.progress import CliProgress

entities_app = typer.Typer(help="The analyst's alias registry: people, organisations, places in any language.\n\n"
                                "Example: narratrace entities import entities.yaml", no_args_is_help=True)


def _day(d) -> str:
    return d.strftime("%Y-%m-%d %H:%M") if d else "undated"


def spread_note(steps) -> str:
    """What "first" means in a spread, and how many carriers' documents it could not place."""
    n = sum(st.undated for st in steps)
    only = sum(1 for st in steps if st.first is None)
    note = "first: the earliest dated statement"
    if n:
        note += (f"; {n} undated document{'' if n == 1 else 's'} not placed in time"
                 + (f" ({only} outlet{'' if only == 1 else 's'} only undated, listed last)" if only else ""))
    return note


def _short(text: str, n: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def extract(ws, redo: bool = False) -> dict:
    """Run the (incremental) `quotes` stage with progress: the quote commands show every document."""
    return ws.analyze(["quotes"], options={"quotes": {"redo": True}} if redo else None,
                      progress=CliProgress(err))["quotes"]


@entities_app.command("import")
def entities_import(file: Annotated[Path, typer.Argument(help="YAML ({entities: [...]}) or CSV (id, name, kind, "
                                                                "actor, description, aliases, language).")],
                    workspace: WorkspaceOpt = None) -> None:
    """Import or update entities and their aliases (transliterations, titles, other scripts).

    Example: narratrace entities import entities.yaml
    """
    counts = open_ws(workspace, create=True).import_entities(file)
    out.print(f"imported {counts['entities']} entities, {counts['aliases']} new aliases "
              "(run `narratrace quotes --redo` to re-link quotes already stored)")


@entities_app.command("list")
def entities_list(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The entities with their aliases and how often they are mentioned and quoted.

    Example: narratrace entities list --json
    """
    rows = open_ws(workspace).entities()
    if as_json:
        return _print_json(rows.dicts())
    t = Table("id", "name", "kind", "actor", "aliases", "mentions", "quotes")
    for e in rows:
        t.add_row(e.key, _esc(e.name), e.kind, e.actor or "", _esc(", ".join(e.aliases)), str(e.mentions), str(e.quotes))
    out.print(t)


@entities_app.command("mentions")
def entities_mentions(
    entity: Annotated[str, typer.Argument(help="The entity's id (as in `narratrace entities list`).")],
    kind: Annotated[str | None, typer.Option("--kind", help="Only 'quote' (the entity speaks) or 'mention' (it is "
                                                            "named).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="List at most this many places (the counts cover "
                                                              "all).")] = 50,
    source: SourceF = None, actor: ActorF = None, audience: AudienceF = None, language: LanguageF = None,
    since: SinceF = None, until: UntilF = None,
    workspace: WorkspaceOpt = None, as_json: JsonOpt = False,
) -> None:
    """Who quotes and who names an entity: counts by outlet and by month, then each quote (the
    entity is the speaker) and mention (it is named) with its document, outlet, date and exact span.
    Quotes and mentions are extracted first for new documents.

    Example: narratrace entities mentions henrik-vallo --since 2026-03-01 --json
    """
    ws = open_ws(workspace)
    filters = _filters(source, actor, audience, language, since, until)
    ws.entity_mentions(entity, kind=kind, limit=1, filters=filters)  # an unknown id or filter fails before extraction
    extract(ws)
    m = ws.entity_mentions(entity, kind=kind, limit=limit, filters=filters)
    if as_json:
        return _print_json(m.as_dict())
    e = m.entity
    out.print(f"[bold]{_esc(e.name)}[/] ({e.key}): {m.quotes} quotes and {m.mentions} mentions in {m.documents} "
              f"documents" + (f", {m.undated} undated (counted, not placed in a month)" if m.undated else ""))
    if not m.items:
        return out.print("no quote by or mention of this entity" + (" with these filters" if filters else ""))
    t = Table("outlet", "source", "docs", "quotes", "mentions", title="by outlet")
    for c in m.by_outlet:
        t.add_row(_esc(c.name or "(no source)"), c.group or "", str(c.documents), str(c.quotes), str(c.mentions))
    out.print(t)
    t = Table("month", "docs", "quotes", "mentions", title="by month")
    for c in m.by_month:
        t.add_row(c.group or "undated", str(c.documents), str(c.quotes), str(c.mentions))
    out.print(t)
    for it in m.items:  # one line per place and its context below: a table's columns wrap Persian badly
        what = it.kind + (f" (via {_esc(it.carrier)})" if it.carrier else "")
        out.print(f"{_day(it.published_at)}  [bold]{_esc(it.outlet or it.source or '(no source)')}[/]  doc "
                  f"{it.document_id} \\[{it.start}:{it.end}]  {what}: “{_esc(_short(it.text, 80))}”", soft_wrap=True)
        cut = max(0, it.start - it.context_start - 60)  # the context from a little before the span
        out.print(f"   [dim]{'…' if cut else ''}{_esc(_short(it.context[cut:], 160))}[/]", soft_wrap=True)
    if m.shown < m.quotes + m.mentions:
        out.print(f"[dim]{m.shown} of {m.quotes + m.mentions} shown (--limit)[/]")


def quotes(
    speaker: Annotated[str | None, typer.Option("--speaker", help="Entity id or speaker name.")] = None,
    document: Annotated[int | None, typer.Option("--document", help="Only this document id.")] = None,
    unattributed: Annotated[bool, typer.Option("--unattributed", help="Only quotes with no speaker, with why.")] = False,
    redo: Annotated[bool, typer.Option("--redo", help="Extract again from every document (after new aliases).")] = False,
    limit: Annotated[int, typer.Option("--limit", help="At most this many.")] = 50,
    source: SourceF = None, actor: ActorF = None, audience: AudienceF = None, language: LanguageF = None,
    since: SinceF = None, until: UntilF = None,
    workspace: WorkspaceOpt = None, as_json: JsonOpt = False,
) -> None:
    """Direct and reported quotes with their speakers (extracted first for new documents).

    Example: narratrace quotes --speaker henrik-vallo --json
    """
    ws = open_ws(workspace)
    extract(ws, redo=redo)
    rows = ws.quotes(speaker=speaker, document=document, attributed=False if unattributed else None, limit=limit,
                     filters=_filters(source, actor, audience, language, since, until))
    if as_json:
        return _print_json(rows.dicts())
    t = Table("id", "published", "source", "speaker", "kind", "quote")
    for q in rows:
        who = q.speaker or f"[dim]({_esc(q.reason or 'unattributed')})[/]"
        t.add_row(str(q.id), _day(q.published_at), q.source or "", who if q.speaker is None else _esc(who), q.kind,
                  _esc(_short(q.text)))
    out.print(t)


def speakers(
    min_outlets: Annotated[int, typer.Option("--min-outlets", help="Only people quoted by at least this many outlets "
                                                                   "(3 lists recycled sources).")] = 1,
    limit: Annotated[int, typer.Option("--limit", help="At most this many.")] = 30,
    source: SourceF = None, actor: ActorF = None, audience: AudienceF = None, language: LanguageF = None,
    since: SinceF = None, until: UntilF = None,
    workspace: WorkspaceOpt = None, as_json: JsonOpt = False,
) -> None:
    """Who is quoted, by how many outlets (outside their own actor's first), first where and when.

    Example: narratrace speakers --min-outlets 3
    """
    ws = open_ws(workspace)
    extract(ws)
    rows = ws.speakers(min_outlets=min_outlets, limit=limit, filters=_filters(source, actor, audience, language, since, until))
    if as_json:
        return _print_json(rows.dicts())
    t = Table("speaker", "quotes", "docs", "outlets", "not own", "first seen", "first outlet", "outlets (first use)")
    for sp in rows:
        t.add_row(_esc(sp.name), str(sp.quotes), str(sp.documents), str(sp.outlets), str(sp.other_outlets),
                  _day(sp.first_seen), sp.first_source or "",
                  ", ".join(f"{u.source} {u.first:%m-%d}" if u.first else f"{u.source}" for u in sp.by_outlet if u.source))
    out.print(t)


def provenance(
    speaker: Annotated[str | None, typer.Option("--speaker", help="Only quotes of this entity id or name.")] = None,
    narrative: Annotated[str | None, typer.Option("--narrative", help="Show how this narrative spread instead.")] = None,
    min_documents: Annotated[int, typer.Option("--min-documents", help="Quotes found in at least this many "
                                                                      "documents.")] = 2,
    source: SourceF = None, actor: ActorF = None, audience: AudienceF = None, language: LanguageF = None,
    since: SinceF = None, until: UntilF = None,
    workspace: WorkspaceOpt = None, as_json: JsonOpt = False,
) -> None:
    """Who carried a quote first and who repeated it (across languages), or how a narrative spread.

    Example: narratrace provenance --speaker henrik-vallo   |   narratrace provenance --narrative front-organised-riots
    """
    ws = open_ws(workspace)
    filters = _filters(source, actor, audience, language, since, until)
    if narrative:
        steps = ws.narrative_spread(narrative, filters=filters)
        if as_json:
            return _print_json(steps.dicts())
        t = Table("first", "source", "audience", "lang", "docs", "undated", "statement")
        for st in steps:
            t.add_row(_day(st.first), st.source or "", st.audience or "", st.language or "", str(st.documents),
                      str(st.undated), _esc(_short(st.text)))
        out.print(t)
        return out.print(spread_note(steps))
    extract(ws)
    with CliProgress(err).step("embed quotes"):
        trails = ws.quote_trails(speaker=speaker, min_documents=min_documents, filters=filters)
    if as_json:
        return _print_json(trails.dicts())
    for tr in trails:
        out.print(f"[bold]#{tr.id}[/] {_esc(tr.speaker or 'unattributed')}: “{_esc(_short(tr.text, 110))}” — "
                  f"{tr.documents} documents, {tr.outlets} outlets, {'/'.join(tr.languages)}")
        out.print(f"   first  {_day(tr.first.published_at)}  {tr.first.source or '?'}  (doc {tr.first.document_id})")
        for c in tr.repeats:
            out.print(f"   then   {_day(c.published_at)}  {c.source or '?'}  (doc {c.document_id}, "
                      f"{c.language}, similarity {c.similarity:.2f})")
    if not trails:
        out.print("no quote is carried by more than one document yet")


def coordination(
    window: Annotated[str | None, typer.Option("--window", help="Seconds, or 'auto' to estimate it from the data "
                                                                "(CooRnet's method). Default: one hour.")] = None,
    threshold: Annotated[float | None, typer.Option("--threshold", help="Estimated Jaccard for near-identical text "
                                                                        "(default 0.5, see detect/coordination.py).")] = None,
    translations: Annotated[bool, typer.Option("--translations/--no-translations",
                                               help="Also find translated copies (embeds documents).")] = True,
    source: Annotated[str | None, typer.Option("--source", help="Only groups this outlet is in.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many groups.")] = 30,
    workspace: WorkspaceOpt = None, as_json: JsonOpt = False,
) -> None:
    """Outlets publishing the same text, or its translation, within a time window: groups with their
    first publisher. Evidence of possible coordination (a wire service also looks like this).

    Example: narratrace coordination --window auto --json
    """
    ws = open_ws(workspace)
    win: float | str | None = window
    if window not in (None, "auto"):
        try:
            win = float(window)
        except ValueError:
            fail(f"--window '{window}' is not a number of seconds or 'auto'")
        if win <= 0:
            fail("--window must be a positive number of seconds")
    found = ws.analyze(["coordination"], options={"coordination": {"window": win, "threshold": threshold,
                                                                   "translations": translations}},
                       progress=CliProgress(err))["coordination"]
    groups = ws.coordination(source=source, limit=limit)
    if as_json:
        return _print_json({"found": found, "groups": groups.dicts()})
    out.print(f"{found['near_duplicate']} near-duplicate and {found['translation']} translation groups "
              f"(window {found['window_seconds']:.0f} s; not placed: {found['undated']} undated, "
              f"{found['no_source']} without a source)")
    for g in groups:
        out.print(f"[bold]#{g.id}[/] {g.method}: {len(g.documents)} documents, {len(g.sources)} outlets within "
                  f"{g.span_seconds / 60:.0f} min, first [bold]{g.first_source}[/]")
        for d in g.documents:
            out.print(f"   {_day(d.published_at)}  {d.source or '?':<12} {d.language or '':<3} "
                      f"{d.similarity:.2f}  {_esc(_short(d.title or '', 70))} (doc {d.document_id})")


def register(app: typer.Typer) -> None:
    app.command()(coordination)
    app.command()(quotes)
    app.command()(speakers)
    app.command()(provenance)
    app.add_typer(entities_app, name="entities")
