"""CLI for what leaves the workbench: the briefing (Markdown, HTML, PDF) and the standard exports
(STIX 2.1, schema.org ClaimReview). Thin: the work happens in narratrace.report.briefing/interop."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from narratrace.cli.common import ActorF, SinceF, UntilF, WorkspaceOpt, _esc, _filters, err, fail, open_ws, out
from narratrace.report.briefing import FORMATS, write_report
from narratrace.report.interop import write_claimreview, write_stix

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
    """A five-minute briefing for a narrative, an actor and/or a period: summary, prevalence charts,
    cross-audience contradictions, recycled sources, coordinated groups; every sentence footnoted
    with its quote, outlet, date and link. HTML is one self-contained file with no script.

    Example: narratrace report --format pdf --output briefing.pdf --narrative no-domestic-support --since 2026-03-01
    """
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


def register(app: typer.Typer) -> None:
    app.command()(report)
    app.command()(interop)
