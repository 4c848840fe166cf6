"""Unicode normalisation of clean text, including Persian.

Everything here runs before the text is stored, so spans always point into normalised text.
What it does, and why:
- NFC, so the same letter is the same code points everywhere (search, hashing, dedup).
- Arabic presentation forms (U+FB50–FDFF, U+FE70–FEFF: old PDFs and Windows fonts) → base
  letters via NFKC on those characters only; NFKC everywhere would also rewrite ligatures,
  superscripts and digits that must stay as written.
- Persian paragraphs: Arabic yeh/kaf/alef maksura → Persian ی/ک; tatweel (kashida) removed;
  ZWNJ kept where it joins a word (می‌گوید) but removed beside spaces and doubled.
  Only paragraphs that are Persian get this: rewriting ي in real Arabic text would corrupt it.
- Invisible and bidi-control characters (ZWSP, LRO/RLO, isolates, stray BOMs) and control
  characters are removed: they hide text from analysts, are a known spoofing trick in hostile
  input, and terminal escape sequences must never reach an analyst's terminal.
- Digits are kept as written (Persian ۱۴۰۴ stays ۱۴۰۴): quotes must be quoted verbatim.
"""

from __future__ import annotations

import re
import unicodedata

ZWNJ = "\u200c"
# Invisible and bidi controls, and C0/C1 control characters (an ESC sequence in a document
# would otherwise reach the analyst's terminal through `docs show`).
_INVISIBLE = re.compile("[\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad\u2060"
                        "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def visible_controls(value: str | None) -> str | None:
    """Control characters in an identifier (origin, URL, author) written as \\xNN: the analyst
    still sees exactly what the input held, and PostgreSQL text cannot store NUL at all."""
    if value is None:
        return None
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


_PRESENTATION = re.compile("[\ufb50-\ufdff\ufe70-\ufeff]+")
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")
# Letters Persian uses and Arabic does not: one of them marks a paragraph as Persian.
_PERSIAN_ONLY = re.compile("[\u067e\u0686\u0698\u06af\u06a9\u06cc]")
_PERSIAN_MAP = str.maketrans({"\u064a": "\u06cc", "\u0643": "\u06a9", "\u0649": "\u06cc", "\u0640": None})
_ZWNJ_RUNS = re.compile(ZWNJ + "{2,}")
_ZWNJ_EDGE = re.compile(rf"\s{ZWNJ}+|{ZWNJ}+(?=\s|$)|^{ZWNJ}+", re.M)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def is_persian(paragraph: str, hint_language: str | None = None) -> bool:
    if not _ARABIC_SCRIPT.search(paragraph):
        return False
    return hint_language == "fa" or bool(_PERSIAN_ONLY.search(paragraph))


def normalize_persian(text: str) -> str:
    text = text.translate(_PERSIAN_MAP)
    text = _ZWNJ_RUNS.sub(ZWNJ, text)
    text = _ZWNJ_EDGE.sub(lambda m: m.group(0).replace(ZWNJ, ""), text)
    return text


def normalize_text(text: str, language_hint: str | None = None) -> str:
    """Normalise a whole text, paragraph by paragraph (mixed-language documents exist)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = _PRESENTATION.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)
    text = unicodedata.normalize("NFC", text)
    out = []
    for line in text.split("\n"):
        line = _SPACES.sub(" ", line).strip()
        if is_persian(line, language_hint):
            line = normalize_persian(line)
        out.append(line)
    return "\n".join(out)


def normalize_title(title: str | None, language_hint: str | None = None) -> str | None:
    """Titles get the same normalisation as text (a Windows-1256 page's title has Arabic yeh)."""
    if not title:
        return title
    return " ".join(normalize_text(title, language_hint).split()) or None
