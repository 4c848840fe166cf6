"""The dashboard's review queue over a tiny invented workspace (no model, no demo build):
contradictions and matches filtered in the store and paged with their filters, notes and tags
within their limits, bulk confirm/reject through a form that works without script (and refuses a
cross-site post), reviewer and time on each card, the activity view over the audit log, viewers
read-only, hostile text inert. The same pages in the real browser: test_review_queue_browser.py."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from conftest import write
from fastapi.testclient import TestClient

from serve.test_dashboard import browser  # noqa: F401 - the shared chromium fixture

CSRF = {"X-Narratrace": "1"}
FORM = {"Sec-Fetch-Site": "same-origin"}  # what a browser sends with a form posted from our own page
RLO = "\u202e"
LONG = "x" * 10_000
HOSTILE = f'<script>window.__pwned=1</script><img src=x onerror="alert(1)"> {RLO}evil{RLO} {LONG}'

REGISTRY = """
actors:
  - {id: veltria-state, name: Government of Veltria}
  - {id: ostmark-state, name: Ostmark Council}
sources:
  - {id: vv, name: Veltria Voice, actor: veltria-state, audience: foreign, language: en}
  - {id: vd, name: Veltria Daily, actor: veltria-state, audience: domestic, language: fa}
  - {id: oc, name: Ostmark Courier, actor: ostmark-state, audience: foreign, language: en}
"""
NARRATIVES = """
narratives:
  - id: harbour-sabotage
    name: 'Foreign divers <b>sabotaged</b> the harbour'
    assertions: [Foreign divers sabotaged the Lennox harbour.]
  - id: grain-theft
    name: Grain was stolen
    assertions: [The grain convoy was stolen by the rebels.]
"""
# (origin, source, published_at, language, text)
DOCS = [
    ("vv-1", "vv", datetime(2026, 5, 4, 10), "en", "Foreign divers sabotaged the Lennox harbour. It was at night."),
    ("vd-1", "vd", datetime(2026, 5, 6, 8), "fa", "غواصان خارجی در بندر لنوکس خرابکاری نکردند. بندر آرام بود."),
    ("vv-2", "vv", datetime(2026, 6, 1, 9), "en", f"The convoy was stolen {HOSTILE} and more."),
    ("oc-1", "oc", datetime(2026, 6, 2, 9), "en", "Nobody stole the grain convoy. The rebels were far away."),
    ("oc-2", "oc", None, "en", "The grain convoy was stolen by rebels, the courier said. More later."),
]


def _build(tmp):
    """The invented workspace: five documents, five matches, three contradiction pairs."""
    from sqlalchemy import select

    from narratrace import Workspace
    from narratrace.ingest.items import RawItem
    from narratrace.store.models import Actor, Contradiction, Document, Narrative, NarrativeMatch, Sentence

    ws = Workspace(tmp / "ws.db", create=True)
    ws.import_sources(write(tmp / "sources.yaml", REGISTRY))
    ws.import_narratives(write(tmp / "narratives.yaml", NARRATIVES))
    ws.ingest_items([RawItem(origin=o, kind="record", source=src, language=lang, published_at=when,
                             url=f"https://{src}.example/{o}", text=text) for o, src, when, lang, text in DOCS],
                    workers=1)
    first = {}
    with ws.sessions.begin() as s:
        for d in s.scalars(select(Document)):
            first[d.origin] = min(s.scalars(select(Sentence).where(Sentence.document_id == d.id)),
                                  key=lambda x: x.start).id
        nid = {n.key: n.id for n in s.scalars(select(Narrative))}
        aid = {a.key: a.id for a in s.scalars(select(Actor))}
        run = datetime(2026, 6, 3)

        def match(origin, key, stance, p, holder_kind="outlet", holder_actor=None):
            s.add(NarrativeMatch(sentence_id=first[origin], narrative_id=nid[key], similarity=0.8, sim_assertion=0.8,
                                 stance=stance, stance_score=0.1, embed_model="test", run_at=run, p_related=p,
                                 holder_kind=holder_kind, holder_actor_id=aid.get(holder_actor)))

        match("vv-1", "harbour-sabotage", "asserts", 0.91)
        match("vd-1", "harbour-sabotage", "denies", 0.72)
        match("vv-2", "grain-theft", "asserts", 0.55)
        match("oc-1", "grain-theft", "denies", 0.81)
        match("oc-2", "grain-theft", "asserts", 0.40, holder_kind="reported", holder_actor="veltria-state")

        def pair(a, b, actor, score, na, nb, cross):
            s.add(Contradiction(actor_id=aid[actor], sentence_a_id=first[a], sentence_b_id=first[b], kind="narratives",
                                narrative_a_id=nid[na], narrative_b_id=nid[nb], score=score, p_contradict=score,
                                similarity=0.7, cross_audience=cross, cross_language=cross, run_at=run))

        pair("vv-1", "vd-1", "veltria-state", 0.90, "harbour-sabotage", "harbour-sabotage", True)
        pair("vv-2", "vd-1", "veltria-state", 0.60, "grain-theft", "harbour-sabotage", True)
        pair("oc-1", "oc-2", "ostmark-state", 0.75, "grain-theft", "grain-theft", False)
    return {"ws": ws, "s": first}


@pytest.fixture(scope="module")
def rq(tmp_path_factory):
    built = _build(tmp_path_factory.mktemp("rq"))
    yield built
    built["ws"].close()


@pytest.fixture(scope="module")
def client(rq):
    from narratrace.serve.app import create_app

    return TestClient(create_app(rq["ws"]))


def _pairs(rows):
    return [(c.a_sentence_id, c.b_sentence_id) for c in rows]


# -- the query layer -------------------------------------------------------------------------------

def test_contradiction_filters_run_in_the_store(rq):
    ws, s = rq["ws"], rq["s"]
    from narratrace.filters import Filters

    every = ws.contradictions(queue=True)
    assert len(every) == 3 == ws.count_contradictions()
    # either side counts: the pairs that involve outlet oc, the Persian side, a narrative
    assert _pairs(ws.contradictions(filters=Filters.of(source="oc"))) == [(s["oc-1"], s["oc-2"])]
    assert len(ws.contradictions(filters=Filters.of(language="fa"))) == 2
    assert len(ws.contradictions(filters=Filters.of(audience="domestic"))) == 2
    assert len(ws.contradictions(narrative="harbour-sabotage")) == 2
    assert ws.count_contradictions(narrative="grain-theft", min_score=0.7) == 1
    assert ws.count_contradictions(filters=Filters.of(since="2026-06-01", until="2026-06-01")) == 1
    assert ws.count_contradictions(actor="ostmark-state") == 1
    # unknown keys are a message naming them, never an empty queue
    with pytest.raises(Exception, match="nope"):
        ws.contradictions(narrative="nope")
    with pytest.raises(Exception, match="ostmark"):
        ws.contradictions(actor="ostmark")
    with pytest.raises(Exception, match="between 0 and 1"):
        ws.contradictions(min_score=2)


def test_matches_filters_run_in_the_store(rq):
    ws, s = rq["ws"], rq["s"]
    from narratrace.filters import Filters

    assert ws.count_matches() == 5
    queue = ws.matches(queue=True)
    assert [m.p_related for m in queue] == [0.91, 0.81, 0.72, 0.55, 0.40]  # unreviewed: most probable first
    assert [m.sentence_id for m in ws.matches(holder_actor="veltria-state", queue=True)] == [s["oc-2"]]
    assert ws.count_matches(holder_kind="reported") == 1
    assert ws.count_matches(min_p=0.7) == 3
    assert ws.count_matches("grain-theft", stance="denies") == 1
    assert ws.count_matches(filters=Filters.of(language="fa")) == 1
    with pytest.raises(Exception, match="holder kind"):
        ws.count_matches(holder_kind="bystander")
    with pytest.raises(Exception, match="nope"):
        ws.matches("nope", queue=True)


# -- notes, tags and their limits ------------------------------------------------------------------

def test_review_note_and_tag_limits_on_the_api(client, rq):
    s = rq["s"]
    base = {"kind": "match", "sentence_id": s["vv-2"], "narrative": "grain-theft", "verdict": "confirmed"}
    r = client.post("/api/reviews", json={**base, "note": "n" * 2_001}, headers=CSRF)
    assert r.status_code == 413 and "2,000" in r.json()["detail"], r.text
    r = client.post("/api/reviews", json={**base, "tags": [f"t{i}" for i in range(11)]}, headers=CSRF)
    assert r.status_code == 413 and "limit is 10" in r.json()["detail"]
    r = client.post("/api/reviews", json={**base, "tags": ["y" * 41]}, headers=CSRF)
    assert r.status_code == 413 and "limit is 40" in r.json()["detail"]
    assert not [x for x in rq["ws"].reviews() if x.sentence_id == s["vv-2"]], "a refused review stores nothing"
    r = client.post("/api/reviews", json={**base, "note": " weak wording ", "tags": ["check", " Check", "op-7"]},
                    headers=CSRF)
    assert r.status_code == 200, r.text
    assert (r.json()["note"], r.json()["tags"]) == ("weak wording", ["check", "op-7"])
    # a later verdict without note/tags keeps them; "" and [] clear them
    r = client.post("/api/reviews", json={**base, "verdict": "rejected"}, headers=CSRF)
    assert (r.json()["verdict"], r.json()["note"], r.json()["tags"]) == ("rejected", "weak wording", ["check", "op-7"])
    r = client.post("/api/reviews", json={**base, "note": "", "tags": []}, headers=CSRF)
    assert (r.json()["note"], r.json()["tags"]) == (None, [])
    log = rq["ws"].audit(10, action="review")
    assert len(log) == 3 and log[0].target == f"match {s['vv-2']} × grain-theft"  # every review audited
    client.post("/api/reviews", json={**base, "note": None}, headers=CSRF)  # leave it confirmed for the rest


# -- the pages ---------------------------------------------------------------------------------------

def test_contradictions_page_filters_and_messages(client, rq):
    r = client.get("/contradictions", params={"source": "oc"})
    assert r.status_code == 200 and r.text.count('<article class="pair"') == 1
    assert "Ostmark Council" in r.text and "1 findings" in r.text
    for params, needle in [({"narrative": "nope"}, "no narrative &#39;nope&#39;"), ({"source": "ocx"}, "ocx"),
                           ({"min_score": "lots"}, "minimum score"), ({"status": "maybe"}, "unknown review status"),
                           ({"since": "June"}, "since")]:
        r = client.get("/contradictions", params=params)
        assert r.status_code in (400, 404) and needle in r.text and 'class="error"' in r.text, (params, r.text[:300])
        assert r.headers["content-type"].startswith("text/html")


def test_paging_keeps_the_filters(client, monkeypatch):
    from narratrace.serve import dashboard

    monkeypatch.setattr(dashboard, "PAGE", 1)
    r = client.get("/contradictions", params={"language": "fa", "status": "all"})
    assert r.status_code == 200 and "page 1 / 2" in r.text
    nxt = re.search(r'href="(/contradictions\?page=2[^"]*)" rel="next"', r.text).group(1)
    assert "language=fa" in nxt and "status=all" in nxt
    r2 = client.get(nxt.replace("&amp;", "&"))
    assert "page 2 / 2" in r2.text and r2.text.count('<article class="pair"') == 1
    r = client.get("/matches", params={"narrative": "harbour-sabotage"})
    nxt = re.search(r'href="(/matches\?page=2[^"]*)" rel="next"', r.text).group(1)
    assert "narrative=harbour-sabotage" in nxt


def test_matches_page_shows_probability_holder_and_review(client, rq):
    r = client.get("/matches", params={"status": "all"})
    assert r.status_code == 200 and r.text.count('<article class="pair rq-match"') == 5
    assert "p = 0.91" in r.text and "calibrated probability" in r.text
    assert "Veltria Voice" in r.text and "holder: reported" in r.text
    assert "confirmed by <bdi>local</bdi>" in r.text  # the review of the API test: reviewer and time
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[\d:]+Z">', r.text)
    r = client.get("/matches", params={"holder_kind": "reported"})
    assert r.text.count('<article class="pair rq-match"') == 1
    r = client.get("/matches", params={"holder_actor": "nobody"})
    assert r.status_code == 400 and "nobody" in r.text


def test_hostile_text_is_inert_on_every_new_page(client):
    for path in ("/contradictions?status=all", "/matches?status=all", "/activity"):
        r = client.get(path)
        assert r.status_code == 200
        assert "<script>window.__pwned" not in r.text and "<img src=x" not in r.text
        assert "<b>sabotaged</b>" not in r.text
    assert "Foreign divers &lt;b&gt;sabotaged&lt;/b&gt; the harbour</bdi></a>" in client.get("/matches").text
    r = client.get("/matches?status=all")
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in r.text and LONG in r.text
    assert RLO not in r.text  # documents lose bidi overrides when cleaned (clean/normalize.py)


def test_hostile_note_is_isolated_and_tags_refuse_overrides(client, rq):
    s = rq["s"]
    base = {"kind": "match", "sentence_id": s["oc-1"], "narrative": "grain-theft", "verdict": "confirmed"}
    r = client.post("/api/reviews", json={**base, "tags": [f"{RLO}evil"]}, headers=CSRF)
    assert r.status_code == 400 and "bidi" in r.json()["detail"]
    note = f'<script>window.__pwned=1</script> {RLO}evil {"w" * 1_900}'
    assert client.post("/api/reviews", json={**base, "note": note, "tags": ["<i>t</i>", "گزارش‌ها"]},
                       headers=CSRF).status_code == 200
    page = client.get("/matches?status=all").text
    # the analyst's note may be pasted from the corpus: escaped, and isolated so an override stays inside
    assert re.search(r'<p class="rq-note" dir="auto">note: <bdi>&lt;script&gt;window.__pwned=1&lt;/script&gt; '
                     + RLO + "evil w{1900}</bdi></p>", page)
    assert '<span class="tag"><bdi>&lt;i&gt;t&lt;/i&gt;</bdi></span>' in page and "گزارش‌ها" in page
    assert "<script>window.__pwned" not in page


def test_form_review_without_script_and_its_csrf_guard(client, rq):
    ws, s = rq["ws"], rq["s"]
    item = f"c:{s['oc-1']}:{s['oc-2']}"
    body = {"item": item, "verdict": "confirmed", "note": "same outlet", "tags": "ostmark, recheck",
            "next": "/contradictions?source=oc"}
    # a cross-site page, or a client that says nothing about where the form came from: refused
    assert client.post("/reviews", data=body, follow_redirects=False).status_code == 403
    r = client.post("/reviews", data=body, headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/reviews", data=body, headers={"Sec-Fetch-Site": "same-site"}, follow_redirects=False)
    assert r.status_code == 403
    assert not [x for x in ws.reviews() if x.kind == "contradiction"]
    r = client.post("/reviews", data=body, headers=FORM, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/contradictions?source=oc&saved=1"
    (rev,) = [x for x in ws.reviews() if x.kind == "contradiction"]
    assert (rev.verdict, rev.note, rev.tags, rev.reviewer) == ("confirmed", "same outlet", ["ostmark", "recheck"],
                                                               "local")
    page = client.get(r.headers["location"]).text
    assert "1 review saved" in page and "confirmed by <bdi>local</bdi>" in page and "same outlet" in page
    # an open redirect is not a place to go back to
    r = client.post("/reviews", data={**body, "next": "//evil.example/x"}, headers=FORM, follow_redirects=False)
    assert r.headers["location"].startswith("/contradictions?saved=")
    # over the limit: a page naming it, nothing stored
    r = client.post("/reviews", data={**body, "note": "z" * 2_001}, headers=FORM)
    assert r.status_code == 413 and "2,000" in r.text and r.headers["content-type"].startswith("text/html")
    assert [x.note for x in ws.reviews() if x.kind == "contradiction"] == ["same outlet"]
    r = client.post("/reviews", data={"verdict": "confirmed", "next": "/contradictions"}, headers=FORM)
    assert r.status_code == 400 and "nothing selected" in r.text
    r = client.post("/reviews", data={"item": "c:1:99999999999999999999", "verdict": "confirmed"}, headers=FORM)
    assert r.status_code == 400 and "not a finding" in r.text


def test_bulk_reject_keeps_notes_and_audits_each(client, rq):
    ws, s = rq["ws"], rq["s"]
    items = [f"c:{s['oc-1']}:{s['oc-2']}", f"c:{s['vv-2']}:{s['vd-1']}", f"m:{s['vd-1']}:harbour-sabotage"]
    before = len(ws.audit(1000, action="review"))
    r = client.post("/reviews", data={"item": items, "verdict": "rejected", "next": "/contradictions"}, headers=FORM,
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("saved=3")
    by = {(x.kind, x.sentence_id): x for x in ws.reviews()}
    assert by[("contradiction", min(s["oc-1"], s["oc-2"]))].note == "same outlet"  # kept through the bulk
    assert by[("contradiction", min(s["oc-1"], s["oc-2"]))].verdict == "rejected"
    assert by[("match", s["vd-1"])].verdict == "rejected"
    assert len(ws.audit(1000, action="review")) == before + 3
    # the default view hides rejected pairs; unreviewed first
    page = client.get("/contradictions").text
    assert page.count('<article class="pair"') == 1
    assert client.get("/contradictions?status=rejected").text.count('<article class="pair"') == 2
    rows = ws.contradictions(review=None, queue=True)
    assert rows[0].review is None and {r.review for r in rows[1:]} == {"rejected"}


def test_activity_view_newest_first_filtered_and_paged(client, rq, monkeypatch):
    from narratrace.serve import dashboard

    for i in range(3):  # this test stands alone: it needs no review from the tests above
        rq["ws"].record_audit("local", "analyst", "review", f"match {i} × grain-theft", {"verdict": "confirmed"})
    rq["ws"].record_audit("vera", "analyst", "sources.import", "<b>x</b>.yaml", {"counts": 1})
    r = client.get("/activity")
    assert r.status_code == 200
    rows = re.findall(r"<tr><td class=\"num\">", r.text)
    assert len(rows) == len(rq["ws"].audit(1000))
    body = r.text[r.text.index("<tbody>"):]
    assert body.index("<td>sources.import</td>") < body.index("<td>review</td>")  # newest first
    assert "&lt;b&gt;x&lt;/b&gt;.yaml" in r.text
    r = client.get("/activity", params={"who": "vera"})
    assert len(re.findall(r"<tr><td class=\"num\">", r.text)) == 1
    r = client.get("/activity", params={"action": "review"})
    assert "<td>sources.import</td>" not in r.text and "<td>review</td>" in r.text
    monkeypatch.setattr(dashboard, "PAGE", 2)
    r = client.get("/activity", params={"action": "review"})
    assert 'rel="next"' in r.text and "action=review" in re.search(r'href="([^"]*)" rel="next"', r.text).group(1)


def test_viewers_get_no_forms_and_cannot_post(rq):
    from narratrace.serve.app import create_app

    tokens = {"viewer-token-123": ("vera", "viewer"), "analyst-token-456": ("ana", "analyst")}
    c = TestClient(create_app(rq["ws"], tokens=tokens))
    c.cookies.set("narratrace_token", "viewer-token-123")
    for path in ("/contradictions?status=all", "/matches?status=all"):
        page = c.get(path).text
        assert 'action="/reviews"' not in page and 'name="item"' not in page
    r = c.post("/reviews", data={"item": "c:1:2", "verdict": "confirmed"}, headers=FORM)
    assert r.status_code == 403 and "viewer" in r.text
    c.cookies.set("narratrace_token", "analyst-token-456")
    page = c.get("/matches?status=all").text
    assert page.count('<form class="rq-review"') == 5 and 'id="bulk"' in page
    # labels and real buttons: every control of a card is reachable and named
    assert '<button type="submit" name="verdict" value="confirmed"' in page and "<label" in page


def test_review_tags_migration_keeps_existing_reviews(tmp_path):
    from alembic import command
    from sqlalchemy import inspect, text

    from narratrace.store import db

    engine = db.make_engine(db.store_url(tmp_path / "m.db"))
    cfg = db._alembic_config(engine)
    command.upgrade(cfg, "0011")
    with engine.connect() as conn:
        conn.execute(text("PRAGMA foreign_keys=OFF"))  # a review row alone, without its sentence
        conn.execute(text("INSERT INTO review (kind, sentence_id, other_sentence_id, narrative_id, verdict, at) "
                          "VALUES ('match', 1, 0, 1, 'confirmed', '2026-01-01 00:00:00')"))
        conn.commit()
    db.upgrade(engine)
    db.upgrade(engine)  # idempotent
    assert "tags" in {c["name"] for c in inspect(engine).get_columns("review")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT verdict, tags FROM review")).all() == [("confirmed", None)]
    command.downgrade(cfg, "0011")
    assert "tags" not in {c["name"] for c in inspect(engine).get_columns("review")}
    engine.dispose()


# -- in the real browser (Debian's chromium through Playwright; integration via the `browser` fixture) --



@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A fresh copy of the invented workspace served by uvicorn on loopback."""
    import socket
    import threading
    import time

    import uvicorn

    from narratrace.serve.app import create_app

    built = _build(tmp_path_factory.mktemp("rq-live"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(built["ws"]), host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    deadline = time.time() + 30
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield {**built, "url": f"http://127.0.0.1:{port}"}
    srv.should_exit = True
    th.join(10)
    built["ws"].close()


def _context(browser, **kw):  # noqa: F811 - the imported fixture
    """A context that blocks every request leaving loopback and records console errors and dialogs."""
    from urllib.parse import urlsplit

    ctx = browser.new_context(**kw)
    ctx.blocked, ctx.errors = [], []

    def guard(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            ctx.blocked.append(route.request.url)
            route.abort()

    ctx.route("**/*", guard)
    ctx.on("page", lambda pg: (pg.on("console", lambda m: m.type == "error" and ctx.errors.append(m.text)),
                               pg.on("pageerror", lambda e: ctx.errors.append(str(e))),
                               pg.on("dialog", lambda d: (ctx.errors.append("dialog " + d.message), d.dismiss()))))
    return ctx


def test_browser_keyboard_review_with_note(browser, live):  # noqa: F811 - the imported fixture
    ctx = _context(browser, viewport={"width": 1400, "height": 900})
    pg = ctx.new_page()
    pg.goto(live["url"] + "/matches?status=all")
    assert pg.evaluate("window.__pwned") is None
    card = pg.locator("article.rq-match").first
    card.get_by_label("note").fill("checked against the archive")
    card.get_by_label("tags").fill("archive, op-7")
    confirm = card.get_by_role("button", name="confirm")
    confirm.focus()
    pg.keyboard.press("Enter")  # a real button: the keyboard reviews
    card.locator("[data-rq-status]").filter(has_text="saved: confirmed").wait_for(timeout=10_000)
    assert "confirmed by local" in card.locator("[data-rq-meta]").inner_text()
    (r,) = [x for x in live["ws"].reviews() if x.note]
    assert (r.note, r.tags, r.verdict) == ("checked against the archive", ["archive", "op-7"], "confirmed")
    # a note over the limit: refused, the message on the card, nothing stored
    card.get_by_label("note").fill("n" * 2_001)
    confirm.click()
    card.locator("[data-rq-status]").filter(has_text="2,000").wait_for(timeout=10_000)
    assert [x.note for x in live["ws"].reviews() if x.note] == ["checked against the archive"]
    # chromium logs the refused request itself; that 413 is the point, anything else is a failure
    assert ctx.errors and all("status of 413" in e for e in ctx.errors), ctx.errors
    assert ctx.blocked == [], ctx.blocked
    ctx.close()


def test_browser_bulk_review_without_script(browser, live):  # noqa: F811 - the imported fixture
    """JavaScript off: ticking cards and pressing "reject selected" posts the form; the browser's
    own fetch metadata (Sec-Fetch-Site: same-origin) is what lets it through the CSRF guard."""
    ctx = _context(browser, viewport={"width": 1400, "height": 900}, java_script_enabled=False)
    pg = ctx.new_page()
    pg.goto(live["url"] + "/contradictions")
    boxes = pg.get_by_role("checkbox", name=re.compile("select contradiction"))
    assert boxes.count() == 3
    boxes.nth(0).check()
    boxes.nth(1).check()
    pg.get_by_role("button", name="reject selected").click()
    pg.wait_for_load_state()
    assert "2 reviews saved" in pg.content()
    assert sorted(x.verdict for x in live["ws"].reviews() if x.kind == "contradiction") == ["rejected", "rejected"]
    assert pg.locator("article.pair").count() == 1  # rejected pairs hidden by default
    assert ctx.blocked == [] and ctx.errors == [], (ctx.blocked, ctx.errors)
    ctx.close()


def test_browser_pages_fit_a_phone_and_render(browser, live, tmp_path):  # noqa: F811 - the imported fixture
    for width in (1400, 390):
        ctx = _context(browser, viewport={"width": width, "height": 900})
        pg = ctx.new_page()
        for path in ("/contradictions?status=all", "/matches?status=all", "/activity"):
            pg.goto(live["url"] + path)
            shot = tmp_path / f"{path.strip('/').split('?')[0]}-{width}.png"
            pg.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 5_000, f"{shot.name} looks blank"
            # the 10,000-character line wraps: nothing widens the page beyond the screen
            assert pg.evaluate("document.documentElement.scrollWidth") <= width + 1, (path, width)
            assert pg.evaluate("window.__pwned") is None
        assert ctx.blocked == [] and ctx.errors == [], (ctx.blocked, ctx.errors)
        ctx.close()
