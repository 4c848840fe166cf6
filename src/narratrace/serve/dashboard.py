"""The web dashboard: server-rendered HTML pages over the Workspace API.

Security model (the corpus is hostile by design — it is the adversary's own material):
- Jinja2 autoescape is always on. The only markup marked safe is built here from pieces that
  were each escaped with ``markupsafe.escape`` (document highlights, search snippets).
- No inline script or style: the page CSP (``script-src 'self'; style-src 'self'``) would block
  them anyway. Behaviour lives in ``static/dashboard.js``, which reads ids from ``data-*``
  attributes and writes only ``textContent``.
- Charts are rendered server-side to SVG by vl-convert and served as ``<img>``: an SVG loaded as
  an image never runs script, and no Vega runtime (or CDN) is needed offline.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import networkx as nx
import vl_convert
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape

from narratrace.errors import InvalidInput, NarratraceError
from narratrace.filters import Filters
from narratrace.report.prevalence import totals as prevalence_totals
from narratrace.report.prevalence import undated_note
from narratrace.serve.auth import current_user

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATE_DIR = Path(__file__).parent / "templates"

# Languages written right to left; every other known language gets dir="ltr", unknown dir="auto".
RTL = {"fa", "ar", "he", "ur", "ps", "ckb", "yi", "dv", "sd", "ug"}
BY = ("audience", "language", "source")
PAGE = 50  # contradiction pairs per page


class _PageRoute(APIRoute):
    """A page whose auth dependency fails sends the browser to the login form instead of JSON."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPException as e:
                if e.status_code == 401 and request.method == "GET":
                    # Only the path travels (the login form posts it back as ``next``).
                    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
                raise

        return route


router = APIRouter(route_class=_PageRoute, include_in_schema=False)
USER = Depends(current_user)

_env = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True,
                   trim_blocks=True, lstrip_blocks=True)


def _date(v, fmt="%Y-%m-%d %H:%M") -> str:
    return v.strftime(fmt) if isinstance(v, datetime) else ("—" if v is None else str(v))


def _direction(lang: str | None) -> str:
    if not lang:
        return "auto"
    return "rtl" if lang.split("-")[0].lower() in RTL else "ltr"


def _safe_url(url: str | None) -> str | None:
    """Only http(s) links leave the dashboard: a stored ``javascript:`` URL is shown as text."""
    if url and urlsplit(url.strip()).scheme.lower() in ("http", "https"):
        return url.strip()
    return None


_env.filters["date"] = _date
_env.filters["dir"] = _direction
_env.filters["safe_url"] = _safe_url
_env.filters["pct"] = lambda v: "—" if v is None else f"{v:.2f}"


def _page(request: Request, name: str, user, **ctx) -> HTMLResponse:
    names = _ws(request).names()  # outlets and actors by name everywhere, keys in a tooltip
    ctx.update(request=request, user=user, analyst=getattr(user, "role", None) == "analyst",
               path=request.url.path,
               outlet_name=lambda key: names["sources"].get(key, key) if key else key,
               actor_name=lambda key: names["actors"].get(key, key) if key else key)
    return HTMLResponse(_env.get_template(name).render(**ctx))


def _ws(request: Request):
    return request.app.state.workspace


# -- overview -----------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
def overview(request: Request, user=USER):
    ws = _ws(request)
    st = ws.stats()
    narratives = ws.narratives()
    counts = {"documents": st["documents"], "sources": st["sources"],
              "languages": len([k for k in st["languages"] if k != "None"]), **ws.finding_counts()}
    top = sorted(narratives, key=lambda n: (-n.asserts, -n.matches, n.key))[:10]
    widest = max([n.matches for n in top] or [1]) or 1
    # the most recent among the 200 strongest: listing every pair to pick five was the slow part
    strongest = ws.contradictions(limit=200)
    recent = sorted(strongest, key=lambda c: max(c.a_published_at or datetime.min,
                                                 c.b_published_at or datetime.min), reverse=True)[:5]
    return _page(request, "overview.html", user, counts=counts, top=top, widest=widest, recent=recent,
                 recycled=ws.recycled_sources(3)[:10], stats=st, undated=ws.undated_documents())


# -- narratives ---------------------------------------------------------------------------------

def _narrative(ws, key: str):
    for n in ws.narratives(include_dismissed=True):
        if n.key == key:
            return n
    raise HTTPException(404, "no such narrative")


def _period(rows) -> str:
    """Days for a short corpus, weeks or months when daily bars would be unreadable."""
    days = sorted({r.period for r in rows if r.period is not None})  # undated rows have no place in time
    if len(days) < 2:
        return "day"
    span = (datetime.fromisoformat(days[-1]) - datetime.fromisoformat(days[0])).days
    return "day" if span <= 90 else "week" if span <= 700 else "month"


@router.get("/narratives/{key}", response_class=HTMLResponse)
def narrative_page(request: Request, key: str, by: str = "audience", user=USER):
    ws = _ws(request)
    n = _narrative(ws, key)
    by = by if by in BY else "audience"
    matches = ws.matches(key)
    outlets = Counter(m.source or "unknown" for m in matches if (m.reviewed_stance or m.stance) == "asserts"
                      and m.review != "rejected")
    rows = ws.prevalence(by=by, narrative=key, period="day")
    totals = prevalence_totals(rows)  # all periods, the undated documents counted too
    try:
        spread = ws.narrative_spread(key)
    except Exception:  # provenance not computed for this workspace: the page still works
        spread = []
    return _page(request, "narrative.html", user, n=n, by=by, dims=BY, matches=matches[:200],
                 n_matches=len(matches), outlets=outlets.most_common(10), totals=totals,
                 total=sum(t.documents for t in totals), undated=sum(t.undated for t in totals),
                 note=undated_note(rows), spread=[st for st in spread if st.first is not None],
                 spread_undated=[st for st in spread if st.first is None],
                 spread_undated_docs=sum(st.undated for st in spread))


@router.get("/narratives/{key}/chart.svg")
def narrative_chart(request: Request, key: str, by: str = "audience", user=USER):
    ws = _ws(request)
    _narrative(ws, key)
    by = by if by in BY else "audience"
    rows = ws.prevalence(by=by, narrative=key, period="day")
    period = _period(rows)
    if period != "day":
        rows = ws.prevalence(by=by, narrative=key, period=period)
    note = undated_note(rows)
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",  # an id only; nothing is fetched
        "width": 640, "height": 220, "background": "white",
        # the chart is an <img>: the page's note is not beside it when the image is saved on its own
        **({"title": {"text": note, "fontSize": 12, "fontWeight": "normal", "anchor": "start"}} if note else {}),
        "data": {"values": [r.as_dict() for r in rows if r.period is not None]},
        "mark": "bar",
        "encoding": {"x": {"field": "period", "type": "ordinal", "title": f"period ({period})"},
                     "y": {"aggregate": "sum", "field": "documents", "type": "quantitative", "title": "documents"},
                     "color": {"field": "group", "type": "nominal", "title": by}},
    }
    svg = vl_convert.vegalite_to_svg(spec)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


# -- contradictions -------------------------------------------------------------------------------

@router.get("/contradictions", response_class=HTMLResponse)
def contradictions_page(request: Request, cross: str = "", page: int = 1, user=USER):
    ws = _ws(request)
    # One finding per claim pair and document pair, the strongest first; rejected ones hidden.
    found = ws.contradictions(cross_audience=True if cross == "1" else None, review="hide-rejected")
    pages = max(1, math.ceil(len(found) / PAGE))
    page = min(max(1, page), pages)
    rows = found[(page - 1) * PAGE:page * PAGE]
    return _page(request, "contradictions.html", user, rows=rows, cross=cross, page=page, pages=pages,
                 total=len(found))


# -- provenance --------------------------------------------------------------------------------------

def _graph_svg(G, width=720, height=460, pad=60):
    """Node and edge geometry for the outlet network; the template writes the SVG (escaped)."""
    if G.number_of_nodes() == 0:
        return None
    # A fixed seed: the same workspace always draws the same picture.
    pos = nx.spring_layout(G, seed=7, weight="weight") if G.number_of_nodes() > 1 else {next(iter(G)): (0.0, 0.0)}
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)

    def sx(x):
        return pad + (x - x0) / ((x1 - x0) or 1) * (width - 2 * pad) if x1 > x0 else width / 2

    def sy(y):
        return pad + (y - y0) / ((y1 - y0) or 1) * (height - 2 * pad) if y1 > y0 else height / 2

    nodes = [{"key": k, "x": round(sx(pos[k][0]), 1), "y": round(sy(pos[k][1]), 1),
              "r": round(6 + 3 * math.sqrt(d.get("n_groups", 1)), 1), "groups": d.get("n_groups", 0),
              "first": d.get("n_first", 0)} for k, d in G.nodes(data=True)]
    edges = [{"a": a, "b": b, "x1": round(sx(pos[a][0]), 1), "y1": round(sy(pos[a][1]), 1),
              "x2": round(sx(pos[b][0]), 1), "y2": round(sy(pos[b][1]), 1), "weight": d.get("weight", 1),
              "w": round(1 + 1.5 * math.log2(1 + d.get("weight", 1)), 1), "methods": d.get("methods", "")}
             for a, b, d in G.edges(data=True)]
    return {"width": width, "height": height, "nodes": nodes, "edges": edges}


@router.get("/provenance", response_class=HTMLResponse)
def provenance_page(request: Request, user=USER):
    ws = _ws(request)
    recycled = ws.recycled_sources(3)
    for sp in recycled:
        sp.by_outlet.sort(key=lambda o: (o.first is None, o.first or datetime.min))
    try:
        trails = ws.quote_trails()[:30]
    except Exception:  # embeddings unavailable: show the rest of the page
        trails = []
    groups = ws.coordination()
    # the last coordination run's count of documents it could not place in time (stage_state)
    last = next((st["last_result"] for st in ws.stages() if st["name"] == "coordination"), None) or {}
    return _page(request, "provenance.html", user, recycled=recycled, trails=trails, groups=groups,
                 graph=_graph_svg(ws.coordination_graph()), coordination_run=last,
                 undated=ws.undated_documents())


# -- document viewer ------------------------------------------------------------------------------------

def _document_spans(ws, doc_id: int) -> list[tuple[int, int, str, str]]:
    """(start, end, css class, label) for quotes (content, speaker, cue), entity mentions and
    narrative matches of one document: the API's spans (``Workspace.document_spans``) as the
    highlighter wants them. NotFound when there is no such document."""
    spans = ws.document_spans(doc_id)
    entity_names = {e.key: e.name for e in ws.entities()} if any(sp.kind == "mention" for sp in spans) else {}
    out = []
    for sp in spans:
        if sp.kind == "quote":
            out.append((sp.start, sp.end, "hl-quote", f"quote ({sp.label}) — {sp.speaker or 'unattributed'}"))
        elif sp.kind == "speaker":
            out.append((sp.start, sp.end, "hl-speaker", f"speaker: {sp.speaker or 'unattributed'}"))
        elif sp.kind == "cue":
            out.append((sp.start, sp.end, "hl-cue", f"cue: {sp.text}"))
        elif sp.kind == "carrier":  # "Outlet quoted X as saying": the outlet carries, X speaks
            out.append((sp.start, sp.end, "hl-cue", f"carried by: {sp.text}"))
        elif sp.kind == "mention":
            who = entity_names.get(sp.entity, sp.entity) if sp.entity else "unlinked"
            out.append((sp.start, sp.end, "hl-mention", f"{sp.label}: {who}"))
        elif sp.kind == "match":
            review = f", {sp.review} by an analyst" if sp.review else ""
            out.append((sp.start, sp.end, f"hl-match hl-{sp.stance}", f"narrative {sp.narrative}: {sp.stance}{review}"))
    return out


def highlight(text: str, spans) -> Markup:
    """Split ``text`` at every span boundary and escape each piece; a piece covered by spans
    becomes one ``<span>`` whose classes and title come from all of them. The result is marked
    safe because every character of ``text`` and every label went through ``escape`` here and the
    only tags added are this function's literal ``<span>`` tags."""
    n = len(text)
    spans = [(max(0, a), min(n, b), c, lab) for a, b, c, lab in spans if a is not None and b is not None and a < b]
    cuts = sorted({0, n, *(a for a, *_ in spans), *(b for _, b, *_ in spans)})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        piece = escape(text[a:b])
        active = [sp for sp in spans if sp[0] <= a and b <= sp[1]]
        if not active:
            out.append(str(piece))
            continue
        classes = " ".join(sorted({c for *_, c, _ in active for c in c.split()}))
        title = " · ".join(dict.fromkeys(lab for *_, lab in active))
        out.append(f'<span class="{escape(classes)}" title="{escape(title)}">{piece}</span>')
    return Markup("".join(out))


@router.get("/documents/{doc_id}", response_class=HTMLResponse)
def document_page(request: Request, doc_id: int, user=USER):
    ws = _ws(request)
    doc = ws.document(doc_id)  # NotFound: a 404 from the app's one error handler
    spans = _document_spans(ws, doc_id)
    quotes = ws.quotes(document=doc_id)
    matches = sorted({(lab, a) for a, b, c, lab in spans if c.startswith("hl-match")}, key=lambda t: t[1])
    mentions = Counter(lab for a, b, c, lab in spans if c == "hl-mention")
    return _page(request, "document.html", user, doc=doc, body=highlight(doc.text or "", spans), quotes=quotes,
                 matches=matches, mentions=sorted(mentions.items()))


# -- search --------------------------------------------------------------------------------------------------

def _snippet(s: str) -> Markup:
    """FTS5 marks hits with ⟨ ⟩; escape the text between the marks and wrap hits in <mark>
    (safe for the same reason as ``highlight``)."""
    out, inside = [], False
    for part in s.replace("\u27e9", "\u27e8").split("\u27e8"):
        out.append(f"<mark>{escape(part)}</mark>" if inside else str(escape(part)))
        inside = not inside
    return Markup("".join(out))


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, q: str = "", semantic: str = "", source: str = "", audience: str = "",
                language: str = "", since: str = "", until: str = "", user=USER):
    ws = _ws(request)
    error, status = None, 200
    try:  # one meaning of since/until everywhere: inclusive, a bare date is that whole day (UTC)
        filters = Filters.of(source=source, audience=audience, language=language, since=since, until=until)
    except InvalidInput as e:
        filters, error, status = None, str(e), 400
    hits, sem = [], semantic == "1"
    if q.strip() and filters is not None:
        try:
            hits = (ws.semantic_search(q, limit=30, filters=filters) if sem
                    else ws.search(q, limit=30, filters=filters))
        except NarratraceError as e:  # a missing model or index is the user's to fix: say so on the page
            error = f"search failed: {str(e)[:200]}"
    snippets = {h.document_id: _snippet(h.snippet) for h in hits} if hits and not sem else {}
    all_sources = ws.sources()
    sources = sorted(s.key for s in all_sources)
    audiences = sorted({s.audience for s in all_sources if s.audience})
    languages = sorted(k for k in ws.stats()["languages"] if k != "None")
    page = _page(request, "search.html", user, q=q, sem=sem, hits=hits, snippets=snippets, error=error,
                 f={"source": source, "audience": audience, "language": language, "since": since, "until": until},
                 sources=sources, audiences=audiences, languages=languages)
    page.status_code = status
    return page


# -- login ---------------------------------------------------------------------------------------------------

@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, error: str = "", next: str = "/"):
    # No user dependency: the form must show to someone who is not signed in yet.
    html = _env.get_template("login.html").render(request=request, user=None, analyst=False, path="/login",
                                                  error=bool(error), next=next if next.startswith("/") else "/")
    return HTMLResponse(html)


__all__ = ["router", "STATIC_DIR", "highlight"]
