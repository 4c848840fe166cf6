"""The `narratrace` command: a thin layer over narratrace.Workspace (Typer + Rich)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from narratrace import __version__
from narratrace.cli.common import (
    ActorF,
    AudienceF,
    Group,
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
from narratrace.progress import CliProgress, ingest_progress

app = typer.Typer(
    name="narratrace",
    cls=Group,  # the one error handler (cli/common.py)
    help="Trace information campaigns: ingest, clean and search articles, statements and posts; match "
         "them to narratives; find an actor's contradictions across audiences.\n\n"
         "Example: narratrace demo",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)
sources_app = typer.Typer(help="The analyst's registry of actors and sources.\n\nExample: narratrace sources import sources.yaml",
                          no_args_is_help=True)
docs_app = typer.Typer(help="Stored documents.\n\nExample: narratrace docs list --language fa", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
app.add_typer(docs_app, name="docs")



def _version(value: bool) -> None:
    if value:
        out.print(f"narratrace {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Show the version and exit.")] = False) -> None:
    pass


@app.command()
def init(workspace: WorkspaceOpt = None) -> None:
    """Create an empty workspace (an SQLite file, or the schema in a PostgreSQL database) or upgrade one.

    Example: narratrace init --workspace campaign.db
    Example: narratrace init --workspace postgresql://analyst@db.example:5432/campaign
    """
    ws = open_ws(workspace, create=True)
    out.print(f"workspace ready: {ws.path}")


@sources_app.command("import")
def sources_import(file: Annotated[Path, typer.Argument(help="YAML ({actors, sources}) or CSV (one source per row).")],
                   workspace: WorkspaceOpt = None) -> None:
    """Import or update actors and sources; documents match sources by domain, feed or channel.

    Example: narratrace sources import sources.yaml
    """
    from narratrace.store.registry import RegistryError  # lazy: CLI start-up
    ws = open_ws(workspace, create=True)
    try:
        counts = ws.import_sources(file)
    except RegistryError as exc:
        fail(f"{file}: {exc}" if str(file) not in str(exc) else str(exc))
    out.print(f"imported {counts['actors']} actors, {counts['sources']} sources, {counts['locators']} new locators")


@sources_app.command("list")
def sources_list(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """List sources with their actor, audience and document counts.

    Example: narratrace sources list --json
    """
    rows = open_ws(workspace).sources()
    if as_json:
        return _print_json(rows.dicts())
    t = Table("id", "name", "actor", "audience", "lang", "kind", "domains", "docs")
    for r in rows:
        t.add_row(r.key, r.name, r.actor or "", r.audience or "", r.language or "", r.kind or "",
                  ", ".join(r.domains), str(r.documents))
    out.print(t)


@app.command()
def ingest(
    inputs: Annotated[list[str] | None, typer.Argument(help="Files, directories (recursive) or globs.")] = None,
    url: Annotated[list[str] | None, typer.Option("--url", help="Fetch this web page (repeatable).")] = None,
    feed: Annotated[list[str] | None, typer.Option("--feed", help="Fetch this RSS/Atom feed and its articles.")] = None,
    sitemap: Annotated[list[str] | None, typer.Option("--sitemap", help="Fetch the pages listed in this sitemap.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Attribute everything to this source id.")] = None,
    map_: Annotated[list[str] | None, typer.Option("--map", help="CSV/JSONL column mapping FIELD=COLUMN "
                                                   "(fields: text, html, url, title, author, published_at, source, "
                                                   "language).")] = None,
    max_mb: Annotated[float, typer.Option("--max-mb", help="Largest single document accepted, in MB.")] = 50,
    allow_private: Annotated[bool, typer.Option("--allow-private",
                                                help="Allow fetching from private/loopback addresses.")] = False,
    no_recursive: Annotated[bool, typer.Option("--no-recursive", help="Do not descend into sub-directories.")] = False,
    follow_symlinks: Annotated[bool, typer.Option(
        "--follow-symlinks", help="Follow symlinks that lead out of a given folder (skipped and listed otherwise).")] = False,
    source_from_folder: Annotated[bool, typer.Option(
        "--source-from-folder", help="A file under DIR/<source-id>/ belongs to that registered source.")] = False,
    workers: Annotated[int, typer.Option("--workers", help="Extraction processes (0: one per core, up to 4).")] = 0,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingest local files (HTML, text, Markdown, PDF, JSONL, CSV, WARC, Telegram export) or, when asked, URLs.

    Re-running on the same material adds nothing; an interrupted run can simply be run again.

    Examples:

        narratrace ingest articles/ transcripts/*.txt

        narratrace ingest posts.csv --map text=body --map published_at=created

        narratrace ingest corpus/ --source-from-folder     # corpus/<source-id>/...

        narratrace ingest --feed https://news.example/rss --source example-news
    """
    from narratrace.ingest.pipeline import IngestReport  # lazy: CLI start-up
    from narratrace.store.registry import RegistryError  # lazy: CLI start-up
    if not (inputs or url or feed or sitemap):
        fail("nothing to ingest: give files/directories, or --url/--feed/--sitemap (see --help)")
    mapping = {}
    for m in map_ or []:
        if "=" not in m:
            fail(f"--map '{m}' must look like FIELD=COLUMN, e.g. --map text=body")
        k, v = m.split("=", 1)
        mapping[k.strip()] = v.strip()
    ws = open_ws(workspace, create=True)
    max_bytes = int(max_mb * 1024 * 1024)
    reports = []
    try:
        if inputs:
            with ingest_progress(err, "files", enabled=True) as (on_total, on_item):
                reports.append(ws.ingest(inputs, source=source, mapping=mapping, max_bytes=max_bytes,
                                         recursive=not no_recursive, source_from_folder=source_from_folder,
                                         follow_symlinks=follow_symlinks,
                                         progress=on_item, on_files=on_total,
                                         workers=workers or None))
        for mode, urls in (("page", url), ("feed", feed), ("sitemap", sitemap)):
            if urls:
                with ingest_progress(err, f"{mode}s", enabled=True) as (on_total, on_item):
                    on_total(None)
                    reports.append(ws.ingest_urls(urls, mode=mode, source=source, allow_private=allow_private,
                                                  max_bytes=max_bytes, progress=on_item))
    except RegistryError as exc:
        fail(str(exc))
    total = IngestReport()
    for r in reports:
        total.added += r.added
        total.exact_duplicates += r.exact_duplicates
        total.near_duplicates += r.near_duplicates
        total.already_present += r.already_present
        total.skipped += r.skipped
        total.failed += r.failed
        total.warnings += r.warnings
        total.undated += r.undated  # summary() prints "undated N"; the JSON lists them
        total.redated += r.redated
    if as_json:
        _print_json(total.as_dict())
    else:
        for p in total.skipped:
            err.print(f"[yellow]skipped[/] {_esc(p.line())}", highlight=False, markup=True, soft_wrap=True)
        for p in total.failed:
            err.print(f"[red]failed[/] {_esc(p.line())}", highlight=False, markup=True, soft_wrap=True)
        for p in total.warnings:
            err.print(f"[yellow]warning[/] {_esc(p.line())}", highlight=False, markup=True, soft_wrap=True)
        out.print(total.summary())
    if total.nothing_ingested:  # every input failed or was skipped, or there was none: say so in the exit code
        fail("nothing was ingested" + (f": {len(total.failed)} failed, {len(total.skipped)} skipped (listed above)"
                                       if total.failed or total.skipped else ": no files found in the inputs"))


@docs_app.command("list")
def docs_list(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many.")] = 50,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many first.")] = 0,
    unique: Annotated[bool, typer.Option("--unique", help="Hide documents linked as duplicates.")] = False,
    source: SourceF = None, actor: ActorF = None, audience: AudienceF = None, language: LanguageF = None,
    since: SinceF = None, until: UntilF = None,
    workspace: WorkspaceOpt = None, as_json: JsonOpt = False,
) -> None:
    """List documents by publication time, with filters.

    Example: narratrace docs list --audience foreign --since 2026-02-01 --json
    """
    rows = open_ws(workspace).documents(limit=limit, offset=offset, include_duplicates=not unique,
                                        filters=_filters(source, actor, audience, language, since, until))
    if as_json:
        return _print_json(rows.dicts())
    t = Table("id", "published", "source", "aud.", "lang", "title", "dup of")
    for d in rows:
        t.add_row(str(d.id), d.published_at.strftime("%Y-%m-%d %H:%M") if d.published_at else "—", d.source or "—",
                  d.audience or "", d.language or "", (d.title or "")[:70],
                  f"{d.duplicate_of} ({d.duplicate_kind})" if d.duplicate_of else "")
    out.print(t)


@docs_app.command("show")
def docs_show(
    doc_id: Annotated[int, typer.Argument(help="Document id (see `docs list`).")],
    sentences: Annotated[bool, typer.Option("--sentences", help="Also list sentences with their spans.")] = False,
    workspace: WorkspaceOpt = None, as_json: JsonOpt = False,
) -> None:
    """Show one document: metadata, clean text and (optionally) its sentences with spans.

    Example: narratrace docs show 12 --sentences
    """
    d = open_ws(workspace).document(doc_id)
    if as_json:
        return _print_json(d.as_dict())
    for k in ("id", "title", "url", "author", "published_at", "language", "source", "actor", "audience", "origin",
              "duplicate_of", "duplicate_kind", "duplicate_score"):
        v = getattr(d, k)
        if v is not None:
            out.print(f"[bold]{k}[/]: {v}", highlight=False, markup=True)
    out.print()
    out.print(d.text, markup=False, highlight=False)
    if sentences:
        out.print()
        for se in d.sentences or []:
            out.print(f"[dim]{se.idx:>3} {se.start}-{se.end} {se.language}[/] {_esc(se.text)}", highlight=False)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help='Words (all must occur), "a phrase", word* for prefixes, OR; '
                                              'with --semantic: a statement in any language.')],
    semantic: Annotated[bool, typer.Option("--semantic", help="Find sentences with the same meaning, in any "
                                                              "language (multilingual embeddings).")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many hits.")] = 20,
    source: SourceF = None, actor: ActorF = None, audience: AudienceF = None, language: LanguageF = None,
    since: SinceF = None, until: UntilF = None,
    workspace: WorkspaceOpt = None, as_json: JsonOpt = False,
) -> None:
    """Full-text search over clean text and titles (BM25 ranked), or --semantic search over sentences.

    Examples:

        narratrace search '"no support" cult' --audience foreign --since 2026-01-01

        narratrace search --semantic "the movement has no supporters at home" --language fa
    """
    ws = open_ws(workspace)
    filters = _filters(source, actor, audience, language, since, until)
    if semantic:
        ws.analyze(["embed"], progress=CliProgress(err))
        hits = ws.semantic_search(query, limit=limit, filters=filters)
        if as_json:
            return _print_json(hits.dicts())
        if not hits:
            out.print("no matches")
            return
        t = Table("score", "sentence", "published", "source", "aud.", "lang", "text")
        for h in hits:
            t.add_row(f"{h.score:.3f}", str(h.sentence_id), h.published_at.strftime("%Y-%m-%d") if h.published_at else "—",
                      h.source or "—", h.audience or "", h.language or "", _esc(h.text))
        out.print(t)
        return
    hits = ws.search(query, limit=limit, filters=filters)
    if as_json:
        return _print_json(hits.dicts())
    if not hits:
        out.print("no matches")
        return
    t = Table("doc", "published", "source", "aud.", "lang", "snippet")
    for h in hits:
        snippet = _esc(h.snippet).replace("\u27e8", "[bold yellow]").replace("\u27e9", "[/]")
        t.add_row(str(h.document_id), h.published_at.strftime("%Y-%m-%d") if h.published_at else "—",
                  h.source or "—", h.audience or "", h.language or "", snippet)
    out.print(t)


@app.command()
def stats(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Counts: documents, duplicates, sentences, sources, languages, date range, ingest problems.

    Example: narratrace stats --json
    """
    s = open_ws(workspace).stats()
    if as_json:
        return _print_json(s)
    t = Table("what", "count", show_header=False)
    for k in ("documents", "unique_documents", "exact_duplicates", "near_duplicates", "sentences", "sources",
              "actors", "unattributed_documents", "published_first", "published_last", "undated_documents"):
        t.add_row(k.replace("_", " "), str(s[k]))
    t.add_row("languages", ", ".join(f"{k} {v}" for k, v in s["languages"].items()))
    t.add_row("ingest problems", ", ".join(f"{k} {v}" for k, v in s["ingest_problems"].items()) or "none")
    out.print(t)


@app.command()
def export(
    output: Annotated[str, typer.Option("--output", "-o", help="File to write, or - for stdout.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv, jsonl or parquet; gexf or graphml for a graph.")] = "jsonl",
    records: Annotated[str, typer.Option("--records", help="documents (with clean text), sentences, sources, quotes, "
                                                           "speakers, entities, coordination, narratives, matches, "
                                                           "contradictions, reviews or translations.")] = "documents",
    graph: Annotated[str | None, typer.Option("--graph", help="Export a graph instead: citation (speaker → outlet), "
                                                               "citation-documents, coordination (outlet network) or "
                                                               "coordination-spread (first publisher → followers, timed); "
                                                               "gexf, graphml or csv (edge list).")] = None,
    source: SourceF = None, actor: ActorF = None, audience: AudienceF = None, language: LanguageF = None,
    since: SinceF = None, until: UntilF = None,
    csv_raw_formulas: Annotated[bool, typer.Option(
        "--csv-raw-formulas", help="Write CSV cells that start with = + - @ (or a tab/CR) as they are. By default "
                                   "they get a leading ' so a spreadsheet shows them as text: ingested text is "
                                   "hostile, and a cell like =HYPERLINK(…) or =cmd|… runs when the CSV is opened.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Export records as CSV, JSONL or Parquet (each document carries its clean `text`), or a graph
    as GEXF/GraphML for Gephi.

    Example: narratrace export --format csv --output documents.csv --language fa
             narratrace export --format gexf --graph coordination --output outlets.gexf
    """
    ws = open_ws(workspace)
    if graph is not None or fmt in ("gexf", "graphml"):
        try:
            nodes, edges = ws.export_graph(graph or "coordination", fmt, output,
                                           filters=_filters(source, actor, audience, language, since, until))
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}")
        if output != "-":
            out.print(f"wrote the {graph or 'coordination'} graph ({nodes} nodes, {edges} edges) to {output}")
        return
    unfiltered = ("sources", "entities", "coordination", "narratives", "contradictions", "reviews", "translations")
    filters = _filters(source, actor, audience, language, since, until) if records not in unfiltered else None
    try:
        n = ws.export(records, fmt, output, filters=filters, csv_formulas=csv_raw_formulas)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    if output != "-":
        out.print(f"wrote {n} {records} to {output}")


@app.command()
def demo(
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="Where to build the demo workspace: a file or a "
                                                                    "postgresql:// URL.")] = "narratrace-demo.db",
    fresh: Annotated[bool, typer.Option("--fresh/--keep", help="Start from an empty workspace.")] = True,
    record_only: Annotated[bool, typer.Option("--record-only", help="Skip narratives and contradictions "
                                                                    "(no embeddings: a few seconds).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Build a workspace from the bundled fictional corpus and show what narratrace finds in it:
    the record, narratives and their prevalence by audience, and cross-audience contradictions.

    Example: narratrace demo --workspace demo.db
    Example: narratrace demo --workspace postgresql://analyst@db.example:5432/demo
    """
    from narratrace.demo.run import run_demo  # lazy: CLI start-up
    run_demo(workspace, fresh=fresh, console=out, err=err, as_json=as_json, analysis=not record_only)


from narratrace.cli import analysis as _analysis  # noqa: E402
from narratrace.cli import provenance as _provenance  # noqa: E402
from narratrace.cli import report as _report  # noqa: E402
from narratrace.cli import serve as _serve  # noqa: E402
from narratrace.cli import store as _store  # noqa: E402

_analysis.register(app)  # the analysis commands live in their own module
_provenance.register(app)
_report.register(app)
_serve.register(app)
_store.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
