"""The dashboard's list pages, HTML error pages and the document page's translation form
(serve/pages.py), on a tiny fictional workspace: every outlet, person and place is invented, some
of the stored text is hostile (markup, an RTL override, a 10k-character line)."""

from __future__ import annotations

import re

import pytest
from conftest import article_html, write
from fastapi.testclient import TestClient

TOKENS = {"viewer-token-123": ("vic", "viewer"), "analyst-token-456": ("ana", "analyst")}
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: reverses what follows it unless isolated
EVIL_OUTLET = f'{RLO}<img src=x onerror="window.__pwned=1">Evil Wire'
SOURCES = f"""
actors: [{{id: ostra-state, name: Government of Ostra}}]
sources:
- {{id: nh, name: Nordvik Herald, audience: foreign, language: en, domains: [nh.example]}}
- {{id: sv, name: صدای ولتریا, actor: ostra-state, audience: domestic, language: fa, domains: [sv.example]}}
- {{id: ew, name: '{EVIL_OUTLET}', audience: foreign, language: en, domains: [ew.example]}}
"""
ENTITIES = """
entities:
- {id: teodor-marsk, name: Teodor Marsk, aliases: {en: [Marsk], fa: [تئودور مارسک]}}
- {id: velloria, name: Velloria, kind: place}
"""
NARRATIVES = """narratives:
  - id: harbour-closed
    name: 'The <script>window.__pwned=1</script> harbour is closed'
    assertions: ['The northern harbour of Velloria is closed to trade.']
"""
LONG = "x" * 10_000
PAGES = {  # file: (url, published, language, title, paragraphs)
    "nh1.html": ("https://nh.example/a/1", "2026-02-10T09:00:00Z", "en", "Harbour talks stall", [
        "Teodor Marsk said on Thursday that \"the northern harbour will reopen in the spring\".",
        "Traders in Velloria were not convinced by the promise."]),
    "nh2.html": ("https://nh.example/a/2", "2026-02-12T09:00:00Z", "en", "Markets quiet in Velloria", [
        "The markets of Velloria stayed quiet all week and prices held.",
        "Farmers expect a good harvest this year."]),
    "sv1.html": ("https://sv.example/fa/1", "2026-03-19T06:10:00Z", "fa", "بندر شمالی", [
        "تئودور مارسک گفت: «بندر شمالی در بهار باز خواهد شد.»",
        "این سخنان در پایتخت واکنش‌های زیادی برانگیخت."]),
    "ew1.html": ("https://ew.example/a/1", "2026-03-20T10:00:00Z", "en",
                 f"&lt;script&gt;window.__pwned=1&lt;/script&gt; {RLO}evil title", [
                     "Marsk said that \"&lt;img src=x onerror=alert(1)&gt; is only text\".",
                     f"A very long line follows: {LONG}"]),
}


@pytest.fixture(scope="module")
def pws(tmp_path_factory):
    from narratrace.workspace import Workspace

    d = tmp_path_factory.mktemp("pages")
    for name, (url, published, lang, title, paras) in PAGES.items():
        write(d / "in" / name, article_html(title, paras, url=url, published=published, lang=lang))
    with Workspace(d / "p.db", create=True) as ws:
        ws.import_sources(write(d / "sources.yaml", SOURCES))
        ws.import_entities(write(d / "entities.yaml", ENTITIES))
        ws.import_narratives(write(d / "narratives.yaml", NARRATIVES))
        ws.ingest([str(d / "in")])
        ws.analyze(["quotes"])
        ids = {d_.url: d_.id for d_ in ws.documents()}
    return {"path": str(d / "p.db"), "ids": ids}


@pytest.fixture(scope="module")
def client(pws):
    from narratrace.serve.app import create_app

    return TestClient(create_app(pws["path"]), follow_redirects=False)


def _signed_in(pws, token):
    from narratrace.serve.app import create_app

    c = TestClient(create_app(pws["path"], tokens=TOKENS), follow_redirects=False)
    assert c.post("/login", data={"token": token}).status_code == 303
    return c


def _main(html: str) -> str:
    return html.split("<main>", 1)[1].split("</main>", 1)[0]


def test_every_list_page_renders_names_and_is_inert(client):
    pages = ["/narratives", "/documents", "/quotes", "/speakers", "/speakers?recycled=1", "/entities",
             "/entities/teodor-marsk", "/documents?q=harbour"]
    for url in pages:
        r = client.get(url)
        assert r.status_code == 200, (url, r.text[:300])
        assert r.headers["content-type"].startswith("text/html")
        for link in ("/narratives", "/documents", "/quotes", "/speakers", "/entities"):
            assert f'<a href="{link}"' in r.text, (url, link)  # the nav links to every list
        body = _main(r.text)
        assert "<script" not in body and "<img" not in body, url  # hostile names and titles stay text
    docs = client.get("/documents").text
    assert '<bdi title="nh">Nordvik Herald</bdi>' in docs and '<bdi title="sv">صدای ولتریا</bdi>' in docs
    assert "&lt;img src=x onerror=" in docs  # the hostile outlet's name, escaped
    # the hostile title as text, isolated (ingest already drops its RTL override)
    assert re.search(r'<a href="/documents/\d+" dir="auto">&lt;script&gt;window.__pwned=1&lt;/script&gt;', docs)
    for url in ("/documents", "/quotes", "/speakers", "/entities/teodor-marsk"):
        # the outlet's RTL override sits inside <bdi> (or its own <option>): it cannot reverse the line
        rest = re.sub(r"<(bdi|option)\b[^>]*>.*?</\1>", "", _main(client.get(url).text), flags=re.S)
        assert RLO not in rest, url
    assert f'<bdi title="ew">{RLO}&lt;img' in docs
    narr = client.get("/narratives").text
    assert "The &lt;script&gt;window.__pwned=1&lt;/script&gt; harbour is closed" in narr
    assert 'href="/narratives/harbour-closed"' in narr


def test_documents_filters_search_and_paging(client, pws, monkeypatch):
    from narratrace.serve import pages

    only_fa = _main(client.get("/documents?language=fa").text)
    assert "بندر شمالی" in only_fa and "Harbour talks stall" not in only_fa
    nh = _main(client.get("/documents?source=nh").text)
    assert "Harbour talks stall" in nh and "Markets quiet" in nh and "بندر شمالی" not in nh
    march = _main(client.get("/documents?since=2026-03-01").text)
    assert "بندر شمالی" in march and "Harbour talks stall" not in march
    hit = _main(client.get("/documents?q=harvest").text)
    assert "Markets quiet in Velloria" in hit and "Harbour talks stall" not in hit and "<mark>" in hit
    bad = client.get("/documents?source=nhh")
    assert bad.status_code == 400 and "unknown source &#39;nhh&#39;" in bad.text and "<main>" in bad.text
    assert client.get("/documents?since=yesterday-ish").status_code == 400
    monkeypatch.setattr(pages, "LIST_PAGE", 2)  # 4 documents: two pages of two
    first, second = _main(client.get("/documents").text), _main(client.get("/documents?page=2").text)
    ids = lambda html: re.findall(r'<a href="/documents/(\d+)" dir="auto"', html)  # noqa: E731
    assert len(ids(first)) == len(ids(second)) == 2 and not set(ids(first)) & set(ids(second))
    assert 'href="/documents?page=2" rel="next"' in first and 'rel="next"' not in second
    assert 'href="/documents" rel="prev"' in second
    assert 'href="/documents?language=en&amp;page=2"' in _main(client.get("/documents?language=en").text)


def test_quotes_speakers_and_entities(client):
    quotes = _main(client.get("/quotes").text)
    assert "the northern harbour will reopen in the spring" in quotes
    assert '<q lang="fa" dir="rtl">' in quotes  # the Persian quote, right to left
    assert "&lt;img src=x onerror=alert(1)&gt; is only text" in quotes
    assert re.search(r'<a href="/speakers/[^"]+"[^>]*><bdi>Teodor Marsk</bdi></a>', quotes)
    only_fa = _main(client.get("/quotes?language=fa").text)
    assert "بندر شمالی در بهار" in only_fa and "reopen in the spring" not in only_fa
    by_marsk = _main(client.get("/quotes?speaker=teodor-marsk&source=nh").text)
    assert "reopen in the spring" in by_marsk and "بندر" not in by_marsk

    speakers = _main(client.get("/speakers").text)
    key = re.search(r'<a href="/speakers/([^"]+)" title="([^"]+)"><bdi>Teodor Marsk</bdi>', speakers)
    assert key, speakers[:2000]
    assert "Nordvik Herald" in speakers and "صدای ولتریا" in speakers  # the outlets that quote him, by name
    one = client.get(f"/speakers/{key.group(1)}")
    assert one.status_code == 200 and "reopen in the spring" in one.text and "بهار" in one.text
    assert client.get("/speakers/nobody-at-all").status_code == 404

    ent = _main(client.get("/entities").text)
    assert '<a href="/entities/teodor-marsk" title="teodor-marsk"><bdi>Teodor Marsk</bdi></a>' in ent
    page = _main(client.get("/entities/teodor-marsk").text)
    by_outlet = page.split("<h2>By outlet</h2>", 1)[1].split("</table>", 1)[0]
    assert '<bdi title="nh">Nordvik Herald</bdi>' in by_outlet and '<bdi title="sv">صدای ولتریا</bdi>' in by_outlet
    assert "<mark>Marsk</mark>" in page or "<mark>Teodor Marsk</mark>" in page  # a mention in its context
    quotes_only = _main(client.get("/entities/teodor-marsk?kind=quote").text)
    assert "<mark>" not in quotes_only and "reopen in the spring" in quotes_only


def test_error_pages_are_html_in_the_layout_and_the_api_keeps_json(pws):
    from narratrace.serve.app import create_app

    c = TestClient(create_app(pws["path"], tokens=TOKENS), follow_redirects=False)
    wrong = c.post("/login", data={"token": "not-a-real-token"})
    assert wrong.status_code == 401 and wrong.headers["content-type"].startswith("text/html")
    assert 'name="token"' in wrong.text and "Sign in" in wrong.text and '"detail"' not in wrong.text
    assert "script-src 'self'" in wrong.headers["content-security-policy"]
    cross = c.post("/login", data={"token": "x" * 12}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403 and "<main>" in cross.text and "this server&#39;s own pages" in cross.text
    assert c.get("/documents").status_code == 303  # not signed in: pages send the browser to /login

    c = _signed_in(pws, "viewer-token-123")
    for url, status, says in [("/documents/999999", 404, "no document"), ("/no/such/page", 404, "Not Found"),
                              ("/entities/teodor-mask", 404, "did you mean &#39;teodor-marsk&#39;"),
                              ("/narratives/no-such", 404, "no such narrative"),
                              ("/documents/abc", 422, "doc_id")]:
        r = c.get(url)
        assert r.status_code == status and r.headers["content-type"].startswith("text/html"), (url, r.text[:200])
        assert says in r.text and "<main>" in r.text and 'href="/documents"' in r.text, url
        assert "vic (viewer)" in r.text or url == "/no/such/page", url  # the layout knows who is signed in
        assert "script-src 'self'" in r.headers["content-security-policy"]
    api = c.get("/api/documents/999999")
    assert api.status_code == 404 and api.headers["content-type"] == "application/json" and "detail" in api.json()
    assert c.get("/api/documents/abc").json()["detail"][0]["loc"] == ["path", "doc_id"]
    hostile = c.get("/entities/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert hostile.status_code == 404 and "<script>alert" not in hostile.text


def test_translation_form_posts_like_the_review_buttons(pws):
    fa = pws["ids"]["https://sv.example/fa/1"]
    en = pws["ids"]["https://nh.example/a/1"]
    viewer = _signed_in(pws, "viewer-token-123")
    assert "translate-form" not in viewer.get(f"/documents/{fa}").text  # viewers read only
    analyst = _signed_in(pws, "analyst-token-456")
    page = analyst.get(f"/documents/{fa}").text
    forms = re.findall(r'<form class="translate-form" method="post" action="/api/translations" '
                       r'data-kind="(sentence|quote)" data-id="(\d+)" data-language="en">', page)
    kinds = {k for k, _ in forms}
    assert kinds == {"sentence", "quote"}, forms
    assert "translate-form" not in analyst.get(f"/documents/{en}").text  # nothing to render in English
    kind, sid = next(f for f in forms if f[0] == "sentence")
    # what dashboard.js sends: the cookie, X-Narratrace: 1, {sentence_id|quote_id, text, language}
    assert analyst.post("/api/translations", json={"sentence_id": int(sid), "text": "x"}).status_code == 403
    r = analyst.post("/api/translations", headers={"X-Narratrace": "1"},
                     json={"sentence_id": int(sid), "text": "Teodor Marsk said: <b>the harbour</b> opens", "language": "en"})
    assert r.status_code == 200, r.text
    too_long = analyst.post("/api/translations", headers={"X-Narratrace": "1"},
                            json={"sentence_id": int(sid), "text": "y" * 20_000, "language": "en"})
    assert too_long.status_code == 413 and "limit" in too_long.json()["detail"]
    assert viewer.post("/api/translations", headers={"X-Narratrace": "1"},
                       json={"sentence_id": int(sid), "text": "z"}).status_code == 403
    for c in (viewer, analyst):  # the stored rendering, escaped, with who made it
        shown = c.get(f"/documents/{fa}").text
        assert "Teodor Marsk said: &lt;b&gt;the harbour&lt;/b&gt; opens" in shown
        assert "translated by <bdi>ana</bdi>" in shown
    assert "edit the translation" in analyst.get(f"/documents/{fa}").text
