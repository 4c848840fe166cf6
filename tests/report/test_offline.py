"""Offline, proven: every page-like file the project writes (charts, briefings, the demo's chart)
loads nothing from another host. Opening one must not tell a third party what the analyst is
looking at, and must not be blank without a network.

The scan looks at what a browser would *fetch*: src/href of loading tags, srcset, CSS url() and
@import, and script code that imports or fetches a URL. A link the reader may click (<a href>) and
a document's own URL shown as data are fine; so are XML namespace ids (never fetched).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

LOADING = {("script", "src"), ("link", "href"), ("img", "src"), ("img", "srcset"), ("iframe", "src"),
           ("source", "src"), ("source", "srcset"), ("video", "src"), ("video", "poster"), ("audio", "src"),
           ("embed", "src"), ("object", "data"), ("image", "href"), ("image", "xlink:href"), ("use", "href"),
           ("use", "xlink:href"), ("input", "src"), ("track", "src"), ("frame", "src")}
# code that loads a URL: import()/import … from, fetch(), XHR open, a CSS url() or @import, a new script src
CODE_LOADS = re.compile(
    r"""(?:\bimport\s*\(\s*|\bfrom\s+|\bfetch\s*\(\s*|\.open\s*\(\s*["'](?:GET|POST)["']\s*,\s*|url\(\s*|@import\s+|"""
    r"""\.src\s*=\s*)["']?(?P<url>(?:https?:)?//[^"')\s]+)""", re.I)


def _external(url: str) -> bool:
    url = url.strip()
    if url.startswith("//"):
        return True
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and parts.hostname not in (None, "127.0.0.1", "localhost")


class _Loads(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._code = False

    def handle_starttag(self, tag, attrs):
        self._code = tag in ("script", "style")
        for k, v in attrs:
            if (tag, k) in LOADING:
                urls = [u.split()[0] for u in (v or "").split(",") if u.strip()] if k == "srcset" else [v or ""]
                self.found += [f"<{tag} {k}={u}>" for u in urls if _external(u)]
            if k == "style":
                self.handle_data(v or "", force=True)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self._code = False

    def handle_endtag(self, tag):
        self._code = False

    def handle_data(self, data, force=False):
        if self._code or force:
            self.found += [f"code loads {m['url']}" for m in CODE_LOADS.finditer(data) if _external(m["url"])]


def external_loads(text: str) -> list[str]:
    p = _Loads()
    p.feed(text)
    return p.found


def test_the_scanner_finds_what_a_browser_would_fetch():
    assert external_loads('<script src="https://cdn.example/vega@5"></script>') == [
        "<script src=https://cdn.example/vega@5>"]
    assert external_loads('<link rel="stylesheet" href="//fonts.example/css">')
    assert external_loads('<img srcset="a.png 1x, https://t.example/p.png 2x">')
    assert external_loads('<style>@import "https://x.example/a.css"; body{background:url(https://x.example/b.png)}</style>')
    assert external_loads('<script>fetch("https://x.example/track?q=1")</script>')
    assert external_loads('<script type="module">import vega from "https://cdn.example/vega.js"</script>')
    assert external_loads('<div style="background: url(\'https://x.example/p.png\')"></div>')
    # links to click, namespaces, local files and data are not loads
    assert external_loads('<a href="https://news.example/a">source</a>') == []
    assert external_loads('<svg xmlns="http://www.w3.org/2000/svg"><image href="data:image/png;base64,AA"/></svg>') == []
    assert external_loads('<script src="/static/app.js"></script><img src="http://127.0.0.1:8000/x.png">') == []


@pytest.fixture(scope="module")
def ws(demo_build, tmp_path_factory):
    from conftest import copy_demo

    from narratrace import Workspace

    with Workspace(copy_demo(demo_build, tmp_path_factory.mktemp("offline"))) as w:
        yield w


@pytest.mark.integration  # the demo build
def test_prevalence_charts_embed_their_javascript(ws, tmp_path):
    from narratrace.report.prevalence import chart

    rows = ws.prevalence(period="day", by="audience")
    assert rows, "the demo has prevalence to chart"
    page = chart(rows, tmp_path / "p.html").read_text(encoding="utf-8")
    assert external_loads(page) == []
    assert "<script" in page and "vegaEmbed" in page  # interactive, its code inside the page
    assert external_loads(chart(rows, tmp_path / "p.svg").read_text(encoding="utf-8")) == []


@pytest.mark.integration
def test_the_demo_chart_and_the_briefings_load_nothing(demo_build, ws):
    from narratrace.report.briefing import build_briefing, render_html, render_markdown

    demo_chart = Path(str(demo_build["path"]) + ".prevalence.html")
    assert demo_chart.is_file()
    assert external_loads(demo_chart.read_text(encoding="utf-8")) == []
    b = build_briefing(ws)
    assert external_loads(render_html(b)) == []
    md = render_markdown(b)  # markdown renders images: none may come from elsewhere
    assert not [u for u in re.findall(r"!\[[^\]]*\]\(([^)\s]+)", md) if _external(u)]
