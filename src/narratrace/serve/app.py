"""The web application: REST API under /api, login/logout, offline API docs, security headers,
and the analyst's dashboard when ``narratrace.serve.dashboard`` is installed beside it.

    python -m narratrace.serve.app --write-openapi docs/openapi.json   # refresh the committed spec
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import logging
import math
import sys
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from narratrace import __version__, settings
from narratrace.errors import InvalidInput, NarratraceError, TooLarge
from narratrace.serve import dashboard, pages
from narratrace.serve.api import router
from narratrace.serve.auth import (
    COOKIE,
    MAX_FAILURES,
    MAX_NAME_FAILURES,
    PUBLIC_WRITES,
    SAFE_METHODS,
    FailureThrottle,
    Tokens,
    check_before_body,
    check_bind,
    check_token,
    same_origin,
)
from narratrace.serve.cache import ReadCache
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


# The public writes' bodies (the /login form: a token and a path) are read before anyone is known.
PUBLIC_BODY_BYTES = 64 * 1024
MB = 1024 * 1024


def max_body_bytes() -> int:
    """NARRATRACE_MAX_BODY_MB in bytes; a value that is not a positive number is an InvalidInput."""
    try:
        return settings.megabytes("NARRATRACE_MAX_BODY_MB", minimum=1 / MB, hint="set a positive number of MB (e.g. 64)")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def error_response(exc: NarratraceError) -> JSONResponse:
    """The one place an error becomes a status: the class says which (errors.py), the message
    is the Workspace's own (ErrorOut)."""
    return JSONResponse({"detail": str(exc) or exc.__class__.__name__}, status_code=exc.status)


def _size(n: int) -> str:
    return f"{n / MB:g} MB" if n >= MB else f"{n / 1024:g} KB" if n >= 1024 else f"{n} bytes"


def _route_path(scope) -> str:
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _declared_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None


class BodyGuard:
    """Pure ASGI middleware: nobody makes the server read, hold or spool a body it will refuse.

    FastAPI reads (and spools to disk) a request's body before it solves the auth dependencies,
    so first, for every write (a method outside SAFE_METHODS), ``auth.check_before_body`` gives
    the dependencies' verdict from the headers alone and its 400/401/403 is answered without
    reading a byte. Then, for every request, a declared Content-Length over the limit is a 413 at
    once; otherwise the bytes the app pulls through ``receive()`` are counted and the request ends
    in a 413 as soon as they cross the limit (a chunked body declares no length), whatever the
    app made of the interruption. Limit: NARRATRACE_MAX_BODY_MB (``max_bytes``), and
    PUBLIC_BODY_BYTES for the public writes. An answer given before the body was read closes the
    connection, so the server does not drain what the client still sends."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = _route_path(scope)
        public = path in PUBLIC_WRITES
        limit = min(self.max_bytes, PUBLIC_BODY_BYTES) if public else self.max_bytes
        if scope["method"] not in SAFE_METHODS and not public:
            request = Request(scope)  # no receive: a check that tried to read the body would fail
            try:
                check_before_body(request, path)
            except StarletteHTTPException as exc:  # the same answer FastAPI gives the dependency's
                return await _close_with(await http_exception_handler(request, exc), scope, receive, send)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            return await _close_with(error_response(self._too_large(limit)), scope, receive, send)

        read = 0
        over = started = refusing = False

        async def counted_receive():
            nonlocal read, over, refusing
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > limit:
                    over, refusing = True, not started
                    raise self._too_large(limit)
            return message

        async def guarded_send(message):
            nonlocal started
            if refusing:  # the app's own answer to the interruption (FastAPI's: a 400) is replaced
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not refusing:
                raise
        if refusing:
            await _close_with(error_response(self._too_large(limit)), scope, receive, send)

    def _too_large(self, limit: int) -> TooLarge:
        why = "" if limit < self.max_bytes else " (NARRATRACE_MAX_BODY_MB)"
        return TooLarge(f"request body larger than {_size(limit)}{why}: send less, or split the upload")


async def _close_with(response, scope, receive, send) -> None:
    response.headers["connection"] = "close"
    await response(scope, receive, send)


def create_app(workspace: str | Workspace, *, tokens: Tokens | None = None, host: str = "127.0.0.1",
               workers: int = 1) -> FastAPI:
    """The ASGI app for one workspace. ``tokens``: {token: (user name, role)}; None or empty on a
    loopback host means open mode; any other host without tokens is refused. ``workers``: how many
    processes serve it (serve/workers.py): each keeps its share of the sign-in failure budget,
    so that together they allow what one would."""
    check_bind(host, tokens)
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace, create=False)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        from narratrace.ingest import deadline  # lazy: a server that took no upload never started it

        deadline.reset_pool()  # the upload pool's workers end with the server

    app = FastAPI(title="narratrace", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)  # the default pages fetch a CDN: blank offline
    app.state.workspace = ws
    app.state.tokens = dict(tokens) if tokens else None
    app.state.throttle = FailureThrottle(max_failures=math.ceil(MAX_FAILURES / workers),
                                         max_name_failures=math.ceil(MAX_NAME_FAILURES / workers))
    app.state.host = host
    app.state.read_cache = ReadCache()

    app.add_middleware(BodyGuard, max_bytes=max_body_bytes())
    app.add_middleware(SecurityHeaders)  # added last, so outermost: it also heads BodyGuard's answers

    @app.exception_handler(NarratraceError)
    async def narratrace_error(request: Request, exc: NarratraceError):
        # Runs inside the middleware: the security headers are added there.
        if pages.wants_html(request):  # a dashboard address: the error as a page (the API keeps JSON)
            return pages.error_page(request, exc.status, str(exc) or exc.__class__.__name__)
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if pages.wants_html(request):  # 401/403/404 … on a dashboard address: a page, never a JSON body
            return pages.error_page(request, exc.status_code, exc.detail, getattr(exc, "headers", None))
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        if pages.wants_html(request):  # /documents/abc
            return pages.invalid_page(request, exc)
        return await request_validation_exception_handler(request, exc)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception):
        # Runs outside the middleware stack: add the headers here; never echo the exception.
        logging.getLogger("narratrace.serve").exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error: see the server log"}, status_code=500,
                            headers=SECURITY_HEADERS)

    app.include_router(router, prefix="/api", tags=["api"])

    @app.post("/login", include_in_schema=False)
    def login(request: Request, token: Annotated[str, Form(max_length=4096)], next: Annotated[str, Form()] = "/"):
        same_origin(request)
        user = check_token(app.state.tokens, token, request)
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
    def logout(request: Request):
        same_origin(request)
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return resp

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs():
        return HTMLResponse(docs_page(app.openapi()))

    app.include_router(dashboard.router)
    app.include_router(pages.router)
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
    tmp = tempfile.mkdtemp(prefix="narratrace-openapi-")
    return create_app(Workspace(Path(tmp) / "spec.db", create=True))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m narratrace.serve.app")
    ap.add_argument("--write-openapi", metavar="PATH", required=True, help="write the OpenAPI spec (JSON) here")
    args = ap.parse_args(argv)
    Path(args.write_openapi).write_text(openapi_json(_spec_app()), encoding="utf-8")
    print(f"wrote {args.write_openapi}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
