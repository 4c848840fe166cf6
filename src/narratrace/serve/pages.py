"""The dashboard's list pages (narratives, documents, quotes, speakers, entities) and its HTML
error pages.

Same security model as ``dashboard.py`` (autoescape on, no inline script or style, names rather
than keys with the key in a tooltip, ``<bdi>`` wherever Persian and English share a line); the
pages read only through the Workspace. Every list is paged with ``LIST_PAGE`` rows and a
"next" link that appears only when one more row exists, so no page has to count the whole table.
"""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse

from narratrace.errors import InvalidInput, NarratraceError
from narratrace.filters import Filters
from narratrace.serve.dashboard import USER, _env, _page, _PageRoute, _snippet, _ws

router = APIRouter(route_class=_PageRoute, include_in_schema=False)

LIST_PAGE = 50  # rows per list page: the contradictions page's size, one screen of a table
# Lists whose Workspace call has no offset (search, quotes) fetch page × LIST_PAGE rows and show the
# last LIST_PAGE; past MAX_ROWS a filter is the better tool than paging, so the pager stops there.
MAX_ROWS = 5_000
MAX_PAGE = MAX_ROWS // LIST_PAGE
ENTITY_PLACES = 200  # places listed on an entity page (the counts by outlet and month cover all)
SPEAKER_QUOTES = 200  # quotes listed on a speaker page
RECYCLED_OUTLETS = 3  # the overview's and provenance page's "recycled source": quoted by ≥ 3 outlets not their own


# -- shared pieces ------------------------------------------------------------------------------------

def _filters(**values) -> tuple[Filters | None, str | None]:
    """One Filters from the form's strings, or the InvalidInput's message to show on the page."""
    try:
        return Filters.of(**values), None
    except InvalidInput as e:
        return None, str(e)


def _choices(ws) -> dict:
    """The filter form's options: outlets that hold documents, by name (key as the value), audiences
    and languages. (A registry lists many outlets the corpus never reached: not worth a choice.)"""
    sources = ws.sources()
    return {"sources": sorted(((s.key, s.name or s.key) for s in sources if s.documents),
                              key=lambda kv: kv[1].casefold()),
            "audiences": sorted({s.audience for s in sources if s.audience}),
            "languages": sorted(k for k in ws.stats()["languages"] if k != "None")}


def _page_no(page: int) -> int:
    return min(max(1, page), MAX_PAGE)


def _window(rows, page: int) -> tuple[list, bool]:
    """Page ``page`` of ``rows`` (fetched through that page plus one row) and whether more follow."""
    rows = list(rows)
    start = (page - 1) * LIST_PAGE
    return rows[start:start + LIST_PAGE], len(rows) > start + LIST_PAGE and page < MAX_PAGE


def _query(params: dict, **change) -> str:
    """The current filters as a query string, with ``change`` applied (for the pager's links)."""
    merged = {k: v for k, v in {**params, **change}.items() if v not in (None, "", 0)}
    return "?" + urlencode(merged) if merged else ""


def _pager(params: dict, page: int) -> dict:
    """The previous and next pages' links, filters kept (page 1 has no page parameter)."""
    return {"prev_q": _query(params, page=page - 1 if page > 2 else None), "next_q": _query(params, page=page + 1)}


def _render(request: Request, name: str, user, error: str | None = None, **ctx) -> HTMLResponse:
    page = _page(request, name, user, error=error, **ctx)
    if error:
        page.status_code = 400  # the form's values were refused: the page says which, a script sees 400
    return page


# -- narratives ----------------------------------------------------------------------------------------

@router.get("/narratives", response_class=HTMLResponse)
def narratives_page(request: Request, status: str = "", user=USER):
    ws = _ws(request)
    every = ws.narratives(include_dismissed=True)
    statuses = sorted({n.status for n in every})
    shown = [n for n in every if not status or n.status == status]
    # first and last day a narrative was carried (any stance, rejected matches left out); undated
    # matches cannot be placed in time and are counted apart, never dropped
    seen: dict[str, list] = defaultdict(list)
    undated: dict[str, int] = defaultdict(int)
    for r in ws.prevalence(by="none", stance="any", period="day"):
        if r.period is None:
            undated[r.narrative] += r.documents
        else:
            seen[r.narrative].append(r.period)
    order = {"active": 0, "candidate": 1, "dismissed": 2}
    shown.sort(key=lambda n: (order.get(n.status, 3), -n.matches, n.name.casefold()))
    rows = [{"n": n, "neutral": max(0, n.matches - n.asserts - n.denies),
             "first": min(seen[n.key]) if seen[n.key] else None, "last": max(seen[n.key]) if seen[n.key] else None,
             "undated": undated[n.key]} for n in shown]
    return _page(request, "narratives.html", user, rows=rows, status=status, statuses=statuses, total=len(every))


# -- documents -------------------------------------------------------------------------------------------

@router.get("/documents", response_class=HTMLResponse)
def documents_page(request: Request, q: str = "", source: str = "", audience: str = "", language: str = "",
                   since: str = "", until: str = "", page: int = 1, user=USER):
    ws = _ws(request)
    params = {"q": q, "source": source, "audience": audience, "language": language, "since": since, "until": until}
    f, error = _filters(source=source, audience=audience, language=language, since=since, until=until)
    # the plain list pages by offset (no bound but SQLite's integers); a search by fetching through the page
    page = _page_no(page) if q.strip() else min(max(1, page), 10**9)
    rows, more = [], False
    if f is not None:
        try:
            if q.strip():  # the existing full-text search, ranked; the same filters
                hits = ws.search(q, limit=page * LIST_PAGE + 1, filters=f)
                rows, more = _window([{"id": h.document_id, "title": h.title, "source": h.source, "actor": h.actor,
                                       "audience": h.audience, "language": h.language,
                                       "published_at": h.published_at, "snippet": h.snippet} for h in hits], page)
            else:
                docs = ws.documents(limit=LIST_PAGE + 1, offset=(page - 1) * LIST_PAGE, filters=f)
                rows = [{"id": d.id, "title": d.title, "source": d.source, "actor": d.actor, "audience": d.audience,
                         "language": d.language, "published_at": d.published_at, "chars": d.chars,
                         "duplicate_of": d.duplicate_of} for d in docs][:LIST_PAGE]
                more = len(docs) > LIST_PAGE
        except NarratraceError as e:  # an unknown outlet key names the closest one: say so on the page
            error = str(e)[:300]
    return _render(request, "documents.html", user, error=error, rows=rows, more=more, page=page, f=params,
                   first=(page - 1) * LIST_PAGE + 1, snippet=_snippet,
                   **_pager(params, page), **_choices(ws))


# -- quotes -----------------------------------------------------------------------------------------------

@router.get("/quotes", response_class=HTMLResponse)
def quotes_page(request: Request, speaker: str = "", source: str = "", language: str = "", page: int = 1,
                user=USER):
    ws = _ws(request)
    params = {"speaker": speaker, "source": source, "language": language}
    f, error = _filters(source=source, language=language)
    page = _page_no(page)
    rows, more = [], False
    if f is not None:
        try:
            found = ws.quotes(speaker=speaker.strip() or None, limit=page * LIST_PAGE + 1, filters=f)
            rows, more = _window(found, page)
        except NarratraceError as e:
            error = str(e)[:300]
    return _render(request, "quotes.html", user, error=error, rows=rows, more=more, page=page, f=params,
                   **_pager(params, page), **_choices(ws))


# -- speakers ----------------------------------------------------------------------------------------------

@router.get("/speakers", response_class=HTMLResponse)
def speakers_page(request: Request, recycled: str = "", source: str = "", language: str = "", page: int = 1,
                  user=USER):
    ws = _ws(request)
    params = {"recycled": recycled, "source": source, "language": language}
    f, error = _filters(source=source, language=language)
    page = _page_no(page)
    rows, more, total = [], False, 0
    if f is not None:
        try:
            found = (ws.recycled_sources(RECYCLED_OUTLETS, filters=f) if recycled == "1" else ws.speakers(filters=f))
            total = len(found)
            rows, more = _window(found, page)
        except NarratraceError as e:
            error = str(e)[:300]
    return _render(request, "speakers.html", user, error=error, rows=rows, more=more, page=page, f=params,
                   total=total, k=RECYCLED_OUTLETS, **_pager(params, page), **_choices(ws))


@router.get("/speakers/{key:path}", response_class=HTMLResponse)
def speaker_page(request: Request, key: str, user=USER):
    ws = _ws(request)
    sp = next((s for s in ws.speakers() if s.key == key), None)
    if sp is None:
        raise HTTPException(404, f"no speaker '{key[:80]}': pick one from the speakers list")
    quotes = ws.quotes(speaker=key, limit=SPEAKER_QUOTES + 1)
    return _page(request, "speaker.html", user, sp=sp, quotes=quotes[:SPEAKER_QUOTES],
                 more=len(quotes) > SPEAKER_QUOTES, limit=SPEAKER_QUOTES)


# -- entities ------------------------------------------------------------------------------------------------

@router.get("/entities", response_class=HTMLResponse)
def entities_page(request: Request, user=USER):
    ws = _ws(request)
    ents = sorted(ws.entities(), key=lambda e: (-(e.mentions + e.quotes), e.name.casefold()))
    return _page(request, "entities.html", user, rows=ents)


@router.get("/entities/{key:path}", response_class=HTMLResponse)
def entity_page(request: Request, key: str, kind: str = "", user=USER):
    ws = _ws(request)
    # NotFound (an unknown key, with the closest one named) is the app's 404 page
    m = ws.entity_mentions(key, kind=kind if kind in ("quote", "mention") else None, limit=ENTITY_PLACES)
    return _page(request, "entity.html", user, m=m, kind=kind, limit=ENTITY_PLACES)


# -- error pages ------------------------------------------------------------------------------------------------

_NOT_PAGES = ("/api/", "/static/")
_NOT_PAGE_PATHS = frozenset({"/openapi.json"})

ADVICE = {  # what the reader can do about each status
    400: "The address or the form holds a value the dashboard cannot use. Correct it and try again.",
    401: "Sign in with the access token the workspace owner gave you.",
    403: "Your sign-in does not allow this. Writing needs an analyst token; sign-in and sign-out work only "
         "from this server's own pages.",
    404: "Nothing is stored under this address. Check the id in the address, or find it from one of the lists.",
    405: "This address does not answer that kind of request. Open it from the dashboard's links.",
    413: "What was sent is larger than this server accepts.",
    422: "The address holds a value of the wrong kind (an id must be a whole number). Correct it and try again.",
    429: "Too many wrong tokens came from this address. Wait, then sign in again.",
}
TITLES = {400: "Bad request", 401: "Sign in", 403: "Not allowed", 404: "Not found", 405: "Not allowed here",
          413: "Too large", 422: "Not a valid address", 429: "Too many attempts"}


def wants_html(request: Request) -> bool:
    """A dashboard address (answered with a page), not the API, its spec or a static file (JSON/bytes)."""
    path = request.url.path
    root = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    return not path.startswith(_NOT_PAGES) and path not in _NOT_PAGE_PATHS


def error_page(request: Request, status: int, detail, headers: dict | None = None) -> HTMLResponse:
    """The dashboard's page for an error status: the layout, what happened, what to do. The user
    is known only when the route's auth dependency ran (``request.state.user``); the page never
    reads the workspace, so it cannot fail the way the page it replaces did."""
    user = getattr(request.state, "user", None)
    message = detail if isinstance(detail, str) else TITLES.get(status, "error")
    html = _env.get_template("error.html").render(
        request=request, user=user, analyst=getattr(user, "role", None) == "analyst", path=request.url.path,
        status=status, title=TITLES.get(status, "Error"), message=message[:500],
        advice=ADVICE.get(status, "Go back to the overview and try again."),
        next=request.url.path if request.method == "GET" and request.url.path != "/login" else "/")
    return HTMLResponse(html, status_code=status, headers=headers)


def invalid_page(request: Request, exc: RequestValidationError) -> HTMLResponse:
    """A query or path value FastAPI could not parse (``/documents/abc``): which one, never the value."""
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(x) for x in err.get("loc", ())[1:]) or "request"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return error_page(request, 422, "; ".join(parts) or "invalid request")


__all__ = ["router", "error_page", "invalid_page", "wants_html"]
