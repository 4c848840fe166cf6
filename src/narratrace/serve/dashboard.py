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

import csv
import io
import math
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlencode, urlsplit

import networkx as nx
import vl_convert
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape

from narratrace.errors import InvalidInput, NarratraceError
from narratrace.filters import AUDIENCES, Filters
from narratrace.report.export import neutralise_formula
from narratrace.report.prevalence import totals as prevalence_totals
from narratrace.report.prevalence import undated_note
from narratrace.serve.api import MAX_ID, audit_review
from narratrace.serve.auth import current_user

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATE_DIR = Path(__file__).parent / "templates"

# Languages written right to left; every other known language gets dir="ltr", unknown dir="auto".
RTL = {"fa", "ar", "he", "ur", "ps", "ckb", "yi", "dv", "sd", "ug"}
BY = ("audience", "language", "source")
PERIOD_VIEWS = ("auto", "day", "week", "month")  # "auto": days, weeks or months from the span
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


def _prevalence_view(ws, key: str, by: str, period: str, normalise: bool):
    """The rows behind a narrative's chart, its table and its CSV: ``period`` "auto" picks days,
    weeks or months from the span (``_period``); returns (rows, the period used)."""
    rows = ws.prevalence(by=by, narrative=key, period="day" if period == "auto" else period, normalise=normalise)
    if period == "auto":
        period = _period(rows)
        if period != "day":
            rows = ws.prevalence(by=by, narrative=key, period=period, normalise=normalise)
    return rows, period


def _view_args(by: str, period: str, normalise: str, *, strict: bool = False) -> tuple[str, str, bool]:
    """The page's GET parameters: links fall back to the default view; the CSV (data) says what is wrong."""
    if strict:
        if by not in BY:
            raise InvalidInput(f"by must be one of {', '.join(BY)}, not '{by[:40]}'")
        if period not in PERIOD_VIEWS:
            raise InvalidInput(f"period must be one of {', '.join(PERIOD_VIEWS)}, not '{period[:40]}'")
        if normalise not in ("", "0", "1"):
            raise InvalidInput(f"normalise is 0 or 1, not '{normalise[:40]}'")
    return (by if by in BY else "audience", period if period in PERIOD_VIEWS else "auto", normalise == "1")


@router.get("/narratives/{key}", response_class=HTMLResponse)
def narrative_page(request: Request, key: str, by: str = "audience", period: str = "auto", normalise: str = "",
                   user=USER):
    ws = _ws(request)
    n = _narrative(ws, key)
    by, period, norm = _view_args(by, period, normalise)
    matches = ws.matches(key)
    outlets = Counter(m.source or "unknown" for m in matches if (m.reviewed_stance or m.stance) == "asserts"
                      and m.review != "rejected")
    rows, shown = _prevalence_view(ws, key, by, period, norm)
    # all periods, the undated documents counted too; normalised: by each group's whole volume
    totals = ws.prevalence_totals(by=by, narrative=key, normalise=True) if norm else prevalence_totals(rows)
    try:
        spread = ws.narrative_spread(key)
    except Exception:  # provenance not computed for this workspace: the page still works
        spread = []
    view = {"by": by, "period": period, "normalise": "1" if norm else "0"}
    return _page(request, "narrative.html", user, n=n, by=by, dims=BY, matches=matches[:200],
                 n_matches=len(matches), outlets=outlets.most_common(10), totals=totals,
                 total=sum(t.documents for t in totals), undated=sum(t.undated for t in totals),
                 note=undated_note(rows), spread=[st for st in spread if st.first is not None],
                 spread_undated=[st for st in spread if st.first is None],
                 spread_undated_docs=sum(st.undated for st in spread), view=view, norm=norm, shown_period=shown,
                 periods=PERIOD_VIEWS, view_qs=lambda **over: urlencode({**view, **over}))


@router.get("/narratives/{key}/chart.svg")
def narrative_chart(request: Request, key: str, by: str = "audience", period: str = "auto", normalise: str = "",
                    user=USER):
    ws = _ws(request)
    _narrative(ws, key)
    by, period, norm = _view_args(by, period, normalise)
    rows, period = _prevalence_view(ws, key, by, period, norm)
    names = ws.names()["sources"] if by == "source" else {}
    note = undated_note(rows)
    values = [{**r.as_dict(), "group": names.get(r.group, r.group)} for r in rows if r.period is not None]
    if norm:  # shares of different groups do not add up: one line per group, not stacked bars
        mark = {"type": "line", "point": True}
        y = {"field": "share", "type": "quantitative", "title": "share of the group's documents",
             "axis": {"format": "%"}}
    else:
        mark, y = "bar", {"aggregate": "sum", "field": "documents", "type": "quantitative", "title": "documents"}
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",  # an id only; nothing is fetched
        "width": 640, "height": 220, "background": "white",
        # the chart is an <img>: the page's note is not beside it when the image is saved on its own
        **({"title": {"text": note, "fontSize": 12, "fontWeight": "normal", "anchor": "start"}} if note else {}),
        "data": {"values": values},
        "mark": mark,
        "encoding": {"x": {"field": "period", "type": "ordinal", "title": f"period ({period})"}, "y": y,
                     "color": {"field": "group", "type": "nominal", "title": "outlet" if by == "source" else by}},
    }
    svg = vl_convert.vegalite_to_svg(spec)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.get("/narratives/{key}/prevalence.csv")
def narrative_prevalence_csv(request: Request, key: str, by: str = "audience", period: str = "auto",
                             normalise: str = "", user=USER):
    """The chart's data as CSV (Media Cloud's "download"), undated documents in their own rows;
    every text cell neutralised as the export's are (outlet names and keys come from data)."""
    ws = _ws(request)
    _narrative(ws, key)
    by, period, norm = _view_args(by, period, normalise, strict=True)
    rows, period = _prevalence_view(ws, key, by, period, norm)
    names = ws.names()["sources"] if by == "source" else {}
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["narrative", "period", "period_start", "undated", by, "name", "documents", "volume", "share"])
    for r in rows:
        w.writerow([neutralise_formula(x) for x in (
            r.narrative, period, r.period or "", "1" if r.period is None else "0", r.group,
            names.get(r.group, r.group), r.documents, "" if r.volume is None else r.volume,
            "" if r.share is None else r.share)])
    fname = re.sub(r"[^A-Za-z0-9._-]+", "_", key)[:80] + f"-prevalence-{by}-{period}{'-share' if norm else ''}.csv"
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{fname}"', "Cache-Control": "no-store"})


# -- review queue: contradictions, matches, reviews, activity ----------------------------------------

REVIEW_STATUS = {"": "hide-rejected", "unreviewed": "unreviewed", "confirmed": "confirmed", "rejected": "rejected",
                 "all": None}  # the status filter's values → the store's review filter ("": the default)
MAX_BULK = 200  # findings in one bulk review: four pages' worth; more is a mistake in the form, not work


def _number(raw: str, name: str) -> float | None:
    """A form's number ("" → None); anything else that is not a finite number is InvalidInput naming it."""
    if not raw.strip():
        return None
    try:
        v = float(raw)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        raise InvalidInput(f"{name} must be a number between 0 and 1, not '{raw[:40]}'")
    return v


def _status(raw: str) -> str | None:
    if raw not in REVIEW_STATUS:
        raise InvalidInput(f"unknown review status '{raw[:40]}' (unreviewed, confirmed, rejected, all)")
    return REVIEW_STATUS[raw]


def _pages_of(total: int, page: int) -> tuple[int, int]:
    pages = max(1, math.ceil(total / PAGE))
    return min(max(1, page), pages), pages


def _here(request: Request) -> str:
    """This page's path and query (less the last save's count): where a review form sends the analyst back."""
    q = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "saved"])
    return request.url.path + (f"?{q}" if q else "")


def _review_index(ws) -> dict:
    """Reviews by what they judge: ("contradiction", low id, high id) and ("match", sentence id, narrative)."""
    out = {}
    for r in ws.reviews():
        out[(r.kind, r.sentence_id, r.other_sentence_id if r.kind == "contradiction" else r.narrative)] = r
    return out


def _choices(ws) -> dict:
    names = ws.names()
    narratives = [(n.key, n.name) for n in ws.narratives(include_dismissed=True)]
    return {"narratives": narratives, "narrative_names": dict(narratives),
            "actors": sorted(names["actors"].items(), key=lambda kv: kv[1].lower()),
            "sources": sorted(names["sources"].items(), key=lambda kv: kv[1].lower()),
            "audiences": AUDIENCES, "languages": sorted(k for k in ws.stats()["languages"] if k != "None")}


def _queue_page(request: Request, user, template: str, f: dict, run, **extra) -> HTMLResponse:
    """Render a review-queue page: ``run()`` → (rows, total) or raises a NarratraceError, which
    becomes a message at the top of the page (status 400/404), never a 500 or a JSON page."""
    ws = _ws(request)
    error, status, rows, total = None, 200, [], 0
    try:
        rows, total = run()
    except NarratraceError as e:
        error, status = str(e)[:500], e.status if e.status in (400, 404, 413) else 400
    page, pages = _pages_of(total, f.get("page", 1))
    qs = urlencode({k: v for k, v in f.items() if k != "page" and v not in ("", None)})
    saved = request.query_params.get("saved", "")
    resp = _page(request, template, user, rows=rows, total=total, page=page, pages=pages, f=f, qs=qs,
                 error=error, reviews=_review_index(ws), here=_here(request), choices=_choices(ws),
                 saved=int(saved) if saved.isdigit() and len(saved) < 5 else None, **extra)
    resp.status_code = status
    return resp


@router.get("/contradictions", response_class=HTMLResponse)
def contradictions_page(request: Request, cross: str = "", page: int = 1, narrative: str = "", actor: str = "",
                        source: str = "", audience: str = "", language: str = "", since: str = "", until: str = "",
                        min_score: str = "", status: str = "", user=USER):
    # One finding per claim pair and document pair; unreviewed first, then the strongest; rejected hidden.
    ws = _ws(request)
    f = {"cross": cross if cross == "1" else "", "narrative": narrative, "actor": actor, "source": source,
         "audience": audience, "language": language, "since": since, "until": until, "min_score": min_score,
         "status": status, "page": page}

    def run():
        kw = {"cross_audience": True if cross == "1" else None, "review": _status(status),
              "narrative": narrative or None, "actor": actor or None, "min_score": _number(min_score, "minimum score"),
              "filters": Filters.of(source=source, audience=audience, language=language, since=since, until=until)}
        total = ws.count_contradictions(**kw)
        p, _ = _pages_of(total, page)
        return ws.contradictions(limit=PAGE, offset=(p - 1) * PAGE, queue=True, **kw), total

    return _queue_page(request, user, "contradictions.html", f, run)


@router.get("/matches", response_class=HTMLResponse)
def matches_page(request: Request, page: int = 1, narrative: str = "", actor: str = "", holder_actor: str = "",
                 source: str = "", audience: str = "", language: str = "", since: str = "", until: str = "",
                 min_p: str = "", stance: str = "", holder_kind: str = "", status: str = "", user=USER):
    ws = _ws(request)
    f = {"narrative": narrative, "actor": actor, "holder_actor": holder_actor, "source": source,
         "audience": audience, "language": language, "since": since, "until": until, "min_p": min_p,
         "stance": stance, "holder_kind": holder_kind, "status": status, "page": page}

    def run():
        if stance not in ("", "asserts", "denies", "neutral"):
            raise InvalidInput(f"stance is asserts, denies or neutral, not '{stance[:40]}'")
        filters = Filters.of(source=source, actor=actor, audience=audience, language=language, since=since,
                             until=until)
        kw = {"stance": stance or None, "filters": filters, "holder_actor": holder_actor or None,
              "holder_kind": holder_kind or None, "min_p": _number(min_p, "minimum p(related)"),
              "review": _status(status)}
        total = ws.count_matches(narrative or None, **kw)
        p, _ = _pages_of(total, page)
        return ws.matches(narrative or None, limit=PAGE, offset=(p - 1) * PAGE, queue=True, **kw), total

    return _queue_page(request, user, "matches.html", f, run)


@router.get("/activity", response_class=HTMLResponse)
def activity_page(request: Request, page: int = 1, who: str = "", action: str = "", user=USER):
    ws = _ws(request)
    f = {"who": who, "action": action, "page": page}

    def run():
        total = ws.audit_summary(user=who or None, action=action or None)["total"]
        p, _ = _pages_of(total, page)
        return ws.audit(PAGE, offset=(p - 1) * PAGE, user=who or None, action=action or None), total

    return _queue_page(request, user, "activity.html", f, run, log=ws.audit_summary())


def _review_error(request: Request, user, status: int, message: str, back: str) -> HTMLResponse:
    resp = _page(request, "review_error.html", user, message=message, back=back)
    resp.status_code = status
    return resp


def _local(path: str) -> str:
    """Only a path on this server (no open redirect): the form's ``next``, else the contradictions page."""
    ok = path.startswith("/") and not path.startswith("//") and "\\" not in path and len(path) <= 2000
    return path if ok else "/contradictions"


@router.post("/reviews", response_class=HTMLResponse)
def review_form(request: Request, verdict: Annotated[str, Form(max_length=16)] = "",
                item: Annotated[list[str] | None, Form()] = None,
                note: Annotated[str | None, Form(max_length=100_000)] = None,
                tags: Annotated[str | None, Form(max_length=100_000)] = None,
                next: Annotated[str, Form(max_length=4000)] = "/contradictions", user=USER):
    """Confirm or reject one finding (a card's form, with its note and tags) or many (the bulk
    form: checked cards, their notes and tags kept). Without script: the browser posts the form
    and comes back to ``next``. CSRF: auth.same_origin_form. Each review is audited."""
    back = _local(next)
    if not user.can_write:
        return _review_error(request, user, 403, f"'{user.name}' is a {user.role}: reviewing needs the analyst "
                                                 "role", back)
    items = [i for i in (item or []) if i]
    if verdict not in ("confirmed", "rejected"):
        return _review_error(request, user, 400, "choose confirm or reject", back)
    if not items:
        return _review_error(request, user, 400, "nothing selected: tick the findings to review first", back)
    if len(items) > MAX_BULK:
        return _review_error(request, user, 413, f"{len(items)} findings in one review; the limit is {MAX_BULK}",
                             back)
    ws = _ws(request)
    existing = _review_index(ws)
    try:
        todo = [_parse_item(i) for i in items]
        for kind, sid, other in todo:
            key = (kind, min(sid, other), max(sid, other)) if kind == "contradiction" else (kind, sid, other)
            old = existing.get(key)
            review = ws.review(kind, sid, verdict, narrative=other if kind == "match" else None,
                               other_sentence_id=other if kind == "contradiction" else None,
                               stance=old.stance if old else None,  # a bulk confirm keeps a corrected stance
                               note=note, tags=tags, reviewer=user.name)
            audit_review(ws, user, review)
    except NarratraceError as e:
        return _review_error(request, user, e.status if e.status in (400, 404, 413) else 400, str(e)[:500], back)
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}saved={len(todo)}", status_code=303)


def _parse_item(raw: str) -> tuple[str, int, int | str]:
    """A form's finding: "c:<sentence>:<sentence>" (a contradiction) or "m:<sentence>:<narrative key>"."""
    parts = raw.split(":", 2)
    try:
        ids = [int(p) for p in parts[1:3 if parts[0] == "c" else 2]]
    except ValueError:
        ids = []
    if len(parts) == 3 and ids and all(0 < i <= MAX_ID for i in ids):  # beyond 64 bits SQLite overflows
        if parts[0] == "c" and len(ids) == 2:
            return "contradiction", ids[0], ids[1]
        if parts[0] == "m" and 0 < len(parts[2]) <= 128:
            return "match", ids[0], parts[2]
    raise InvalidInput(f"not a finding: '{raw[:60]}' (c:<id>:<id> or m:<id>:<narrative>)")


# -- provenance --------------------------------------------------------------------------------------

# Node colours by actor: 10 CSS classes (net-a0…net-a9, dashboard.css /* analytics */, Tableau 10,
# colour-blind-tolerant); actors beyond ten reuse them in order, and the legend says which is which.
N_ACTOR_COLOURS = 10
# Node shapes by audience (filters.AUDIENCES); an outlet with none is a circle with a dashed outline.
AUDIENCE_SHAPES = {"domestic": "circle", "foreign": "square", "diaspora": "diamond", "mixed": "triangle"}


def _epoch(iso: str) -> int | None:
    """Stored times are UTC (naive ones too): seconds since 1970 for the time slider."""
    if not iso:
        return None
    t = datetime.fromisoformat(iso)
    return int((t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp())


def _shape_points(shape: str, x: float, y: float, r: float) -> str:
    if shape == "square":
        pts = [(x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r)]
    elif shape == "diamond":
        r *= 1.25
        pts = [(x, y - r), (x + r, y), (x, y + r), (x - r, y)]
    else:  # triangle
        r *= 1.3
        pts = [(x, y - r), (x + 0.866 * r, y + 0.5 * r), (x - 0.866 * r, y + 0.5 * r)]
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)


def _graph_svg(G, width=720, height=460, pad=60, names: dict[str, str] | None = None):
    """Geometry of the outlet spread network (``coordination_graph(directed=True)``): an arrow from
    each group's first publisher to every outlet that followed, curved so that a→b and b→a both
    show, ending at the follower's edge; nodes coloured by actor and shaped by audience, labelled
    with the outlet's name; every edge and node carries the time it appears (``t``, epoch seconds)
    for the slider (static/network.js). The template writes the SVG, escaped."""
    if G.number_of_nodes() == 0:
        return None
    names = names or {}
    # A fixed seed: the same workspace always draws the same picture.
    pos = (nx.spring_layout(G.to_undirected(), seed=7, weight="weight") if G.number_of_nodes() > 1
           else {next(iter(G)): (0.0, 0.0)})
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)

    def sx(x):
        return pad + (x - x0) / ((x1 - x0) or 1) * (width - 2 * pad) if x1 > x0 else width / 2

    def sy(y):
        return pad + (y - y0) / ((y1 - y0) or 1) * (height - 2 * pad) if y1 > y0 else height / 2

    actors = sorted({d.get("actor") or "" for _, d in G.nodes(data=True)} - {""})
    colour = {a: f"net-a{i % N_ACTOR_COLOURS}" for i, a in enumerate(actors)}
    nodes, radius = [], {}
    for k, d in G.nodes(data=True):
        x, y = round(sx(pos[k][0]), 1), round(sy(pos[k][1]), 1)
        # area grows with the groups the outlet is in, whether it led or followed
        r = radius[k] = round(6 + 3 * math.sqrt(d.get("n_first", 0) + d.get("n_follow", 0)), 1)
        shape = AUDIENCE_SHAPES.get(d.get("audience") or "", "circle")
        nodes.append({"key": k, "label": d.get("label") or k, "x": x, "y": y, "r": r, "shape": shape,
                      "points": "" if shape == "circle" else _shape_points(shape, x, y, r),
                      "colour": colour.get(d.get("actor") or "", "net-a-none"),
                      "audience": d.get("audience") or "", "actor": d.get("actor") or "",
                      "outline": f"net-aud-{d.get('audience')}" if d.get("audience") in AUDIENCE_SHAPES else "net-aud-none",
                      "first": d.get("n_first", 0), "follow": d.get("n_follow", 0), "t": _epoch(d.get("first", ""))})
    edges = []
    for a, b, d in G.edges(data=True):
        ax, ay, bx, by_ = sx(pos[a][0]), sy(pos[a][1]), sx(pos[b][0]), sy(pos[b][1])
        length = math.hypot(bx - ax, by_ - ay) or 1.0
        ux, uy = (bx - ax) / length, (by_ - ay) / length
        # stop short of the follower's shape so the arrowhead shows; bend to the left of a→b
        ex, ey = bx - ux * (radius[b] + 3), by_ - uy * (radius[b] + 3)
        bend = min(40.0, 0.15 * length)
        cx, cy = (ax + bx) / 2 - uy * bend, (ay + by_) / 2 + ux * bend
        edges.append({"a": a, "b": b, "d": f"M{ax:.1f},{ay:.1f} Q{cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}",
                      "weight": d.get("weight", 1), "w": round(1 + 1.5 * math.log2(1 + d.get("weight", 1)), 1),
                      "methods": d.get("methods", ""), "first": d.get("first", ""), "t": _epoch(d.get("first", "")),
                      "lag": d.get("lag_seconds")})
    times = sorted(t for t in [e["t"] for e in edges] + [n["t"] for n in nodes] if t is not None)
    legend_actors = [(colour[a], names.get(a, a), a) for a in actors]
    if any(n["colour"] == "net-a-none" for n in nodes):
        legend_actors.append(("net-a-none", "no actor", ""))
    present = {n["audience"] for n in nodes}
    legend_audiences = [(shape, aud) for aud, shape in AUDIENCE_SHAPES.items() if aud in present]
    if present - set(AUDIENCE_SHAPES):
        legend_audiences.append(("none", "no audience"))
    return {"width": width, "height": height, "nodes": nodes, "edges": edges,
            "t0": times[0] if times else None, "t1": times[-1] if times else None,
            "legend_actors": legend_actors, "legend_audiences": legend_audiences}


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
                 graph=_graph_svg(ws.coordination_graph(directed=True), names=ws.names()["actors"]),
                 coordination_run=last,
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
    # the analysts' renderings, by the span they translate (a sentence's or a quote's) and language
    translations: dict[tuple[int, int], dict[str, object]] = {}
    for t in ws.translations(document_ids=[doc_id]):
        translations.setdefault((t.start, t.end), {})[t.language] = t
    return _page(request, "document.html", user, doc=doc, body=highlight(doc.text or "", spans), quotes=quotes,
                 matches=matches, mentions=sorted(mentions.items()), translations=translations)


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
