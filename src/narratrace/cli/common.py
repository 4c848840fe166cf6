"""What every CLI module shares: consoles, common options, the one error handler, workspace opening."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from narratrace.errors import NarratraceError
from narratrace.filters import Filters

if TYPE_CHECKING:
    from narratrace.workspace import Workspace

out = Console()
err = Console(stderr=True)

WorkspaceOpt = Annotated[str | None, typer.Option(
    "--workspace", "-w", help="Workspace: an SQLite file or a postgresql://user@host/db URL "
                            "(default: $NARRATRACE_WORKSPACE, else ./narratrace.db).",
    show_default=False)]  # unset: Workspace reads the setting (settings.py), as every face does
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]
SourceF = Annotated[list[str] | None, typer.Option("--source", help="Only these source ids (repeatable).")]
ActorF = Annotated[str | None, typer.Option("--actor", help="Only documents of sources owned by this actor id.")]
AudienceF = Annotated[str | None, typer.Option("--audience", help="Only this audience (domestic, foreign, …).")]
LanguageF = Annotated[str | None, typer.Option("--language", help="Only this document language (en, fa, …).")]
SinceF = Annotated[str | None, typer.Option("--since", help="Published on or after: YYYY-MM-DD (from the start of "
                                                             "that day, UTC), 'YYYY-MM-DD HH:MM' (UTC) or ISO 8601.")]
UntilF = Annotated[str | None, typer.Option("--until", help="Published on or before: YYYY-MM-DD (through the end of "
                                                             "that day, UTC), 'YYYY-MM-DD HH:MM' (UTC) or ISO 8601.")]


class Group(TyperGroup):
    """The one CLI error handler: a ``NarratraceError`` raised anywhere below a command becomes a
    one-line message and the error's own exit code (errors.py), never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NarratraceError as exc:
            fail(str(exc) or type(exc).__name__, exc.exit_code)


def fail(message: str, code: int = 1) -> None:
    # the message is escaped: "pip install 'narratrace[web]'" must not lose "[web]" as a markup tag
    err.print(f"[bold red]error:[/] {_esc(message)}", highlight=False, markup=True, soft_wrap=True)  # one line, copyable
    raise typer.Exit(code)


def open_ws(path: str | None, create: bool = False) -> Workspace:
    """The workspace at ``path``. Only commands that write (init, ingest, imports) pass ``create``;
    they say when they start a new file, so a mistyped path is seen at once."""
    from narratrace.workspace import Workspace, default_path  # lazy: CLI start-up
    target = path or default_path()
    new = create and "://" not in str(target) and not Path(target).exists()
    ws = Workspace(path, create=create)
    if new:
        err.print(f"created a new workspace: {_esc(str(target))}", highlight=False, soft_wrap=True)
    return ws


def _filters(source, actor, audience, language, since, until) -> Filters:
    """The command's filter options as one Filters (a bad date is an InvalidInput naming it)."""
    return Filters.of(source=source or None, actor=actor, audience=audience, language=language,
                      since=since, until=until)


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _esc(s: str) -> str:
    return escape(s)
