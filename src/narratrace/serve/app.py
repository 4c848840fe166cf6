"""The web application: REST API under /api, login/logout, offline API docs, security headers,
and the analyst's dashboard when ``narratrace.serve.dashboard`` is installed beside it.

    python -m narratrace.serve.app --write-openapi docs/openapi.json   # refresh the committed spec
"""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from narratrace import __version__
from narratrace.errors import NarratraceError
from narratrace.serve.auth import COOKIE, Tokens, check_bind, check_token
from narratrace.workspace import Workspace

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

DESCRIPTION = """Read the record (documents, sentences, quotes, narratives, contradictions, provenance) and,
with the analyst role, review findings and import narratives, sources and files.

Authentication: `Authorization: Bearer <token>`, or the `narratrace_token` cookie set by `POST /login`
(browser writes then need the header `X-Narratrace: 1`). A server on 127.0.0.1 without tokens is open
to the local user (`local`, analyst). Every change is recorded: reviews with their reviewer, other
writes in the audit log (`GET /api/audit`)."""


class SecurityHeaders:
    """Pure ASGI middleware (cheaper than @app.middleware("http"), which wraps every body in a
    stream): adds SECURITY_HEADERS to every response it sees, and no-store to /api/ answers."""

    def __init__(self, app) -> None:
        self.app = app
        self.raw = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        api = scope.get("path", "").startswith("/api/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in self.raw if k not in have]
                if api and b"cache-control" not in have:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(workspace: str | Workspace, *, tokens: Tokens | None = None, host: str = "127.0.0.1") -> FastAPI:
    """The ASGI app for one workspace. ``tokens``: {token: (user name, role)}; None or empty on a
    loopback host means open mode; any other host without tokens is refused."""
    check_bind(host, tokens)
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace, create=False)

    app = FastAPI(title="narratrace", version=__version__, description=DESCRIPTION,
                  docs_url=None, redoc_url=None)  # the default pages fetch a CDN: blank offline
    app.state.workspace = ws
    app.state.tokens = dict(tokens) if tokens else None
    app.state.host = host

    app.add_middleware(SecurityHeaders)

    @app.exception_handler(NarratraceError)
    async def narratrace_error(request: Request, exc: NarratraceError):
        # The one place an error becomes a status: the class says which (errors.py), the message
        # is the Workspace's own (ErrorOut). Runs inside the middleware: the headers are added there.
        return JSONResponse({"detail": str(exc) or exc.__class__.__name__}, status_code=exc.status)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception):
        # Runs outside the middleware stack: add the headers here; never echo the exception.
        import logging

        logging.getLogger("narratrace.serve").exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error: see the server log"}, status_code=500,
                            headers=SECURITY_HEADERS)

    from narratrace.serve.api import router

    app.include_router(router, prefix="/api", tags=["api"])

    @app.post("/login", include_in_schema=False)
    def login(request: Request, token: Annotated[str, Form(max_length=4096)], next: Annotated[str, Form()] = "/"):
        user = check_token(app.state.tokens, token)
        if user is None:
            raise HTTPException(401, "unknown token")
        # Only local paths: an open redirect would let a link send the analyst anywhere after login.
        target = next if next.startswith("/") and not next.startswith("//") and "\\" not in next else "/"
        resp = RedirectResponse(target, status_code=303)
        if app.state.tokens:
            resp.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https")
        return resp

    @app.post("/logout", include_in_schema=False)
    def logout():
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return resp

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs():
        return HTMLResponse(docs_page(app.openapi()))

    try:
        from narratrace.serve import dashboard
    except ImportError as exc:
        if exc.name != "narratrace.serve.dashboard":
            raise  # the dashboard is there but broken: say so rather than serve without it
    else:
        from fastapi.staticfiles import StaticFiles

        app.include_router(dashboard.router)
        app.mount("/static", StaticFiles(directory=dashboard.STATIC_DIR), name="static")
    return app


def docs_page(spec: dict) -> str:
    """The API reference as static HTML from the OpenAPI spec: no script, no CDN, all escaped."""
    e = html.escape
    rows = []
    for path, ops in spec.get("paths", {}).items():
        for method, op in ops.items():
            params = ", ".join(
                f"{p['name']}{'' if p.get('required') else '?'}" for p in op.get("parameters", []))
            body = op.get("requestBody", {}).get("content", {})
            rows.append(f"<tr><td><code>{e(method.upper())}</code></td><td><code>{e(path)}</code></td>"
                        f"<td>{e(op.get('summary', ''))}</td><td><code>{e(params)}</code></td>"
                        f"<td>{e(', '.join(body))}</td></tr>")
    desc = "".join(f"<p>{e(p)}</p>" for p in spec.get("info", {}).get("description", "").split("\n\n"))
    return ("<!doctype html><html lang=en><head><meta charset=utf-8><title>narratrace API</title></head><body>"
            f"<h1>narratrace API {e(spec.get('info', {}).get('version', ''))}</h1>{desc}"
            "<p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a>.</p>"
            "<table border=1 cellpadding=4><thead><tr><th>method</th><th>path</th><th>what</th>"
            "<th>query/path parameters</th><th>body</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></body></html>")


def openapi_json(app: FastAPI) -> str:
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _spec_app() -> FastAPI:
    """An app over a throwaway empty workspace: the spec does not depend on the data."""
    import tempfile

    tmp = tempfile.mkdtemp(prefix="narratrace-openapi-")
    return create_app(Workspace(Path(tmp) / "spec.db"))


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m narratrace.serve.app")
    ap.add_argument("--write-openapi", metavar="PATH", required=True, help="write the OpenAPI spec (JSON) here")
    args = ap.parse_args(argv)
    Path(args.write_openapi).write_text(openapi_json(_spec_app()), encoding="utf-8")
    print(f"wrote {args.write_openapi}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
