"""The briefing as a document: its data (evidence, sentences, charts, pairs, sections) and the text
rules every format shares: quotation marks (never doubled: a cited span loses the marks at its
edges, inner ones are nested), right-to-left isolation (never reversed), Markdown escaping and
safe links. Pure: no workspace, no rendering engine (report/briefing.py builds and renders)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote as urlquote

from markupsafe import Markup, escape

# Right-to-left scripts: quotes in them are set dir="rtl" so that they shape and order correctly.
RTL_LANGUAGES = {"fa", "ar", "ur", "he", "ps", "ckb", "yi", "dv"}
LANGUAGE_NAMES = {"en": "English", "fa": "Persian", "ar": "Arabic", "ru": "Russian", "fr": "French",
                  "de": "German", "es": "Spanish", "tr": "Turkish", "zh": "Chinese", "ur": "Urdu", "he": "Hebrew"}
_RTL_CHARS = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
# Quotation marks a stored span may carry at its edges: stripped from the cited span (the briefing
# adds its own), so that a quote is never shown doubled as “"…"”.
_QUOTE_MARKS = "\"'“”„‟«»‹›‘’‚「」"
_OPENING = "\"'“„‟«‹‘‚「"
_CLOSING = "\"'”“»›’」"
_LTR_CHARS = re.compile(r"[A-Za-z\u00c0-\u024f\u0400-\u04ff]")
SAFE_SCHEMES = ("http://", "https://", "narratrace://")


# -- the briefing as data ------------------------------------------------------------------------

@dataclass
class Evidence:
    """One footnote: the exact span ``text[start:end]`` of a stored document."""
    n: int
    document_id: int
    start: int
    end: int
    quote: str
    source: str | None
    outlet: str
    audience: str | None
    language: str | None
    published_at: datetime | None
    link: str
    sentence_id: int | None = None
    narrative: str | None = None
    rendering: str | None = None  # English text shown under a non-English quote
    rendering_kind: str | None = None  # translation | gloss | missing
    rendering_label: str | None = None  # where the rendering came from, in words

    @property
    def rtl(self) -> bool:
        return is_rtl(self.quote, self.language)

    @property
    def shown(self) -> str:
        """The quote as printed inside the briefing's “…”: double marks inside it become single ones
        (‘…’), the nesting convention, so that “"Yes," she said” never shows two marks side by side."""
        return nest_marks(self.quote)

    @property
    def english(self) -> bool:
        lang = (self.language or "").split("-")[0].lower()
        return lang == "en" or (not lang and not self.rtl)


@dataclass
class Sentence:
    text: str
    refs: list[int]


@dataclass
class Chart:
    title: str
    caption: Sentence
    png: bytes | None = None
    svg: str | None = None


@dataclass
class Pair:
    """Two statements of one actor flagged as contradicting each other, shown side by side."""
    intro: Sentence
    left: Evidence
    right: Evidence
    finding: object = None  # the ContradictionInfo


@dataclass
class Section:
    key: str
    title: str
    annex: bool = False  # after the main text (which fits two A4 pages), before the evidence
    sentences: list[Sentence] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # meta lines (what was not found), no claims


@dataclass
class Briefing:
    title: str
    meta: list[str]
    sections: list[Section]
    evidence: list[Evidence]

    def sentences(self) -> list[Sentence]:
        out = []
        for sec in self.sections:
            out += sec.sentences + [c.caption for c in sec.charts] + [p.intro for p in sec.pairs]
        return out


def is_rtl(text: str, language: str | None = None) -> bool:
    if language and language.split("-")[0].lower() in RTL_LANGUAGES:
        return True
    return len(_RTL_CHARS.findall(text or "")) > len(_LTR_CHARS.findall(text or ""))


def trim_quote(text: str) -> tuple[int, int]:
    """(start, end) inside ``text`` without the edge whitespace and the quotation marks that wrap it
    (a pair around the whole, or a lone mark whose partner lies outside the span). Marks inside the
    quote stay: ``“A” and “B”`` keeps both pairs."""
    a, b = 0, len(text or "")
    while a < b:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        inner = text[a:b]
        marks = sum(ch in _QUOTE_MARKS for ch in inner)
        if len(inner) >= 2 and inner[0] in _OPENING and inner[-1] in _CLOSING and _wraps(inner):
            a, b = a + 1, b - 1
        elif inner and marks == 1 and inner[0] in _OPENING and inner[0] not in "'‘":
            a += 1
        elif inner and marks == 1 and inner[-1] in _CLOSING and inner[-1] not in "'’":
            b -= 1
        else:
            break
    return (a, b) if a < b else (0, len(text or ""))


def nest_marks(text: str) -> str:
    out = []
    for i, ch in enumerate(text or ""):
        if ch == '"':  # straight: opening at the start or after a space or bracket, closing otherwise
            ch = "‘" if i == 0 or text[i - 1].isspace() or text[i - 1] in "([{—–-" else "’"
        out.append({"“": "‘", "”": "’", "„": "‚"}.get(ch, ch))
    return "".join(out)


def _wraps(inner: str) -> bool:
    """Whether the first and last marks of ``inner`` are one pair: the marks between them are even
    in number and the first of them opens (“A” and “B” is two pairs, not one)."""
    body = inner[1:-1]
    idx = [i for i, ch in enumerate(body) if ch in _QUOTE_MARKS and ch not in "'’"]  # apostrophes are letters
    if len(idx) % 2:
        return False
    if not idx:
        return True
    i = idx[0]
    ch = body[i]
    if ch in "”»›」":
        return False
    # a straight mark right after a word and before a space or punctuation closes a quote
    return not (ch == '"' and i > 0 and not body[i - 1].isspace()
                and (i + 1 == len(body) or body[i + 1].isspace() or body[i + 1] in ",.;:!?"))


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")
# Bidi controls in stored text (an RTL override can reverse what follows it) are dropped from what
# is shown; the briefing sets its own isolates around each right-to-left run instead.
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")
# A right-to-left run: from an RTL letter to the last RTL letter before Latin text or a quotation
# mark, with the spaces, digits and punctuation between (they take the run's direction).
_RTL_CLASS = "\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff"
_RTL_RUN = re.compile(f"[{_RTL_CLASS}](?:[{_RTL_CLASS}\u200c\u200d\\s\\d.,:;!?()\\-–—/%]*[{_RTL_CLASS}])?"
                      "[.!?…]*")  # its closing full stop stays in it; ZWNJ/ZWJ join inside words
RLI, PDI = "\u2067", "\u2069"


def _runs(text: str) -> list[tuple[bool, str]]:
    """``text`` (bidi controls dropped) as (right-to-left?, piece) runs, in order."""
    text = _BIDI_CONTROLS.sub("", " ".join((text or "").split()))
    out, at = [], 0
    for m in _RTL_RUN.finditer(text):
        if m.start() > at:
            out.append((False, text[at:m.start()]))
        out.append((True, m.group()))
        at = m.end()
    if at < len(text):
        out.append((False, text[at:]))
    return out


def md_escape(text: str) -> str:
    """Backslash-escape Markdown and raw-HTML syntax so that quoted text stays text; each
    right-to-left run is isolated (RLI … PDI), so that a Persian quote inside an English line keeps
    its order and the quotation marks around it stay where they belong."""
    def esc(piece: str) -> str:
        return _MD_SPECIAL.sub(r"\\\1", piece)

    return "".join(RLI + esc(piece) + PDI if rtl else esc(piece) for rtl, piece in _runs(text))


def isolate(text: str) -> Markup:
    """HTML: the text escaped, each right-to-left run in ``<bdi dir="rtl">`` (the same isolation)."""
    return Markup("".join(f'<bdi dir="rtl">{escape(piece)}</bdi>' if rtl else str(escape(piece))
                          for rtl, piece in _runs(text)))


def safe_href(link: str) -> str | None:
    """Only http(s) and narratrace: links become links; javascript:, data: … stay text."""
    return urlquote(link, safe=":/?#[]@!$&'()*+,;=%~") if link.lower().startswith(SAFE_SCHEMES) else None
