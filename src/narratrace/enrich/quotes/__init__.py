"""Quote and speaker attribution for English and Persian (and any language with a rule file).

``extract_quotes(text, language)`` returns :class:`QuoteFinding` objects whose spans index
``text`` directly: direct quotations, reported speech and mixed forms, each with its cue, its
speaker as written and the speaker resolved to a named person within the document.
English uses a spaCy dependency parse on top of the shared rules (``english.py``); every other
language with a ``rules/<lang>.yaml`` file is served by the rule engine alone (``rules.py``);
a language without rules yields no findings.
"""

from __future__ import annotations

from narratrace.ingest.deadline import checkpoint

from .english import english_pipeline as _english_pipeline
from .english import extract_english
from .model import QuoteFinding
from .rules import RULES_DIR, extract_with_rules, load_rules
from .speakers import continue_statements, resolve_speakers

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
                     "speaker_name_start", "speaker_name_end", "carrier_start", "carrier_end"):
            v = getattr(q, name)
            if v is not None:
                setattr(q, name, v + offset)
    return q


def extract_quotes(text: str, language: str, *, nlp=None, is_alias=None) -> list[QuoteFinding]:
    """All quote findings in one document's text, in text order. Never raises on odd input:
    empty text, unbalanced marks, bidi controls and mixed scripts give findings or [].
    ``is_alias(phrase) -> bool``: whether the analyst's entity registry lists a phrase as an alias
    (``Gazetteer``): a speaker written as a registered title ("the Leader") is then that entity's
    alias rather than a guess from the document."""
    if not text or not text.strip():
        return []
    lang = (language or "").lower().split("-")[0].split("_")[0]
    rules = load_rules(lang)
    if rules is None:
        return []
    if lang == "en":
        out = []
        for start, chunk in text_pieces(text):
            checkpoint()  # a thread's per-document deadline (ingest/deadline.py): one piece at most past it
            for q in extract_english(chunk, rules, nlp=nlp, is_alias=is_alias):
                out.append(shift_spans(q, start))
        return continue_statements(text, drop_scare_quotes(text, out, rules))
    findings = extract_with_rules(text, rules)
    return continue_statements(text, drop_scare_quotes(text, resolve_speakers(text, findings, rules, is_alias=is_alias), rules))


def is_scare_quote(text: str, q: QuoteFinding, max_words: int) -> bool:
    """A quotation no cue claims, of at most ``max_words`` words and not a sentence of its own: a
    term mark or scare quote ("vote rigging", «جنگ سایبری»), not a statement (``scare_quote_words``
    in the rule file). "We want our wages." ends like a sentence: a statement, kept."""
    content = text[q.start:q.end].strip()
    return (q.cue_start is None and q.speaker_start is None and max_words > 0
            and len(content.split()) <= max_words and not content.endswith(SENTENCE_STOPS))


SENTENCE_STOPS = (".", "!", "?", "؟", "…")


def drop_scare_quotes(text: str, findings: list[QuoteFinding], rules) -> list[QuoteFinding]:
    return [q for q in findings if not is_scare_quote(text, q, rules.scare_quote_words)]
