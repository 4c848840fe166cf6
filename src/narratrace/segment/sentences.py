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
# A boundary: terminator(s), optional closing quotes/brackets, then whitespace. Linear on any
# text: the lookbehind starts a match only at a run's first terminator and the possessive runs
# never give back (neither can change a match: a later start in the same run has the same end,
# and terminators and closers are not whitespace). The greedy form rescanned every run from each
# of its characters: 18,000 dots took 13 s (bench/hostile.py).
_BOUNDARY = re.compile(rf"(?<![{re.escape(_TERMINATORS)}])[{re.escape(_TERMINATORS)}]++"
                       rf"[{re.escape(_CLOSERS)}]*+(?=\s)")
_PARAGRAPHS = re.compile(r"[^\n]+")
_WORD_STOP = frozenset(" \"'“‘«([")  # and whitespace: what ends the word before a dot
# The longest word worth looking up: the longest abbreviation plus slack for dots (casefold can
# lengthen a word, never shorten it). Looking further back cannot change the answer, and the old
# search from the text's start made every dot cost the whole text (30 KB of "A. " took 28 s).
_MAX_ABBREV = max(len(a) for a in _ABBREV) + 2


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def _is_abbreviation(text: str, dot_pos: int) -> bool:
    """Is the word that ends at ``dot_pos`` an initial or a listed abbreviation? Looks back at
    most ``_MAX_ABBREV`` + 1 characters, so the cost per dot is constant."""
    i = dot_pos
    stop = max(0, dot_pos - _MAX_ABBREV - 1)
    while i > stop and not (text[i - 1].isspace() or text[i - 1] in _WORD_STOP):
        i -= 1
    if i == dot_pos:
        return False
    if i == stop and stop > 0 and not (text[i - 1].isspace() or text[i - 1] in _WORD_STOP):
        return False  # a longer word: no abbreviation is that long
    word = text[i:dot_pos].rstrip(".").casefold()
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
