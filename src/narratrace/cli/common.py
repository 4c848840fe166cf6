"""What every CLI module shares: consoles, common options, errors, workspace opening."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True)

WorkspaceOpt = Annotated[str | None, typer.Option(
    "--workspace", "-w", help="Workspace: an SQLite file or a postgresql://user@host/db URL "
                            "(default: $NARRATRACE_WORKSPACE, else ./narratrace.db).",
    envvar="NARRATRACE_WORKSPACE", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]
SourceF = Annotated[list[str] | None, typer.Option("--source", help="Only these source ids (repeatable).")]
ActorF = Annotated[str | None, typer.Option("--actor", help="Only documents of sources owned by this actor id.")]
AudienceF = Annotated[str | None, typer.Option("--audience", help="Only this audience (domestic, foreign, …).")]
LanguageF = Annotated[str | None, typer.Option("--language", help="Only this document language (en, fa, …).")]
SinceF = Annotated[str | None, typer.Option("--since", help="Published on or after (YYYY-MM-DD[ HH:MM]).")]
UntilF = Annotated[str | None, typer.Option("--until", help="Published on or before (YYYY-MM-DD[ HH:MM]).")]


def fail(message: str, code: int = 1) -> None:
    # the message is escaped: "pip install 'narratrace[web]'" must not lose "[web]" as a markup tag
    err.print(f"[bold red]error:[/] {_esc(message)}", highlight=False, markup=True, soft_wrap=True)  # one line, copyable
    raise typer.Exit(code)


def open_ws(path: str | None, create: bool = False):
    from narratrace.workspace import Workspace, WorkspaceError

    from narratrace.store.db import StoreError

    try:
        return Workspace(path, create=create)
    except (WorkspaceError, StoreError) as exc:
        fail(str(exc))


def _date(value: str | None, name: str, end_of_day: bool = False):
    if value is None:
        return None
    from datetime import timedelta

    from narratrace.clean.text import parse_date

    dt = parse_date(value)
    if dt is None:
        fail(f"{name} '{value}' is not a date; use YYYY-MM-DD or 'YYYY-MM-DD HH:MM'")
    if end_of_day and len(value.strip()) == 10:
        dt = dt + timedelta(days=1) - timedelta(microseconds=1)
    return dt


def _filters(source, actor, audience, language, since, until) -> dict:
    return {"source": source or None, "actor": actor, "audience": audience, "language": language,
            "since": _date(since, "--since"), "until": _date(until, "--until", end_of_day=True)}


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _esc(s: str) -> str:
    from rich.markup import escape

    return escape(s)
