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

from narratrace.clean.text import parse_date
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
_PROTECT = str.maketrans({"\u200c": "\u2bd1", "\u200d": "\u2bd2"})
_RESTORE = str.maketrans({"\u2bd1": "\u200c", "\u2bd2": "\u200d"})
_ENTITIES = {"&zwnj;": "\u2bd1", "&#8204;": "\u2bd1", "&#x200c;": "\u2bd1",
             "&zwj;": "\u2bd2", "&#8205;": "\u2bd2", "&#x200d;": "\u2bd2"}
_ENTITY = re.compile("|".join(map(re.escape, _ENTITIES)), re.I)


def _protect(html: str) -> str:
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(0).lower()], html).translate(_PROTECT)


def _restore(value: str | None) -> str | None:
    return value.translate(_RESTORE) if value else value


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


def _meta_timestamp(tree) -> datetime | None:
    metas: dict[str, str] = {}
    for m in tree.iter("meta"):
        key = (m.get("property") or m.get("name") or m.get("itemprop") or "").strip().lower()
        if key and m.get("content") and key not in metas:
            metas[key] = m.get("content")
    for key in _TIME_META:
        if key.lower() in metas:
            dt = parse_date(metas[key.lower()])
            if dt:
                return dt
    for script in tree.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except ValueError:
            continue
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict) and isinstance(item.get("datePublished"), str):
                dt = parse_date(item["datePublished"])
                if dt:
                    return dt
    for t in tree.iter("time"):
        if t.get("datetime"):
            dt = parse_date(t.get("datetime"))
            if dt:
                return dt
    return None


def extract_html(html: str, url: str | None = None) -> HtmlExtract:
    lang = None
    published = None
    precision = None
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
    published = _meta_timestamp(tree)
    precision = "minute" if published else None
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
    if published is None and doc.date:
        published = parse_date(doc.date)
        precision = "day" if published else None
    return HtmlExtract(
        text=_restore(doc.text) or "",
        title=_restore(doc.title),
        author=_restore(doc.author),
        published_at=published,
        date_precision=precision,
        url=doc.url or url,
        site_name=_restore(doc.sitename),
        language=lang,
    )
