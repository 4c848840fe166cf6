"""The narrative page's prevalence views (raw / normalised, day / week / month, plain links that work
without JavaScript), its chart, the chart's data as CSV (cells neutralised like the export's) and
the REST API's ``normalise``; and the provenance page's directed outlet network (arrows from first
publisher to followers, colour by actor, shape by audience, the time slider's data) — on the
fictional corpus of tests/match/test_prevalence_normalised.py plus two coordination groups written
as the coordination stage writes them."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from match.test_prevalence_normalised import KEY, build

from serve.test_dashboard import browser  # noqa: F401 - the fixture (Debian's chromium, skips without it)


def add_groups(ws) -> None:
    """Group 1: vv first (May 4 09:00), mp 10 min later, ic 20 min later; group 2: mp first (May 4
    09:00), vv 30 min later — so vv→mp, vv→ic and mp→vv."""
    from sqlalchemy import select

    from narratrace.store.models import CoordinationGroup, CoordinationMember, Document

    with ws.sessions.begin() as s:
        docs = {d.origin: d for d in s.scalars(select(Document))}
        plan = [[("vv-1", 0), ("mp-9", 10), ("ic-19", 20)], [("mp-10", 0), ("vv-5", 30)]]
        for members in plan:
            first = docs[members[0][0]]
            start = (first.published_at or datetime(2026, 5, 11, 9)).replace(tzinfo=None)
            g = CoordinationGroup(method="near-duplicate", window_seconds=3600, first_document_id=first.id,
                                  started_at=start, span_seconds=60 * members[-1][1], n_documents=len(members),
                                  n_sources=len(members), run_at=datetime(2026, 5, 12))
            for origin, minutes in members:
                d = docs[origin]
                g.members.append(CoordinationMember(document_id=d.id, source_id=d.source_id, similarity=0.95,
                                                    published_at=start + timedelta(minutes=minutes)))
            s.add(g)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from narratrace.serve.app import create_app

    ws = build(tmp_path_factory.mktemp("prevpage"))
    add_groups(ws)
    path = ws.path
    ws.close()
    return TestClient(create_app(path), follow_redirects=False)


def _links(html: str) -> set[str]:
    return {m.replace("&amp;", "&") for m in re.findall(r'href="([^"]+)"', html)}


def test_page_offers_every_view_as_a_plain_link(client):
    r = client.get(f"/narratives/{KEY}")
    assert r.status_code == 200
    links = _links(r.text)
    assert {"?by=source&period=auto&normalise=0", "?by=audience&period=week&normalise=0",
            "?by=audience&period=month&normalise=0", "?by=audience&period=auto&normalise=1"} <= links
    # the CSV link names the period the chart shows ("auto" resolved: the corpus spans a week → days)
    assert f"/narratives/{KEY}/prevalence.csv?by=audience&period=day&normalise=0" in links
    assert f'src="/narratives/{KEY}/chart.svg?by=audience&amp;period=auto&amp;normalise=0"' in r.text
    assert "<script>" not in r.text.split("<main>", 1)[1]  # no inline script: the CSP forbids it


def test_normalised_page_shows_volume_and_share(client):
    r = client.get(f"/narratives/{KEY}?by=source&normalise=1&period=week")
    assert r.status_code == 200
    html = r.text
    assert re.search(r'normalise=1" aria-current="true"[^>]*>normalised \(share\)</a>', html)
    assert 'aria-current="true">week</a>' in html
    rows = re.findall(r"<tr><td><bdi title=\"(\w+)\">.*?</bdi></td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>"
                      r"<td>([^<]+)</td></tr>", html)
    assert {(k, int(d), int(u), int(v), s) for k, d, u, v, s in rows} == {
        ("vv", 4, 1, 8, "50.0 %"), ("mp", 1, 0, 10, "10.0 %"), ("ic", 2, 0, 2, "100.0 %")}
    assert "=HYPERLINK(&#34;http://evil.example&#34;) Isle Courier</bdi>" in html  # names are escaped text
    # an unknown view falls back to the default one instead of failing the page
    assert client.get(f"/narratives/{KEY}?by=<x>&period=year&normalise=yes").status_code == 200


def test_chart_plots_shares_as_lines_and_counts_as_bars(client):
    share = client.get(f"/narratives/{KEY}/chart.svg?by=source&normalise=1&period=day")
    assert share.status_code == 200 and share.headers["content-type"].startswith("image/svg+xml")
    assert "share of the group" in share.text and "Morrow Post" in share.text  # outlet names, not keys
    raw = client.get(f"/narratives/{KEY}/chart.svg?by=source&period=week")
    assert "period (week)" in raw.text and "share of the group" not in raw.text
    assert "<script" not in share.text and "xlink:href" not in share.text  # an inert picture


def test_csv_is_the_charts_data_with_formulas_neutralised(client):
    r = client.get(f"/narratives/{KEY}/prevalence.csv?by=source&period=day&normalise=1")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"] and ".csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    got = {(x["period_start"], x["source"]): (x["documents"], x["volume"], x["share"], x["undated"]) for x in rows}
    assert got[("2026-05-04", "mp")] == ("1", "10", "0.1", "0")
    assert got[("", "vv")] == ("1", "2", "0.5", "1")  # the undated documents: their own row
    names = {x["source"]: x["name"] for x in rows}
    assert names["mp"] == "Morrow Post"
    assert names["ic"].startswith("'=HYPERLINK")  # a spreadsheet shows it as text, never runs it
    raw = list(csv.DictReader(io.StringIO(client.get(
        f"/narratives/{KEY}/prevalence.csv?by=audience&period=week").text)))
    assert {(x["period_start"], x["audience"], x["documents"], x["volume"]) for x in raw} == {
        ("2026-05-04", "foreign", "4", ""), ("2026-05-04", "domestic", "1", ""), ("2026-05-11", "foreign", "1", ""),
        ("", "foreign", "1", "")}
    # data does not guess: a wrong parameter is a 400 naming it
    for bad in ("by=colour", "period=year", "normalise=yes"):
        r = client.get(f"/narratives/{KEY}/prevalence.csv?{bad}")
        assert r.status_code == 400 and bad.split("=")[0] in r.text, bad
    assert client.get("/narratives/no-such/prevalence.csv").status_code == 404


def test_api_normalise_parameter(client):
    rows = client.get(f"/api/narratives/{KEY}/prevalence?by=source&normalise=true").json()
    assert {(x["period"], x["group"]): (x["volume"], x["share"]) for x in rows}[("2026-05-04", "vv")] == (4, 0.5)
    plain = client.get(f"/api/narratives/{KEY}/prevalence?by=source").json()
    assert {x["share"] for x in plain} == {None}
    totals = client.get(f"/api/narratives/{KEY}/prevalence/totals?by=audience&normalise=true").json()
    assert {t["group"]: (t["documents"], t["volume"]) for t in totals} == {"foreign": (6, 10), "domestic": (1, 10)}


def test_provenance_network_is_directed_coloured_and_timed(client):
    html = client.get("/provenance").text
    svg = html.split('<svg class="network"', 1)[1].split("</svg>", 1)[0]
    edges = re.findall(r'<path class="edge" d="[^"]+" stroke-width="[^"]+" fill="none" '
                       r'marker-end="url\(#net-arrow\)" data-a="(\w+)" data-b="(\w+)" data-t="(\d+)"', svg)
    t = {(a, b): int(ts) for a, b, ts in edges}
    assert set(t) == {("vv", "mp"), ("vv", "ic"), ("mp", "vv")}  # first publisher → follower, both ways
    assert t[("vv", "mp")] == int(datetime(2026, 5, 4, 9, 10, tzinfo=UTC).timestamp())
    assert t[("vv", "mp")] < t[("vv", "ic")] < t[("mp", "vv")]
    assert '<marker id="net-arrow"' in svg
    nodes = {k: c for c, k in re.findall(r'<a href="#outlet-\d+" class="node ([\w -]+)" data-outlet="(\w+)"', svg)}
    assert nodes["vv"].split()[0] == "net-a0" and nodes["mp"].split()[0] == "net-a-none"  # by actor
    assert "net-aud-none" not in nodes["vv"]
    # shape by audience: vv and ic are foreign (squares), mp domestic (a circle); names as labels
    assert svg.count('<polygon class="shape"') == 2 and svg.count('<circle class="shape"') == 1
    assert ">Veltria Voice</text>" in svg and ">Morrow Post</text>" in svg
    assert "=HYPERLINK(&#34;http://evil.exa…</text>" in svg  # escaped text, long names cut (full in the title)
    assert "=HYPERLINK(&#34;http://evil.example&#34;) Isle Courier (ic)" in svg
    legend = html.split('<div class="net-legend"', 1)[1].split("</div>", 1)[0]
    assert "Government of Veltria" in legend and "no actor" in legend and "foreign" in legend
    # the slider spans the spread and is hidden until static/network.js shows it (no JS: full graph)
    slider = re.search(r'<p class="net-time" data-net-time hidden>.*?min="(\d+)" max="(\d+)"', html)
    assert slider and int(slider.group(1)) == int(datetime(2026, 5, 4, 9, tzinfo=UTC).timestamp())
    assert int(slider.group(2)) == t[("mp", "vv")]
    assert '<script src="/static/network.js" defer></script>' in html
    js = client.get("/static/network.js")
    assert js.status_code == 200 and "innerHTML" not in js.text.replace("never innerHTML", "")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The same workspace behind a real server, for the browser."""
    import threading
    import time

    import uvicorn

    from narratrace.serve.app import create_app
    from serve.test_dashboard import _free_port

    ws = build(tmp_path_factory.mktemp("prevlive"))
    add_groups(ws)
    path = ws.path
    ws.close()
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(path), host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    deadline = time.time() + 30
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    th.join(10)


def test_time_slider_in_a_real_browser(live, browser):  # noqa: F811 - integration: the browser fixture
    """static/network.js under the strict CSP: the slider appears, hides the arrows not yet drawn
    and the play button runs to the end; without JavaScript the full graph shows, no slider."""
    pg = browser.new_page()
    errors = []
    pg.on("console", lambda m: m.type == "error" and errors.append(m.text))
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(live + "/provenance")
    pg.wait_for_load_state("networkidle")
    assert pg.is_visible("#net-slider") and "3 arrow(s)" in pg.inner_text("[data-net-when]")
    lo = int(pg.get_attribute("#net-slider", "min"))
    pg.fill("#net-slider", str(lo + 11 * 60))  # 09:11: only vv → mp (09:10) has happened
    assert pg.locator("path.edge.net-later").count() == 2
    assert pg.inner_text("[data-net-when]").startswith("2026-05-04 09:11 UTC · 1 arrow(s)")
    pg.click("[data-net-play]")
    pg.locator("path.edge.net-later").first.wait_for(state="detached", timeout=15000)  # (no eval: the CSP)
    assert pg.inner_text("[data-net-play]") == "play"  # stopped at the end
    assert errors == []  # no CSP violation, no script error
    pg.close()
    nojs = browser.new_context(java_script_enabled=False).new_page()
    nojs.goto(live + "/provenance")
    assert not nojs.is_visible("#net-slider") and nojs.locator("path.edge").count() == 3
    assert nojs.locator("path.edge.net-later").count() == 0
    nojs.context.close()
