"""HTML → main text and metadata, with trafilatura; full publication timestamps read from
the page's own meta tags (trafilatura's date is day-precision, coordination needs minutes)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import lxml.html
import trafilatura

from narratrace.clean.text import parse_date

MAX_TREE_SIZE = 200_000  # elements; larger pages are almost always generated junk or attacks


def _config():
    from trafilatura.settings import use_config

    cfg = use_config()
    cfg.set("DEFAULT", "max_tree_size", str(MAX_TREE_SIZE))
    return cfg


_CONFIG = _config()


class ExtractionError(ValueError):
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
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            deduplicate=False,  # trafilatura's cache is process-wide; we dedup per document
            config=_CONFIG,
        )
    except Exception as exc:  # trafilatura raises many types on broken markup
        raise ExtractionError(f"HTML extraction failed: {type(exc).__name__}: {exc}") from exc
    lang = None
    published = None
    precision = None
    try:
        tree = lxml.html.fromstring(html)
        lang = (tree.get("lang") or tree.get("xml:lang") or "").split("-")[0].lower() or None
        published = _meta_timestamp(tree)
        precision = "minute" if published else None
    except (ValueError, lxml.etree.ParserError):
        tree = None
    if doc is None:
        raise ExtractionError("no main text found in HTML")
    if published is None and doc.date:
        published = parse_date(doc.date)
        precision = "day" if published else None
    return HtmlExtract(
        text=doc.text or "",
        title=doc.title,
        author=doc.author,
        published_at=published,
        date_precision=precision,
        url=doc.url or url,
        site_name=doc.sitename,
        language=lang,
    )
