"""Console progress for the faces (CLI, demo): Rich bars on a terminal, a line per stage when piped;
on stderr, so --json output stays clean."""

from __future__ import annotations

import time
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


@contextmanager
def ingest_progress(console: Console, unit: str, enabled: bool = True):
    """Yields (set_total, on_item). Advances once per input file (records of one file share it)."""
    progress = Progress(
        SpinnerColumn(), TextColumn("[bold]ingest[/]"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
        console=console, transient=False, disable=not enabled or not console.is_terminal,
    )
    task = progress.add_task("ingest", total=None, counts="")
    state = {"last": None}

    def set_total(n: int | None) -> None:
        progress.update(task, total=n)

    def on_item(origin: str, report) -> None:
        key = origin.split("#", 1)[0]
        if key != state["last"]:
            state["last"] = key
            progress.advance(task)
        progress.update(task, counts=f"added {report.added} · present {report.already_present} · "
                                     f"skipped {len(report.skipped)} · failed {len(report.failed)}")

    with progress:
        yield set_total, on_item
        t = progress.tasks[0]
        if t.total is not None:
            progress.update(task, completed=t.total)


@contextmanager
def step_progress(console: Console, label: str, enabled: bool = True):
    """Yields (set_total, advance) for a long step counted in units (sentences, narratives…)."""
    progress = Progress(
        SpinnerColumn(), TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False, disable=not enabled or not console.is_terminal,
    )
    task = progress.add_task(label, total=None)

    def set_total(n: int | None) -> None:
        progress.update(task, total=n)

    def advance(n: int = 1) -> None:
        progress.advance(task, n)

    with progress:
        yield set_total, advance


class CliProgress:
    """The pipeline's progress reporter for the CLI: a bar per stage on a terminal; when stderr is
    piped or logged, one line as each stage starts and one when it ends, with its count and time."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @contextmanager
    def step(self, label: str):
        if self.console.is_terminal:
            with step_progress(self.console, label) as handles:
                yield handles
            return
        state = {"total": None, "done": 0}
        started = time.monotonic()
        self.console.print(f"{label} …", highlight=False, markup=False)

        def set_total(n: int | None) -> None:
            state["total"] = n

        def advance(n: int = 1) -> None:
            state["done"] += n

        yield set_total, advance
        if state["total"] is not None:
            count = f"{state['done']}/{state['total']} "
        else:  # a step that counts nothing (one pass over the store) just says it finished
            count = f"{state['done']} " if state["done"] else ""
        self.console.print(f"{label}: {count}done in {time.monotonic() - started:.1f} s", highlight=False,
                           markup=False)
