"""Plain-text cleaning shared by every input kind: the same rules whether the text came
from HTML (after trafilatura), a .txt transcript, a PDF, a CSV cell or a Telegram post."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from narratrace.clean.boilerplate import cut_tail, is_rule_boilerplate
from narratrace.clean.normalize import normalize_text

_PUNCT = re.compile(r"[\W_]+", re.UNICODE)


def paragraph_key(p: str) -> str:
    """Two paragraphs are the same when their words are (quotes and spacing may differ:
    seed 000 repeats its first paragraph once with straight and once with curly quotes)."""
    return _PUNCT.sub(" ", p.casefold()).strip()


def dedup_paragraphs(lines: list[str]) -> tuple[list[str], int]:
    """Drop a paragraph whose words already appeared earlier in the same text; keep the first."""
    seen: set[str] = set()
    out: list[str] = []
    dropped = 0
    for line in lines:
        key = paragraph_key(line)
        # Very short lines ("Yes.", "—") may legitimately repeat in transcripts.
        if key and len(key) >= 20 and key in seen:
            dropped += 1
            continue
        seen.add(key)
        out.append(line)
    return out, dropped


def clean_lines(text: str, language_hint: str | None = None) -> tuple[list[str], dict]:
    """Normalise, drop rule boilerplate, cut a trailing links block, dedup paragraphs.

    Returns non-empty lines (paragraphs) and counts of what was removed, for the report.
    """
    text = normalize_text(text, language_hint)
    lines = [x for x in text.split("\n") if x.strip()]
    # The tail cut looks for its markers ("Published in…", "External Links") first:
    # the line rules below would otherwise remove the markers and leave the sidebar.
    kept = cut_tail(lines)
    n_tail = len(lines) - len(kept)
    before = len(kept)
    kept = [x for x in kept if not is_rule_boilerplate(x)]
    n_rules = before - len(kept)
    kept, n_dup = dedup_paragraphs(kept)
    return kept, {"rule_lines": n_rules, "tail_lines": n_tail, "dup_paragraphs": n_dup}


def join_paragraphs(lines: list[str]) -> str:
    return "\n\n".join(lines)


# --- header of plain-text documents --------------------------------------------------------

_DATE_FORMATS = [
    "%Y-%m-%d %H:%M %z",
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%A, %d %B %Y %H:%M",
]
_DATE_PREFIX = re.compile(r"^(date|published|posted|updated|تاریخ)\s*[:：]\s*", re.I)


def parse_date(value: str) -> datetime | None:
    """Parse the date forms news text uses; returns naive UTC, or None."""
    s = _DATE_PREFIX.sub("", value.strip())
    if not s or len(s) > 60:
        return None
    s = re.sub(r"([+-]\d\d):(\d\d)$", r"\1\2", s)  # +03:30 → +0330 for %z
    candidates = [s, s.replace("T", " ")]
    for cand in candidates:
        try:
            dt = datetime.fromisoformat(cand if "T" in cand else cand.replace(" +", "+"))
            return to_utc(dt)
        except (ValueError, OverflowError):  # hostile dates: year 1 at +14:00, year 9999 at -14:00
            pass
        for fmt in _DATE_FORMATS:
            try:
                return to_utc(datetime.strptime(cand, fmt))
            except (ValueError, OverflowError):
                continue
    return None


def to_utc(dt: datetime) -> datetime:
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def split_text_header(lines: list[str]) -> tuple[str | None, datetime | None, list[str]]:
    """A plain-text document often starts with a title line and a date line.

    The title stays in the text (it is a statement like any other, and spans may point at
    it); a date line is taken out of the text into published_at.
    """
    title = None
    published = None
    out = list(lines)
    if out and len(out[0]) <= 200 and not out[0].rstrip().endswith((".", "!", "?", "؟", "»", "”", '"')):
        title = out[0].strip()
    for i in range(1 if title else 0, min(len(out), 4)):
        dt = parse_date(out[i])
        if dt is not None:
            published = dt
            del out[i]
            break
    return title, published, out
