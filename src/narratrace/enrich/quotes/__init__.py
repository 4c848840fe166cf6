"""Quote and speaker attribution for English and Persian (and any language with a rule file).

``extract_quotes(text, language)`` returns :class:`QuoteFinding` objects whose spans index
``text`` directly: direct quotations, reported speech and mixed forms, each with its cue, its
speaker as written and the speaker resolved to a named person within the document.
English uses a spaCy dependency parse on top of the shared rules (``english.py``); every other
language with a ``rules/<lang>.yaml`` file is served by the rule engine alone (``rules.py``);
a language without rules yields no findings.
"""

from __future__ import annotations

from .english import english_pipeline as _english_pipeline
from .english import extract_english
from .model import QuoteFinding
from .rules import RULES_DIR, extract_with_rules, load_rules
from .speakers import resolve_speakers

__all__ = ["QuoteFinding", "extract_quotes", "english_pipeline", "supported_languages"]


def supported_languages() -> list[str]:
    return sorted(p.stem for p in RULES_DIR.glob("*.yaml"))


def english_pipeline():
    """The cached spaCy pipeline English extraction uses (loaded once per process)."""
    return _english_pipeline()


# spaCy's parser needs roughly 1 GB of temporary memory per 100,000 characters (its own E088
# message) and refuses texts over 1,000,000; a hostile or book-length document is parsed in pieces
# of at most this many characters, cut at line breaks (quotes and speakers never cross them, see
# rules.clip_to_paragraph). Real articles are far shorter: the longest PolNeAR text is ~20k.
PARSE_CHARS = 50_000


def text_pieces(text: str, size: int = PARSE_CHARS):
    """(offset, piece) pieces of at most ``size`` characters, cut after a line break when there is one."""
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        yield start, text[start:end]
        start = end


def shift_spans(q: QuoteFinding, offset: int) -> QuoteFinding:
    """Move every span of a finding by ``offset`` (a finding from a piece of a longer text)."""
    if offset:
        for name in ("start", "end", "cue_start", "cue_end", "speaker_start", "speaker_end",
                     "speaker_name_start", "speaker_name_end"):
            v = getattr(q, name)
            if v is not None:
                setattr(q, name, v + offset)
    return q


def extract_quotes(text: str, language: str, *, nlp=None) -> list[QuoteFinding]:
    """All quote findings in one document's text, in text order. Never raises on odd input:
    empty text, unbalanced marks, bidi controls and mixed scripts give findings or []."""
    if not text or not text.strip():
        return []
    lang = (language or "").lower().split("-")[0].split("_")[0]
    rules = load_rules(lang)
    if rules is None:
        return []
    if lang == "en":
        out = []
        for start, chunk in text_pieces(text):
            for q in extract_english(chunk, rules, nlp=nlp):
                out.append(shift_spans(q, start))
        return out
    findings = extract_with_rules(text, rules)
    return resolve_speakers(text, findings, rules)
