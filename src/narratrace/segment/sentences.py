"""Sentence segmentation with exact character spans, for English and Persian (and any
language that ends sentences with . ! ? ؟ …).

Spans are offsets into the text given — the stored clean text — so
``text[start:end]`` is the sentence, always (a property test checks it). Sentences never
cross paragraph breaks (a blank line or a newline).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# English abbreviations that end in a period but rarely end a sentence. Data, not logic:
# add a language by adding its list.
ABBREVIATIONS: dict[str, set[str]] = {
    "en": {
        "mr", "mrs", "ms", "dr", "prof", "sen", "rep", "gov", "gen", "col", "lt", "sgt", "capt",
        "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "no", "nos", "vol", "fig", "approx", "dept",
        "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
        "u.s", "u.k", "u.n", "e.u", "inc", "ltd", "co", "corp", "mt", "ft", "ave", "amb", "rev",
    },
    # Persian abbreviations are mostly letter-dot-letter without spaces (ه.ش، ق.م، ج.ا.ا),
    # which never split because a boundary needs whitespace after the dot.
    "fa": {"ص", "ج", "ق", "ه", "م"},
}
_ABBREV = set().union(*ABBREVIATIONS.values())

_TERMINATORS = ".!?؟…"
_CLOSERS = "\"'”’»)]}"
# A boundary: terminator(s), optional closing quotes/brackets, then whitespace.
_BOUNDARY = re.compile(rf"[{re.escape(_TERMINATORS)}]+[{re.escape(_CLOSERS)}]*(?=\s)")
_PARAGRAPHS = re.compile(r"[^\n]+")
_WORD_BEFORE = re.compile(r"([^\s\"'“‘«(\[]+)$")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def _is_abbreviation(text: str, dot_pos: int) -> bool:
    m = _WORD_BEFORE.search(text, 0, dot_pos)
    if not m:
        return False
    word = m.group(1).rstrip(".").casefold()
    if len(word) == 1 and word.isalpha():
        return True  # initials: "J. Smith", Persian "م."
    return word in _ABBREV


def _next_starts_sentence(text: str, pos: int) -> bool:
    """After the whitespace at pos: does a new sentence plausibly start here?"""
    i = pos
    n = len(text)
    while i < n and text[i].isspace():
        i += 1
    while i < n and text[i] in "\"'“‘«([-–—":
        i += 1
    if i >= n:
        return True
    ch = text[i]
    # Lower-case Latin after a period is a continuation ("... 3 p.m. on Monday").
    return not (ch.isalpha() and ch.islower())


def split_sentences(text: str) -> list[Span]:
    spans: list[Span] = []
    for para in _PARAGRAPHS.finditer(text):
        p_start, p_end = para.span()
        start = p_start
        for m in _BOUNDARY.finditer(text, p_start, p_end):
            end = m.end()
            term = m.group(0)
            if term[0] == "." and len(term.rstrip(_CLOSERS)) == 1 and _is_abbreviation(text, m.start()):
                continue
            if not _next_starts_sentence(text, end):
                continue
            _add(spans, text, start, end)
            start = end
        _add(spans, text, start, p_end)
    return spans


def _add(spans: list[Span], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append(Span(start, end))
