"""RawItem → cleaned paragraphs + metadata, for every input kind: where a reader's item meets clean/.

HTML goes through trafilatura (clean/html.py); text, Markdown, PDF and records go straight to the same
line cleaner (clean.text), so boilerplate rules and paragraph dedup apply to all of them.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import datetime

from narratrace.clean.dates import HeaderDate, header_date
from narratrace.clean.encoding import DecodeError, decode
from narratrace.clean.html import ExtractionError, extract_html
from narratrace.clean.text import clean_lines, split_text_header
from narratrace.enrich.language import document_language
from narratrace.ingest.items import InputError, RawItem


@dataclass
class Extracted:
    lines: list[str]
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    url: str | None = None
    site_name: str | None = None
    language_hint: str | None = None
    meta: dict = field(default_factory=dict)
    date_precision: str | None = None  # minute | day | month | year (clean.dates.PRECISIONS)
    date_source: str | None = None  # where the date was read (clean.dates.SOURCES)


# A page's header lies in its first 40 lines (clean.dates.HEADER_LINES); 40 lines of 500
# characters is more than any header, and bounds the scan of a 50 MB text.
HEADER_SCAN_CHARS = 20_000

# [text](target): the text holds no bracket and the target at most one level of parentheses
# ("…/Foo_(bar)"), both possessive. Linear: a scan stops at the next "[" (or unmatched "("),
# so no character is rescanned from every earlier "[". The old `\[([^\]]*)\]\([^)]*\)` rescanned
# the rest of the line from each "[": 18,000 "[" took 4 s, 200 KB > 300 s (bench/hostile.py).
# "[a [b](c)" now keeps "[a " and unwraps the inner link, as CommonMark renders it.
_MD_LINK = re.compile(r"!?\[([^\[\]]*+)\]\((?:[^()]|\([^()]*+\))*+\)")
_MD_PREFIX = re.compile(r"^\s{0,3}(#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)")
_MD_EMPH = re.compile(r"(\*\*|__|`)")
_HTMLISH = re.compile(r"<(p|div|br|span|a|html|body)\b", re.I)


def _markdown_to_text(text: str) -> str:
    out = []
    for line in text.split("\n"):
        if line.strip() in ("---", "***", "___") or line.strip().startswith("```"):
            continue
        line = _MD_PREFIX.sub("", line)
        line = _MD_LINK.sub(r"\1", line)
        out.append(_MD_EMPH.sub("", line))
    return "\n".join(out)


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader  # lazy: pypdf costs +0.12 s at CLI start (measured), PDFs are rare
    from pypdf.errors import PdfReadError  # lazy: pypdf, as above

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise InputError("PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"unreadable PDF: {exc}") from exc
    return "\n\n".join(_unwrap(p) for p in pages)


def _unwrap(page: str) -> str:
    """PDF text is hard-wrapped; join wrapped lines so sentences are not cut at line ends."""
    lines = [x.strip() for x in page.split("\n")]
    paras: list[str] = []
    cur = ""
    for line in lines:
        if not line:
            if cur:
                paras.append(cur)
            cur = ""
            continue
        if cur and cur.endswith("-") and line[:1].islower():
            cur = cur[:-1] + line
        elif cur and cur[-1] in ".!?؟:»”\"" and (line[:1].isupper() or not line[:1].isalpha()) and len(cur) > 200:
            paras.append(cur)
            cur = line
        else:
            cur = f"{cur} {line}" if cur else line
    if cur:
        paras.append(cur)
    return "\n".join(paras)


def extract(item: RawItem) -> Extracted:
    """Raises InputError with a one-line reason when the item cannot become text."""
    kind = item.kind
    if kind == "pdf":
        raw_text = _pdf_text(item.data or b"")
        kind = "text"
    elif item.data is not None:
        try:
            raw_text, enc = decode(item.data, item.charset)
        except DecodeError as exc:
            raise InputError(str(exc)) from exc
    else:
        raw_text = item.text or ""
        if kind == "record" and _HTMLISH.search(raw_text[:2000]):
            kind = "html"
    if kind == "html":
        # lxml refuses str input that carries an XML encoding declaration
        raw_text = re.sub(r"^\s*<\?xml[^>]*\?>", "", raw_text)
        try:
            h = extract_html(raw_text, url=item.url)
        except ExtractionError as exc:
            raise InputError(str(exc)) from exc
        hint = document_language(h.text, h.language)
        lines, stats = clean_lines(h.text, hint, shapes=False)  # the extractor cut the page's chrome
        meta = {"clean": stats}
        if h.date_problems:
            meta["date_problems"] = list(h.date_problems)
        return Extracted(lines, h.title, h.author, h.published_at, h.url, h.site_name, hint, meta,
                         date_precision=h.date_precision, date_source=h.date_source)
    if kind == "markdown":
        raw_text = _markdown_to_text(raw_text)
    hint = document_language(raw_text, item.language)
    lines, stats = clean_lines(raw_text, hint)
    out = Extracted(lines, language_hint=hint, meta={"clean": stats})
    # the date is looked for before cleaning: a rule may drop a date line as chrome
    raw_lines = [x for x in raw_text[:HEADER_SCAN_CHARS].split("\n") if x.strip()]
    if kind in ("text", "markdown"):
        problems: list[str] = []
        out.title, found, out.lines = split_text_header(lines, item.fetched_at, problems, raw_lines)
        _set_header_date(out, found, problems)
    elif kind == "record" and item.published_at is None:
        # a record without a date field may print its date at the top of its text; the lines
        # stay (a record's text is the analyst's, cut nowhere)
        problems = []
        _set_header_date(out, header_date(raw_lines, item.fetched_at, problems=problems), problems)
    return out


def _set_header_date(out: Extracted, found: HeaderDate | None, problems: list[str]) -> None:
    if problems:
        out.meta["date_problems"] = problems[:5]
    if found is None:
        return
    v = found.value
    out.meta["date_printed"] = v.text[:200]
    if v.calendar != "gregorian":
        out.meta["date_calendar"] = v.calendar
    if v.at is None and v.partial is not None:
        # a day without its year ("۱۹ مهرماه") and no crawl time: the ingest run places it
        # among the source's other documents (ingest/pipeline.py), or leaves it undated
        out.meta["date_partial"] = list(v.partial)
        return
    out.published_at, out.date_precision, out.date_source = v.at, v.precision, "header"
    if v.ambiguous:
        out.meta["date_ambiguous"] = "day-first"
