"""HTML → main text and metadata, with trafilatura; full publication timestamps read from
the page's own meta tags (trafilatura's date is day-precision, coordination needs minutes)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

import lxml.html
import trafilatura
from trafilatura.settings import use_config

from narratrace.clean.dates import DateError, DateValue, check_date, parse_date, url_date
from narratrace.errors import InvalidInput

# Elements per page. The largest page of the 181-page extraction benchmark has ~1.7k
# elements; 50k leaves room for long live-blogs while bounding trafilatura at ~4 s a page.
MAX_TREE_SIZE = 50_000


def _config():
    cfg = use_config()
    cfg.set("DEFAULT", "max_tree_size", str(MAX_TREE_SIZE))
    # Extensive date search guesses a day from any year on the page ("© 2026" in a footer
    # became 2026-01-01); an undated document must stay undated.
    cfg.set("DEFAULT", "extensive_date_search", "off")
    return cfg


_CONFIG = _config()


# trafilatura drops every non-printable character, and ZWNJ/ZWJ are "non-printable" (Cf)
# although Persian spelling needs them (می‌گوید). They cross trafilatura as two rare printable
# symbols (U+2BD1/U+2BD2, "uncertainty signs", unseen in news text) and are restored after;
# Persian sites often write them as entities, which are protected the same way.
_ENTITIES = {"&zwnj;": "\u2bd1", "&#8204;": "\u2bd1", "&#x200c;": "\u2bd1",
             "&zwj;": "\u2bd2", "&#8205;": "\u2bd2", "&#x200d;": "\u2bd2"}
# one pattern with a literal "&" first (re scans for it fast) rather than an alternation of six
# literals; replace() rather than translate(): 1.6 ms against 71 ms on a 189 KB page (issue 17)
_ENTITY = re.compile(r"&(?:zwn?j|#820[45]|#x200[cd]);", re.I)


def _protect(html: str) -> str:
    html = html.replace("\u200c", "\u2bd1").replace("\u200d", "\u2bd2")
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(0).lower()], html) if "&" in html else html


def _restore(value: str | None) -> str | None:
    return value.replace("\u2bd1", "\u200c").replace("\u2bd2", "\u200d") if value else value


class ExtractionError(InvalidInput):
    pass


@dataclass
class HtmlExtract:
    text: str
    title: str | None
    author: str | None
    published_at: datetime | None
    date_precision: str | None
    url: str | None
    site_name: str | None
    language: str | None
    date_source: str | None = None  # meta | json-ld | time | extractor | url (clean.dates.SOURCES)
    date_problems: tuple[str, ...] = ()


_TIME_META = [
    "article:published_time",
    "og:published_time",
    "datePublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "date",
    "dc.date",
    "dc.date.issued",
    "sailthru.date",
    "parsely-pub-date",
]


def _jsonld_dates(data, depth: int = 0):
    """``datePublished`` values of a JSON-LD block, through lists and ``@graph`` (bounded depth)."""
    if depth > 6:
        return
    if isinstance(data, list):
        for x in data:
            yield from _jsonld_dates(x, depth + 1)
    elif isinstance(data, dict):
        if isinstance(data.get("datePublished"), str):
            yield data["datePublished"]
        for key in ("@graph", "mainEntity", "mainEntityOfPage"):
            if isinstance(data.get(key), list | dict):
                yield from _jsonld_dates(data[key], depth + 1)


def _page_date(tree, problems: list[str]) -> tuple[DateValue | None, str | None]:
    """The article's own date from the page's machine-readable metadata, and where it was.

    The page's own statement about itself (meta tags, then JSON-LD) first; a ``<time>`` element
    only inside the article or marked as the publication time, since a site header's "today" and
    a sidebar's teasers are ``<time>`` elements too."""
    metas: dict[str, str] = {}
    for m in tree.iter("meta"):
        key = (m.get("property") or m.get("name") or m.get("itemprop") or "").strip().lower()
        if key and m.get("content") and key not in metas:
            metas[key] = m.get("content")
    for key in _TIME_META:
        if key.lower() in metas:
            try:
                return check_date(metas[key.lower()]), "meta"
            except DateError as exc:
                problems.append(f"meta {key}: {exc}")
    for script in tree.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except (ValueError, RecursionError):
            continue
        for value in _jsonld_dates(data):
            try:
                return check_date(value), "json-ld"
            except DateError as exc:
                problems.append(f"JSON-LD datePublished: {exc}")
    for t in tree.iter("time"):
        if not t.get("datetime"):
            continue
        own = (t.get("pubdate") is not None or (t.get("itemprop") or "").lower() == "datepublished"
               or any(a.tag == "article" for a in t.iterancestors()))
        if own:
            v = parse_date(t.get("datetime"))
            if v is not None:
                return v, "time"
    return None, None


def extract_html(html: str, url: str | None = None) -> HtmlExtract:
    lang = None
    try:
        tree = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise ExtractionError(f"unparseable HTML: {exc}") from exc
    # trafilatura spends ~70 µs per element and its own size limit applies only after
    # parsing; counting with lxml first refuses element bombs in milliseconds.
    n_elements = sum(1 for _ in tree.iter())
    if n_elements > MAX_TREE_SIZE:
        raise ExtractionError(f"page has {n_elements} HTML elements, over the {MAX_TREE_SIZE} limit")
    lang = (tree.get("lang") or tree.get("xml:lang") or "").split("-")[0].lower() or None
    problems: list[str] = []
    found, source = _page_date(tree, problems)
    try:
        doc = trafilatura.bare_extraction(
            _protect(html),
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            deduplicate=False,  # trafilatura's cache is process-wide; we dedup per document
            config=_CONFIG,
        )
    except Exception as exc:  # trafilatura raises many types on broken markup
        raise ExtractionError(f"HTML extraction failed: {type(exc).__name__}: {exc}") from exc
    if doc is None:
        raise ExtractionError("no main text found in HTML")
    if found is None and doc.date:
        # trafilatura's date (htmldate: day precision, from the page's own markup and text)
        found, source = parse_date(doc.date), "extractor"
    if found is None:
        found = url_date(doc.url or url)
        source = "url" if found else None
    published = found.at if found else None
    precision = found.precision if found else None
    return HtmlExtract(
        text=_restore(doc.text) or "",
        title=_restore(doc.title),
        author=_restore(doc.author),
        published_at=published,
        date_precision=precision,
        date_source=source,
        date_problems=tuple(problems[:5]),
        url=doc.url or url,
        site_name=_restore(doc.sitename),
        language=lang,
    )
