"""Plain-text cleaning shared by every input kind: the same rules whether the text came
from HTML (after trafilatura), a .txt transcript, a PDF, a CSV cell or a Telegram post."""

from __future__ import annotations

import re
from datetime import datetime

from narratrace.clean import dates
from narratrace.clean.boilerplate import (
    HEADER_MAX,
    cut_tail,
    is_date_line,
    is_prose,
    is_rule_boilerplate,
    strip_boilerplate,
)
from narratrace.clean.normalize import normalize_text

_PUNCT = re.compile(r"[\W_]+", re.UNICODE)


def paragraph_key(p: str) -> str:
    """Two paragraphs are the same when their words are (quotes and spacing may differ:
    seed 000 repeats its first paragraph once with straight and once with curly quotes)."""
    return _PUNCT.sub(" ", p.casefold()).strip()


def dedup_paragraphs(lines: list[str]) -> tuple[list[str], int]:
    """Drop a paragraph whose words already appeared earlier in the same text; keep the first."""
    out, _, dropped = _dedup(lines, [paragraph_key(x) for x in lines])
    return out, dropped


def _dedup(lines: list[str], keys: list[str]) -> tuple[list[str], list[str], int]:
    seen: set[str] = set()
    out: list[str] = []
    out_keys: list[str] = []
    for line, key in zip(lines, keys):
        # Very short lines ("Yes.", "—") may legitimately repeat in transcripts.
        if key and len(key) >= 20 and key in seen:
            continue
        seen.add(key)
        out.append(line)
        out_keys.append(key)
    return out, out_keys, len(lines) - len(out)


# A repeat must be at least this long (its words, normalised) to be dropped: about seven words,
# so "Thank you very much." or a repeated chant in a transcript stays where it was said.
REPEAT_MIN_KEY = 40
# Containment is looked up in an index of word runs; over this size (the index costs memory in
# proportion to the words) the scan is skipped and counted in the cleaning report.
REPEAT_SCAN_MAX_CHARS = 2_000_000
SHINGLE = 4  # words per indexed run (REPEAT_MIN_KEY's 40 characters are about seven words)
REPEAT_MAX_SAME_START = 64

# A sentence boundary for the repeat rule: a terminator (and closing marks) then whitespace and
# a capital, a digit, an opening mark or a non-Latin letter; not after an initial or a short
# capitalised abbreviation ("J. Smith", "Mr. Raisi", "U.S. officials").
# Linear: a match starts only at a run's first terminator and the runs are possessive (neither
# changes a match; the greedy form rescanned a run of dots from each dot, quadratic).
_BOUNDARY = re.compile(r"(?<![.!?؟…])[.!?؟…]++[\"'”’»)\]]*+\s++(?=[\"'“‘«(\[]?[^\W\d_a-z]|[\"'“‘«(\[]?\d)")
# Searched only in the last ABBREV_LOOKBACK characters before the dot (`(?<!\S)` is the old
# `(?:^|\s)`: a match's start follows whitespace): searching the whole sentence so far cost a
# sentence's length per dot, quadratic on "A. A. A. …" (18,000 characters: 8 s). Only a dotted
# run of letters longer than that ("a.b.c.…", 32+ characters) reads differently: no abbreviation.
_ABBREV_BEFORE = re.compile(r"(?<!\S)(?:[A-Z][a-z]{0,2}|[A-Za-z](?:\.[A-Za-z])+|[A-Z])\.$")
ABBREV_LOOKBACK = 32


def sentence_spans(line: str) -> list[tuple[int, int]]:
    """Sentences of one line as (start, end) offsets, each with its trailing whitespace."""
    spans = []
    start = 0
    for m in _BOUNDARY.finditer(line):
        if _ABBREV_BEFORE.search(line, max(start, m.start() + 1 - ABBREV_LOOKBACK), m.start() + 1):
            continue
        spans.append((start, m.end()))
        start = m.end()
    if start < len(line):
        spans.append((start, len(line)))
    return spans


def drop_repeats(lines: list[str], keep_first: bool = True,
                 keys: list[str] | None = None) -> tuple[list[str], dict]:
    """Drop what a text says twice, keeping one copy of every sentence.

    - a paragraph whose words all stand inside a longer paragraph (a lead, standfirst or
      caption repeated in the body, even cut short: "… he was quoted as saying" before
      "… he was quoted as saying at a rally") goes; the longer one keeps them;
    - a sentence already said earlier in the text is cut out of the later paragraph.

    The first line is left alone when ``keep_first`` (a title stays where it is). What is kept
    of a paragraph is its own text, cut only at sentence boundaries.
    """
    stats = {"contained_paragraphs": 0, "repeated_sentences": 0}
    keys = keys if keys is not None else [paragraph_key(x) for x in lines]
    drop = [False] * len(lines)
    if sum(len(k) for k in keys) <= REPEAT_SCAN_MAX_CHARS:
        # each candidate by its first SHINGLE words; one pass over every line's word runs finds
        # where a candidate may start inside another line, so the scan is linear in the text
        starts: dict[tuple[str, ...], list[int]] = {}
        for i, k in enumerate(keys):
            ws = k.split()
            if not (i == 0 and keep_first) and len(k) >= REPEAT_MIN_KEY and len(ws) >= SHINGLE:
                starts.setdefault(tuple(ws[:SHINGLE]), []).append(i)
        # an opening many lines share ("mr smith thank you" in a transcript) is a formula, not a
        # repeated lead: left out, so that the scan cannot turn quadratic
        starts = {run: ids for run, ids in starts.items() if len(ids) <= REPEAT_MAX_SAME_START}
        for j, k in enumerate(keys):
            ws = k.split()
            hay = None
            for run in zip(*(ws[p:] for p in range(SHINGLE))):
                for i in starts.get(run, ()):
                    if i != j and not drop[i] and len(keys[i]) < len(k):
                        hay = hay or f" {k} "
                        if f" {keys[i]} " in hay:
                            drop[i] = True
                            stats["contained_paragraphs"] += 1
    else:
        stats["repeat_scan_skipped"] = 1
    seen: set[str] = set()
    out: list[str] = []
    for i, line in enumerate(lines):
        if drop[i]:
            continue
        spans = sentence_spans(line)
        parts = []
        for a, b in spans:
            k = keys[i] if len(spans) == 1 else paragraph_key(line[a:b])
            if len(k) >= REPEAT_MIN_KEY and k in seen and not (i == 0 and keep_first):
                stats["repeated_sentences"] += 1
                continue
            seen.add(k)
            parts.append((a, b))
        if len(parts) == len(spans):
            out.append(line)
        elif parts:
            out.append("".join(line[a:b] for a, b in parts).rstrip())
    return out, stats


def clean_lines(text: str, language_hint: str | None = None, *, shapes: bool = True) -> tuple[list[str], dict]:
    """Normalise, cut a trailing links block, drop boilerplate lines, dedup paragraphs and
    repeated sentences. ``shapes=False`` keeps only the wording rules, for text an extractor has
    already cut out of its page (HTML: trafilatura removes chrome by the page's structure, and the
    line-shape rules, tuned on text inputs, cost 0.8 points of recall on the extraction benchmark:
    F1 0.9513 with them, 0.9557 without, 181 pages, 2026-12-01; so do the ``text_lines`` wording
    rules, skipped there too: see clean/rules/boilerplate.yaml).

    Returns non-empty lines (paragraphs) and counts of what was removed, for the report.
    """
    text = normalize_text(text, language_hint)
    lines = [x for x in text.split("\n") if x.strip()]
    # The tail cut looks for its markers ("Published in…", "External Links") first:
    # the line rules below would otherwise remove the markers and leave the sidebar.
    kept = cut_tail(lines)
    n_tail = len(lines) - len(kept)
    if shapes:
        kept, dropped = strip_boilerplate(kept)
    else:
        before = len(kept)
        kept = [x for x in kept if not is_rule_boilerplate(x, text_input=False)]
        dropped = {"rule": before - len(kept)}
    kept, keys, n_dup = _dedup(kept, [paragraph_key(x) for x in kept])
    kept, repeats = drop_repeats(kept, keys=keys)
    return kept, {"rule_lines": dropped.get("rule", 0), "tail_lines": n_tail, "dup_paragraphs": n_dup,
                  "shape_lines": sum(v for k, v in dropped.items() if k != "rule"), **repeats}


def join_paragraphs(lines: list[str]) -> str:
    return "\n\n".join(lines)


# --- header of plain-text documents --------------------------------------------------------
# Dates live in clean/dates.py; these two names stay for the callers that only want a datetime.


def parse_date(value: str) -> datetime | None:
    """Naive UTC datetime of one date value, or None (see ``clean.dates.check_date``)."""
    return dates.parse_datetime(value)


def to_utc(dt: datetime) -> datetime:
    return dates.to_utc(dt)


def split_text_header(lines: list[str], reference: datetime | None = None, problems: list[str] | None = None,
                      raw_lines: list[str] | None = None) -> tuple[str | None, dates.HeaderDate | None, list[str]]:
    """A plain-text document often starts with a title line and a date line.

    The title stays in the text (it is a statement like any other, and spans may point at
    it); the article's date is chosen among the first lines (``clean.dates.header_date``) of
    ``raw_lines`` when given (the text before cleaning, whose rules may drop a date line), and a
    line that holds only that date is taken out of the text.
    """
    title = None
    out = list(lines)
    if out and len(out[0]) <= 200 and not out[0].rstrip().endswith((".", "!", "?", "؟", "»", "”", '"')):
        title = out[0].strip()
    seen = raw_lines if raw_lines is not None else out
    found = dates.header_date(seen, reference, problems=problems)
    if found is not None and found.whole_line:
        date_line = seen[found.line].strip()
        for i, line in enumerate(out):
            if line.strip() == date_line and not (title is not None and i == 0):
                del out[i]
                break
    if found is not None:
        # the article's date is known: other lines of the header that are only a date are the
        # site's ("today", a crawler's stamp), chrome the cleaning left for the date parser
        # (campaign-dev: 4 of the 7 boilerplate rows cleaning kept)
        # (the header as cleaning sees it: the lines before the first prose line, at most HEADER_MAX)
        head = min(next((i for i, x in enumerate(out) if is_prose(x)), len(out)), HEADER_MAX)
        out = [x for i, x in enumerate(out) if i >= head or (i == 0 and title is not None) or not is_date_line(x)]
    return title, found, out
