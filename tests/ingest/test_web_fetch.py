"""Fetching pages, feeds and sitemaps when the analyst asks for them.

A real HTTP server on 127.0.0.1 serves the fixtures (loopback is private, so every fetch
from it passes allow_private=True); httpx.MockTransport stands in where a public host,
a timeout or a redirect to an internal address is needed. Nothing leaves the machine.
"""

from __future__ import annotations

import threading
import time
import tracemalloc
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from conftest import article_html, write

from narratrace.ingest.web import MAX_REDIRECTS, Fetcher

PUBLIC_IP = "93.184.216.34"


# -- a local web site ------------------------------------------------------------------------

class Site:
    def __init__(self, port: int):
        self.port = port
        self.routes: dict = {}
        self.hits: list[str] = []
        self.user_agents: list[str] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def page(self, path: str, body: str | bytes, ctype: str = "text/html; charset=utf-8", status: int = 200,
             headers: dict | None = None) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = ("static", status, {"Content-Type": ctype, **(headers or {})}, data)
        return self.url(path)

    def redirect(self, path: str, location: str | None, status: int = 302) -> str:
        self.routes[path] = ("static", status, {"Location": location} if location else {}, b"")
        return self.url(path)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        site: Site = self.server.site
        site.hits.append(self.path)
        site.user_agents.append(self.headers.get("User-Agent", ""))
        route = site.routes.get(self.path)
        try:
            if route is None:
                self._send(404, {"Content-Type": "text/plain"}, b"not found")
            elif route[0] == "static":
                self._send(*route[1:])
            else:
                route[1](self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (size cap, timeout): expected

    def _send(self, status, headers, body):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a client that hung up early is no error here
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


@pytest.fixture
def site():
    srv = Server(("127.0.0.1", 0), Handler)
    srv.site = Site(srv.server_address[1])
    # poll often: shutdown() waits out one poll interval (0.5 s by default), in the teardown of every test
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    t.start()
    yield srv.site
    srv.shutdown()
    srv.server_close()


def article(n: int, **kw) -> str:
    return article_html(f"Story {n}", [
        f"Story {n}: the foreign ministry spokesman said the Front has no base inside the country.",
        f"In story {n} he added that its supporters abroad are a handful of fugitives paid by rivals."], **kw)


def one_line(p) -> None:
    assert p.reason.strip() and "\n" not in p.reason and "\r" not in p.reason, p


# -- pages -----------------------------------------------------------------------------------

def test_single_page_is_added_once(ws, site):
    url = site.page("/news/a1.html", article(1, published="2026-01-05T09:05:00+03:30"))
    report = ws.ingest_urls([url], allow_private=True)
    assert report.added == 1 and not report.failed, report.as_dict()
    doc = ws.document(report.document_ids[0])
    assert doc.url == url and doc.origin == url and doc.title == "Story 1"
    assert doc.content_type == "html"
    assert "Story 1: the foreign ministry spokesman said the Front has no base inside the country." in doc.text
    assert doc.published_at.isoformat() == "2026-01-05T05:35:00"
    assert site.user_agents[0].startswith("narratrace/")
    again = ws.ingest_urls([url], allow_private=True)
    assert again.added == 0 and again.already_present == 1 and not again.failed
    assert ws.stats()["documents"] == 1
    assert site.hits == ["/news/a1.html", "/news/a1.html"]


def test_charset_from_the_http_header_is_used(ws, site):
    text = "Министр заявил, что у этой группы нет никакой поддержки внутри страны и за её пределами."
    body = f"<html><body><article><h1>Заявление</h1><p>{text}</p></article></body></html>".encode("koi8-r")
    url = site.page("/ru.html", body, ctype="text/html; charset=KOI8-R")
    report = ws.ingest_urls([url], allow_private=True)
    assert report.added == 1, report.as_dict()
    assert text in ws.document(report.document_ids[0]).text


def test_without_allow_private_the_local_server_is_refused(ws, site):
    url = site.page("/news/a1.html", article(1))
    report = ws.ingest_urls([url, site.url("/other")])
    assert report.added == 0 and len(report.failed) == 2
    for p in report.failed:
        one_line(p)
        assert p.reason.startswith("refused") and "127.0.0.1" in p.reason and "--allow-private" in p.reason
    assert site.hits == []  # refused before connecting


@pytest.mark.parametrize("status", [404, 500, 403, 410])
def test_http_errors_fail_with_the_status(ws, site, status):
    bad = site.page(f"/e{status}", "<html><body><p>error page body text</p></body></html>", status=status)
    good = site.page("/ok.html", article(2))
    report = ws.ingest_urls([bad, good], allow_private=True)
    assert report.added == 1
    (p,) = report.failed
    one_line(p)
    assert p.origin == bad and p.reason == f"HTTP {status}"
    assert {"input": bad, "status": "failed", "reason": f"HTTP {status}"}.items() <= ws.problems()[0].items()


def test_missing_page_and_closed_port(ws, site):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = f"http://127.0.0.1:{s.getsockname()[1]}/x"
    s.close()  # nothing listens there now
    report = ws.ingest_urls([site.url("/nope"), closed], allow_private=True)
    by = {p.origin: p for p in report.failed}
    assert by[site.url("/nope")].reason == "HTTP 404"
    one_line(by[closed])
    assert by[closed].reason.startswith("network error")


# -- feeds -----------------------------------------------------------------------------------

def _rss(site, items) -> bytes:
    body = "".join(f"<item><title>{t}</title><link>{site.url(p)}</link><pubDate>{d}</pubDate>"
                   f"<dc:creator>Desk {i}</dc:creator></item>" for i, (p, t, d) in enumerate(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<channel><title>News</title><link>{site.url('/')}</link>{body}</channel></rss>").encode()


def _atom(site, entries) -> bytes:
    body = "".join(f'<entry><title>{t}</title><link rel="alternate" href="{site.url(p)}"/><id>urn:{p}</id>'
                   f"<published>{d}</published><author><name>Atom Author</name></author></entry>"
                   for p, t, d in entries)
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
            f'<link rel="self" href="{site.url("/feeds/atom.xml")}"/>{body}</feed>').encode()


def test_rss_and_atom_feeds_ingest_their_articles_under_the_registered_source(ws, site, tmp_path):
    for n in range(1, 6):
        site.page(f"/news/{n}.html", article(n))
    rss = site.page("/feeds/rss.xml", _rss(site, [
        ("/news/1.html", "Feed title one", "Tue, 06 Jan 2026 09:05:00 +0330"),
        ("/news/2.html", "Feed title two", "Wed, 07 Jan 2026 10:00:00 GMT"),
        ("/news/3.html", "Feed title three", "not a date"),
    ]), ctype="application/rss+xml")
    atom = site.page("/feeds/atom.xml", _atom(site, [
        ("/news/4.html", "Atom four", "2026-01-08T12:00:00Z"),
        ("/news/5.html", "Atom five", "2026-01-09T12:00:00+03:30"),
    ]), ctype="application/atom+xml")
    reg = write(tmp_path / "sources.yaml", f"""
sources:
  - id: rss-news
    name: RSS News
    feeds: ["{rss}"]
  - id: atom-news
    name: Atom News
    feeds: ["{atom}"]
""")
    ws.import_sources(reg)
    r1 = ws.ingest_urls([rss], mode="feed", allow_private=True)
    r2 = ws.ingest_urls([atom], mode="feed", allow_private=True)
    assert (r1.added, r2.added) == (3, 2) and not r1.failed and not r2.failed, (r1.as_dict(), r2.as_dict())
    docs = {d.url: d for d in ws.documents()}
    assert set(docs) == {site.url(f"/news/{n}.html") for n in range(1, 6)}
    for n in (1, 2, 3):
        assert docs[site.url(f"/news/{n}.html")].source == "rss-news"
    for n in (4, 5):
        assert docs[site.url(f"/news/{n}.html")].source == "atom-news"
    d1, d2, d3 = (docs[site.url(f"/news/{n}.html")] for n in (1, 2, 3))
    assert d1.title == "Feed title one" and d1.published_at.isoformat() == "2026-01-06T05:35:00"
    assert d2.published_at.isoformat() == "2026-01-07T10:00:00" and d2.author == "Desk 1"
    assert d3.published_at is None or d3.published_at.date().isoformat() not in ("2026-01-06", "2026-01-07")
    d4, d5 = docs[site.url("/news/4.html")], docs[site.url("/news/5.html")]
    assert d4.title == "Atom four" and d4.author == "Atom Author"
    assert d5.published_at.isoformat() == "2026-01-09T08:30:00"
    assert {s.key: s.documents for s in ws.sources()} == {"rss-news": 3, "atom-news": 2}
    # feeds again: every article is already there
    again = ws.ingest_urls([rss, atom], mode="feed", allow_private=True)
    assert again.added == 0 and again.already_present == 5


def test_feed_entries_that_fail_do_not_stop_the_feed(ws, site):
    site.page("/news/1.html", article(1))
    site.page("/news/3.html", article(3))
    rss = site.page("/rss.xml", _rss(site, [("/news/1.html", "one", ""), ("/news/gone.html", "gone", ""),
                                            ("/news/3.html", "three", "")]))
    missing_feed = site.url("/missing.xml")
    report = ws.ingest_urls([missing_feed, rss], mode="feed", allow_private=True)
    assert report.added == 2
    by = {p.origin: p.reason for p in report.failed}
    assert by == {missing_feed: "HTTP 404", site.url("/news/gone.html"): "HTTP 404"}


def test_a_page_that_is_not_a_feed_fails_in_feed_mode(ws, site):
    url = site.page("/not-xml", "<html><body><p>Just a page & nothing more<br></body></html>")
    report = ws.ingest_urls([url], mode="feed", allow_private=True)
    (p,) = report.failed
    one_line(p)
    assert p.origin == url and "malformed feed XML" in p.reason


# -- sitemaps --------------------------------------------------------------------------------

def _urlset(site, paths) -> bytes:
    locs = "".join(f"<url><loc>{site.url(p)}</loc><lastmod>2026-01-01</lastmod></url>" for p in paths)
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'.encode()


def _index(site, paths) -> bytes:
    locs = "".join(f"<sitemap><loc>{site.url(p)}</loc></sitemap>" for p in paths)
    return (f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}'
            "</sitemapindex>").encode()


def test_sitemap(ws, site):
    for n in (1, 2):
        site.page(f"/p/{n}.html", article(n))
    url = site.page("/sitemap.xml", _urlset(site, ["/p/1.html", "/p/2.html"]), ctype="application/xml")
    report = ws.ingest_urls([url], mode="sitemap", allow_private=True)
    assert report.added == 2 and not report.failed
    assert {d.url for d in ws.documents()} == {site.url("/p/1.html"), site.url("/p/2.html")}


def test_nested_sitemap_index(ws, site):
    for n in range(1, 6):
        site.page(f"/p/{n}.html", article(n))
    site.page("/sm/a.xml", _urlset(site, ["/p/1.html", "/p/2.html"]))
    site.page("/sm/b.xml", _index(site, ["/sm/c.xml", "/sm/deep.xml"]))  # depth 1
    site.page("/sm/c.xml", _urlset(site, ["/p/3.html", "/p/missing.html"]))  # depth 2
    site.page("/sm/deep.xml", _index(site, ["/sm/d.xml"]))  # depth 2, an index
    site.page("/sm/d.xml", _urlset(site, ["/p/4.html"]))  # depth 3: too deep
    top = site.page("/sitemap_index.xml", _index(site, ["/sm/a.xml", "/sm/b.xml", "/sm/broken.xml"]))
    site.page("/sm/broken.xml", b"<urlset><url><loc>unclosed")
    report = ws.ingest_urls([top], mode="sitemap", allow_private=True)
    assert report.added == 3, report.as_dict()
    assert {d.url for d in ws.documents()} == {site.url(f"/p/{n}.html") for n in (1, 2, 3)}
    failed = {p.origin: p.reason for p in report.failed}
    assert failed[site.url("/p/missing.html")] == "HTTP 404"
    assert failed[site.url("/sm/broken.xml")].startswith("malformed sitemap XML")
    (skipped,) = report.skipped
    assert skipped.origin == site.url("/sm/d.xml") and "deeper than" in skipped.reason
    assert "/sm/d.xml" not in site.hits and "/p/4.html" not in site.hits
    for p in report.failed + report.skipped:
        one_line(p)


# -- redirects -------------------------------------------------------------------------------

def _chain(site, name: str, hops: int) -> str:
    """/name/0 → /name/1 → ... → /name/final.html, with every redirect status and relative and absolute Locations."""
    final = site.page(f"/{name}/final.html", article(hops + 10))
    statuses = [301, 302, 303, 307, 308]
    for i in range(hops):
        nxt = f"/{name}/{i + 1}" if i + 1 < hops else f"/{name}/final.html"
        loc = nxt if i % 2 else site.url(nxt)
        site.redirect(f"/{name}/{i}", loc, statuses[i % len(statuses)])
    return site.url(f"/{name}/0") if hops else final


def test_redirects_within_the_limit_are_followed(ws, site):
    start3 = _chain(site, "three", 3)
    start5 = _chain(site, "five", MAX_REDIRECTS)
    report = ws.ingest_urls([start3, start5], allow_private=True)
    assert report.added == 2 and not report.failed, report.as_dict()
    by_origin = {d.origin: d for d in ws.documents()}
    assert by_origin[start3].url == site.url("/three/final.html")
    assert by_origin[start5].url == site.url("/five/final.html")
    assert site.hits.count("/five/final.html") == 1


def test_too_many_redirects_and_loops_fail(ws, site):
    start6 = _chain(site, "six", MAX_REDIRECTS + 1)
    loop = site.redirect("/loop", "/loop")
    nowhere = site.redirect("/nowhere", None, 302)
    report = ws.ingest_urls([start6, loop, nowhere], allow_private=True)
    assert report.added == 0
    by = {p.origin: p.reason for p in report.failed}
    assert by[start6] == f"more than {MAX_REDIRECTS} redirects"
    assert by[loop] == f"more than {MAX_REDIRECTS} redirects"
    assert by[nowhere] == "HTTP 302 redirect without a Location"
    assert "/six/final.html" not in site.hits
    assert site.hits.count("/loop") == MAX_REDIRECTS + 1


@pytest.mark.parametrize("location, words", [
    ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "non-public address 169.254.169.254"),
    ("http://intranet.example/admin", "intranet.example resolves to non-public address 10.0.0.5"),
    ("http://127.0.0.1:2375/containers/json", "non-public address 127.0.0.1"),
    ("file:///etc/passwd", "only http(s)"),
    ("http://[::1/", "Invalid URL"),  # httpx itself rejects the Location: a network error, still one line
])
def test_redirect_from_a_public_host_to_an_internal_one_is_refused(ws, location, words):
    calls = []

    def handler(request):
        calls.append(str(request.url))
        if request.url.path == "/go":
            return httpx.Response(302, headers={"Location": location})
        return httpx.Response(200, html=article(1))

    resolver = {"intranet.example": ["10.0.0.5"]}.get
    fetcher = Fetcher(client=httpx.Client(transport=httpx.MockTransport(handler)),
                      resolver=lambda host: resolver(host) or [PUBLIC_IP])
    report = ws.ingest_urls(["https://news.example/go", "https://news.example/ok"], fetcher=fetcher)
    assert calls == ["https://news.example/go", "https://news.example/ok"]  # the internal hop was never requested
    assert report.added == 1
    (p,) = report.failed
    one_line(p)
    assert p.origin == "https://news.example/go" and words in p.reason
    assert p.reason.startswith("network error" if words == "Invalid URL" else "refused")


# -- size caps -------------------------------------------------------------------------------

def test_declared_content_length_over_the_cap(ws, site):
    big = site.page("/big.html", "<html><body><p>" + "x" * 300_000 + "</p></body></html>")
    ok = site.page("/ok.html", article(1))
    report = ws.ingest_urls([big, ok], allow_private=True, max_bytes=200_000)
    assert report.added == 1
    (p,) = report.failed
    one_line(p)
    assert p.origin == big and "over the" in p.reason and "MB" in p.reason


def test_chunked_body_over_the_cap_is_cut_off(ws, site):
    done = threading.Event()
    sent = []

    def endless(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = b"<p>" + b"y" * 16_000 + b"</p>"
        try:
            while sum(sent) < 100 * 2**20:  # 100 MB if nobody stopped reading
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent.append(len(chunk))
            handler.wfile.write(b"0\r\n\r\n")
        finally:
            done.set()

    site.routes["/stream"] = ("call", endless)
    url = site.url("/stream")
    t0 = time.monotonic()
    report = ws.ingest_urls([url], allow_private=True, max_bytes=512 * 1024)
    assert time.monotonic() - t0 < 10
    (p,) = report.failed
    one_line(p)
    assert p.origin == url and p.reason == "response over the 0.5 MB limit"
    assert done.wait(10)
    assert sum(sent) < 50 * 2**20, "the client kept reading past the cap"


def test_chunked_body_under_the_cap_is_ingested(ws, site):
    body = article(7).encode()

    def chunked(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for i in range(0, len(body), 100):
            part = body[i:i + 100]
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        handler.wfile.write(b"0\r\n\r\n")

    site.routes["/chunked.html"] = ("call", chunked)
    report = ws.ingest_urls([site.url("/chunked.html")], allow_private=True)
    assert report.added == 1 and ws.document(report.document_ids[0]).title == "Story 7"


def test_gzip_bomb_is_cut_at_the_cap(ws, site):
    """300 MB that travel as ~1.4 MB: the cap counts decoded bytes, and decoding stops there."""
    co = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"a" * 2**20
    bomb = co.compress(b"<p>") + b"".join(co.compress(block) for _ in range(300)) + co.flush()
    assert len(bomb) < 2 * 2**20
    url = site.page("/bomb.html", bomb, headers={"Content-Encoding": "gzip"})
    tracemalloc.start()
    try:
        report = ws.ingest_urls([url], allow_private=True, max_bytes=2 * 2**20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (p,) = report.failed
    assert p.reason == "response over the 2 MB limit"
    # httpx decodes one network read (64 KiB) at a time: the peak is bounded by that, not by the bomb
    assert peak < 100 * 2**20, f"peak {peak / 2**20:.0f} MB for a 2 MB cap"


def test_unparseable_content_length_does_not_break_the_batch(ws):
    def handler(request):
        if request.url.path == "/bad-length":
            return httpx.Response(200, headers={"Content-Length": "lots", "Content-Type": "text/html"},
                                  stream=httpx.ByteStream(article(3).encode()))
        return httpx.Response(200, html=article(4))

    fetcher = Fetcher(client=httpx.Client(transport=httpx.MockTransport(handler)), resolver=lambda h: [PUBLIC_IP])
    report = ws.ingest_urls(["https://news.example/bad-length", "https://news.example/ok"], fetcher=fetcher)
    assert report.added == 2, report.as_dict()


# -- timeouts --------------------------------------------------------------------------------

@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_timeout_fails_with_a_timeout_reason(ws, exc):
    def handler(request):
        if request.url.path == "/slow":
            raise exc("timed out", request=request)
        return httpx.Response(200, html=article(5))

    fetcher = Fetcher(client=httpx.Client(transport=httpx.MockTransport(handler)), resolver=lambda h: [PUBLIC_IP])
    report = ws.ingest_urls(["https://news.example/slow", "https://news.example/fast"], fetcher=fetcher)
    assert report.added == 1
    (p,) = report.failed
    one_line(p)
    assert p.origin == "https://news.example/slow" and p.reason == f"timed out ({exc.__name__})"


def test_slow_local_server_times_out(ws, site):
    release = threading.Event()

    def slow(handler):
        release.wait(5)
        handler._send(200, {"Content-Type": "text/html"}, article(6).encode())

    site.routes["/slow"] = ("call", slow)
    fetcher = Fetcher(allow_private=True, client=httpx.Client(timeout=0.5, follow_redirects=False, trust_env=False))
    t0 = time.monotonic()
    try:
        report = ws.ingest_urls([site.url("/slow")], fetcher=fetcher)
    finally:
        release.set()
    assert time.monotonic() - t0 < 4
    (p,) = report.failed
    assert p.reason == "timed out (ReadTimeout)"
