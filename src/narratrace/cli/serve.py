"""`narratrace serve`: the REST API and the dashboard over one workspace (uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer

from narratrace.cli.common import WorkspaceOpt, _esc, err, fail, open_ws

TokenOpt = Annotated[list[str] | None, typer.Option(
    "--token", help="NAME:ROLE:TOKEN (role viewer or analyst; repeatable). Also $NARRATRACE_TOKENS, comma-separated.",
    show_default=False)]


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(host: Annotated[str, typer.Option(
                  "--host", help="Address to bind; beyond 127.0.0.1 tokens are required.")] = "127.0.0.1",
              port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
              workspace: WorkspaceOpt = None,
              token: TokenOpt = None,
              workers: Annotated[int, typer.Option(
                  "--workers", min=1, max=64,
                  help="Server processes, one core each: reads under many clients scale with them "
                       "(each holds its own connections, ~250 MB). Above 1 needs fork (Linux, macOS).")] = 1) -> None:
        """Serve the REST API (/api, reference at /docs) and the dashboard for one workspace.

        On 127.0.0.1 without tokens it is open to the local user (as analyst). Bound to any other
        address it needs tokens; viewers read, analysts also review and import.

        Example: narratrace serve --workspace campaign.db --host 0.0.0.0 --workers 2 --token ana:analyst:$(openssl rand -hex 16)
        """
        from narratrace.store.db import redact  # lazy: CLI start-up
        try:
            from narratrace.serve.app import create_app  # lazy: [web] extra (fastapi: +0.4 s at CLI start)
            from narratrace.serve.auth import AuthConfigError, parse_tokens, tokens_from_env  # lazy: [web] extra
        except ImportError as exc:
            fail(f"the web server needs the web extra: pip install 'narratrace[web]' ({exc})")
        try:
            tokens = {**tokens_from_env(), **parse_tokens(token or [])}
            ws = open_ws(workspace, create=False)
            web = create_app(ws, tokens=tokens or None, host=host, workers=workers)
        except AuthConfigError as exc:
            fail(str(exc))
        import uvicorn  # lazy: [web] extra

        mode = f"{len(tokens)} token(s)" if tokens else "open (local user, analyst)"
        shown = f"[{host}]" if ":" in host else host
        err.print(f"narratrace serving {_esc(redact(ws.path))} on http://{shown}:{port}/ — API /api, reference /docs; "
                  f"auth: {mode}" + (f"; {workers} worker processes" if workers > 1 else ""), highlight=False)
        # proxy_headers off: behind no proxy, a forged X-Forwarded-For must not change anything.
        options = {"log_level": "info", "proxy_headers": False, "server_header": False}
        if workers == 1:
            uvicorn.run(web, host=host, port=port, **options)
            return
        from narratrace.serve.workers import WorkersUnsupported, serve_forked  # lazy: [web] extra
        from narratrace.workspace import Workspace  # lazy: CLI start-up

        path = ws.path
        ws.close()  # checked above; each worker opens its own after the fork
        try:
            status = serve_forked(lambda: create_app(Workspace(path, create=False), tokens=tokens or None, host=host,
                                                     workers=workers),
                                  workers=workers, host=host, port=port, **options)
        except WorkersUnsupported as exc:
            fail(str(exc))
        if status:
            raise typer.Exit(status)
