"""`narratrace migrate`: copy a workspace into another store (SQLite → PostgreSQL) and prove it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from narratrace.cli.common import _print_json, err, fail, out
from narratrace.progress import step_progress


def register(app: typer.Typer) -> None:
    @app.command()
    def migrate(source: Annotated[str, typer.Argument(help="The workspace to copy: an SQLite file or a store URL.")],
                dest: Annotated[str, typer.Argument(help="An empty store: postgresql://user@host:5432/db.")],
                check: Annotated[bool, typer.Option("--verify/--no-verify",
                                                    help="Re-read both stores and compare every record.")] = True,
                as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False) -> None:
        """Copy every record of a workspace into an empty store, keeping ids, then compare them all.

        The copy runs in one transaction: if it fails, the destination is left empty and the source
        is never changed beyond a schema upgrade. Vector and full-text indexes are rebuilt by the
        destination (from the copied embedding cache: nothing is re-embedded).

        Example: narratrace migrate campaign.db postgresql://analyst@db.example:5432/campaign
        """
        from narratrace.store import db  # lazy: CLI start-up
        from narratrace.store.migrate import MigrateError, copy_store, source_total, verify  # lazy: CLI start-up
        try:
            total = source_total(source)
            with step_progress(err, "copy") as (set_total, advance):
                set_total(total)
                report = copy_store(source, dest, progress=lambda _t, n: advance(n))
            checked = None
            if check:
                with step_progress(err, "verify") as (set_total, advance):
                    set_total(total)
                    checked = verify(source, dest, progress=lambda _t, n: advance(n))
        except (MigrateError, db.StoreError) as exc:
            fail(str(exc))
        if as_json:
            return _print_json({"copied": report.as_dict(), "verified": None if checked is None else checked.as_dict()})
        t = Table("table", "rows copied", "rows compared", "equal")
        for name, n in report.rows.items():
            if n or (checked and checked.rows.get(name)):
                t.add_row(name, str(n), "" if checked is None else str(checked.rows.get(name, 0)),
                          "" if checked is None else ("yes" if name not in checked.mismatches else "NO"))
        out.print(t)
        out.print(f"copied {report.total} records into {db.redact(dest)}")
        if checked is not None:
            if not checked.ok:
                for name, bad in checked.mismatches.items():
                    err.print(f"{name}: " + "; ".join(bad), markup=False)
                fail("the copy differs from the source (see above): do not use it")
            out.print(f"verified: all {checked.total} records are equal in both stores")
