"""Every dashboard page in Debian's chromium at a desktop (1400 px) and a phone (390 px) width:
the navigation wraps instead of overflowing, no page loads anything from another host, the
translation form saves through the API, and a screenshot of each page at both widths is written
under pytest's tmp_path (copied to $NARRATRACE_TEST_ARTIFACTS when set, never into the repo).

The workspace, server and browser are test_dashboard.py's fixtures (the demo build plus hostile
documents), imported so both files drive the same setup."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from serve.test_dashboard import PAYLOADS, _nonblank_png, browser, built, server  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration  # the demo build and a real browser
WIDTHS = {"desktop": (1400, 900), "phone": (390, 844)}  # 390 × 844: a current mid-size phone in CSS px
LOCAL = ("127.0.0.1", "localhost")


def _every_page(build) -> dict[str, str]:
    from narratrace.workspace import Workspace

    with Workspace(build["path"]) as ws:
        fa = next(d.id for d in ws.documents() if d.language == "fa")
        speaker = ws.speakers()[0].key
        entity = max(ws.entities(), key=lambda e: e.mentions + e.quotes).key
        narrative = ws.narratives()[0].key
    return {"overview": "/", "narratives": "/narratives", "narrative": f"/narratives/{quote(narrative)}",
            "contradictions": "/contradictions", "provenance": "/provenance", "documents": "/documents",
            "documents-search": "/documents?q=pwned", "document-fa": f"/documents/{fa}",
            "document-hostile": f"/documents/{build['hostile'][PAYLOADS[1]]}", "quotes": "/quotes",
            "speakers": "/speakers", "speakers-recycled": "/speakers?recycled=1",
            "speaker": f"/speakers/{quote(speaker, safe='')}", "entities": "/entities",
            "entity": f"/entities/{quote(entity)}", "search": "/search?q=pwned", "login": "/login",
            "error-404": "/documents/999999999", "error-422": "/documents/not-a-number"}


def _context(browser, width, height):  # noqa: F811 - the imported fixture
    ctx = browser.new_context(viewport={"width": width, "height": height})
    pg = ctx.new_page()
    pg.blocked, pg.errors = [], []

    def guard(route):
        if urlsplit(route.request.url).hostname in LOCAL:
            route.continue_()
        else:  # a request for another host: recorded and refused, the test fails on it
            pg.blocked.append(route.request.url)
            route.abort()

    ctx.route("**/*", guard)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("console", lambda m: m.type == "error" and pg.errors.append(m.text))
    return ctx, pg


# Everything a page loads or sends to: scripts, styles, images, frames, form targets, CSS url().
# Links to the original articles (<a href>) are data, not loads, and stay allowed.
EXTERNAL_REFS = """() => {
  const out = [];
  const own = (u) => { try { return ['127.0.0.1', 'localhost'].includes(new URL(u, location.href).hostname); }
                       catch (e) { return true; } };
  for (const el of document.querySelectorAll('[src], link[href], form[action], object[data], [srcset]')) {
    for (const a of ['src', 'href', 'action', 'data']) {
      const v = el.getAttribute(a);
      if (v && (el.tagName !== 'A') && !own(v)) out.push(el.tagName + ' ' + a + '=' + v);
    }
  }
  for (const sheet of document.styleSheets) {
    for (const rule of sheet.cssRules) { const m = /url\\(["']?(https?:[^"')]+)/.exec(rule.cssText);
                                         if (m && !own(m[1])) out.push('css ' + m[1]); }
  }
  return out;
}"""


def test_every_page_at_desktop_and_phone_width(built, server, browser, tmp_path):  # noqa: F811
    out = os.environ.get("NARRATRACE_TEST_ARTIFACTS")
    pages = _every_page(built)
    for label, (w, h) in WIDTHS.items():
        ctx, pg = _context(browser, w, h)
        try:
            for name, path in pages.items():
                seen = len(pg.errors)
                resp = pg.goto(server + path)
                pg.wait_for_load_state("networkidle")
                if name.startswith("error-"):  # chromium logs the page's own 404/422 status: that one is expected
                    new, pg.errors[seen:] = pg.errors[seen:], []
                    pg.errors += [e for e in new if "responded with a status of 4" not in e]
                assert resp.status == (404 if name == "error-404" else 422 if name == "error-422" else 200), name
                assert pg.locator("header.top nav a[href='/narratives']").count() == 1, name
                assert pg.evaluate(EXTERNAL_REFS) == [], (name, label)
                if label == "phone":
                    # the page (nav included) never scrolls sideways; a wide table scrolls inside itself
                    sw, iw = pg.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                    assert sw <= iw, f"{name} at {w} px: page is {sw} px wide"
                    right = pg.evaluate("Math.max(...[...document.querySelectorAll('header.top nav a')]"
                                        ".map(a => a.getBoundingClientRect().right))")
                    assert right <= iw, f"{name}: a nav link ends at {right} px"
                    assert pg.evaluate("document.querySelector('header.top nav').getBoundingClientRect()"
                                       ".height") > 30, "the nav wraps onto more than one line on a phone"
                f = tmp_path / f"{name}-{label}.png"
                pg.screenshot(path=str(f), full_page=False)
                assert _nonblank_png(f.read_bytes()), f"{name} at {w} px: blank screenshot"
                if out:
                    Path(out).mkdir(parents=True, exist_ok=True)
                    shutil.copy(f, Path(out) / f"pages-{name}-{label}.png")
            assert pg.evaluate("window.__pwned") is None
            assert pg.blocked == [], f"requests left localhost: {pg.blocked}"
            assert pg.errors == [], pg.errors
        finally:
            ctx.close()
    assert len(list(tmp_path.glob("*.png"))) == 2 * len(pages)


def test_translation_form_saves_in_the_browser(built, server, browser):  # noqa: F811
    from narratrace.workspace import Workspace

    with Workspace(built["path"]) as ws:
        fa = next(d.id for d in ws.documents() if d.language == "fa")
    ctx, pg = _context(browser, *WIDTHS["phone"])  # and usable on a phone
    try:
        pg.goto(server + f"/documents/{fa}")
        form = pg.locator("form.translate-form[data-kind='sentence']").first
        sid = int(form.get_attribute("data-id"))
        pg.locator("section.sentences > details > summary").click()  # the sentence list, closed at first
        form.locator("xpath=ancestor::details[1]/summary").click()
        form.locator("textarea").fill("An analyst's <b>English</b> rendering")
        form.locator("textarea").press("Tab")
        pg.keyboard.press("Enter")  # the keyboard reaches and presses "save translation"
        form.locator("[data-translation-status]").filter(has_text="saved").wait_for(timeout=10_000)
        group = form.locator("xpath=ancestor::*[@data-translation-group][1]")
        assert group.locator("[data-translation-text]").inner_text() == "An analyst's <b>English</b> rendering"
        with Workspace(built["path"]) as ws:
            t = next(t for t in ws.translations(document_ids=[fa]) if t.sentence_id == sid)
            assert t.text == "An analyst's <b>English</b> rendering" and t.translator == "local"
        form.locator("textarea").fill("y" * 5_000)  # over the store's limit: refused, with the reason
        form.locator("button").click()
        form.locator("[data-translation-status]").filter(has_text="not saved").wait_for(timeout=10_000)
        assert "limit" in form.locator("[data-translation-status]").inner_text()
        assert pg.blocked == [] and [e for e in pg.errors if "413" not in e] == []
    finally:
        ctx.close()
