"""What readers hand to the pipeline: one RawItem per would-be document, or a Problem."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from narratrace.clean.normalize import visible_controls
from narratrace.errors import InvalidInput

# A single document larger than this is refused (a 200 MB "article" is an attack or a
# mistake). Containers (JSONL, CSV, WARC, Telegram exports) are streamed and the cap
# applies to each record in them. Raise with `narratrace ingest --max-mb`.
DEFAULT_MAX_BYTES = 50 * 1024 * 1024

_SURROGATE = re.compile("[\ud800-\udfff]")


def escape_surrogates(value: str) -> str:
    """A str that cannot be encoded as UTF-8, made storable without losing what it held.

    A file name that is not UTF-8 (cp1256 Persian names from zip archives) reaches Python as
    lone surrogates (``os.fsdecode``: byte 0xE3 → U+DCE3); they are written back as the byte
    they stand for, ``\\xe3``, so the origin still names the exact file. Other lone surrogates
    (a JSON ``"\\ud800"``) become ``\\ud800``.
    """
    if not _SURROGATE.search(value):
        return value

    def esc(m: re.Match) -> str:
        c = ord(m.group())
        return f"\\x{c - 0xDC00:02x}" if 0xDC80 <= c <= 0xDCFF else f"\\u{c:04x}"

    return _SURROGATE.sub(esc, value)


@dataclass
class RawItem:
    origin: str  # what the analyst recognises: a path, a URL, "posts.jsonl#12"
    kind: str  # html | text | markdown | pdf | record
    data: bytes | None = None  # raw bytes (html, text, markdown, pdf)
    text: str | None = None  # already-decoded text (records from JSONL/CSV/Telegram)
    url: str | None = None
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    source: str | None = None  # a source key given by the record or the command line
    feed: str | None = None  # the feed URL this item came through
    channel: str | None = None  # a Telegram channel name
    charset: str | None = None  # declared by HTTP headers
    meta: dict = field(default_factory=dict)
    # When the material was fetched (HTTP response, WARC-Date), if known: relative dates ("2 hours
    # ago") and days printed without a year are read against it. Not part of the identity.
    fetched_at: datetime | None = None
    date_precision: str | None = None  # of published_at, when the reader set it (clean.dates)
    date_source: str | None = None  # where the reader found published_at (record, feed, given …)
    date_raw: str | None = None  # the record's date field as written, before parsing
    date_problem: str | None = None  # why date_raw gave no date ("month 13 does not exist")

    def __post_init__(self) -> None:
        self.origin = escape_surrogates(self.origin)

    def raw_hash(self) -> str:
        """The idempotency key: same material in, same key, nothing added twice."""
        if self.data is not None:
            return hashlib.sha256(self.data).hexdigest()
        # the date as the record wrote it, not as parsed: a better date parser must re-date a
        # stored record, not make it a new one (ingest/pipeline.py re-dates)
        when = self.date_raw if self.date_raw is not None else (
            self.published_at.isoformat() if self.published_at else None)
        return self._record_hash(when, self.meta)

    def legacy_hashes(self) -> list[str]:
        """The keys a record read with a date field had before the key kept the raw date
        (workspaces made before migration 0009): the parsed date, or none and the raw value
        under ``unparsed_date``. Looked up so that such a record is re-dated, not added again."""
        if self.data is not None or self.date_raw is None:
            return []
        return [self._record_hash(self.published_at.isoformat() if self.published_at else None, self.meta),
                self._record_hash(None, {**self.meta, "unparsed_date": self.date_raw})]

    def _record_hash(self, when: str | None, meta: dict) -> str:
        record = {
            "text": self.text,
            "url": self.url,
            "title": self.title,
            "author": self.author,
            "published_at": when,
            "channel": self.channel,
            "meta": meta,
        }
        return hashlib.sha256(
            b"record\0" + json.dumps(record, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


@dataclass
class Problem:
    """An input that did not become a document, and why (one line, names the input)."""

    origin: str
    status: str  # skipped | failed
    reason: str

    def __post_init__(self) -> None:
        # One line, always: reasons quote parser messages, which may span lines or echo input.
        # Control characters are shown as \xNN: visible to the analyst, storable everywhere.
        self.reason = visible_controls(" ".join(escape_surrogates(self.reason).split())[:500])
        self.origin = visible_controls(" ".join(escape_surrogates(self.origin).split()))

    def line(self) -> str:
        return f"{self.origin}: {self.reason}"


class InputError(InvalidInput):
    """Raised by readers for a bad input; the pipeline turns it into a Problem."""
