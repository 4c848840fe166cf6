"""The web dashboard, end to end: the real app under uvicorn, driven by Debian's chromium.

What it proves: hostile stored text (script tags, event handlers, javascript: links, attribute
break-outs) is displayed as text and never runs; every page is offline (no request leaves
127.0.0.1), carries the CSP and no inline script/style/handler; review buttons write reviews;
Persian renders right to left; screenshots are non-blank.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import socket
import struct
import threading
import time
import zlib
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import article_html, write

CHROMIUM = "/usr/bin/chromium"
PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1;alert(1)">',
    '<a href="javascript:window.__pwned=1">click me</a>',
    '"><svg onload="window.__pwned=1">',
    "'><iframe src=javascript:alert(1)>",
]
HOSTILE_NARRATIVE = """narratives:
  - id: hostile-name
    name: '<img src=x onerror="window.__pwned=1"> hostile'
    description: '</title><script>window.__pwned=1</script>'
    assertions:
      - 'The <script>window.__pwned=1</script> outlet is honest.'
"""


# -- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(demo_build, tmp_path_factory):
    """A private copy of the demo workspace plus hostile documents and a hostile narrative name."""
    from conftest import copy_demo

    from narratrace.workspace import Workspace

    root = tmp_path_factory.mktemp("dash")
    path = copy_demo(demo_build, root)
    files = []
    for i, p in enumerate(PAYLOADS):
        # Escaped in the source HTML, so extraction yields the payload as *text*.
        paras = [f"Hostile report {i} about the pwned payload: {html.escape(p)} end of payload.",
                 f"\u201c{html.escape(p)} is only text,\u201d said Dariush Vallo, the spokesman of Kavaran."]
        files.append(write(root / "hostile" / f"h{i}.html",
                           article_html(html.escape(f"Pwned title {i} {p}"), paras,
                                        url=f"https://hostile{i}.example/a", published="2026-03-01T10:00:00Z")))
    with Workspace(path) as ws:
        ws.ingest([str(f) for f in files])
        ws.import_narratives(write(root / "hostile.yaml", HOSTILE_NARRATIVE))
        ws.analyze(["quotes"])  # incremental: only the hostile documents, so their quotes are highlighted
        hostile = {}
        for d in ws.documents(with_text=True):
            for p in PAYLOADS:
                if p in (d.text or ""):
                    hostile[p] = d.id
    assert set(hostile) == set(PAYLOADS), "every payload must be stored literally as text"
    return {"path": path, "hostile": hostile, "root": root}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _uvicorn(app):
    """The app served on a free loopback port: yields its base URL."""
    import uvicorn

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    deadline = time.time() + 30
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        th.join(10)


@pytest.fixture(scope="module")
def server(built):
    from narratrace.serve.app import create_app

    with _uvicorn(create_app(str(built["path"]))) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright (python) is not installed")
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
    except Exception as e:  # noqa: BLE001 - any launch failure is an environment problem
        pw.stop()
        pytest.skip(f"chromium did not start: {e}")
    yield b
    b.close()
    pw.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def page(browser):
    """A page that blocks (and records) every request that would leave localhost, and fails on dialogs."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    pg.blocked, pg.dialogs, pg.errors = [], [], []

    def guard(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            pg.blocked.append(route.request.url)
            route.abort()

    ctx.route("**/*", guard)
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    # CSP violations and failed loads surface as console errors: a page must have none.
    pg.on("console", lambda m: m.type == "error" and pg.errors.append(m.text))
    yield pg
    assert pg.blocked == [], f"requests left localhost: {pg.blocked}"
    assert pg.errors == [], f"console/page errors: {pg.errors}"
    assert pg.dialogs == [], f"a dialog opened: {pg.dialogs}"
    ctx.close()


def _pages(built) -> dict[str, str]:
    from narratrace.workspace import Workspace

    with Workspace(built["path"]) as ws:
        fa = next(d.id for d in ws.documents() if d.language == "fa")
    return {"overview": "/", "narrative": "/narratives/front-organises-unrest",
            "narrative-by-outlet": "/narratives/front-organises-unrest?by=source",
            "contradictions": "/contradictions", "provenance": "/provenance",
            "document-hostile": f"/documents/{built['hostile'][PAYLOADS[1]]}", "document-fa": f"/documents/{fa}",
            "search": "/search?q=pwned", "search-semantic": "/search?q=window+pwned+payload&semantic=1",
            "login": "/login"}


# -- static checks on the served HTML ------------------------------------------------------------------------

class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.bad: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and not a.get("src"):
            self.bad.append("inline <script>")
        if tag in ("style",) or "style" in a:
            self.bad.append(f"inline style on <{tag}>")
        for k, v in attrs:
            if k.startswith("on"):
                self.bad.append(f"<{tag} {k}=…>")
            if k in ("href", "src", "action") and (v or "").strip().lower().startswith(("javascript:", "data:")):
                self.bad.append(f"<{tag} {k}={v!r}>")
        if tag in ("iframe", "img", "svg") and "pwned" in str(a):
            self.bad.append(f"hostile <{tag}> became markup")


def test_pages_csp_and_no_inline_code(built, server):
    for name, path in _pages(built).items():
        r = httpx.get(server + path, timeout=60)
        assert r.status_code == 200, (name, r.status_code, r.text[:300])
        assert "script-src 'self'" in r.headers["content-security-policy"], name
        p = _Tags()
        p.feed(r.text)
        assert p.bad == [], (name, p.bad)
        assert r.text.count("<script") == r.text.count('<script src="/static/'), name
    # the hostile text is there, escaped
    r = httpx.get(server + f"/documents/{built['hostile'][PAYLOADS[0]]}")
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in r.text


def test_chart_is_static_svg(built, server):
    r = httpx.get(server + "/narratives/front-organises-unrest/chart.svg?by=language", timeout=60)
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in r.text and "<script" not in r.text and "foreignObject" not in r.text


def test_login_and_viewer_role(built):
    """With tokens: pages send the browser to /login; a viewer sees no review buttons."""
    from fastapi.testclient import TestClient

    from narratrace.serve.app import create_app

    app = create_app(str(built["path"]), tokens={"viewer-token-123": ("vera", "viewer"),
                                                 "analyst-token-456": ("ana", "analyst")})
    c = TestClient(app, follow_redirects=False)
    r = c.get("/contradictions")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert 'name="token"' in c.get("/login").text
    c.post("/login", data={"token": "viewer-token-123"})
    r = c.get("/narratives/front-organises-unrest")
    assert r.status_code == 200 and "vera (viewer)" in r.text and "review-btn" not in r.text
    c.cookies.clear()
    c.post("/login", data={"token": "analyst-token-456"})
    assert "review-btn" in c.get("/narratives/front-organises-unrest").text


def test_sign_in_and_out_through_the_form_in_the_browser(built, page):
    """The real form in the real browser: Chromium posts it with "Origin: null" under the
    no-referrer policy (and Sec-Fetch-Site: same-origin), which the login-CSRF guard must take."""
    from narratrace.serve.app import create_app

    app = create_app(str(built["path"]), tokens={"analyst-token-456": ("ana", "analyst")})
    with _uvicorn(app) as url:
        page.goto(url + "/contradictions")
        assert "/login" in page.url
        page.fill("input[name=token]", "analyst-token-456")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.wait_for_url("**/contradictions")
        assert "ana (analyst)" in page.content()
        with page.expect_navigation():
            page.click("form.logout button")
        assert "ana (analyst)" not in page.content()
        page.goto(url + "/contradictions")
        assert "/login" in page.url  # signed out: the cookie is gone


def test_only_http_links_leave_the_dashboard():
    from narratrace.serve.dashboard import _safe_url

    assert _safe_url(" https://a.example/x ") == "https://a.example/x"
    for bad in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "vbscript:x", "//evil", None):
        assert _safe_url(bad) is None


def test_highlight_escapes_every_piece():
    from narratrace.serve.dashboard import highlight

    text = 'a <script>x</script> "><img src=x onerror=y> b'
    out = str(highlight(text, [(2, 21, "hl-quote", '"><svg onload=z>'), (10, 30, "hl-match hl-asserts", "n: asserts"),
                               (0, 99, "hl-mention", "x"), (5, 5, "hl-cue", "empty")]))
    assert "<script" not in out and "<img" not in out and "<svg" not in out
    assert out.count("<span ") == out.count("</span>") >= 4
    assert html.unescape(re.sub(r"<[^>]+>", "", out)) == text


# -- in the browser ---------------------------------------------------------------------------------------------

def _nonblank_png(data: bytes) -> bool:
    """No PIL here: inflate the PNG's image data. A blank page filters to almost all zero bytes
    with a handful of values; rendered text and colour give many values and many non-zero bytes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    raw = zlib.decompress(idat)
    nonzero = len(raw) - raw.count(0)
    return len(set(raw)) > 64 and nonzero > len(raw) // 500


def test_screenshots_of_every_page(built, server, page, shots):
    out = os.environ.get("NARRATRACE_TEST_ARTIFACTS")
    page.goto("about:blank")  # the checker itself: an empty page must count as blank
    assert not _nonblank_png(page.screenshot())
    for name, path in _pages(built).items():
        page.goto(server + path)
        page.wait_for_load_state("networkidle")
        assert page.locator("header.top nav a").count() >= 4, name
        f = shots / f"{name}.png"
        page.screenshot(path=str(f), full_page=False)
        assert _nonblank_png(f.read_bytes()), f"{name}: blank screenshot"
        if out:
            Path(out).mkdir(parents=True, exist_ok=True)
            shutil.copy(f, Path(out) / f"dashboard-{name}.png")
    # the chart image rendered (natural size > 0) rather than a broken icon
    page.goto(server + "/narratives/front-organises-unrest")
    page.wait_for_load_state("networkidle")
    assert page.eval_on_selector("img.chart", "i => i.complete && i.naturalWidth") > 100
    assert page.errors == []


def test_hostile_text_never_runs(built, server, page):
    urls = [f"/documents/{i}" for i in built["hostile"].values()]
    urls += ["/", "/search?q=pwned", "/search?q=pwned+payload&semantic=1", "/narratives/hostile-name"]
    for u in urls:
        page.goto(server + u)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__pwned") is None, u
        assert page.locator("a[href^='javascript']").count() == 0, u
        assert page.locator("main img, main iframe, main script").count() == (1 if "narratives" in u else 0), u
    # displayed as text, literally, also inside the highlight spans of quotes
    page.goto(server + f"/documents/{built['hostile'][PAYLOADS[0]]}")
    assert PAYLOADS[0] in page.inner_text("#doctext")
    assert any(PAYLOADS[0] in t for t in page.locator("#doctext .hl-quote").all_inner_texts())
    page.goto(server + "/search?q=pwned")
    assert page.locator("ol.hits li").count() >= len(PAYLOADS)
    # Defence in depth, checked in the browser: even markup that did reach the DOM could not run,
    # the CSP refuses inline handlers (and the console guard of this fixture sees the refusal).
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=/nope onerror=\"window.__pwned=1\">')")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert any("Content Security Policy" in e for e in page.errors), page.errors
    page.errors.clear()
    assert page.errors == []


def test_review_click_through(built, server, page):
    from narratrace.workspace import Workspace

    page.goto(server + "/narratives/front-organises-unrest")
    btn = page.locator("button.review-btn.confirm").first
    sid = int(btn.get_attribute("data-sentence-id"))
    btn.click()
    page.locator("[data-review-status]").first.filter(has_text="confirmed").wait_for(timeout=10_000)
    assert btn.get_attribute("aria-pressed") == "true"
    with Workspace(built["path"]) as ws:
        assert {m.sentence_id: m.review for m in ws.matches("front-organises-unrest")}[sid] == "confirmed"

    page.goto(server + "/contradictions")
    btn = page.locator("article.pair button.review-btn.reject").first
    a, b = int(btn.get_attribute("data-sentence-id")), int(btn.get_attribute("data-other-sentence-id"))
    btn.click()
    page.locator("article.pair [data-review-status]").first.filter(has_text="rejected").wait_for(timeout=10_000)
    # Read the review itself: reviews are stored as the sorted pair, whichever way the page listed it.
    with Workspace(built["path"]) as ws:
        r = next((x for x in ws.reviews() if x.kind == "contradiction"
                  and (x.sentence_id, x.other_sentence_id) == (min(a, b), max(a, b))), None)
        assert r is not None and r.verdict == "rejected" and r.reviewer == "local"
    page.goto(server + "/narratives/front-organises-unrest")  # the server renders the stored state
    assert page.locator("[data-review-status]").first.inner_text() == "confirmed"


def test_persian_is_right_to_left(built, server, page):
    page.goto(server + "/contradictions")
    fa = page.locator("blockquote.quote[lang='fa']").first
    assert fa.count() == 1, "the demo has Persian contradiction sides"
    assert fa.evaluate("e => getComputedStyle(e).direction") == "rtl"
    en = page.locator("blockquote.quote[lang='en']").first
    assert en.evaluate("e => getComputedStyle(e).direction") == "ltr"
    page.goto(server + _pages(built)["document-fa"])
    assert page.eval_on_selector("#doctext", "e => getComputedStyle(e).direction") == "rtl"


def test_network_click_highlights_groups(built, server, page):
    page.goto(server + "/provenance")
    nodes = page.locator("svg#network a.node")
    assert nodes.count() >= 2
    nodes.first.click()
    assert page.locator("svg#network a.node.hl").count() == 1
    assert page.locator("article.group.hl").count() >= 1
    assert "coordination group" in page.inner_text("[data-network-status]")
    assert page.errors == []
