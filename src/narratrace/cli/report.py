"""CLI for what leaves the workbench: the briefing (Markdown, HTML, PDF) and the standard exports
(STIX 2.1, schema.org ClaimReview). Thin: the work happens in narratrace.report.briefing/interop."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from narratrace.cli.common import (
    ActorF,
    JsonOpt,
    SinceF,
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

OutputOpt = Annotated[Path, typer.Option("--output", "-o", help="File to write.", dir_okay=False)]
NarrativeOpt = Annotated[str | None, typer.Option("--narrative", help="Only this narrative id.")]


def _run(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except OSError as exc:  # narratrace's own errors reach the one handler (cli/common.py)
        fail(f"cannot write the output: {exc}")


def report(
    output: OutputOpt,
    fmt: Annotated[str, typer.Option("--format", "-f", help="md, html or pdf (pdf needs Chromium).")] = "html",
    narrative: NarrativeOpt = None,
    actor: ActorF = None,
    since: SinceF = None,
    until: UntilF = None,
    top: Annotated[int, typer.Option("--top", min=1, max=20, help="Contradictions, sources and groups to show.")] = 3,
    charts: Annotated[str, typer.Option("--charts", help="Embed charts as png or svg.")] = "png",
    workspace: WorkspaceOpt = None,
) -> None:
    """A five-minute briefing for a narrative, an actor and/or a period: a bottom line quoting both
    sides of the strongest cross-audience contradiction, prevalence, contradiction cards, recycled
    sources, coordinated groups (two A4 pages), then an annex and the evidence; every sentence
    footnoted with its quote, outlet, date and link. Non-English quotes carry your translation
    (`narratrace translate`) or a gloss. HTML is one self-contained file with no script.

    Example: narratrace report --format pdf --output briefing.pdf --narrative no-domestic-support --since 2026-03-01
    """
    from narratrace.report.briefing import (  # lazy: CLI start-up
        FORMATS,
        write_report,
    )
    fmt = fmt.lower()
    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}")
    if charts not in ("png", "svg"):
        fail("--charts must be png or svg")
    ws = open_ws(workspace)
    bounds = _filters(None, None, None, None, since, until)  # the briefing compares naive-UTC store times
    b = _run(write_report, ws, fmt, output, narrative=narrative, actor=actor, since=bounds.since_utc,
             until=bounds.until_utc, top=top, chart_format=charts)
    out.print(f"wrote {_esc(str(output))}: {len(b.sentences())} sentences, {len(b.evidence)} footnotes")


def interop(
    output: OutputOpt,
    fmt: Annotated[str, typer.Option("--format", "-f", help="stix (STIX 2.1 bundle) or claimreview "
                                                             "(schema.org JSON-LD).")] = "stix",
    narrative: NarrativeOpt = None,
    actor: ActorF = None,
    contradictions: Annotated[int, typer.Option("--contradictions", min=0, help="STIX: unreviewed contradictions "
                                                "to add beside every confirmed one.")] = 25,
    publisher: Annotated[str, typer.Option("--publisher", help="ClaimReview: the reviewing organisation's name.")]
    = "narratrace analyst",
    base_url: Annotated[str | None, typer.Option("--base-url", help="ClaimReview: the page that will publish the "
                                                  "reviews (default: narratrace:// addresses).")] = None,
    candidates: Annotated[bool, typer.Option("--candidates", help="STIX: also discovered candidate narratives "
                                             "nobody reviewed (left out by default).")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Export findings for other tools: a STIX 2.1 bundle (outlets, actors, narratives as campaigns with
    DISARM techniques, sightings, contradictions, coordination) or schema.org ClaimReview JSON-LD for
    the matches and contradictions an analyst confirmed (evidence, not truth ratings).

    Example: narratrace interop --format stix --output findings.stix.json --actor kavaran-state
    """
    from narratrace.report.interop import (  # lazy: CLI start-up
        write_claimreview,
        write_stix,
    )
    ws = open_ws(workspace)
    if fmt == "stix":
        n = _run(write_stix, ws, output, narrative=narrative, actor=actor, contradictions=contradictions,
                 candidates=candidates)
        out.print(f"wrote {_esc(str(output))}: STIX 2.1 bundle of {n} objects")
    elif fmt == "claimreview":
        n = _run(write_claimreview, ws, output, narrative=narrative, actor=actor, publisher=publisher, base_url=base_url)
        out.print(f"wrote {_esc(str(output))}: {n} ClaimReview objects")
        if n == 0:
            err.print("no confirmed findings yet: confirm matches or contradictions with "
                      "`narratrace review match|contradiction` first")
    else:
        fail("--format must be stix or claimreview")


def translate(
    target: Annotated[int, typer.Argument(help="Sentence id (from `narratives matches`, `contradictions`), or a "
                                               "quote id with --quote.")],
    text: Annotated[str, typer.Argument(help="The rendering, e.g. in English.")],
    quote: Annotated[bool, typer.Option("--quote", help="TARGET is a quote id (from `narratrace quotes`).")] = False,
    language: Annotated[str, typer.Option("--language", help="Language of the rendering.")] = "en",
    note: Annotated[str | None, typer.Option("--note", help="Translator's note (idiom, uncertainty).")] = None,
    translator: Annotated[str | None, typer.Option("--translator", help="Who translated (default: your login "
                                                                        "name).")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Store your translation of a sentence or a quote; the briefing shows it under the original as
    "analyst's translation". Setting it again replaces it; re-running the analysis keeps it; it is
    exported with `narratrace export --records translations`.

    Example: narratrace translate 812 "The movement has no base inside the country." --note "literal"
    """
    try:
        who = translator or getpass.getuser()
    except (KeyError, OSError):  # no login name (a container with an unnamed uid)
        who = None
    t = open_ws(workspace).translate(text, sentence_id=None if quote else target, quote_id=target if quote else None,
                                     language=language, note=note, translator=who)
    out.print(f"translation stored for {'quote ' + str(target) if quote else 'sentence ' + str(t.sentence_id)} "
              f"(document {t.document_id}, characters {t.start}–{t.end}, {t.language})")


def translations(
    language: Annotated[str | None, typer.Option("--language", help="Only renderings in this language.")] = None,
    workspace: WorkspaceOpt = None, as_json: JsonOpt = False,
) -> None:
    """List the analyst translations: sentence, original, rendering, who and when.

    Example: narratrace translations --json
    """
    rows = open_ws(workspace).translations(language=language)
    if as_json:
        _print_json([r.as_dict() for r in rows])
        return
    table = Table("sentence", "original", "translation", "by", "at")
    for r in rows:
        table.add_row(str(r.sentence_id), _esc(r.original[:80]), _esc(r.text[:80]), _esc(r.translator or ""),
                      f"{r.at:%Y-%m-%d %H:%M}")
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command()(report)
    app.command()(interop)
    app.command()(translate)
    app.command()(translations)
